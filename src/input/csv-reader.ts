/**
 * Reads a HIS/LIS CSV export into rows for `pack`: one row per result item (rdata), the order's
 * header values repeated on each row. The first record is the header; its columns are field ids,
 * 資料名稱 or names the column map translates.
 */
import { usageError } from '../errors.js';
import { FIELD_BY_ID, FIELDS, type FieldId } from '../format/fields.js';
import { applyTarget, cleanValue, resolveColumn, type ColumnMap, type ColumnTarget } from './column-map.js';
import { cp950DecodeTable } from '../encoding/cp950.js';
import { ByteClass, CsvParser, FIELD_STRIDE, FieldFlag, FieldSlot, type CsvField, type CsvRecord, type RawRecordSink, toCsvRecord } from './csv-parser.js';
import { InputDecoder } from './decode.js';
import { FIELD_SLOT, R_SLOT0, RawFlag, Slot, type RowStore } from './row-store.js';
import type { FieldPlaces, InputEncodingOption, InputInfo, InputProblem, ReportProblem, SourceLocation } from './types.js';


export interface CsvReadOptions {
  file: string;
  encoding: InputEncodingOption;
  delimiter?: string;
  map: ColumnMap;
  /** Fields pack fills in when the input has no column for them (h16, r1, h2 from --hosp, map defaults). */
  supplied: ReadonlySet<FieldId>;
  report: ReportProblem;
  info: InputInfo;
  /** Told where each field's column is, once the header is read (shared by every row). */
  onPlaces?: (places: FieldPlaces) => void;
}

interface Plan {
  index: number;
  name: string;
  target: ColumnTarget;
  section: 'h' | 'r';
}

/** What {@link readCsvRows} yields: `events[0, count)`, the same object each time (read it before asking for more). */
export interface CsvRowEvents {
  events: Array<number | InputProblem>;
  count: number;
}

/**
 * Reads the rows of a CSV export into `store`, one parse of the bytes: values stay byte ranges of
 * the input where they need no cleaning. Yields, for each chunk read, the ids of the rows that hold
 * values (rows left out — blank, wrong field count, nothing but empty values — are reported or
 * skipped here and never yielded), with the problems found in the input in their place among them.
 * The list is written over for the next chunk (a new one per chunk would be garbage to collect).
 */
export async function* readCsvRows(chunks: AsyncIterable<Buffer>, o: Omit<CsvReadOptions, 'report'> & { store: RowStore }): AsyncGenerator<CsvRowEvents> {
  const parser = new CsvParser({ delimiter: o.delimiter ?? ',', file: o.file });
  const decoder = new InputDecoder(o.encoding, o.file);
  const out: CsvRowEvents = { events: [], count: 0 };
  const add = (e: number | InputProblem) => {
    if (out.count < out.events.length) out.events[out.count] = e;
    else out.events.push(e);
    out.count++;
  };
  // Problems are handed on in their place among the rows, as a row-by-row reader reports them.
  const reader = new RowReader({ ...o, report: add }, decoder);
  const sink: RawRecordSink = (bytes, start, end, line, fields, count) => {
    const id = reader.record(bytes, start, end, line, fields, count);
    if (id >= 0) add(id);
  };
  for await (const chunk of chunks) {
    parser.pushRaw(decoder.look(chunk), sink);
    if (out.count) {
      yield out;
      out.count = 0;
    }
  }
  parser.endRaw(sink);
  if (out.count) yield out;
  o.info.encoding = decoder.label;
  if (!reader.started) o.info.columns = [];
}

interface RowPlan extends Plan {
  slot: number;
  /** The value is stored as it is read (no value translation, no date conversion). */
  plain: boolean;
}

const isAsciiSpace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

class RowReader {
  started = false;
  /** Per CSV column: the row slot it fills (-1: none), whether stored as read, its plan. */
  private colSlot = new Int16Array(0);
  private colPlain = new Uint8Array(0);
  private colPlan: Array<RowPlan | undefined> = [];
  private width = 0;
  private row = 0;
  private readonly store: RowStore;
  private readonly cp950 = cp950DecodeTable();

  constructor(
    private readonly o: CsvReadOptions & { store: RowStore },
    private readonly decoder: InputDecoder,
  ) {
    this.store = o.store;
  }

  /** One CSV record: the header, or a data row stored in the row store (its id, or -1). */
  record(bytes: Buffer, start: number, end: number, line: number, f: Int32Array, count: number): number {
    const o = this.o;
    if (!this.started) {
      this.started = true;
      const rec = toCsvRecord(bytes, start, end, line, f, count);
      const h = headerPlans(rec, this.decoder, o);
      const plans: RowPlan[] = h.plans.map((p) => ({ ...p, slot: FIELD_SLOT.get(p.target.field)!, plain: p.target.values === undefined && p.target.convert === undefined }));
      this.colSlot = new Int16Array(h.width).fill(-1);
      this.colPlain = new Uint8Array(h.width);
      this.colPlan = new Array(h.width).fill(undefined);
      for (const p of plans) {
        this.colSlot[p.index] = p.slot;
        this.colPlain[p.index] = p.plain ? 1 : 0;
        this.colPlan[p.index] = p;
      }
      this.width = h.width;
      o.onPlaces?.(h.places);
      return -1;
    }
    const row = ++this.row;
    const width = this.width;
    if (count !== width) {
      // Trailing empty fields beyond the header (`a,b,,`) are harmless; anything else is not.
      let onlyEmpty = count > width;
      for (let k = width; onlyEmpty && k < count; k++) if (f[k * FIELD_STRIDE + FieldSlot.End] !== f[k * FIELD_STRIDE + FieldSlot.Start]) onlyEmpty = false;
      if (!onlyEmpty) {
        if (count === 1 && f[FieldSlot.End] === f[FieldSlot.Start]) return -1;
        o.info.records++;
        o.report({
          code: 'PACK_CSV_FIELD_COUNT',
          severity: 'error',
          message: `資料欄數與標題列不符 — the row has ${count} value${count === 1 ? '' : 's'}, the header ${width} column${width === 1 ? '' : 's'}; the row is left out`,
          hint: 'Quote values that contain the delimiter or a line break ("a,b"), or fix the export so every row has one value per column.',
          source: { file: o.file, line, row },
        });
        return -1;
      }
    }
    const store = this.store;
    const id = store.add(bytes, o.file, line, row);
    const base = store.base(id);
    const meta = store.meta;
    const range = store.range;
    const big5 = this.decoder.encoding === 'big5';
    const colSlot = this.colSlot;
    let hMask = 0;
    let rMask = 0;
    let any = false;
    // Columns in order (the order of the plans); unmapped columns have no slot.
    const columns = Math.min(count, colSlot.length);
    for (let c = 0; c < columns; c++) {
      const k = c * FIELD_STRIDE;
      const s = start + f[k]!;
      const e = start + f[k + FieldSlot.End]!;
      if (e === s) continue;
      const slot = colSlot[c]!;
      if (slot < 0) continue;
      const flags = f[k + FieldSlot.Flags]!;
      const cls = f[k + FieldSlot.Class]!;
      // The common value is stored as the bytes it is: no quote trouble, nothing to trim or to
      // convert, no control characters, ASCII or whole CP950 characters.
      if (this.colPlain[c] === 1 && (flags & (FieldFlag.Escapes | FieldFlag.Stray)) === 0 && (cls & ByteClass.Control) === 0 && !isAsciiSpace(bytes[s]!) && !isAsciiSpace(bytes[e - 1]!)) {
        let raw = -1;
        if ((cls & ByteClass.NonAscii) === 0) raw = Slot.Raw;
        else if (big5 && wholeCp950(this.cp950, bytes, s, e)) raw = Slot.Raw | RawFlag.Big5;
        if (raw >= 0) {
          const at = base + slot;
          meta[at] = raw | (cls & ByteClass.Special ? RawFlag.Special : 0) | (cls & ByteClass.LineFeed ? RawFlag.LineFeed : 0);
          range[2 * at] = s;
          range[2 * at + 1] = e;
          if (slot < R_SLOT0) hMask |= 1 << slot;
          else rMask |= 1 << (slot - R_SLOT0);
          any = true;
          continue;
        }
      }
      if (this.slowValue(id, this.colPlan[c]!, bytes, start, end, row, f, k)) any = true;
    }
    const masks = store.masks;
    const mk = store.maskAt(id);
    masks[mk] |= hMask;
    masks[mk + 1] |= rMask;
    if (!any) {
      store.dropLast();
      return -1;
    }
    o.info.records++;
    return id;
  }

  /** A value that needs decoding, cleaning or converting, reported as it always was. */
  private slowValue(id: number, p: RowPlan, bytes: Buffer, start: number, end: number, row: number, f: Int32Array, k: number): boolean {
    const o = this.o;
    const decoder = this.decoder;
    const flags = f[k + FieldSlot.Flags]!;
    // (the key order of `{ ...at, line, column, columnName }` with at = { file, line, row })
    const where = (): SourceLocation => ({ file: o.file, line: f[k + FieldSlot.Line]!, row, column: p.index + 1, columnName: p.name });
    if (flags & FieldFlag.Stray) {
      o.report({
        code: 'PACK_CSV_QUOTE',
        severity: 'error',
        message: `引號後有多餘文字 — text follows the closing quote of a quoted value`,
        hint: 'Quote the whole value and double any quote inside it: "5"" tube" for 5" tube.',
        source: where(),
        field: p.target.field,
      });
    }
    const s = start + f[k]!;
    const d = decoder.decode(bytes, s, start + f[k + FieldSlot.End]!);
    if (flags & FieldFlag.Escapes) d.text = d.text.replace(/""/g, '"');
    if (d.badAt >= 0) {
      o.report({
        code: 'PACK_INPUT_BYTES',
        severity: 'error',
        message: `無法解碼的位元組 — bytes ${d.badBytes} that ${decoder.encoding === 'big5' ? 'Big5 (CP950)' : 'UTF-8'} cannot decode`,
        hint: decoder.badBytesHint(bytes.subarray(start, end), s - start + d.badAt),
        source: where(),
        field: p.target.field,
      });
    }
    const v = cleanValue(d.text);
    if (v === '') return false;
    const c = applyTarget(v, p.target);
    if (!c.ok) {
      o.report({ code: 'PACK_DATE_CONVERT', severity: 'error', message: `日期轉換失敗 — ${c.message}`, hint: c.hint, source: where(), field: p.target.field, value: v });
      return true;
    }
    this.store.setText(id, p.slot, c.value);
    return true;
  }
}

/** True when `buf[s, e)` is ASCII and CP950 pairs only, and neither starts nor ends with U+3000. */
function wholeCp950(table: Uint16Array, buf: Uint8Array, s: number, e: number): boolean {
  let last = -1;
  for (let i = s; i < e; ) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (i + 1 >= e || table[(b << 8) | buf[i + 1]!] === 0) return false;
    last = i;
    i += 2;
  }
  // U+3000 (A1 40), the only white space CP950 has, would be trimmed.
  if (buf[s] === 0xa1 && buf[s + 1] === 0x40) return false;
  return !(last === e - 2 && buf[last] === 0xa1 && buf[last + 1] === 0x40);
}

function decodeField(rec: CsvRecord, f: CsvField, decoder: InputDecoder): { text: string; badAt: number; badBytes?: string } {
  const d = decoder.decode(rec.bytes, f.start, f.end);
  if (f.escapes) d.text = d.text.replace(/""/g, '"');
  return d;
}

function headerPlans(rec: CsvRecord, decoder: InputDecoder, o: CsvReadOptions): { plans: Plan[]; places: FieldPlaces; width: number } {
  const names = rec.fields.map((f, i) => {
    const d = decodeField(rec, f, decoder);
    if (d.badAt >= 0) {
      throw usageError('INPUT_BYTES', `${o.file}:${rec.line}: the header of column ${i + 1} holds bytes ${d.badBytes} that ${decoder.encoding === 'big5' ? 'Big5 (CP950)' : 'UTF-8'} cannot decode`, {
        hint: decoder.badBytesHint(rec.bytes, f.start + d.badAt),
      });
    }
    return d.text.trim();
  });
  const plans: Plan[] = [];
  const places: FieldPlaces = {};
  const byField = new Map<FieldId, string>();
  const unknown: string[] = [];
  const columns: NonNullable<InputInfo['columns']> = [];
  names.forEach((name, index) => {
    const res = resolveColumn(name, o.map);
    if (res.kind === 'field') {
      const field = res.target.field;
      const prev = byField.get(field);
      if (prev !== undefined) {
        throw usageError('PACK_COLUMN_DUPLICATE', `${o.file}:${rec.line}: columns “${prev}” and “${name}” both give ${field} ${FIELD_BY_ID.get(field)!.zh}`, {
          hint: `Keep one of them: map the other to null in the map file (--map), e.g. { "columns": { "${name}": null } }.`,
        });
      }
      byField.set(field, name);
      plans.push({ index, name, target: res.target, section: FIELD_BY_ID.get(field)!.section });
      places[field] = { column: index + 1, columnName: name };
      columns.push({ name, field, via: res.via });
    } else {
      if (res.kind === 'unknown') unknown.push(name === '' ? `(column ${index + 1}, no name)` : name);
      columns.push({ name, field: null, via: res.kind === 'ignore' ? 'ignored' : 'unknown' });
    }
  });
  o.info.columns = columns;
  if (unknown.length) {
    o.report({
      code: 'PACK_COLUMN_UNKNOWN',
      severity: 'warning',
      message: `欄位名稱不在表一 — column${unknown.length > 1 ? 's' : ''} not in 表一 and not in the map, ignored: ${unknown.join(', ')}`,
      hint: 'Map each to a field (--map: { "columns": { "NAME": "h9" } }), or to null to ignore it without this warning.',
      source: { file: o.file, line: rec.line },
    });
  }
  if (byField.has('h16')) {
    o.report({
      code: 'PACK_H16_REPLACED',
      severity: 'warning',
      message: `h16 檢驗（查）結果上傳日期時間 由 labup 蓋印 — column “${byField.get('h16')}” is ignored: labup pack stamps h16 with the pack time or --upload-time`,
      hint: 'Drop the column from the export, or map it to null.',
      source: { file: o.file, line: rec.line, column: places.h16!.column!, columnName: byField.get('h16')! },
    });
  }
  const missing = FIELDS.filter((f) => f.required.kind === 'always' && !byField.has(f.id) && !o.supplied.has(f.id) && !(f.id === 'h4' && byField.has('h20')));
  if (missing.length) {
    const list = missing.map((f) => `${f.id} ${f.zh}`).join(', ');
    const hosp = missing.some((f) => f.id === 'h2') ? ' (h2: or give --hosp)' : '';
    throw usageError('PACK_COLUMN_MISSING', `${o.file}:${rec.line}: no column for ${list}, which every record needs${hosp}`, {
      hint: `Map the export's columns with --map (e.g. { "columns": { "PAT_ID": "h9" } }) or give a fixed value under "defaults". Columns found: ${names.join(', ') || '(none)'}.`,
    });
  }
  return { plans, places, width: names.length };
}
