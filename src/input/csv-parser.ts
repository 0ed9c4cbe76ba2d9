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
  private fields: CsvField[] = [];
  /** Line at pos. */
  private line = 1;
  private recLine = 1;
  /** The previous record ended with CR: an LF right after belongs to it. */
  private skipLf = false;
  private readonly delim: number;
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
    this.max = options.maxRecordBytes ?? 16 * 1024 * 1024;
    this.file = options.file ?? 'input';
  }

  /** Feeds a chunk; returns the records it completed. */
  push(chunk: Buffer): CsvRecord[] {
    if (this.recStart > 0) this.compact();
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out = this.scan(false);
    if (this.buf.length - this.recStart > this.max) {
      throw usageError('CSV_RECORD_TOO_LONG', `${this.file}:${this.recLine}: a record starting here is longer than ${Math.round(this.max / 1048576)} MiB`, {
        hint: this.state === S.Quoted || this.state === S.QuoteSeen ? `Probably a quote opened at line ${this.fieldLine} is never closed: fix the quoting in the export.` : 'Check the export: one record should be one result item.',
      });
    }
    return out;
  }

  /** Ends the input; returns the last record, if any. */
  end(): CsvRecord[] {
    return this.scan(true);
  }

  private compact(): void {
    const cut = this.recStart;
    this.buf = this.buf.subarray(cut);
    this.pos -= cut;
    this.fieldStart -= cut;
    this.recStart = 0;
  }

  private pushField(start: number, end: number, quoted: boolean, stray: boolean): void {
    this.fields.push({ start: start - this.recStart, end: end - this.recStart, quoted, escapes: quoted && this.escapes, stray, line: this.fieldLine });
  }

  private finishRecord(end: number, out: CsvRecord[]): void {
    out.push({ line: this.recLine, bytes: this.buf.subarray(this.recStart, end), fields: this.fields });
    this.fields = [];
  }

  /** Handles a line end at `i` (CR or LF) after a record's last field; returns the next position. */
  private lineEnd(i: number, out: CsvRecord[]): number {
    this.finishRecord(i, out);
    this.line++;
    const next = i + 1;
    this.skipLf = this.buf[i] === CR;
    this.recStart = next;
    this.recLine = this.line;
    this.state = S.FieldStart;
    return next;
  }

  private scan(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const buf = this.buf;
    const n = buf.length;
    const D = this.delim;
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
          if (final && this.fields.length > 0) {
            // "a,b," at the end of the file: the last field is empty.
            this.fieldLine = this.line;
            this.pushField(n, n, false, false);
            this.finishRecord(n, out);
          }
          break;
        }
        const b = buf[i]!;
        this.fieldLine = this.line;
        if (b === QUOTE) {
          this.escapes = false;
          this.fieldStart = i + 1;
          this.state = S.Quoted;
          i++;
        } else if (b === D) {
          this.pushField(i, i, false, false);
          i++;
        } else if (b === LF || b === CR) {
          if (this.fields.length === 0) {
            // A blank line: no record.
            this.line++;
            this.skipLf = b === CR;
            i++;
            this.recStart = i;
            this.recLine = this.line;
          } else {
            this.pushField(i, i, false, false);
            i = this.lineEnd(i, out);
          }
        } else {
          this.fieldStart = i;
          this.state = S.Unquoted;
        }
        continue;
      }
      if (this.state === S.Unquoted || this.state === S.Stray) {
        let j = i;
        while (j < n) {
          const b = buf[j]!;
          if (b === D || b === LF || b === CR) break;
          j++;
        }
        const stray = this.state === S.Stray;
        if (j >= n) {
          i = n;
          if (final) {
            this.pushField(this.fieldStart, n, false, stray);
            this.finishRecord(n, out);
            this.state = S.FieldStart;
          }
          break;
        }
        this.pushField(this.fieldStart, j, false, stray);
        if (buf[j] === D) {
          this.state = S.FieldStart;
          i = j + 1;
        } else {
          i = this.lineEnd(j, out);
        }
        continue;
      }
      if (this.state === S.Quoted) {
        const q = buf.indexOf(QUOTE, i);
        const stop = q < 0 ? n : q;
        // Count line breaks inside the quotes (a CR at the very end waits for the next byte).
        let k = i;
        for (; k < stop; k++) {
          const b = buf[k]!;
          if (b === LF) this.line++;
          else if (b === CR) {
            if (k + 1 >= n && !final && q < 0) break;
            if (buf[k + 1] !== LF) this.line++;
          }
        }
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
          this.finishRecord(n, out);
          this.state = S.FieldStart;
        }
        break;
      }
      const b = buf[i]!;
      if (b === QUOTE) {
        this.escapes = true;
        this.state = S.Quoted;
        i++;
      } else if (b === D) {
        this.pushField(this.fieldStart, i - 1, true, false);
        this.state = S.FieldStart;
        i++;
      } else if (b === LF || b === CR) {
        this.pushField(this.fieldStart, i - 1, true, false);
        i = this.lineEnd(i, out);
      } else {
        // `"abc"def`: keep the raw bytes from the opening quote, and report it.
        this.fieldStart -= 1;
        this.state = S.Stray;
      }
    }
    this.pos = i;
    return out;
  }
}

/** The raw bytes of a field's content, with `""` still doubled. */
export function fieldBytes(rec: CsvRecord, f: CsvField): Buffer {
  return rec.bytes.subarray(f.start, f.end);
}
