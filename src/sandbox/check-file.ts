/**
 * The check-result file (檢核結果檔) the sandbox offers after processing an upload, in the shared
 * format of docs/portal-protocol.md: Big5 (code page 950), CRLF, a header block, then one
 * TAB-separated row per error or a one-line summary when everything is correct.
 */
import { encodeCp950 } from '../encoding/cp950.js';
import { FINDINGS, type Finding, type FindingDef } from '../format/findings.js';
import { formatRocSlashed } from '../format/roc.js';
import { taipeiParts } from '../clock.js';
import { STATUS_TEXT, type SubmissionStatus } from '../transport/portal-client.js';

export const CHECK_FILE_TITLE = '檢驗(查)結果每日上傳檢核結果';
export const CHECK_FILE_COLUMNS = ['序號', 'hdata', 'rdata', '欄位', '錯誤代碼', '錯誤說明', '欄位內容'] as const;

export interface CheckRow {
  hdata: number | null;
  rdata: number | null;
  field: string | null;
  /** NHIA code, or `L:<labup code>` when NHIA has none. */
  code: string;
  description: string;
  value: string;
}

export interface CheckFileInput {
  receiptNo: string;
  /** 上傳日期 as a calendar date. */
  uploadDate: { year: number; month: number; day: number };
  institutionCode: string;
  /** The XML entry's name (or the ZIP's name when no entry could be read). */
  fileName: string;
  checkedAt: Date;
  status: Exclude<SubmissionStatus, 'checking'>;
  counts: { hdata: number; rdata: number };
  /** All errors counted (the rows may be fewer when the validator kept only the first ones). */
  errorCount: number;
  rows: CheckRow[];
}

/** Chinese descriptions of failures that stop a file from being read at all. */
const UNREADABLE_ZH: Record<string, string> = {
  ZIP_DAMAGED: 'ZIP 檔損毀或無法讀取',
  ZIP_UNSUPPORTED: '不支援的 ZIP 格式',
  ZIP_TOO_LARGE: '解壓縮後檔案過大',
  ZIP_ENCRYPTED: '上傳的 ZIP 不可加密',
  FILE_NOT_FOUND: '找不到上傳檔案',
};

function clean(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ');
}

/** The detail a finding's message carries after its catalogue text (empty when none). */
export function findingDetail(f: Finding): string {
  const def = (FINDINGS as Record<string, FindingDef>)[f.code];
  if (!def) return '';
  const head = f.field && f.fieldName ? `${f.field} ${f.fieldName}: ` : '';
  const prefix = `${head}${def.zh} — ${def.en}`;
  if (!f.message.startsWith(prefix)) return '';
  let rest = f.message.slice(prefix.length);
  if (f.value !== undefined) {
    const shown = ` (${JSON.stringify(f.value.length > 60 ? f.value.slice(0, 57) + '…' : f.value)})`;
    if (rest.endsWith(shown)) rest = rest.slice(0, -shown.length);
    else rest = rest.replace(/ \(".*"\)$/, '');
  }
  return rest.startsWith(': ') ? rest.slice(2) : rest.trim();
}

/** One row per error finding (warnings are not listed). */
export function rowsFromFindings(findings: readonly Finding[]): CheckRow[] {
  const rows: CheckRow[] = [];
  for (const f of findings) {
    if (f.severity !== 'error') continue;
    const def = (FINDINGS as Record<string, FindingDef>)[f.code];
    const detail = findingDetail(f);
    rows.push({
      hdata: f.hdata,
      rdata: f.rdata,
      field: f.field,
      code: f.nhiCode ?? `L:${f.code}`,
      description: (def?.zh ?? f.code) + (detail ? `: ${detail}` : ''),
      value: f.value ?? '',
    });
  }
  return rows;
}

/** The single row of a file that could not be read at all. */
export function unreadableRow(code: string, message: string): CheckRow {
  const zh = UNREADABLE_ZH[code] ?? (FINDINGS as Record<string, FindingDef>)[code]?.zh ?? '檔案無法讀取';
  return { hdata: null, rdata: null, field: null, code: `L:${code}`, description: `${zh}: ${message}`, value: '' };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** 檢核時間 as the portal shows it: `115/11/25 20:31:05` (Asia/Taipei). */
export function rocDisplayDateTime(at: Date): string {
  const p = taipeiParts(at);
  return `${formatRocSlashed(p)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** The check file as text (lines joined with CRLF, ending with CRLF). */
export function checkFileText(input: CheckFileInput): string {
  const lines = [
    CHECK_FILE_TITLE,
    `收件序號: ${input.receiptNo}`,
    `上傳日期: ${formatRocSlashed(input.uploadDate)}`,
    `醫事機構代碼: ${input.institutionCode}`,
    `檔案名稱: ${clean(input.fileName)}`,
    `檢核時間: ${rocDisplayDateTime(input.checkedAt)}`,
    `處理狀態: ${STATUS_TEXT[input.status]}`,
    `醫令筆數(hdata): ${input.counts.hdata}`,
    `報告筆數(rdata): ${input.counts.rdata}`,
    `錯誤筆數: ${input.errorCount}`,
    '',
  ];
  if (input.status === 'passed') {
    lines.push(`檢核結果: 全部正確，醫令 ${input.counts.hdata} 筆、報告 ${input.counts.rdata} 筆。`);
  } else {
    lines.push(CHECK_FILE_COLUMNS.join('\t'));
    input.rows.forEach((r, i) => {
      lines.push([String(i + 1), r.hdata === null ? '' : String(r.hdata), r.rdata === null ? '' : String(r.rdata), r.field ?? '', r.code, clean(r.description), clean(r.value)].join('\t'));
    });
  }
  return lines.join('\r\n') + '\r\n';
}

/** The check file's bytes: Big5 (code page 950); a character Big5 cannot hold becomes `?`. */
export function checkFileBytes(input: CheckFileInput): Buffer {
  return encodeCp950(checkFileText(input));
}

/** 備註 of the check file in the related-files list. */
export function checkFileRemark(status: Exclude<SubmissionStatus, 'checking'>, unreadable: boolean): string {
  if (status === 'passed') return '檢驗(查)結果每日上傳 資料檢核正確';
  return unreadable ? '檢驗(查)結果每日上傳 資料檢核錯誤(XML申報檔案處理錯誤)' : '檢驗(查)結果每日上傳 資料檢核錯誤';
}
