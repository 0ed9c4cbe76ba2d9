/**
 * `labup doctor` as an operator runs it before trusting a cron job, and `labup daily` stopping on
 * the same checks: the real binary against a sandbox on 127.0.0.1 whose clock stands still, so that
 * labup's clock (LABUP_NOW) can be put ahead of it.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPkcs12 } from '../../src/card/sandbox-ca.js';
import { taipeiIso } from '../../src/clock.js';
import { fixture, labup } from '../helpers/cli.js';
import { createSoftHsmToken, softHsmAvailable } from '../helpers/softhsm.js';
import { NOW, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

interface Doc {
  ok: boolean;
  exitCode: number;
  checks: Array<{ id: string; status: string; message: string; code?: string; hint?: string; exitCode?: number; data?: Record<string, unknown> }>;
  counts: Record<string, number>;
}
const check = (doc: Doc, id: string) => doc.checks.find((c) => c.id === id)!;
/** LABUP_NOW `ms` after the sandbox's clock (which stands at NOW). */
const at = (ms: number) => taipeiIso(new Date(new Date(NOW).getTime() + ms));

describe('labup doctor (the real binary)', () => {
  let t: TestSandbox;
  const dir = tempDir('labup-doctor-');
  let env: Record<string, string>;
  let n = 0;
  /** A fresh LABUP_HOME and working folder for one test. */
  const place = () => {
    const base = join(dir.path, `p${++n}`);
    const home = join(base, 'home');
    const cwd = join(base, 'work');
    mkdirSync(cwd, { recursive: true });
    return { home, cwd, env: { ...env, LABUP_HOME: home } as Record<string, string> };
  };
  const doctor = async (args: string[], p: { cwd: string; env: Record<string, string> }, extra: Record<string, string> = {}) => {
    const r = await labup(['doctor', '--json', ...args], { cwd: p.cwd, env: { ...p.env, ...extra } });
    return { ...r, doc: JSON.parse(r.stdout) as Doc };
  };

  beforeAll(async () => {
    t = await testSandbox();
    const uid = join(dir.path, 'user-id');
    writeFileSync(uid, 'A123456789\n', { mode: 0o600 });
    env = {
      XDG_CONFIG_HOME: join(dir.path, 'config'),
      LABUP_PORTAL: t.sb.url,
      LABUP_CARD: t.sb.demo!.card,
      LABUP_PIN_SOURCE: t.sb.demo!.pinSource,
      LABUP_USER_ID_SOURCE: `file:${uid}`,
      NO_PROXY: '127.0.0.1',
    };
  });
  afterAll(async () => {
    await t.stop();
    dir.remove();
  });

  it('on a good set-up every check passes (exit 0), and nothing is created or changed', async () => {
    const p = place();
    const r = await doctor([], p);
    expect(r.code).toBe(0);
    expect(r.doc.checks.map((c) => `${c.id}:${c.status}`)).toEqual([
      'config:ok',
      'secrets:ok',
      'download-dir:ok',
      'journal:ok',
      'lock:ok',
      'card-module:skipped',
      'token:skipped',
      'certificate:ok',
      'portal:ok',
      'clock:ok',
    ]);
    expect(check(r.doc, 'certificate').message).toContain('醫事機構代碼 3501200000, 醫事機構卡');
    expect(check(r.doc, 'clock').data).toMatchObject({ skewMs: expect.any(Number) });
    expect(Math.abs(check(r.doc, 'clock').data!.skewMs as number)).toBeLessThanOrEqual(1000);
    // nothing made: no journal, no download folder, no lock
    expect(existsSync(p.home)).toBe(false);
    expect(readdirSync(p.cwd)).toEqual([]);
    // the human form: one line per check, the summary line on stderr
    const human = await labup(['doctor'], { cwd: p.cwd, env: p.env });
    expect(human.stdout).toMatch(/^✓ configuration/m);
    expect(human.stderr.trimEnd()).toBe('labup doctor: 8 ok, 0 warnings, 0 failed, 2 skipped — ready for unattended runs');
  });

  it('checks the profile asked for, and with --sign-in also signs in with the card', async () => {
    const p = place();
    writeFileSync(join(p.cwd, 'labup.config.json'), JSON.stringify({ profiles: { night: { downloadDir: 'night-downloads', waitTimeout: '2h' } } }));
    const r = await doctor(['--profile', 'night', '--sign-in'], p);
    expect(r.code).toBe(0);
    expect(r.doc).toMatchObject({ profile: 'night' });
    expect(check(r.doc, 'config').message).toMatch(/^wait up to 2h.*; profile night; from .*labup\.config\.json$/);
    expect(check(r.doc, 'download-dir').message).toContain(join(p.cwd, 'night-downloads'));
    expect(check(r.doc, 'card')).toMatchObject({ status: 'ok', message: 'signed in as A12****789 of 3501200000 labup 示範醫院' });
    // a profile that breaks the schema fails the configuration check, naming the key (exit 2)
    writeFileSync(join(p.cwd, 'labup.config.json'), JSON.stringify({ profiles: { night: { waitTimeout: 'soon' } } }));
    const bad = await doctor(['--profile', 'night'], p);
    expect(bad.code).toBe(2);
    expect(check(bad.doc, 'config')).toMatchObject({ status: 'fail', message: expect.stringContaining('waitTimeout') });
  });

  it('a clock ahead of the portal’s: a warning beyond 60 s; a failure when it makes 上傳日期 another day', async () => {
    const p = place();
    // given labup's clock 5 minutes ahead of the sandbox's
    const ahead = await doctor([], p, { LABUP_NOW: at(5 * 60_000) });
    expect(ahead.code).toBe(0);
    expect(check(ahead.doc, 'clock')).toMatchObject({ status: 'warn', code: 'CLOCK_SKEW', message: expect.stringContaining('5 min 0 s ahead of the portal’s'), hint: expect.stringContaining('set-ntp') });
    // given labup's clock 3 hours ahead: past midnight in Taipei, the portal still on 115/11/25
    const tomorrow = await doctor([], p, { LABUP_NOW: at(3 * 3600_000) });
    expect(tomorrow.code).toBe(2);
    expect(check(tomorrow.doc, 'clock')).toMatchObject({ status: 'fail', code: 'CLOCK_SKEW', message: expect.stringContaining('it is 115/11/26 here and 115/11/25 at the portal') });
  });

  it('labup daily stops before uploading when the clock check fails; a clock only minutes off is a warning and the run goes on', async () => {
    const p = place();
    const before = t.sb.admin.counts().submissions;
    const stopped = await labup(['daily', fixture('daily/lab-results.csv'), '--json'], { cwd: p.cwd, env: { ...p.env, LABUP_NOW: at(3 * 3600_000) } });
    expect(stopped.code).toBe(2);
    const doc = JSON.parse(stopped.stdout);
    expect(doc).toMatchObject({ outcome: 'error', runId: null, failure: { step: 'preflight', code: 'CLOCK_SKEW' } });
    expect(doc.preflight.find((c: { id: string }) => c.id === 'clock')).toMatchObject({ status: 'fail' });
    expect(t.sb.admin.counts().submissions).toBe(before);
    // five minutes ahead: warned, uploaded (then still 檢核中 at the short wait: the sandbox's clock stands still);
    // the portal and the card given as flags this time
    const { LABUP_PORTAL: _portal, LABUP_CARD: _card, ...withoutPortal } = p.env;
    const warned = await labup(['daily', fixture('daily/lab-results.csv'), '--wait-timeout', '1s', '--portal', t.sb.url, '--card', t.sb.demo!.card], {
      cwd: p.cwd,
      env: { ...withoutPortal, LABUP_NOW: at(5 * 60_000) },
    });
    expect(warned.stderr).toContain('warning: clock: this computer’s clock is 5 min 0 s ahead of the portal’s');
    expect(warned.code).toBe(3);
    expect(t.sb.admin.counts().submissions).toBe(before + 1);
  });

  it('a certificate that expires within 30 days is a warning; an expired one fails (exit 4) while the rest is still checked', async () => {
    const p = place();
    const now = t.clock.now().getTime();
    const card = (name: string, notAfter: number) => {
      const path = join(dir.path, name);
      writeFileSync(path, toPkcs12(t.sb.admin.issueCard({ institutionCode: '3501200000', notBefore: new Date(now - 300 * 86_400_000), notAfter: new Date(notAfter) }), t.sb.caCertPem, 'pass-1234'));
      return path;
    };
    const pass = { LABUP_PIN_SOURCE: 'env:P12_PASS', P12_PASS: 'pass-1234' };
    const soon = await doctor(['--card', `p12:${card('soon.p12', now + 10 * 86_400_000)}`], p, pass);
    expect(soon.code).toBe(0);
    expect(check(soon.doc, 'certificate')).toMatchObject({ status: 'warn', code: 'CARD_CERT_EXPIRING', message: expect.stringContaining('(10 days left)'), data: { daysLeft: 10 } });
    const expired = await doctor(['--card', `p12:${card('old.p12', now - 2 * 86_400_000)}`], p, pass);
    expect(expired.code).toBe(4);
    expect(check(expired.doc, 'certificate')).toMatchObject({ status: 'fail', code: 'CARD_CERT_EXPIRED', hint: expect.stringContaining('Renew the card') });
    expect(check(expired.doc, 'portal').status).toBe('ok');
  });

  it.skipIf(!softHsmAvailable())('a PKCS#11 token laid out like an HCA card: module, token and the certificate’s card type, without a PIN', async () => {
    const p = place();
    const token = await createSoftHsmToken({ label: 'HCA', pin: '482916', institutionCode: '3501200000', name: 'labup 示範醫院', cardType: '醫事人員卡' });
    try {
      // no PIN source at all: the doctor reads only what needs no PIN
      const r = await doctor(['--card', token.uri], p, { ...token.env, LABUP_PIN_SOURCE: 'env:NO_SUCH_PIN' });
      expect(check(r.doc, 'card-module')).toMatchObject({ status: 'ok', message: expect.stringContaining(`${token.modulePath} (from module-path)`) });
      expect(check(r.doc, 'token')).toMatchObject({ status: 'ok', message: expect.stringMatching(/^“HCA” \(serial \w+\)/) });
      expect(check(r.doc, 'certificate')).toMatchObject({ status: 'ok', message: expect.stringContaining('醫事機構代碼 3501200000, 醫事人員卡'), data: { cardType: '醫事人員卡' } });
      // the PIN source that cannot be read is the one failure
      expect(check(r.doc, 'secrets')).toMatchObject({ status: 'fail', code: 'SECRET_MISSING' });
      expect(r.code).toBe(2);
      // a token that is not there
      const missing = await doctor(['--card', token.uri.replace('token=HCA', 'token=OTHER')], p, { ...token.env, LABUP_PIN_SOURCE: 'env:NO_SUCH_PIN' });
      expect(check(missing.doc, 'token')).toMatchObject({ status: 'fail', exitCode: 4 });
      expect(check(missing.doc, 'certificate').status).toBe('skipped');
    } finally {
      token.cleanup();
    }
  });

  it('secret sources: a PIN file others can read is a warning; a user ID that is not a national ID fails without showing it', async () => {
    const p = place();
    const loose = join(dir.path, 'loose-pin');
    writeFileSync(loose, 'pass-never-shown\n');
    chmodSync(loose, 0o644);
    const warned = await doctor([], p, { LABUP_PIN_SOURCE: `file:${loose}`, LABUP_CARD: 'p12:/nonexistent.p12' });
    expect(check(warned.doc, 'secrets')).toMatchObject({ status: 'warn', message: expect.stringContaining('chmod 600') });
    const badId = join(dir.path, 'bad-id');
    writeFileSync(badId, 'A123456788\n', { mode: 0o600 });
    const failed = await doctor([], p, { LABUP_USER_ID_SOURCE: `file:${badId}` });
    expect(check(failed.doc, 'secrets')).toMatchObject({ status: 'fail', code: 'BAD_USER_ID' });
    for (const text of [warned.stdout, warned.stderr, failed.stdout, failed.stderr]) {
      expect(text).not.toContain('pass-never-shown');
      expect(text).not.toContain('A123456788');
    }
  });

  it('a download folder that cannot be, a damaged journal: exit 2, the first failing check’s code, each with its fix', async () => {
    const p = place();
    writeFileSync(join(p.cwd, 'downloads'), 'a file where the folder should be');
    mkdirSync(p.home, { recursive: true });
    writeFileSync(join(p.home, 'labup.db'), 'this is not an SQLite database, it is damaged');
    const r = await doctor(['--portal', 'http://127.0.0.1:9', '--retries', '1'], p);
    expect(check(r.doc, 'download-dir')).toMatchObject({ status: 'fail', code: 'DOWNLOAD_DIR_NOT_A_FOLDER', hint: expect.stringContaining('--out') });
    expect(check(r.doc, 'journal')).toMatchObject({ status: 'fail', code: 'STORE_UNREADABLE' });
    expect(check(r.doc, 'portal')).toMatchObject({ status: 'fail', exitCode: 5 });
    // the first failure in the order of the checks decides the exit code
    expect(r.code).toBe(2);
    expect(r.doc.exitCode).toBe(2);
    expect(r.stderr).toContain('first to fix: download folder writable [DOWNLOAD_DIR_NOT_A_FOLDER] (exit 2)');
    // the portal alone down: exit 5
    const q = place();
    const down = await doctor(['--portal', 'http://127.0.0.1:9', '--retries', '1'], q);
    expect(down.code).toBe(5);
  });

  it('a stale lock is reported with what to do; the next labup daily recovers it and says so', async () => {
    const p = place();
    const gone = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
    mkdirSync(p.home, { recursive: true });
    writeFileSync(join(p.home, 'daily.lock'), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), startedAt: '2026-11-24T02:00:00+08:00', command: 'labup daily' }));
    const r = await doctor(['--sandbox'], p);
    expect(r.code).toBe(0);
    expect(check(r.doc, 'lock')).toMatchObject({ status: 'warn', code: 'DAILY_LOCK_STALE', message: expect.stringContaining(`left by process ${gone.stdout} on ${hostname()}`), hint: expect.stringContaining('recovers it by itself') });
    const daily = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--quiet'], { cwd: p.cwd, env: { ...p.env, LABUP_SANDBOX_DELAY: '300ms' } });
    expect(daily.code).toBe(0);
    expect(daily.stderr).toContain(`warning: recovered a stale lock left by process ${gone.stdout}`);
    const after = await doctor(['--sandbox'], p);
    expect(check(after.doc, 'lock')).toMatchObject({ status: 'ok', message: expect.stringContaining('no labup daily running') });
    expect(check(after.doc, 'journal').message).toMatch(/1 submission\(s\), 1 daily run\(s\)/);
  });
});
