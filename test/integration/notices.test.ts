import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labup } from '../helpers/cli.js';
import { tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

/** A raw HTTP call to the sandbox (the admin API has no labup client: curl or this). */
async function http(base: string, method: string, path: string, o: { token?: string; json?: unknown; body?: Buffer; type?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.json !== undefined) headers['content-type'] = 'application/json';
  if (o.type) headers['content-type'] = o.type;
  const res = await request(base + path, { method: method as 'GET', headers, body: o.json !== undefined ? JSON.stringify(o.json) : o.body });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers: res.headers, bytes, json: type.startsWith('application/json') ? JSON.parse(bytes.toString('utf8')) : undefined };
}

describe('公告事項 over HTTP, and the admin API', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await testSandbox();
  });
  afterAll(() => t.stop());

  it('serves the sample notices newest first without a session, each with date, title, body and attachments', async () => {
    const anonymous = t.newClient();
    const p = await anonymous.listNotices();
    expect(p).toMatchObject({ page: 1, pageSize: 20, total: 4, totalPages: 1 });
    expect(p.items.map((n) => n.publishedDate)).toEqual(['115/11/24', '115/11/16', '115/10/26', '115/09/26']);
    const manual = p.items.at(-1)!;
    expect(manual).toMatchObject({ id: 1, title: '「檢驗(查)結果每日上傳作業」使用手冊', body: expect.stringContaining('使用手冊') });
    const pdf = manual.attachments[0]!;
    expect(pdf).toMatchObject({ name: '檢驗(查)結果每日上傳作業使用手冊.pdf', contentType: 'application/pdf' });
    // the bytes are what the listing says
    const got = await anonymous.downloadAttachment(manual.id, pdf.name);
    expect(got.data.length).toBe(pdf.size);
    expect(createHash('sha256').update(got.data).digest('hex')).toBe(pdf.sha256);
    expect(Buffer.from(got.data).subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    const raw = await http(t.sb.url, 'GET', `/api/v1/notices/1/attachments/${encodeURIComponent(pdf.name)}`);
    expect(raw.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent(pdf.name).replace(/[()]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`);
    expect(raw.headers['content-digest']).toBe(`sha-256=:${Buffer.from(pdf.sha256, 'hex').toString('base64')}:`);
    // filters and pages
    expect((await anonymous.listNotices({ since: '115/11/01' })).total).toBe(2);
    expect(await anonymous.listNotices({ pageSize: 3, page: 2 })).toMatchObject({ total: 4, totalPages: 2, items: [expect.objectContaining({ id: 1 })] });
    await expect(anonymous.getNotice(99)).rejects.toMatchObject({ code: 'NOTICE_NOT_FOUND', exitCode: 2 });
    await expect(anonymous.downloadAttachment(1, 'nope.pdf')).rejects.toMatchObject({ code: 'ATTACHMENT_NOT_FOUND' });
    await expect(anonymous.listNotices({ since: 'soon' })).rejects.toMatchObject({ code: 'BAD_QUERY' });
  });

  it('lets only the admin token manage notices: no token 401, another token or a user session 403', async () => {
    expect((await http(t.sb.url, 'POST', '/api/v1/admin/notices', { json: { title: 'x', body: 'y' } })).json.error.code).toBe('ADMIN_TOKEN_REQUIRED');
    const wrong = await http(t.sb.url, 'GET', '/api/v1/admin/notices', { token: 'not-the-token' });
    expect([wrong.status, wrong.json.error.code]).toEqual([403, 'ADMIN_TOKEN_INVALID']);
    // a signed-in user's bearer token is not an admin token
    const userToken = (t.client as unknown as { token: string }).token;
    expect(userToken).toEqual(expect.any(String));
    const user = await http(t.sb.url, 'POST', '/api/v1/admin/notices', { token: userToken, json: { title: 'x', body: 'y' } });
    expect([user.status, user.json.error.code]).toEqual([403, 'ADMIN_TOKEN_INVALID']);
    // the token is the one in the data folder, readable by its owner only
    expect(readFileSync(t.sb.adminTokenFile, 'utf8').trim()).toBe(t.sb.adminToken);
    expect(statSync(t.sb.adminTokenFile).mode & 0o777).toBe(0o600);
    expect((await t.newClient().listNotices()).total).toBe(4);
  });

  it('creates, updates and deletes notices and attachments over HTTP; readers see each change', async () => {
    const token = t.sb.adminToken;
    const created = await http(t.sb.url, 'POST', '/api/v1/admin/notices', {
      token,
      json: { title: '新版使用手冊', body: '請下載附件。', attachments: [{ name: '說明.txt', data: Buffer.from('第一版\n').toString('base64') }] },
    });
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    expect(created.headers.location).toBe(`/api/v1/notices/${id}`);
    expect(created.json).toMatchObject({ title: '新版使用手冊', publishedDate: '115/11/25', attachments: [expect.objectContaining({ name: '說明.txt', contentType: 'text/plain; charset=utf-8', size: 10 })] });
    // newest first: the new notice heads the list
    expect((await t.client.listNotices()).items[0]!.id).toBe(id);
    // a raw PUT adds a binary attachment, a second PUT replaces it
    const put = await http(t.sb.url, 'PUT', `/api/v1/admin/notices/${id}/attachments/${encodeURIComponent('表單.pdf')}`, { token, body: Buffer.from('%PDF-1.4 one'), type: 'application/pdf' });
    expect(put.status).toBe(201);
    const replaced = await http(t.sb.url, 'PUT', `/api/v1/admin/notices/${id}/attachments/${encodeURIComponent('表單.pdf')}`, { token, body: Buffer.from('%PDF-1.4 two') });
    expect(replaced.status).toBe(200);
    expect(Buffer.from((await t.client.downloadAttachment(id, '表單.pdf')).data).toString()).toBe('%PDF-1.4 two');
    // PATCH changes what it names
    const patched = await http(t.sb.url, 'PATCH', `/api/v1/admin/notices/${id}`, { token, json: { title: '新版使用手冊（更正）' } });
    expect(patched.json).toMatchObject({ title: '新版使用手冊（更正）', body: '請下載附件。' });
    // a notice dated later is the admin's only until its day
    const scheduled = await http(t.sb.url, 'POST', '/api/v1/admin/notices', { token, json: { title: '預告', body: '下月起', publishedAt: '115/12/01' } });
    expect((await t.client.listNotices()).items.map((n) => n.id)).not.toContain(scheduled.json.id);
    expect((await http(t.sb.url, 'GET', '/api/v1/admin/notices', { token })).json.items[0].id).toBe(scheduled.json.id);
    await expect(t.client.getNotice(scheduled.json.id)).rejects.toMatchObject({ code: 'NOTICE_NOT_FOUND' });
    // refusals
    expect((await http(t.sb.url, 'PUT', `/api/v1/admin/notices/${id}/attachments/${encodeURIComponent('a\\b.txt')}`, { token, body: Buffer.from('x') })).json.error.code).toBe('BAD_ATTACHMENT_NAME');
    expect((await http(t.sb.url, 'POST', '/api/v1/admin/notices', { token, json: { title: '', body: 'x' } })).status).toBe(400);
    expect((await http(t.sb.url, 'POST', '/api/v1/admin/notices', { token, body: Buffer.from('{'), type: 'application/json' })).json.error.code).toBe('BAD_JSON');
    expect((await http(t.sb.url, 'GET', '/api/v1/admin/nothing', { token })).status).toBe(404);
    // deletions
    expect((await http(t.sb.url, 'DELETE', `/api/v1/admin/notices/${id}/attachments/${encodeURIComponent('說明.txt')}`, { token })).status).toBe(204);
    expect((await t.client.getNotice(id)).attachments.map((a) => a.name)).toEqual(['表單.pdf']);
    expect((await http(t.sb.url, 'DELETE', `/api/v1/admin/notices/${id}`, { token })).status).toBe(204);
    await expect(t.client.getNotice(id)).rejects.toMatchObject({ code: 'NOTICE_NOT_FOUND' });
    expect((await http(t.sb.url, 'DELETE', `/api/v1/admin/notices/${id}`, { token })).status).toBe(404);
    expect((await http(t.sb.url, 'DELETE', `/api/v1/admin/notices/${scheduled.json.id}`, { token })).status).toBe(204);
  });
});

describe('labup notices (the real binary)', () => {
  let t: TestSandbox;
  const home = tempDir('labup-home-');
  const work = tempDir('labup-work-');
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testSandbox();
    // no card, no user ID: notices are public
    env = { LABUP_HOME: home.path, LABUP_PORTAL: t.sb.url, NO_PROXY: '127.0.0.1' };
  });
  afterAll(async () => {
    await t.stop();
    home.remove();
    work.remove();
  });
  const run = (args: string[]) => labup(args, { env, cwd: work.path });

  it('lists the notices newest first with date, title, body and attachments, and the page', async () => {
    const r = await run(['notices']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stdout.split('\n')[0]).toBe('[4] 115/11/24  系統維護公告');
    expect(r.stdout).toContain('[1] 115/09/26  「檢驗(查)結果每日上傳作業」使用手冊\n    本作業之使用手冊已更新，請參閱附件。\n');
    expect(r.stdout).toMatch(/ {4}附件: 檢驗\(查\)結果每日上傳作業使用手冊\.pdf \(\d\.\d kB\), 使用手冊摘要\.txt \(\d+ B\)\n {4}→ labup notices get 1$/);
    expect(r.stderr).toContain('page 1 of 1 (total 4)');
    const order = [...r.stdout.matchAll(/^\[(\d+)\]/gm)].map((m) => m[1]);
    expect(order).toEqual(['4', '3', '2', '1']);
  });

  it('filters with --since (ROC, YYYMMDD or ISO), pages with --page/--page-size, and prints the paging in --json', async () => {
    for (const since of ['115/11/01', '1151101', '2026-11-01']) {
      const r = await run(['notices', '--since', since, '--json']);
      expect(JSON.parse(r.stdout)).toMatchObject({ notices: [expect.objectContaining({ id: 4 }), expect.objectContaining({ id: 3 })], paging: { page: 1, pageSize: 20, total: 2, totalPages: 1, sort: 'publishedAt', order: 'desc' } });
    }
    const p2 = await run(['notices', '--page-size', '3', '--page', '2', '--json']);
    expect(JSON.parse(p2.stdout)).toMatchObject({ notices: [expect.objectContaining({ id: 1 })], paging: { page: 2, pageSize: 3, total: 4, totalPages: 2 } });
    const human = await run(['notices', '--page-size', '3']);
    expect(human.stderr).toContain('page 1 of 2 (total 4) — --page 2 for more');
    const oldest = await run(['notices', '--sort', 'publishedAt', '--page-size', '1', '--json']);
    expect(JSON.parse(oldest.stdout).notices[0].id).toBe(1);
    expect((await run(['notices', '--since', '115/13/01'])).stderr).toContain('[BAD_DATE] --since');
    expect((await run(['notices', '--since', '2027-01-01'])).code).toBe(6);
    expect((await run(['notices', '--sort', 'size'])).code).toBe(2);
  });

  it('downloads a notice’s attachments atomically, mode 0644, skips them the second time', async () => {
    const r = await run(['notices', 'get', '1', '--out', 'docs']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const dir = join(work.path, 'docs');
    expect(readdirSync(dir).sort()).toEqual(['使用手冊摘要.txt', '檢驗(查)結果每日上傳作業使用手冊.pdf'].sort());
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, '使用手冊摘要.txt'), 'utf8')).toContain('申請重送');
    expect(r.stdout).toContain('↓ 檢驗(查)結果每日上傳作業使用手冊.pdf');
    const again = await run(['notices', 'get', '1', '--out', 'docs', '--json']);
    expect(again.code).toBe(6);
    expect(JSON.parse(again.stdout)).toMatchObject({ notice: { id: 1, publishedDate: '115/09/26' }, files: [expect.objectContaining({ skipped: true }), expect.objectContaining({ skipped: true })], failures: [] });
  });

  it('fetches one attachment by name, replaces one that changed, and refuses unknown ones', async () => {
    const one = await run(['notices', 'get', '2', '--attachment', 'lab-daily.xsd', '--out', 'xsd']);
    expect(one.code).toBe(0);
    expect(readFileSync(join(work.path, 'xsd', 'lab-daily.xsd'), 'utf8')).toContain('<xs:schema');
    // the portal publishes a new version under the same name
    const put = await http(t.sb.url, 'PUT', '/api/v1/admin/notices/2/attachments/lab-daily.xsd', { token: t.sb.adminToken, body: Buffer.from('<xs:schema/>\n') });
    expect(put.status).toBe(200);
    const replaced = await run(['notices', 'get', '2', '--out', 'xsd', '--json']);
    expect(JSON.parse(replaced.stdout).files[0]).toMatchObject({ name: 'lab-daily.xsd', skipped: false, replaced: true });
    expect(readFileSync(join(work.path, 'xsd', 'lab-daily.xsd'), 'utf8')).toBe('<xs:schema/>\n');
    expect(readdirSync(join(work.path, 'xsd'))).toEqual(['lab-daily.xsd']);
    const missing = await run(['notices', 'get', '2', '--attachment', 'manual.pdf']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[ATTACHMENT_NOT_FOUND]');
    expect(missing.stderr).toContain('Its attachments: lab-daily.xsd');
    expect((await run(['notices', 'get', '99'])).stderr).toContain('[NOTICE_NOT_FOUND]');
    expect((await run(['notices', 'get', 'x'])).code).toBe(2);
    const none = await run(['notices', 'get', '4', '--out', 'none']);
    expect(none.code).toBe(6);
    expect(existsSync(join(work.path, 'none'))).toBe(false);
  });
});
