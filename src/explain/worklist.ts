/**
 * The staff worklist: one CSV row per error — where it is, whose record, which order and field,
 * the value now, the code, what it means and what to do. UTF-8 with a byte-order mark and CRLF, so
 * Excel opens it with the Chinese intact; written atomically, mode 0600 (it names patients).
 */
import { resolve } from 'node:path';
import type { ExplainResult } from './explain.js';
import { placeRows } from './place.js';
import { writeFileAtomic } from '../transport/download.js';

export const WORKLIST_COLUMNS = [
  '收件序號',
  '序號',
  '來源檔案',
  '列號',
  '行號',
  '欄',
  '位置',
  'hdata',
  'rdata',
  '病人',
  '醫令代碼',
  '欄位',
  '欄位名稱',
  '目前內容',
  '檢核時內容',
  '錯誤代碼',
  '錯誤說明',
  '說明',
  'Explanation',
  '表一規定',
  '修正方式',
] as const;

/** Quotes a CSV value, and defuses text a spreadsheet would run as a formula (=, +, @, -x). */
export function csvValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+@\t\r]/.test(s) || (/^-/.test(s) && !/^-\d+(\.\d+)?$/.test(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The worklist's text (without the byte-order mark), one line per error, CRLF. */
export function worklistCsv(result: ExplainResult): string {
  const lines = [WORKLIST_COLUMNS.join(',')];
  for (const g of result.groups) {
    for (const e of g.errors) {
      const p = e.source;
      const file = p ? (p.entry ? `${p.file} (${p.entry})` : p.file) : '';
      const where = p ? (p.pointer !== undefined ? p.pointer || '/' : (p.columnName ?? '')) + (p.from ? `${p.pointer !== undefined || p.columnName ? ' ' : ''}(${p.from})` : '') : '';
      lines.push(
        [
          result.receiptNo,
          e.seq,
          file,
          p ? placeRows(p) : '',
          p?.line,
          p?.column,
          where,
          e.hdata,
          e.rdata,
          e.patient,
          e.orderCode,
          e.field,
          e.fieldName,
          e.current,
          e.value,
          e.code,
          e.message,
          g.zh,
          g.en,
          e.rule,
          e.fix,
        ]
          .map(csvValue)
          .join(','),
      );
    }
  }
  return lines.join('\r\n') + '\r\n';
}

/** Writes the worklist to `file` (UTF-8 with BOM, atomically, mode 0600); returns the absolute path. */
export async function writeWorklist(result: ExplainResult, file: string, cwd = process.cwd()): Promise<string> {
  const path = resolve(cwd, file);
  await writeFileAtomic(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(worklistCsv(result), 'utf8')]));
  return path;
}
