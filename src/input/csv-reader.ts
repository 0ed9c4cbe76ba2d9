/**
 * Reads a HIS/LIS CSV export into rows for `pack`: one row per result item (rdata), the order's
 * header values repeated on each row. The first record is the header; its columns are field ids,
 * 資料名稱 or names the column map translates.
 */
import { usageError } from '../errors.js';
import { FIELD_BY_ID, FIELDS, type FieldId, type HFieldId, type RFieldId } from '../format/fields.js';
import { applyTarget, cleanValue, resolveColumn, type ColumnMap, type ColumnTarget } from './column-map.js';
import { CsvParser, type CsvField, type CsvRecord } from './csv-parser.js';
import { InputDecoder } from './decode.js';
import type { FieldPlaces, InputEncodingOption, InputInfo, InputRecord, ReportProblem, SourceLocation } from './types.js';


export interface CsvReadOptions {
  file: string;
  encoding: InputEncodingOption;
  delimiter?: string;
  map: ColumnMap;
  /** Fields pack fills in when the input has no column for them (h16, r1, h2 from --hosp, map defaults). */
  supplied: ReadonlySet<FieldId>;
  report: ReportProblem;
  info: InputInfo;
}

interface Plan {
  index: number;
  name: string;
  target: ColumnTarget;
  section: 'h' | 'r';
}

/** Streams the rows of a CSV export. */
export async function* readCsv(chunks: AsyncIterable<Buffer>, o: CsvReadOptions): AsyncGenerator<InputRecord> {
  const parser = new CsvParser({ delimiter: o.delimiter ?? ',', file: o.file });
  const decoder = new InputDecoder(o.encoding, o.file);
  let plans: Plan[] | undefined;
  let places: FieldPlaces = {};
  let width = 0;
  let row = 0;
  const one = (rec: CsvRecord): InputRecord | null => {
    if (!plans) {
      ({ plans, places, width } = headerPlans(rec, decoder, o));
      return null;
    }
    row++;
    return rowRecord(rec, row, plans, places, width, decoder, o);
  };
  // Records are converted and handed on one at a time, each released as soon as it is converted.
  for await (const chunk of chunks) {
    const records: Array<CsvRecord | undefined> = parser.push(decoder.look(chunk));
    for (let i = 0; i < records.length; i++) {
      const r = one(records[i]!);
      records[i] = undefined;
      if (r) yield r;
    }
  }
  for (const rec of parser.end()) {
    const r = one(rec);
    if (r) yield r;
  }
  o.info.encoding = decoder.label;
  if (!plans) o.info.columns = [];
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

function rowRecord(rec: CsvRecord, row: number, plans: Plan[], places: FieldPlaces, width: number, decoder: InputDecoder, o: CsvReadOptions): InputRecord | null {
  const at: SourceLocation = { file: o.file, line: rec.line, row };
  if (rec.fields.length !== width) {
    // Trailing empty fields beyond the header (`a,b,,`) are harmless; anything else is not.
    const extra = rec.fields.slice(width);
    const onlyEmpty = rec.fields.length > width && extra.every((f) => f.end === f.start);
    if (!onlyEmpty) {
      if (rec.fields.length === 1 && rec.fields[0]!.end === rec.fields[0]!.start) return null;
      o.info.records++;
      o.report({
        code: 'PACK_CSV_FIELD_COUNT',
        severity: 'error',
        message: `資料欄數與標題列不符 — the row has ${rec.fields.length} value${rec.fields.length === 1 ? '' : 's'}, the header ${width} column${width === 1 ? '' : 's'}; the row is left out`,
        hint: 'Quote values that contain the delimiter or a line break ("a,b"), or fix the export so every row has one value per column.',
        source: at,
      });
      return null;
    }
  }
  const header: Partial<Record<HFieldId, string>> = {};
  const item: Partial<Record<RFieldId, string>> = {};
  let any = false;
  for (const p of plans) {
    const f = rec.fields[p.index];
    if (!f || f.end === f.start) continue;
    const where = (): SourceLocation => ({ ...at, line: f.line, column: p.index + 1, columnName: p.name });
    if (f.stray) {
      o.report({
        code: 'PACK_CSV_QUOTE',
        severity: 'error',
        message: `引號後有多餘文字 — text follows the closing quote of a quoted value`,
        hint: 'Quote the whole value and double any quote inside it: "5"" tube" for 5" tube.',
        source: where(),
        field: p.target.field,
      });
    }
    const d = decodeField(rec, f, decoder);
    if (d.badAt >= 0) {
      o.report({
        code: 'PACK_INPUT_BYTES',
        severity: 'error',
        message: `無法解碼的位元組 — bytes ${d.badBytes} that ${decoder.encoding === 'big5' ? 'Big5 (CP950)' : 'UTF-8'} cannot decode`,
        hint: decoder.badBytesHint(rec.bytes, f.start + d.badAt),
        source: where(),
        field: p.target.field,
      });
    }
    const v = cleanValue(d.text);
    if (v === '') continue;
    any = true;
    const c = applyTarget(v, p.target);
    if (!c.ok) {
      o.report({ code: 'PACK_DATE_CONVERT', severity: 'error', message: `日期轉換失敗 — ${c.message}`, hint: c.hint, source: where(), field: p.target.field, value: v });
      continue;
    }
    if (p.section === 'h') header[p.target.field as HFieldId] = c.value;
    else item[p.target.field as RFieldId] = c.value;
  }
  if (!any) return null;
  o.info.records++;
  return { kind: 'row', header, items: [item], at, itemsAt: [at], headerPlaces: places, itemPlaces: [places] };
}
