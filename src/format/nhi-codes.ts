/**
 * NHIA check codes (檢核錯誤代碼) as they appear in NHI's check-result files, with plain
 * explanations in zh-TW and English and what to do. The list of codes comes from hospitals'
 * parsers of NHI check reports (a secondary source); the explanations are labup's own.
 */

export interface NhiCode {
  code: string;
  /** The short name NHI's reports use. */
  title: string;
  zh: string;
  en: string;
  /** What to change in the source data. */
  fix: string;
}

const c = (code: string, title: string, zh: string, en: string, fix: string): NhiCode => ({ code, title, zh, en, fix });

export const NHI_CODES: readonly NhiCode[] = [
  c('01', '資料長度不正確', '欄位內容超過（或不足）該欄位規定的長度；中文字與全形字每字以 4 bytes 計。', 'The value is longer (or shorter) than the field allows; Chinese and full-width characters count 4 bytes each.', 'Shorten the value, or continue long report text in r8-2…r8-9.'),
  c('02', '資料類別錯誤', '欄位內容的型態不符，例如數字欄位出現文字、身分證號格式或檢查碼不對。', 'The value has the wrong type: letters in a numeric field, a malformed ID or a failing checksum.', 'Correct the value in the HIS record (for IDs, compare with the patient’s card).'),
  c('03', '代碼類別錯誤', '欄位值不在規定的代碼表內。', 'The value is not one of the codes the field allows.', 'Use a code from the table of the format (labup explain lists them).'),
  c('04', '日期格式錯誤', '日期或日期時間格式不對，或該日期不存在。', 'The date or date-time is malformed or does not exist.', 'Write ROC dates as YYYMMDD and date-times as YYYMMDDHHMMSS.'),
  c('05', '數值格式錯誤', '需要數值的欄位填了非數值（例如含有 < 或 >）。', 'A numeric value was expected (e.g. no < or >).', 'Write a plain number; above or below the instrument’s range, use the limit plus or minus one.'),
  c('06', '數值必須大於0', '數值須大於零。', 'The number must be greater than zero.', 'Correct the value.'),
  c('07', '必為空白', '此情況下該欄位應留空。', 'The field must be empty in this case.', 'Remove the value.'),
  c('08', '數值區間錯誤', '數值超出允許的區間。', 'The number is outside the allowed range.', 'Correct the value.'),
  c('09', '小數點位數錯誤', '小數位數超過規定。', 'Too many decimals.', 'Round to the decimals the item table gives.'),
  c('10', '與執行年月之年月不一致', '執行年月 (h4) 與採檢／檢查日期 (h20) 的年月不一致。', 'h4 (execution year-month) does not match the year and month of h20.', 'Set h4 to the year and month of h20.'),
  c('11', '新生兒出生日期必填', '有新生兒胞胎註記 (h24) 卻沒有新生兒出生日期 (h23)。', 'A newborn mark (h24) without the newborn’s birth date (h23).', 'Fill in h23, or remove h24.'),
  c('12', '新生兒胞胎註記必填', '有新生兒出生日期 (h23) 卻沒有胞胎註記 (h24)。', 'A newborn birth date (h23) without the newborn mark (h24).', 'Fill in h24, or remove h23.'),
  c('13', '不符新生兒依附就醫日數規定', '新生兒依附父母就醫超過 60 日。', 'The newborn is older than 60 days at the visit.', 'Check h23 and the visit date; after 60 days the child needs its own card.'),
  c('14', '參考值上下限至少擇一', '檢體檢驗報告須填參考值下限或上限其中之一。', 'A specimen report needs a lower or an upper reference value.', 'Fill in r6-1 and/or r6-2 (text references go into r6-1).'),
  c('21', '就醫類別錯誤', '就醫類別 (h6) 不在代碼表內或與案件不符。', 'h6 (visit type) is not a valid code or does not fit the case.', 'Use the visit type recorded on the card.'),
  c('22', '上傳日期與檔案內容不符', 'h16 的日期與上傳日期不一致。', 'The date in h16 does not match the upload date.', 'Re-stamp h16 with the upload date (labup pack --upload-time) and upload again.'),
  c('23', '就醫序號錯誤', '就醫序號 (h7) 格式或內容不正確。', 'h7 (visit sequence number) is malformed.', 'Use the 4-character sequence number from the card (e.g. 0001, IC02).'),
  c('24', '補卡註記錯誤', '補卡註記 (h8) 不是 1 或 2。', 'h8 (card make-up flag) is not 1 or 2.', 'Write 1 (normal) or 2 (card presented later).'),
  c('25', '資料重覆', '相同主鍵值（表七）的資料已經上傳過。', 'A record with the same correction key (表七) was already uploaded.', 'To correct it, upload it again with a later h16; otherwise drop the duplicate.'),
  c('26', '勾稽查無案件', '與原送核補報資料勾稽查無此案件。', 'No matching case was found in the original claim data.', 'Check the visit fields (h1–h10) against the claim.'),
  c('27', '流水號重覆', '同一醫令內報告序號 (r1) 重複。', 'An item number (r1) is repeated within one order.', 'Give each result item of the order its own r1.'),
  c('28', '醫事機構代碼錯誤', '醫事機構代碼 (h2) 與上傳之機構不符或不存在。', 'h2 is not the uploading institution or does not exist.', 'Upload with the card of the institution in h2, or correct h2.'),
  c('30', '醫令代碼報告類別錯誤', '醫令代碼 (h15) 與報告類別 (h1) 不符（表三、表四）。', 'The order code (h15) does not belong to the report type (h1) (表三, 表四).', 'Set h1 to the order’s report type, or correct h15.'),
  c('31', '採檢日期時間與醫令執行時間不符', '採檢／檢查日期時間 (h20) 與申報之醫令執行時間起不符。', 'h20 does not match the order’s execution start in the claim.', 'Use the execution time recorded in the claim.'),
  c('37', '代碼不存在或不在生效期間', '代碼檔中無此代碼，或不在生效起迄日內。', 'The code does not exist or is not valid on that date.', 'Check the code against NHI’s current code files.'),
  c('A1', 'GS1 條碼長度錯誤', '人工關節特材 GS1 條碼長度不對。', 'Implant GS1 barcode has the wrong length.', 'Copy the barcode exactly as scanned.'),
  c('A2', 'GS1 條碼數值格式錯誤', 'GS1 條碼中應為數字處有非數字。', 'Non-digits where the GS1 barcode needs digits.', 'Copy the barcode exactly as scanned.'),
  c('A3', 'GS1 條碼英數字格式錯誤', 'GS1 條碼含不允許的字元。', 'The GS1 barcode holds characters it may not.', 'Copy the barcode exactly as scanned.'),
  c('A4', 'GS1 條碼日期格式錯誤', 'GS1 條碼的日期 (17) 不是 YYMMDD。', 'The (17) date in the GS1 barcode is not YYMMDD.', 'Copy the barcode exactly as scanned.'),
  c('A5', 'GS1 條碼日期小於費用年月', '特材效期早於費用年月。', 'The implant expired before the fee month.', 'Check the implant’s expiry against the surgery date.'),
  c('A6', 'GS1 條碼含符號', 'GS1 條碼含有不該有的符號。', 'The GS1 barcode contains symbols.', 'Remove spaces and symbols other than the (AI) parentheses.'),
  c('B1', 'HIBCC 條碼長度錯誤', 'HIBCC 條碼長度不對。', 'HIBCC barcode has the wrong length.', 'Copy the barcode exactly as scanned.'),
  c('B2', 'HIBCC 條碼數值格式錯誤', 'HIBCC 條碼中應為數字處有非數字。', 'Non-digits where the HIBCC barcode needs digits.', 'Copy the barcode exactly as scanned.'),
  c('B3', 'HIBCC 條碼英數字格式錯誤', 'HIBCC 條碼含不允許的字元。', 'The HIBCC barcode holds characters it may not.', 'Copy the barcode exactly as scanned.'),
  c('B4', 'HIBCC 條碼日期格式錯誤', 'HIBCC 條碼的日期格式不對。', 'The date in the HIBCC barcode is malformed.', 'Copy the barcode exactly as scanned.'),
  c('B5', 'HIBCC 條碼日期小於費用年月', '特材效期早於費用年月。', 'The implant expired before the fee month.', 'Check the implant’s expiry.'),
  c('B6', 'HIBCC 無效期條碼', 'HIBCC 條碼缺少效期。', 'The HIBCC barcode has no expiry.', 'Use the barcode that carries the expiry date.'),
  c('B7', 'HIBCC 編碼錯誤', 'HIBCC 條碼的檢查字元不對。', 'The HIBCC check character is wrong.', 'Copy the barcode exactly as scanned, including its last character.'),
  c('C1', '廠商產品編碼長度錯誤', '廠商產品編碼長度不對。', 'Vendor product code has the wrong length.', 'Write REF, expiry (YYMM) and LOT together.'),
  c('C2', '廠商產品編碼英數字格式錯誤', '廠商產品編碼含不允許的字元。', 'Vendor product code holds characters it may not.', 'Use letters, digits and hyphens only.'),
  c('C3', '廠商產品編碼內容不完整', '廠商產品編碼須含 REF、效期、LOT。', 'Vendor product code must hold REF, expiry and LOT.', 'Write REF + YYMM + LOT, e.g. 06-28051911MNPYX2.'),
  c('D1', '非 GS1／HIBCC／廠商編碼', '特材條碼不屬於任何一種允許的格式。', 'The barcode is none of GS1, HIBCC or a vendor code.', 'Copy the barcode exactly as scanned; separate items with a half-width semicolon.'),
  c('D2', '品項數超出 20 個', '一筆特材欄位超過 20 個品項。', 'More than 20 implant items in one field.', 'List at most 20 items.'),
];

const byCode = new Map(NHI_CODES.map((n) => [n.code, n]));

export function nhiCode(code: string): NhiCode | undefined {
  return byCode.get(code.trim().toUpperCase());
}
