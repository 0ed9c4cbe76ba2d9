import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { cardFrom, record, send, tempDir, testSandbox, uploadZip, type TestSandbox } from './sandbox-support.js';
import { fixture, labup } from '../helpers/cli.js';

const DAY = 86_400_000;

/** 申請重送 over HTTP: the client against the sandbox, time moved by the sandbox's clock. */
describe('申請重送 over HTTP', () => {
  let t: TestSandbox;
  const files = tempDir('labup-zips-');
  let old: string;
  let fresh: string;
  let foreign: string;
  beforeAll(async () => {
    t = await testSandbox();
    // an upload of another institution, made with its own card
    t.sb.admin.addInstitution('1101010012', '另一醫院');
    t.sb.admin.addUser('1101010012', 'B123456780');
    const other = t.newClient();
    await other.signIn({ card: cardFrom(t.sb.admin.issueCard({ institutionCode: '1101010012' })), userId: 'B123456780' });
    foreign = (await send(other, await uploadZip(files.path, 'OTHER.zip', [record(9, { institution: '1101010012' })]))).receiptNo;
    old = (await send(t.client, await uploadZip(files.path, 'OLD.zip', [record(1)]))).receiptNo;
    await t.processAll();
  });
  afterAll(async () => {
    await t.stop();
    files.remove();
  });

  it('refuses a file still offered, and one still 檢核中, saying what to do instead', async () => {
    await expect(t.client.requestResend(old)).rejects.toMatchObject({ code: 'FILE_STILL_AVAILABLE', exitCode: 2, hint: `Download it: labup download --receipt ${old}.`, details: expect.objectContaining({ status: 409 }) });
    fresh = (await send(t.client, await uploadZip(files.path, 'NEW.zip', [record(2)]))).receiptNo;
    await expect(t.client.requestResend(fresh)).rejects.toMatchObject({ code: 'CHECK_FILE_NOT_READY', exitCode: 2, hint: expect.stringContaining('--wait') });
  });

  it('refuses an unknown receipt (exit 2) and another institution’s (exit 4)', async () => {
    await expect(t.client.requestResend('1151125999999')).rejects.toMatchObject({ code: 'RECEIPT_NOT_FOUND', exitCode: 2, details: expect.objectContaining({ status: 404 }) });
    await expect(t.client.requestResend(foreign)).rejects.toMatchObject({ code: 'RECEIPT_OTHER_INSTITUTION', exitCode: 4, details: expect.objectContaining({ status: 403 }) });
  });

  it('files a request for a file past its two weeks, offers it again after the delay, and the file downloads', async () => {
    // given the check file is 15 days old: no longer listed nor downloadable
    const firstId = (await t.client.getSubmission(old)).files[0]!.id;
    t.clock.advance(15 * DAY);
    expect((await t.client.listFiles({ receiptNo: old, withinDays: 14 })).total).toBe(0);
    await expect(t.client.download(firstId)).rejects.toMatchObject({ code: 'FILE_EXPIRED' });
    // when the user asks for it again
    const r = await t.client.requestResend(old);
    expect(r).toMatchObject({ receiptNo: old, uploadDate: '115/11/25', fileName: `1300_${old}.msg.txt`, status: 'pending', statusText: '申請重送中', alreadyRequested: false, fileId: null });
    expect(Date.parse(r.dueAt!) - Date.parse(r.requestedAt)).toBe(5000);
    // asking twice answers with the same request
    expect(await t.client.requestResend(old)).toMatchObject({ id: r.id, alreadyRequested: true });
    expect((await t.client.listResendRequests({ status: 'pending' })).items.map((x) => x.id)).toEqual([r.id]);
    // before the delay nothing is offered
    t.clock.advance(4000);
    await t.sb.admin.processDue();
    expect((await t.client.listFiles({ receiptNo: old })).total).toBe(0);
    // after it, the file is offered again, provided now, for two more weeks
    t.clock.advance(1000);
    await t.sb.admin.processDue();
    const [done] = (await t.client.listResendRequests({ receiptNos: [old] })).items;
    expect(done).toMatchObject({ id: r.id, status: 'done', statusText: '已重送', fileId: expect.any(String) });
    const listed = await t.client.listFiles({ receiptNo: old });
    expect(listed.items).toEqual([expect.objectContaining({ id: done!.fileId, name: `1300_${old}.msg.txt`, providedAt: '2026-12-10T21:00:11+08:00', providedAtText: '115/12/10 21:00' })]);
    expect((await t.client.getSubmission(old)).files.map((f) => f.id)).toEqual([done!.fileId]);
    const got = await t.client.download(done!.fileId!);
    expect(got.fileName).toBe(`1300_${old}.zip`);
    expect((await t.client.listResendRequests({ status: 'pending' })).total).toBe(0);
  });

  it('completes a request after a restart: the state and the clock carry it', async () => {
    const tt = await testSandbox();
    try {
      const r = await send(tt.client, await uploadZip(files.path, 'RESTART.zip', [record(3)]));
      await tt.processAll();
      tt.clock.advance(20 * DAY);
      const req = await tt.client.requestResend(r.receiptNo);
      await tt.sb.stop();
      tt.clock.advance(10_000);
      const again = await startSandbox({ dataDir: tt.dir, port: 0, clock: tt.clock, processingDelayMs: 5000 });
      try {
        await again.admin.processDue();
        const row = again.admin.db.prepare('SELECT state, file_id FROM resend_requests WHERE id = ?').get(req.id) as { state: string; file_id: string };
        expect(row.state).toBe('done');
        expect(again.admin.db.prepare("SELECT origin, state FROM files WHERE id = ?").get(row.file_id)).toEqual({ origin: 'resend', state: 'available' });
      } finally {
        await again.stop();
      }
    } finally {
      await tt.stop().catch(() => undefined);
    }
  });
});

/** The real binary, as a new user with --sandbox: upload, let two weeks pass, ask again, download. */
describe('labup download --request-resend (the real binary, --sandbox)', () => {
  const home = tempDir('labup-home-');
  const work = tempDir('labup-work-');
  const at = (iso: string) => ({ env: { LABUP_HOME: home.path, LABUP_SANDBOX_DELAY: '1s', LABUP_NOW: iso }, cwd: work.path });
  const receipt = '1151125000001';
  const path = () => join(work.path, 'downloads', `1300_${receipt}.msg.txt`);
  afterAll(() => {
    home.remove();
    work.remove();
  });

  it('asks for an old check file again, shows it 申請重送中, then downloads it', async () => {
    // given an upload checked on 115/11/25
    expect((await labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox'], at('2026-11-25T21:00:00+08:00'))).code).toBe(0);
    expect((await labup(['status', '--wait', '--sandbox'], at('2026-11-25T21:00:00+08:00'))).code).toBe(0);
    // sixteen days later it is no longer offered
    const gone = await labup(['download', '--sandbox', '--within', '14d'], at('2026-12-11T09:00:00+08:00'));
    expect(gone.code).toBe(6);
    // when the user files 申請重送
    const req = await labup(['download', '--request-resend', receipt, '--sandbox'], at('2026-12-11T09:00:00+08:00'));
    expect({ code: req.code, stderr: req.stderr }).toMatchObject({ code: 0 });
    expect(req.stdout).toMatch(new RegExp(`^收件序號\\s+檔案名稱\\s+申請重送\\s+申請時間\\s+預計可下載\\n${receipt}\\s+1300_${receipt}\\.msg\\.txt\\s+申請重送中\\s+115/12/11 09:00\\s+115/12/11 09:00:0\\d$`));
    expect(req.stderr).toContain('labup download --sandbox');
    // then the listing shows it pending, in the same second
    const listing = await labup(['download', '--list', '--sandbox', '--json'], at('2026-12-11T09:00:00+08:00'));
    expect(listing.code).toBe(6);
    expect(JSON.parse(listing.stdout).pendingResends).toEqual([expect.objectContaining({ receiptNo: receipt, status: 'pending', statusText: '申請重送中' })]);
    const human = await labup(['download', '--list', '--sandbox'], at('2026-12-11T09:00:00+08:00'));
    expect(human.stdout).toMatch(new RegExp(`115/11/25\\s+1300_${receipt}\\.msg\\.txt\\s+申請重送中 \\(申請 115/12/11 09:00，預計 115/12/11 09:00\\)`));
    expect(human.stderr).toContain('1 申請重送中');
    // and a minute later labup download fetches it, mode 0600
    const dl = await labup(['download', '--sandbox'], at('2026-12-11T09:01:00+08:00'));
    expect({ code: dl.code, stderr: dl.stderr }).toMatchObject({ code: 0 });
    expect(dl.stdout).toMatch(new RegExp(`^上傳日期\\s+檔案名稱\\s+備註\\s+提供下載日期\\s+下載\\n115/11/25\\s+1300_${receipt}\\.msg\\.txt\\s+檢驗\\(查\\)結果每日上傳 資料檢核正確\\s+115/12/11 09:01\\s+↓ `));
    expect(statSync(path()).mode & 0o777).toBe(0o600);
    expect(decodeCp950(readFileSync(path())).text).toContain(`收件序號: ${receipt}`);
  });

  it('--wait files the request, waits for it and downloads the file in one go', async () => {
    const r = await labup(['download', '--request-resend', receipt, '--wait', '--out', 'again', '--sandbox', '--json'], at('2027-01-20T09:00:00+08:00'));
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ requests: [expect.objectContaining({ receiptNo: receipt, status: 'done' })], failures: [], timedOut: false, files: [expect.objectContaining({ name: `1300_${receipt}.msg.txt`, skipped: false })] });
    expect(readFileSync(join(work.path, 'again', `1300_${receipt}.msg.txt`))).toEqual(readFileSync(path()));
  });

  it('refuses an unknown receipt, a file still offered and a malformed number with coded errors', async () => {
    const r = await labup(['download', '--request-resend', '1151125999999', receipt, '--sandbox'], at('2027-01-20T10:00:00+08:00'));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('✗ 1151125999999  [RECEIPT_NOT_FOUND]');
    expect(r.stdout).toContain(`✗ ${receipt}  [FILE_STILL_AVAILABLE]`);
    expect(r.stdout).toContain(`→ Download it: labup download --receipt ${receipt}.`);
    const bad = await labup(['download', '--request-resend', '12345', '--sandbox'], at('2027-01-20T10:00:00+08:00'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[BAD_RECEIPT]');
    const mixed = await labup(['download', '--request-resend', receipt, '--list', '--sandbox'], at('2027-01-20T10:00:00+08:00'));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('[CONFLICTING_FLAGS]');
  });
});
