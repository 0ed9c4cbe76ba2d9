import { describe, expect, it } from 'vitest';
import type { DailyResult } from '../../../src/daily/daily.js';
import { groupErrors, type DailyError } from '../../../src/daily/daily-errors.js';
import { summaryLine, summaryLines } from '../../../src/daily/summary.js';

const cwd = '/srv/lab';

function result(over: Partial<DailyResult> = {}): DailyResult {
  return {
    ok: true,
    exitCode: 0,
    outcome: 'passed',
    receipts: [
      {
        receiptNo: '1151125000001',
        uploadDate: '115/11/25',
        status: 'passed',
        statusText: '檢核正確',
        sentAt: '2026-11-25T21:00:00+08:00',
        checkedAt: '2026-11-25T21:00:06+08:00',
        errorCount: 0,
        fileName: 'TOTFA.zip',
        files: [{ name: '1300_1151125000001.msg.txt', path: '/srv/lab/downloads/1300_1151125000001.msg.txt', encrypted: false, decrypted: null, skipped: false, remark: '' }],
      },
    ],
    errors: [],
    errorCount: 0,
    errorGroups: [],
    report: '/srv/lab/downloads/reports/labup-daily-1151125-run1.json',
    runId: 1,
    resumed: false,
    alreadyDone: false,
    dryRun: false,
    uploadDate: '115/11/25',
    inputs: [{ file: '/srv/lab/export/today.csv', sha256: 'a'.repeat(64), size: 100 }],
    counts: { rows: 3, hdata: 2, rdata: 3 },
    zip: { path: '/home/labup/runs/1/TOTFA.zip', name: 'TOTFA.zip', sha256: 'b'.repeat(64), h16: '1151125210000' },
    warningCount: 0,
    preflight: [],
    steps: [],
    failure: null,
    notices: [],
    startedAt: '2026-11-25T21:00:00+08:00',
    finishedAt: '2026-11-25T21:00:07+08:00',
    ...over,
  };
}

const h2Error: DailyError = {
  origin: 'portal',
  group: '28',
  nhiCode: '28',
  finding: 'INSTITUTION_MISMATCH',
  field: 'h2',
  fieldName: '醫事機構代碼',
  hdata: 1,
  rdata: null,
  message: '醫事機構代碼與登入機構不符: signed in as 3501200000',
  value: '3501299999',
  fix: 'Upload with the card of the institution in h2, or correct h2.',
  source: { file: '/srv/lab/export/today.csv', line: 2, column: 2, columnName: 'h2' },
  patient: 'R21****000',
  orderCode: '09005C',
};

describe('the daily summary', () => {
  it('reads, for a day that passed, as a short block and one line ending in 檢核正確', () => {
    expect(summaryLines(result(), { cwd, maxErrors: 50 })).toEqual([
      'labup daily  上傳日期 115/11/25  run 1',
      '  inputs    export/today.csv — 3 rows → 2 hdata, 3 rdata (h16 1151125210000)',
      '  uploaded  TOTFA.zip → 收件序號 1151125000001, 傳送時間 2026-11-25 21:00:00',
      '  status    檢核正確 (檢核時間 2026-11-25 21:00:06)',
      '  file      downloads/1300_1151125000001.msg.txt',
      '  report    downloads/reports/labup-daily-1151125-run1.json',
    ]);
    expect(summaryLine(result(), cwd)).toBe('labup daily: 上傳日期 115/11/25, 2 hdata, 3 rdata, 收件序號 1151125000001, downloads/1300_1151125000001.msg.txt — 檢核正確');
  });

  it('lists a rejected day’s errors by NHIA code, each at its input row, and ends in 檢核錯誤', () => {
    const errors = [h2Error];
    const r = result({
      ok: false,
      exitCode: 1,
      outcome: 'failed',
      errors,
      errorCount: 1,
      errorGroups: groupErrors(errors),
      receipts: [{ ...result().receipts[0]!, status: 'failed', statusText: '檢核錯誤', errorCount: 1 }],
    });
    expect(summaryLines(r, { cwd, maxErrors: 50 }).slice(3)).toEqual([
      '  status    檢核錯誤, 1 error (檢核時間 2026-11-25 21:00:06)',
      '  file      downloads/1300_1151125000001.msg.txt',
      '  report    downloads/reports/labup-daily-1151125-run1.json',
      '',
      '1 error in the check file, by NHIA code:',
      '  28 醫事機構代碼錯誤 ×1 — h2 is not the uploading institution or does not exist.',
      '    export/today.csv:2 column 2 “h2”  hdata 1  醫事機構代碼與登入機構不符: signed in as 3501200000 “3501299999” (R21****000, 09005C)',
      '    → Upload with the card of the institution in h2, or correct h2.',
    ]);
    expect(summaryLine(r, cwd)).toBe(
      'labup daily: 上傳日期 115/11/25, 2 hdata, 3 rdata, 收件序號 1151125000001, downloads/1300_1151125000001.msg.txt (1 error: 28 ×1; report downloads/reports/labup-daily-1151125-run1.json) — 檢核錯誤',
    );
  });

  it('prints at most --max-errors errors and says where the rest are', () => {
    const errors = Array.from({ length: 5 }, (_, i) => ({ ...h2Error, hdata: i + 1 }));
    const r = result({ outcome: 'failed', exitCode: 1, errors, errorCount: 5, errorGroups: groupErrors(errors) });
    const lines = summaryLines(r, { cwd, maxErrors: 2 });
    expect(lines.filter((l) => l.includes('hdata '))).toHaveLength(2);
    expect(lines.at(-1)).toBe('  … 3 more in the report (downloads/reports/labup-daily-1151125-run1.json)');
  });

  it('says why a day stopped, and what to do', () => {
    const pending = result({
      ok: false,
      exitCode: 3,
      outcome: 'pending',
      receipts: [{ ...result().receipts[0]!, status: 'checking', statusText: '檢核中', checkedAt: null, errorCount: null, files: [] }],
      failure: { step: 'wait', code: 'DEADLINE_PASSED', message: '收件序號 1151125000001 still 檢核中 when the deadline passed (10800 s into the run)', hint: 'Run it again later.', exitCode: 3 },
    });
    expect(summaryLines(pending, { cwd, maxErrors: 50 })).toContain('  pending   [DEADLINE_PASSED] 收件序號 1151125000001 still 檢核中 when the deadline passed (10800 s into the run)\n            → Run it again later.');
    expect(summaryLine(pending, cwd)).toBe('labup daily: 收件序號 1151125000001 still 檢核中 at the deadline; run the same command again later (state journaled); report downloads/reports/labup-daily-1151125-run1.json');
    const stopped = result({ ok: false, exitCode: 4, outcome: 'error', receipts: [], report: null, failure: { step: 'preflight', code: 'PIN_INCORRECT', message: 'the card refused the PIN', exitCode: 4 } });
    expect(summaryLine(stopped, cwd)).toBe('labup daily: stopped at preflight — [PIN_INCORRECT] the card refused the PIN (exit 4)');
    expect(summaryLine(result({ outcome: 'empty', exitCode: 6, receipts: [] }), cwd)).toBe('labup daily: nothing to do — the input holds no data rows');
    const refused = result({ outcome: 'refused', exitCode: 1, receipts: [], errors: [{ ...h2Error, origin: 'local', group: '02', nhiCode: '02' }], errorCount: 1 });
    refused.errorGroups = groupErrors(refused.errors);
    expect(summaryLine(refused, cwd)).toBe('labup daily: not sent — 1 error NHI would reject (02 ×1); report downloads/reports/labup-daily-1151125-run1.json');
  });

  it('names a run continued or already done', () => {
    expect(summaryLine(result({ resumed: true }), cwd)).toMatch(/^labup daily: continued, 上傳日期/);
    expect(summaryLine(result({ alreadyDone: true }), cwd)).toMatch(/^labup daily: already done, 上傳日期/);
    expect(summaryLine(result({ outcome: 'already-uploaded', exitCode: 6 }), cwd)).toBe(
      'labup daily: nothing to do — these inputs were already uploaded for 上傳日期 115/11/25 (收件序號 1151125000001, 檢核正確)',
    );
  });
});
