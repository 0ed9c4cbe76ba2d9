import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { portalError } from '../../../src/errors.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { EntrySession, type EntrySessionOptions } from '../../../src/entry/interactive.js';
import { listDrafts, markUploadSent, recordUpload } from '../../../src/entry/drafts.js';
import { saveRecord } from '../../../src/entry/entry.js';
import { field, formPrompter, type Step } from './form-prompter.js';

const clock = fixedClock('2026-11-25T21:00:00+08:00');
const PATIENT = completePersonId('F12671859');
const WRONG = PATIENT.slice(0, 9) + String((Number(PATIENT[9]) + 1) % 10);
const STAFF = completePersonId('B12345678');

/** The visit and the first order (09015C), typed as a person would: only what is not a default. */
const VISIT: Step[] = [
  { match: field('h3'), answer: '12' },
  { match: field('h5'), answer: '115/11/25 07:30:05' },
  { match: field('h6'), answer: '01' },
  { match: field('h7'), answer: '0001' },
  { match: field('h9'), answer: WRONG },
  { match: field('h9'), answer: PATIENT.toLowerCase() },
  { match: field('h10'), answer: '0650315' },
  { match: field('h15'), answer: '09015C' },
  { match: field('h20'), answer: '1151125083005' },
  { match: field('h22'), answer: '血液' },
];
const ITEM1: Step[] = [
  { match: field('r3@1'), answer: '酵素法' },
  { match: field('r4@1'), answer: '1.02' },
  { match: field('r6-1@1'), answer: '0.6' },
  { match: field('r6-2@1'), answer: '1.3' },
  { match: field('r9@1'), answer: STAFF },
  { match: field('r10@1'), answer: '1151125093005' },
];
const ITEM2: Step[] = [
  { match: field('r3@2'), answer: '計算' },
  { match: field('r4@2'), answer: '75' },
  { match: field('r5@2'), answer: 'mL/min/1.73m2' },
  { match: field('r6-1@2'), answer: '60' },
  { match: field('r9@2'), answer: STAFF },
  { match: field('r10@2'), answer: '1151125093005' },
];
const action = (a: string): Step => ({ match: '功能 action', answer: a });

describe('the interactive entry (單筆登錄)', () => {
  let dir: string;
  let store: Store;
  let screen: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-entry-'));
    store = openStore({ file: join(dir, 'labup.db') });
    screen = [];
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const session = (steps: Step[], extra: Partial<EntrySessionOptions> = {}) => {
    const prompter = formPrompter(steps);
    const s = new EntrySession({
      store,
      prompter,
      screen: { print: (t) => screen.push(t) },
      clock,
      institution: '3501200000',
      connect: async () => {
        throw new Error('no portal in this test');
      },
      outbox: join(dir, 'outbox'),
      ...extra,
    });
    return { s, prompter };
  };

  it('types a lab record with two items, catches a wrong ID at the prompt, and saves it (暫存)', async () => {
    // given a person typing a record, adding a second item, then 暫存 and 回前畫面
    const { s, prompter } = session([...VISIT, ...ITEM1, action('add-item'), ...ITEM2, action('save'), action('back')]);
    // when
    await s.run();
    // then the wrong ID was refused at its prompt, with the reason
    expect(prompter.refused).toEqual([{ message: expect.stringContaining('h9 身分證統一編號'), answer: WRONG, error: expect.stringContaining('檢查碼錯誤') }]);
    expect(prompter.remaining()).toEqual([]);
    // and one draft holds the record with the defaults the form gave
    const [d] = listDrafts(store);
    expect(d!.status).toBe('draft');
    expect(d!.record.header).toEqual({
      h1: '1', h2: '3501200000', h3: '12', h4: '11511', h5: '1151125073005', h6: '01', h7: '0001', h8: '1', h9: PATIENT, h10: '0650315', h11: '1151125', h15: '09015C', h20: '1151125083005', h22: '血液', h26: '0',
    });
    expect(d!.record.items).toEqual([
      { r1: '1', r2: 'CRE(肌酸酐)', r3: '酵素法', r4: '1.02', r5: 'mg/dL', 'r6-1': '0.6', 'r6-2': '1.3', r9: STAFF, r10: '1151125093005' },
      { r1: '2', r2: 'eGFR', r3: '計算', r4: '75', r5: 'mL/min/1.73m2', 'r6-1': '60', r9: STAFF, r10: '1151125093005' },
    ]);
    expect(d!.errorCount).toBe(0);
    // the order was explained when typed, and h4 shown as derived
    expect(screen).toContain('  09015C 肌酸酐、血（表三，報告類別 1 檢體檢驗報告）');
    expect(screen).toContain('  h4 執行年月 = 11511（依 h20 from h20）');
    expect(screen.some((l) => l.startsWith('暫存成功 — saved as draft #1'))).toBe(true);
    // conditional fields were not asked: h13/h14 (inpatient), h25 (CT/MRI), h27 (h26 3/5), r7, r8-1
    for (const id of ['h13', 'h14', 'h25', 'h27', 'h4', 'h16', 'h2']) expect(prompter.asked.some((m) => field(id).test(m)), id).toBe(false);
    expect(prompter.asked.some((m) => / r7 | r8-1 /.test(m))).toBe(false);
  });

  it('新增醫令 keeps the visit fields and offers the previous order’s answers; 新增案件 starts empty', async () => {
    const { s, prompter } = session([
      ...VISIT,
      ...ITEM1,
      action('save'),
      action('new-order'),
      // only the order's fields are asked; h20 and h22 offer the previous answers (Enter takes them)
      { match: field('h15'), answer: '09005C' },
      { match: field('r3@1'), answer: '酵素法' },
      { match: field('r4@1'), answer: '95' },
      { match: field('r6-1@1'), answer: '70' },
      { match: field('r6-2@1'), answer: '100' },
      action('save'),
      action('new-case'),
      { match: field('h1'), answer: '2' },
      { match: field('h3'), answer: '12' },
      { match: field('h5'), answer: '1151125100000' },
      { match: field('h6'), answer: '01' },
      { match: field('h7'), answer: '0002' },
      { match: field('h9'), answer: PATIENT },
      { match: field('h10'), answer: '0650315' },
      { match: field('h15'), answer: '32001C' },
      { match: field('h20'), answer: '1151125103000' },
      { match: field('r7@1'), answer: 'Chest PA: no active lesion.' },
      { match: field('r10@1'), answer: '1151125110000' },
      action('save'),
      action('back'),
    ]);
    await s.run();
    expect(prompter.remaining()).toEqual([]);
    const drafts = listDrafts(store);
    expect(drafts).toHaveLength(3);
    const [first, second, third] = drafts;
    // the second order: same visit (h3, h5, h6, h7, h9, h10, h11, h26), new order code, same sampling time
    for (const id of ['h2', 'h3', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11', 'h26', 'h20', 'h22', 'h1'] as const) expect(second!.record.header[id], id).toBe(first!.record.header[id]);
    expect(second!.record.header.h15).toBe('09005C');
    expect(second!.record.items).toEqual([{ r1: '1', r2: '飯前血糖 Glucose AC', r3: '酵素法', r4: '95', r5: 'mg/dL', 'r6-1': '70', 'r6-2': '100' }]);
    // the visit fields were not asked again for the new order
    const afterNewOrder = prompter.asked.slice(prompter.asked.findIndex((m, i) => i > 0 && field('h15').test(m)) - 3);
    expect(afterNewOrder.slice(0, 12).some((m) => field('h9').test(m))).toBe(false);
    // 新增案件 asked everything again: an imaging report with its own fields
    expect(third!.record.header).toMatchObject({ h1: '2', h7: '0002', h15: '32001C', h4: '11511' });
    expect(third!.record.items).toEqual([{ r1: '1', r7: 'Chest PA: no active lesion.', r10: '1151125110000' }]);
    expect(third!.errorCount).toBe(0);
  });

  it('edits and deletes report items (one or several), and asks before leaving unsaved changes', async () => {
    const { s, prompter } = session([
      ...VISIT,
      ...ITEM1,
      action('add-item'),
      ...ITEM2,
      action('add-item'),
      { match: field('r1@3'), answer: '101' },
      { match: field('r3@3'), answer: 'x' },
      { match: field('r4@3'), answer: '1.1' },
      { match: field('r6-1@3'), answer: '0.6' },
      action('edit-item'),
      { match: '編輯哪一筆', answer: 1 },
      { match: field('r4@1'), answer: '1.05' },
      action('delete-items'),
      { match: '刪除', answer: [2, 3] },
      action('back'),
      { match: '尚未暫存', answer: false },
      { match: '放棄', answer: false },
      action('save'),
      action('back'),
    ]);
    await s.run();
    expect(prompter.remaining()).toEqual([]);
    const [d] = listDrafts(store);
    expect(d!.record.items).toHaveLength(1);
    expect(d!.record.items[0]).toMatchObject({ r1: '1', r4: '1.05' });
  });

  it('暫存 with errors shows them and saves only when asked to', async () => {
    // given a record whose unit the item table refuses (表八 r1 101 wants mg/dl) and whose items are then all deleted
    const { s } = session([...VISIT, ...ITEM1, action('delete-items'), { match: '刪除', answer: [1] }, action('save'), { match: '仍要暫存', answer: false }, action('save'), { match: '仍要暫存', answer: true }, action('back')]);
    await s.run();
    expect(screen.some((l) => l.includes('✗ 錯誤 error') && l.includes('rdata'))).toBe(true);
    const drafts = listDrafts(store);
    expect(drafts).toHaveLength(1);
    expect(drafts[0]!.errorCount).toBe(1);
    expect(screen.some((l) => l.includes('修正後才能上傳'))).toBe(true);
  });

  it('opens an uploaded draft read-only, and a 檢核錯誤 one for editing (it becomes 暫存 again)', async () => {
    // given two drafts uploaded in one file: one 檢核中 …
    const rec = { header: { h1: '1', h2: '3501200000', h9: PATIENT }, items: [{ r1: '1' }] };
    const a = saveRecord(store, null, rec, { clock }).draft;
    const u = recordUpload(store, { portal: 'p', draftIds: [a.id], fingerprint: 'f', h16: '1151125210000', uploadDate: '1151125', file: join(dir, 'x.zip'), fileName: 'x.zip', contentSha256: 'c' }, clock);
    markUploadSent(store, u.id, { receiptNo: '1151125000001', sentAt: '2026-11-25T21:00:00+08:00', status: 'checking' }, clock);
    const ro = session([{ match: '僅能瀏覽', answer: 'back' }]);
    await ro.s.run({ screen: 'form', draftId: a.id });
    expect(ro.prompter.remaining()).toEqual([]);
    expect(screen.some((l) => l.includes('詳細資料 #1 · 檢核中 · 收件序號 1151125000001') && l.includes('僅能瀏覽 read-only'))).toBe(true);
    // the masked ID on screen
    expect(screen.some((l) => l.includes(`h9 身分證統一編號: ${PATIENT.slice(0, 3)}****${PATIENT.slice(-3)}`))).toBe(true);
    // … and after 檢核錯誤, editing is allowed and the draft becomes 暫存
    store.db
      .prepare(`UPDATE drafts SET status = 'failed', portal_errors = ?`)
      .run(JSON.stringify([{ rdata: null, field: 'h7', code: '23', message: '就醫序號錯誤', zh: '就醫序號錯誤', en: 'visit sequence number wrong', fix: 'Write the 4-character 就醫序號.' }]));
    const ed = session([
      { match: '詳細資料 open a record', answer: `open:${a.id}` },
      action('edit'),
      action('edit-header'),
      { match: '編輯哪一個欄位', answer: 'h7' },
      { match: field('h7'), answer: '0009' },
      action('save'),
      { match: '仍要暫存', answer: true },
      action('back'),
      { match: '詳細資料 open a record', answer: 'back' },
    ]);
    await ed.s.run({ screen: 'query', query: { status: 'failed' } });
    expect(ed.prompter.remaining()).toEqual([]);
    // the portal's reasons were shown with the record
    expect(screen).toContain("  ── 入口網站檢核結果 the portal's check (收件序號 1151125000001) ──");
    expect(screen).toContain('  ✗ h7 [23] 就醫序號錯誤 — visit sequence number wrong → Write the 4-character 就醫序號.');
    const [d] = listDrafts(store);
    expect(d!.status).toBe('draft');
    expect(d!.receiptNo).toBeNull();
    expect(d!.record.header.h7).toBe('0009');
  });

  it('資料上傳: 無資料可上傳 without drafts; 資料上傳失敗 offers to send again', async () => {
    const none = session([]);
    await none.s.run({ screen: 'upload' });
    expect(screen).toContain('無資料可上傳');
    // given a draft, and a portal that cannot be reached
    saveRecord(store, null, { header: { h1: '1', h2: '3501200000', h3: '12', h5: '1151125073005', h6: '01', h7: '0001', h9: PATIENT, h10: '0650315', h11: '1151125', h15: '12345C', h20: '1151125083005', h26: '0', h4: '11511' }, items: [{ r1: '1', r2: 'X', r4: '1', r5: 'mg', 'r6-1': '0' }] }, { clock });
    let tries = 0;
    const failing = session([{ match: '勾選欲上傳', answer: [1] }, { match: '再次傳送', answer: true }, { match: '再次傳送', answer: false }], {
      connect: async () => {
        tries++;
        throw portalError('PORTAL_UNAVAILABLE', 'the portal did not answer (connection refused)');
      },
    });
    await failing.s.run({ screen: 'upload' });
    expect(tries).toBe(2);
    expect(screen.filter((l) => l.startsWith('資料上傳失敗'))).toHaveLength(2);
    expect(failing.prompter.remaining()).toEqual([]);
    expect(listDrafts(store)[0]!.status).toBe('draft');
  });
});
