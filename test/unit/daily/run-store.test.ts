import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { createRun, findRunByKey, findRunsByInputs, listRuns, recordStep, restartRun, updateRun } from '../../../src/daily/run-store.js';
import { migrate } from '../../../src/store/migrate.js';
import { STORE_MIGRATIONS, openStore, type Store } from '../../../src/store/store.js';

const clock = fixedClock('2026-11-26T02:00:00+08:00');
let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-runs-'));
  store = openStore({ file: join(dir, 'labup.db') });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const input = { path: '/data/export.csv', given: 'export.csv', sha256: 'a'.repeat(64), size: 10 };
const newRun = (over: Partial<Parameters<typeof createRun>[1]> = {}) =>
  createRun(store, { runKey: 'k1', inputsKey: 'i1', portal: 'sandbox:x', uploadDate: '1151126', inputs: [input], options: { hosp: '3501200000' }, ...over }, clock);

describe('the runs table (store migration 4)', () => {
  it('is added to a journal written by an earlier labup, keeping its submissions', () => {
    // given a store at version 2 with a journal entry
    const file = join(dir, 'old.db');
    const db = openDatabase(file);
    migrate(db, STORE_MIGRATIONS.slice(0, 2), file);
    db.prepare(`INSERT INTO submissions (portal, upload_date, file, file_name, size, content_sha256, idempotency_key, state, created_at, updated_at) VALUES ('p', '1151125', '/f', 'f', 1, 'x', 'k', 'sent', 't', 't')`).run();
    db.close();
    // when the current labup opens it
    const s = openStore({ file });
    // then it has the runs table and the old entry
    expect(s.db.pragma('user_version', { simple: true })).toBe(STORE_MIGRATIONS.length);
    expect(STORE_MIGRATIONS[3]).toMatchObject({ version: 4 });
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM submissions').get()).toEqual({ n: 1 });
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 0 });
    s.close();
  });

  it('records a run, its steps and its outcome, and finds it again by key', () => {
    const run = newRun();
    expect(run).toMatchObject({ state: 'running', step: null, starts: 1, pid: process.pid, inputs: [input], options: { hosp: '3501200000' }, files: [], steps: [], startedAt: '2026-11-26T02:00:00+08:00' });
    recordStep(store, run.id, { step: 'preflight', state: 'done', start: 1 }, clock);
    recordStep(store, run.id, { step: 'pack', state: 'done', start: 1, note: '3 rows' }, clock);
    const failed = recordStep(store, run.id, { step: 'upload', state: 'failed', start: 1 }, clock);
    // a failed step is recorded, but the last step completed stays the last one done
    expect(failed.step).toBe('pack');
    expect(failed.steps.map((s) => `${s.step}:${s.state}`)).toEqual(['preflight:done', 'pack:done', 'upload:failed']);
    const updated = updateRun(store, run.id, { state: 'stopped', outcome: 'error', exitCode: 5, failure: { step: 'upload', code: 'PORTAL_UNAVAILABLE', message: 'x', exitCode: 5 }, counts: { rows: 3, hdata: 2, rdata: 3 } }, clock);
    expect(updated).toMatchObject({ state: 'stopped', outcome: 'error', exitCode: 5, failure: { code: 'PORTAL_UNAVAILABLE' }, counts: { hdata: 2 } });
    const again = restartRun(store, run.id, clock);
    expect(again).toMatchObject({ state: 'running', starts: 2, exitCode: null, failure: null });
    expect(findRunByKey(store, 'k1')?.id).toBe(run.id);
    expect(findRunByKey(store, 'k2')).toBeUndefined();
  });

  it('leaves abandoned runs out of lookups and listings', () => {
    const a = newRun();
    updateRun(store, a.id, { state: 'abandoned' }, clock);
    const b = newRun({ uploadDate: '1151125', runKey: 'k0' });
    expect(findRunByKey(store, 'k1')).toBeUndefined();
    expect(findRunsByInputs(store, 'sandbox:x', 'i1').map((r) => r.id)).toEqual([b.id]);
    expect(listRuns(store).map((r) => r.id)).toEqual([b.id]);
    expect(listRuns(store, { uploadDateFrom: '1151126' })).toEqual([]);
    expect(listRuns(store, { uploadDateFrom: '1151125', uploadDateTo: '1151125' }).map((r) => r.id)).toEqual([b.id]);
  });
});
