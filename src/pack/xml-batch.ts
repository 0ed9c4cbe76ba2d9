/**
 * Writing the daily XML for `pack` straight into byte buffers, batch by batch, byte for byte what
 * {@link DailyXmlWriter} writes (elements in the order of 表一, one per line, two-space indentation,
 * the five XML specials full-width, CP950 or UTF-8).
 *
 * Alongside the bytes it writes an index of every value (field, byte range, line), so that the
 * rules can be run on exactly what the file holds without parsing it again: the writer guarantees
 * well-formed XML, element order and full-width specials, so the index is all a reader would find.
 *
 * Values come as strings (encoded here) or as byte ranges of the input (a Big5 or ASCII CSV cell
 * copied as it is, its specials replaced on the way).
 */
import { cp950DecodeTable, cp950EncodeTable } from '../encoding/cp950.js';
import { H_FIELDS, HDATA_ELEMENT, R_FIELDS, RDATA_ELEMENT } from '../format/fields.js';
import { DailyXmlWriter, toFullWidth, type OutputEncoding } from '../xml/builder.js';

/** Index entries: a tag, then its numbers. */
export const enum IndexTag {
  /** `REC, hdata, line`: an hdata starts. */
  Record = -1,
  /** `RDATA, line`: an rdata starts. */
  Rdata = -2,
  /** `END, line`: the hdata closes on this line. */
  End = -3,
  // A value is `field, start, end, line` with field = position in H_FIELDS, or 64 + position in R_FIELDS.
}
export const R_FIELD_BASE = 64;

/** Where a batch's index starts in its memory: after its bytes, 4-byte aligned. */
const indexOffsetAfter = (bytes: number): number => (bytes + 3) & ~3;

/** One batch: whole hdata records, and the index of their values. */
export interface XmlBatch {
  bytes: Buffer;
  /** In the same memory as `bytes`, after them (at `indexOffset` of the shared memory, when shared). */
  index: Int32Array;
  indexOffset: number;
  /** hdata of the first and last record in the batch (0 when it holds none, e.g. the tail). */
  firstHdata: number;
  lastHdata: number;
  /** The shared memory `bytes` lie in (from offset 0), when taken into shared memory. */
  shared: SharedArrayBuffer | null;
}

/**
 * Batch memory used over and over: zlib and the rule worker read a batch where it was written,
 * and the memory is taken again once both are done with it (no allocation per batch).
 */
export class BatchBuffers {
  private readonly free: Array<{ buf: Buffer; sab: SharedArrayBuffer | null }> = [];

  constructor(
    private readonly size: number,
    private readonly keep = 16,
  ) {}

  /** Memory for `length` bytes: shared (for a worker) or not; released with {@link release}. */
  take(length: number, shared: boolean): { buf: Buffer; sab: SharedArrayBuffer | null } {
    if (length <= this.size) {
      for (let i = this.free.length - 1; i >= 0; i--) {
        const f = this.free[i]!;
        if ((f.sab !== null) === shared) return this.free.splice(i, 1)[0]!;
      }
    }
    const n = Math.max(length, this.size);
    const sab = shared ? new SharedArrayBuffer(n) : null;
    return { buf: sab ? Buffer.from(sab) : Buffer.allocUnsafeSlow(n), sab };
  }

  release(mem: { buf: Buffer; sab: SharedArrayBuffer | null }): void {
    if (mem.buf.length === this.size && this.free.length < this.keep) this.free.push(mem);
  }
}

/** What the rules need to know about the layout: the column each kind of element starts at. */
export interface XmlLayout {
  encoding: OutputEncoding;
  hdataColumn: number;
  hFieldColumn: number;
  rdataColumn: number;
  rFieldColumn: number;
}

const AMP = 0x26, LT = 0x3c, GT = 0x3e, APOS = 0x27, QUOT = 0x22, NL = 0x0a;
/** `raw` hints (RawFlag bits: CP950 pairs 4, specials 8, line feeds 16): anything may be there. */
const RAW_ANY = 4 | 8 | 16;

/** Bytes written for each ASCII byte value of a special, per output encoding; undefined = as is. */
function specialBytes(encoding: OutputEncoding): Array<Buffer | undefined> {
  const w = new DailyXmlWriter({ encoding });
  const table: Array<Buffer | undefined> = new Array(128).fill(undefined);
  for (const c of [AMP, LT, GT, APOS, QUOT]) table[c] = w.encodeText(toFullWidth(String.fromCharCode(c), encoding));
  return table;
}

/** CP950 pairs that decode to a character whose own (first) pair is another one: written as that one. */
function canonicalPairs(): Uint16Array {
  const dec = cp950DecodeTable();
  const enc = cp950EncodeTable();
  const canon = new Uint16Array(65536);
  for (let code = 0x8140; code <= 0xfefe; code++) {
    const c = dec[code]!;
    if (c !== 0 && enc[c] !== code) canon[code] = enc[c]!;
  }
  return canon;
}
let canonTable: Uint16Array | undefined;

/**
 * A tag's bytes as little-endian 32-bit words: written four bytes at a time (the last word may
 * reach past the tag; what follows overwrites it, and the buffer keeps room for it).
 */
class Tag {
  readonly words: Uint32Array;
  constructor(readonly bytes: Buffer) {
    const padded = Buffer.alloc(Math.ceil(bytes.length / 4) * 4);
    bytes.copy(padded);
    this.words = new Uint32Array(padded.length / 4);
    for (let k = 0; k < this.words.length; k++) this.words[k] = padded.readUInt32LE(4 * k);
  }
  get length(): number {
    return this.bytes.length;
  }
}

/** Room kept after the last byte for a word written past it. */
const SLACK = 8;

export class XmlBatchWriter {
  readonly layout: XmlLayout;
  private buf: Buffer;
  private view: DataView;
  private pos = 0;
  private index: Int32Array;
  private ix = 0;
  /** Line the next byte written starts on. */
  private line = 1;
  private firstHdata = 0;
  private lastHdata = 0;
  private readonly open: Tag[];
  private readonly close: Tag[];
  private readonly hdataOpen: Tag;
  private readonly hdataClose: Tag;
  private readonly rdataOpen: Tag;
  private readonly rdataClose: Tag;
  private readonly specials: Array<Buffer | undefined>;
  private readonly enc: Uint16Array | null;
  private readonly canon: Uint16Array | null;
  private readonly writer: DailyXmlWriter;

  /** `batchBytes`: the size batches are taken at (the buffer starts a little larger). */
  constructor(encoding: OutputEncoding, batchBytes = 256 * 1024) {
    this.writer = new DailyXmlWriter({ encoding });
    const i1 = '  ', i2 = '    ', i3 = '      ';
    const latin = (s: string) => new Tag(Buffer.from(s, 'latin1'));
    this.open = [...H_FIELDS.map((f) => latin(`${i2}<${f.id}>`))];
    this.close = [...H_FIELDS.map((f) => latin(`</${f.id}>\n`))];
    R_FIELDS.forEach((f, i) => {
      this.open[R_FIELD_BASE + i] = latin(`${i3}<${f.id}>`);
      this.close[R_FIELD_BASE + i] = latin(`</${f.id}>\n`);
    });
    this.hdataOpen = latin(`${i1}<${HDATA_ELEMENT}>\n`);
    this.hdataClose = latin(`${i1}</${HDATA_ELEMENT}>\n`);
    this.rdataOpen = latin(`${i2}<${RDATA_ELEMENT}>\n`);
    this.rdataClose = latin(`${i2}</${RDATA_ELEMENT}>\n`);
    this.layout = { encoding, hdataColumn: i1.length + 1, hFieldColumn: i2.length + 1, rdataColumn: i2.length + 1, rFieldColumn: i3.length + 1 };
    this.specials = specialBytes(encoding);
    this.enc = encoding === 'big5' ? cp950EncodeTable() : null;
    this.canon = encoding === 'big5' ? (canonTable ??= canonicalPairs()) : null;
    this.buf = Buffer.allocUnsafe(batchBytes + 64 * 1024);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.index = new Int32Array(16 * 1024);
  }

  /** Bytes in the current batch. */
  get size(): number {
    return this.pos;
  }

  /** Memory {@link take} needs for the current batch: its bytes, then its index (4-byte aligned). */
  get takeBytes(): number {
    return indexOffsetAfter(this.pos) + 4 * this.ix;
  }

  /** The XML declaration and the root's start tag. */
  head(): void {
    this.bytes(new Tag(this.writer.head()));
    this.line += 2;
  }

  /** The root's end tag. */
  tail(): void {
    this.bytes(new Tag(this.writer.tail()));
    this.line += 1;
  }

  beginHdata(hdata: number): void {
    if (this.firstHdata === 0) this.firstHdata = hdata;
    this.lastHdata = hdata;
    this.entry3(IndexTag.Record, hdata, this.line);
    this.bytes(this.hdataOpen);
    this.line++;
  }

  endHdata(): void {
    this.entry2(IndexTag.End, this.line);
    this.bytes(this.hdataClose);
    this.line++;
  }

  beginRdata(): void {
    this.entry2(IndexTag.Rdata, this.line);
    this.bytes(this.rdataOpen);
    this.line++;
  }

  endRdata(): void {
    this.bytes(this.rdataClose);
    this.line++;
  }

  /** Writes a tag at `p`; returns the position after it. */
  private tag(t: Tag, p: number): number {
    const view = this.view;
    const w = t.words;
    for (let k = 0; k < w.length; k++) view.setUint32(p + 4 * k, w[k]!, true);
    return p + t.length;
  }

  /** A field (H_FIELDS position, or R_FIELD_BASE + R_FIELDS position) whose value is a string. */
  text(field: number, value: string): void {
    const open = this.open[field]!;
    this.reserve(open.length + value.length * 3 + 16);
    this.pos = this.tag(open, this.pos);
    const start = this.pos;
    let lf = 0;
    if (this.enc) lf = this.encodeBig5(value);
    else {
      const full = toFullWidth(value, 'utf-8');
      this.pos += this.buf.write(full, this.pos, 'utf8');
      for (let i = 0; i < full.length; i++) if (full.charCodeAt(i) === NL) lf++;
    }
    this.valueDone(field, start, lf);
  }

  /**
   * A field whose value is `src[start, end)`, bytes of the output encoding (or ASCII) that need no
   * checking: the specials are written full-width, CP950 pairs in their canonical form. `hint`
   * says what the bytes may hold (RawFlag bits: CP950 pairs 4, specials 8, line feeds 16).
   */
  raw(field: number, src: Buffer, start: number, end: number, hint = RAW_ANY, srcView?: DataView): void {
    const open = this.open[field]!;
    const close = this.close[field]!;
    if (this.pos + open.length + close.length + (end - start) * 3 + SLACK > this.buf.length) this.reserve(open.length + close.length + (end - start) * 3);
    const buf = this.buf;
    let p = this.tag(open, this.pos);
    const from = p;
    let lf = 0;
    if ((hint & RAW_ANY) === 0) {
      // Plain ASCII: copied as it is, four bytes at a time where a view of the source is given.
      const n = end - start;
      if (n > 64) p += src.copy(buf, p, start, end);
      else {
        let i = start;
        if (srcView !== undefined) {
          const view = this.view;
          for (; i + 4 <= end; i += 4, p += 4) view.setUint32(p, srcView.getUint32(i, true), true);
        }
        for (; i < end; i++) buf[p++] = src[i]!;
      }
    } else {
      const specials = this.specials;
      const canon = this.canon;
      for (let i = start; i < end; i++) {
        const b = src[i]!;
        if (b < 0x80) {
          const sp = b < 0x40 ? specials[b] : undefined;
          if (sp === undefined) {
            buf[p++] = b;
            if (b === NL) lf++;
          } else {
            for (let k = 0; k < sp.length; k++) buf[p++] = sp[k]!;
          }
        } else {
          // A CP950 pair (the caller gives only valid ones to a Big5 writer).
          const t = src[++i]!;
          const c = canon ? canon[(b << 8) | t]! : 0;
          if (c === 0) {
            buf[p++] = b;
            buf[p++] = t;
          } else {
            buf[p++] = c >> 8;
            buf[p++] = c & 0xff;
          }
        }
      }
    }
    const to = p;
    this.pos = this.tag(close, p);
    if (this.ix + 4 > this.index.length) this.grow(4);
    const ix = this.index;
    const q = this.ix;
    ix[q] = field;
    ix[q + 1] = from;
    ix[q + 2] = to;
    ix[q + 3] = this.line;
    this.ix = q + 4;
    this.line += 1 + lf;
  }

  /**
   * Ends the batch: its bytes and then its index, copied into `into` (memory of at least
   * {@link takeBytes}, starting at offset 0 of its ArrayBuffer), else into fresh memory. No memory
   * is made per batch, and a worker gets both in one piece of shared memory. The writer starts a new batch.
   */
  take(into?: { buf: Buffer; sab: SharedArrayBuffer | null }): XmlBatch {
    const need = this.takeBytes;
    const target = into && into.buf.length >= need && into.buf.byteOffset === 0 ? into : { buf: Buffer.alloc(need), sab: null };
    this.buf.copy(target.buf, 0, 0, this.pos);
    const indexOffset = indexOffsetAfter(this.pos);
    const index = new Int32Array(target.buf.buffer, indexOffset, this.ix);
    index.set(this.index.subarray(0, this.ix));
    const batch: XmlBatch = { bytes: target.buf.subarray(0, this.pos), index, indexOffset, firstHdata: this.firstHdata, lastHdata: this.lastHdata, shared: target.sab };
    this.pos = 0;
    this.ix = 0;
    this.firstHdata = 0;
    this.lastHdata = 0;
    return batch;
  }

  private valueDone(field: number, start: number, lf: number): void {
    this.entry4(field, start, this.pos, this.line);
    this.pos = this.tag(this.close[field]!, this.pos);
    this.line += 1 + lf;
  }

  /** Encodes like `encodeCp950(toFullWidth(value, 'big5'))`; returns the line feeds written. */
  private encodeBig5(value: string): number {
    const buf = this.buf;
    const enc = this.enc!;
    const specials = this.specials;
    let p = this.pos;
    let lf = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x80) {
        const sp = c < 0x40 ? specials[c] : undefined;
        if (sp === undefined) {
          buf[p++] = c;
          if (c === NL) lf++;
        } else {
          for (let k = 0; k < sp.length; k++) buf[p++] = sp[k]!;
        }
        continue;
      }
      // ＂ has no CP950 pair: written as ”, like the double quote.
      const code = c === 0xff02 ? enc[0x201d]! : enc[c]!;
      if (code === 0) {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) i++;
        buf[p++] = 0x3f;
        continue;
      }
      buf[p++] = code >> 8;
      buf[p++] = code & 0xff;
    }
    this.pos = p;
    return lf;
  }

  private reserve(n: number): void {
    if (this.pos + n + SLACK <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + SLACK));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
  }

  private bytes(t: Tag): void {
    this.reserve(t.length);
    this.pos = this.tag(t, this.pos);
  }

  private grow(n: number): void {
    if (this.ix + n <= this.index.length) return;
    const bigger = new Int32Array(this.index.length * 2);
    bigger.set(this.index.subarray(0, this.ix));
    this.index = bigger;
  }

  private entry2(a: number, b: number): void {
    this.grow(2);
    this.index[this.ix++] = a;
    this.index[this.ix++] = b;
  }

  private entry3(a: number, b: number, c: number): void {
    this.grow(3);
    this.index[this.ix++] = a;
    this.index[this.ix++] = b;
    this.index[this.ix++] = c;
  }

  private entry4(a: number, b: number, c: number, d: number): void {
    this.grow(4);
    this.index[this.ix++] = a;
    this.index[this.ix++] = b;
    this.index[this.ix++] = c;
    this.index[this.ix++] = d;
  }
}
