/**
 * The errors of a daily run in one shape, whoever found them: labup before sending (the findings
 * of `pack`, each with the input row to fix) or the portal after checking (the rows of the check
 * file, explained and traced back to the input). Grouped by NHIA code (錯誤代碼) for the summary, the
 * labup code standing in where NHIA has none.
 */
import type { Finding } from '../format/findings.js';
import { nhiCode as nhiCodeInfo } from '../format/nhi-codes.js';
import { findingDef } from '../format/findings.js';
import type { SourcePlace } from '../explain/source.js';
import type { PackFinding } from '../pack/findings.js';

/** Where to fix an error: a place in an input (or in the packed XML when no input row is known). */
export type DailySource = Omit<SourcePlace, 'at'>;

export interface DailyError {
  /** `local`: found by labup before sending; `portal`: listed in the check file. */
  origin: 'local' | 'portal';
  /** The group it belongs to: the NHIA code, or the labup code where NHIA has none. */
  group: string;
  /** NHIA 錯誤代碼 (e.g. `28`), when there is one. */
  nhiCode: string | null;
  /** labup's finding code (e.g. `INSTITUTION_MISMATCH`), when known. */
  finding: string | null;
  field: string | null;
  fieldName: string | null;
  hdata: number | null;
  rdata: number | null;
  /** What is wrong (IDs masked unless shown). */
  message: string;
  /** The offending value (IDs masked unless shown). */
  value: string | null;
  /** What to do. */
  fix: string;
  source: DailySource | null;
  /** h9 of the record, masked unless shown (portal errors with a source). */
  patient?: string | null;
  /** h15 醫令代碼 of the record. */
  orderCode?: string | null;
}

export interface DailyErrorGroup {
  /** NHIA code or labup code. */
  code: string;
  /** NHIA's short name, or the labup finding's Chinese text. */
  title: string;
  /** Plain explanation (English). */
  explanation: string;
  fix: string;
  count: number;
}

function groupOf(nhi: string | null, finding: string | null, fallback: string): string {
  return nhi ?? finding ?? fallback;
}

/** The fields every local finding carries into a daily error. */
function localError(f: Finding | PackFinding, source: DailyError['source']): DailyError {
  return {
    origin: 'local',
    group: groupOf(f.nhiCode, f.code, f.code),
    nhiCode: f.nhiCode,
    finding: f.code,
    field: f.field,
    fieldName: f.fieldName,
    hdata: f.hdata,
    rdata: f.rdata,
    message: f.message,
    value: f.value ?? null,
    fix: f.hint,
    source,
  };
}

/** A pack finding (an error of the ZIP labup would build) as a daily error. */
export function fromPackFinding(f: PackFinding): DailyError {
  return localError(f, f.source ? { ...f.source } : null);
}

/** A validation finding on the packed ZIP (its XML lines are the place to name). */
export function fromFinding(f: Finding, zip: string, entry: string | null): DailyError {
  return localError(f, f.line !== null ? { file: zip, ...(entry ? { entry } : {}), line: f.line, ...(f.column !== null ? { column: f.column } : {}) } : null);
}

/** Groups by code in order of first appearance, with NHIA's (or labup's) explanation of each. */
export function groupErrors(errors: readonly DailyError[], counts?: Record<string, number>): DailyErrorGroup[] {
  const groups = new Map<string, DailyErrorGroup>();
  for (const e of errors) {
    let g = groups.get(e.group);
    if (!g) {
      g = { code: e.group, ...describeCode(e.group, e), count: 0 };
      groups.set(e.group, g);
    }
    g.count++;
  }
  if (counts) for (const g of groups.values()) g.count = Math.max(g.count, counts[g.code] ?? 0);
  return [...groups.values()];
}

function describeCode(code: string, sample: DailyError): { title: string; explanation: string; fix: string } {
  const nhi = nhiCodeInfo(code);
  if (nhi) return { title: nhi.title, explanation: nhi.en, fix: nhi.fix };
  const def = findingDef(code.replace(/^L:/, ''));
  if (def) return { title: def.zh, explanation: def.en, fix: def.hint };
  return { title: code, explanation: sample.message, fix: sample.fix };
}

/** `orders.ndjson:3 /h2`, `his.csv:12 column 5 “PAT_ID”`, `TOTFA.zip (TOTFA.xml):14:5`. */
export function formatDailySource(s: DailySource | null): string {
  if (!s) return '(whole file)';
  let t = s.entry ? `${s.file} (${s.entry}):${s.line}` : `${s.file}:${s.line}`;
  if (s.pointer !== undefined) t += ` ${s.pointer || '/'}`;
  else if (s.column !== undefined && s.columnName !== undefined) t += ` column ${s.column} “${s.columnName}”`;
  else if (s.column !== undefined) t += `:${s.column}`;
  if (s.from) t += ` (${s.from})`;
  if (s.rows && s.rows.length > 1) t += ` and ${s.rows.length - 1} more row${s.rows.length > 2 ? 's' : ''} of the order`;
  return t;
}
