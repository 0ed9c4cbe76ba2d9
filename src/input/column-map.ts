/**
 * The column map (`--map map.json`): how a HIS's own column names (or JSON keys) become fields of
 * 表一, with value translations, Gregorian-to-ROC date conversion and fixed default values.
 *
 * ```json
 * {
 *   "columns": {
 *     "PAT_ID": "h9",
 *     "BIRTH_DATE": { "field": "h10", "convert": "gregorian" },
 *     "VISIT_TYPE": { "field": "h6", "values": { "OPD": "01", "ER": "04", "IPD": "05" } },
 *     "CHART_NO": null
 *   },
 *   "defaults": { "h3": "11", "h8": "1" }
 * }
 * ```
 *
 * A map without `columns` is read as the `columns` object itself (`{ "PAT_ID": "h9" }`). Columns
 * the map does not name are matched by field id (`h9`, `r4-1`) or 資料名稱 (`身分證統一編號`).
 */
import { readFileSync } from 'node:fs';
import { usageError, fileError } from '../errors.js';
import { FIELD_BY_ID, fieldByColumnName, type FieldDef, type FieldId } from '../format/fields.js';
import { taipeiParts } from '../clock.js';
import { formatRocDate, formatRocDateTime, formatRocYearMonth, isValidCalendarDate, parseRocDate, parseRocDateTime, parseRocYearMonth } from '../format/roc.js';

export type Conversion = 'gregorian';

export interface ColumnTarget {
  field: FieldId;
  convert?: Conversion;
  /** Input value → value written (HIS codes to NHI codes). */
  values?: Record<string, string>;
}

export interface ColumnMap {
  /** The map file, or null for the built-in matching only. */
  file: string | null;
  /** By column name as written in the map; null = ignore the column. */
  columns: Map<string, ColumnTarget | null>;
  /** Values for fields that a row leaves empty or that the input has no column for. */
  defaults: Partial<Record<FieldId, string>>;
}

export const EMPTY_MAP: ColumnMap = { file: null, columns: new Map(), defaults: {} };

export type ColumnResolution = { kind: 'field'; target: ColumnTarget; via: 'map' | 'name' } | { kind: 'ignore' } | { kind: 'unknown' };

/** Reads and checks a map file; every problem is a usage error naming the file and the key. */
export function loadColumnMap(path: string, name = path): ColumnMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(err, name);
  }
  return parseColumnMap(text, name);
}

const MAP_HINT = 'See docs/pack.md for the map format: { "columns": { "HIS_COLUMN": "h9", "DATE_COLUMN": { "field": "h10", "convert": "gregorian" } }, "defaults": { "h3": "11" } }.';

function mapError(file: string, message: string): Error {
  return usageError('PACK_MAP_INVALID', `${file}: ${message}`, { hint: MAP_HINT });
}

export function parseColumnMap(text: string, file: string): ColumnMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? ` at line ${text.slice(0, Number(pos[1])).split('\n').length}` : '';
    throw mapError(file, `not valid JSON${where} (${msg})`);
  }
  if (!isObject(doc)) throw mapError(file, 'the map must be a JSON object');
  const structured = isObject(doc.columns);
  const columnsDoc = structured ? (doc.columns as Record<string, unknown>) : doc;
  if (structured) {
    for (const k of Object.keys(doc)) {
      if (!['columns', 'defaults', '$schema', 'description'].includes(k)) throw mapError(file, `unknown key “${k}” (allowed: columns, defaults, description)`);
    }
  }
  const columns = new Map<string, ColumnTarget | null>();
  for (const [name, spec] of Object.entries(columnsDoc)) {
    const at = `column “${name}”`;
    if (name.trim() === '') throw mapError(file, 'a column name is empty');
    if (spec === null) {
      columns.set(name.trim(), null);
      continue;
    }
    if (typeof spec === 'string') {
      columns.set(name.trim(), { field: fieldOf(file, at, spec) });
      continue;
    }
    if (!isObject(spec)) throw mapError(file, `${at}: expected a field id, null (ignore) or { "field": … }`);
    for (const k of Object.keys(spec)) {
      if (!['field', 'convert', 'values'].includes(k)) throw mapError(file, `${at}: unknown key “${k}” (allowed: field, convert, values)`);
    }
    if (typeof spec.field !== 'string') throw mapError(file, `${at}: "field" must name a field of 表一, e.g. "h9" or "身分證統一編號"`);
    const target: ColumnTarget = { field: fieldOf(file, at, spec.field) };
    if (spec.convert !== undefined) {
      if (spec.convert !== 'gregorian') throw mapError(file, `${at}: "convert" must be "gregorian" (got ${JSON.stringify(spec.convert)})`);
      const def = FIELD_BY_ID.get(target.field)!;
      if (!isDateKind(def)) throw mapError(file, `${at}: ${def.id} ${def.zh} is not a date field; "convert": "gregorian" works on dates, date-times and year-months`);
      target.convert = 'gregorian';
    }
    if (spec.values !== undefined) {
      if (!isObject(spec.values)) throw mapError(file, `${at}: "values" must be an object of input value → value to write`);
      const values: Record<string, string> = {};
      for (const [from, to] of Object.entries(spec.values)) {
        if (typeof to !== 'string' && typeof to !== 'number') throw mapError(file, `${at}: "values"."${from}" must be a string`);
        values[from] = String(to);
      }
      target.values = values;
    }
    columns.set(name.trim(), target);
  }
  const defaults: Partial<Record<FieldId, string>> = {};
  if (structured && doc.defaults !== undefined) {
    if (!isObject(doc.defaults)) throw mapError(file, '"defaults" must be an object of field → value');
    for (const [k, v] of Object.entries(doc.defaults)) {
      const field = fieldOf(file, `defaults “${k}”`, k);
      if (typeof v !== 'string' && typeof v !== 'number') throw mapError(file, `defaults “${k}”: the value must be a string`);
      if (field === 'h16') throw mapError(file, 'defaults: h16 is stamped by labup pack (use --upload-time)');
      defaults[field] = String(v);
    }
  }
  return { file, columns, defaults };
}

function fieldOf(file: string, at: string, name: string): FieldId {
  const def = fieldByColumnName(name);
  if (!def) {
    const near = suggest(name);
    throw mapError(file, `${at}: “${name}” is not a field of 表一${near ? ` (did you mean ${near}?)` : ''}; use a field id such as h9 or r4-1, or its 資料名稱`);
  }
  return def.id;
}

function suggest(name: string): string | undefined {
  const n = name.trim().toLowerCase().replace(/[_ .]/g, '-');
  if (FIELD_BY_ID.has(n)) return n;
  const m = /^[hr]\d+/.exec(n);
  if (!m) return undefined;
  const candidates = [...FIELD_BY_ID.keys()].filter((id) => id === m[0] || id.startsWith(m[0] + '-'));
  return candidates.length ? candidates.join(' or ') : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDateKind(def: FieldDef): boolean {
  return def.kind.type === 'rocDate' || def.kind.type === 'rocDateTime' || def.kind.type === 'rocYearMonth';
}

/** What a column (or JSON key) stands for. */
export function resolveColumn(name: string, map: ColumnMap): ColumnResolution {
  const n = name.trim();
  if (map.columns.has(n)) {
    const t = map.columns.get(n)!;
    return t === null ? { kind: 'ignore' } : { kind: 'field', target: t, via: 'map' };
  }
  const lower = n.toLowerCase();
  for (const [k, t] of map.columns) {
    if (k.toLowerCase() === lower) return t === null ? { kind: 'ignore' } : { kind: 'field', target: t, via: 'map' };
  }
  const def = fieldByColumnName(n);
  if (def) return { kind: 'field', target: { field: def.id }, via: 'name' };
  return { kind: 'unknown' };
}

export type Converted = { ok: true; value: string } | { ok: false; message: string; hint: string };

/** Tidies a value: surrounding spaces trimmed, CRLF and CR turned into LF (as XML would). */
export function cleanValue(raw: string): string {
  const t = raw.trim();
  return t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t;
}

/** Applies the column's value translation and date conversion to a cleaned, non-empty value. */
export function applyTarget(value: string, target: ColumnTarget): Converted {
  let v = value;
  if (target.values && Object.prototype.hasOwnProperty.call(target.values, v)) v = target.values[v]!;
  if (target.convert === 'gregorian' && v !== '') return gregorianToRoc(v, FIELD_BY_ID.get(target.field)!);
  return { ok: true, value: v };
}

const GREGORIAN = /^(\d{4})([-/.]?)(\d{1,2})\2(\d{1,2})(?:(?:[T ]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const GREGORIAN_MONTH = /^(\d{4})[-/.]?(\d{1,2})$/;

/**
 * Converts a Gregorian date (`2026-11-25`, `2026/11/25`, `20261125`), date-time
 * (`2026-11-25 08:30:05`, `2026-11-25T08:30`, with an optional offset) or year-month
 * (`2026-11`) into the ROC form the field wants. Values already in the ROC form pass unchanged.
 */
export function gregorianToRoc(value: string, def: FieldDef): Converted {
  const kind = def.kind;
  const label = `${def.id} ${def.zh}`;
  if (kind.type === 'rocDate' && parseRocDate(value).ok) return { ok: true, value };
  if (kind.type === 'rocDateTime' && parseRocDateTime(value, kind.short).ok) return { ok: true, value };
  if (kind.type === 'rocYearMonth' && parseRocYearMonth(value).ok) return { ok: true, value };
  if (kind.type === 'rocYearMonth') {
    const mm = GREGORIAN_MONTH.exec(value);
    if (mm && (mm[2]!.length === 2 || /[-/.]/.test(value))) {
      const year = Number(mm[1]);
      const month = Number(mm[2]);
      if (month >= 1 && month <= 12 && year >= 1912) return { ok: true, value: formatRocYearMonth({ year, month }) };
    }
  }
  const m = GREGORIAN.exec(value);
  const want =
    kind.type === 'rocDateTime' ? 'a Gregorian date and time such as 2026-11-25 08:30:05' : kind.type === 'rocYearMonth' ? 'a Gregorian year-month or date such as 2026-11' : 'a Gregorian date such as 2026-11-25';
  const bad = (why: string): Converted => ({ ok: false, message: `${label}: “${value}” ${why}`, hint: `Write ${want} (or the ROC form ${def.format}).` });
  if (!m || (m[2] === '' && (m[3]!.length !== 2 || m[4]!.length !== 2))) return bad(`is not ${want}`);
  let year = Number(m[1]);
  let month = Number(m[3]);
  let day = Number(m[4]);
  const hasTime = m[5] !== undefined;
  let hour = hasTime ? Number(m[5]) : 0;
  let minute = hasTime ? Number(m[6]) : 0;
  let second = m[7] !== undefined ? Number(m[7]) : 0;
  if (!isValidCalendarDate(year, month, day)) return bad('is not a date on the calendar');
  if (hour > 23 || minute > 59 || second > 59) return bad('has a time that does not exist');
  if (m[8]) {
    // An explicit offset: bring the instant to Taipei wall-clock time.
    const off = m[8] === 'Z' ? 0 : (m[8].startsWith('-') ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(-2)));
    const t = taipeiParts(new Date(Date.UTC(year, month - 1, day, hour, minute, second) - off * 60_000));
    ({ year, month, day, hour, minute, second } = t);
  }
  if (year < 1912) return bad('is before 民國元年 (1912); write the ROC form with a minus sign, e.g. -050101');
  if (kind.type === 'rocDate') return { ok: true, value: formatRocDate({ year, month, day }) };
  if (kind.type === 'rocYearMonth') return { ok: true, value: formatRocYearMonth({ year, month }) };
  if (!hasTime) return bad('has no time of day, and this field needs one');
  return { ok: true, value: formatRocDateTime({ year, month, day, hour, minute, second }) };
}
