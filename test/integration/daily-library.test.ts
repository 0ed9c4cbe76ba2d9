/**
 * `runDaily` as a library call against a sandbox on 127.0.0.1 whose clock the test moves: each
 * step, each way a run can end, and how the same call made again continues instead of starting over.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usageError } from '../../src/errors.js';
import { runDaily, type DailyOptions, type DailyResult } from '../../src/daily/daily.js';
import { explainCheckFile } from '../../src/daily/explain-step.js';
import { getRun } from '../../src/daily/run-store.js';
import { openStore, type Store } from '../../src/store/store.js';
import { listJournal } from '../../src/store/journal.js';
import type { PortalConnection } from '../../src/transport/connect.js';
import type { HttpPortalClient } from '../../src/transport/http-client.js';
import { fixture } from '../helpers/cli.js';
import { DEMO_USER, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

interface World {
  t: TestSandbox;
  home: string;
  cwd: string;
  store: Store;
  client: HttpPortalClient;
  /** Requests to download a file's content, seen by the sandbox. */
  contentRequests: number;
  run(o?: Partial<DailyOptions>): Promise<DailyResult>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function world(o: { retries?: number } = {}): Promise<World> {
  const t = await testSandbox();
  const home = tempDir('labup-daily-home-');
  const cwd = tempDir('labup-daily-cwd-');
  const store = openStore({ file: join(home.path, 'labup.db') });
  const client = t.newClient({ id: 'sandbox:test', retries: o.retries ?? 4 });
  let session: Awaited<ReturnType<HttpPortalClient['signIn']>> | undefined;
  const conn: PortalConnection = {
    client,
    sandbox: undefined,
    institutionCode: '3501200000',
    card: async () => t.card,
    signIn: async () => (session ??= await client.signIn({ card: t.card, userId: DEMO_USER })),
    close: async () => undefined,
  };
  // Waiting moves the sandbox's clock and processes what became due.
  let mono = 0;
  const sleep = async (ms: number) => {
    mono += ms;
    t.clock.advance(ms);
    await t.sb.admin.processDue();
  };
  const w: World = {
    t,
    home: home.path,
    cwd: cwd.path,
    store,
    client,
    contentRequests: 0,
    run: (over = {}) =>
      runDaily({
        inputs: [fixture('daily/lab-results.csv')],
        cwd: cwd.path,
        clock: t.clock,
        home: home.path,
        openStore: () => store,
        connect: async () => conn,
        waitTimeoutMs: 60_000,
        pollIntervalMs: 5000,
        firstPollMs: 1000,
        downloadDir: join(cwd.path, 'downloads'),
        userId: async () => ({ id: DEMO_USER, source: 'test', canAskAgain: false }),
        explain: explainCheckFile,
        sleep,
        monotonicNow: () => mono,
        ...over,
      }),
  };
  t.sb.admin.setFaults((p) => {
    if (p.phase === 'request' && p.path.endsWith('/content')) w.contentRequests++;
    return undefined;
  });
  cleanups.push(async () => {
    store.close();
    await t.stop();
    home.remove();
    cwd.remove();
  });
  return w;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('labup daily as a library call', () => {
  it('does the day: packs, uploads, waits for 檢核正確, downloads the check file and writes the report', async () => {
    const w = await world();
    // when the day's export is run
    const r = await w.run();
    // then it ends 檢核正確 with one submission, its check file and a report
    expect(r).toMatchObject({ ok: true, exitCode: 0, outcome: 'passed', resumed: false, alreadyDone: false, errors: [], counts: { rows: 3, hdata: 2, rdata: 3 } });
    expect(r.receipts).toEqual([
      expect.objectContaining({ receiptNo: '1151125000001', uploadDate: '115/11/25', status: 'passed', statusText: '檢核正確', errorCount: 0, fileName: 'TOTFA.zip' }),
    ]);
    const file = r.receipts[0]!.files[0]!;
    expect(file).toMatchObject({ name: '1300_1151125000001.msg.txt', encrypted: false, skipped: false });
    expect(file.path).toBe(join(w.cwd, 'downloads', '1300_1151125000001.msg.txt'));
    expect(mode(file.path)).toBe(0o600);
    expect(w.t.sb.admin.counts()).toMatchObject({ submissions: 1, passed: 1 });
    // the steps, in order, each recorded once
    expect(r.steps.map((s) => `${s.step}:${s.state}`)).toEqual(['preflight:done', 'pack:done', 'upload:done', 'wait:done', 'download:done', 'decrypt:skipped', 'explain:skipped', 'report:done']);
    expect(r.preflight.map((c) => `${c.id}:${c.status}`)).toEqual([
      'config:ok',
      'inputs:ok',
      'download-dir:ok',
      'journal:ok',
      'card-module:skipped',
      'token:skipped',
      'certificate:ok',
      'portal:ok',
      'clock:ok',
      'card:ok',
    ]);
    // the report is the result, written atomically, 0600, in downloads/reports
    expect(r.report).toBe(join(w.cwd, 'downloads', 'reports', 'labup-daily-1151125-run1.json'));
    expect(mode(r.report!)).toBe(0o600);
    expect(JSON.parse(readFileSync(r.report!, 'utf8'))).toEqual(JSON.parse(JSON.stringify(r)));
    // and the run is journaled as done
    expect(getRun(w.store, r.runId!)).toMatchObject({ state: 'done', outcome: 'passed', exitCode: 0, receiptNo: '1151125000001', starts: 1 });
  });

  it('continues a run stopped while waiting: waits on the same 收件序號, never a second submission', async () => {
    const w = await world();
    // given a run whose wait ended before the portal's 5 s processing
    const first = await w.run({ waitTimeoutMs: 2000 });
    expect(first).toMatchObject({ exitCode: 3, outcome: 'pending', failure: { step: 'wait', code: 'WAIT_TIMEOUT' } });
    expect(first.receipts[0]).toMatchObject({ receiptNo: '1151125000001', status: 'checking' });
    expect(getRun(w.store, first.runId!)).toMatchObject({ state: 'stopped', step: 'upload' });
    // when the same call is made again
    const second = await w.run();
    // then it continues the run: nothing packed or sent again, the same 收件序號, now 檢核正確
    expect(second).toMatchObject({ exitCode: 0, outcome: 'passed', runId: first.runId, resumed: true });
    expect(second.receipts[0]!.receiptNo).toBe('1151125000001');
    expect(second.steps.filter((s) => s.start === 2).map((s) => `${s.step}:${s.state}`)).toEqual([
      'preflight:done',
      'pack:skipped',
      'upload:skipped',
      'wait:done',
      'download:done',
      'decrypt:skipped',
      'explain:skipped',
      'report:done',
    ]);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('after midnight, the run still 檢核中 from yesterday is continued, not uploaded again for today', async () => {
    const w = await world();
    const first = await w.run({ waitTimeoutMs: 2000 });
    expect(first.outcome).toBe('pending');
    // the next day, the same export
    w.t.clock.advance(86_400_000);
    const next = await w.run();
    expect(next).toMatchObject({ exitCode: 0, outcome: 'passed', runId: first.runId, resumed: true, uploadDate: '115/11/25' });
    expect(next.notices[0]).toBe('these inputs were already sent for 上傳日期 115/11/25 (收件序號 1151125000001); continuing that run instead of sending them again');
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('after an answer lost with the portal gone, the rerun asks what the portal received and adopts it: one submission', async () => {
    const w = await world({ retries: 2 });
    // given a portal that takes the upload, drops the connection before answering, and then stops answering
    let gone = false;
    w.t.sb.admin.setFaults((p) => {
      if (p.phase === 'upload-committed') {
        gone = true;
        return { kind: 'reset' };
      }
      return gone ? { kind: 'reset' } : undefined;
    });
    const lost = await w.run();
    expect(lost).toMatchObject({ exitCode: 5, outcome: 'error', failure: { step: 'upload', code: 'UPLOAD_OUTCOME_UNKNOWN' }, receipts: [] });
    expect(listJournal(w.store).map((e) => e.state)).toEqual(['sending']);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    // when the network is back and the run is made again
    w.t.sb.admin.setFaults(undefined);
    const again = await w.run();
    // then the rerun found the submission by the ZIP's content hash and adopted it instead of sending again
    expect(again).toMatchObject({ exitCode: 0, outcome: 'passed', resumed: true });
    expect(again.notices.join('\n')).toContain('nothing sent twice');
    expect(listJournal(w.store)).toMatchObject([{ state: 'sent', confirmedBy: 'adopted', attempts: 1 }]);
    expect(again.steps.find((s) => s.start === 2 && s.step === 'pack')).toMatchObject({ state: 'skipped' });
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('refuses what NHI would reject before sending, naming the input row; with --force NHI says the same', async () => {
    const w = await world();
    // given an export with a mistyped national ID in row 2
    const r = await w.run({ inputs: [fixture('daily/bad-id.csv')] });
    // then nothing is sent, exit 1, and the error names the CSV line and column
    expect(r).toMatchObject({ exitCode: 1, outcome: 'refused', receipts: [], failure: { step: 'pack', code: 'DAILY_REFUSED' } });
    expect(r.errors).toEqual([
      expect.objectContaining({ origin: 'local', group: '02', nhiCode: '02', finding: 'PERSON_ID_CHECKSUM', field: 'h9', hdata: 1, source: expect.objectContaining({ file: fixture('daily/bad-id.csv'), line: 2, columnName: 'h9' }) }),
    ]);
    expect(r.errors[0]!.value).toBe('Q21****008');
    expect(r.errorGroups).toEqual([expect.objectContaining({ code: '02', title: '資料類別錯誤', count: 1 })]);
    expect(w.t.sb.admin.counts().submissions).toBe(0);
    // when it is forced, NHI rejects it, and the check file's error is traced to the same row
    const forced = await w.run({ inputs: [fixture('daily/bad-id.csv')], force: true });
    expect(forced).toMatchObject({ exitCode: 1, outcome: 'failed', runId: r.runId });
    expect(forced.receipts[0]).toMatchObject({ status: 'failed', statusText: '檢核錯誤' });
    expect(forced.errors).toEqual([expect.objectContaining({ origin: 'portal', group: '02', field: 'h9', source: expect.objectContaining({ line: 2, columnName: 'h9' }), patient: 'Q21****008' })]);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('explains an error only the portal finds (h2 not the signed-in institution) with its input row', async () => {
    const w = await world();
    const r = await w.run({ inputs: [fixture('daily/other-institution.csv')] });
    expect(r).toMatchObject({ exitCode: 1, outcome: 'failed', errorCount: 1 });
    expect(r.errors[0]).toMatchObject({ origin: 'portal', group: '28', finding: 'INSTITUTION_MISMATCH', field: 'h2', value: '3501299999', orderCode: '09005C', source: { line: 2, column: 2, columnName: 'h2' } });
    expect(r.errorGroups).toEqual([expect.objectContaining({ code: '28', title: '醫事機構代碼錯誤', count: 1 })]);
  });

  it('a check file that cannot be explained leaves the outcome as it is (檢核錯誤, exit 1), with a notice', async () => {
    const w = await world();
    const r = await w.run({
      inputs: [fixture('daily/other-institution.csv')],
      explain: async () => {
        throw usageError('EXPLAIN_NOT_CHECK_FILE', 'not a check file');
      },
    });
    expect(r).toMatchObject({ exitCode: 1, outcome: 'failed', errors: [], errorCount: 1 });
    expect(r.notices).toContain('the check file could not be explained: [EXPLAIN_NOT_CHECK_FILE] not a check file');
    expect(r.steps.find((s) => s.step === 'explain')).toMatchObject({ state: 'failed' });
  });

  it('nothing to do: an export without data rows sends nothing (exit 6)', async () => {
    const w = await world();
    const r = await w.run({ inputs: [fixture('daily/header-only.csv')] });
    expect(r).toMatchObject({ exitCode: 6, outcome: 'empty', receipts: [] });
    expect(w.t.sb.admin.counts().submissions).toBe(0);
  });

  it('a finished run is not run again; the same inputs on a later day are already uploaded (exit 6) unless --new-run', async () => {
    const w = await world();
    const first = await w.run();
    const requests = w.t.sb.admin.counts().requests;
    // the same call the same day: the result of the finished run, nothing sent or fetched
    const again = await w.run();
    expect(again).toMatchObject({ exitCode: 0, outcome: 'passed', alreadyDone: true, runId: first.runId, report: first.report });
    expect(w.t.sb.admin.counts().requests - requests).toBe(1); // the preflight's look at the portal (this connection is signed in)
    // the next day, the same export: already uploaded
    w.t.clock.advance(86_400_000);
    const nextDay = await w.run();
    expect(nextDay).toMatchObject({ exitCode: 6, outcome: 'already-uploaded', receipts: [expect.objectContaining({ receiptNo: '1151125000001' })] });
    // on purpose, as a correction with a later h16: a second submission, accepted
    const correction = await w.run({ newRun: true });
    expect(correction).toMatchObject({ exitCode: 0, outcome: 'passed', uploadDate: '115/11/26' });
    expect(correction.runId).not.toBe(first.runId);
    expect(w.t.sb.admin.counts()).toMatchObject({ submissions: 2, passed: 2 });
  });

  it('the deadline ends the wait with exit 3 and the state journaled', async () => {
    const w = await world();
    const r = await w.run({ deadlineMs: 3000 });
    expect(r).toMatchObject({ exitCode: 3, outcome: 'pending', failure: { step: 'wait', code: 'DEADLINE_PASSED' } });
    expect(getRun(w.store, r.runId!)).toMatchObject({ state: 'stopped', outcome: 'pending', receiptNo: '1151125000001' });
    expect(r.report).not.toBeNull();
  });

  it('decrypts an encrypted download with the user’s ID; a wrong ID stops the run, and the rerun does not fetch the file again', async () => {
    const w = await world();
    // given a wrong ID for the first try (an AES download)
    const wrong = await w.run({ encrypted: true, encryption: 'aes256', userId: async () => ({ id: 'B123456780', source: 'test', canAskAgain: false }) });
    expect(wrong).toMatchObject({ exitCode: 4, outcome: 'error', failure: { step: 'decrypt', code: 'DECRYPT_WRONG_PASSWORD' } });
    expect(w.contentRequests).toBe(1);
    // when it runs again with the right one
    const right = await w.run({ encrypted: true, encryption: 'aes256' });
    // then the ZIP already here is opened, not downloaded again
    expect(right).toMatchObject({ exitCode: 0, outcome: 'passed', resumed: true });
    expect(w.contentRequests).toBe(1);
    const f = right.receipts[0]!.files[0]!;
    expect(f).toMatchObject({ name: '1300_1151125000001.msg.txt', encrypted: true, skipped: true });
    expect(f.path).toBe(join(w.cwd, 'downloads', '1300_1151125000001.zip'));
    expect(f.decrypted).toBe(join(w.cwd, 'downloads', '1300_1151125000001.msg.txt'));
    expect(readFileSync(f.decrypted!).includes(Buffer.from('1151125000001'))).toBe(true);
  });

  it('a dry run reads and signs in, then sends and writes nothing', async () => {
    const w = await world();
    const r = await w.run({ dryRun: true });
    expect(r).toMatchObject({ exitCode: 0, outcome: 'dry-run', dryRun: true, report: null, counts: { hdata: 2, rdata: 3 } });
    expect(r.notices.join('\n')).toContain('would upload 2 hdata, 3 rdata');
    expect(w.t.sb.admin.counts().submissions).toBe(0);
    expect(existsSync(join(w.cwd, 'downloads'))).toBe(false);
    expect(existsSync(join(w.home, 'daily.lock'))).toBe(false);
    expect(w.store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 0 });
  });

  it('stops before uploading when a preflight check fails, with that check’s exit code', async () => {
    const w = await world();
    const unreachable: PortalConnection = {
      client: w.t.newClient({ baseUrl: 'http://127.0.0.1:9', retries: 1, id: 'sandbox:test' }),
      sandbox: undefined,
      institutionCode: null,
      signIn: async () => {
        throw new Error('not reached');
      },
      close: async () => undefined,
    };
    const r = await w.run({ connect: async () => unreachable });
    expect(r).toMatchObject({ exitCode: 5, outcome: 'error', runId: null, failure: { step: 'preflight', code: 'PORTAL_UNAVAILABLE' } });
    expect(r.preflight.map((c) => `${c.id}:${c.status}`)).toEqual([
      'config:ok',
      'inputs:ok',
      'download-dir:ok',
      'journal:ok',
      'card-module:skipped',
      'token:skipped',
      'certificate:skipped',
      'portal:fail',
      'clock:skipped',
      'card:skipped',
    ]);
    expect(r.report).toBe(join(w.cwd, 'downloads', 'reports', 'labup-daily-1151125-preflight.json'));
    // a missing input is a usage error of the preflight
    const missing = await w.run({ inputs: [join(w.cwd, 'nope.csv')] });
    expect(missing).toMatchObject({ exitCode: 2, failure: { step: 'preflight', code: 'FILE_NOT_FOUND' } });
    expect(w.t.sb.admin.counts().submissions).toBe(0);
  });

  it('the run is known by its inputs’ content, not their names', async () => {
    const w = await world();
    const first = await w.run();
    const copy = join(w.cwd, 'renamed.csv');
    writeFileSync(copy, readFileSync(fixture('daily/lab-results.csv')));
    const again = await w.run({ inputs: [copy] });
    expect(again).toMatchObject({ alreadyDone: true, runId: first.runId });
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('keeps a finished run’s packed ZIP for two weeks (the portal’s retention), then removes it', async () => {
    const w = await world();
    const first = await w.run();
    const zip = first.zip!.path;
    expect(zip).toBe(join(w.home, 'runs', String(first.runId), 'TOTFA.zip'));
    expect(mode(zip)).toBe(0o600);
    // 13 days later another run leaves it
    w.t.clock.advance(13 * 86_400_000);
    await w.run({ inputs: [fixture('daily/header-only.csv')] });
    expect(existsSync(zip)).toBe(true);
    // 15 days later it is gone
    w.t.clock.advance(2 * 86_400_000);
    await w.run({ inputs: [fixture('daily/header-only.csv')] });
    expect(existsSync(zip)).toBe(false);
  });
});
