/**
 * A streaming RFC 4180 CSV parser working on bytes.
 *
 * Quoted fields (with `""` for a quote, and line breaks inside), CRLF, LF or CR line ends, any
 * one-byte ASCII delimiter. It splits on bytes, before decoding, which is safe for UTF-8 and for
 * Big5 (CP950): the delimiter, the quote and CR/LF are ASCII below 0x40 and never the second byte
 * of a CP950 pair. Chunks may end anywhere; the parser resumes where it stopped, so each byte is
 * scanned once and only the current record is buffered.
 *
 * Lenient where exports are sloppy, strict where data would be lost: a quote inside an unquoted
 * field is kept as text; text after a closing quote is reported; an unclosed quote at the end of
 * the file is an error naming the line where it opened.
 */
import { usageError } from '../errors.js';

export interface CsvField {
  /** Offsets into `CsvRecord.bytes`: the field's content (inside the quotes when quoted). */
  start: number;
  end: number;
  quoted: boolean;
  /** Quoted content holds `""` pairs that stand for one quote. */
  escapes: boolean;
  /** Text followed the closing quote: the field is the raw bytes from the opening quote on. */
  stray: boolean;
  /** 1-based line where the field starts. */
  line: number;
}

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  bytes: Buffer;
  fields: CsvField[];
}

/**
 * A record as the parser found it, without objects: valid only during the callback (the buffer
 * and the field array are reused). Field k is `fields[k * FIELD_STRIDE + …]`, offsets relative to
 * `start`: see {@link FieldSlot}.
 */
export type RawRecordSink = (bytes: Buffer, start: number, end: number, line: number, fields: Int32Array, count: number) => void;

/** Numbers kept for each field of a raw record. */
export const enum FieldSlot {
  Start = 0,
  End = 1,
  /** {@link FieldFlag} bits. */
  Flags = 2,
  Line = 3,
  /** {@link ByteClass} bits of the bytes inside (between the quotes for a quoted field). */
  Class = 4,
}
export const FIELD_STRIDE = 5;

export const enum FieldFlag {
  Quoted = 1,
  Escapes = 2,
  Stray = 4,
}

/** What kinds of bytes a field holds (OR of the classes of its bytes). */
export const enum ByteClass {
  /** A byte ≥ 0x80: part of a multi-byte character. */
  NonAscii = 1,
  /** One of & < > ' " (written full-width). */
  Special = 2,
  LineFeed = 4,
  /** CR or a control character other than tab and LF. */
  Control = 8,
}

/** Table mark of a byte that ends an unquoted field (the delimiter, CR, LF). */
const STOP = 0x80;
const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  if (b >= 0x80) CLASS[b] = ByteClass.NonAscii;
  else if (b === 0x26 || b === 0x3c || b === 0x3e || b === 0x27 || b === 0x22) CLASS[b] = ByteClass.Special;
  else if (b === 0x0a) CLASS[b] = ByteClass.LineFeed;
  else if (b < 0x20 && b !== 0x09) CLASS[b] = ByteClass.Control;
}

export interface CsvParserOptions {
  /** The delimiter, one ASCII character (default `,`). */
  delimiter?: string;
  /** Longest record accepted (default 16 MiB): a longer one is almost always an unclosed quote. */
  maxRecordBytes?: number;
  /** File name for messages. */
  file?: string;
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just read a quote inside a quoted field: an escaped quote or the closing one. */
  QuoteSeen,
  /** Text after a closing quote, up to the next delimiter. */
  Stray,
}

export class CsvParser {
  private buf: Buffer = Buffer.alloc(0);
  /** Scan position in buf. */
  private pos = 0;
  /** Where the current record starts in buf. */
  private recStart = 0;
  private state = S.FieldStart;
  /** Start of the current field's content in buf. */
  private fieldStart = 0;
  private fieldLine = 1;
  private escapes = false;
  /** Byte classes of the current field so far. */
  private cls = 0;
  /** The current record's fields (FIELD_STRIDE numbers each), offsets relative to recStart. */
  private fields = new Int32Array(64 * FIELD_STRIDE);
  private count = 0;
  private sink: RawRecordSink = () => {};
  /** Line at pos. */
  private line = 1;
  private recLine = 1;
  /** The previous record ended with CR: an LF right after belongs to it. */
  private skipLf = false;
  private readonly delim: number;
  /** Each byte's class, or STOP for the bytes that end an unquoted field. */
  private readonly table: Uint8Array;
  private readonly max: number;
  private readonly file: string;

  constructor(options: CsvParserOptions = {}) {
    const d = options.delimiter ?? ',';
    if (d.length !== 1 || d.charCodeAt(0) > 0x7f || d === '"' || d === '\r' || d === '\n') {
      throw usageError('CSV_DELIMITER', `the CSV delimiter must be one ASCII character other than a quote or a line break (got ${JSON.stringify(d)})`, {
        hint: 'Use --delimiter "," (default), ";", "|" or "\\t".',
      });
    }
    this.delim = d.charCodeAt(0);
    this.table = CLASS.slice();
    this.table[this.delim] = STOP;
    this.table[LF] = STOP;
    this.table[CR] = STOP;
    this.max = options.maxRecordBytes ?? 16 * 1024 * 1024;
    this.file = options.file ?? 'input';
  }

  /** Feeds a chunk; returns the records it completed. */
  push(chunk: Buffer): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.pushRaw(chunk, collect(out));
    return out;
  }

  /** Ends the input; returns the last record, if any. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.endRaw(collect(out));
    return out;
  }

  /** Feeds a chunk; hands each record it completes to `sink`, without making objects. */
  pushRaw(chunk: Buffer, sink: RawRecordSink): void {
    if (this.recStart > 0) this.compact();
    this.sink = sink;
    if (this.buf.length === 0) this.buf = chunk;
    else this.carryOver(chunk);
    this.scan(false);
    if (this.buf.length - this.recStart > this.max) {
      throw usageError('CSV_RECORD_TOO_LONG', `${this.file}:${this.recLine}: a record starting here is longer than ${Math.round(this.max / 1048576)} MiB`, {
        hint: this.state === S.Quoted || this.state === S.QuoteSeen ? `Probably a quote opened at line ${this.fieldLine} is never closed: fix the quoting in the export.` : 'Check the export: one record should be one result item.',
      });
    }
  }

  /** Ends the input; hands the last record, if any, to `sink`. */
  endRaw(sink: RawRecordSink): void {
    this.sink = sink;
    this.scan(true);
  }

  /**
   * A record runs over from the last chunk: it is finished in a small buffer — its start, then the
   * new chunk's first bytes, a few KiB at a time — and scanning then goes on in the chunk itself,
   * which is never copied (a chunk's memory is that of the rows read from it).
   */
  private carryOver(chunk: Buffer): void {
    // buf[base + j] is chunk[j]
    const base = this.buf.length;
    let from = 0;
    // (a long record carried over takes the chunk whole: copying it once is cheaper than often)
    let step = Math.max(4096, base);
    while (from < chunk.length) {
      const to = Math.min(chunk.length, from + step);
      this.buf = Buffer.concat([this.buf, chunk.subarray(from, to)]);
      from = to;
      this.scan(false);
      if (this.recStart >= base) {
        // The open record (if any) lies in the chunk: go on there.
        this.buf = chunk;
        this.pos -= base;
        this.recStart -= base;
        this.fieldStart -= base;
        return;
      }
      step *= 2;
    }
  }

  private compact(): void {
    const cut = this.recStart;
    this.buf = this.buf.subarray(cut);
    this.pos -= cut;
    this.fieldStart -= cut;
    this.recStart = 0;
  }

  private pushField(start: number, end: number, quoted: boolean, stray: boolean): void {
    let f = this.fields;
    const k = this.count * FIELD_STRIDE;
    if (k + FIELD_STRIDE > f.length) {
      const bigger = new Int32Array(f.length * 2);
      bigger.set(f);
      this.fields = f = bigger;
    }
    f[k] = start - this.recStart;
    f[k + 1] = end - this.recStart;
    f[k + 2] = (quoted ? FieldFlag.Quoted : 0) | (quoted && this.escapes ? FieldFlag.Escapes : 0) | (stray ? FieldFlag.Stray : 0);
    f[k + 3] = this.fieldLine;
    f[k + 4] = this.cls;
    this.count++;
    this.cls = 0;
  }

  private finishRecord(end: number): void {
    this.sink(this.buf, this.recStart, end, this.recLine, this.fields, this.count);
    this.count = 0;
  }

  /** Handles a line end at `i` (CR or LF) after a record's last field; returns the next position. */
  private lineEnd(i: number): number {
    this.finishRecord(i);
    this.line++;
    const next = i + 1;
    this.skipLf = this.buf[i] === CR;
    this.recStart = next;
    this.recLine = this.line;
    this.state = S.FieldStart;
    return next;
  }

  private scan(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    const D = this.delim;
    const T = this.table;
    let i = this.pos;
    for (;;) {
      if (this.state === S.FieldStart) {
        if (this.skipLf && i < n) {
          this.skipLf = false;
          if (buf[i] === LF) {
            i++;
            this.recStart = i;
            continue;
          }
        }
        if (i >= n) {
          if (final && this.count > 0) {
            // "a,b," at the end of the file: the last field is empty.
            this.fieldLine = this.line;
            this.pushField(n, n, false, false);
            this.finishRecord(n);
          }
          break;
        }
        const b = buf[i]!;
        this.fieldLine = this.line;
        if (b === QUOTE) {
          this.escapes = false;
          this.cls = 0;
          this.fieldStart = i + 1;
          this.state = S.Quoted;
          i++;
        } else if (b === D) {
          this.pushField(i, i, false, false);
          i++;
        } else if (b === LF || b === CR) {
          if (this.count === 0) {
            // A blank line: no record.
            this.line++;
            this.skipLf = b === CR;
            i++;
            this.recStart = i;
            this.recLine = this.line;
          } else {
            this.pushField(i, i, false, false);
            i = this.lineEnd(i);
          }
        } else {
          // An unquoted field, most often whole in this chunk: read it here.
          let j = i + 1;
          let cls = T[b]!;
          let t = 0;
          while (j < n && ((t = T[buf[j]!]!) & STOP) === 0) {
            cls |= t;
            j++;
          }
          if (j < n) {
            this.cls = cls;
            this.fieldStart = i;
            this.pushField(i, j, false, false);
            if (buf[j] === D) i = j + 1;
            else i = this.lineEnd(j);
            continue;
          }
          this.fieldStart = i;
          this.cls = cls;
          this.state = S.Unquoted;
          i = j;
        }
        continue;
      }
      if (this.state === S.Unquoted || this.state === S.Stray) {
        let j = i;
        let cls = this.cls;
        let t = 0;
        while (j < n && ((t = T[buf[j]!]!) & STOP) === 0) {
          cls |= t;
          j++;
        }
        this.cls = cls;
        const stray = this.state === S.Stray;
        if (j >= n) {
          i = n;
          if (final) {
            this.pushField(this.fieldStart, n, false, stray);
            this.finishRecord(n);
            this.state = S.FieldStart;
          }
          break;
        }
        this.pushField(this.fieldStart, j, false, stray);
        if (buf[j] === D) {
          this.state = S.FieldStart;
          i = j + 1;
        } else {
          i = this.lineEnd(j);
        }
        continue;
      }
      if (this.state === S.Quoted) {
        const q = buf.indexOf(QUOTE, i);
        const stop = q < 0 ? n : q;
        // Count line breaks inside the quotes (a CR at the very end waits for the next byte).
        let k = i;
        let cls = this.cls;
        for (; k < stop; k++) {
          const b = buf[k]!;
          cls |= CLASS[b]!;
          if (b === LF) this.line++;
          else if (b === CR) {
            if (k + 1 >= n && !final && q < 0) break;
            if (buf[k + 1] !== LF) this.line++;
          }
        }
        this.cls = cls;
        if (q < 0) {
          i = k;
          if (final) {
            throw usageError('CSV_UNCLOSED_QUOTE', `${this.file}:${this.fieldLine}: a quoted field opened here is never closed`, {
              hint: 'Close the quote, or double a quote that is part of the text ("").',
            });
          }
          break;
        }
        i = q + 1;
        this.state = S.QuoteSeen;
        continue;
      }
      // S.QuoteSeen
      if (i >= n) {
        if (final) {
          this.pushField(this.fieldStart, n - 1, true, false);
          this.finishRecord(n);
          this.state = S.FieldStart;
        }
        break;
      }
      const b = buf[i]!;
      if (b === QUOTE) {
        this.escapes = true;
        this.cls |= ByteClass.Special;
        this.state = S.Quoted;
        i++;
      } else if (b === D) {
        this.pushField(this.fieldStart, i - 1, true, false);
        this.state = S.FieldStart;
        i++;
      } else if (b === LF || b === CR) {
        this.pushField(this.fieldStart, i - 1, true, false);
        i = this.lineEnd(i);
      } else {
        // `"abc"def`: keep the raw bytes from the opening quote, and report it.
        this.fieldStart -= 1;
        this.cls |= ByteClass.Special;
        this.state = S.Stray;
      }
    }
    this.pos = i;
  }
}

/** A raw record (a {@link RawRecordSink}'s arguments) as a {@link CsvRecord} object. */
export function toCsvRecord(bytes: Buffer, start: number, end: number, line: number, f: Int32Array, count: number): CsvRecord {
  const fields: CsvField[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const o = k * FIELD_STRIDE;
    const flags = f[o + FieldSlot.Flags]!;
    fields[k] = { start: f[o]!, end: f[o + FieldSlot.End]!, quoted: (flags & FieldFlag.Quoted) !== 0, escapes: (flags & FieldFlag.Escapes) !== 0, stray: (flags & FieldFlag.Stray) !== 0, line: f[o + FieldSlot.Line]! };
  }
  return { line, bytes: bytes.subarray(start, end), fields };
}

/** A sink that turns raw records into {@link CsvRecord} objects. */
function collect(out: CsvRecord[]): RawRecordSink {
  return (bytes, start, end, line, f, count) => {
    out.push(toCsvRecord(bytes, start, end, line, f, count));
  };
}

/** The raw bytes of a field's content, with `""` still doubled. */
export function fieldBytes(rec: CsvRecord, f: CsvField): Buffer {
  return rec.bytes.subarray(f.start, f.end);
}
