/**
 * The entry form, derived from the 表一 table (`format/fields.ts`) — never retyped: the questions in
 * spec order, each with its Chinese name and format hint, code lists as select lists
 * (`format/codes.ts`), conditional fields asked only when their `Requirement.when` holds (via
 * `evalCondition`) or when an item table makes them needed, and each answer checked at once with the
 * validation core.
 */
import { CODE_LISTS, codeLabel } from '../format/codes.js';
import { H_FIELDS, R_FIELDS, type FieldDef, type FieldId, type HFieldId, type RFieldId } from '../format/fields.js';
import type { Finding } from '../format/findings.js';
import { orderItems, type ItemSpec } from '../format/item-tables.js';
import { lookupOrder } from '../format/order-codes.js';
import { evalCondition } from '../format/rules.js';
import {
  checkEntry,
  cloneRecord,
  findingKey,
  findingsOn,
  MISSING_CODES,
  normaliseAnswer,
  toHdata,
  type CheckRecordOptions,
  type DailyRecord,
} from './record.js';

export type Requiredness = 'required' | 'advised' | 'optional';

export interface FormChoice {
  value: string;
  name: string;
}

/** One question of the form. */
export interface FormQuestion {
  def: FieldDef;
  /** 1-based item position for r-fields; null for header fields. */
  item: number | null;
  control: 'input' | 'select' | 'checkbox';
  requiredness: Requiredness;
  /** `*h9 身分證統一編號 [身分證號或居留證號, e.g. A123456789]` */
  message: string;
  choices?: FormChoice[];
  /** The answer Enter gives. */
  default?: string;
  /** For a select on r1 that lets the user type another number. */
  other?: boolean;
}

export interface FormContext {
  /** 醫事機構代碼 for h2 (config `institution`, `--hosp`): h2 is then filled, not asked. */
  institution?: string;
}

/** Value meaning “clear this field” where a default would otherwise be taken. */
export const CLEAR = '-';

/** Fields the form never asks: h16 is stamped at upload, h4 follows h20. */
export const DERIVED_FIELDS: ReadonlySet<FieldId> = new Set<FieldId>(['h4', 'h16']);

/**
 * Header fields that describe the visit (who, where, when the card was read) rather than the order:
 * 新增醫令 keeps them and asks only the others, offering the previous order's answers as defaults.
 */
export const VISIT_FIELDS: readonly HFieldId[] = ['h2', 'h3', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11', 'h12', 'h13', 'h14', 'h17', 'h23', 'h24', 'h26', 'h27', 'h28', 'h29', 'h30'];

const CONTINUATION: Record<string, readonly RFieldId[]> = {
  'r8-2': ['r7', 'r8-1'],
  'r8-3': ['r8-2'],
  'r8-4': ['r8-3'],
  'r8-5': ['r8-4'],
  'r8-6': ['r8-5'],
  'r8-7': ['r8-6'],
  'r8-8': ['r8-7'],
  'r8-9': ['r8-8'],
};

/** The item spec an order's table gives for an item's r1 (表五, 表八–表十四). */
export function itemSpec(rec: DailyRecord, item: number): ItemSpec | undefined {
  const h15 = rec.header.h15;
  const r1 = rec.items[item - 1]?.r1;
  if (!h15 || r1 === undefined || !/^\d+$/.test(r1)) return undefined;
  return orderItems(h15)?.byR1.get(String(Number(r1)));
}

/** A record without one value (to see what its absence means). */
function without(rec: DailyRecord, id: FieldId, item: number | null): DailyRecord {
  const c = cloneRecord(rec);
  if (item === null) delete (c.header as Record<string, string>)[id];
  else if (c.items[item - 1]) delete (c.items[item - 1] as Record<string, string>)[id];
  return c;
}

/** Whether (and how strongly) a field is needed in this record, from 表一 and the item tables. */
export function requirednessOf(def: FieldDef, rec: DailyRecord, item: number | null, o: CheckRecordOptions = {}): Requiredness | null {
  const req = def.required;
  if (req.kind === 'always') return 'required';
  let level: Requiredness | null = req.kind === 'optional' ? 'optional' : evalCondition(req.when, toHdata(rec)) ? (req.severity === 'error' ? 'required' : 'advised') : null;
  if (level !== 'required') {
    // Item tables and pairs (h23/h24) can make a field needed where 表一 alone does not.
    const check = checkEntry(without(rec, def.id, item), o);
    const missing = findingsOn(check, def.id, item).filter((f) => MISSING_CODES.has(f.code) && f.code !== 'REFERENCE_RANGE_REQUIRED');
    if (missing.some((f) => f.severity === 'error')) level = 'required';
    else if (missing.length) level = 'advised';
  }
  if (level === 'optional' && def.section === 'r' && CONTINUATION[def.id]) {
    const it = rec.items[item! - 1] ?? {};
    const prev = CONTINUATION[def.id]!.some((p) => (it as Record<string, string | undefined>)[p]);
    if (!prev) return null;
  }
  return level;
}

function choicesOf(def: FieldDef): FormChoice[] | undefined {
  if (def.kind.type === 'code') return CODE_LISTS[def.kind.list].map((e) => ({ value: e.code, name: `${e.code} ${e.zh}` }));
  if (def.kind.type === 'bodyParts') return CODE_LISTS.h25.map((e) => ({ value: e.code, name: `${e.code} ${e.zh}` }));
  return undefined;
}

/** `*h9 身分證統一編號 [身分證號或居留證號, e.g. A123456789]` with the requiredness spelled out. */
export function questionMessage(def: FieldDef, requiredness: Requiredness, item: number | null): string {
  const where = item !== null ? `#${item} ` : '';
  const note = def.required.kind === 'when' && requiredness !== 'optional' ? ` — ${def.required.note.zh}` : '';
  const tail = requiredness === 'required' ? '' : requiredness === 'advised' ? `（建議填寫 advised, Enter 略過）` : `（選填 optional, Enter 略過）`;
  return `${requiredness === 'required' ? '*' : ' '}${where}${def.id} ${def.zh} [${def.format}]${note}${tail}`;
}

/** The question for a header field, or null when the form does not ask it in this record. */
export function headerQuestion(def: FieldDef, rec: DailyRecord, ctx: FormContext = {}, o: CheckRecordOptions = {}): FormQuestion | null {
  if (DERIVED_FIELDS.has(def.id)) return null;
  if (def.id === 'h2' && ctx.institution && (rec.header.h2 === undefined || rec.header.h2 === ctx.institution)) return null;
  const requiredness = requirednessOf(def, rec, null, o);
  if (requiredness === null) return null;
  const current = rec.header[def.id as HFieldId];
  let dflt = current;
  if (dflt === undefined) {
    if (def.id === 'h8') dflt = '1';
    else if (def.id === 'h2') dflt = ctx.institution;
    else if (def.id === 'h11' && rec.header.h5 && /^\d{7}/.test(rec.header.h5)) dflt = rec.header.h5.slice(0, 7);
  }
  return build(def, null, requiredness, dflt);
}

/** The question for an item field, or null when the form does not ask it for this item. */
export function itemQuestion(def: FieldDef, rec: DailyRecord, item: number, o: CheckRecordOptions = {}): FormQuestion | null {
  const requiredness = requirednessOf(def, rec, item, o);
  if (requiredness === null) return null;
  const it = rec.items[item - 1] ?? {};
  const current = it[def.id as RFieldId];
  if (def.id === 'r1') {
    const table = rec.header.h15 ? orderItems(rec.header.h15) : undefined;
    const used = new Set(rec.items.filter((_, i) => i !== item - 1).map((x) => (x.r1 && /^\d+$/.test(x.r1) ? String(Number(x.r1)) : '')));
    if (table) {
      const specs = [...table.byR1.values()].sort((a, b) => Number(a.r1) - Number(b.r1));
      const choices = specs.map((s) => ({ value: s.r1, name: `${s.r1} ${s.name}${s.units && s.units.length ? ` [${s.units.join(' / ')}]` : ''} (${s.table})` }));
      const dflt = current ?? specs.find((s) => !used.has(s.r1))?.r1 ?? specs[0]!.r1;
      const q = build(def, item, requiredness, dflt);
      return { ...q, control: 'select', choices: table.binding === 'guide' ? [...choices, { value: '', name: '其他報告序號 another number…' }] : choices, other: table.binding === 'guide' };
    }
    let next = item;
    while (used.has(String(next))) next++;
    return build(def, item, requiredness, current ?? String(next));
  }
  let dflt = current;
  if (dflt === undefined) {
    const spec = itemSpec(rec, item);
    if (def.id === 'r2' && spec) dflt = spec.name;
    else if (def.id === 'r5' && spec?.units?.length && spec.units[0]) dflt = spec.units[0];
  }
  return build(def, item, requiredness, dflt);
}

function build(def: FieldDef, item: number | null, requiredness: Requiredness, dflt: string | undefined): FormQuestion {
  const choices = choicesOf(def);
  const control = def.kind.type === 'bodyParts' ? 'checkbox' : choices ? 'select' : 'input';
  const q: FormQuestion = { def, item, control, requiredness, message: questionMessage(def, requiredness, item) };
  if (choices) q.choices = control === 'select' && requiredness !== 'required' ? [{ value: '', name: '（略過 skip）' }, ...choices] : choices;
  if (dflt !== undefined && dflt !== '') q.default = dflt;
  return q;
}

/** Header fields in spec order: the form walks them, asking those {@link headerQuestion} returns. */
export const HEADER_FIELDS: readonly FieldDef[] = H_FIELDS;
/** Item fields in spec order, for {@link itemQuestion}. */
export const ITEM_FIELDS: readonly FieldDef[] = R_FIELDS;

/**
 * Removes items (1-based positions). Items numbered 1, 2, 3 … by position are numbered again, so
 * that 報告序號 still runs without a gap; numbers an item table gives are kept.
 */
export function removeItems(rec: DailyRecord, positions: number[]): DailyRecord {
  const c = cloneRecord(rec);
  const sequential = c.items.every((it, i) => it.r1 === String(i + 1));
  for (const n of [...new Set(positions)].sort((a, b) => b - a)) c.items.splice(n - 1, 1);
  if (sequential) c.items.forEach((it, i) => (it.r1 = String(i + 1)));
  return c;
}

/** Sets (or, with '', removes) one value; h4 follows h20 unless it was set to something else. */
export function applyAnswer(rec: DailyRecord, id: FieldId, item: number | null, value: string): DailyRecord {
  const c = cloneRecord(rec);
  if (item === null) {
    const h = c.header as Record<string, string | undefined>;
    const oldH20 = h.h20;
    if (value === '') delete h[id];
    else h[id] = value;
    if (id === 'h20') {
      const derivedBefore = oldH20 && /^\d{11}/.test(oldH20) ? oldH20.slice(0, 5) : undefined;
      if (h.h4 === undefined || h.h4 === derivedBefore) {
        if (value && /^\d{11}(\d{2})?$/.test(value)) h.h4 = value.slice(0, 5);
        else delete h.h4;
      }
    }
  } else {
    while (c.items.length < item) c.items.push({});
    const r = c.items[item - 1] as Record<string, string | undefined>;
    if (value === '') delete r[id];
    else r[id] = value;
  }
  return c;
}

/**
 * Errors that concern this field together with another one already answered (h1 and h15, h4 and
 * h20, the newborn's age and the visit): shown at once, but the answer is taken, since the fix may
 * be in the other field (編輯表頭欄位); 暫存 lists them again and they block upload.
 */
export const CROSS_FIELD_CODES: ReadonlySet<string> = new Set(['ORDER_REPORT_TYPE', 'EXEC_MONTH_MISMATCH', 'NEWBORN_AGE', 'NEWBORN_DATE_REQUIRED', 'NEWBORN_MARK_REQUIRED']);

export interface AnswerCheck {
  /** The answer as stored (normalised). */
  value: string;
  /** Errors on this field. */
  errors: Finding[];
  /** The errors that refuse the answer: all but {@link CROSS_FIELD_CODES}. */
  blocking: Finding[];
  /** Warnings on this field: shown, the answer is kept. */
  warnings: Finding[];
  /** What the answer changed elsewhere in the record (shown, not blocking). */
  others: Finding[];
  /** The record with the answer applied. */
  record: DailyRecord;
}

/** Checks one answer at once, with the whole record around it. */
export function checkAnswer(rec: DailyRecord, def: FieldDef, item: number | null, raw: string, o: CheckRecordOptions = {}): AnswerCheck {
  const value = raw.trim() === CLEAR ? '' : normaliseAnswer(def, raw);
  const before = checkEntry(without(rec, def.id, item), o);
  const record = applyAnswer(rec, def.id, item, value);
  const after = checkEntry(record, o);
  let on = findingsOn(after, def.id, item);
  if (value === '') {
    on = on.filter((f) => MISSING_CODES.has(f.code));
    if (def.id === 'r6-2') on.push(...findingsOn(after, 'r6-1', item).filter((f) => f.code === 'REFERENCE_RANGE_REQUIRED'));
    if (def.id === 'r6-1') on = on.filter((f) => f.code !== 'REFERENCE_RANGE_REQUIRED');
  } else {
    on = on.filter((f) => !MISSING_CODES.has(f.code));
  }
  const seen = new Set([...before.errors, ...before.warnings].map(findingKey));
  const onKeys = new Set(on.map(findingKey));
  const others = [...after.errors, ...after.warnings].filter((f) => !seen.has(findingKey(f)) && !onKeys.has(findingKey(f)) && !MISSING_CODES.has(f.code));
  const errors = on.filter((f) => f.severity === 'error');
  return { value, errors, blocking: errors.filter((f) => !CROSS_FIELD_CODES.has(f.code)), warnings: on.filter((f) => f.severity === 'warning'), others, record };
}

/** A finding as one line under a prompt: what is wrong and what to do (the field is already named). */
export function promptLine(f: Finding): string {
  const head = f.field && f.fieldName ? `${f.field} ${f.fieldName}: ` : '';
  const text = (head && f.message.startsWith(head) ? f.message.slice(head.length) : f.message).replace(/ \("(?:[^"\\]|\\.)*"\)$/, '');
  return `${text} → ${f.hint}`;
}

/** What an answer to h15 means: `09015C CRE(肌酸酐)（表三，報告類別 1）`. */
export function orderNote(h15: string): string | undefined {
  const info = lookupOrder(h15);
  if (!info) return undefined;
  return `${h15} ${info.name}（${info.table}，報告類別 ${info.reportType} ${codeLabel('h1', info.reportType) ?? ''}）`;
}
