/**
 * The rules of `labup validate`, run on the records `pack` writes, batch by batch.
 *
 * A batch is the XML bytes of whole hdata and the index {@link XmlBatchWriter} kept of them, so the
 * records are rebuilt — values decoded from the very bytes of the file, with the lines and columns
 * a reader would report — without parsing the XML again. What the XML reader would add on its own
 * cannot occur in what the writer produces (well-formed, elements in order, specials full-width,
 * no empty elements), except an hdata without rdata, which is reported as the reader does.
 *
 * Most records never get that far: one recognised from its bytes as clean (rule-fast.ts) is passed
 * over, and only the others are rebuilt and go through the rules, which alone report findings.
 *
 * The same class runs in `pack`'s thread or in a worker thread (`rule-worker.ts`).
 */
import { cp950DecodeTable, decodePairs } from '../encoding/cp950.js';
import { latin1, sameBytes } from '../encoding/bytes.js';
import { H_FIELDS, R_FIELDS } from '../format/fields.js';
import type { FindingInput } from '../format/findings.js';
import { formatRocDate, type CalendarDate } from '../format/roc.js';
import { checkRecord, KeyTable, type Emit, type KeyTableState, type RuleOptions } from '../format/rules.js';
import type { FieldValue, HdataRecord, RdataRecord } from '../xml/daily-reader.js';
import { CleanRecords, FIELD_NUMBERS } from './rule-fast.js';
import { IndexTag, R_FIELD_BASE, type XmlLayout } from './xml-batch.js';

/** A finding of the rules; `first` is the earlier hdata of a repeated key (DUPLICATE_KEY). */
export type RuleFinding = FindingInput & { first?: number };

export interface RuleCheckOptions {
  /** 上傳日期 (h16's date). */
  uploadDate?: CalendarDate;
  /** Keys of the records checked so far (when another checker started the file). */
  keys?: KeyTableState;
}

/** Values up to this many bytes are remembered per field. */
const LAST_BYTES = 32;

export class RuleChecker {
  private readonly rules: RuleOptions;
  private readonly keys: KeyTable;
  /** Records recognised as clean from their bytes (see rule-fast.ts). */
  private readonly clean: CleanRecords;
  private readonly table: Uint16Array | null;
  private findings: RuleFinding[] = [];
  private dupFirst = 0;
  private readonly emit: Emit = (f) => {
    this.findings.push(f.code === 'DUPLICATE_KEY' ? { ...f, first: this.dupFirst } : f);
  };
  /** Decoded non-ASCII values by their bytes (item names, methods and specimens repeat). */
  private readonly decoded = new Map<number, { bytes: Uint8Array; text: string }>();
  private text1 = '';
  private text1Start = 0;
  private text1End = 0;
  private bytes: Buffer = Buffer.alloc(0);
  /** Each field's last value (bytes and string), by field number as in the index. */
  private readonly lastBytes = new Uint8Array(FIELD_NUMBERS * LAST_BYTES);
  private readonly lastLength = new Int32Array(FIELD_NUMBERS).fill(-1);
  private readonly lastText: Array<string | undefined> = new Array(FIELD_NUMBERS).fill(undefined);
  private readonly rec: HdataRecord;
  private readonly hValues: FieldValue[];
  private readonly rdPool: RdataRecord[] = [];
  private readonly rdValues: FieldValue[][] = [];
  /** Fields set in the reused record (bit per H field) and in each reused item (bit per R field). */
  private hSet = 0;
  private rdSet: number[] = [];

  constructor(
    private readonly layout: XmlLayout,
    options: RuleCheckOptions = {},
  ) {
    this.keys = new KeyTable(options.keys);
    this.rules = {
      ...(options.uploadDate ? { uploadDate: options.uploadDate } : {}),
      keys: this.keys,
      onDuplicateKey: (_hdata, first) => {
        this.dupFirst = first;
      },
      // From the bytes, as for the records recognised as clean: every record is first looked at
      // there (rule-fast.ts), which keeps its header's byte ranges.
      keyHash: () => this.clean.lastKey(this.bytes),
    };
    this.table = layout.encoding === 'big5' ? cp950DecodeTable() : null;
    this.clean = new CleanRecords((start, end) => this.value(start, end), this.keys, options.uploadDate ? Buffer.from(formatRocDate(options.uploadDate), 'latin1') : null);
    this.rec = { index: 0, line: 0, column: layout.hdataColumn, fields: new Array<FieldValue | undefined>(H_FIELDS.length).fill(undefined), rdata: [], endLine: 0 };
    this.hValues = H_FIELDS.map(() => ({ value: '', line: 0, column: layout.hFieldColumn }));
  }

  /** The keys seen so far, for a checker that takes over. */
  get keyState(): KeyTableState {
    return this.keys.state;
  }

  /** Checks the records of one batch; returns the findings in the order the validator reports them. */
  check(bytes: Buffer, index: Int32Array): RuleFinding[] {
    this.findings = [];
    this.bytes = bytes;
    this.text1Start = this.text1End = 0;
    // One record object (and its items and values) is reused for every record: the rules read a
    // record and keep none of it. Only the fields set last time are cleared.
    const rec = this.rec;
    const rdPool = this.rdPool;
    const rdSet = this.rdSet;
    let rdFields: Array<FieldValue | undefined> = [];
    let rdValues: FieldValue[] = [];
    let k = -1;
    let hSet = this.hSet;
    let before = 0;
    for (let i = 0; i < index.length; ) {
      const tag = index[i]!;
      if (tag >= 0) {
        const fv = tag >= R_FIELD_BASE ? rdValues[tag - R_FIELD_BASE]! : this.hValues[tag]!;
        fv.value = this.fieldValue(tag, index[i + 1]!, index[i + 2]!);
        fv.line = index[i + 3]!;
        if (tag >= R_FIELD_BASE) {
          rdFields[tag - R_FIELD_BASE] = fv;
          rdSet[k] |= 1 << (tag - R_FIELD_BASE);
        } else {
          rec.fields[tag] = fv;
          hSet |= 1 << tag;
        }
        i += 4;
      } else if (tag === IndexTag.Rdata) {
        k = rec.rdata.length;
        let rd = rdPool[k];
        if (rd === undefined) {
          rd = rdPool[k] = { index: k + 1, line: 0, column: this.layout.rdataColumn, fields: new Array<FieldValue | undefined>(R_FIELDS.length).fill(undefined) };
          this.rdValues[k] = R_FIELDS.map(() => ({ value: '', line: 0, column: this.layout.rFieldColumn }));
          rdSet[k] = 0;
        }
        for (let m = rdSet[k]!; m !== 0; m &= m - 1) rd.fields[31 - Math.clz32(m & -m)] = undefined;
        rdSet[k] = 0;
        rd.line = index[i + 1]!;
        rec.rdata.push(rd);
        rdFields = rd.fields;
        rdValues = this.rdValues[k]!;
        i += 2;
      } else if (tag === IndexTag.Record) {
        const next = this.clean.attempt(bytes, index, i);
        if (next >= 0) {
          i = next;
          continue;
        }
        before = this.findings.length;
        const line = index[i + 2]!;
        rec.index = index[i + 1]!;
        rec.line = line;
        rec.endLine = line;
        for (let m = hSet; m !== 0; m &= m - 1) rec.fields[31 - Math.clz32(m & -m)] = undefined;
        hSet = 0;
        rec.rdata.length = 0;
        i += 3;
      } else {
        rec.endLine = index[i + 1]!;
        if (rec.rdata.length === 0) this.emit({ hdata: rec.index, rdata: null, code: 'XML_NO_RDATA', line: rec.line, column: rec.column });
        checkRecord(rec, this.emit, this.rules);
        if (this.findings.length === before) this.clean.learn(rec);
        i += 2;
      }
    }
    this.hSet = hSet;
    this.bytes = Buffer.alloc(0);
    this.text1 = '';
    return this.findings;
  }

  /**
   * The value of a field: when its bytes are those the same field had last (h2, h11, r3, r9, r12 …
   * repeat from record to record), the same string again — no decoding, and the rules see a value
   * they have checked.
   */
  private fieldValue(field: number, start: number, end: number): string {
    const n = end - start;
    if (n > LAST_BYTES) return this.value(start, end);
    const buf = this.bytes;
    const last = this.lastBytes;
    const at = field * LAST_BYTES;
    if (this.lastLength[field] === n) {
      let k = 0;
      while (k < n && last[at + k] === buf[start + k]) k++;
      if (k === n) return this.lastText[field]!;
    }
    const text = this.value(start, end);
    for (let k = 0; k < n; k++) last[at + k] = buf[start + k]!;
    this.lastLength[field] = n;
    this.lastText[field] = text;
    return text;
  }

  /** The value of `bytes[start, end)` as the XML reader decodes it. */
  private value(start: number, end: number): string {
    const buf = this.bytes;
    let i = start;
    while (i < end) {
      const b = buf[i]!;
      if (b >= 0x80 || b === 0x0d) break;
      i++;
    }
    if (i === end) {
      if (end - start >= 13) return latin1(buf, start, end);
      if (start < this.text1Start || end > this.text1End) {
        // A window of the batch as text, small enough for V8's young generation; short values
        // are cut from it (longer ones are copied on their own, so none keeps the window alive).
        this.text1Start = start;
        this.text1End = Math.min(buf.length, start + 16384);
        this.text1 = latin1(buf, start, this.text1End);
      }
      return this.text1.substring(start - this.text1Start, end - this.text1Start);
    }
    let h = 0x811c9dc5;
    for (let k = start; k < end; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
    const n = end - start;
    h = (h ^ n) >>> 0;
    const hit = this.decoded.get(h);
    if (hit !== undefined && hit.bytes.length === n && sameBytes(hit.bytes, buf, start)) return hit.text;
    let text = this.table ? decodePairs(this.table, buf, start, end) : buf.toString('utf8', start, end);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    if (n <= 256) {
      if (this.decoded.size >= 4096) this.decoded.clear();
      // A copy: batch memory is used again.
      this.decoded.set(h, { bytes: Uint8Array.prototype.slice.call(buf, start, end), text });
    }
    return text;
  }
}
