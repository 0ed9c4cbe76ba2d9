import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { history } from '../../../src/daily/history.js';
import { createRun, updateRun } from '../../../src/daily/run-store.js';
import { journalBegin, journalMarkSent, journalUpdateStatus } from '../../../src/store/journal.js';
import { openStore, type Store } from '../../../src/store/store.js';

const clock = fixedClock('2026-11-26T02:00:00+08:00');
let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-history-'));
  store = openStore({ file: join(dir, 'labup.db') });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A submission as upload journals it: begun, sent (收件序號), then checked. */
function submission(o: { day: string; n: number; sha: string; at: string; status?: 'passed' | 'failed' }): void {
  clock.set(o.at);
  const e = journalBegin(
    store,
    { portal: 'sandbox:x', institutionCode: '3501200000', uploadDate: o.day, file: `/r/${o.n}.zip`, fileName: 'TOTFA.zip', size: 1, contentSha256: o.sha, idempotencyKey: `k${o.n}` },
    clock,
  );
  const receiptNo = `${o.day}00000${o.n}`;
  journalMarkSent(store, e.id, { receiptNo, sentAt: o.at, status: 'checking', statusText: '檢核中' }, clock);
  if (o.status) journalUpdateStatus(store, 'sandbox:x', { receiptNo, status: o.status, statusText: o.status === 'passed' ? '檢核正確' : '檢核錯誤', errorCount: o.status === 'passed' ? 0 : 2 }, clock);
}

describe('labup history', () => {
  beforeEach(() => {
    // given: a daily run that passed on 115/11/24, a manual upload on 115/11/25 still 檢核中,
    // a daily run on 115/11/26 refused before sending, and an upload two months ago
    submission({ day: '1151124', n: 1, sha: 'aa', at: '2026-11-24T02:00:05+08:00', status: 'passed' });
    const daily = createRun(store, { runKey: 'r1', inputsKey: 'i1', portal: 'sandbox:x', uploadDate: '1151124', inputs: [{ path: '/e/24.csv', given: '24.csv', sha256: 'x', size: 1 }], options: {} }, clock);
    updateRun(store, daily.id, { state: 'done', outcome: 'passed', receiptNo: '1151124000001', zipSha256: 'aa', reportPath: '/d/reports/labup-daily-1151124-run1.json' }, clock);
    submission({ day: '1151125', n: 2, sha: 'bb', at: '2026-11-25T15:30:00+08:00' });
    clock.set('2026-11-26T02:00:00+08:00');
    const refused = createRun(store, { runKey: 'r3', inputsKey: 'i3', portal: 'sandbox:x', uploadDate: '1151126', inputs: [{ path: '/e/26.csv', given: '26.csv', sha256: 'y', size: 1 }], options: {} }, clock);
    updateRun(store, refused.id, { state: 'stopped', outcome: 'refused', errorCount: 3, failure: { step: 'pack', code: 'DAILY_REFUSED', message: '3 errors', exitCode: 1 } }, clock);
    submission({ day: '1150925', n: 4, sha: 'dd', at: '2026-09-25T02:00:00+08:00', status: 'failed' });
    clock.set('2026-11-26T02:00:00+08:00');
  });

  it('lists the last 30 days, newest first, each upload with its run', () => {
    const h = history(store, { clock });
    expect(h).toMatchObject({ from: '115/10/28', to: '115/11/26', total: 3, page: 1, pages: 1, sort: 'at', order: 'desc' });
    expect(h.items.map((i) => [i.uploadDate, i.receiptNo, i.statusText, i.run?.id ?? null])).toEqual([
      ['115/11/26', null, '未上傳 (errors found locally)', 2],
      ['115/11/25', '1151125000002', '檢核中', null],
      ['115/11/24', '1151124000001', '檢核正確', 1],
    ]);
    expect(h.items[0]!.run).toMatchObject({ inputs: ['26.csv'], outcome: 'refused', failure: '[DAILY_REFUSED] 3 errors' });
    expect(h.items[2]!.run).toMatchObject({ report: '/d/reports/labup-daily-1151124-run1.json' });
  });

  it('takes ROC or ISO dates, pages and sorts like every listing', () => {
    expect(history(store, { clock, from: '115/09/01', to: '2026-09-30' }).items.map((i) => [i.receiptNo, i.status, i.errorCount])).toEqual([['1150925000004', 'failed', 2]]);
    const page = history(store, { clock, from: '115/09/01', sort: '+date', pageSize: 2, page: 2 });
    expect(page).toMatchObject({ total: 4, pages: 2, page: 2, order: 'asc' });
    expect(page.items.map((i) => i.uploadDate)).toEqual(['115/11/25', '115/11/26']);
    expect(() => history(store, { clock, sort: 'colour' })).toThrowError(expect.objectContaining({ code: 'BAD_SORT', exitCode: 2 }));
    expect(() => history(store, { clock, from: '115/13/01' })).toThrowError(expect.objectContaining({ code: 'BAD_DATE' }));
  });
});
