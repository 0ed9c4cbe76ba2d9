/**
 * `labup daily` as the nightly job runs it: the real binary, a temporary LABUP_HOME holding the
 * sandbox portal, LABUP_NOW for the fixtures' day.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { cliPlaces, type CliPlace } from './sandbox-support.js';

const places = cliPlaces('labup-daily-cli-');
afterAll(() => places.remove());

/** A fresh LABUP_HOME and working folder, as a new user (or a new server) has them. */
const place = (): CliPlace => places.next();

function sandboxSubmissions(home: string): Array<{ receipt_no: string; status: string }> {
  const db = openDatabase(join(home, 'sandbox', 'sandbox.db'), { readonly: true });
  try {
    return db.prepare('SELECT receipt_no, status FROM submissions ORDER BY id').all() as Array<{ receipt_no: string; status: string }>;
  } finally {
    db.close();
  }
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1) ?? '';

/** Waits until `test` holds (polling), or fails after `ms`. */
async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const logged = (file: string, step: string) => existsSync(file) && readFileSync(file, 'utf8').includes(`"code":"DAILY_STEP"`) && readFileSync(file, 'utf8').includes(`"step":"${step}"`);

describe('labup daily (the real binary)', () => {
  it('the README’s main job, on a fresh home and on today’s date, prints the summary ending in 檢核正確', async () => {
    // given the fixture where the README runs it from, a new LABUP_HOME, the real clock and the default sandbox delay
    const { home, cwd, env } = place();
    mkdirSync(join(cwd, 'fixtures/daily'), { recursive: true });
    copyFileSync(fixture('daily/lab-results.csv'), join(cwd, 'fixtures/daily/lab-results.csv'));
    // when the README's command runs
    const r = await labup(['daily', 'fixtures/daily/lab-results.csv', '--sandbox'], { cwd, env: { LABUP_HOME: home, XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!, LABUP_NOW: '' } });
    // then: exit 0, the summary on stdout, the last line 檢核正確
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^labup daily {2}上傳日期 \d{3}\/\d{2}\/\d{2} {2}run 1$/m);
    expect(r.stdout).toContain('inputs    fixtures/daily/lab-results.csv — 3 rows → 2 hdata, 3 rdata');
    expect(r.stdout).toMatch(/uploaded {2}TOTFA\.zip → 收件序號 \d{13}/);
    expect(r.stdout).toMatch(/status {4}檢核正確/);
    expect(r.stdout).toMatch(/file {6}downloads\/1300_\d{13}\.msg\.txt/);
    expect(lastLine(r.stderr)).toMatch(/^labup daily: 上傳日期 .*, 2 hdata, 3 rdata, 收件序號 \d{13}, downloads\/1300_\d{13}\.msg\.txt — 檢核正確$/);
    expect(sandboxSubmissions(home)).toEqual([expect.objectContaining({ status: 'passed' })]);
  });

  it('an h2 that is not the signed-in institution ends in 檢核錯誤, exit 1, with the error explained at its input row', async () => {
    const { cwd, env } = place();
    const r = await labup(['daily', fixture('daily/other-institution.csv'), '--sandbox'], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('status    檢核錯誤, 1 error');
    expect(r.stdout).toContain('1 error in the check file, by NHIA code:');
    expect(r.stdout).toContain('  28 醫事機構代碼錯誤 ×1 — h2 is not the uploading institution or does not exist.');
    expect(r.stdout).toContain(`${fixture('daily/other-institution.csv')}:2 column 2 “h2”  hdata 1  醫事機構代碼與登入機構不符: signed in as 3501200000 “3501299999” (R21****000, 09005C)`);
    expect(r.stdout).toContain('    → Upload with the card of the institution in h2, or correct h2.');
    expect(r.stdout).not.toContain('R210000000');
    expect(lastLine(r.stderr)).toMatch(/\(1 error: 28 ×1; report downloads\/reports\/labup-daily-1151125-run1\.json\) — 檢核錯誤$/);
  });

  it('killed during the wait: a second run is refused by the lock; after the kill, the next run recovers the lock and finishes with one submission', async () => {
    // given a run waiting on a portal that takes 30 s to check
    const { home, cwd, env } = place();
    const log = join(cwd, 'first.jsonl');
    const first = execa('node', [BIN, 'daily', fixture('daily/lab-results.csv'), '--sandbox', '--log-file', log], {
      cwd,
      env: { ...env, LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', LABUP_SANDBOX_DELAY: '30s' },
      reject: false,
    });
    try {
      await until(() => logged(log, 'upload'), 60_000, 'the upload');
      // when a second run starts meanwhile
      const second = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox'], { cwd, env });
      // then it is refused by the lock (exit 2), naming the running one
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('[DAILY_LOCKED] another labup daily is running (process ');
      // when the first is killed during its wait
    } finally {
      first.kill('SIGKILL');
      await first;
    }
    expect(existsSync(join(home, 'daily.lock'))).toBe(true);
    expect(sandboxSubmissions(home)).toEqual([{ receipt_no: '1151125000001', status: 'checking' }]);
    // and the same command runs again a minute later
    const again = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox'], { cwd, env: { ...env, LABUP_NOW: '2026-11-25T21:01:00+08:00' } });
    // then it recovers the lock, continues the run on the same 收件序號, and the portal has one submission
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('warning: recovered a stale lock left by process ');
    expect(again.stdout).toContain('note      continuing run 1 (start 2; it stopped after upload: 收件序號 1151125000001, 檢核中)');
    expect(lastLine(again.stderr)).toMatch(/^labup daily: continued, 上傳日期 115\/11\/25, .*收件序號 1151125000001, .* — 檢核正確$/);
    expect(sandboxSubmissions(home)).toEqual([{ receipt_no: '1151125000001', status: 'passed' }]);
    expect(existsSync(join(home, 'daily.lock'))).toBe(false);
  });

  it('recovers a stale lock left by a process that is gone', async () => {
    // given a lock whose process has ended
    const { home, cwd, env } = place();
    const gone = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'daily.lock'), JSON.stringify({ pid: Number(gone.stdout), host: (await import('node:os')).hostname(), startedAt: '2026-11-24T02:00:00+08:00', command: 'labup daily' }));
    // when the job runs
    const r = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--quiet'], { cwd, env });
    // then it says so and does the day
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: recovered a stale lock left by process ${gone.stdout} (started 2026-11-24T02:00:00+08:00), which is no longer running; continuing`);
    expect(lastLine(r.stderr)).toMatch(/— 檢核正確$/);
  });

  it('with encrypted downloads, the sandbox’s check file arrives as an encrypted ZIP and is decrypted with the demo user’s ID', async () => {
    const { cwd, env } = place();
    const r = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--encrypted'], { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('file      downloads/1300_1151125000001.zip → downloads/1300_1151125000001.msg.txt');
    expect(statSync(join(cwd, 'downloads/1300_1151125000001.zip')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(cwd, 'downloads/1300_1151125000001.msg.txt')).includes(Buffer.from('1151125000001'))).toBe(true);
    expect(lastLine(r.stderr)).toMatch(/downloads\/1300_1151125000001\.msg\.txt — 檢核正確$/);
  });

  it('nothing to do: an export without data rows exits 6', async () => {
    const { cwd, env } = place();
    const r = await labup(['daily', fixture('daily/header-only.csv'), '--sandbox'], { cwd, env });
    expect(r.code).toBe(6);
    expect(lastLine(r.stderr)).toBe('labup daily: nothing to do — the input holds no data rows');
  });

  it('refuses to send what NHI would reject (exit 1), listing the rows; nothing reaches the portal', async () => {
    const { home, cwd, env } = place();
    const r = await labup(['daily', fixture('daily/bad-id.csv'), '--sandbox'], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 error found before sending, by NHIA code:');
    expect(r.stdout).toContain(`${fixture('daily/bad-id.csv')}:2 column 9 “h9”  hdata 1`);
    expect(lastLine(r.stderr)).toBe('labup daily: not sent — 1 error NHI would reject (02 ×1); report downloads/reports/labup-daily-1151125-run1.json');
    expect(existsSync(join(home, 'sandbox', 'sandbox.db')) ? sandboxSubmissions(home) : []).toEqual([]);
  });

  it('--json prints the result document, the same as the JSON report (0600)', async () => {
    const { cwd, env } = place();
    const r = await labup(['daily', fixture('daily/other-institution.csv'), '--sandbox', '--json'], { cwd, env });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).slice(0, 8)).toEqual(['ok', 'exitCode', 'outcome', 'receipts', 'errors', 'errorCount', 'errorGroups', 'report']);
    expect(doc).toMatchObject({
      ok: false,
      exitCode: 1,
      outcome: 'failed',
      receipts: [
        {
          receiptNo: '1151125000001',
          uploadDate: '115/11/25',
          status: 'failed',
          statusText: '檢核錯誤',
          files: [{ name: '1300_1151125000001.msg.txt', path: join(cwd, 'downloads', '1300_1151125000001.msg.txt'), encrypted: false, decrypted: null, skipped: false, remark: expect.any(String) }],
        },
      ],
      errors: [
        {
          origin: 'portal',
          group: '28',
          nhiCode: '28',
          field: 'h2',
          hdata: 1,
          rdata: null,
          value: '3501299999',
          source: { file: fixture('daily/other-institution.csv'), line: 2, column: 2, columnName: 'h2' },
          patient: 'R21****000',
        },
      ],
      errorGroups: [{ code: '28', title: '醫事機構代碼錯誤', count: 1 }],
      report: join(cwd, 'downloads', 'reports', 'labup-daily-1151125-run1.json'),
      runId: 1,
      uploadDate: '115/11/25',
      counts: { rows: 1, hdata: 1, rdata: 1 },
    });
    expect(statSync(doc.report).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(doc.report, 'utf8'))).toEqual(doc);
    // the JSON holds no national ID unmasked
    expect(r.stdout).not.toMatch(/[A-Z][12]\d{8}/);
  });

  it('logs every step as JSON lines with IDs masked; without a terminal stderr has no progress, only the summary line', async () => {
    const { cwd, env } = place();
    const log = join(cwd, 'daily.jsonl');
    const r = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--log-file', log, '--quiet'], { cwd, env });
    expect(r.code).toBe(0);
    // stderr: the one line for cron mail, nothing else
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^labup daily: .* — 檢核正確$/)]);
    expect(r.stderr).not.toContain('\x1b[');
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; code: string; message: string; data?: { step?: string } });
    const steps = lines.filter((l) => l.code === 'DAILY_STEP').map((l) => l.data!.step);
    expect(steps).toEqual(['preflight', 'pack', 'upload', 'wait', 'download', 'decrypt', 'explain', 'report']);
    expect(lines.filter((l) => l.code === 'PREFLIGHT_OK')).toHaveLength(8);
    // the card module and the token do not apply to the sandbox's software card
    expect(lines.filter((l) => l.code === 'PREFLIGHT_SKIPPED')).toHaveLength(2);
    expect(lines.filter((l) => l.code === 'SUMMARY').map((l) => l.message)).toEqual([expect.stringMatching(/ — 檢核正確$/)]);
    expect(readFileSync(log, 'utf8')).not.toMatch(/A123456789|Q210000009|U210000003/);
    expect(statSync(log).mode & 0o777).toBe(0o600);
  });

  it('stops at the preflight with a coded error when there is no portal to talk to (exit 2)', async () => {
    const { cwd, env } = place();
    const log = join(cwd, 'daily.jsonl');
    const r = await labup(['daily', fixture('daily/lab-results.csv'), '--log-file', log], { cwd, env });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe('labup daily: stopped at preflight — [PORTAL_NOT_CONFIGURED] no portal to talk to (exit 2)');
    expect(r.stdout).toContain('→ Give --portal URL (or LABUP_PORTAL, or "portal" in the config)');
  });
});
