/**
 * Big5 as NHI's Windows systems read it: Microsoft code page 950 (CP950).
 *
 * What Node libraries call "big5" is often Big5-HKSCS, a superset whose extra characters NHI's
 * systems cannot read. labup decodes and encodes with CP950 only: a byte pair CP950 does not
 * define (an HKSCS-only code, the user-defined area) is an error, and so is a character CP950
 * cannot carry.
 *
 * The tables are built once, lazily, from iconv-lite's CP950 mapping.
 */
import iconv from 'iconv-lite';

let decodeTable: Uint16Array | undefined;
let encodeTable: Uint16Array | undefined;

/** (lead << 8 | trail) → UTF-16 code unit; 0 where CP950 defines nothing. */
export function cp950DecodeTable(): Uint16Array {
  if (decodeTable) return decodeTable;
  const table = new Uint16Array(65536);
  // Every pair, each followed by a line feed, decoded in one call (a call per pair costs ten
  // times as much): the decoder starts afresh after each line feed, so each line is what that pair
  // alone decodes to.
  const codes: number[] = [];
  const bytes: number[] = [];
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail > 0x7e && trail < 0xa1) continue;
      codes.push((lead << 8) | trail);
      bytes.push(lead, trail, 0x0a);
    }
  }
  const text = iconv.decode(Buffer.from(bytes), 'cp950');
  for (let i = 0, k = 0; k < codes.length; k++) {
    const end = text.indexOf('\n', i);
    const c = text.charCodeAt(i);
    if (end === i + 1 && c !== 0xfffd) table[codes[k]!] = c;
    i = end + 1;
  }
  decodeTable = table;
  return table;
}

/** UTF-16 code unit → (lead << 8 | trail) for double-byte characters; 0 where CP950 has none. */
export function cp950EncodeTable(): Uint16Array {
  if (encodeTable) return encodeTable;
  const dec = cp950DecodeTable();
  const table = new Uint16Array(65536);
  // Lower codes first so that, where CP950 maps two byte pairs to one character, decoding and
  // encoding agree on the first (standard) one.
  for (let code = 0xfefe; code >= 0x8140; code--) {
    const c = dec[code]!;
    if (c !== 0) table[c] = code;
  }
  encodeTable = table;
  return table;
}

/**
 * Decodes bytes already known to be valid CP950 (ASCII and defined pairs) with the table of
 * {@link cp950DecodeTable}: the fast path once a reader has checked them.
 */
export function decodePairs(table: Uint16Array, buf: Uint8Array, start: number, end: number): string {
  const codes: number[] = [];
  let s = '';
  for (let i = start; i < end; ) {
    const b = buf[i]!;
    if (b < 0x80) {
      codes.push(b);
      i++;
    } else {
      codes.push(table[(b << 8) | buf[i + 1]!]!);
      i += 2;
    }
    if (codes.length >= 2048) {
      s += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  return s + String.fromCharCode(...codes);
}

export function isLeadByte(b: number): boolean {
  return b >= 0x81 && b <= 0xfe;
}

export interface DecodeResult {
  text: string;
  /** Offset of the first byte that could not be decoded, or -1. */
  badAt: number;
}

/** Decodes CP950 bytes; stops at the first undecodable byte (reported in `badAt`). */
export function decodeCp950(buf: Uint8Array, start = 0, end = buf.length): DecodeResult {
  const table = cp950DecodeTable();
  let out = '';
  let chunk: number[] = [];
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x80) {
      chunk.push(b);
    } else if (b >= 0x81 && b <= 0xfe && i + 1 < end) {
      const c = table[(b << 8) | buf[i + 1]!]!;
      if (c === 0) return { text: out + String.fromCharCode(...chunk), badAt: i };
      chunk.push(c);
      i++;
    } else {
      return { text: out + String.fromCharCode(...chunk), badAt: i };
    }
    if (chunk.length >= 4096) {
      out += String.fromCharCode(...chunk);
      chunk = [];
    }
  }
  return { text: out + String.fromCharCode(...chunk), badAt: -1 };
}

export interface EncodeProblem {
  /** Index in the string of the character CP950 cannot carry. */
  index: number;
  char: string;
}

/**
 * Encodes to CP950. Characters CP950 cannot carry are reported (and written as `replacement`,
 * `?` by default) so that the caller can refuse or warn.
 */
export function encodeCp950(text: string, problems?: EncodeProblem[], replacement = 0x3f): Buffer {
  const table = cp950EncodeTable();
  const out = Buffer.allocUnsafe(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    const code = table[c]!;
    if (code === 0) {
      const isPair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
      problems?.push({ index: i, char: isPair ? text.slice(i, i + 2) : text[i]! });
      if (isPair) i++;
      out[n++] = replacement;
      continue;
    }
    out[n++] = code >> 8;
    out[n++] = code & 0xff;
  }
  return out.subarray(0, n);
}

/** True when every character of `text` exists in CP950. */
export function canEncodeCp950(text: string): boolean {
  const table = cp950EncodeTable();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 && table[c] === 0) return false;
  }
  return true;
}

/** Canonical names labup accepts in an XML declaration for CP950. */
export function isBig5Name(name: string): boolean {
  return /^(big5|big-5|cp950|ms950|windows-950|x-windows-950)$/i.test(name);
}

export function isUtf8Name(name: string): boolean {
  return /^utf-?8$/i.test(name);
}
