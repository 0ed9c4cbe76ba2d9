import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Card } from '../../../src/card/card.js';
import { testCard } from '../../../src/card/card-test.js';
import { createCa, issueSoftwareCard } from '../../../src/card/sandbox-ca.js';
import { SoftwareCard } from '../../../src/card/software.js';
import { expiryWarnings, summarizeCertificate } from '../../../src/card/summary.js';
import { parseCertificate } from '../../../src/card/certificate.js';
import { fixedClock } from '../../../src/clock.js';

const now = new Date('2026-11-25T13:00:00Z'); // 21:00 in Taipei
const ca = createCa(new Date('2025-01-01'));

function softwareCard(notBefore: Date, notAfter: Date, cardType?: '醫事人員卡' | '醫事機構卡'): SoftwareCard & { signs: number } {
  const m = issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'labup 示範醫院', notBefore, notAfter, ...(cardType ? { cardType } : {}) });
  const card = new SoftwareCard('p12:/tmp/test.p12', createPrivateKey(m.keyPem), m.certPem) as SoftwareCard & { signs: number };
  card.signs = 0;
  const sign = card.sign.bind(card);
  card.sign = async (...a) => {
    card.signs++;
    return sign(...a);
  };
  return card;
}

const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

describe('labup card test (core)', () => {
  it('signs a fresh nonce and verifies it with the certificate', async () => {
    const card = softwareCard(days(-10), days(400), '醫事人員卡');
    const r = await testCard(card, { clock: fixedClock(now) });
    expect(r).toMatchObject({ ok: true, verified: true, algorithm: 'RSA-SHA256', nonceBytes: 32, signatureBytes: 256, warnings: [] });
    expect(r.certificate).toMatchObject({ institutionCode: '3501200000', cardType: '醫事人員卡', name: 'labup 示範醫院', state: 'valid', daysLeft: 400 });
    expect(r.certificate.notAfter).toMatch(/\+08:00$/);
    // SHA-1 as well (the HCA card supports both)
    expect((await testCard(card, { clock: fixedClock(now), algorithm: 'RSA-SHA1' })).algorithm).toBe('RSA-SHA1');
  });

  it('warns within 30 days of expiry, not before', async () => {
    const r30 = await testCard(softwareCard(days(-10), days(30.5)), { clock: fixedClock(now) });
    expect(r30.warnings).toEqual([{ code: 'CARD_CERT_EXPIRING', where: 'p12:/tmp/test.p12', message: expect.stringMatching(/expires on 2026-12-26 \(30 days left\)/) }]);
    const r31 = await testCard(softwareCard(days(-10), days(31.5)), { clock: fixedClock(now) });
    expect(r31.warnings).toEqual([]);
  });

  it('an expired or not yet valid certificate is an error before any signature (no PIN spent)', async () => {
    const expired = softwareCard(days(-400), days(-2));
    await expect(testCard(expired, { clock: fixedClock(now) })).rejects.toMatchObject({ code: 'CARD_CERT_EXPIRED', exitCode: 4, message: expect.stringMatching(/expired on 2026-11-23 \(2 day\(s\) ago\)/) });
    expect(expired.signs).toBe(0);
    const early = softwareCard(days(3), days(400));
    await expect(testCard(early, { clock: fixedClock(now) })).rejects.toMatchObject({ code: 'CARD_CERT_NOT_YET_VALID', exitCode: 4, message: expect.stringMatching(/valid only from 2026-11-28 21:00/) });
    expect(early.signs).toBe(0);
  });

  it('a card whose key does not belong to its certificate fails verification', async () => {
    const good = softwareCard(days(-1), days(100));
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pem = (await good.certificate()).pem;
    const liar: Card = { label: 'pkcs11:token=LIAR', certificate: () => good.certificate(), sign: (d) => new SoftwareCard('x', stranger, pem).sign(d), close: async () => {} };
    await expect(testCard(liar, { clock: fixedClock(now) })).rejects.toMatchObject({ code: 'CARD_SIGNATURE_INVALID', exitCode: 4 });
  });

  it('summaries say expired and not-yet-valid in warnings too (card list)', () => {
    const cert = parseCertificate(issueSoftwareCard(ca, { institutionCode: '3501200000', name: 'A', notBefore: days(-400), notAfter: days(-1) }).certPem);
    expect(expiryWarnings(summarizeCertificate(cert, now), 'w')[0]!.code).toBe('CARD_CERT_EXPIRED');
    expect(expiryWarnings(summarizeCertificate(cert, days(-500)), 'w')[0]!.code).toBe('CARD_CERT_NOT_YET_VALID');
  });
});
