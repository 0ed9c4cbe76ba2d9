import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labup } from '../helpers/cli.js';
import { SAMPLE_CONTACTS } from '../../src/sandbox/samples.js';
import { tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

async function admin(t: TestSandbox, method: 'PUT' | 'PATCH' | 'GET', json?: unknown, token = t.sb.adminToken) {
  const res = await request(`${t.sb.url}/api/v1/admin/contact`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('聯絡窗口 over HTTP and with the real binary', () => {
  let t: TestSandbox;
  const home = tempDir('labup-home-');
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testSandbox();
    env = { LABUP_HOME: home.path, LABUP_PORTAL: t.sb.url, NO_PROXY: '127.0.0.1' };
  });
  afterAll(async () => {
    await t.stop();
    home.remove();
  });

  it('publishes the sample contact window without a session', async () => {
    const c = await t.newClient().getContactWindow();
    expect(c).toEqual({ job: { name: '檢驗(查)結果每日上傳作業', code: '1300' }, contacts: SAMPLE_CONTACTS, updatedAt: '2026-11-25T21:00:00+08:00' });
  });

  it('labup contact shows unit, name, phone, e-mail and hours of each contact; --json the document', async () => {
    const r = await labup(['contact'], { env });
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stdout.split('\n').slice(0, 10)).toEqual([
      '聯絡窗口 — 檢驗(查)結果每日上傳作業 (1300)',
      '',
      '業務窗口',
      '  單位      沙盒示範署 醫務管理組（示範資料）',
      '  聯絡人    陳怡君',
      '  電話      (02) 0000-1300 分機 101',
      '  電子郵件  lab-upload@sandbox.invalid',
      '  服務時間  週一至週五 08:30–12:30、13:30–17:30',
      '  備註      上傳資料內容、檢核錯誤代碼、申請重送',
      '',
    ]);
    const j = await labup(['contact', '--json'], { env });
    expect(JSON.parse(j.stdout)).toMatchObject({ job: { code: '1300' }, contacts: [expect.objectContaining({ role: '業務窗口' }), expect.objectContaining({ role: '系統操作窗口' })] });
  });

  it('is edited through the admin API (admin token only) and labup contact shows the change', async () => {
    expect((await admin(t, 'PATCH', { contacts: [{ phone: '(02) 0000-2222' }] }, 'wrong')).status).toBe(403);
    const patched = await admin(t, 'PATCH', { contacts: [{ phone: '(02) 0000-2222' }] });
    expect(patched.status).toBe(200);
    expect(patched.json.contacts[0]).toMatchObject({ role: '業務窗口', phone: '(02) 0000-2222' });
    const bad = await admin(t, 'PUT', { contacts: [{ role: 'x' }] });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'BAD_REQUEST']);
    const put = await admin(t, 'PUT', { contacts: [{ role: '單一窗口', unit: '示範組', name: '王小華', phone: '(02) 0000-3333', email: 'one@sandbox.invalid', hours: '24 小時' }] });
    expect(put.json.contacts).toHaveLength(1);
    const r = await labup(['contact', '--json'], { env });
    expect(JSON.parse(r.stdout).contacts).toEqual([{ role: '單一窗口', unit: '示範組', name: '王小華', phone: '(02) 0000-3333', email: 'one@sandbox.invalid', hours: '24 小時' }]);
    // an empty window says so (exit 6)
    expect((await admin(t, 'PUT', { contacts: [] })).status).toBe(200);
    const none = await labup(['contact'], { env });
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('lists no contact');
  });

  it('works with --sandbox from an empty LABUP_HOME, and says what to do with no portal', async () => {
    const fresh = tempDir('labup-home-');
    try {
      const r = await labup(['contact', '--sandbox'], { env: { LABUP_HOME: fresh.path } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('系統操作窗口');
      const none = await labup(['contact'], { env: { LABUP_HOME: fresh.path } });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('[PORTAL_NOT_CONFIGURED]');
    } finally {
      fresh.remove();
    }
  });
});
