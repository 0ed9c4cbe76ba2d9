/**
 * The portal sign-in with a PKCS#11 card: `labup sandbox init --pkcs11` issues the demo card onto a
 * SoftHSM2 token (key generated on the token), and uploads then sign in with it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, labup } from '../helpers/cli.js';
import { createSoftHsm, softHsmAvailable, SOFTHSM_MODULE } from '../helpers/softhsm.js';

describe.runIf(softHsmAvailable())('labup sandbox init --pkcs11', () => {
  const hsm = createSoftHsm();
  const home = mkdtempSync(join(tmpdir(), 'labup-home-'));
  afterAll(() => {
    hsm.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it('issues the demo card onto a token and signs in to the sandbox with it', async () => {
    // given an empty SoftHSM token labelled HCA
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'HCA', '--so-pin', '12345678', '--pin', '123456'], { env: { ...process.env, ...hsm.env }, stdio: 'ignore' });
    const env = { ...hsm.env, LABUP_HOME: home, TOKEN_PIN: '123456' };
    // when the sandbox issues its demo card onto it
    const init = await labup(['sandbox', 'init', '--pkcs11', `pkcs11:token=HCA?module-path=${SOFTHSM_MODULE}&pin-source=env:TOKEN_PIN`, '--json'], { env });
    expect(init.code, init.stderr).toBe(0);
    const demo = JSON.parse(readFileSync(join(home, 'sandbox', 'demo.json'), 'utf8'));
    expect(demo.card).toMatch(/^pkcs11:token=HCA;id=%01\?module-path=/);
    expect(demo.pinSource).toBe('env:TOKEN_PIN');
    // then `card test` signs with it, and an upload signs in with it
    const test = await labup(['card', 'test', '--card', demo.card, '--json'], { env: { ...env, LABUP_PIN_SOURCE: 'env:TOKEN_PIN' } });
    expect(test.code, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ ok: true });
    const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--json'], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).receiptNo).toMatch(/^1151125\d{6}$/);
    // and a wrong PIN is an authentication failure (exit 4), tried once
    const bad = await labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '--json'], { env: { ...env, TOKEN_PIN: '000000' } });
    expect(bad.code).toBe(4);
    expect(bad.stderr).not.toContain('000000');
  });
});
