/**
 * `labup card list` and `labup card test` as a user runs them: the real binary against SoftHSM2
 * tokens laid out like HCA cards, and against a .p12 software token.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueSoftwareCard, toPkcs12 } from '../../src/card/sandbox-ca.js';
import { labup } from '../helpers/cli.js';
import { createSoftHsm, createSoftHsmToken, SOFTHSM_MODULE, spyOn, TOKEN_NOW, type SoftHsmToken } from '../helpers/softhsm.js';

const dir = mkdtempSync(join(tmpdir(), 'labup-card-cli-'));
const cleanups: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(() => cleanups.reverse().forEach((f) => f()));

/** No user config from the machine running the tests. */
const isolated = { XDG_CONFIG_HOME: join(dir, 'config'), LABUP_HOME: join(dir, 'home') };
const PIN = '482916';

let hca: SoftHsmToken;
beforeAll(async () => {
  hca = await createSoftHsmToken({ label: 'HCA', pin: PIN, institutionCode: '3501200000', name: 'labup 示範醫院' });
  cleanups.push(() => hca.cleanup());
});

async function tokenWith(o: Parameters<typeof createSoftHsmToken>[0]) {
  const t = await createSoftHsmToken({ pin: PIN, ...o });
  cleanups.push(() => t.cleanup());
  return t;
}

function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  return labup(args, { env: { ...isolated, ...env }, ...(cwd ? { cwd } : {}) });
}

function pinEnv(t: { env: Record<string, string> }, pin = PIN) {
  return { ...t.env, LABUP_CARD_PIN: pin, LABUP_PIN_SOURCE: 'env:LABUP_CARD_PIN' };
}

function errorOf(stdout: string): { code: string; exitCode: number; message: string; details?: Record<string, unknown> } {
  return JSON.parse(stdout).error;
}

describe('labup card list', () => {
  it('shows slots, the token, its certificates with 醫事機構代碼 and HCA card type, without a PIN', async () => {
    const r = await run(['card', 'list', '--module', SOFTHSM_MODULE], hca.env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`PKCS#11 module ${SOFTHSM_MODULE} (--module): Implementation of PKCS11 by SoftHSM`);
    expect(r.stdout).toMatch(/token “HCA” {2}SoftHSM project \/ SoftHSM v2, serial [0-9a-f]+/);
    expect(r.stdout).toContain('PIN      set, login required, 4–255 characters');
    expect(r.stdout).toContain('certificate 00 “CA” — CA certificate');
    expect(r.stdout).toContain('certificate 01 “sign” — signing · 醫事機構卡 · 3501200000');
    expect(r.stdout).toContain('subject  C=TW, O=labup sandbox, OU=醫事機構卡, CN=labup 示範醫院, serialNumber=3501200000');
    expect(r.stdout).toContain('key      RSA 2048; private key: not visible before login (--login to check)');
    expect(r.stdout).toMatch(/valid {4}2026-10-26 21:00 – 2028-11-24 21:00 Asia\/Taipei \(730 days left\)/);
    expect(r.stdout).toMatch(/uri {6}pkcs11:token=HCA;serial=[0-9a-f]+;id=%01\?module-path=\/usr\/lib\/softhsm\/libsofthsm2\.so/);
    expect(r.stdout).toMatch(/slot 1 {2}SoftHSM slot ID 0x1\n {2}the token is not initialized/);
  });

  it('--json agrees with OpenSC’s pkcs11-tool about the objects on the token', async () => {
    const r = await run(['card', 'list', '--module', SOFTHSM_MODULE, '--json'], hca.env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const token = doc.slots.find((s: { token: unknown }) => s.token).token;
    expect(doc.module).toMatchObject({ path: SOFTHSM_MODULE, from: '--module', manufacturer: 'SoftHSM', cryptokiVersion: '2.40' });
    expect(token).toMatchObject({ label: 'HCA', model: 'SoftHSM v2', loggedIn: false, pin: { initialized: true, loginRequired: true, countLow: false, finalTry: false, locked: false, triesLeft: null } });
    expect(token.flags).toEqual(expect.arrayContaining(['TOKEN_INITIALIZED', 'LOGIN_REQUIRED', 'USER_PIN_INITIALIZED']));
    const sign = token.certificates.find((c: { id: string }) => c.id === '01');
    expect(sign).toMatchObject({ label: 'sign', role: 'signing', cardType: '醫事機構卡', institutionCode: '3501200000', keyType: 'RSA', keyBits: 2048, privateKey: 'unknown', publicKey: true, state: 'valid', daysLeft: 730, ca: false });
    expect(sign.notAfter).toBe('2028-11-24T21:00:00+08:00');
    // cross-check with pkcs11-tool: the same certificates, labels, IDs and serials
    const tool = execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', 'HCA', '--list-objects', '--type', 'cert'], { env: { ...process.env, ...hca.env }, encoding: 'utf8' });
    const theirs = [...tool.matchAll(/label:\s+(\S+)[\s\S]*?serial:\s+([0-9A-F]+)\s+ID:\s+([0-9a-f]+)/g)].map((m) => [m[3], m[1], m[2]]).sort();
    const ours = token.certificates.map((c: { id: string; label: string; serial: string }) => [c.id.toLowerCase(), c.label, c.serial]).sort();
    expect(ours).toEqual(theirs);
    const tokenInfo = execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--list-token-slots'], { env: { ...process.env, ...hca.env }, encoding: 'utf8' });
    expect(tokenInfo).toContain(`serial num         : ${token.serial}`);
  });

  it('--login shows the private key (PIN from the environment, tried once)', async () => {
    const r = await run(['card', 'list', '--card', `pkcs11:token=HCA?module-path=${SOFTHSM_MODULE}`, '--login', '--json'], pinEnv(hca));
    expect(r.code).toBe(0);
    const token = JSON.parse(r.stdout).slots[0].token;
    expect(token.loggedIn).toBe(true);
    expect(token.certificates.map((c: { id: string; privateKey: string }) => `${c.id}:${c.privateKey}`)).toEqual(['00:absent', '01:present']);
    expect(r.stdout + r.stderr).not.toContain(PIN);
  });

  it('warns on stderr when a certificate expires within 30 days', async () => {
    const t = await tokenWith({ label: 'SOON', notAfter: new Date(TOKEN_NOW.getTime() + 12 * 86_400_000) });
    const r = await run(['card', 'list', '--module', SOFTHSM_MODULE], t.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('warning: certificate of labup 示範醫院 expires on 2026-12-07 (12 days left): renew the card in time');
    const j = await run(['card', 'list', '--module', SOFTHSM_MODULE, '--json'], t.env);
    expect(JSON.parse(j.stdout).warnings).toEqual([{ code: 'CARD_CERT_EXPIRING', message: expect.stringContaining('12 days left'), where: expect.stringMatching(/^pkcs11:token=SOON;serial=.*;id=%01/) }]);
  });

  it('finds the module through LABUP_PKCS11_MODULE, and says where it looked when there is none', async () => {
    const viaEnv = await run(['card', 'list', '--json'], { ...hca.env, LABUP_PKCS11_MODULE: SOFTHSM_MODULE });
    expect(JSON.parse(viaEnv.stdout).module).toMatchObject({ path: SOFTHSM_MODULE, from: 'LABUP_PKCS11_MODULE' });
    const missing = await run(['card', 'list', '--module', join(dir, 'no-such-module.so'), '--json']);
    expect(missing.code).toBe(4);
    expect(errorOf(missing.stdout)).toMatchObject({ code: 'CARD_MODULE_NOT_FOUND', exitCode: 4 });
    expect(missing.stderr).toMatch(/labup: error \[CARD_MODULE_NOT_FOUND\] PKCS#11 module not found: .*no-such-module\.so \(--module\) does not exist\n {2}→ /);
  });
});

describe('labup card test', () => {
  it('signs a nonce on the token and verifies it; the PIN never shows', async () => {
    const r = await run(['card', 'test', '--card', hca.uri], pinEnv(hca));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^✓ pkcs11:token=HCA;serial=[0-9a-f]+;id=%01: signed a 32-byte nonce \(RSA-SHA256, 256-byte signature\) and verified it with the certificate\n/);
    expect(r.stdout).toContain('labup 示範醫院 · 3501200000 · 醫事機構卡; valid until 2028-11-24 (730 days left)');
    const j = await run(['card', 'test', '--card', hca.uri, '--json'], pinEnv(hca));
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, verified: true, algorithm: 'RSA-SHA256', nonceBytes: 32, signatureBytes: 256, certificate: { cardType: '醫事機構卡', institutionCode: '3501200000' }, warnings: [] });
    expect(r.stdout + r.stderr + j.stdout + j.stderr).not.toContain(PIN);
  });

  it('takes the card and PIN source from labup.config.json, a PIN file, or the URI’s pin-source', async () => {
    // a PIN file, as systemd credentials provide it
    const pinFile = join(dir, 'card-pin');
    writeFileSync(pinFile, `${PIN}\n`);
    chmodSync(pinFile, 0o600);
    const project = mkdtempSync(join(dir, 'project-'));
    writeFileSync(join(project, 'labup.config.json'), JSON.stringify({ card: hca.uri, pinSource: `file:${pinFile}` }));
    const fromConfig = await run(['card', 'test'], hca.env, project);
    expect({ code: fromConfig.code, stderr: fromConfig.stderr }).toEqual({ code: 0, stderr: '' });
    // LABUP_CARD + LABUP_PIN_SOURCE
    const fromEnv = await run(['card', 'test'], { ...pinEnv(hca), LABUP_CARD: hca.uri });
    expect(fromEnv.code).toBe(0);
    // pin-source in the URI wins over the configured one
    const fromUri = await run(['card', 'test', '--card', `${hca.uri}&pin-source=env:MY_CARD_PIN`], { ...hca.env, MY_CARD_PIN: PIN, LABUP_PIN_SOURCE: 'env:UNSET_PIN' });
    expect(fromUri.code).toBe(0);
  });

  it('a wrong PIN exits 4 after exactly one try and says what the card reports', async () => {
    const t = await tokenWith({ label: 'WRONG' });
    const spy = spyOn(SOFTHSM_MODULE, t.dir);
    const r = await run(['card', 'test', '--card', `pkcs11:token=WRONG?module-path=${spy.modulePath}`, '--json'], { ...pinEnv(t, '000000'), ...spy.env });
    expect(r.code).toBe(4);
    expect(errorOf(r.stdout)).toMatchObject({ code: 'CARD_WRONG_PIN', exitCode: 4, details: { countLow: true, finalTry: false, triesLeft: null } });
    expect(r.stderr).toMatch(/labup: error \[CARD_WRONG_PIN\] pkcs11:token=WRONG;serial=[0-9a-f]+;id=%01: wrong PIN \(the card reports a low PIN try count\)\n {2}→ labup tried the PIN once and stopped/);
    // the module saw one C_Login, and everything was closed and finalized
    expect(spy.calls('C_Login')).toBe(1);
    expect(spy.calls('C_CloseSession')).toBe(1);
    expect(spy.calls('C_Finalize')).toBe(1);
    // and the token itself (read by OpenSC) counts the one wrong try
    expect(t.tokenFlags()).toMatch(/user PIN count low/);
    expect(r.stdout + r.stderr).not.toContain('000000');
  });

  it('tells a missing token and a wrong token label apart (exit 4)', async () => {
    const empty = createSoftHsm();
    cleanups.push(() => empty.cleanup());
    const none = await run(['card', 'test', '--card', `pkcs11:?module-path=${SOFTHSM_MODULE}`, '--json'], pinEnv(empty));
    expect(none.code).toBe(4);
    expect(errorOf(none.stdout).code).toBe('CARD_NO_TOKEN');
    const other = await run(['card', 'test', '--card', `pkcs11:token=NOT-HCA?module-path=${SOFTHSM_MODULE}`, '--json'], pinEnv(hca));
    expect(other.code).toBe(4);
    expect(errorOf(other.stdout)).toMatchObject({ code: 'CARD_TOKEN_NOT_FOUND', message: expect.stringContaining('present: “HCA”') });
  });

  it('module not found, or not a module, exit 4 with distinct codes', async () => {
    const missing = await run(['card', 'test', '--card', `pkcs11:token=HCA?module-path=${join(dir, 'HCAPKCS11.so')}`, '--json'], pinEnv(hca));
    expect(missing.code).toBe(4);
    expect(errorOf(missing.stdout).code).toBe('CARD_MODULE_NOT_FOUND');
    const notLib = join(dir, 'not-a-library.so');
    writeFileSync(notLib, 'text');
    const bad = await run(['card', 'test', '--card', `pkcs11:token=HCA?module-path=${notLib}`, '--json'], pinEnv(hca));
    expect(bad.code).toBe(4);
    expect(errorOf(bad.stdout)).toMatchObject({ code: 'CARD_MODULE_LOAD_FAILED', message: expect.stringContaining('not-a-library.so') });
  });

  it('an expired or not yet valid certificate exits 4 without a PIN try', async () => {
    const expired = await tokenWith({ label: 'OLD', notBefore: new Date('2023-01-01'), notAfter: new Date('2026-11-20T00:00:00+08:00') });
    const spy = spyOn(SOFTHSM_MODULE, expired.dir);
    const r = await run(['card', 'test', '--card', `pkcs11:token=OLD?module-path=${spy.modulePath}`], { ...pinEnv(expired), ...spy.env });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/\[CARD_CERT_EXPIRED\] .*: the certificate of labup 示範醫院 expired on 2026-11-20 \(5 day\(s\) ago\)/);
    expect(spy.calls('C_Login')).toBe(0);
    const early = await tokenWith({ label: 'NEW', notBefore: new Date('2026-12-01T00:00:00+08:00'), notAfter: new Date('2028-12-01') });
    const e = await run(['card', 'test', '--card', `pkcs11:token=NEW?module-path=${SOFTHSM_MODULE}`, '--json'], pinEnv(early));
    expect(e.code).toBe(4);
    expect(errorOf(e.stdout)).toMatchObject({ code: 'CARD_CERT_NOT_YET_VALID', message: expect.stringContaining('valid only from 2026-12-01 00:00') });
  });

  it('a certificate without its private key exits 4 (CARD_NO_KEY)', async () => {
    const t = await tokenWith({ label: 'NOKEY', key: 'none' });
    const r = await run(['card', 'test', '--card', `pkcs11:token=NOKEY?module-path=${SOFTHSM_MODULE}`, '--json'], pinEnv(t));
    expect(r.code).toBe(4);
    expect(errorOf(r.stdout)).toMatchObject({ code: 'CARD_NO_KEY', message: expect.stringContaining('no private key with the certificate’s CKA_ID 01') });
  });

  it('a malformed URI, a PIN in the URI, or no way to get the PIN exit 2', async () => {
    const malformed = await run(['card', 'test', '--card', 'pkcs11:token=HCA;colour=red', '--json']);
    expect(malformed.code).toBe(2);
    expect(errorOf(malformed.stdout).code).toBe('CARD_URI');
    const pinValue = await run(['card', 'test', '--card', `pkcs11:token=HCA?pin-value=${PIN}&module-path=${SOFTHSM_MODULE}`]);
    expect(pinValue.code).toBe(2);
    expect(pinValue.stderr).toContain('[CARD_URI_PIN_VALUE]');
    expect(pinValue.stderr).not.toContain(PIN);
    const unset = await run(['card', 'test', '--card', hca.uri, '--json'], { ...hca.env, LABUP_PIN_SOURCE: 'env:NOT_SET_ANYWHERE' });
    expect(unset.code).toBe(2);
    expect(errorOf(unset.stdout)).toMatchObject({ code: 'SECRET_MISSING', message: expect.stringContaining('NOT_SET_ANYWHERE') });
    // no PIN source and no terminal: the prompt fails at once instead of hanging
    const noTty = await run(['card', 'test', '--card', hca.uri], hca.env);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('[NO_TTY] card PIN: no terminal to ask on');
  });
});

describe('a .p12 software token through the same commands', () => {
  it('lists and tests a PKCS#12 file, and a wrong passphrase exits 4', async () => {
    const ca = createCa(new Date('2025-01-01'));
    const card = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'labup 示範醫院', cardType: '醫事機構卡', notBefore: new Date('2026-01-01'), notAfter: new Date('2027-06-30T00:00:00+08:00') });
    const p12 = join(dir, 'card.p12');
    writeFileSync(p12, toPkcs12(card, ca.certPem, 'p12-secret'));
    const env = { LABUP_P12_PASS: 'p12-secret', LABUP_PIN_SOURCE: 'env:LABUP_P12_PASS' };
    const list = await run(['card', 'list', '--card', `p12:${p12}`], env);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(list.stdout).toContain(`software token p12:${p12}`);
    expect(list.stdout).toContain('certificate — signing · 醫事機構卡 · 3501200000');
    expect(list.stdout).toContain('private key: present');
    const test = await run(['card', 'test', '--card', `p12:${p12}`], env);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/^✓ p12:.*card\.p12: signed a 32-byte nonce \(RSA-SHA256, 256-byte signature\)/);
    const wrong = await run(['card', 'test', '--card', `p12:${p12}`, '--json'], { ...env, LABUP_P12_PASS: 'nope' });
    expect(wrong.code).toBe(4);
    expect(errorOf(wrong.stdout).code).toBe('CARD_WRONG_PIN');
    expect(list.stdout + test.stdout + test.stderr + wrong.stdout + wrong.stderr).not.toContain('p12-secret');
    // a .p12 that is not there is named before any passphrase is asked for (no source set: no terminal either)
    const missing = await run(['card', 'test', '--card', `p12:${join(dir, 'gone.p12')}`, '--json'], {});
    expect(missing.code).toBe(2);
    expect(errorOf(missing.stdout)).toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
