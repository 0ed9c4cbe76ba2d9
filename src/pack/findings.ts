/**
 * Findings of `pack`: the validator's findings on the XML it builds, and its own findings on the
 * input, in one shape — the {@link Finding} of `labup validate` plus `source`, the place in the
 * input (CSV line and column, JSON line and pointer, XML line) that support staff must fix.
 *
 * `line`/`column` keep the validator's meaning: the position in the XML inside the ZIP (null for
 * findings on the input itself).
 */
import { FIELD_BY_ID } from '../format/fields.js';
import type { Finding, Severity } from '../format/findings.js';
import { maskFieldValue } from '../format/national-id.js';
import type { InputProblem, SourceLocation } from '../input/types.js';

export interface PackFinding extends Finding {
  /** Where in the input the value (or row) came from; null for findings on the whole file. */
  source: SourceLocation | null;
}

/**
 * Codes `pack` adds to those of the validator (docs/pack.md lists them). All are errors unless
 * marked: an error makes `pack` refuse to write the ZIP unless `--force`.
 */
export const PACK_FINDING_CODES = {
  PACK_INPUT_BYTES: 'bytes the input encoding cannot decode',
  PACK_CSV_FIELD_COUNT: 'a CSV row with more or fewer values than the header (the row is left out)',
  PACK_CSV_QUOTE: 'text after the closing quote of a CSV value',
  PACK_COLUMN_UNKNOWN: 'warning: a column or key that is neither a field nor in the map (ignored)',
  PACK_H16_REPLACED: 'warning: the input has an h16 column; labup stamps h16 itself',
  PACK_DATE_CONVERT: 'a value the map converts from Gregorian is not a date (or lacks the time a date-time needs)',
  PACK_JSON_SYNTAX: 'not valid JSON',
  PACK_JSON_SHAPE: 'JSON that is not an order object with items, nor a flat row',
  PACK_KEY_REPEATED: 'rows of one order (表七 key) that are not together: NHI would keep only the last record',
  PACK_HEADER_CONFLICT: 'warning: rows of one order disagree on a header field; the first value is written',
  PACK_H2_DIFFERS: 'warning: h2 in the input differs from --hosp',
  PACK_UNENCODABLE: 'a character Big5 (CP950) cannot carry',
  PACK_CHAR_REPLACED: 'warning: with --replace-unencodable, such a character was replaced',
  PACK_CONTROL_CHAR: 'a control character XML cannot carry (warning when replaced)',
  PACK_H16_NOT_LATER: 're-stamping: the new h16 is not later than the record’s previous h16, so it would not replace it',
  PACK_API_INSTITUTION: '--api-name: records carry another h2 than the institution the file is named for',
  PACK_UPLOAD_TIME_FUTURE: 'warning: h16 lies in the future',
  UPLOAD_DATE_NOT_ALLOWED: 'h16’s date is before yesterday: NHI accepts only today’s or yesterday’s upload date',
} as const;

/** Masks national IDs in a value shown in a finding, unless IDs are shown. */
export function shownValue(field: string | null | undefined, value: string, showIds: boolean): string {
  return showIds ? value : maskFieldValue(field, value);
}

export interface PackFindingInput {
  code: string;
  severity: Severity;
  message: string;
  hint: string;
  source: SourceLocation | null;
  field?: string | null;
  hdata?: number | null;
  rdata?: number | null;
  value?: string;
  nhiCode?: string | null;
}

/** Builds a finding: `h9 身分證統一編號: 中文 — English (value)`. */
export function packFinding(input: PackFindingInput, showIds = false): PackFinding {
  const def = input.field ? FIELD_BY_ID.get(input.field) : undefined;
  const head = def && !input.message.startsWith(`${def.id} `) ? `${def.id} ${def.zh}: ` : '';
  const value = input.value !== undefined ? shownValue(input.field, input.value, showIds) : undefined;
  const shown = value !== undefined ? ` (${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '…' : value)})` : '';
  const f: PackFinding = {
    code: input.code,
    severity: input.severity,
    nhiCode: input.nhiCode ?? null,
    field: def ? def.id : (input.field ?? null),
    fieldName: def ? def.zh : null,
    hdata: input.hdata ?? null,
    rdata: input.rdata ?? null,
    line: null,
    column: null,
    message: `${head}${input.message}${shown}`,
    hint: input.hint,
    source: input.source,
  };
  if (value !== undefined) f.value = value;
  return f;
}

export function fromProblem(p: InputProblem, showIds: boolean, hdata: number | null = null, rdata: number | null = null): PackFinding {
  return packFinding({ ...p, hdata, rdata }, showIds);
}

/** `his.csv:12 column 5 “PAT_ID”`, `orders.ndjson:3 /items/0/r4`, `--hosp`. */
export function formatSource(s: SourceLocation | null): string {
  if (!s) return '';
  let t = `${s.file}:${s.line}`;
  if (s.pointer !== undefined) t += ` ${s.pointer || '/'}`;
  else if (s.column !== undefined && s.columnName !== undefined) t += ` column ${s.column} “${s.columnName}”`;
  else if (s.column !== undefined) t += `:${s.column}`;
  if (s.from) t += ` (${s.from})`;
  return t;
}
