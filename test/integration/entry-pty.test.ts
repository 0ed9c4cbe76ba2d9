/**
 * The interactive entry in a real pseudo-terminal (tmux), as a person uses it: typing a lab record
 * with two items (a wrong ID caught at its prompt), 暫存, 新增醫令, 資料上傳 to the sandbox, and 查詢
 * showing the 收件序號 and 檢核正確 — then a record opened read-only from `entry query`.
 */
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completePersonId } from '../../src/format/national-id.js';
import { BIN, FIXTURE_NOW } from '../helpers/cli.js';
import { hasTmux, PromptDriver, Terminal } from '../helpers/pty.js';
import { tempDir } from './sandbox-support.js';

const PATIENT = completePersonId('F12671859');
const WRONG = PATIENT.slice(0, 9) + String((Number(PATIENT[9]) + 1) % 10);
const MASKED = `${PATIENT.slice(0, 3)}****${PATIENT.slice(-3)}`;
const STAFF = completePersonId('B12345678');

const tmux = await hasTmux();

describe.skipIf(!tmux)('labup entry in a terminal (tmux)', () => {
  const home = tempDir('labup-entry-pty-');
  const env = () => ({ LABUP_HOME: home.path, LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', LABUP_SANDBOX_DELAY: '1s' });
  let t: Terminal | undefined;
  beforeAll(() => undefined);
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(() => home.remove());

  /** Answers the item fields of a 09015C/09005C lab item. */
  async function labItem(p: PromptDriver, n: number, o: { method: string; value: string; unit?: string; low: string; high?: string }): Promise<void> {
    await p.answer(`#${n} r1 報告序號`); // the table's next item
    await p.answer(`#${n} r2 檢驗項目名稱`); // the table's name
    await p.answer(`#${n} r3 檢驗方法`, o.method);
    await p.answer(`#${n} r4 檢驗報告結果值`, o.value);
    await p.answer(`#${n} r5 單位`, o.unit ?? '');
    await p.answer(`#${n} r6-1 參考值下限`, o.low);
    await p.answer(`#${n} r6-2 參考值上限`, o.high ?? '');
    await p.answer(`#${n} r9 醫事人員身分證號`, STAFF);
    await p.answer(`#${n} r10 報告日期時間`, '1151125093005');
    for (const f of ['r11 備註', 'r12 檢驗（查）結果值註記', 'r13 輻射劑量', 'r14 實際收到報告日期時間']) await p.answer(`#${n} ${f}`);
  }

  it('types a record with two items, 暫存, 新增醫令, uploads both to the sandbox, and 查詢 shows 收件序號 and 檢核正確', async () => {
    t = await Terminal.start(['node', BIN, 'entry', '--hosp', '3501200000', '--sandbox'], { env: env() });
    const p = new PromptDriver(t);

    // the header, in spec order, Chinese names and formats; code lists as select lists
    await p.choose('h1 報告類別', '1 檢體檢驗報告');
    await p.choose('h3 醫事類別', '12 門診西醫醫院');
    await p.answer('h5 健保卡刷卡日期時間', '115/11/25 07:30:05');
    await p.choose('h6 就醫類別', '01 西醫門診');
    await p.answer('h7 就醫序號', '0001');
    await p.choose('h8 補卡註記', '1 正常');
    // a wrong ID is caught at its prompt, with the reason; the corrected one is taken
    await p.prompt('h9 身分證統一編號');
    await t.type(WRONG);
    await t.press('Enter');
    await t.waitFor(/^> 身分證號或居留證號檢查碼錯誤 — ID checksum does not match → Check the ID/m);
    await t.press('C-u');
    await t.type(PATIENT);
    await p.submit('h9 身分證統一編號');
    await p.answer('h10 出生日期', '0650315');
    await p.prompt('h11 就醫日期');
    await t.waitFor(/^\? .*h11 就醫日期.*\(1151125\)/m); // the card date, offered
    await p.submit('h11 就醫日期');
    await p.answer('h12 治療結束日期');
    await p.answer('h15 醫令代碼', '09015C');
    await t.waitFor('09015C 肌酸酐、血（表三，報告類別 1 檢體檢驗報告）', { history: true });
    for (const f of ['h17 醫囑醫師身分證號', 'h18 報告/病理醫師身分證號', 'h19 醫囑日期時間']) await p.answer(f);
    await p.answer('h20 採檢/實際檢查/手術日期時間', '1151125083005');
    await t.waitFor('h4 執行年月 = 11511', { history: true });
    await p.answer('h21 醫師確認報告時間');
    await p.answer('h22 檢體採檢方法/來源/類別', '血液');
    await p.answer('h23 依附就醫新生兒出生日期');
    await p.answer('h24 依附就醫新生兒胞胎註記');
    await p.choose('h26 醫令調劑方式', '0 自行調劑');
    for (const f of ['h28 就醫識別碼', 'h29 原就醫識別碼', 'h30 實際就醫之就醫識別碼']) await p.answer(f);

    // two report items: the first, then 增加報告序號
    await labItem(p, 1, { method: '酵素法', value: '1.02', low: '0.6', high: '1.3' });
    await p.choose('功能 action', '＋ 增加報告序號');
    await labItem(p, 2, { method: '計算', value: '75', unit: 'mL/min/1.73m2', low: '60' });
    await t.waitFor(/^\s+2\s+2\s+eGFR\s+75\s+mL\/min\/1\.73m2$/m);

    // 暫存
    await p.choose('功能 action', '暫存 save as draft');
    await t.waitFor('暫存成功 — saved as draft #1');

    // 新增醫令: the visit is kept; only the order's fields are asked, the previous answers offered
    await p.choose('功能 action', '新增醫令');
    await t.waitFor('── 新增醫令 next order of the same visit');
    await p.choose('h1 報告類別', '1 檢體檢驗報告');
    await p.answer('h15 醫令代碼', '09005C');
    for (const f of ['h18 報告/病理醫師身分證號', 'h19 醫囑日期時間']) await p.answer(f);
    await p.prompt('h20 採檢/實際檢查/手術日期時間');
    await t.waitFor(/^\? .*h20 .*\(1151125083005\)/m);
    await p.submit('h20 採檢/實際檢查/手術日期時間');
    await p.answer('h21 醫師確認報告時間');
    await p.answer('h22 檢體採檢方法/來源/類別'); // 血液, offered
    await labItem(p, 1, { method: '酵素法', value: '95', low: '70', high: '100' });
    await p.choose('功能 action', '暫存 save as draft');
    await t.waitFor('暫存成功 — saved as draft #2');
    const afterNewOrder = (await t.history()).split('── 新增醫令')[1]!;
    expect(afterNewOrder).not.toMatch(/\*h9 身分證統一編號 \[/);
    expect(afterNewOrder).not.toMatch(/\*h5 健保卡刷卡日期時間 \[/);

    // 資料上傳…: the drafts of the last year with the portal's columns; all chosen, uploaded to the sandbox
    await p.choose('功能 action', '資料上傳…');
    await t.waitFor(/執行年月\s+健保卡過卡日期時間\s+報告類別\s+就醫類別\s+就醫序號\s+身分證號\s+醫令代碼\s+收件序號\s+資料處理狀態/);
    await p.prompt('勾選欲上傳資料');
    const list = await t.screen();
    expect(list).toContain(MASKED);
    expect(list).not.toContain(PATIENT);
    expect(list).toMatch(/1\s+115\/11\s+115\/11\/25 07:30:05\s+1-檢體檢驗報告\s+01-西醫門診\s+0001\s+F12\*\*\*\*\d{3}\s+09015C\s+暫存/);
    expect(list).toMatch(/2\s+115\/11\s+115\/11\/25 07:30:05\s+1-檢體檢驗報告\s+01-西醫門診\s+0001\s+F12\*\*\*\*\d{3}\s+09005C\s+暫存/);
    await t.press('a');
    await p.submit('勾選欲上傳資料');
    await t.waitFor('暫存資料已全數上傳成功 — 收件序號 1151125000001, 上傳日期 115/11/25, 2 筆, 檢核中', { timeout: 60_000 });

    // 查詢…: 收件序號 and, once the portal has checked the file, 檢核正確
    await p.choose('功能 action', '查詢…');
    await t.waitFor(/── 檢驗\(查\)結果查詢 · 資料處理狀態: 全部 · 資料建立日期: 115\/11\/24 ~ 115\/11\/25/);
    for (let i = 0; ; i++) {
      const screen = await t.screen();
      if ((screen.match(/1151125000001\s+檢核正確/g) ?? []).length === 2) break;
      if (i > 30) throw new Error(`still not 檢核正確:\n${screen}`);
      await p.choose('詳細資料 open a record', '重新查詢 refresh');
      await new Promise((r) => setTimeout(r, 300));
    }
    await p.choose('詳細資料 open a record', '回前畫面 back');
    await p.choose('功能 action', '回前畫面 back');
    expect(await t.exitCode()).toBe(0);

    // the store agrees: both drafts 檢核正確 with the 收件序號, the second one the same visit
    const db = openDatabase(join(home.path, 'labup.db'), { readonly: true });
    const rows = db.prepare('SELECT id, status, receipt_no, record FROM drafts ORDER BY id').all() as Array<{ id: number; status: string; receipt_no: string; record: string }>;
    db.close();
    expect(rows.map((r) => [r.id, r.status, r.receipt_no])).toEqual([
      [1, 'passed', '1151125000001'],
      [2, 'passed', '1151125000001'],
    ]);
    const [a, b] = rows.map((r) => JSON.parse(r.record) as { header: Record<string, string>; items: unknown[] });
    expect(a!.items).toHaveLength(2);
    for (const id of ['h2', 'h3', 'h5', 'h6', 'h7', 'h9', 'h10', 'h11', 'h20', 'h22']) expect(b!.header[id], id).toBe(a!.header[id]);
    expect([a!.header.h9, a!.header.h15, b!.header.h15]).toEqual([PATIENT, '09015C', '09005C']);
  });

  it('entry query opens an uploaded record read-only (檢核正確)', async () => {
    t = await Terminal.start(['node', BIN, 'entry', 'query', '--sandbox'], { env: env() });
    const p = new PromptDriver(t);
    await t.waitFor(/1151125000001\s+檢核正確/);
    await p.choose('詳細資料 open a record', '09015C');
    await t.waitFor('── 詳細資料 #1 · 檢核正確 · 收件序號 1151125000001 · h16 1151125210');
    await t.waitFor('僅能瀏覽 read-only');
    const screen = await t.history();
    expect(screen).toContain(`h9 身分證統一編號: ${MASKED}`);
    expect(screen).not.toContain('編輯 edit');
    await p.choose('檢核中與檢核正確資料僅能瀏覽', '返回 back');
    await p.choose('詳細資料 open a record', '回前畫面 back');
    expect(await t.exitCode()).toBe(0);
  });
});
