/**
 * The catalogue of validation findings: a stable labup code for each, the NHIA check code it
 * corresponds to (from the NHIA check reports, where one is known), and whether an XML Schema can
 * detect it (used to cross-check labup against `xmllint --schema`).
 */
import { FIELD_BY_ID } from './fields.js';
import { maskFieldValue } from './national-id.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  /** Stable labup code, e.g. `FIELD_CODE`. */
  code: string;
  severity: Severity;
  /** NHIA check error code (01 length, 02 type, 03 code, 04 date …), or null when NHIA has none. */
  nhiCode: string | null;
  /** Field id (`h9`, `r4-1`) or null for file- and structure-level findings. */
  field: string | null;
  /** The field's Chinese name (資料名稱). */
  fieldName: string | null;
  /** 1-based hdata index; null before the first hdata. */
  hdata: number | null;
  /** 1-based rdata index inside its hdata; null for header fields. */
  rdata: number | null;
  line: number | null;
  column: number | null;
  message: string;
  hint: string;
  /** The offending value, national IDs masked; absent when there is none. */
  value?: string;
}

export interface FindingDef {
  severity: Severity;
  nhiCode: string | null;
  /** An XML Schema (structure + per-field simple types) detects this. */
  xsd: boolean;
  zh: string;
  en: string;
  hint: string;
}

const d = (severity: Severity, nhiCode: string | null, xsd: boolean, zh: string, en: string, hint: string): FindingDef => ({
  severity,
  nhiCode,
  xsd,
  zh,
  en,
  hint,
});

/** Every finding code labup reports. Documented in docs/format.md (generated). */
export const FINDINGS = {
  // file and archive
  ZIP_ENTRY_COUNT: d('error', null, false, 'ZIP 內必須恰有一個 XML 檔且不含其他檔案', 'the ZIP must hold exactly one XML file and nothing else', 'Repack the ZIP with only the daily XML inside (labup pack does this).'),
  ZIP_ENTRY_NAME: d('error', null, false, '檔名只允許英數字', 'file names may contain only letters and digits', 'Rename the file, e.g. TOTFA.xml inside TOTFA.zip.'),
  ZIP_ENTRY_TYPE: d('error', null, false, 'ZIP 內的檔案必須是 .xml', 'the entry inside the ZIP must be an .xml file', 'Put the daily XML (not another format) into the ZIP.'),
  ZIP_ENCRYPTED: d('error', null, false, '上傳的 ZIP 不可加密', 'an upload ZIP must not be encrypted', 'Pack the XML without a password.'),
  UPLOAD_DATE_NOT_ALLOWED: d('error', null, false, '上傳日期僅限當天或前一天', 'the upload date may only be today or yesterday (Asia/Taipei)', 'Use today’s date, or yesterday’s for a late upload, and re-stamp h16 (labup pack --upload-time).'),

  // XML syntax and structure
  XML_SYNTAX: d('error', null, true, 'XML 格式錯誤', 'not well-formed XML', 'Fix the XML at this position; labup pack always writes well-formed XML.'),
  XML_BYTES: d('error', null, true, '檔案內容含有該編碼無法解讀的位元組', 'bytes that the declared encoding cannot decode', 'Save the file as Big5 (code page 950) or as UTF-8 matching its XML declaration; replace characters outside Big5.'),
  XML_ENCODING: d('error', null, true, 'XML 宣告的編碼不受支援', 'unsupported encoding in the XML declaration', 'Declare encoding="Big5" (NHI’s default) or encoding="UTF-8".'),
  XML_DOCTYPE: d('error', null, false, '不接受 DOCTYPE 或實體宣告', 'DOCTYPE and entity declarations are refused', 'Remove the <!DOCTYPE …> declaration; the daily file needs none.'),
  XML_ROOT: d('error', null, true, '根元素必須是 patient', 'the root element must be <patient>', 'Wrap all <hdata> elements in a single <patient> element.'),
  XML_ELEMENT_UNKNOWN: d('error', null, true, '不明的元素', 'unknown element', 'Use only the field ids of 表一 (h1–h30, r1–r14 …) as element names.'),
  XML_ELEMENT_DUPLICATE: d('error', null, true, '元素重複', 'element appears twice', 'Keep one occurrence of each field per hdata/rdata.'),
  XML_ELEMENT_ORDER: d('error', null, true, '元素順序錯誤', 'element out of order', 'Write the fields in the order of 表一 (h1, h2 … h30, then the rdata elements).'),
  XML_NO_HDATA: d('error', null, true, '沒有任何 hdata', 'no <hdata> in the file', 'The file must hold at least one record.'),
  XML_NO_RDATA: d('error', null, true, 'hdata 內沒有任何 rdata', 'an <hdata> without <rdata>', 'Each order needs at least one result item (rdata).'),
  XML_ATTRIBUTE: d('error', null, true, '不允許屬性', 'attributes are not allowed', 'Remove the attribute; the format carries data only as element text.'),
  XML_TEXT: d('error', null, true, '此處不允許文字', 'text is not allowed here', 'Put values only inside field elements (h1, r1 …).'),
  XML_NESTED: d('error', null, true, '欄位內不可再有元素', 'a field element cannot contain elements', 'Field elements hold text only.'),
  XML_CHAR_REFERENCE: d('warning', null, false, '使用了字元參照', 'character reference used', 'Write the character itself in the file’s encoding.'),
  FIELD_EMPTY_ELEMENT: d('warning', null, false, '空白欄位元素', 'empty field element', 'Omit fields that have no value instead of writing an empty element.'),

  // field values
  FIELD_REQUIRED: d('error', null, true, '必填欄位未填', 'required field missing', 'Fill in this field; it is mandatory in every record.'),
  FIELD_REQUIRED_IF: d('error', null, false, '依條件必填之欄位未填', 'field required in this case is missing', 'Fill in this field; the note says when it is required.'),
  FIELD_ADVISED: d('warning', null, false, '建議填寫之欄位未填', 'field that should be filled is missing', 'Fill in this field where the data exists.'),
  FIELD_LENGTH: d('error', '01', false, '資料長度超過上限', 'value too long', 'Shorten the value: ASCII counts 1, a Chinese or full-width character 4 toward the limit; continue long reports in r8-2…r8-9.'),
  FIELD_TYPE: d('error', '02', true, '資料類別錯誤（須為數字）', 'must be digits only', 'Write digits only.'),
  FIELD_CODE: d('error', '03', true, '代碼不在代碼表內', 'not a valid code', 'Use one of the codes of 表一 for this field.'),
  VALUE_XML_SPECIAL: d('error', '02', true, 'XML 特殊字元須以全形申報', 'XML special character must be full-width', 'Write < > & \' " as ＜ ＞ ＆ ’ ＂ (labup pack converts them).'),
  DATE_FORMAT: d('error', '04', true, '日期格式錯誤', 'date/time format wrong', 'Write ROC dates as YYYMMDD and date-times as YYYMMDDHHMMSS.'),
  DATE_CALENDAR: d('error', '04', false, '日期不存在', 'no such date on the calendar', 'Correct the date (check month length and leap years; 民國 has no year 000).'),
  EXEC_MONTH_MISMATCH: d('error', '10', false, '與執行年月之年月不一致', 'does not match the execution year-month (h4)', 'Make h4 the year and month of h20 (the sampling/examination date).'),
  INSTITUTION_CODE: d('error', '01', true, '醫事機構代碼必為 10 碼英數字', 'an institution code is 10 letters or digits', 'Use the 10-character code assigned by the Ministry of Health and Welfare.'),
  VISIT_SEQ: d('error', '23', true, '就醫序號錯誤', 'visit sequence number must be 4 characters', 'Write the 4-character 就醫序號 from the card, e.g. 0001, IC02, Z000.'),
  PERSON_ID_FORMAT: d('error', '02', true, '身分證號或居留證號格式錯誤', 'not a national ID or resident permit number', 'Write the 10-character ID, first letter uppercase, e.g. A123456789.'),
  PERSON_ID_CHECKSUM: d('error', '02', false, '身分證號或居留證號檢查碼錯誤', 'ID checksum does not match', 'Check the ID against the patient’s card; a typo changes the checksum.'),
  NEWBORN_MARK: d('error', '03', true, '新生兒胞胎註記須為一個英文字母', 'newborn mark must be one letter', 'Write A, B … for boys and a, b … for girls in birth order.'),
  BODY_PART: d('error', '03', true, '診療部位代碼錯誤', 'unknown body-part code', 'Use the body-part letters of 表一 h25, left-aligned, e.g. NJ.'),
  ORDER_CODE_FORMAT: d('error', '02', true, '醫令代碼格式錯誤', 'order code format wrong', 'Write the NHI order code in capitals, e.g. 09005C.'),
  ORDER_REPORT_TYPE: d('error', '30', false, '醫令代碼報告類別錯誤', 'order code does not belong to this report type', 'Set h1 to the report type 表三 gives for this order, or check the order code.'),
  ORDER_NOT_LISTED: d('warning', null, false, '醫令代碼不在表三/表四獎勵項目內', 'order code not in 表三/表四', 'Allowed, but it does not count toward the upload reward; check the code if unexpected.'),
  NEWBORN_DATE_REQUIRED: d('error', '11', false, '新生兒胞胎註記有值，新生兒出生日期為必填', 'newborn mark given without the newborn’s birth date', 'Fill in h23 with the newborn’s birth date, or remove h24.'),
  NEWBORN_MARK_REQUIRED: d('error', '12', false, '新生兒出生日期有值，新生兒胞胎註記為必填', 'newborn birth date given without the newborn mark', 'Fill in h24 (A/a …), or remove h23.'),
  NEWBORN_AGE: d('error', '13', false, '不符合新生兒依附就醫日數規定', 'newborn older than 60 days at the visit', 'A newborn may use the parent’s card only within 60 days of birth; check h23 and the visit date.'),
  REFERENCE_RANGE_REQUIRED: d('error', '14', false, '參考值下限、參考值上限至少需擇一填寫', 'reference range missing', 'Fill in r6-1 and/or r6-2 (a text reference goes into r6-1).'),
  R1_SEQUENCE: d('error', null, false, '報告序號須自 1 起連續編號', 'item numbers must run 1, 2, 3 … inside each order', 'Number the rdata of this hdata 1, 2, 3 … (labup pack numbers them when r1 is absent).'),
  R1_DUPLICATE: d('error', '27', false, '報告序號重覆', 'item number repeated', 'Give each rdata of this order a different r1.'),
  ITEM_NOT_IN_TABLE: d('error', null, false, '報告序號不在此醫令之填寫規範內', 'item number not defined for this order', 'Use the item numbers the table gives for this order.'),
  ITEM_NOT_IN_GUIDE: d('warning', null, false, '報告序號與表九不一致', 'item number differs from 表九', '表九 numbers this order’s items; check that r1 matches the item.'),
  ITEM_VALUE: d('error', '03', false, '檢驗報告結果值不在規定值內', 'result value not one of the values the table allows', 'Write one of the values the table lists for this item.'),
  ITEM_VALUE_GUIDE: d('warning', null, false, '檢驗報告結果值與表九建議值不同', 'result value differs from the values 表九 suggests', 'Check the value; 表九 suggests the listed wording.'),
  ITEM_NUMERIC: d('error', '05', false, '數值格式錯誤', 'result must be a number', 'Write a plain number, without < or > (use the instrument limit ±1).'),
  ITEM_DECIMALS: d('error', '09', false, '小數點位數錯誤', 'too many decimals', 'Round the value to the number of decimals the table gives.'),
  ITEM_UNIT: d('error', null, false, '單位不符規定', 'unit differs from the one the table requires', 'Write the unit the table gives for this item.'),
  ITEM_UNIT_GUIDE: d('warning', null, false, '單位與填寫規範不同', 'unit differs from the units the table lists', 'Check the unit; the table lists the expected ones (letter case does not matter).'),
  ITEM_NAME: d('error', null, false, '檢驗項目名稱不符規定', 'item name differs from the one the table requires', 'Write the item name the table gives (e.g. BH, BW, ASA, Surgical Approach).'),
  ITEM_MISSING: d('error', null, false, '缺少必要之報告序號', 'a required item is missing', 'Add the item the table requires.'),
  ITEM_EXPECTED: d('warning', null, false, '缺少填寫規範列出之報告序號', 'an item the table lists is missing', 'Add the item if the data exists.'),
  ITEM_METHOD_NOT_EMPTY: d('warning', null, false, '此項目不需填寫檢驗方法', 'this item needs no method', 'Leave r3 empty for this item (the table marks it X).'),
  ITEM_DATE: d('error', '04', false, '日期格式錯誤', 'date format wrong', 'Write the date as ROC YYYMMDD.'),
  POS_NEG_VALUE: d('error', '03', false, '此醫令之陽陰性判斷僅可填 1 或 0', 'only 1 (positive) or 0 (negative) is allowed for this order', 'Write 1 or 0 in r4-1.'),
  JOINT_APPROACH: d('error', '03', false, '側別/術別/入路途徑代碼錯誤', 'side / procedure / approach code wrong', 'r3 is three characters: side L/R, procedure 1–7 for this order, approach (knee 1–5, hip A–F or 5).'),
  IMPLANT_BARCODE_COUNT: d('error', 'D2', false, '特材品項數超出 20 個', 'more than 20 implant barcodes', 'List at most 20 implants, separated by half-width semicolons.'),
  IMPLANT_BARCODE_EMPTY: d('error', 'D1', false, '特材條碼空白或分隔錯誤', 'empty implant barcode', 'Separate barcodes with a single half-width semicolon, no spaces.'),
  IMPLANT_GS1_LENGTH: d('error', 'A1', false, 'GS1 條碼長度錯誤', 'GS1 barcode length wrong', 'The (01) GTIN has 14 digits.'),
  IMPLANT_GS1_NUMERIC: d('error', 'A2', false, 'GS1 條碼數值格式錯誤', 'GS1 barcode has non-digits where digits are required', 'Check the GTIN and date parts of the barcode.'),
  IMPLANT_GS1_DATE: d('error', 'A4', false, 'GS1 條碼日期格式錯誤', 'GS1 barcode date wrong', 'The (17) expiry date is YYMMDD.'),
  IMPLANT_GS1_EXPIRED: d('error', 'A5', false, '條碼日期小於費用年月', 'implant expiry date before the execution month', 'Check the (17) expiry date against the surgery month.'),
  IMPLANT_GS1_SYMBOL: d('error', 'A6', false, 'GS1 條碼含符號', 'GS1 barcode contains symbols', 'Only digits, letters and the (AI) parentheses are allowed in a GS1 barcode.'),
  IMPLANT_HIBCC_CHECK: d('error', 'B7', false, 'HIBCC 編碼錯誤', 'HIBCC check character wrong', 'Copy the HIBCC barcode exactly as scanned, including its last (check) character.'),
  IMPLANT_VENDOR_FORMAT: d('error', 'C2', false, '廠商產品編碼英數字格式錯誤', 'vendor product code format wrong', 'Write REF, expiry (YYMM) and LOT together without spaces, e.g. 06-28051911MNPYX2.'),
  UPLOAD_DATE_MISMATCH: d('error', '22', false, 'h16 前七碼與上傳日期不一致', 'h16 does not match the upload date', 'Re-stamp h16 with the upload date (labup pack --upload-time), or upload with the matching --upload-date.'),
  DATE_SEQUENCE: d('warning', null, false, '日期先後不合理', 'dates out of sequence', 'Check the dates: a record cannot be sampled after it is uploaded, nor before the patient’s birth.'),
  DUPLICATE_KEY: d('warning', '25', false, '同一檔案內補正主鍵值重覆', 'the 表七 correction key repeats within the file', 'Keep one record per order: records with the same key replace each other and only the last survives.'),
  // portal-only (the sandbox's processing)
  INSTITUTION_MISMATCH: d('error', '28', false, '醫事機構代碼與登入機構不符', 'h2 is not the signed-in institution', 'Upload with the card of the institution in h2, or correct h2.'),
  ALREADY_ACCEPTED: d('error', '25', false, '資料重覆：相同主鍵值之資料已上傳', 'duplicate: this key was already accepted with the same or a later h16', 'To correct a record, upload it again with a later h16.'),
} as const satisfies Record<string, FindingDef>;

export type FindingCode = keyof typeof FINDINGS;

export function findingDef(code: string): FindingDef | undefined {
  return (FINDINGS as Record<string, FindingDef>)[code];
}

export interface FindingInput {
  code: FindingCode;
  field?: string | null;
  hdata?: number | null;
  rdata?: number | null;
  line?: number | null;
  column?: number | null;
  /** Extra detail appended to the message. */
  detail?: string;
  /** Value to show; pass it already masked where personal. */
  value?: string;
  /** Overrides the catalogue's severity (e.g. a guidance table). */
  severity?: Severity;
  /** Overrides the catalogue's NHIA code (e.g. h6 → 21, h8 → 24). */
  nhiCode?: string | null;
  hint?: string;
}

/** Builds a finding with its bilingual message: `h9 身分證統一編號: 檢查碼錯誤 — checksum does not match (A12****788)`. */
/** Masks a finding's value when it is a national ID — in its message too, which quotes it at the end. */
export function maskFindingValue(f: Finding): void {
  if (f.value === undefined) return;
  const masked = maskFieldValue(f.field, f.value);
  if (masked === f.value) return;
  f.value = masked;
  f.message = f.message.replace(/\("([^"]*)"\)$/, () => `(${JSON.stringify(masked)})`);
}

export function makeFinding(input: FindingInput): Finding {
  const def = FINDINGS[input.code];
  const f = input.field ? FIELD_BY_ID.get(input.field) : undefined;
  const head = f ? `${f.id} ${f.zh}: ` : '';
  const detail = input.detail ? `: ${input.detail}` : '';
  const shown = input.value !== undefined ? ` (${JSON.stringify(input.value.length > 60 ? input.value.slice(0, 57) + '…' : input.value)})` : '';
  const finding: Finding = {
    code: input.code,
    severity: input.severity ?? def.severity,
    nhiCode: input.nhiCode === undefined ? def.nhiCode : input.nhiCode,
    field: f ? f.id : (input.field ?? null),
    fieldName: f ? f.zh : null,
    hdata: input.hdata ?? null,
    rdata: input.rdata ?? null,
    line: input.line ?? null,
    column: input.column ?? null,
    message: `${head}${def.zh} — ${def.en}${detail}${shown}`,
    hint: input.hint ?? def.hint,
  };
  if (input.value !== undefined) finding.value = input.value;
  return finding;
}
