import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cardTypeOf, parseCertificate, validity, verifySignature } from '../../../src/card/certificate.js';
import { openCard } from '../../../src/card/open.js';
import { createCa, issueSoftwareCard, toPkcs12 } from '../../../src/card/sandbox-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'labup-card-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date('2026-11-25T12:00:00Z');
const ca = createCa(now);

describe('sandbox CA and software cards', () => {
  it('issues institution certificates laid out like HCA cards', () => {
    // given a certificate issued for institution 3501200000 as a 醫事機構卡
    const card = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'labup 示範醫院', notBefore: now, notAfter: new Date('2027-11-25T00:00:00Z') });
    const cert = parseCertificate(card.certPem);
    // then labup reads back the institution code, the card type, the key
    expect(cert).toMatchObject({ institutionCode: '3501200000', cardType: '醫事機構卡', keyType: 'RSA', keyBits: 2048 });
    expect(cert.issuer).toContain('labup sandbox CA');
    expect(cardTypeOf(cert.der)).toBe('醫事機構卡');
    expect(validity(cert, now)).toMatchObject({ state: 'valid', daysLeft: 364 });
    expect(validity(cert, new Date('2028-01-01')).state).toBe('expired');
  });

  it('carries the personnel card type too', () => {
    const card = issueSoftwareCard(ca, { institutionCode: '3501200000', name: '王小明', cardType: '醫事人員卡', notBefore: now, notAfter: new Date('2027-01-01') });
    expect(parseCertificate(card.certPem).cardType).toBe('醫事人員卡');
  });

  it('opens a .p12 with the passphrase from the environment and signs verifiably', async () => {
    const card = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'labup 示範醫院', notBefore: now, notAfter: new Date('2027-11-25') });
    const p12 = join(dir, 'card.p12');
    writeFileSync(p12, toPkcs12(card, ca.certPem, 'pass-1234'));
    const opened = await openCard(`p12:${p12}`, { pinSource: 'env:TEST_P12_PASS', env: { TEST_P12_PASS: 'pass-1234' } });
    const sig = await opened.sign(Buffer.from('nonce-1'));
    const cert = await opened.certificate();
    expect(sig.algorithm).toBe('RSA-SHA256');
    expect(verifySignature(cert.pem, Buffer.from('nonce-1'), sig.signature, sig.algorithm)).toBe(true);
    expect(verifySignature(cert.pem, Buffer.from('nonce-2'), sig.signature, sig.algorithm)).toBe(false);
    await opened.close();
  });

  it('tells a wrong passphrase (exit 4) from a missing secret (exit 2)', async () => {
    const card = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'x', notBefore: now, notAfter: new Date('2027-11-25') });
    const p12 = join(dir, 'card2.p12');
    writeFileSync(p12, toPkcs12(card, ca.certPem, 'right'));
    await expect(openCard(`p12:${p12}`, { pinSource: 'env:P', env: { P: 'wrong' } })).rejects.toMatchObject({ code: 'CARD_WRONG_PIN', exitCode: 4 });
    await expect(openCard(`p12:${p12}`, { pinSource: 'env:P', env: {} })).rejects.toMatchObject({ code: 'SECRET_MISSING', exitCode: 2 });
  });
});
