import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createCa, issueSoftwareCard } from '../../src/card/sandbox-ca.js';
import { signInPayload } from '../../src/transport/protocol.js';
import { cardFrom, DEMO_USER, testSandbox, type TestSandbox } from './sandbox-support.js';

describe('sandbox portal: sign-in with the card', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await testSandbox();
  });
  afterAll(() => t.stop());

  it('signs in the demo user with the demo card: the institution comes from the certificate', async () => {
    const s = await t.newClient().signIn({ card: t.card, userId: 'a123456789' });
    expect(s).toMatchObject({ institutionCode: '3501200000', institutionName: 'labup 示範醫院', user: 'A12****789', idleTimeoutSeconds: 1200 });
  });

  it('refuses a certificate from another CA, an expired one, and a signature by another key (exit 4)', async () => {
    const foreign = createCa(t.clock.now(), { name: 'not the sandbox CA' });
    const foreignCard = cardFrom(issueSoftwareCard(foreign, { institutionCode: '3501200000', name: 'forged', notBefore: new Date(t.clock.now().getTime() - 3600_000), notAfter: new Date(t.clock.now().getTime() + 86_400_000) }));
    await expect(t.newClient().signIn({ card: foreignCard, userId: DEMO_USER })).rejects.toMatchObject({ code: 'CERT_UNTRUSTED', exitCode: 4 });

    const expired = cardFrom(t.sb.admin.issueCard({ institutionCode: '3501200000', notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2026-11-01T00:00:00Z') }));
    await expect(t.newClient().signIn({ card: expired, userId: DEMO_USER })).rejects.toMatchObject({ code: 'CERT_EXPIRED', exitCode: 4 });

    const notYet = cardFrom(t.sb.admin.issueCard({ institutionCode: '3501200000', notBefore: new Date('2027-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') }));
    await expect(t.newClient().signIn({ card: notYet, userId: DEMO_USER })).rejects.toMatchObject({ code: 'CERT_NOT_YET_VALID' });

    // the demo certificate presented with a signature made by another key
    const other = t.sb.admin.issueCard({ institutionCode: '3501200000' });
    const demoCert = await t.card.certificate();
    const mixed = cardFrom({ certPem: other.certPem, keyPem: other.keyPem });
    const impostor = { label: 'impostor', certificate: async () => demoCert, sign: (d: Buffer) => mixed.sign(d), close: async () => undefined };
    await expect(t.newClient().signIn({ card: impostor, userId: DEMO_USER })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID', exitCode: 4 });
  });

  it('refuses an unregistered user or institution', async () => {
    await expect(t.newClient().signIn({ card: t.card, userId: 'B123456780' })).rejects.toMatchObject({ code: 'USER_NOT_REGISTERED', exitCode: 4 });
    const unknown = cardFrom(t.sb.admin.issueCard({ institutionCode: '0000000001' }));
    await expect(t.newClient().signIn({ card: unknown, userId: DEMO_USER })).rejects.toMatchObject({ code: 'INSTITUTION_UNKNOWN', exitCode: 4 });
    // registered, it may sign in
    t.sb.admin.addInstitution('0000000001', '測試診所');
    t.sb.admin.addUser('0000000001', 'B123456780');
    expect((await t.newClient().signIn({ card: unknown, userId: 'B123456780' })).institutionCode).toBe('0000000001');
  });

  it('uses each challenge once', async () => {
    const challenge = await (await request(`${t.sb.url}/api/v1/session/challenge`, { method: 'POST' })).body.json() as { nonce: string };
    const cert = await t.card.certificate();
    const sig = await t.card.sign(signInPayload(challenge.nonce, DEMO_USER));
    const body = JSON.stringify({ nonce: challenge.nonce, userId: DEMO_USER, certificate: cert.pem, signature: sig.signature.toString('base64'), algorithm: sig.algorithm });
    const post = () => request(`${t.sb.url}/api/v1/session`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post()).statusCode).toBe(201);
    const again = await post();
    expect(again.statusCode).toBe(401);
    expect(await again.body.json()).toMatchObject({ error: { code: 'CHALLENGE_INVALID' } });
  });

  it('ends a session after 20 idle minutes; the client signs in again by itself', async () => {
    const client = t.newClient();
    await client.signIn({ card: t.card, userId: DEMO_USER });
    await client.listSubmissions();
    const signIns = () => (t.sb.admin.db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
    const before = signIns();
    t.clock.advance(21 * 60_000);
    await client.listSubmissions();
    expect(signIns()).toBe(before + 1);
    // without a session, the API answers 401 with a code
    const raw = await request(`${t.sb.url}/api/v1/submissions`);
    expect(raw.statusCode).toBe(401);
    expect(await raw.body.json()).toMatchObject({ error: { code: 'SESSION_REQUIRED' } });
  });

  it('sends the portal’s time in the Date header and the service description', async () => {
    const res = await request(`${t.sb.url}/api/v1`);
    expect(new Date(String(res.headers.date)).getTime()).toBe(Math.floor(t.clock.now().getTime() / 1000) * 1000);
    expect(await res.body.json()).toMatchObject({ protocol: '1', job: { name: '檢驗(查)結果每日上傳作業', code: '1300' }, sandbox: true });
  });
});
