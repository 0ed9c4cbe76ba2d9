/**
 * Decoding input bytes: UTF-8 or Big5 as code page 950 (never Big5-HKSCS), a byte-order mark
 * detected, and — with `auto` — the encoding guessed from the first bytes that are not ASCII.
 *
 * Readers split their input on ASCII delimiters first (`,` `"` CR LF cannot be the second byte
 * of a CP950 pair, nor part of a UTF-8 sequence) and decode each value on its own, so a byte that
 * cannot be decoded is reported with its row and column.
 */
import { isUtf8 } from 'node:buffer';
import { decodeCp950 } from '../encoding/cp950.js';
import { usageError } from '../errors.js';
import type { InputEncoding, InputEncodingOption } from './types.js';

export interface DecodeOutcome {
  text: string;
  /** Offset (within the decoded range) of the first byte that could not be decoded, or -1. */
  badAt: number;
  /** The undecodable bytes, hex (`88 40`), when badAt ≥ 0. */
  badBytes?: string;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const EMPTY = Buffer.alloc(0);

export class InputDecoder {
  /** The encoding in use; undefined while `auto` has seen only ASCII. */
  encoding: InputEncoding | undefined;
  /** How the encoding was chosen, for the report. */
  how: 'given' | 'bom' | 'detected' | 'ascii' = 'given';
  private started = false;
  /** While `auto` is undecided: the cut-off start of a UTF-8 character at the end of the last chunk. */
  private held: Buffer = EMPTY;

  constructor(
    option: InputEncodingOption,
    private readonly file: string,
  ) {
    this.encoding = option === 'auto' ? undefined : option;
  }

  /**
   * Looks at the next chunk of the file: strips a byte-order mark at the start and, with `auto`,
   * decides the encoding at the first chunk holding non-ASCII bytes. Returns the chunk to parse.
   */
  look(chunk: Buffer): Buffer {
    if (!this.started) {
      this.started = true;
      if (chunk.length >= 3 && chunk[0] === UTF8_BOM[0] && chunk[1] === UTF8_BOM[1] && chunk[2] === UTF8_BOM[2]) {
        this.encoding = 'utf-8';
        this.how = 'bom';
        chunk = chunk.subarray(3);
      } else if (chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
        throw usageError('INPUT_ENCODING', `${this.file}: the file is UTF-16, which labup does not read`, {
          hint: 'Save the export as UTF-8 (or Big5) and run labup pack again.',
        });
      }
    }
    // A chunk whose only non-ASCII bytes may be the start of a UTF-8 character cut by the chunk's
    // end says nothing yet: the next chunk decides.
    if (this.encoding === undefined) {
      const probe = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
      const cut = cutSequenceLength(probe);
      if (hasNonAscii(probe.subarray(0, probe.length - cut))) {
        this.encoding = isUtf8(probe.subarray(0, probe.length - cut)) ? 'utf-8' : 'big5';
        this.how = 'detected';
        this.held = EMPTY;
      } else this.held = Buffer.from(probe.subarray(probe.length - cut));
    }
    return chunk;
  }

  /** Decodes `buf[start, end)`. */
  decode(buf: Buffer, start: number, end: number): DecodeOutcome {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return { text: buf.toString('latin1', start, end), badAt: -1 };
    const enc = this.encoding ?? 'utf-8';
    if (enc === 'utf-8') {
      const slice = buf.subarray(start, end);
      if (isUtf8(slice)) return { text: slice.toString('utf8'), badAt: -1 };
      const bad = firstBadUtf8(slice);
      // The bad bytes are reported; in the value they become “?” (not U+FFFD, which Big5 lacks).
      return { text: slice.toString('utf8').replace(/\ufffd/g, '?'), badAt: bad, badBytes: hex(slice, bad) };
    }
    const r = decodeCp950(buf, start, end);
    if (r.badAt < 0) return { text: r.text, badAt: -1 };
    const rest = decodeCp950Lenient(buf, r.badAt, end);
    return { text: r.text + rest, badAt: r.badAt - start, badBytes: hex(buf.subarray(start, end), r.badAt - start) };
  }

  /** A hint for an undecodable byte, depending on what the bytes look like. */
  badBytesHint(buf: Buffer, at: number): string {
    if (this.encoding === 'big5') {
      return looksUtf8(buf.subarray(at, Math.min(buf.length, at + 4)))
        ? 'These bytes look like UTF-8: run again with --input-encoding utf-8, or save the export as Big5.'
        : 'Code page 950 does not define these bytes (a Big5-HKSCS or user-defined character): replace the character in the export with one Big5 has.';
    }
    return 'These bytes are not UTF-8: if the export is Big5, run again with --input-encoding big5.';
  }

  get label(): string {
    const enc = this.encoding === 'big5' ? 'Big5 (CP950)' : this.encoding === 'utf-8' ? 'UTF-8' : 'ASCII';
    return this.how === 'given' ? enc : `${enc}, ${this.how === 'bom' ? 'byte-order mark' : this.how}`;
  }
}

function hasNonAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return true;
  return false;
}

/**
 * Length of the start of a UTF-8 sequence at the end of `buf` that the end cuts off (a lead byte
 * and fewer continuation bytes than it announces), or 0.
 */
function cutSequenceLength(buf: Buffer): number {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const b = buf[buf.length - back]!;
    if (b >= 0x80 && b <= 0xbf) continue;
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    return need > back ? back : 0;
  }
  return 0;
}

/** True when `buf` is UTF-8, allowing a sequence cut off at its end. */
function looksUtf8(buf: Buffer): boolean {
  for (let cut = 0; cut <= 3 && cut < buf.length; cut++) {
    if (isUtf8(buf.subarray(0, buf.length - cut))) return true;
  }
  return false;
}

/** Offset of the first byte of `buf` that does not start a valid UTF-8 sequence. */
function firstBadUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    let n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > buf.length || !isUtf8(buf.subarray(i, i + n))) return i;
    i += n;
    n = 0;
  }
  return -1;
}

function hex(buf: Buffer, at: number): string {
  return buf
    .subarray(at, Math.min(buf.length, at + 2))
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}

/** The rest of a value after a bad byte: each bad byte or pair becomes “?”, the rest is decoded. */
function decodeCp950Lenient(buf: Buffer, from: number, end: number): string {
  let s = '';
  let i = from;
  while (i < end) {
    const r = decodeCp950(buf, i, end);
    s += r.text;
    if (r.badAt < 0) break;
    s += '?';
    i = r.badAt + (buf[r.badAt]! >= 0x81 && r.badAt + 1 < end ? 2 : 1);
  }
  return s;
}
