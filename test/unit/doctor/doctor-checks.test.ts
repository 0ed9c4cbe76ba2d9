/**
 * The doctor's checks one by one, with the world injected: a Windows file system for the HCA
 * module, an HCA card in a PKCS#11 module written in JS (it counts PIN tries like the card), the
 * portal's Date against a fake host clock, lock files left by live and dead processes.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { CHECK, runChecks, type Check, type CheckContext } from '../../../src/doctor/checks.js';
import { CKO_CERTIFICATE, CKO_PRIVATE_KEY } from '../../../src/card/pkcs11-constants.js';
import { createCa, issueCertificate } from '../../../src/card/sandbox-ca.js';
import { formatPkcs11Uri } from '../../../src/card/pkcs11-uri.js';
import { usageError } from '../../../src/errors.js';
import type { PortalInfo } from '../../../src/transport/portal-client.js';
import { FakeModule, fakeLoader, type FakeToken } from '../card/fake-pkcs11.js';

const dir = mkdtempSync(join(tmpdir(), 'labup-doctor-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const NOW = new Date('2026-11-25T21:00:00+08:00');

function context(over: Partial<CheckContext> = {}): CheckContext {
  return {
    cwd: dir,
    clock: fixedClock(NOW),
    env: {},
    home: join(dir, 'home'),
    downloadDir: join(dir, 'downloads'),
    create: false,
    sandbox: false,
    cardRequired: true,
    config: {},
    checkSettings: () => 'settings read',
    openStore: () => {
      throw new Error('not here');
    },
    connect: async () => {
      throw new Error('not here');
    },
    card: async () => undefined,
    ...over,
  };
}

describe('card module', () => {
  const env = { SystemRoot: 'C:\\Windows' };
  const uri = 'pkcs11:token=HCA;id=%01';
  it('on Windows finds the HCA module HCAPKCS11.dll in System32, else SysWOW64, with no module named', async () => {
    const system32 = win32.join('C:\\Windows', 'System32', 'HCAPKCS11.dll');
    const wow = win32.join('C:\\Windows', 'SysWOW64', 'HCAPKCS11.dll');
    for (const [present, expected] of [
      [[system32, wow], system32],
      [[wow], wow],
    ] as const) {
      const r = await CHECK.cardModule.run(context({ env, config: { card: uri }, platform: 'win32', fileExists: (p) => (present as readonly string[]).includes(p) }));
      expect(r).toMatchObject({ status: 'ok', message: `${expected} (found in the default places), the HCA card’s module`, data: { path: expected, from: 'default' } });
    }
  });

  it('says where it looked and how to fix it when there is none (exit 4)', async () => {
    await expect(CHECK.cardModule.run(context({ env, config: { card: uri }, platform: 'win32', fileExists: () => false }))).rejects.toMatchObject({
      code: 'CARD_MODULE_NOT_FOUND',
      exitCode: 4,
      message: expect.stringMatching(/System32\\HCAPKCS11\.dll.*SysWOW64\\HCAPKCS11\.dll/),
      hint: expect.stringContaining('Install the HCA card components'),
    });
  });

  it('no card configured is a failure for the doctor; a software token needs no module', async () => {
    await expect(CHECK.cardModule.run(context())).rejects.toMatchObject({ code: 'CARD_NOT_CONFIGURED', exitCode: 2 });
    expect(await CHECK.cardModule.run(context({ config: { card: 'p12:/x.p12' } }))).toMatchObject({ status: 'skipped' });
  });
});

describe('the card in the reader (an HCA card, no PIN spent)', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  const ca = createCa(now);
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certDer = Buffer.from(
    new X509Certificate(issueCertificate(ca, { publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }) as string, institutionCode: '3501200000', name: 'labup 示範醫院', notBefore: now, notAfter: new Date('2028-01-01') })).raw,
  );
  const HCA_DLL = join(dir, 'HCAPKCS11.dll');
  writeFileSync(HCA_DLL, '');
  const card = (over: Partial<FakeToken> = {}): FakeToken => ({
    label: 'HCA',
    serial: '0000123456',
    pin: '123456',
    objects: [
      { class: CKO_CERTIFICATE, id: Buffer.from([0]), label: 'CA', value: Buffer.from(new X509Certificate(ca.certPem).raw) },
      { class: CKO_CERTIFICATE, id: Buffer.from([1]), label: 'sign', value: certDer },
      { class: CKO_PRIVATE_KEY, id: Buffer.from([1]), label: 'sign', key: key.privateKey },
    ],
    ...over,
  });
  const run = (mod: FakeModule) => CHECK.token.run(context({ config: { card: formatPkcs11Uri({ token: 'HCA', id: Buffer.from([1]), modulePath: HCA_DLL }) }, pkcs11Loader: fakeLoader(mod) }));

  it('is present, with the HCA card’s PIN rules (6–8 characters)', async () => {
    const mod = new FakeModule([card()]);
    expect(await run(mod)).toMatchObject({ status: 'ok', message: expect.stringMatching(/^“HCA” \(serial 0000123456\) in .*; PIN 6–8 characters$/) });
    expect(mod.count('C_Login')).toBe(0);
  });

  it('warns when a wrong PIN was entered, and on the final try', async () => {
    expect(await run(new FakeModule([card({ triesLeft: 2 })]))).toMatchObject({ status: 'warn', code: 'CARD_PIN_COUNT_LOW', hint: expect.stringContaining('3 wrong tries') });
    const last = new FakeModule([card({ triesLeft: 1 })]);
    expect(await run(last)).toMatchObject({ status: 'warn', code: 'CARD_PIN_FINAL_TRY', message: expect.stringContaining('one PIN try left') });
    expect(last.count('C_Login')).toBe(0);
  });

  it('fails on a locked card (exit 4) without trying a PIN, and when no card is in the reader', async () => {
    const locked = new FakeModule([card({ triesLeft: 0 })]);
    await expect(run(locked)).rejects.toMatchObject({ code: 'CARD_PIN_LOCKED', exitCode: 4 });
    expect(locked.count('C_Login')).toBe(0);
    await expect(run(new FakeModule([null]))).rejects.toMatchObject({ exitCode: 4 });
  });
});

describe('clock: this computer’s against the portal’s Date', () => {
  const info = (date: string): PortalInfo => ({ service: 's', protocol: '1', job: { name: 'x', code: '1300' }, serverTime: '', sandbox: true, date });
  const at = (hostIso: string, portalDate: string) =>
    CHECK.clock.run(context({ portalInfo: info(portalDate), portalAsked: { before: new Date(hostIso), after: new Date(new Date(hostIso).getTime() + 200) } }));

  it('agrees within 60 s', async () => {
    expect(await at('2026-11-25T21:00:40+08:00', 'Wed, 25 Nov 2026 13:00:00 GMT')).toMatchObject({ status: 'ok', data: { skewMs: 40_100 - 500 } });
  });

  it('warns beyond 60 s, ahead or behind, with how to fix it', async () => {
    expect(await at('2026-11-25T21:05:00+08:00', 'Wed, 25 Nov 2026 13:00:00 GMT')).toMatchObject({
      status: 'warn',
      code: 'CLOCK_SKEW',
      message: expect.stringContaining('5 min 0 s ahead of the portal’s'),
      hint: expect.stringContaining('timedatectl set-ntp true'),
    });
    expect(await at('2026-11-25T20:58:00+08:00', 'Wed, 25 Nov 2026 13:00:00 GMT')).toMatchObject({ status: 'warn', message: expect.stringContaining('behind the portal’s') });
  });

  it('fails when the difference makes 上傳日期 another day (exit 2)', async () => {
    await expect(at('2026-11-26T00:01:00+08:00', 'Wed, 25 Nov 2026 15:59:00 GMT')).rejects.toMatchObject({
      code: 'CLOCK_SKEW',
      exitCode: 2,
      message: expect.stringContaining('it is 115/11/26 here and 115/11/25 at the portal'),
    });
  });
});

describe('daily lock', () => {
  const home = join(dir, 'lock-home');
  const write = (info: object) => {
    rmSync(home, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', home]);
    writeFileSync(join(home, 'daily.lock'), JSON.stringify(info));
  };
  it('no lock, a live owner, a stale lock (process gone), a lock from another host', async () => {
    rmSync(home, { recursive: true, force: true });
    expect(await CHECK.lock.run(context({ home }))).toMatchObject({ status: 'ok', message: expect.stringContaining('no labup daily running') });
    write({ pid: process.pid, host: hostname(), startedAt: '2026-11-25T02:00:00+08:00', command: 'labup daily' });
    expect(await CHECK.lock.run(context({ home }))).toMatchObject({ status: 'ok', message: expect.stringContaining(`a labup daily is running now (process ${process.pid}`) });
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    write({ pid: gone, host: hostname(), startedAt: '2026-11-25T02:00:00+08:00', command: 'labup daily' });
    expect(await CHECK.lock.run(context({ home }))).toMatchObject({ status: 'warn', code: 'DAILY_LOCK_STALE', message: expect.stringContaining(`process ${gone}`), hint: expect.stringContaining('recovers it') });
    write({ pid: 1, host: 'another-host.invalid', startedAt: '', command: 'labup daily' });
    expect(await CHECK.lock.run(context({ home }))).toMatchObject({ status: 'warn', code: 'DAILY_LOCK_OTHER_HOST' });
  });
});

describe('running the checks', () => {
  const ok = (id: string, needs: string[] = []): Check<object> => ({ id, title: id, needs, run: async () => `${id} fine` });
  const bad = (id: string, exitCode: 'usage' | 'portal' = 'usage'): Check<object> => ({
    id,
    title: id,
    run: async () => {
      throw exitCode === 'usage' ? usageError('BAD', `${id} broken`, { hint: 'fix it' }) : Object.assign(usageError('DOWN', 'down'), {});
    },
  });

  it('the doctor runs every check, skipping only those whose needs failed', async () => {
    const r = await runChecks([ok('a'), bad('b'), ok('c', ['b']), ok('d', ['c']), ok('e', ['a'])], {}, undefined, { stopAtFirstFailure: false });
    expect(r.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['a:ok', 'b:fail', 'c:skipped', 'd:skipped', 'e:ok']);
    expect(r.checks[1]).toMatchObject({ code: 'BAD', hint: 'fix it', exitCode: 2 });
  });

  it('the daily preflight stops at the first failure', async () => {
    const r = await runChecks([ok('a'), bad('b'), ok('c'), ok('d')], {}, undefined);
    expect(r.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['a:ok', 'b:fail', 'c:skipped', 'd:skipped']);
    expect(r.failure?.code).toBe('BAD');
  });

  it('a check that does not apply (skipped with a reason) does not block those after it', async () => {
    const na: Check<object> = { id: 'na', title: 'na', run: async () => ({ status: 'skipped', message: 'does not apply' }) };
    const r = await runChecks([na, ok('b', ['na'])], {}, undefined, { stopAtFirstFailure: false });
    expect(r.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['na:skipped', 'b:ok']);
  });
});
