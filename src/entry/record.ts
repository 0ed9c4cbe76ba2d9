/**
 * One single-record entry (單筆登錄): an order (hdata) with its items (rdata), values keyed by field
 * id — the {@link DailyRecord} the XML writer takes — and the checks that run on it while it is
 * typed: the same `checkValue`/`checkRecord` core `labup validate` runs on a file.
 */
import type { Clock } from '../clock.js';
import { canEncodeCp950 } from '../encoding/cp950.js';
import { FIELD_BY_ID, H_FIELDS, R_FIELDS, type FieldDef, type FieldId, type HFieldId, type RFieldId } from '../format/fields.js';
import { makeFinding, maskFindingValue, type Finding, type FindingInput } from '../format/findings.js';
import { parseUserDate, parseUserDateTime, rocTimestamp, formatRocDate } from '../format/roc.js';
import { checkRecord } from '../format/rules.js';
import { toFullWidth, type DailyRecord } from '../xml/builder.js';
import type { FieldValue, HdataRecord, RdataRecord } from '../xml/daily-reader.js';

export type { DailyRecord };
export type Header = Partial<Record<HFieldId, string>>;
export type Item = Partial<Record<RFieldId, string>>;

/** The findings on one record. `rdata` is the item's position (1-based); `line`/`column` are null. */
export interface RecordCheck {
  ok: boolean;
  errors: Finding[];
  warnings: Finding[];
}

export interface CheckRecordOptions {
  /**
   * h16 to check with when the record has none (a draft gets its h16 when it is uploaded): the
   * clock's now, so that a sampling time in the future is still noticed.
   */
  clock?: Clock;
  h16?: string;
  /** Keep national IDs unmasked in finding values. */
  showIds?: boolean;
}

/** A deep copy (records are plain data). */
export function cloneRecord(rec: DailyRecord): DailyRecord {
  return { header: { ...rec.header }, items: rec.items.map((it) => ({ ...it })) };
}

export function emptyRecord(): DailyRecord {
  return { header: {}, items: [] };
}

const at = (value: string): FieldValue => ({ value, line: 0, column: 0 });

/** The record in the shape the rules read (as the streaming reader would hand it over). */
export function toHdata(rec: DailyRecord, index = 1): HdataRecord {
  const h = rec.header as Record<string, string | undefined>;
  const fields = H_FIELDS.map((f) => {
    const v = h[f.id];
    return v === undefined || v === '' ? undefined : at(v);
  });
  const rdata: RdataRecord[] = rec.items.map((item, i) => {
    const r = item as Record<string, string | undefined>;
    return {
      index: i + 1,
      line: 0,
      column: 0,
      fields: R_FIELDS.map((f) => {
        const v = r[f.id];
        return v === undefined || v === '' ? undefined : at(v);
      }),
    };
  });
  return { index, line: 0, column: 0, fields, rdata, endLine: 0 };
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

/** Characters the daily XML (Big5, code page 950) cannot carry: an error at once, not at upload. */
export function encodingFinding(def: FieldDef, value: string, rdata: number | null): Finding | undefined {
  let bad: string | undefined;
  if (CONTROL.test(value)) bad = 'a control character';
  else if (/[\ud800-\udfff]/.test(value) || !canEncodeCp950(toFullWidth(value, 'big5'))) {
    for (const ch of value) {
      if (!canEncodeCp950(toFullWidth(ch, 'big5')) || /[\ud800-\udfff]/.test(ch)) {
        bad = `“${ch}” (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
        break;
      }
    }
  }
  if (!bad) return undefined;
  return {
    code: 'ENTRY_UNENCODABLE',
    severity: 'error',
    nhiCode: null,
    field: def.id,
    fieldName: def.zh,
    hdata: null,
    rdata,
    line: null,
    column: null,
    message: `${def.id} ${def.zh}: Big5 無法表示的字元 — ${bad} cannot be written in the daily file (Big5, code page 950)`,
    hint: 'Use a character Big5 has (a common variant, or a description in words).',
  };
}

function finish(input: FindingInput, showIds: boolean): Finding {
  const f = makeFinding({ ...input, line: null, column: null, hdata: null });
  if (!showIds) maskFindingValue(f);
  return f;
}

/**
 * Runs every rule of the daily format on one record, as `labup validate` would on a file holding
 * it — with a provisional h16 (now) when the record has none yet — plus the encoding check.
 */
export function checkEntry(rec: DailyRecord, o: CheckRecordOptions = {}): RecordCheck {
  const showIds = o.showIds ?? false;
  const withH16 = rec.header.h16 ? rec : { header: { ...rec.header, h16: o.h16 ?? rocTimestamp((o.clock ?? { now: () => new Date() }).now()) }, items: rec.items };
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const push = (f: Finding) => (f.severity === 'error' ? errors : warnings).push(f);
  for (const [id, v] of Object.entries(rec.header)) {
    const def = FIELD_BY_ID.get(id);
    if (def && v) {
      const bad = encodingFinding(def, v, null);
      if (bad) push(bad);
    }
  }
  rec.items.forEach((item, i) => {
    for (const [id, v] of Object.entries(item)) {
      const def = FIELD_BY_ID.get(id);
      if (def && v) {
        const bad = encodingFinding(def, v, i + 1);
        if (bad) push(bad);
      }
    }
  });
  checkRecord(toHdata(withH16), (input) => push(finish(input, showIds)));
  if (rec.items.length === 0) {
    push(finish({ code: 'XML_NO_RDATA', detail: 'add at least one report item (增加報告序號)' }, showIds));
  }
  return { ok: errors.length === 0, errors, warnings };
}

/** The findings of a record that concern one field (of one item, for r-fields). */
export function findingsOn(check: RecordCheck, field: FieldId, item: number | null): Finding[] {
  return [...check.errors, ...check.warnings].filter((f) => f.field === field && (item === null ? f.rdata === null : f.rdata === item));
}

/** Findings that say a value is missing (they are answered by filling the field, later). */
export const MISSING_CODES: ReadonlySet<string> = new Set([
  'FIELD_REQUIRED',
  'FIELD_REQUIRED_IF',
  'FIELD_ADVISED',
  'REFERENCE_RANGE_REQUIRED',
  'ITEM_MISSING',
  'ITEM_EXPECTED',
  'NEWBORN_DATE_REQUIRED',
  'NEWBORN_MARK_REQUIRED',
  'XML_NO_RDATA',
]);

/** Stable identity of a finding, to tell what an answer changed. */
export function findingKey(f: Finding): string {
  return `${f.code}|${f.field ?? ''}|${f.rdata ?? ''}|${f.message}`;
}

const DATE_SEPARATORS = /[\s/:.\-年月日時分秒]/g;

/**
 * What a person types, in the form the field takes: trimmed; IDs, codes and 醫令代碼 in capitals;
 * ROC dates with separators (`115/11/25`, `115/11/25 08:30:05`) or ISO dates written as the
 * YYYMMDD / YYYMMDDHHMMSS the format wants.
 */
export function normaliseAnswer(def: FieldDef, text: string): string {
  const v = text.trim();
  if (v === '') return '';
  switch (def.kind.type) {
    case 'personId':
    case 'institution':
    case 'orderCode':
    case 'visitSeq':
    case 'bodyParts':
      return v.replace(/\s+/g, '').toUpperCase();
    case 'rocDate': {
      if (/^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/.test(v)) {
        const d = parseUserDate(v.replace(/\./g, '-'));
        return d ? formatRocDate(d) : v;
      }
      return stripDate(v);
    }
    case 'rocDateTime': {
      if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) {
        const d = parseUserDateTime(v);
        return d ? rocTimestamp(d) : v;
      }
      return stripDate(v);
    }
    case 'rocYearMonth':
      return stripDate(v);
    default:
      return v;
  }
}

/** `115/11/25 08:30:05` → `1151125083005`; a leading minus (years before 民國) is kept. */
function stripDate(v: string): string {
  const negative = v.startsWith('-');
  const body = (negative ? v.slice(1) : v).replace(DATE_SEPARATORS, '');
  // ROC years below 100 may be typed with two digits when separators show where they end.
  const m = /^(\d{1,3})[/.-](\d{1,2})[/.-](\d{1,2})(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(negative ? v.slice(1) : v);
  if (m && !negative) {
    const y = m[1]!.padStart(3, '0');
    const t = m[4] !== undefined ? `${m[4].padStart(2, '0')}${m[5]}${m[6] ?? ''}` : '';
    return `${y}${m[2]!.padStart(2, '0')}${m[3]!.padStart(2, '0')}${t}`;
  }
  return (negative ? '-' : '') + body;
}

export interface CompleteOptions {
  /** 醫事機構代碼 for a record without h2 (config `institution`, `--hosp`). */
  institution?: string;
}

/**
 * The defaults the form gives, applied to a record from elsewhere (`entry add`): h2 from the
 * institution, 補卡註記 1 (正常), 執行年月 from h20, 報告序號 1, 2 … where absent. h16 is removed: it is
 * stamped when the draft is uploaded.
 */
export function completeRecord(rec: DailyRecord, o: CompleteOptions = {}): DailyRecord {
  const c = cloneRecord(rec);
  const h = c.header;
  if (h.h2 === undefined && o.institution) h.h2 = o.institution;
  if (h.h8 === undefined) h.h8 = '1';
  if (h.h4 === undefined && h.h20 !== undefined && /^\d{11}(\d{2})?$/.test(h.h20)) h.h4 = h.h20.slice(0, 5);
  delete h.h16;
  c.items.forEach((it, i) => {
    if (it.r1 === undefined) it.r1 = String(i + 1);
  });
  return c;
}

/** Every value read as the form reads an answer (see {@link normaliseAnswer}); empty values dropped. */
export function normaliseRecord(rec: DailyRecord): DailyRecord {
  const norm = (obj: Record<string, string | undefined>) => {
    const out: Record<string, string> = {};
    for (const [id, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      const def = FIELD_BY_ID.get(id);
      const n = def ? normaliseAnswer(def, v) : v;
      if (n !== '') out[id] = n;
    }
    return out;
  };
  return { header: norm(rec.header as Record<string, string | undefined>) as Header, items: rec.items.map((it) => norm(it as Record<string, string | undefined>) as Item) };
}

/** The record with its fields in spec order (as the XML and every listing show them). */
export function canonicalRecord(rec: DailyRecord): DailyRecord {
  const header: Header = {};
  const h = rec.header as Record<string, string | undefined>;
  for (const f of H_FIELDS) if (h[f.id] !== undefined && h[f.id] !== '') (header as Record<string, string>)[f.id] = h[f.id]!;
  const items = rec.items.map((it) => {
    const r = it as Record<string, string | undefined>;
    const out: Record<string, string> = {};
    for (const f of R_FIELDS) if (r[f.id] !== undefined && r[f.id] !== '') out[f.id] = r[f.id]!;
    return out as Item;
  });
  return { header, items };
}
