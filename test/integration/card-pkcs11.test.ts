/**
 * The PKCS#11 card against a real module: SoftHSM2 tokens in temp folders, keys generated on the
 * token, certificates from the sandbox CA — laid out like HCA cards.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCards } from '../../src/card/card-list.js';
import { testCard } from '../../src/card/card-test.js';
import { parseCertificate, verifySignature } from '../../src/card/certificate.js';
import { openCard } from '../../src/card/open.js';
import { loadedModules } from '../../src/card/pkcs11-module.js';
import { provisionToken, storeCertificate } from '../../src/card/pkcs11-provision.js';
import { fixedClock } from '../../src/clock.js';
import { createSoftHsm, createSoftHsmToken, SOFTHSM_MODULE, TOKEN_NOW, type SoftHsm } from '../helpers/softhsm.js';

const clock = fixedClock(TOKEN_NOW);
const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((f) => f()));

async function token(o: Parameters<typeof createSoftHsmToken>[0] = {}) {
  const t = await createSoftHsmToken(o);
  cleanups.push(() => t.cleanup());
  return t;
}

/** Runs `fn` with this process's SOFTHSM2_CONF pointing at `hsm`. */
async function using<T>(hsm: SoftHsm, fn: () => Promise<T>): Promise<T> {
  const restore = hsm.use();
  try {
    return await fn();
  } finally {
    restore();
  }
}

function pkcs11Tool(hsm: SoftHsm, args: string[]): string {
  return execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], { env: { ...process.env, ...hsm.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('provisionToken: an HCA-like card on a real token', () => {
  it('generates the key on the token (sensitive, never extractable), certificate at 01, CA at 00', async () => {
    const t = await token({ label: 'HCA', cardType: '醫事人員卡', institutionCode: '0123456789' });
    // pkcs11-tool (OpenSC) sees what labup put there
    const privs = pkcs11Tool(t, ['--token-label', 'HCA', '--login', '--pin', t.pin, '--list-objects', '--type', 'privkey']);
    expect(privs).toMatch(/Private Key Object; RSA\s+label:\s+sign\s+ID:\s+01\s+Usage:\s+sign\s+Access:\s+sensitive, always sensitive, never extractable, local/);
    const certs = pkcs11Tool(t, ['--token-label', 'HCA', '--list-objects', '--type', 'cert']);
    expect(certs).toMatch(/Certificate Object; type = X\.509 cert\s+label:\s+CA\s+subject:\s+DN: C=TW, O=labup sandbox, CN=labup sandbox CA\s+(serial:.*\s+)?ID:\s+00/);
    expect(certs).toMatch(/label:\s+sign\s+subject:\s+DN: C=TW, O=labup sandbox, OU=.*, CN=.*[,/] ?serialNumber=0123456789\s+(serial:.*\s+)?ID:\s+01/);
    // the certificate certifies the key on the token, and carries the card type
    const cert = parseCertificate(t.certPem!);
    expect(cert).toMatchObject({ cardType: '醫事人員卡', institutionCode: '0123456789', keyBits: 2048 });
    pkcs11Tool(t, ['--token-label', 'HCA', '--read-object', '--type', 'pubkey', '--id', '01', '-o', join(t.dir, 'pub.der')]);
    const tokenKey = execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(t.dir, 'pub.der')], { encoding: 'utf8' });
    writeFileSync(join(t.dir, 'cert.pem'), t.certPem!);
    const certKey = execFileSync('openssl', ['x509', '-in', join(t.dir, 'cert.pem'), '-noout', '-pubkey'], { encoding: 'utf8' });
    expect(certKey).toBe(tokenKey);
  });

  it('refuses to overwrite a provisioned token unless asked to replace', async () => {
    const t = await token();
    const again = () =>
      using(t, () => provisionToken({ modulePath: t.modulePath, tokenLabel: t.label, pin: t.pin, ca: t.ca, institutionCode: '3501200000', name: 'B', notBefore: TOKEN_NOW, notAfter: new Date('2028-01-01'), replace: false }));
    await expect(again()).rejects.toMatchObject({ code: 'CARD_TOKEN_NOT_EMPTY', exitCode: 2 });
    const r = await using(t, () =>
      provisionToken({ modulePath: t.modulePath, tokenLabel: t.label, pin: t.pin, ca: t.ca, institutionCode: '3501200000', name: 'B', notBefore: TOKEN_NOW, notAfter: new Date('2028-01-01'), replace: true }),
    );
    expect(r.uri).toMatch(/^pkcs11:token=HCA;serial=[0-9a-f]+;id=%01\?module-path=\/usr\/lib\/softhsm\/libsofthsm2\.so$/);
    const listed = await using(t, () => listCards({ clock, modulePath: t.modulePath }));
    expect(listed.slots[0]!.token!.certificates.map((c) => `${c.id}:${c.name}`)).toEqual(['00:labup sandbox CA', '01:B']);
    expect(loadedModules()).toEqual([]);
  });
});

describe('PKCS#11 card on SoftHSM', () => {
  it('signs on the token and verifies, over and over in one process', async () => {
    const t = await token();
    for (let i = 0; i < 4; i++) {
      const r = await using(t, async () => {
        const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: t.pin } });
        try {
          return await testCard(card, { clock });
        } finally {
          await card.close();
        }
      });
      expect(r).toMatchObject({ ok: true, verified: true, algorithm: 'RSA-SHA256', signatureBytes: 256 });
      expect(r.certificate).toMatchObject({ institutionCode: '3501200000', cardType: '醫事機構卡' });
      expect(loadedModules()).toEqual([]);
    }
    // SHA-1 with RSA too (the HCA card offers both)
    const sha1 = await using(t, async () => {
      const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: t.pin } });
      try {
        return await testCard(card, { clock, algorithm: 'RSA-SHA1' });
      } finally {
        await card.close();
      }
    });
    expect(sha1.algorithm).toBe('RSA-SHA1');
  });

  it('moves between two token folders in one process (the module is finalized in between)', async () => {
    const a = await token({ label: 'A', institutionCode: '1111111111' });
    const b = await token({ label: 'B', institutionCode: '2222222222' });
    for (const [t, code] of [[a, '1111111111'], [b, '2222222222'], [a, '1111111111']] as const) {
      const cert = await using(t, async () => {
        const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: t.pin } });
        try {
          await card.sign(Buffer.from('x'));
          return card.certificate();
        } finally {
          await card.close();
        }
      });
      expect(cert.institutionCode).toBe(code);
    }
  });

  it('signs with raw CKM_RSA_PKCS when the token lacks the hashing RSA mechanisms', async () => {
    const t = await token({ disabledMechanisms: ['CKM_SHA256_RSA_PKCS', 'CKM_SHA1_RSA_PKCS'] });
    await using(t, async () => {
      const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: t.pin } });
      try {
        const cert = await card.certificate();
        for (const alg of ['RSA-SHA256', 'RSA-SHA1'] as const) {
          const sig = await card.sign(Buffer.from('nonce'), alg);
          expect(verifySignature(cert.pem, Buffer.from('nonce'), sig.signature, alg)).toBe(true);
        }
      } finally {
        await card.close();
      }
    });
  });

  it('signs ECDSA on the token (labup hashes, the signature comes back as DER)', async () => {
    // given an EC key generated on the token at CKA_ID 03, certified by a CA (openssl)
    const t = await token();
    pkcs11Tool(t, ['--token-label', t.label, '--login', '--pin', t.pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--id', '03', '--label', 'ec']);
    pkcs11Tool(t, ['--token-label', t.label, '--read-object', '--type', 'pubkey', '--id', '03', '-o', join(t.dir, 'ec.der')]);
    execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(t.dir, 'ec.der'), '-out', join(t.dir, 'ec-pub.pem')]);
    writeFileSync(join(t.dir, 'ca.pem'), t.ca.certPem);
    writeFileSync(join(t.dir, 'ca.key'), t.ca.keyPem);
    execFileSync('openssl', ['x509', '-new', '-subj', '/C=TW/CN=EC card/serialNumber=3501200000', '-CA', join(t.dir, 'ca.pem'), '-CAkey', join(t.dir, 'ca.key'), '-force_pubkey', join(t.dir, 'ec-pub.pem'), '-days', '30', '-out', join(t.dir, 'ec.pem')], { stdio: 'pipe' });
    const ecPem = readFileSync(join(t.dir, 'ec.pem'), 'utf8');
    await using(t, () => storeCertificate({ modulePath: t.modulePath, tokenLabel: t.label, pin: t.pin, certPem: ecPem, id: 3, label: 'ec' }));
    // when labup signs with it
    const r = await using(t, async () => {
      const card = await openCard(`pkcs11:token=${t.label};id=%03?module-path=${t.modulePath}`, { pinSource: 'env:PIN', env: { PIN: t.pin } });
      try {
        return await testCard(card, { clock: fixedClock(new Date()) });
      } finally {
        await card.close();
      }
    });
    // then the DER signature verifies with the certificate
    expect(r).toMatchObject({ algorithm: 'ECDSA-SHA256', verified: true, certificate: { keyType: 'EC', keyBits: 256 } });
  });
});

describe('PKCS#11 errors on a real module', () => {
  it('a wrong PIN is CARD_WRONG_PIN and leaves the token’s count-low flag (one try)', async () => {
    const t = await token();
    expect(t.tokenFlags()).not.toMatch(/count low/);
    await using(t, async () => {
      const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: '999999' } });
      try {
        await expect(card.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_WRONG_PIN', exitCode: 4, details: { countLow: true } });
      } finally {
        await card.close();
      }
    });
    expect(t.tokenFlags()).toMatch(/user PIN count low/);
    expect(loadedModules()).toEqual([]);
    // card list shows it, and after a login with the right PIN shows the reset counter
    const before = await using(t, () => listCards({ clock, modulePath: t.modulePath }));
    expect(before.warnings.map((w) => w.code)).toEqual(['CARD_PIN_COUNT_LOW']);
    const after = await using(t, () => listCards({ clock, card: `pkcs11:token=${t.label}?module-path=${t.modulePath}`, login: true, pinSource: 'env:PIN', env: { PIN: t.pin } }));
    expect(after.slots[0]!.token!.pin.countLow).toBe(false);
    expect(after.warnings).toEqual([]);
    expect(t.tokenFlags()).not.toMatch(/count low/);
  });

  it('an empty module is CARD_NO_TOKEN, another label CARD_TOKEN_NOT_FOUND', async () => {
    const empty = createSoftHsm();
    cleanups.push(() => empty.cleanup());
    await using(empty, async () => {
      await expect(openCard(`pkcs11:?module-path=${SOFTHSM_MODULE}`, { pinSource: 'env:PIN', env: { PIN: '123456' } })).rejects.toMatchObject({ code: 'CARD_NO_TOKEN', exitCode: 4, message: expect.stringMatching(/not initialized/) });
    });
    const t = await token({ label: 'HCA' });
    await using(t, async () => {
      await expect(openCard(`pkcs11:token=OTHER?module-path=${SOFTHSM_MODULE}`, {})).rejects.toMatchObject({ code: 'CARD_TOKEN_NOT_FOUND', message: expect.stringContaining('“HCA”') });
    });
    expect(loadedModules()).toEqual([]);
  });

  it('a certificate without its private key is CARD_NO_KEY; card list says so after login', async () => {
    const t = await token({ key: 'none' });
    await using(t, async () => {
      const card = await openCard(t.uri, { pinSource: 'env:PIN', env: { PIN: t.pin } });
      try {
        await expect(testCard(card, { clock })).rejects.toMatchObject({ code: 'CARD_NO_KEY', exitCode: 4 });
      } finally {
        await card.close();
      }
      const before = await listCards({ clock, modulePath: t.modulePath });
      expect(before.slots[0]!.token!.certificates.find((c) => c.id === '01')!.privateKey).toBe('unknown');
      const after = await listCards({ clock, card: `pkcs11:token=${t.label}?module-path=${t.modulePath}`, login: true, pinSource: 'env:PIN', env: { PIN: t.pin } });
      expect(after.slots).toHaveLength(1);
      expect(after.slots[0]!.token!.loggedIn).toBe(true);
      expect(after.slots[0]!.token!.certificates.map((c) => [c.id, c.privateKey])).toEqual([
        ['00', 'absent'],
        ['01', 'absent'],
      ]);
    });
    const good = await token();
    const listed = await using(good, () => listCards({ clock, card: `pkcs11:token=${good.label}?module-path=${good.modulePath}`, login: true, pinSource: 'env:PIN', env: { PIN: good.pin } }));
    expect(listed.slots[0]!.token!.certificates.map((c) => [c.id, c.role, c.privateKey, c.publicKey])).toEqual([
      ['00', 'ca', 'absent', false],
      ['01', 'signing', 'present', true],
    ]);
  });

  it('expired and not-yet-valid certificates are refused before the PIN is used', async () => {
    const expired = await token({ notBefore: new Date('2024-01-01'), notAfter: new Date(TOKEN_NOW.getTime() - 86_400_000) });
    await using(expired, async () => {
      const card = await openCard(expired.uri, { pinSource: 'env:PIN', env: { PIN: 'wrong-pin-never-used' } });
      try {
        await expect(testCard(card, { clock })).rejects.toMatchObject({ code: 'CARD_CERT_EXPIRED', exitCode: 4 });
      } finally {
        await card.close();
      }
    });
    expect(expired.tokenFlags()).not.toMatch(/count low/);
    const early = await token({ notBefore: new Date(TOKEN_NOW.getTime() + 86_400_000), notAfter: new Date('2030-01-01') });
    await using(early, async () => {
      const card = await openCard(early.uri, { pinSource: 'env:PIN', env: { PIN: early.pin } });
      try {
        await expect(testCard(card, { clock })).rejects.toMatchObject({ code: 'CARD_CERT_NOT_YET_VALID', exitCode: 4 });
      } finally {
        await card.close();
      }
    });
  });

  it('lists two tokens of one module; an open without a token name is ambiguous', async () => {
    const hsm = createSoftHsm();
    cleanups.push(() => hsm.cleanup());
    await createSoftHsmToken({ softhsm: hsm, label: 'first', institutionCode: '1111111111' });
    await createSoftHsmToken({ softhsm: hsm, label: 'second', institutionCode: '2222222222', notAfter: new Date(TOKEN_NOW.getTime() + 10 * 86_400_000) });
    await using(hsm, async () => {
      const r = await listCards({ clock, modulePath: SOFTHSM_MODULE });
      // (SoftHSM orders its slots by their random IDs)
      const tokens = r.slots.filter((s) => s.token).map((s) => [s.token!.label, s.token!.certificates.find((c) => c.id === '01')!.institutionCode]).sort();
      expect(tokens).toEqual([
        ['first', '1111111111'],
        ['second', '2222222222'],
      ]);
      expect(r.warnings).toEqual([expect.objectContaining({ code: 'CARD_CERT_EXPIRING', message: expect.stringMatching(/10 days left/) })]);
      await expect(openCard(`pkcs11:id=%01?module-path=${SOFTHSM_MODULE}`, {})).rejects.toMatchObject({ code: 'CARD_TOKEN_AMBIGUOUS' });
      await expect(listCards({ clock, modulePath: SOFTHSM_MODULE, login: true, pinSource: 'env:PIN', env: { PIN: '123456' } })).rejects.toMatchObject({ code: 'CARD_LOGIN_WHICH', exitCode: 2 });
    });
  });
});
