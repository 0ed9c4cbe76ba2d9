import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../../src/card/certificate.js';
import { openCard } from '../../../src/card/open.js';
import { ecdsaRawToDer, openPkcs11Card } from '../../../src/card/pkcs11.js';
import { CKM_RSA_PKCS, CKO_CERTIFICATE, CKO_PRIVATE_KEY, pkcs11Failure } from '../../../src/card/pkcs11-constants.js';
import { listCards } from '../../../src/card/card-list.js';
import { fixedClock } from '../../../src/clock.js';
import { acquireModule, loadedModules } from '../../../src/card/pkcs11-module.js';
import { createCa, issueCertificate, issueSoftwareCard } from '../../../src/card/sandbox-ca.js';
import { recordingHost } from '../../../src/io-host.js';
import { scriptedPrompter } from '../../../src/prompts.js';
import { FakeModule, fakeLoader, type FakeToken } from './fake-pkcs11.js';

const now = new Date('2026-11-25T12:00:00Z');
const ca = createCa(now);
const dir = mkdtempSync(join(tmpdir(), 'labup-fake-p11-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The HCA module's name: its PIN rules (6–8 characters) apply.
const HCA_DLL = join(dir, 'HCAPKCS11.dll');
const OTHER = join(dir, 'other-pkcs11.so');
writeFileSync(HCA_DLL, '');
writeFileSync(OTHER, '');

function der(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

/** An HCA card: CA certificate at 00, signing certificate + key at 01, encryption at 02. */
const SIGN_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ENC_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 });

function hcaCard(over: Partial<FakeToken> = {}): FakeToken {
  const sign = SIGN_KEY;
  const enc = ENC_KEY;
  const issue = (pub: typeof sign.publicKey) =>
    der(issueCertificate(ca, { publicKeyPem: pub.export({ type: 'spki', format: 'pem' }) as string, institutionCode: '3501200000', name: 'labup 示範醫院', notBefore: now, notAfter: new Date('2028-01-01') }));
  return {
    label: 'HCA',
    serial: '0000123456',
    pin: '123456',
    objects: [
      { class: CKO_CERTIFICATE, id: Buffer.from([0]), label: 'CA', value: der(ca.certPem) },
      { class: CKO_CERTIFICATE, id: Buffer.from([1]), label: 'sign', value: issue(sign.publicKey) },
      { class: CKO_PRIVATE_KEY, id: Buffer.from([1]), label: 'sign', key: sign.privateKey },
      { class: CKO_CERTIFICATE, id: Buffer.from([2]), label: 'enc', value: issue(enc.publicKey) },
      { class: CKO_PRIVATE_KEY, id: Buffer.from([2]), label: 'enc', key: enc.privateKey },
    ],
    ...over,
  };
}

function open(mod: FakeModule, uri: string, pin: string | (() => Promise<string>), extra: { interactive?: boolean; host?: ReturnType<typeof recordingHost> } = {}) {
  const asked: string[] = [];
  const card = openPkcs11Card(uri, {
    pin: typeof pin === 'string' ? async () => (asked.push('pin'), pin) : pin,
    loader: fakeLoader(mod),
    ...(extra.interactive !== undefined ? { interactive: extra.interactive } : {}),
    ...(extra.host ? { host: extra.host } : {}),
  });
  return { card, asked };
}

beforeEach(() => {
  // Every test leaves no module loaded behind.
  expect(loadedModules()).toEqual([]);
});

describe('PKCS#11 card, HCA layout', () => {
  it('takes the signing certificate (CKA_ID 01), signs on the token and cleans up on close', async () => {
    // given an HCA card with CA, signing and encryption certificates
    const mod = new FakeModule([hcaCard()]);
    // when the card is opened without naming an object, and signs
    const { card, asked } = open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456');
    const c = await card;
    const cert = await c.certificate();
    expect(asked).toEqual([]); // the certificate needs no PIN
    const sig = await c.sign(Buffer.from('nonce'));
    // then it used the 01 pair, logged in once and the signature verifies
    expect(c.objectId).toBe('01');
    expect(c.label).toBe('pkcs11:token=HCA;serial=0000123456;id=%01');
    expect(cert.institutionCode).toBe('3501200000');
    expect(verifySignature(cert.pem, Buffer.from('nonce'), sig.signature, 'RSA-SHA256')).toBe(true);
    expect(mod.count('C_Login')).toBe(1);
    await c.sign(Buffer.from('again'));
    expect(mod.count('C_Login')).toBe(1);
    // and close logs out, closes the session and finalizes the module
    await c.close();
    await c.close();
    expect(mod.calls.slice(-4)).toEqual(['C_Logout', 'C_CloseSession', 'C_Finalize', 'close']);
    expect(mod.initialized).toBe(false);
  });

  it('signs SHA-256 and SHA-1 with raw CKM_RSA_PKCS when the card offers no hashing mechanism', async () => {
    const mod = new FakeModule([hcaCard({ mechanisms: [CKM_RSA_PKCS] })]);
    const c = await open(mod, `pkcs11:token=HCA;id=%01?module-path=${HCA_DLL}`, '123456').card;
    const cert = await c.certificate();
    for (const alg of ['RSA-SHA256', 'RSA-SHA1'] as const) {
      const sig = await c.sign(Buffer.from('data'), alg);
      expect(verifySignature(cert.pem, Buffer.from('data'), sig.signature, alg)).toBe(true);
    }
    await c.close();
  });

  it('chooses by object label and id, and names the ambiguity when the URI cannot decide', async () => {
    const mod = new FakeModule([hcaCard()]);
    const enc = await open(mod, `pkcs11:token=HCA;object=enc?module-path=${HCA_DLL}`, '123456').card;
    expect(enc.objectId).toBe('02');
    await enc.close();
    const mod2 = new FakeModule([hcaCard({ objects: hcaCard().objects.filter((o) => !o.id.equals(Buffer.from([1]))) })]);
    // without 01, the two user certificates left are 02 only — CA is never chosen
    const c = await open(mod2, `pkcs11:?module-path=${HCA_DLL}`, '123456').card;
    expect(c.objectId).toBe('02');
    await c.close();
    await expect(open(mod, `pkcs11:token=HCA;id=%07?module-path=${HCA_DLL}`, '123456').card).rejects.toMatchObject({ code: 'CARD_CERT_NOT_FOUND', exitCode: 4 });
    expect(mod.initialized).toBe(false);
  });
});

describe('PIN: one try, never retried', () => {
  it('a wrong PIN is tried once, reported with the tries left, and never retried', async () => {
    // given a fresh HCA card (3 tries)
    const token = hcaCard();
    const mod = new FakeModule([token]);
    const uri = `pkcs11:token=HCA?module-path=${HCA_DLL}`;
    // when an unattended run gives a wrong PIN
    const c1 = await open(mod, uri, '654321').card;
    await expect(c1.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_WRONG_PIN', exitCode: 4, details: { countLow: true, finalTry: false } });
    // then exactly one C_Login happened, and a second sign on the same card does not try again silently
    expect(mod.pinsTried).toEqual(['654321']);
    await c1.close();
    expect(token.triesLeft).toBe(2);
    // when the next run is wrong again, the card says one try is left
    const c2 = await open(mod, uri, '111111').card;
    const err = await c2.sign(Buffer.from('x')).catch((e) => e);
    expect(err).toMatchObject({ code: 'CARD_WRONG_PIN', details: { triesLeft: 1, finalTry: true } });
    expect(err.message).toMatch(/one try left before the card locks/);
    expect(err.hint).toMatch(/next wrong PIN locks this card/);
    await c2.close();
    // then an unattended run refuses to spend the final try — no C_Login, the PIN is not even read
    const third = open(mod, uri, '222222');
    const c3 = await third.card;
    await expect(c3.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_PIN_FINAL_TRY', exitCode: 4, details: { triesLeft: 1 } });
    expect(third.asked).toEqual([]);
    await c3.close();
    expect(mod.pinsTried).toHaveLength(2);
    expect(token.triesLeft).toBe(1);
    // and a person at the prompt may use it: the right PIN resets the counter
    const c4 = await open(mod, uri, '123456', { interactive: true }).card;
    await c4.sign(Buffer.from('x'));
    await c4.close();
    expect(token.triesLeft).toBe(3);
  });

  it('a locked card is reported without asking for or trying a PIN', async () => {
    const mod = new FakeModule([hcaCard({ triesLeft: 0 })]);
    const o = open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456', { interactive: true });
    const c = await o.card;
    await expect(c.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_PIN_LOCKED', exitCode: 4, details: { triesLeft: 0 } });
    expect(o.asked).toEqual([]);
    expect(mod.count('C_Login')).toBe(0);
    await c.close();
  });

  it('the wrong PIN that locks the card says so', async () => {
    const mod = new FakeModule([hcaCard({ triesLeft: 1 })]);
    const c = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '000000', { interactive: true }).card;
    await expect(c.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_PIN_LOCKED', message: expect.stringMatching(/now locked/) });
    await c.close();
  });

  it('a PIN of the wrong length for an HCA card (6–8) is refused before it reaches the card', async () => {
    const token = hcaCard();
    const mod = new FakeModule([token]);
    for (const pin of ['12345', '123456789']) {
      const c = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, pin).card;
      await expect(c.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_PIN_FORMAT', exitCode: 4 });
      await c.close();
    }
    expect(mod.count('C_Login')).toBe(0);
    expect(token.triesLeft).toBeUndefined();
  });

  it('other modules use the limits their token reports', async () => {
    const mod = new FakeModule([hcaCard({ minPinLen: 4, maxPinLen: 16, pin: '1234' })]);
    const c = await open(mod, `pkcs11:token=HCA?module-path=${OTHER}`, '1234').card;
    await c.sign(Buffer.from('x'));
    await c.close();
  });

  it('a PIN-pad reader gets no PIN from labup', async () => {
    const mod = new FakeModule([hcaCard({ protectedPath: true })]);
    const host = recordingHost();
    const o = open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, 'unused', { host });
    const c = await o.card;
    await c.sign(Buffer.from('x'));
    expect(o.asked).toEqual([]);
    expect(mod.pinsTried).toEqual([undefined]);
    expect(host.messages.map((m) => m.code)).toContain('CARD_PIN_PAD');
    await c.close();
  });

  it('a key that wants the PIN for each signature gets a context-specific login', async () => {
    const token = hcaCard();
    token.objects.find((o) => o.class === CKO_PRIVATE_KEY && o.id[0] === 1)!.alwaysAuthenticate = true;
    const mod = new FakeModule([token]);
    const c = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    const sig = await c.sign(Buffer.from('x'));
    expect(verifySignature((await c.certificate()).pem, Buffer.from('x'), sig.signature, 'RSA-SHA256')).toBe(true);
    expect(mod.count('C_Login')).toBe(2);
    await c.close();
  });

  it('openCard reads the PIN from the source in the URI, and a prompt counts as a person', async () => {
    const mod = new FakeModule([hcaCard({ triesLeft: 1 })]);
    const prompter = scriptedPrompter(['123456']);
    const c = await openCard(`pkcs11:token=HCA?module-path=${HCA_DLL}`, { prompter, loader: fakeLoader(mod) });
    await c.sign(Buffer.from('x'));
    expect(prompter.asked).toEqual(['card PIN:']);
    await c.close();
    const mod2 = new FakeModule([hcaCard()]);
    const c2 = await openCard(`pkcs11:token=HCA?module-path=${HCA_DLL}&pin-source=env:MY_PIN`, { pinSource: 'env:OTHER', env: { MY_PIN: '123456' }, loader: fakeLoader(mod2) });
    await c2.sign(Buffer.from('x'));
    await c2.close();
  });
});

describe('token and key errors', () => {
  it('tells no token, no matching token, an empty slot and an ambiguous choice apart', async () => {
    const empty = new FakeModule([null]);
    await expect(open(empty, `pkcs11:?module-path=${HCA_DLL}`, '123456').card).rejects.toMatchObject({ code: 'CARD_NO_TOKEN', exitCode: 4 });
    const mod = new FakeModule([null, hcaCard(), hcaCard({ label: 'OTHER', serial: '99' })]);
    const wrong = await open(mod, `pkcs11:token=NOPE?module-path=${HCA_DLL}`, '123456').card.catch((e) => e);
    expect(wrong).toMatchObject({ code: 'CARD_TOKEN_NOT_FOUND', exitCode: 4 });
    expect(wrong.message).toContain('“HCA” (serial 0000123456)');
    await expect(open(mod, `pkcs11:slot-id=0?module-path=${HCA_DLL}`, '123456').card).rejects.toMatchObject({ code: 'CARD_TOKEN_NOT_PRESENT' });
    await expect(open(mod, `pkcs11:?module-path=${HCA_DLL}`, '123456').card).rejects.toMatchObject({ code: 'CARD_TOKEN_AMBIGUOUS' });
    const bySlot = await open(mod, `pkcs11:slot-id=2?module-path=${HCA_DLL}`, '123456').card;
    expect(bySlot.token.label).toBe('OTHER');
    await bySlot.close();
    // every failed open released the module again
    expect(mod.count('C_Initialize')).toBe(mod.count('C_Finalize'));
  });

  it('no private key with the certificate’s CKA_ID, or a key of another certificate, is CARD_NO_KEY', async () => {
    const noKey = hcaCard();
    noKey.objects = noKey.objects.filter((o) => !(o.class === CKO_PRIVATE_KEY && o.id[0] === 1));
    const mod = new FakeModule([noKey]);
    const c = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    await expect(c.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_NO_KEY', exitCode: 4, message: expect.stringMatching(/no private key with the certificate’s CKA_ID 01/) });
    await c.close();
    const swapped = hcaCard();
    const other = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'x', notBefore: now, notAfter: new Date('2028-01-01') });
    swapped.objects.find((o) => o.class === CKO_CERTIFICATE && o.id[0] === 1)!.value = der(other.certPem);
    const mod2 = new FakeModule([swapped]);
    const c2 = await open(mod2, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    await expect(c2.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'CARD_NO_KEY', message: expect.stringMatching(/does not belong/) });
    await c2.close();
  });
});

describe('module leases', () => {
  it('shares one initialization between open cards and finalizes after the last close', async () => {
    const mod = new FakeModule([hcaCard()]);
    const a = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    const b = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    expect(mod.count('C_Initialize')).toBe(1);
    await a.close();
    expect(mod.initialized).toBe(true);
    await b.close();
    expect(mod.count('C_Finalize')).toBe(1);
    // and opens again in the same process
    const c = await open(mod, `pkcs11:token=HCA?module-path=${HCA_DLL}`, '123456').card;
    await c.sign(Buffer.from('x'));
    await c.close();
    expect(mod.count('C_Initialize')).toBe(2);
  });

  it('never finalizes a module someone else in the process initialized', async () => {
    const mod = new FakeModule([hcaCard()]);
    mod.initialized = true;
    const lease = await acquireModule(HCA_DLL, { loader: fakeLoader(mod) });
    lease.release();
    expect(mod.count('C_Finalize')).toBe(0);
    expect(mod.initialized).toBe(true);
  });
});

describe('ECDSA signatures', () => {
  it('turns the token’s r||s into DER that verifiers accept, whatever the leading bits', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // many signatures: some r or s start with a 1 bit (needs a 0x00 pad), some with zero bytes
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`nonce ${i}`);
      const raw = cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(raw).toHaveLength(64);
      const der = ecdsaRawToDer(raw);
      expect(der[0]).toBe(0x30);
      expect(cryptoVerify('sha256', data, publicKey, der)).toBe(true);
    }
    expect(() => ecdsaRawToDer(Buffer.alloc(3))).toThrow(/odd length/);
  });
});

describe('card list on an HCA-like card', () => {
  it('shows the HCA PIN rules and the PIN state, and warns about the last try', async () => {
    // given a reader with an HCA card that has seen two wrong PINs, and an empty reader
    const mod = new FakeModule([hcaCard({ triesLeft: 1 }), null]);
    // when listing (no PIN)
    const r = await listCards({ clock: fixedClock(now), modulePath: HCA_DLL, loader: fakeLoader(mod) });
    // then
    expect(mod.count('C_Login')).toBe(0);
    expect(r.slots.map((s) => s.tokenPresent)).toEqual([true, false]);
    const t = r.slots[0]!.token!;
    expect(t.pin).toMatchObject({ finalTry: true, countLow: true, locked: false, triesLeft: 1, minLength: 6, maxLength: 8 });
    expect(t.certificates.map((c) => [c.id, c.role, c.cardType, c.privateKey])).toEqual([
      ['00', 'ca', null, 'unknown'],
      ['01', 'signing', '醫事機構卡', 'unknown'],
      ['02', 'encryption', '醫事機構卡', 'unknown'],
    ]);
    expect(r.warnings.map((w) => w.code)).toEqual(['CARD_PIN_FINAL_TRY']);
    expect(mod.initialized).toBe(false);
  });

  it('a token whose objects cannot be read is shown with the problem; the others still are', async () => {
    const mod = new FakeModule([hcaCard(), hcaCard({ label: 'SECOND', serial: '2' })]);
    const real = mod.C_FindObjectsInit.bind(mod);
    let calls = 0;
    mod.C_FindObjectsInit = (s, t) => {
      if (calls++ === 0) throw pkcs11Failure(0x32, 'CKR_DEVICE_REMOVED', 'C_FindObjectsInit');
      real(s, t);
    };
    const r = await listCards({ clock: fixedClock(now), modulePath: HCA_DLL, loader: fakeLoader(mod) });
    expect(r.slots[0]!.token!.problem).toMatch(/card was removed/);
    expect(r.slots[1]!.token!.certificates).toHaveLength(3);
    expect(r.warnings.map((w) => w.code)).toEqual(['CARD_TOKEN_UNUSABLE']);
  });
});
