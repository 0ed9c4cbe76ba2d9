/**
 * The scriptable entry commands, with the real binary: add FILE, list, show, edit --set, rm,
 * upload --ids/--all to the sandbox, query; and the refusal to wait for a terminal that is not there.
 */
import { statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { completePersonId } from '../../src/format/national-id.js';
import { labup } from '../helpers/cli.js';
import { tempDir } from './sandbox-support.js';

const PATIENT = completePersonId('F12671859');
const MASKED = `${PATIENT.slice(0, 3)}****${PATIENT.slice(-3)}`;
const STAFF = completePersonId('B12345678');

/** An outpatient 09015C order with two items, as a HIS might hand it over (h2 comes from --hosp). */
const ORDER = {
  h1: '1', h3: '12', h5: '115/11/25 07:30:05', h6: '01', h7: '0001', h9: PATIENT, h10: '0650315', h11: '1151125', h15: '09015C', h20: '1151125083005', h22: '血液', h26: '0',
  items: [
    { r2: 'CRE(肌酸酐)', r3: '酵素法', r4: 1.02, r5: 'mg/dL', 'r6-1': '0.6', 'r6-2': '1.3', r9: STAFF, r10: '1151125093005' },
    { r2: 'eGFR', r3: '計算', r4: 75, r5: 'mL/min/1.73m2', 'r6-1': '60', r9: STAFF, r10: '1151125093005' },
  ],
};

describe('labup entry, scripted (the real binary)', () => {
  const home = tempDir('labup-entry-home-');
  const work = tempDir('labup-entry-work-');
  const env = () => ({ LABUP_HOME: home.path, LABUP_SANDBOX_DELAY: '1s' });
  const run = (args: string[], input?: string) => labup(args, { env: env(), cwd: work.path, ...(input !== undefined ? { input } : {}) });
  afterAll(() => {
    home.remove();
    work.remove();
  });

  it('entry add FILE prints the draft number; the draft store is private (0600)', async () => {
    writeFileSync(join(work.path, 'order.json'), JSON.stringify(ORDER));
    const r = await run(['entry', 'add', 'order.json', '--hosp', '3501200000']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toMatchObject({ code: 0, stdout: '1' });
    expect(r.stderr).toContain('labup entry add: 1 draft(s) saved (暫存): #1');
    expect(statSync(join(home.path, 'labup.db')).mode & 0o777).toBe(0o600);
    const db = openDatabase(join(home.path, 'labup.db'), { readonly: true });
    const row = db.prepare('SELECT status, record FROM drafts WHERE id = 1').get() as { status: string; record: string };
    db.close();
    expect(row.status).toBe('draft');
    expect(JSON.parse(row.record)).toMatchObject({ header: { h2: '3501200000', h4: '11511', h5: '1151125073005', h8: '1', h9: PATIENT }, items: [{ r1: '1', r4: '1.02' }, { r1: '2', r4: '75' }] });
  });

  it('entry add - reads standard input; a record with errors is saved, named, and exits 1', async () => {
    const bad = { ...ORDER, h7: '0002', h9: PATIENT.slice(0, 9) + String((Number(PATIENT[9]) + 1) % 10) };
    // with --sandbox, h2 is the sandbox's demo institution (no sandbox is started for that)
    const r = await run(['entry', 'add', '-', '--sandbox'], JSON.stringify(bad));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('2');
    expect(r.stderr).toContain('draft #2: h9 身分證統一編號: 身分證號或居留證號檢查碼錯誤 — ID checksum does not match');
    expect(r.stderr).not.toContain(bad.h9);
    expect(JSON.parse((await run(['entry', 'show', '2', '--json'])).stdout).order.h2).toBe('3501200000');
    const broken = await run(['entry', 'add', '-'], '{"h1": "1",, }');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('[ENTRY_JSON_INPUT]');
  });

  it('entry list shows the portal’s columns with IDs masked (--show-ids unmasks, --json is the result object)', async () => {
    const r = await run(['entry', 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^#\s+執行年月\s+健保卡過卡日期時間\s+報告類別\s+就醫類別\s+就醫序號\s+身分證號\s+醫令代碼\s+收件序號\s+資料處理狀態$/);
    expect(lines[1]).toMatch(new RegExp(`^1\\s+115/11\\s+115/11/25 07:30:05\\s+1-檢體檢驗報告\\s+01-西醫門診\\s+0001\\s+${MASKED.replace(/\*/g, '\\*')}\\s+09015C\\s+暫存$`));
    expect(lines[2]).toMatch(/暫存 \(1 錯誤\)$/);
    expect(r.stdout).not.toContain(PATIENT);
    expect((await run(['entry', 'list', '--show-ids'])).stdout).toContain(PATIENT);
    const j = JSON.parse((await run(['entry', 'list', '--json', '--status', 'draft'])).stdout);
    expect(j).toMatchObject({ from: null, statuses: ['draft'], page: { total: 2, items: [expect.objectContaining({ id: 1, h9: expect.stringContaining('****') }), expect.objectContaining({ id: 2 })] } });
  });

  it('entry show ID --json gives the order in the shape entry add reads: a copy is one pipe away', async () => {
    const shown = await run(['entry', 'show', '1', '--json', '--show-ids']);
    expect(shown.code).toBe(0);
    const v = JSON.parse(shown.stdout);
    expect(v).toMatchObject({ id: 1, status: 'draft', statusText: '暫存', editable: true, errors: [], order: { h1: '1', h9: PATIENT, items: [expect.objectContaining({ r1: '1' }), expect.objectContaining({ r1: '2' })] } });
    expect(Object.keys(v.order).slice(0, 5)).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);
    const copy = await run(['entry', 'add', '-'], shown.stdout);
    expect(copy.stdout).toBe('3');
    expect(JSON.parse((await run(['entry', 'show', '3', '--json', '--show-ids'])).stdout).order).toEqual(v.order);
    const human = await run(['entry', 'show', '1']);
    expect(human.stdout).toContain(`h9 身分證統一編號: ${MASKED}`);
    expect(human.stdout).toContain('r4 檢驗報告結果值: 1.02');
    expect((await run(['entry', 'show', '99'])).code).toBe(2);
  });

  it('entry edit ID --set FIELD=VALUE --set FIELD@ITEM=VALUE corrects a draft; rm removes one', async () => {
    const r = await run(['entry', 'edit', '2', '--set', `h9=${PATIENT}`, '--set', 'r4@2=80', '--json']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 2, status: 'draft', errors: [], order: { h9: MASKED, items: [expect.anything(), expect.objectContaining({ r4: '80' })] } });
    const bad = await run(['entry', 'edit', '2', '--set', 'r4=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('say which one, e.g. r4@1');
    const rm = await run(['entry', 'rm', '3']);
    expect(rm.stdout).toBe('removed #3 (暫存)');
    const again = await run(['entry', 'rm', '3']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('[ENTRY_NOT_FOUND] there is no draft #3');
  });

  it('never waits for a terminal: the form, the checkbox list and edit without --set fail at once (exit 2)', async () => {
    for (const args of [['entry'], ['entry', 'new'], ['entry', 'upload'], ['entry', 'edit', '1']]) {
      const t0 = Date.now();
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain('[NO_TTY]');
      expect(Date.now() - t0).toBeLessThan(15_000);
    }
  });

  it('entry upload --ids to the sandbox: 暫存資料已全數上傳成功, then 無資料可上傳; query shows 收件序號 and 檢核正確', async () => {
    const r = await run(['entry', 'upload', '--ids', '1,2', '--sandbox']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^傳送時間\s+收件序號\s+上傳日期\s+處理狀態\s+筆數\s+檔案\n2026-11-25 21:00:\d\d\s+1151125000001\s+115\/11\/25\s+檢核中\s+2\s+35012000001151125001\.zip$/);
    expect(r.stderr).toContain('labup entry upload: 暫存資料已全數上傳成功 — 收件序號 1151125000001, drafts #1, #2');
    expect(r.stderr).toContain('Next: labup entry query --sandbox');
    const none = await run(['entry', 'upload', '--all', '--sandbox', '--json']);
    expect(none.code).toBe(6);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, reason: 'nothing', message: '無資料可上傳', skipped: [] });
    const plain = await run(['entry', 'upload', '--all', '--sandbox']);
    expect({ code: plain.code, stdout: plain.stdout }).toEqual({ code: 6, stdout: '' });
    expect(plain.stderr).toContain('labup entry upload: 無資料可上傳 — no 暫存 drafts of the last year');
    // uploaded drafts are read-only
    const ro = await run(['entry', 'edit', '1', '--set', 'h7=0009']);
    expect(ro.code).toBe(2);
    expect(ro.stderr).toContain('[ENTRY_READ_ONLY]');
    // the portal processes it (status --wait follows it), and the entry query refreshes the drafts
    expect((await run(['status', '--wait', '--sandbox'])).code).toBe(0);
    const q = await run(['entry', 'query', '--sandbox', '--json']);
    expect({ code: q.code, stderr: q.stderr }).toMatchObject({ code: 0 });
    const doc = JSON.parse(q.stdout);
    expect(doc).toMatchObject({ from: '115/11/24', to: '115/11/25', refreshed: true });
    expect(doc.page.items.map((s: { id: number; receiptNo: string; statusText: string }) => [s.id, s.receiptNo, s.statusText])).toEqual([
      [2, '1151125000001', '檢核正確'],
      [1, '1151125000001', '檢核正確'],
    ]);
    const table = await run(['entry', 'query', '--no-refresh', '--status', 'passed']);
    expect(table.stdout).toMatch(/1151125000001\s+檢核正確/);
  });

  it('資料上傳失敗 when the portal cannot be reached: exit 5, the draft stays 暫存', async () => {
    // given a card (the sandbox's demo card) and a portal address where nothing listens
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    writeFileSync(join(work.path, 'again.json'), JSON.stringify({ ...ORDER, h7: '0005' }));
    // draft numbers are never reused (#3 was removed)
    expect((await run(['entry', 'add', 'again.json', '--hosp', '3501200000'])).stdout).toBe('4');
    const sandbox = join(home.path, 'sandbox');
    const r = await labup(['entry', 'upload', '--ids', '4', '--retries', '1'], {
      cwd: work.path,
      env: {
        ...env(),
        LABUP_PORTAL: `http://127.0.0.1:${port}`,
        LABUP_CARD: `p12:${join(sandbox, 'cards', '3501200000.p12')}`,
        LABUP_PIN_SOURCE: `file:${join(sandbox, 'cards', '3501200000.pass')}`,
        LABUP_USER_ID_SOURCE: 'env:DEMO_USER_ID',
        DEMO_USER_ID: 'A123456789',
      },
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('[ENTRY_UPLOAD_FAILED] 資料上傳失敗 — ');
    expect(r.stderr).toContain('Send again');
    const shown = JSON.parse((await run(['entry', 'show', '4', '--json'])).stdout);
    expect(shown.status).toBe('draft');
  });
});

describe('labup entry add --json (the real binary)', () => {
  const home = tempDir('labup-entry-json-home-');
  const work = tempDir('labup-entry-json-work-');
  const run = (args: string[], input?: string) => labup(args, { env: { LABUP_HOME: home.path }, cwd: work.path, ...(input !== undefined ? { input } : {}) });
  afterAll(() => {
    home.remove();
    work.remove();
  });

  it('entry add FILE --json prints one document: each draft with its findings, IDs masked; piped without a file, --json reads standard input', async () => {
    // given an order with a mistyped ID
    const bad = { ...ORDER, h7: '0009', h9: PATIENT.slice(0, 9) + String((Number(PATIENT[9]) + 1) % 10) };
    writeFileSync(join(work.path, 'bad.json'), JSON.stringify(bad));
    // when it is added with --json
    const r = await run(['entry', 'add', 'bad.json', '--json', '--hosp', '3501200000']);
    // then stdout is one JSON document naming the draft and its error, the ID masked; exit 1
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, drafts: [{ id: 1, ok: false, errors: [expect.objectContaining({ code: 'PERSON_ID_CHECKSUM', field: 'h9' })] }], warnings: [] });
    expect(r.stdout).not.toContain(bad.h9);
    // and without a file, --json reads the JSON piped in
    const piped = await run(['entry', 'add', '--json', '--hosp', '3501200000'], JSON.stringify({ ...ORDER, h7: '0010' }));
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ ok: true, drafts: [{ id: 2, ok: true, errors: [] }] });
  });
});
