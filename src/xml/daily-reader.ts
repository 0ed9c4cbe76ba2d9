/**
 * A streaming, byte-level reader for the daily XML.
 *
 * It works on raw bytes (CP950 or UTF-8) in chunks, never builds a DOM, and keeps only the
 * current hdata in memory: a 300 MB file is read with a few megabytes. It checks well-formedness
 * and the structure of 表一 (root `patient`, `hdata` with h-fields in spec order then `rdata`
 * elements with r-fields in spec order), decodes each value, and hands every completed hdata to
 * the sink. Field-level rules live in `rules.ts`.
 *
 * Safety: a DOCTYPE (and with it any entity declaration) stops the read at once, so there is no
 * external entity and no entity expansion; tokens longer than {@link MAX_TOKEN_BYTES} are refused.
 */
import { cp950DecodeTable, decodePairs, isBig5Name, isUtf8Name } from '../encoding/cp950.js';
import { latin1, sameBytes } from '../encoding/bytes.js';
import { HDATA_ELEMENT, H_FIELDS, RDATA_ELEMENT, ROOT_ELEMENT, R_FIELDS, type FieldDef } from '../format/fields.js';
import type { FindingInput } from '../format/findings.js';

export interface FieldValue {
  value: string;
  line: number;
  column: number;
}

export interface RdataRecord {
  /** 1-based position inside its hdata. */
  index: number;
  line: number;
  column: number;
  /** Values by position in `R_FIELDS`; undefined = absent. */
  fields: Array<FieldValue | undefined>;
}

export interface HdataRecord {
  /** 1-based position in the file. */
  index: number;
  line: number;
  column: number;
  /** Values by position in `H_FIELDS`. */
  fields: Array<FieldValue | undefined>;
  rdata: RdataRecord[];
  /** Line of the closing tag: the record spans `line`..`endLine`. */
  endLine: number;
}

export interface ReaderSink {
  hdata(rec: HdataRecord): void;
  finding(f: FindingInput): void;
}

export type XmlEncoding = 'cp950' | 'utf-8';

/** The longest single token (a value, a tag, a comment) labup accepts. */
export const MAX_TOKEN_BYTES = 8 * 1024 * 1024;

const LT = 0x3c, GT = 0x3e, SLASH = 0x2f, BANG = 0x21, QM = 0x3f, AMP = 0x26, NL = 0x0a, CR = 0x0d;
const APOS = 0x27, QUOT = 0x22, RSQB = 0x5d, EQ = 0x3d, SEMI = 0x3b;

const enum Kind {
  Root = 1,
  Hdata = 2,
  Rdata = 3,
  HField = 4,
  RField = 5,
  /** An element labup does not know or does not expect here; its content is skipped. */
  Other = 6,
}

interface Open {
  kind: Kind;
  key: number;
  name: string;
  /** Field position for HField/RField. */
  fieldIndex: number;
  line: number;
  column: number;
}

/** Names are packed 7 bits per ASCII byte (up to 7 bytes) into one number for a fast lookup. */
function packName(name: string): number {
  let k = 0;
  for (let i = 0; i < name.length; i++) k = k * 128 + name.charCodeAt(i);
  return k * 8 + name.length;
}

const NAME_TABLE = new Map<number, { kind: Kind; index: number; name: string }>();
NAME_TABLE.set(packName(ROOT_ELEMENT), { kind: Kind.Root, index: -1, name: ROOT_ELEMENT });
NAME_TABLE.set(packName(HDATA_ELEMENT), { kind: Kind.Hdata, index: -1, name: HDATA_ELEMENT });
NAME_TABLE.set(packName(RDATA_ELEMENT), { kind: Kind.Rdata, index: -1, name: RDATA_ELEMENT });
H_FIELDS.forEach((f, i) => NAME_TABLE.set(packName(f.id), { kind: Kind.HField, index: i, name: f.id }));
R_FIELDS.forEach((f, i) => NAME_TABLE.set(packName(f.id), { kind: Kind.RField, index: i, name: f.id }));

/** The known element for a packed name key, or undefined. */
function lookupName(key: number): { kind: Kind; index: number; name: string } | undefined {
  return key >= 0 ? NAME_TABLE.get(key) : undefined;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function isNameStart(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b === 0x3a || b >= 0x80;
}
function isNameChar(b: number): boolean {
  return isNameStart(b) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e;
}
function isSpace(b: number): boolean {
  return b === 0x20 || b === NL || b === 0x09 || b === CR;
}

class Fatal extends Error {}

export interface DailyXmlReaderOptions {
  /** Encoding to assume when the file has no XML declaration (XML says UTF-8). */
  defaultEncoding?: XmlEncoding;
}

export class DailyXmlReader {
  /**
   * Working buffer: unconsumed bytes of earlier chunks followed by the new chunk. Chunks are
   * copied in and the tail moved down after each parse, so reading allocates nothing per chunk
   * and memory stays flat however large the file.
   */
  private work: Buffer = Buffer.allocUnsafe(1 << 21);
  private workLen = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Absolute offset of buf[0]. */
  private base = 0;
  private line = 1;
  private lineStart = 0;
  /** Bytes on the current line that are continuation bytes of multi-byte characters. */
  private mb = 0;
  private started = false;
  private done = false;
  private rootSeen = false;
  private rootClosed = false;
  /** Open elements: `pool[0 … depth)`; entries are reused, so an entry is valid only until the next push. */
  private pool: Open[] = [];
  private depth = 0;
  /** A window `[text1Start, text1End)` of the working buffer as latin1 text; short values are cut from it. */
  private text1: string | undefined;
  private text1Start = 0;
  private text1End = 0;
  /** Decoded values that hold non-ASCII characters, by their bytes (names, methods, specimens repeat). */
  private decoded = new Map<number, { bytes: Uint8Array; text: string }>();
  private hdataCount = 0;
  private rdataCount = 0;
  private current: HdataRecord | undefined;
  private currentR: RdataRecord | undefined;
  private lastH = -1;
  private lastR = -1;
  private sawRdataInH = false;
  private value = '';
  private valueSpecial = false;
  /** An undecodable byte was already reported for the current value. */
  private valueBad = false;
  private textFlagged = false;
  private badBytes = 0;
  private cp950: Uint16Array | undefined;
  encoding: XmlEncoding;
  /** Set when a fatal error stopped the read. */
  fatal = false;

  constructor(
    private readonly sink: ReaderSink,
    options: DailyXmlReaderOptions = {},
  ) {
    this.encoding = options.defaultEncoding ?? 'utf-8';
  }

  get counts(): { hdata: number; rdata: number } {
    return { hdata: this.hdataCount, rdata: this.rdataCount };
  }

  write(chunk: Uint8Array): void {
    if (this.fatal) return;
    const need = this.workLen + chunk.length;
    if (need > this.work.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.work.length * 2));
      this.work.copy(bigger, 0, 0, this.workLen);
      this.work = bigger;
    }
    this.work.set(chunk, this.workLen);
    this.workLen = need;
    this.buf = this.work.subarray(0, this.workLen);
    this.run(false);
  }

  end(): void {
    if (this.fatal || this.done) return;
    this.run(true);
    if (this.fatal) return;
    this.done = true;
    try {
      if (!this.rootSeen) {
        this.syntax('the file holds no XML element (empty or not XML)', this.line, this.col(this.base + this.buf.length), false);
      } else if (this.depth > 0) {
        const top = this.pool[this.depth - 1]!;
        this.syntax(`unexpected end of file: <${top.name}> opened at line ${top.line} is never closed (file truncated?)`, this.line, this.col(this.base + this.buf.length), false);
      }
    } catch (err) {
      if (!(err instanceof Fatal)) throw err;
    }
  }

  private run(final: boolean): void {
    try {
      const consumed = this.parse(final);
      this.base += consumed;
      if (consumed > 0) {
        this.work.copyWithin(0, consumed, this.workLen);
        this.workLen -= consumed;
      }
      this.buf = this.work.subarray(0, this.workLen);
      if (!final && this.workLen > MAX_TOKEN_BYTES) {
        this.syntax(`a single token is longer than ${MAX_TOKEN_BYTES / 1048576} MiB; labup refuses it`, this.line, this.col(this.base), false);
      }
    } catch (err) {
      if (!(err instanceof Fatal)) throw err;
      this.fatal = true;
      this.workLen = 0;
      this.buf = Buffer.alloc(0);
    }
  }

  private col(abs: number): number {
    return abs - this.lineStart - this.mb + 1;
  }

  private syntax(message: string, line: number, column: number, doctype: boolean): never {
    this.sink.finding({
      code: doctype ? 'XML_DOCTYPE' : 'XML_SYNTAX',
      detail: message,
      line,
      column,
      hdata: this.current?.index ?? null,
      rdata: this.currentR?.index ?? null,
    });
    this.fatal = true;
    throw new Fatal(message);
  }

  private emit(f: FindingInput): void {
    this.sink.finding({ hdata: this.current?.index ?? null, rdata: this.currentR?.index ?? null, ...f });
  }

  /** Counts newlines in buf[from, to) to keep line/column right. */
  private lines(from: number, to: number): void {
    const buf = this.buf;
    for (let k = from; k < to; k++) {
      if (buf[k] === NL) {
        this.line++;
        this.lineStart = this.base + k + 1;
        this.mb = 0;
      }
    }
  }

  /** Returns how many bytes of `buf` were consumed. */
  private parse(final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    let i = 0;
    if (!this.started) {
      // Enough bytes to recognise a BOM and `<?xml `.
      if (n < 9 && !final) return 0;
      this.started = true;
      i = this.prolog(final);
      if (i < 0) {
        this.started = false;
        return 0;
      }
    }
    this.text1 = undefined;
    this.text1Start = this.text1End = 0;
    while (i < n) {
      if (buf[i] !== LT) {
        // Text runs are short (a value, a line break): scan them here, long ones with indexOf.
        let lt = i + 1;
        const stop = Math.min(n, i + 32);
        while (lt < stop && buf[lt] !== LT) lt++;
        if (lt === stop && lt < n) lt = buf.indexOf(LT, lt);
        else if (lt === n) lt = -1;
        if (lt === -1) {
          if (!final) return i;
          lt = n;
        }
        this.text(i, lt);
        i = lt;
        continue;
      }
      if (i + 1 >= n) {
        if (!final) return i;
        this.syntax('unexpected end of file inside markup', this.line, this.col(this.base + i), false);
      }
      const b1 = buf[i + 1]!;
      let next: number;
      if (b1 === SLASH) next = this.endTag(i, final);
      else if (b1 === BANG) next = this.bang(i, final);
      else if (b1 === QM) next = this.pi(i, final);
      else next = this.startTag(i, final);
      if (next < 0) return i;
      i = next;
    }
    return i;
  }

  /** BOM and XML declaration. Returns the offset after them, or -1 when more bytes are needed. */
  private prolog(final: boolean): number {
    const buf = this.buf;
    let i = 0;
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
      i = 3;
      this.encoding = 'utf-8';
      this.lineStart = 3;
    } else if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
      this.sink.finding({ code: 'XML_ENCODING', detail: 'UTF-16 is not accepted', line: 1, column: 1 });
      this.fatal = true;
      throw new Fatal('utf-16');
    }
    const bom = i === 3;
    if (buf[i] === LT && buf[i + 1] === QM && buf.toString('latin1', i + 2, i + 5) === 'xml' && isSpace(buf[i + 5] ?? 0)) {
      const end = buf.indexOf('?>', i, 'latin1');
      if (end === -1) {
        if (!final && buf.length < 4096) return -1;
        this.syntax('the XML declaration is not closed with ?>', 1, 1, false);
      }
      const decl = buf.toString('latin1', i, end + 2);
      const version = /\sversion\s*=\s*(["'])([^"']*)\1/.exec(decl);
      if (!version) this.syntax('the XML declaration has no version', 1, 1, false);
      const enc = /\sencoding\s*=\s*(["'])([^"']*)\1/.exec(decl);
      if (enc) {
        const name = enc[2]!;
        if (isBig5Name(name)) {
          if (bom) {
            this.sink.finding({ code: 'XML_ENCODING', detail: `the file starts with a UTF-8 byte-order mark but declares encoding="${name}"`, line: 1, column: 1, hint: 'Save the file as Big5 without a BOM, or declare encoding="UTF-8".' });
            this.fatal = true;
            throw new Fatal('bom');
          }
          this.encoding = 'cp950';
        } else if (isUtf8Name(name)) {
          this.encoding = 'utf-8';
        } else {
          this.sink.finding({
            code: 'XML_ENCODING',
            detail: `encoding="${name}"`,
            line: 1,
            column: 1,
            hint: /hkscs/i.test(name)
              ? 'NHI reads Big5 as Windows code page 950, without HKSCS: declare encoding="Big5" and keep to characters CP950 has.'
              : 'Declare encoding="Big5" (NHI’s default) or encoding="UTF-8".',
          });
          this.fatal = true;
          throw new Fatal('encoding');
        }
      }
      this.lines(i, end + 2);
      i = end + 2;
    }
    if (this.encoding === 'cp950') this.cp950 = cp950DecodeTable();
    return i;
  }

  private top(): Open | undefined {
    return this.depth > 0 ? this.pool[this.depth - 1] : undefined;
  }

  /** Character data between markup. */
  private text(from: number, to: number): void {
    const top = this.top();
    if (top && (top.kind === Kind.HField || top.kind === Kind.RField)) {
      this.fieldText(from, to, false);
      return;
    }
    const buf = this.buf;
    for (let i = from; i < to; i++) {
      const b = buf[i]!;
      if (b === NL) {
        this.line++;
        this.lineStart = this.base + i + 1;
        this.mb = 0;
      } else if (!isSpace(b)) {
        if (!top) {
          this.syntax(this.rootClosed ? 'text after the end of the document' : 'text before the root element', this.line, this.col(this.base + i), false);
        }
        if (top.kind !== Kind.Other && !this.textFlagged) {
          this.textFlagged = true;
          this.emit({ code: 'XML_TEXT', detail: `inside <${top.name}>`, line: this.line, column: this.col(this.base + i) });
        }
        // skip the rest, still counting lines and checking bytes minimally
        this.skipText(i, to);
        return;
      }
    }
  }

  private skipText(from: number, to: number): void {
    const buf = this.buf;
    for (let i = from; i < to; i++) {
      const b = buf[i]!;
      if (b === NL) {
        this.line++;
        this.lineStart = this.base + i + 1;
        this.mb = 0;
      } else if (b === AMP) {
        const semi = buf.indexOf(SEMI, i);
        if (semi === -1 || semi >= to || semi - i > 12) this.syntax('“&” must start an entity reference such as &amp;', this.line, this.col(this.base + i), false);
        const name = buf.toString('latin1', i + 1, semi);
        if (!PREDEFINED[name] && !/^#(\d+|x[0-9a-fA-F]+)$/.test(name)) this.syntax(`undefined entity &${name};`, this.line, this.col(this.base + i), false);
      }
    }
  }

  /**
   * Text inside a field element: validates bytes for the encoding, finds the XML specials, resolves
   * references, and appends to the current value. The fast path (plain ASCII) allocates one string.
   */
  private fieldText(from: number, to: number, cdata: boolean): void {
    const buf = this.buf;
    let i = from;
    let plain = true;
    for (; i < to; i++) {
      const b = buf[i]!;
      if (b < 0x20 || b >= 0x80 || b === AMP || b === APOS || b === QUOT || b === GT || b === RSQB || b === LT) {
        plain = false;
        break;
      }
    }
    if (plain) {
      // Short values are cut from one latin1 text of the buffer; longer ones are copied on their
      // own, so that no value keeps the whole buffer's text alive (V8 slices strings of 13+).
      if (to - from < 13) {
        if (from < this.text1Start || to > this.text1End) {
          // A window of the buffer as text, small enough to stay in V8's young generation.
          this.text1Start = from;
          this.text1End = Math.min(buf.length, from + 16384);
          this.text1 = latin1(buf, from, this.text1End);
        }
        this.value += this.text1!.substring(from - this.text1Start, to - this.text1Start);
      } else this.value += latin1(buf, from, to);
      return;
    }
    if (this.nonAscii(i, from, to)) return;
    // Slow path: the whole piece, byte by byte.
    const table = this.cp950;
    const utf8 = this.encoding === 'utf-8';
    let out = '';
    let runStart = from;
    let runAscii = true;
    const flush = (end: number) => {
      if (end > runStart) {
        if (runAscii) out += buf.toString('latin1', runStart, end);
        else if (utf8) out += buf.toString('utf8', runStart, end);
        else out += this.decodeCp950Run(runStart, end);
      }
    };
    i = from;
    while (i < to) {
      const b = buf[i]!;
      if (b < 0x80) {
        if (b === NL) {
          this.line++;
          this.lineStart = this.base + i + 1;
          this.mb = 0;
        } else if (b < 0x20 && b !== 0x09 && b !== CR) {
          this.syntax(`control character 0x${b.toString(16).padStart(2, '0')} is not allowed in XML`, this.line, this.col(this.base + i), false);
        } else if (!cdata && b === AMP) {
          flush(i);
          const semi = buf.indexOf(SEMI, i);
          if (semi === -1 || semi >= to || semi - i > 12) this.syntax('“&” must start an entity reference such as &amp;', this.line, this.col(this.base + i), false);
          const name = buf.toString('latin1', i + 1, semi);
          let ch = PREDEFINED[name];
          const column = this.col(this.base + i);
          if (ch === undefined) {
            const m = /^#(?:(\d+)|x([0-9a-fA-F]+))$/.exec(name);
            if (!m) this.syntax(`undefined entity &${name};`, this.line, column, false);
            const cp = m[1] !== undefined ? Number(m[1]) : parseInt(m[2]!, 16);
            if (!(cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) {
              this.syntax(`character reference &${name}; is not a legal XML character`, this.line, column, false);
            }
            ch = String.fromCodePoint(cp);
            if (!'<>&\'"'.includes(ch)) this.emit({ code: 'XML_CHAR_REFERENCE', field: this.top()!.name, detail: `&${name};`, line: this.line, column });
          }
          if ('<>&\'"'.includes(ch)) this.valueSpecial = true;
          out += ch;
          i = semi + 1;
          runStart = i;
          runAscii = true;
          continue;
        } else if (b === APOS || b === QUOT || b === GT || b === LT || (cdata && b === AMP)) {
          this.valueSpecial = true;
        } else if (!cdata && b === RSQB && buf[i + 1] === RSQB && buf[i + 2] === GT) {
          this.syntax('“]]>” is not allowed in text', this.line, this.col(this.base + i), false);
        }
        i++;
        continue;
      }
      runAscii = false;
      if (utf8) {
        const len = utf8Length(buf, i, to);
        if (len === 0) {
          flush(i);
          out += '\ufffd';
          this.badByte(i, 'utf-8');
          i++;
          runStart = i;
          continue;
        }
        this.mb += len - 1;
        i += len;
      } else {
        const c = i + 1 < to ? table![(b << 8) | buf[i + 1]!]! : 0;
        if (c === 0) {
          flush(i);
          out += '\ufffd';
          this.badByte(i, 'cp950');
          i++;
          runStart = i;
          runAscii = true;
          continue;
        }
        this.mb += 1;
        i += 2;
      }
    }
    flush(to);
    this.value += out.includes('\r') ? out.replace(/\r\n?/g, '\n') : out;
  }

  /**
   * The common non-ASCII value: printable ASCII without specials, and whole characters of the
   * encoding. Appends it (decoded once per distinct byte sequence) and returns true; returns false
   * when the piece needs the byte-by-byte path. `i` is the first byte that is not plain ASCII.
   */
  private nonAscii(i: number, from: number, to: number): boolean {
    const buf = this.buf;
    const table = this.cp950;
    let mb = 0;
    let h = 0x811c9dc5;
    for (let k = from; k < i; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
    while (i < to) {
      const b = buf[i]!;
      if (b < 0x80) {
        if (b < 0x20 || b === AMP || b === APOS || b === QUOT || b === GT || b === RSQB || b === LT) return false;
        h = Math.imul(h ^ b, 0x01000193);
        i++;
        continue;
      }
      let len: number;
      if (table) {
        if (i + 1 >= to || table[(b << 8) | buf[i + 1]!] === 0) return false;
        len = 2;
      } else {
        len = utf8Length(buf, i, to);
        if (len === 0) return false;
      }
      for (let k = i; k < i + len; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
      mb += len - 1;
      i += len;
    }
    const n = to - from;
    h = (h ^ n) >>> 0;
    const hit = this.decoded.get(h);
    let text: string;
    if (hit !== undefined && hit.bytes.length === n && sameBytes(hit.bytes, buf, from)) {
      text = hit.text;
    } else {
      text = table ? this.decodeCp950Run(from, to) : buf.toString('utf8', from, to);
      if (n <= 256) {
        if (this.decoded.size >= 4096) this.decoded.clear();
        // A copy: the working buffer is written over.
        this.decoded.set(h, { bytes: Uint8Array.prototype.slice.call(buf, from, to), text });
      }
    }
    this.mb += mb;
    this.value += text;
    return true;
  }

  private decodeCp950Run(from: number, to: number): string {
    return decodePairs(this.cp950!, this.buf, from, to);
  }

  private badByte(at: number, enc: XmlEncoding): void {
    this.badBytes++;
    if (this.valueBad) return;
    this.valueBad = true;
    const top = this.top();
    const bytes = this.buf.subarray(at, Math.min(at + 4, this.buf.length)).toString('hex').replace(/(..)/g, '$1 ').trim();
    let hint: string | undefined;
    if (enc === 'cp950') {
      const looksUtf8 = utf8Length(this.buf, at, Math.min(at + 4, this.buf.length)) > 1;
      hint = looksUtf8
        ? 'The file declares Big5 but these bytes look like UTF-8: save it as Big5 (code page 950) or declare encoding="UTF-8".'
        : 'Code page 950 does not define these bytes (HKSCS-only or user-defined characters): replace the character with one Big5 has.';
    } else {
      hint = 'These bytes are not UTF-8 (Big5 saved under a UTF-8 declaration?): declare encoding="Big5" or save the file as UTF-8.';
    }
    this.emit({
      code: 'XML_BYTES',
      field: top && (top.kind === Kind.HField || top.kind === Kind.RField) ? top.name : null,
      detail: `bytes ${bytes} are not ${enc === 'cp950' ? 'Big5 (CP950)' : 'UTF-8'}`,
      line: this.line,
      column: this.col(this.base + at),
      hint,
    });
  }

  /** `<!--`, `<![CDATA[`, `<!DOCTYPE`. */
  private bang(i: number, final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const line = this.line;
    const column = this.col(this.base + i);
    if (n - i < 9 && !final) return -1;
    if (buf[i + 2] === 0x2d && buf[i + 3] === 0x2d) {
      const end = buf.indexOf('-->', i + 4, 'latin1');
      if (end === -1) {
        if (!final) return -1;
        this.syntax('comment not closed with -->', line, column, false);
      }
      const dd = buf.indexOf('--', i + 4, 'latin1');
      if (dd !== -1 && dd < end) this.syntax('“--” is not allowed inside a comment', line, column, false);
      this.lines(i, end + 3);
      return end + 3;
    }
    if (buf.toString('latin1', i, i + 9) === '<![CDATA[') {
      const end = buf.indexOf(']]>', i + 9, 'latin1');
      if (end === -1) {
        if (!final) return -1;
        this.syntax('CDATA section not closed with ]]>', line, column, false);
      }
      const top = this.top();
      if (!top) this.syntax('CDATA outside the root element', line, column, false);
      if (top.kind === Kind.HField || top.kind === Kind.RField) {
        this.fieldText(i + 9, end, true);
      } else {
        if (top.kind !== Kind.Other && !this.textFlagged && buf.subarray(i + 9, end).some((b) => !isSpace(b))) {
          this.textFlagged = true;
          this.emit({ code: 'XML_TEXT', detail: `CDATA inside <${top.name}>`, line, column });
        }
        this.lines(i, end + 3);
      }
      return end + 3;
    }
    if (buf.toString('latin1', i, i + 9) === '<!DOCTYPE') {
      this.syntax('the file has a DOCTYPE declaration', line, column, true);
    }
    this.syntax('unknown markup starting with <!', line, column, false);
  }

  /** Processing instructions (skipped); `<?xml` anywhere but the start is an error. */
  private pi(i: number, final: boolean): number {
    const buf = this.buf;
    const end = buf.indexOf('?>', i + 2, 'latin1');
    if (end === -1) {
      if (!final) return -1;
      this.syntax('processing instruction not closed with ?>', this.line, this.col(this.base + i), false);
    }
    const target = /^[^\s?]*/.exec(buf.toString('latin1', i + 2, Math.min(end, i + 40)))![0];
    if (target.toLowerCase() === 'xml') {
      this.syntax('the XML declaration is only allowed at the very start of the file', this.line, this.col(this.base + i), false);
    }
    if (!target) this.syntax('processing instruction without a target', this.line, this.col(this.base + i), false);
    this.lines(i, end + 2);
    return end + 2;
  }

  /** Packed key of the last name read by {@link nameEnd}, or -1 when it cannot be packed. */
  private nameKey = -1;

  /** Reads a name at `i`; returns its end offset and leaves its packed key in `nameKey`. */
  private nameEnd(i: number, n: number): number {
    const buf = this.buf;
    let j = i;
    let k = 0;
    while (j < n) {
      const b = buf[j]!;
      if (!isNameChar(b)) break;
      k = b < 0x80 ? k * 128 + b : Infinity;
      j++;
    }
    const len = j - i;
    this.nameKey = len <= 7 && k !== Infinity ? k * 8 + len : -1;
    return j;
  }

  private nameString(from: number, to: number): string {
    const known = lookupName(this.nameKey);
    return known ? known.name : this.buf.toString(this.encoding === 'utf-8' ? 'utf8' : 'latin1', from, to);
  }

  private startTag(i: number, final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const line = this.line;
    const column = this.col(this.base + i);
    if (!isNameStart(buf[i + 1]!)) this.syntax('“<” must start a tag; write ＜ (full-width) in values', line, column, false);
    const ne = this.nameEnd(i + 1, n);
    const key = this.nameKey;
    if (ne >= n) {
      if (!final) return -1;
      this.syntax('unexpected end of file in a tag', line, column, false);
    }
    // Fast path: <name> with no attributes.
    let j = ne;
    let attrs = 0;
    let selfClosing = false;
    let seen: Set<string> | undefined;
    for (;;) {
      while (j < n && isSpace(buf[j]!)) j++;
      if (j >= n) {
        if (!final) return -1;
        this.syntax('unexpected end of file in a tag', line, column, false);
      }
      const b = buf[j]!;
      if (b === GT) break;
      if (b === SLASH) {
        if (j + 1 >= n) {
          if (!final) return -1;
          this.syntax('unexpected end of file in a tag', line, column, false);
        }
        if (buf[j + 1] !== GT) this.syntax('“/” in a tag must be followed by “>”', line, column, false);
        selfClosing = true;
        j++;
        break;
      }
      if (j === ne || !isSpace(buf[j - 1]!)) this.syntax('attributes must be separated by white space', line, column, false);
      if (!isNameStart(b)) this.syntax('malformed tag', line, column, false);
      const ae = this.nameEnd(j, n);
      const attrName = buf.toString('latin1', j, ae);
      let k = ae;
      while (k < n && isSpace(buf[k]!)) k++;
      if (k >= n) {
        if (!final) return -1;
        this.syntax('unexpected end of file in a tag', line, column, false);
      }
      if (buf[k] !== EQ) this.syntax(`attribute ${attrName} has no value`, line, column, false);
      k++;
      while (k < n && isSpace(buf[k]!)) k++;
      const q = buf[k];
      if (k >= n) {
        if (!final) return -1;
        this.syntax('unexpected end of file in a tag', line, column, false);
      }
      if (q !== QUOT && q !== APOS) this.syntax(`attribute ${attrName} value must be quoted`, line, column, false);
      const close = buf.indexOf(q, k + 1);
      if (close === -1) {
        if (!final) return -1;
        this.syntax('unexpected end of file in an attribute value', line, column, false);
      }
      const lt = buf.indexOf(LT, k + 1);
      if (lt !== -1 && lt < close) this.syntax('“<” is not allowed in an attribute value', line, column, false);
      seen ??= new Set<string>();
      if (seen.has(attrName)) this.syntax(`attribute ${attrName} appears twice`, line, column, false);
      seen.add(attrName);
      attrs++;
      j = close + 1;
    }
    const known = lookupName(key);
    const name = known ? known.name : this.buf.toString(this.encoding === 'utf-8' ? 'utf8' : 'latin1', i + 1, ne);
    // Only white space after the name can hold a line break.
    if (j > ne) this.lines(i, j + 1);
    this.open(name, key, known, line, column, attrs > 0);
    if (selfClosing) this.close(name, key, line, column);
    return j + 1;
  }

  private endTag(i: number, final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const line = this.line;
    const column = this.col(this.base + i);
    // Fast path: `</name>` closing the element just opened.
    const top = this.depth > 0 ? this.pool[this.depth - 1]! : undefined;
    if (top !== undefined && top.key >= 0) {
      const name = top.name;
      const len = name.length;
      const end = i + 2 + len;
      if (end < n && buf[end] === GT) {
        let k = 0;
        while (k < len && buf[i + 2 + k] === name.charCodeAt(k)) k++;
        if (k === len) {
          this.close(name, top.key, line, column);
          return end + 1;
        }
      }
    }
    const gt = buf.indexOf(GT, i + 2);
    if (gt === -1) {
      if (!final) return -1;
      this.syntax('unexpected end of file in an end tag', line, column, false);
    }
    const ne = this.nameEnd(i + 2, n);
    for (let k = ne; k < gt; k++) if (!isSpace(buf[k]!)) this.syntax('malformed end tag', line, column, false);
    const key = this.nameKey;
    const name = this.nameString(i + 2, ne);
    this.lines(i, gt + 1);
    this.close(name, key, line, column);
    return gt + 1;
  }

  private open(name: string, key: number, known: { kind: Kind; index: number; name: string } | undefined, line: number, column: number, hasAttrs: boolean): void {
    const parent = this.top();
    if (!parent && this.rootClosed) this.syntax(`a second root element <${name}> after the end of the document`, line, column, false);
    let kind = Kind.Other;
    let fieldIndex = -1;
    const ctx = { line, column };
    if (hasAttrs && parent?.kind !== Kind.Other) this.emit({ code: 'XML_ATTRIBUTE', detail: `on <${name}>`, ...ctx });
    if (!parent) {
      this.rootSeen = true;
      kind = Kind.Root;
      if (known?.kind !== Kind.Root) this.emit({ code: 'XML_ROOT', detail: `found <${name}>`, ...ctx });
    } else if (parent.kind === Kind.Root) {
      if (known?.kind === Kind.Hdata) {
        kind = Kind.Hdata;
        this.hdataCount++;
        this.current = { index: this.hdataCount, line, column, fields: new Array(H_FIELDS.length), rdata: [], endLine: line };
        this.lastH = -1;
        this.sawRdataInH = false;
        this.textFlagged = false;
      } else {
        this.unexpected(name, known?.kind, 'inside <patient> only <hdata> elements are allowed', ctx);
      }
    } else if (parent.kind === Kind.Hdata) {
      if (known?.kind === Kind.HField) {
        if (this.sawRdataInH) {
          this.emit({ code: 'XML_ELEMENT_ORDER', field: name, detail: `<${name}> after <rdata>; header fields come before the rdata elements`, ...ctx });
        } else if (this.current!.fields[known.index] !== undefined || known.index === this.lastH) {
          this.emit({ code: 'XML_ELEMENT_DUPLICATE', field: name, ...ctx });
        } else if (known.index < this.lastH) {
          // Reported, but the value is still read so that the other rules see it.
          this.emit({ code: 'XML_ELEMENT_ORDER', field: name, detail: `<${name}> after <${H_FIELDS[this.lastH]!.id}>`, ...ctx });
          kind = Kind.HField;
          fieldIndex = known.index;
        } else {
          kind = Kind.HField;
          fieldIndex = known.index;
        }
        this.lastH = Math.max(this.lastH, known.index);
      } else if (known?.kind === Kind.Rdata) {
        kind = Kind.Rdata;
        this.sawRdataInH = true;
        this.rdataCount++;
        this.currentR = { index: this.current!.rdata.length + 1, line, column, fields: new Array(R_FIELDS.length) };
        this.lastR = -1;
      } else {
        this.unexpected(name, known?.kind, known?.kind === Kind.RField ? `<${name}> belongs inside <rdata>` : 'inside <hdata> only h1–h30 and <rdata> are allowed', ctx);
      }
    } else if (parent.kind === Kind.Rdata) {
      if (known?.kind === Kind.RField) {
        if (this.currentR!.fields[known.index] !== undefined || known.index === this.lastR) {
          this.emit({ code: 'XML_ELEMENT_DUPLICATE', field: name, ...ctx });
        } else if (known.index < this.lastR) {
          this.emit({ code: 'XML_ELEMENT_ORDER', field: name, detail: `<${name}> after <${R_FIELDS[this.lastR]!.id}>`, ...ctx });
          kind = Kind.RField;
          fieldIndex = known.index;
        } else {
          kind = Kind.RField;
          fieldIndex = known.index;
        }
        this.lastR = Math.max(this.lastR, known.index);
      } else {
        this.unexpected(name, known?.kind, known?.kind === Kind.HField ? `<${name}> belongs in <hdata>, before the rdata elements` : 'inside <rdata> only r-fields are allowed', ctx);
      }
    } else if (parent.kind === Kind.HField || parent.kind === Kind.RField) {
      this.emit({ code: 'XML_NESTED', field: parent.name, detail: `<${name}> inside <${parent.name}>`, ...ctx });
    }
    if (kind === Kind.HField || kind === Kind.RField) {
      this.value = '';
      this.valueSpecial = false;
      this.valueBad = false;
    }
    const d = this.depth++;
    const e = this.pool[d];
    if (e === undefined) this.pool[d] = { kind, key, name, fieldIndex, line, column };
    else {
      e.kind = kind;
      e.key = key;
      e.name = name;
      e.fieldIndex = fieldIndex;
      e.line = line;
      e.column = column;
    }
  }

  private unexpected(name: string, kind: Kind | undefined, detail: string, ctx: { line: number; column: number }): void {
    if (kind === undefined) this.emit({ code: 'XML_ELEMENT_UNKNOWN', detail: `<${name}>: ${detail}`, ...ctx });
    else this.emit({ code: 'XML_ELEMENT_ORDER', field: kind === Kind.HField || kind === Kind.RField ? name : null, detail, ...ctx });
  }

  private close(name: string, key: number, line: number, column: number): void {
    const top = this.depth > 0 ? this.pool[--this.depth] : undefined;
    if (!top) this.syntax(`end tag </${name}> without a start tag`, line, column, false);
    if (key >= 0 ? top.key !== key : top.name !== name) {
      this.syntax(`end tag </${name}> does not match <${top.name}> opened at line ${top.line}`, line, column, false);
    }
    switch (top.kind) {
      case Kind.HField:
      case Kind.RField: {
        const def: FieldDef = top.kind === Kind.HField ? H_FIELDS[top.fieldIndex]! : R_FIELDS[top.fieldIndex]!;
        const at = { line: top.line, column: top.column, field: def.id };
        if (this.valueSpecial) this.emit({ code: 'VALUE_XML_SPECIAL', ...at, detail: 'found one of < > & \' " (half-width)' });
        if (this.value === '') {
          if (def.required.kind !== 'always') this.emit({ code: 'FIELD_EMPTY_ELEMENT', ...at });
          // An empty element counts as absent; required-field rules report it if needed.
          break;
        }
        const fv: FieldValue = { value: this.value, line: top.line, column: top.column };
        if (top.kind === Kind.HField) this.current!.fields[top.fieldIndex] = fv;
        else this.currentR!.fields[top.fieldIndex] = fv;
        this.value = '';
        break;
      }
      case Kind.Rdata:
        this.current!.rdata.push(this.currentR!);
        this.currentR = undefined;
        break;
      case Kind.Hdata: {
        const rec = this.current!;
        rec.endLine = line;
        if (rec.rdata.length === 0) this.emit({ code: 'XML_NO_RDATA', line: rec.line, column: rec.column });
        this.sink.hdata(rec);
        this.current = undefined;
        break;
      }
      case Kind.Root:
        this.rootClosed = true;
        if (this.hdataCount === 0) this.emit({ code: 'XML_NO_HDATA', line: top.line, column: top.column });
        break;
      default:
        break;
    }
  }
}

/** Length of the valid UTF-8 sequence at `i`, or 0 when the bytes there are not UTF-8. */
function utf8Length(buf: Uint8Array, i: number, end: number): number {
  const b = buf[i]!;
  let len: number;
  let min: number;
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else return 0;
  if (i + len > end) return 0;
  let cp = b & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
  for (let k = 1; k < len; k++) {
    const c = buf[i + k]!;
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}
