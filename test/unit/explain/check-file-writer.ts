/**
 * Check files for tests, written by the sandbox portal's own writer (src/sandbox/check-file.ts)
 * from the validator's findings: Big5, CRLF, the header block, then the TAB table.
 */
import { fromTaipei } from '../../../src/clock.js';
import type { Finding } from '../../../src/format/findings.js';
import { checkFileBytes as sandboxCheckFile, rowsFromFindings } from '../../../src/sandbox/check-file.js';

export interface CheckHeader {
  receiptNo: string;
  hdata: number;
  rdata: number;
  fileName?: string;
}

/** The check file the sandbox writes for an upload with these error findings (none: 檢核正確). */
export function checkFileBytes(h: CheckHeader, errors: readonly Finding[]): Buffer {
  const rows = rowsFromFindings(errors);
  return sandboxCheckFile({
    receiptNo: h.receiptNo,
    uploadDate: { year: 2026, month: 11, day: 25 },
    institutionCode: '3501200000',
    fileName: h.fileName ?? 'TOTFA.xml',
    checkedAt: fromTaipei(2026, 11, 25, 20, 31, 5),
    status: rows.length ? 'failed' : 'passed',
    counts: { hdata: h.hdata, rdata: h.rdata },
    errorCount: rows.length,
    rows,
  });
}
