/**
 * `--dry-run` on upload, download and daily: everything up to the first side effect on the portal
 * or on disk, then a report of what would have been sent or written — checked against the sandbox's
 * own records and the folders, with the real binary.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { taipeiIso } from '../../src/clock.js';
import { FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { cliPlaces } from './sandbox-support.js';

const places = cliPlaces('labup-dryrun-', '300ms');
afterAll(() => places.remove());

function place() {
  const { home, cwd, env } = places.next();
  const run = (args: string[], extra: Record<string, string> = {}) => labup(args, { cwd, env: { ...env, ...extra } });
  /** What the sandbox holds, read from its own database. */
  const submissions = () => {
    const file = join(home, 'sandbox', 'sandbox.db');
    if (!existsSync(file)) return [];
    const db = openDatabase(file, { readonly: true });
    try {
      return db.prepare('SELECT receipt_no, status FROM submissions ORDER BY id').all() as Array<{ receipt_no: string; status: string }>;
    } finally {
      db.close();
    }
  };
  const journal = () => {
    const file = join(home, 'labup.db');
    if (!existsSync(file)) return [];
    const db = openDatabase(file, { readonly: true });
    try {
      return db.prepare('SELECT state, receipt_no FROM submissions').all();
    } finally {
      db.close();
    }
  };
  return { home, cwd, run, submissions, journal };
}

describe('--dry-run (the real binary, against the built-in sandbox)', () => {
  it('upload --dry-run validates, signs in and asks the portal, then reports what would be sent: nothing sent, nothing journaled', async () => {
    const p = place();
    const dry = await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, action: 'send', fileName: 'TOTFA.zip', uploadDate: '115/11/25', institutionCode: '3501200000', existing: null, idempotencyKey: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(dry.stderr.trimEnd().split('\n').at(-1)).toMatch(/^labup upload --dry-run: would send TOTFA\.zip .* for 上傳日期 115\/11\/25 as 3501200000; nothing was sent$/);
    expect(p.submissions()).toEqual([]);
    expect(p.journal()).toEqual([]);
    // after the real upload, a dry run sees it in the journal: nothing would be sent
    const real = await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--json']);
    const receiptNo = JSON.parse(real.stdout).receiptNo;
    const confirm = await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--dry-run', '--json']);
    expect(JSON.parse(confirm.stdout)).toMatchObject({ action: 'confirm', existing: { receiptNo } });
    // with the journal lost, the portal still holds it: a real run would adopt it
    rmSync(join(p.home, 'labup.db'));
    const adopt = await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--dry-run']);
    expect(adopt.code).toBe(0);
    expect(adopt.stdout).toContain(`would send nothing: the portal already holds TOTFA.zip for 上傳日期 115/11/25 as 收件序號 ${receiptNo}`);
    expect(p.submissions()).toHaveLength(1);
    // an invalid ZIP is refused as the real run would refuse it (exit 1)
    const bad = await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--dry-run', '--upload-date', '115/11/24']);
    expect(bad.code).toBe(1);
  });

  it('download --dry-run lists what would be written; nothing fetched or written; exit 6 when all is here', async () => {
    const p = place();
    await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox']);
    expect((await p.run(['status', '--wait', '--sandbox'])).code).toBe(0);
    const dry = await p.run(['download', '--sandbox', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const doc = JSON.parse(dry.stdout);
    expect(doc).toMatchObject({ dryRun: true, outDir: join(p.cwd, 'downloads'), alreadyHere: [] });
    expect(doc.wouldWrite).toEqual([expect.objectContaining({ name: '1300_1151125000001.msg.txt', path: join(p.cwd, 'downloads', '1300_1151125000001.msg.txt'), receiptNo: '1151125000001' })]);
    expect(readdirSync(p.cwd)).toEqual([]);
    expect(dry.stderr).toContain('1 file(s) would be written');
    // once downloaded, a dry run has nothing to do
    expect((await p.run(['download', '--sandbox'])).code).toBe(0);
    const again = await p.run(['download', '--sandbox', '--dry-run']);
    expect(again.code).toBe(6);
    expect(again.stdout).toContain('(already here)');
  });

  it('download --request-resend --dry-run says what the portal would be asked, and files nothing', async () => {
    const p = place();
    await p.run(['upload', fixture('valid/TOTFA.zip'), '--sandbox']);
    await p.run(['status', '--wait', '--sandbox']);
    // while the check file is still offered, the request would be refused (as the portal would)
    const early = await p.run(['download', '--request-resend', '1151125000001', '--sandbox', '--dry-run']);
    expect(early.code).toBe(2);
    expect(early.stdout).toContain('FILE_STILL_AVAILABLE');
    // fifteen days later the file is no longer offered: it would be requested
    const later = { LABUP_NOW: taipeiIso(new Date(new Date(FIXTURE_NOW).getTime() + 15 * 86_400_000)) };
    const dry = await p.run(['download', '--request-resend', '1151125000001', '--sandbox', '--dry-run', '--json'], later);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ dryRun: true, requests: [expect.objectContaining({ receiptNo: '1151125000001', action: 'request' })] });
    const db = openDatabase(join(p.home, 'sandbox', 'sandbox.db'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM resend_requests').get() as { n: number }).n).toBe(0);
    db.close();
  });

  it('daily --dry-run packs in memory and reports what would be sent: no submission, no ZIP, no report, no lock, no download folder', async () => {
    const p = place();
    const r = await p.run(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ outcome: 'dry-run', dryRun: true, runId: null, report: null, counts: { hdata: 2, rdata: 3 } });
    expect(doc.notices.join('\n')).toContain('would upload 2 hdata, 3 rdata');
    expect(doc.preflight.map((c: { id: string; status: string }) => `${c.id}:${c.status}`)).toContain('clock:ok');
    expect(p.submissions()).toEqual([]);
    expect(existsSync(join(p.home, 'runs'))).toBe(false);
    expect(existsSync(join(p.home, 'daily.lock'))).toBe(false);
    expect(readdirSync(p.cwd)).toEqual([]);
  });
});
