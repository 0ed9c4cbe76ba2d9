import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { fixture, labup } from '../helpers/cli.js';
import { record, tempDir, uploadZip } from './sandbox-support.js';

/** A first-time user: an empty LABUP_HOME, the fixtures' clock, a short processing delay. */
describe('labup upload / status / download --sandbox (the real binary)', () => {
  const home = tempDir('labup-home-');
  const work = tempDir('labup-work-');
  const run = (args: string[]) => labup(args, { env: { LABUP_HOME: home.path, LABUP_SANDBOX_DELAY: '1s' }, cwd: work.path });
  afterAll(() => {
    home.remove();
    work.remove();
  });

  const receiptNo = '1151125000001';

  it('uploads a valid ZIP with no set-up and prints its 收件序號', async () => {
    const r = await run(['upload', fixture('valid/TOTFA.zip'), '--sandbox']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^傳送時間\s+收件序號\s+上傳日期\s+處理狀態\n2026-11-25 21:00:0\d\s+1151125000001\s+115\/11\/25\s+檢核中$/);
    expect(r.stderr).toContain('sandbox created in');
    expect(r.stderr).toContain('Next: labup status 1151125000001 --wait --sandbox');
    // the journal holds it, in LABUP_HOME
    const db = openDatabase(join(home.path, 'labup.db'), { readonly: true });
    expect(db.prepare('SELECT state, receipt_no, upload_date, status FROM submissions').all()).toEqual([{ state: 'sent', receipt_no: receiptNo, upload_date: '1151125', status: 'checking' }]);
    db.close();
  });

  it('sending the same ZIP again gives the same 收件序號 (JSON)', async () => {
    const r = await run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ receiptNo, uploadDate: '115/11/25', sentAt: expect.stringMatching(/^2026-11-25T21:00:0\d\+08:00$/), status: 'checking', replayed: true });
    expect(Object.keys(doc).slice(0, 4)).toEqual(['receiptNo', 'uploadDate', 'sentAt', 'status']);
  });

  it('waits until the portal has checked it (status --wait, in another process)', async () => {
    const r = await run(['status', '--wait', '--sandbox', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.receipts).toEqual([expect.objectContaining({ receiptNo, uploadDate: '115/11/25', status: 'passed', statusText: '檢核正確' })]);
    expect(Object.keys(doc.receipts[0]).slice(0, 4)).toEqual(['receiptNo', 'uploadDate', 'status', 'statusText']);
    const table = await run(['status', receiptNo, '--sandbox']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/1151125000001\s+115\/11\/25\s+2026-11-25 21:00:0\d\s+檢核正確\s+0\s+1300_1151125000001\.msg\.txt/);
  });

  it('downloads the check file (mode 0600), and skips it the second time', async () => {
    const r = await run(['download', '--sandbox', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const path = join(work.path, 'downloads', '1300_1151125000001.msg.txt');
    expect(doc.files).toEqual([expect.objectContaining({ name: '1300_1151125000001.msg.txt', path, receiptNo, encrypted: false, skipped: false })]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(decodeCp950(readFileSync(path)).text).toContain('處理狀態: 檢核正確');
    const again = await run(['download', '--sandbox', '--json']);
    expect(again.code).toBe(6);
    expect(JSON.parse(again.stdout).files[0]).toMatchObject({ skipped: true });
    // encrypted: the portal's ZIP is kept as delivered
    const enc = await run(['download', '--sandbox', '--encrypted', '--out', 'enc', '--receipt', receiptNo]);
    expect(enc.code).toBe(0);
    expect(readdirSync(join(work.path, 'enc'))).toEqual(['1300_1151125000001.zip']);
    expect(enc.stderr).toContain('password is the national ID');
  });

  it('refuses an invalid file without sending it (exit 1), sends it with --force and reports 檢核錯誤 (exit 1)', async () => {
    const bad = await uploadZip(work.path, 'BAD.zip', [{ ...record(3), header: { ...record(3).header, h9: 'A123456788' } }]);
    const refused = await run(['upload', bad, '--sandbox']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('PERSON_ID_CHECKSUM');
    expect(refused.stdout).not.toContain('A123456788');
    expect(refused.stderr).toContain('not sent');
    const forced = await run(['upload', bad, '--sandbox', '--force', '--json']);
    expect(forced.code).toBe(0);
    const second = JSON.parse(forced.stdout).receiptNo;
    expect(second).toBe('1151125000002');
    const waited = await run(['status', second, '--wait', '--sandbox']);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('1 檢核錯誤');
    const dl = await run(['download', '--sandbox', '--receipt', second]);
    expect(dl.code).toBe(0);
    const text = decodeCp950(readFileSync(join(work.path, 'downloads', `1300_${second}.msg.txt`))).text;
    expect(text).toContain('1\t1\t\th9\t02\t身分證號或居留證號檢查碼錯誤\tA123456788\r\n');
  });

  it('says what to do when no portal is configured, and refuses an XML (not a ZIP)', async () => {
    const none = await run(['status']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('PORTAL_NOT_CONFIGURED');
    expect(none.stderr).toContain('--sandbox');
    const xml = await run(['upload', fixture('valid/lab.xml'), '--sandbox']);
    expect(xml.code).toBe(2);
    expect(xml.stderr).toContain('labup pack');
    expect(existsSync(join(home.path, 'labup.db'))).toBe(true);
  });
});

describe('labup status: pending and timeouts', () => {
  const home = tempDir('labup-home-');
  let env: Record<string, string>;
  afterAll(() => home.remove());
  beforeAll(async () => {
    env = { LABUP_HOME: home.path, LABUP_SANDBOX_DELAY: '10m' };
    const r = await labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox'], { env });
    expect(r.code).toBe(0);
  });

  it('exits 3 while 檢核中, and 3 when --wait times out', async () => {
    const now = await labup(['status', '--sandbox'], { env });
    expect(now.code).toBe(3);
    expect(now.stdout).toContain('檢核中');
    const t0 = Date.now();
    const waited = await labup(['status', '--sandbox', '--wait', '--timeout', '2s', '--poll-interval', '1s', '--json'], { env });
    expect(waited.code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(JSON.parse(waited.stdout)).toMatchObject({ timedOut: true, receipts: [expect.objectContaining({ status: 'checking', statusText: '檢核中' })] });
  });

  it('exits 6 when no uploads match, 2 for a malformed 收件序號', async () => {
    expect((await labup(['status', '--sandbox', '--from', '115/10/01', '--to', '115/10/02'], { env })).code).toBe(6);
    const bad = await labup(['status', '12345', '--sandbox'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('BAD_RECEIPT');
  });
});

describe('labup upload --sandbox from several processes at once, on first use', () => {
  const home = tempDir('labup-home-');
  afterAll(() => home.remove());

  it('initialises the sandbox once and gives every process the same 收件序號 for the same ZIP', async () => {
    const env = { LABUP_HOME: home.path, LABUP_SANDBOX_DELAY: '1s' };
    const runs = await Promise.all([1, 2, 3].map(() => labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--json'], { env })));
    for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const docs = runs.map((r) => JSON.parse(r.stdout));
    expect(new Set(docs.map((d) => d.receiptNo))).toEqual(new Set(['1151125000001']));
    expect(docs.filter((d) => !d.replayed)).toHaveLength(1);
    expect(runs.filter((r) => r.stderr.includes('sandbox created in'))).toHaveLength(1);
    const sandboxDb = openDatabase(join(home.path, 'sandbox', 'sandbox.db'), { readonly: true });
    expect(sandboxDb.prepare('SELECT COUNT(*) AS n FROM submissions').get()).toEqual({ n: 1 });
    sandboxDb.close();
    const journal = openDatabase(join(home.path, 'labup.db'), { readonly: true });
    expect(journal.prepare('SELECT state, receipt_no FROM submissions').all()).toEqual([{ state: 'sent', receipt_no: '1151125000001' }]);
    journal.close();
  });
});
