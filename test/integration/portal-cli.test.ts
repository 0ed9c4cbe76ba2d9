import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueSoftwareCard, toPkcs12 } from '../../src/card/sandbox-ca.js';
import { faultOnce } from '../../src/sandbox/faults.js';
import { fixture, labup } from '../helpers/cli.js';
import { tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

/** The real binary against a portal at a URL (a sandbox the test runs), signing in with --card. */
describe('labup against a portal URL: sign-in, journal, faults', () => {
  let t: TestSandbox;
  const home = tempDir('labup-home-');
  const cards = tempDir('labup-cards-');
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testSandbox();
    env = t.env(home.path);
  });
  afterAll(async () => {
    await t.stop();
    home.remove();
    cards.remove();
  });

  const p12 = (name: string, material: { certPem: string; keyPem: string }, caPem: string) => {
    const path = join(cards.path, name);
    writeFileSync(path, toPkcs12(material, caPem, 'pass-1234'));
    return path;
  };

  it('refuses a card from another CA, an expired card, and an unregistered user (exit 4)', async () => {
    const now = t.clock.now();
    const foreignCa = createCa(now, { name: 'some other CA' });
    const foreign = p12('foreign.p12', issueSoftwareCard(foreignCa, { institutionCode: '3501200000', name: 'x', notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + 86_400_000) }), foreignCa.certPem);
    const expired = p12('expired.p12', t.sb.admin.issueCard({ institutionCode: '3501200000', notBefore: new Date('2025-01-01'), notAfter: new Date('2026-01-01') }), t.sb.caCertPem);
    const withCard = { ...env, LABUP_PIN_SOURCE: 'env:P12_PASS', P12_PASS: 'pass-1234' };
    const a = await labup(['upload', fixture('valid/TOTFA.zip'), '--card', `p12:${foreign}`], { env: withCard });
    expect(a.code).toBe(4);
    expect(a.stderr).toContain('[CERT_UNTRUSTED]');
    const b = await labup(['status', '--card', `p12:${expired}`], { env: withCard });
    expect(b.code).toBe(4);
    expect(b.stderr).toContain('[CERT_EXPIRED]');
    const c = await labup(['status'], { env: { ...env, DEMO_USER_ID: 'B123456780' } });
    expect(c.code).toBe(4);
    expect(c.stderr).toContain('[USER_NOT_REGISTERED]');
    expect(c.stderr).not.toContain('B123456780');
    expect(t.sb.admin.counts().submissions).toBe(0);
  });

  it('journals the upload before sending: an answer lost in transit is found at the portal and adopted, one submission', async () => {
    // given a portal that receives the upload and then drops every connection on its way back
    t.sb.admin.setFaults(faultOnce((p) => p.phase === 'upload-committed', { kind: 'reset' }, 5));
    const lost = await labup(['upload', fixture('valid/TOTFA.zip'), '--retries', '2', '--json'], { env });
    // then labup asks the portal what it received for the 上傳日期, and adopts it instead of sending again
    expect(lost.code).toBe(0);
    const doc = JSON.parse(lost.stdout);
    expect(doc).toMatchObject({ receiptNo: t.sb.admin.submissions()[0]!.receiptNo, replayed: true, adopted: true });
    expect(lost.stderr).toContain('adopted');
    expect(t.sb.admin.counts().submissions).toBe(1);
    const db = () => openDatabase(join(home.path, 'labup.db'), { readonly: true });
    const d = db();
    expect(d.prepare('SELECT state, receipt_no, attempts, confirmed_by FROM submissions').all()).toEqual([{ state: 'sent', receipt_no: doc.receiptNo, attempts: 1, confirmed_by: 'adopted' }]);
    d.close();
    // a second run does not send the ZIP at all: it confirms the receipt with the portal
    t.sb.admin.setFaults(undefined);
    const requests = t.sb.admin.counts().requests;
    const again = await labup(['upload', fixture('valid/TOTFA.zip')], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already sent');
    expect(t.sb.admin.counts().requests - requests).toBe(4); // challenge, session, status, sign-out
    expect(t.sb.admin.counts().submissions).toBe(1);
  });

  it('records 處理狀態 in the journal as it learns it', async () => {
    await t.processAll();
    const r = await labup(['status', '--json'], { env });
    expect(r.code).toBe(0);
    const d = openDatabase(join(home.path, 'labup.db'), { readonly: true });
    expect(d.prepare('SELECT status, status_text, error_count FROM submissions').get()).toEqual({ status: 'passed', status_text: '檢核正確', error_count: 0 });
    d.close();
  });

  it('refuses --sandbox together with --portal, and a bad --retries', async () => {
    expect((await labup(['status', '--sandbox', '--portal', 'http://127.0.0.1:9'], { env })).code).toBe(2);
    expect((await labup(['status', '--retries', '0'], { env })).code).toBe(2);
  });
});
