/**
 * Secrets reach labup only from their sources — a file (a systemd credential), a command, an
 * environment variable named in the settings, a prompt — and leave no trace: not on the command
 * line, not on stdout or stderr, not in the JSON-lines log, the JSON output or the daily report, not
 * in error messages. The real binary runs upload and daily against a sandbox, and every byte it
 * wrote is searched for the card's passphrase and the user's national ID.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { completePersonId } from '../../src/format/national-id.js';
import { maskId } from '../../src/format/national-id.js';
import { runningClock } from '../../src/transport/connect.js';
import { fixture, labup } from '../helpers/cli.js';
import { NOW, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

/** The user signing in: a registered user of the demo institution who appears nowhere in the fixtures. */
const USER = completePersonId('F22851937');

describe('secrets from a file and from a command never show (the real binary)', () => {
  let t: TestSandbox;
  const dir = tempDir('labup-secrets-');
  let passphrase: string;
  let base: Record<string, string>;
  beforeAll(async () => {
    // a sandbox whose clock runs, so that daily sees 處理狀態 change
    t = await testSandbox({ clock: runningClock(fixedClock(NOW)), processingDelayMs: 300 });
    t.sb.admin.addUser('3501200000', USER, '夜班技術員');
    passphrase = readFileSync(t.sb.demo!.pinSource.replace(/^file:/, ''), 'utf8').trim();
    expect(passphrase.length).toBeGreaterThanOrEqual(8);
    // the secrets as systemd hands them over: one file each, mode 0600
    writeFileSync(join(dir.path, 'card-pin'), passphrase + '\n', { mode: 0o600 });
    writeFileSync(join(dir.path, 'user-id'), USER + '\n', { mode: 0o600 });
    base = { XDG_CONFIG_HOME: join(dir.path, 'config'), LABUP_PORTAL: t.sb.url, LABUP_CARD: t.sb.demo!.card, NO_PROXY: '127.0.0.1' };
  });
  afterAll(async () => {
    await t.stop();
    dir.remove();
  });

  /** Every place labup writes to: stdout, stderr, the log, the reports. */
  function expectNoSecret(texts: string[]) {
    for (const text of texts) {
      expect(text).not.toContain(passphrase);
      expect(text).not.toContain(USER);
      expect(text).not.toContain(USER.toLowerCase());
    }
  }

  const sources = () => [
    { name: 'file', LABUP_PIN_SOURCE: `file:${join(dir.path, 'card-pin')}`, LABUP_USER_ID_SOURCE: `file:${join(dir.path, 'user-id')}` },
    { name: 'cmd', LABUP_PIN_SOURCE: `cmd:cat ${join(dir.path, 'card-pin')}`, LABUP_USER_ID_SOURCE: `cmd:cat ${join(dir.path, 'user-id')}` },
  ];

  it('upload and daily, with --json, --debug and --log-file, sign in with the secrets and never print or log them', async () => {
    for (const s of sources()) {
      const home = join(dir.path, `home-${s.name}`);
      const cwd = join(dir.path, `work-${s.name}`);
      const log = join(dir.path, `${s.name}.jsonl`);
      (await import('node:fs')).mkdirSync(cwd, { recursive: true });
      const env = { ...base, LABUP_HOME: home, LABUP_PIN_SOURCE: s.LABUP_PIN_SOURCE, LABUP_USER_ID_SOURCE: s.LABUP_USER_ID_SOURCE };
      const args = ['--json', '--debug', '--log-file', log];
      const up = await labup(['upload', fixture('valid/TOTFA.zip'), ...args], { cwd, env });
      expect(up.code, up.stderr).toBe(0);
      const daily = await labup(['daily', fixture('daily/lab-results.csv'), ...args, '--poll-interval', '1s'], { cwd, env });
      expect(daily.code, daily.stderr).toBe(0);
      const report = JSON.parse(daily.stdout);
      expect(report.outcome).toBe('passed');
      // signed in as that user (shown masked, as labup shows every national ID)
      expect(readFileSync(log, 'utf8')).toContain(`signed in as ${maskId(USER)}`);
      const reports = readdirSync(join(cwd, 'downloads', 'reports')).map((f) => readFileSync(join(cwd, 'downloads', 'reports', f), 'utf8'));
      expectNoSecret([up.stdout, up.stderr, daily.stdout, daily.stderr, readFileSync(log, 'utf8'), ...reports]);
    }
  });

  it('doctor reads both sources to prove they work, and shows neither', async () => {
    for (const s of sources()) {
      const r = await labup(['doctor', '--json', '--debug'], { env: { ...base, LABUP_HOME: join(dir.path, 'home-doctor'), LABUP_PIN_SOURCE: s.LABUP_PIN_SOURCE, LABUP_USER_ID_SOURCE: s.LABUP_USER_ID_SOURCE } });
      expect(r.code, r.stdout).toBe(0);
      const secrets = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'secrets');
      expect(secrets.message).toContain('(read)');
      // a cmd: source's command line may itself hold a secret: it is never shown
      if (s.name === 'cmd') expect(secrets.message).toContain('cmd:(command)');
      expectNoSecret([r.stdout, r.stderr]);
    }
  });

  it('a wrong passphrase from a file fails once (exit 4) and the error names the source, not the value', async () => {
    const wrong = join(dir.path, 'wrong-pin');
    writeFileSync(wrong, 'not-the-passphrase-7731\n', { mode: 0o600 });
    const log = join(dir.path, 'wrong.jsonl');
    const r = await labup(['upload', fixture('valid/TOTFA.zip'), '--json', '--debug', '--log-file', log], {
      env: { ...base, LABUP_HOME: join(dir.path, 'home-wrong'), LABUP_PIN_SOURCE: `file:${wrong}`, LABUP_USER_ID_SOURCE: `file:${join(dir.path, 'user-id')}` },
    });
    expect(r.code).toBe(4);
    for (const text of [r.stdout, r.stderr, readFileSync(log, 'utf8')]) {
      expect(text).not.toContain('not-the-passphrase-7731');
      expect(text).not.toContain(USER);
    }
    // a command that fails is named by what it is for, never by its command line
    const failing = await labup(['upload', fixture('valid/TOTFA.zip')], {
      env: { ...base, LABUP_HOME: join(dir.path, 'home-wrong'), LABUP_PIN_SOURCE: 'cmd:echo s3cr3t-in-the-command >/dev/null; exit 3', LABUP_USER_ID_SOURCE: `file:${join(dir.path, 'user-id')}` },
    });
    expect(failing.code).toBe(2);
    expect(failing.stderr).toContain('[SECRET_COMMAND_FAILED]');
    expect(failing.stderr).not.toContain('s3cr3t-in-the-command');
  });

  it('labup refuses a PIN given on the command line: there is no flag for it, and a PIN in the card URI is refused without echo', async () => {
    const r = await labup(['upload', fixture('valid/TOTFA.zip'), '--pin', passphrase], { env: { ...base, LABUP_HOME: join(dir.path, 'home-argv') } });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain(passphrase);
    const inUri = await labup(['card', 'test', '--card', 'pkcs11:token=HCA;id=%01?pin-value=123456'], { env: { ...base, LABUP_HOME: join(dir.path, 'home-argv') } });
    expect(inUri.code).toBe(2);
    expect(inUri.stderr).not.toContain('123456');
  });
});
