/**
 * 表一 — the daily upload format (檢驗（查）結果及人工關節植入物資料每日上傳格式), as data.
 *
 * This table is the single source of truth: the XSD (`schema/lab-daily.xsd`), the validator's field
 * rules, the builder's element order, the entry form's prompts and `docs/format.md` are all derived
 * from it. A new NHIA revision is a change to this file (and {@link FORMAT_EFFECTIVE}).
 */
import type { CodeListId } from './codes.js';
import { INPATIENT_CATEGORIES, OUTPATIENT_CATEGORIES } from './codes.js';

/** The revision of the NHIA format this table encodes (ROC 114-01-01 = 2025-01-01). */
export const FORMAT_EFFECTIVE = { roc: '114-01-01', iso: '2025-01-01' } as const;

export const ROOT_ELEMENT = 'patient';
export const HDATA_ELEMENT = 'hdata';
export const RDATA_ELEMENT = 'rdata';

export type Section = 'h' | 'r';

/** How a field's value is read. */
export type FieldKind =
  | { type: 'code'; list: CodeListId }
  /** YYYMMDD; `negative` when the spec allows years before 民國元年 (−05). */
  | { type: 'rocDate'; negative: boolean }
  /** YYYMMDDHHMMSS; `short` when 11 digits (no seconds) are also allowed. */
  | { type: 'rocDateTime'; negative: boolean; short: boolean }
  /** YYYMM. */
  | { type: 'rocYearMonth' }
  /** National ID / resident permit; `institution` when a 10-character 醫事機構代碼 may stand in. */
  | { type: 'personId'; institution: boolean }
  /** 10-character 醫事機構代碼. */
  | { type: 'institution' }
  /** 醫令代碼 (h15). */
  | { type: 'orderCode' }
  /** 就醫序號 (h7): four characters. */
  | { type: 'visitSeq' }
  /** 新生兒胞胎註記 (h24): one letter. */
  | { type: 'newbornMark' }
  /** 診療部位 (h25): letters from the h25 code list, left-aligned. */
  | { type: 'bodyParts' }
  /** Digits only (type 9 without a code list). */
  | { type: 'digits' }
  | { type: 'text' };

/** A condition on the record, as data, so that rules, prompts and docs read the same thing. */
export type Condition =
  | { field: FieldId; in: readonly string[] }
  | { orderGroup: OrderGroup }
  | { all: readonly Condition[] }
  | { any: readonly Condition[] };

/** Groups of 醫令代碼 named by the spec (resolved in `order-codes.ts`). */
export type OrderGroup = 'ct-mri' | 'pos-neg';

export type Requirement =
  | { kind: 'always' }
  | { kind: 'optional' }
  /**
   * Required when `when` holds. `severity: 'warning'` where the spec says 請填寫 (please fill) rather
   * than 必填 (mandatory), or where a legitimate exception cannot be seen in the data.
   */
  | { kind: 'when'; when: Condition; severity: 'error' | 'warning'; note: { zh: string; en: string } };

export interface FieldDef {
  id: FieldId;
  section: Section;
  /** 資料名稱 */
  zh: string;
  en: string;
  /** Maximum length by NHI's rule: ASCII counts 1, a CJK or full-width character 4. */
  maxLength: number;
  /** 屬性: X = any characters, 9 = digits. */
  type: 'X' | '9';
  kind: FieldKind;
  required: Requirement;
  /** Part of the 表七 correction key (補正上傳主鍵值). */
  correctionKey?: boolean;
  /** Format hint shown in prompts and docs. */
  format: string;
  /** Free text: may legitimately contain the five XML specials, which must then be full-width. */
  freeText?: boolean;
}

export const H_IDS = [
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11', 'h12', 'h13', 'h14', 'h15',
  'h16', 'h17', 'h18', 'h19', 'h20', 'h21', 'h22', 'h23', 'h24', 'h25', 'h26', 'h27', 'h28', 'h29', 'h30',
] as const;
export const R_IDS = [
  'r1', 'r2', 'r3', 'r4', 'r4-1', 'r5', 'r6-1', 'r6-2', 'r7', 'r8-1', 'r8-2', 'r8-3', 'r8-4', 'r8-5',
  'r8-6', 'r8-7', 'r8-8', 'r8-9', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14',
] as const;
export type HFieldId = (typeof H_IDS)[number];
export type RFieldId = (typeof R_IDS)[number];
export type FieldId = HFieldId | RFieldId;

const always: Requirement = { kind: 'always' };
const optional: Requirement = { kind: 'optional' };
const when = (
  cond: Condition,
  severity: 'error' | 'warning',
  zh: string,
  en: string,
): Requirement => ({ kind: 'when', when: cond, severity, note: { zh, en } });

const OUTPATIENT = { field: 'h3', in: OUTPATIENT_CATEGORIES } as const;
const INPATIENT = { field: 'h3', in: INPATIENT_CATEGORIES } as const;
const h1In = (...codes: string[]): Condition => ({ field: 'h1', in: codes });

const DATE = (negative = true): FieldKind => ({ type: 'rocDate', negative });
const DATETIME = (short: boolean): FieldKind => ({ type: 'rocDateTime', negative: true, short });
const F_DATE = 'YYYMMDD (民國年 3 碼, e.g. 1141125)';
const F_DT13 = 'YYYMMDDHHMMSS (13 碼, e.g. 1141125083005)';
const F_DT11 = 'YYYMMDDHHMMSS, or YYYMMDDHHMM (11 碼)';

/**
 * Every field definition, and every kind, has the same properties in the same order (absent ones
 * undefined): the rules read them for millions of values, and V8 reads objects of one shape fastest.
 */
function def(id: FieldId, section: Section, zh: string, en: string, maxLength: number, type: 'X' | '9', kind: FieldKind, required: Requirement, format: string, extra: Partial<FieldDef>): FieldDef {
  const k = kind as { type: FieldKind['type']; list?: CodeListId; negative?: boolean; short?: boolean; institution?: boolean };
  const sameShapeKind = { type: k.type, list: k.list, negative: k.negative, short: k.short, institution: k.institution } as FieldKind;
  return { id, section, zh, en, maxLength, type, kind: sameShapeKind, required, format, correctionKey: extra.correctionKey, freeText: extra.freeText };
}
function h(id: HFieldId, zh: string, en: string, maxLength: number, type: 'X' | '9', kind: FieldKind, required: Requirement, format: string, extra: Partial<FieldDef> = {}): FieldDef {
  return def(id, 'h', zh, en, maxLength, type, kind, required, format, extra);
}
function r(id: RFieldId, zh: string, en: string, maxLength: number, type: 'X' | '9', kind: FieldKind, required: Requirement, format: string, extra: Partial<FieldDef> = {}): FieldDef {
  return def(id, 'r', zh, en, maxLength, type, kind, required, format, extra);
}
const TEXT: FieldKind = { type: 'text' };
const FREE = { freeText: true } as const;
const KEY = { correctionKey: true } as const;

/** Every field of 表一, in spec order (which is also the required element order). */
export const FIELDS: readonly FieldDef[] = [
  h('h1', '報告類別', 'report type', 1, 'X', { type: 'code', list: 'h1' }, always, '1 檢驗 / 2 影像 / 3 病理 / 4 人工關節', KEY),
  h('h2', '醫事機構代碼', 'institution code', 10, 'X', { type: 'institution' }, always, '10 碼', KEY),
  h('h3', '醫事類別', 'care category', 2, 'X', { type: 'code', list: 'h3' }, always, '11–15, 19, 21, 22, 29, 50', KEY),
  h('h4', '執行年月', 'execution year-month', 5, 'X', { type: 'rocYearMonth' }, always, 'YYYMM (e.g. 11411)', KEY),
  h('h5', '健保卡刷卡日期時間', 'card swipe date-time', 13, 'X', { type: 'rocDateTime', negative: true, short: false }, always, F_DT13, KEY),
  h('h6', '就醫類別', 'visit type', 2, 'X', { type: 'code', list: 'h6' }, always, '01 西醫門診, 04 急診, 05 住院, AC …', KEY),
  h('h7', '就醫序號', 'visit sequence number', 4, 'X', { type: 'visitSeq' }, always, '4 碼, e.g. 0001, IC02, Z000', KEY),
  h('h8', '補卡註記', 'card make-up flag', 1, '9', { type: 'code', list: 'h8' }, optional, '1 正常 / 2 補卡', KEY),
  h('h9', '身分證統一編號', 'patient national ID', 10, 'X', { type: 'personId', institution: false }, always, '身分證號或居留證號, e.g. A123456789', KEY),
  h('h10', '出生日期', 'date of birth', 7, 'X', DATE(), always, F_DATE, KEY),
  h('h11', '就醫日期', 'visit date', 7, 'X', DATE(), when(OUTPATIENT, 'error', '門診與特約檢驗所 (h3 為 11–15、19、50) 必填', 'required for outpatient care and laboratories (h3 11–15, 19, 50)'), F_DATE),
  h('h12', '治療結束日期', 'treatment end date', 7, 'X', DATE(false), optional, F_DATE),
  h('h13', '入院年月日', 'admission date', 7, 'X', DATE(), when(INPATIENT, 'error', '住診 (h3 為 21、22、29) 必填', 'required for inpatients (h3 21, 22, 29)'), F_DATE),
  h('h14', '出院年月日', 'discharge date', 7, 'X', DATE(), when(INPATIENT, 'warning', '住診必填；上傳時尚未出院者可免填', 'required for inpatients unless not yet discharged'), F_DATE),
  h('h15', '醫令代碼', 'order code', 12, 'X', { type: 'orderCode' }, always, 'e.g. 09005C', KEY),
  h('h16', '檢驗（查）結果上傳日期時間', 'upload date-time', 13, 'X', { type: 'rocDateTime', negative: true, short: false }, always, F_DT13),
  h('h17', '醫囑醫師身分證號', 'ordering physician ID', 10, 'X', { type: 'personId', institution: true }, optional, '身分證號, 或醫事機構代碼 10 碼'),
  h('h18', '報告/病理醫師身分證號', 'reporting physician ID', 10, 'X', { type: 'personId', institution: true }, optional, '身分證號, 或醫事機構代碼 10 碼'),
  h('h19', '醫囑日期時間', 'order date-time', 13, 'X', DATETIME(true), optional, F_DT11),
  h('h20', '採檢/實際檢查/手術日期時間', 'sampling / examination / surgery date-time', 13, 'X', DATETIME(true), always, F_DT11, KEY),
  h('h21', '醫師確認報告時間', 'report confirmation date-time', 13, 'X', DATETIME(true), optional, F_DT11),
  h('h22', '檢體採檢方法/來源/類別', 'specimen method / source / type', 200, 'X', TEXT, when(h1In('1', '3'), 'warning', '報告類別 1、3 請填寫', 'please fill for report types 1 and 3'), '文字', FREE),
  h('h23', '依附就醫新生兒出生日期', 'dependent newborn birth date', 7, 'X', DATE(), optional, F_DATE),
  h('h24', '依附就醫新生兒胞胎註記', 'dependent newborn birth-order mark', 1, 'X', { type: 'newbornMark' }, optional, 'A–Z 男 / a–z 女'),
  h('h25', '診療部位', 'body part', 18, 'X', { type: 'bodyParts' }, when({ orderGroup: 'ct-mri' }, 'error', '電腦斷層、磁振造影醫令必填', 'required for CT and MRI orders'), '部位代碼左靠, e.g. NJ'),
  h('h26', '醫令調劑方式', 'order dispensing mode', 1, 'X', { type: 'code', list: 'h26' }, when(OUTPATIENT, 'error', '門診與特約檢驗所 (h3 為 11–15、19、50) 必填', 'required for outpatient care and laboratories (h3 11–15, 19, 50)'), '0–5'),
  h('h27', '原開立處方醫事服務機構代碼', 'originating institution code', 10, 'X', { type: 'institution' }, when({ field: 'h26', in: ['3', '5'] }, 'error', '醫令調劑方式為 3 或 5 必填', 'required when h26 is 3 or 5'), '10 碼'),
  h('h28', '就醫識別碼', 'visit identifier', 20, 'X', TEXT, optional, '最長 20 碼'),
  h('h29', '原就醫識別碼', 'original visit identifier', 20, 'X', TEXT, optional, '最長 20 碼'),
  h('h30', '實際就醫之就醫識別碼', 'actual visit identifier', 20, 'X', TEXT, optional, '最長 20 碼'),

  r('r1', '報告序號', 'item number', 6, '9', { type: 'digits' }, always, '1, 2, 3 … (或表五、表八–表十四規定之序號)'),
  r('r2', '檢驗項目名稱', 'item name', 100, 'X', TEXT, when(h1In('1', '3', '4'), 'error', '報告類別 1、3、4 必填', 'required for report types 1, 3 and 4'), '文字', FREE),
  r('r3', '檢驗方法', 'method', 100, 'X', TEXT, when(h1In('1', '3'), 'warning', '報告類別 1、3 請填寫', 'please fill for report types 1 and 3'), '文字', FREE),
  r('r4', '檢驗報告結果值', 'result value', 4000, 'X', TEXT, when(h1In('1', '4'), 'error', '報告類別 1、4 必填', 'required for report types 1 and 4'), '文字或數值', FREE),
  r('r4-1', '檢驗結果陽陰性判斷', 'positive/negative', 1, 'X', { type: 'code', list: 'r4-1' }, when({ orderGroup: 'pos-neg' }, 'error', '醫令 14051C、12185C、12215C、14084C 必填', 'required for orders 14051C, 12185C, 12215C, 14084C'), '1 / 0 / U / X'),
  r('r5', '單位', 'unit', 50, 'X', TEXT, when(h1In('1', '4'), 'error', '報告類別 1、4 必填', 'required for report types 1 and 4'), 'e.g. mg/dL', FREE),
  r('r6-1', '參考值下限', 'reference range, lower', 1000, 'X', TEXT, optional, '文字或數值', FREE),
  r('r6-2', '參考值上限', 'reference range, upper', 1000, 'X', TEXT, optional, '文字或數值', FREE),
  r('r7', '報告結果', 'report text', 4000, 'X', TEXT, when(h1In('2'), 'error', '報告類別 2 必填', 'required for report type 2'), '文字', FREE),
  r('r8-1', '病理發現及診斷', 'pathology findings and diagnosis', 4000, 'X', TEXT, when(h1In('3'), 'error', '報告類別 3 必填', 'required for report type 3'), '文字', FREE),
  r('r8-2', '報告結果或病理發現及診斷（一）', 'report continued (1)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-3', '報告結果或病理發現及診斷（二）', 'report continued (2)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-4', '報告結果或病理發現及診斷（三）', 'report continued (3)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-5', '報告結果或病理發現及診斷（四）', 'report continued (4)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-6', '報告結果或病理發現及診斷（五）', 'report continued (5)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-7', '報告結果或病理發現及診斷（六）', 'report continued (6)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-8', '報告結果或病理發現及診斷（七）', 'report continued (7)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r8-9', '報告結果或病理發現及診斷（八）', 'report continued (8)', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r9', '醫事人員身分證號', 'performing staff ID', 10, 'X', { type: 'personId', institution: true }, when(h1In('1'), 'warning', '報告類別 1 請填寫', 'please fill for report type 1'), '身分證號, 或醫事機構代碼 10 碼'),
  r('r10', '報告日期時間', 'report date-time', 13, 'X', DATETIME(true), when(h1In('1', '2', '3'), 'warning', '報告類別 1、2、3 請填寫', 'please fill for report types 1, 2 and 3'), F_DT11),
  r('r11', '備註', 'remarks', 4000, 'X', TEXT, optional, '文字', FREE),
  r('r12', '檢驗（查）結果值註記', 'result flag', 1, '9', { type: 'code', list: 'r12' }, optional, '0 正常 / 1 異常'),
  r('r13', '輻射劑量', 'radiation dose (mSv)', 4000, 'X', TEXT, optional, '毫西弗 mSv', FREE),
  r('r14', '實際收到報告日期時間', 'report received date-time', 13, 'X', DATETIME(true), optional, F_DT11),
];

export const FIELD_BY_ID: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((f) => [f.id, f]));
export const H_FIELDS: readonly FieldDef[] = FIELDS.filter((f) => f.section === 'h');
export const R_FIELDS: readonly FieldDef[] = FIELDS.filter((f) => f.section === 'r');
/** Position of each field inside its section; element order is enforced with these. */
export const H_INDEX: ReadonlyMap<string, number> = new Map(H_FIELDS.map((f, i) => [f.id, i]));
export const R_INDEX: ReadonlyMap<string, number> = new Map(R_FIELDS.map((f, i) => [f.id, i]));

/** The 表七 correction key: records with the same key replace each other; the latest h16 wins. */
export const CORRECTION_KEY: readonly HFieldId[] = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h15', 'h20'];

export function field(id: string): FieldDef {
  const f = FIELD_BY_ID.get(id);
  if (!f) throw new Error(`unknown field ${id}`);
  return f;
}

/** `h9 身分證統一編號` */
export function fieldLabel(id: string): string {
  const f = FIELD_BY_ID.get(id);
  return f ? `${f.id} ${f.zh}` : id;
}

/** Columns a CSV may use for a field: its id or its Chinese name. */
export function fieldByColumnName(name: string): FieldDef | undefined {
  const n = name.trim();
  return FIELD_BY_ID.get(n.toLowerCase()) ?? FIELDS.find((f) => f.zh === n);
}
