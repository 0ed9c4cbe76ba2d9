/**
 * Writes a check-result file in the shared format (/docs/explain.md, “The check file”) from the
 * validator's findings, as the sandbox portal does: Big5, CRLF, a header block, then the TAB table.
 */
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { findingDef, type Finding } from '../../../src/format/findings.js';

export interface CheckHeader {
  receiptNo: string;
  uploadDate?: string;
  institution?: string;
  fileName?: string;
  checkedAt?: string;
  hdata: number;
  rdata: number;
}

/** 錯誤說明: the finding's Chinese text plus its detail (as the sandbox writes it). */
export function chineseMessage(f: Finding): string {
  const def = findingDef(f.code)!;
  const afterEn = f.message.split(` — ${def.en}`)[1] ?? '';
  const detail = afterEn.replace(/ \(".*"\)$/, '').replace(/^: /, '');
  return detail ? `${def.zh}: ${detail}` : def.zh;
}

const clean = (s: string) => s.replace(/[\t\r\n]/g, ' ');

/** The check file's text (before encoding). `values` gives 欄位內容 unmasked, by finding index. */
export function checkFileText(h: CheckHeader, errors: readonly Finding[], values: (f: Finding) => string = (f) => f.value ?? ''): string {
  const lines = [
    '檢驗(查)結果每日上傳檢核結果',
    `收件序號: ${h.receiptNo}`,
    `上傳日期: ${h.uploadDate ?? '115/11/25'}`,
    `醫事機構代碼: ${h.institution ?? '3501200000'}`,
    `檔案名稱: ${h.fileName ?? 'TOTFA.xml'}`,
    `檢核時間: ${h.checkedAt ?? '115/11/25 20:31:05'}`,
    `處理狀態: ${errors.length ? '檢核錯誤' : '檢核正確'}`,
    `醫令筆數(hdata): ${h.hdata}`,
    `報告筆數(rdata): ${h.rdata}`,
    `錯誤筆數: ${errors.length}`,
    '',
  ];
  if (errors.length === 0) {
    lines.push(`檢核結果: 全部正確，醫令 ${h.hdata} 筆、報告 ${h.rdata} 筆。`);
  } else {
    lines.push(['序號', 'hdata', 'rdata', '欄位', '錯誤代碼', '錯誤說明', '欄位內容'].join('\t'));
    errors.forEach((f, i) => {
      const code = f.nhiCode ?? `L:${f.code}`;
      lines.push([String(i + 1), f.hdata ?? '', f.rdata ?? '', f.field ?? '', code, clean(chineseMessage(f)), clean(values(f))].join('\t'));
    });
  }
  return lines.join('\r\n') + '\r\n';
}

export function checkFileBytes(h: CheckHeader, errors: readonly Finding[], values?: (f: Finding) => string): Buffer {
  return encodeCp950(checkFileText(h, errors, values));
}
