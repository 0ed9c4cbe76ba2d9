/**
 * The interactive entry (檢驗(查)結果(每日)單筆登錄與查詢), as the portal's section 四 has it:
 *
 * - 單筆登錄: the header in spec order, then the report items; the buttons 增加報告序號, 編輯, 刪除
 *   (one or several), 暫存, 新增醫令 (keeps the visit fields), 新增案件 (clears everything),
 *   資料上傳…, 查詢…, 回前畫面.
 * - 資料上傳: the 暫存 drafts of the last year in a checkbox list with the portal's columns; the
 *   answer is 無資料可上傳, 暫存資料已全數上傳成功, or 資料上傳失敗 with an offer to send again.
 * - 查詢: by 資料處理狀態 and 資料建立日期 (the last two days by default), paged; a record opens for
 *   viewing (read-only when 檢核中 or 檢核正確) or editing (暫存, 檢核錯誤).
 *
 * Everything goes through the injected {@link Prompter} and {@link EntryScreen}; nothing here
 * touches a terminal directly, so the flows are tested with scripted answers as well as in a pty.
 */
import type { Clock } from '../clock.js';
import { LabupError } from '../errors.js';
import { FIELD_BY_ID, type HFieldId } from '../format/fields.js';
import type { Finding } from '../format/findings.js';
import { maskFieldValue } from '../format/national-id.js';
import type { IoHost } from '../io-host.js';
import type { Choice, Prompter } from '../prompts.js';
import type { Store } from '../store/store.js';
import type { PortalConnection } from '../transport/connect.js';
import { displayWidth, formatTable } from '../transport/cli-support.js';
import { DRAFT_STATUSES, DRAFT_STATUS_TEXT, getDraft, isEditable, removeDrafts, type Draft } from './drafts.js';
import { portalErrorLine, saveRecord, viewDraft } from './entry.js';
import {
  checkAnswer,
  DERIVED_FIELDS,
  HEADER_FIELDS,
  headerQuestion,
  ITEM_FIELDS,
  itemQuestion,
  orderNote,
  promptLine,
  removeItems,
  VISIT_FIELDS,
  type AnswerCheck,
  type FormContext,
  type FormQuestion,
} from './form.js';
import { LISTING_HEADINGS, listingCells, queryDraftPage, showCode, summarise, type DraftQuery } from './listing.js';
import { checkEntry, cloneRecord, emptyRecord, type DailyRecord } from './record.js';
import { refreshChecking } from './refresh.js';
import { UPLOAD_MESSAGES, uploadCandidates, uploadDrafts } from './upload.js';

/** Where the session shows its screens (the CLI: stderr, IDs masked unless --show-ids). */
export interface EntryScreen {
  print(text: string): void;
}

export interface EntrySessionOptions {
  store: Store;
  prompter: Prompter;
  screen: EntryScreen;
  clock: Clock;
  /** 醫事機構代碼 for h2 (config `institution`, `--hosp`). */
  institution?: string;
  showIds?: boolean;
  /** Opens the portal (the CLI caches one connection) for 資料上傳 and for refreshing 資料處理狀態. */
  connect: () => Promise<PortalConnection>;
  /** Where upload ZIPs are built. */
  outbox: string;
  /** Where the check files of 檢核錯誤 uploads go (their rows are kept on the drafts). */
  checksDir?: string;
  host?: IoHost;
}

export type EntryStart = { screen: 'form'; draftId?: number } | { screen: 'upload' } | { screen: 'query'; query?: DraftQuery };

interface FormState {
  record: DailyRecord;
  draftId: number | null;
  /** Saved as it is now (暫存). */
  saved: boolean;
  /** The draft went out meanwhile (檢核中 …): shown for 新增醫令, no longer edited. */
  readOnly?: string;
}

type FormAction = 'add-item' | 'edit-item' | 'delete-items' | 'edit-header' | 'save' | 'new-order' | 'new-case' | 'upload' | 'query' | 'back';

const ITEM_COLUMNS = ['#', '報告序號', '檢驗項目名稱', '檢驗報告結果值', '單位'];

export class EntrySession {
  private readonly ctx: FormContext;

  constructor(private readonly o: EntrySessionOptions) {
    this.ctx = o.institution ? { institution: o.institution } : {};
  }

  async run(start: EntryStart = { screen: 'form' }): Promise<void> {
    if (start.screen === 'upload') return this.uploadScreen();
    if (start.screen === 'query') return this.queryScreen(start.query ?? {});
    if (start.draftId !== undefined) {
      const d = getDraft(this.o.store, start.draftId);
      if (!isEditable(d)) {
        await this.draftScreen(d.id);
        return;
      }
      return this.formScreen(d);
    }
    return this.formScreen();
  }

  // ——— display ———

  private print(text = ''): void {
    this.o.screen.print(text);
  }

  private id(value: string | undefined, field: string): string {
    if (value === undefined) return '';
    return this.o.showIds ? value : maskFieldValue(field, value);
  }

  private findings(list: Finding[], indent = '  '): void {
    for (const f of list) {
      const where = f.rdata !== null ? `#${f.rdata} ` : '';
      this.print(`${indent}${f.severity === 'error' ? '✗ 錯誤 error' : '! 注意 warning'} ${where}${f.message} → ${f.hint}`);
    }
  }

  private showRecord(state: FormState): void {
    const { header, items } = state.record;
    const title = state.readOnly ? `#${state.draftId} ${state.readOnly}（僅能瀏覽 read-only）` : state.draftId !== null ? `暫存資料 #${state.draftId}` : '新案件 new record';
    this.print('');
    this.print(`── 檢驗(查)結果單筆登錄 · ${title}${state.saved ? '' : ' · 未暫存 unsaved'} ──`);
    const cells: string[] = [];
    for (const f of HEADER_FIELDS) {
      const v = header[f.id as HFieldId];
      if (v === undefined) continue;
      const shown = f.kind.type === 'code' && (f.id === 'h1' || f.id === 'h6') ? showCode(f.id, v) : this.id(v, f.id);
      cells.push(`${f.id} ${f.zh} ${shown}`);
    }
    const width = Math.max(...cells.map(displayWidth), 10) + 2;
    for (let i = 0; i < cells.length; i += 3) this.print('  ' + cells.slice(i, i + 3).map((c, k) => (k < 2 ? c + ' '.repeat(Math.max(0, width - displayWidth(c))) : c)).join('').trimEnd());
    if (items.length) {
      const rows = [ITEM_COLUMNS, ...items.map((it, i) => [String(i + 1), it.r1 ?? '', it.r2 ?? '', (it.r4 ?? it.r7 ?? it['r8-1'] ?? '').slice(0, 30), it.r5 ?? ''])];
      for (const line of formatTable(rows)) this.print('  ' + line);
    } else {
      this.print('  （尚無報告序號 no report items yet）');
    }
  }

  // ——— asking ———

  /** Asks one question until the answer passes the checks; returns the record with it. */
  private async ask(q: FormQuestion, rec: DailyRecord): Promise<DailyRecord> {
    const { def, item } = q;
    const opts = { clock: this.o.clock, showIds: this.o.showIds === true };
    // The check of the answer last typed: the prompt's validation and what follows share it.
    let last: { raw: string; check: AnswerCheck } | undefined;
    const check = (raw: string): AnswerCheck => {
      if (last?.raw !== raw) last = { raw, check: checkAnswer(rec, def, item, raw, opts) };
      return last.check;
    };
    const validate = (value: string): string | true => {
      const c = check(value);
      return c.blocking.length ? c.blocking.map(promptLine).join('\n  ') : true;
    };
    for (;;) {
      let raw: string;
      if (q.control === 'input') {
        raw = await this.o.prompter.input({ message: q.message, ...(q.default !== undefined ? { default: q.default } : {}), validate });
      } else if (q.control === 'select') {
        raw = await this.o.prompter.select<string>({ message: q.message, choices: q.choices!, ...(q.default !== undefined ? { default: q.default } : {}), pageSize: 12 });
        if (raw === '' && q.other) raw = await this.o.prompter.input({ message: `${q.message} — 其他報告序號 another number`, validate });
      } else {
        const current = new Set((q.default ?? '').split(''));
        const chosen = await this.o.prompter.checkbox<string>({ message: q.message, choices: q.choices!.map((c) => ({ ...c, checked: current.has(c.value) })), pageSize: 12 });
        raw = chosen.join('');
      }
      const c = check(raw);
      if (c.blocking.length) {
        // Select lists cannot be refused while shown: say why, and ask again.
        this.findings(c.blocking);
        continue;
      }
      this.findings([...c.errors, ...c.warnings, ...c.others]);
      if (def.id === 'h15' && c.value) {
        const note = orderNote(c.value);
        if (note) this.print(`  ${note}`);
      }
      if (def.id === 'h20' && c.record.header.h4 && c.record.header.h4 !== rec.header.h4) this.print(`  h4 執行年月 = ${c.record.header.h4}（依 h20 from h20）`);
      return c.record;
    }
  }

  /**
   * The header in spec order. `only`: ask just these fields; `defaults`: answers to offer where the
   * record has none (新增醫令 offers the previous order's).
   */
  private async fillHeader(rec: DailyRecord, only?: ReadonlySet<string>, defaults?: DailyRecord['header']): Promise<DailyRecord> {
    let r = rec;
    if (this.ctx.institution && r.header.h2 === undefined) r = { ...r, header: { ...r.header, h2: this.ctx.institution } };
    for (const def of HEADER_FIELDS) {
      if (only && !only.has(def.id)) continue;
      const q = headerQuestion(def, r, this.ctx, { clock: this.o.clock });
      if (!q) continue;
      const fallback = defaults?.[def.id as HFieldId];
      if (q.default === undefined && fallback !== undefined) q.default = fallback;
      r = await this.ask(q, r);
    }
    return r;
  }

  /** One report item (増加報告序號 with `item` = count + 1, 編輯 for an existing one). */
  private async fillItem(rec: DailyRecord, item: number): Promise<DailyRecord> {
    let r = rec;
    if (r.items.length < item) r = { ...cloneRecord(r), items: [...r.items.map((x) => ({ ...x })), {}] };
    this.print(`  ── 報告序號 item #${item} ──`);
    for (const def of ITEM_FIELDS) {
      const q = itemQuestion(def, r, item, { clock: this.o.clock });
      if (!q) continue;
      r = await this.ask(q, r);
    }
    return r;
  }

  // ——— 單筆登錄 ———

  private async formScreen(draft?: Draft): Promise<void> {
    let state: FormState = draft ? { record: cloneRecord(draft.record), draftId: draft.id, saved: true } : { record: emptyRecord(), draftId: null, saved: false };
    if (!draft) state = await this.newCase(state);
    for (;;) {
      this.showRecord(state);
      const n = state.record.items.length;
      const editing = !state.readOnly;
      const hasVisit = Object.keys(state.record.header).length > 0;
      const choices: Array<Choice<FormAction>> = [
        ...(editing ? [{ name: '＋ 增加報告序號 add a report item', value: 'add-item' as const }] : []),
        ...(editing && n ? [{ name: '編輯報告序號… edit an item', value: 'edit-item' as const }] : []),
        ...(editing && n ? [{ name: '刪除報告序號… delete items', value: 'delete-items' as const }] : []),
        ...(editing ? [{ name: '編輯表頭欄位… edit a header field', value: 'edit-header' as const }] : []),
        ...(editing ? [{ name: '暫存 save as draft', value: 'save' as const }] : []),
        ...(hasVisit ? [{ name: '新增醫令 next order, same visit', value: 'new-order' as const }] : []),
        { name: '新增案件 new record', value: 'new-case' },
        { name: '資料上傳… upload drafts', value: 'upload' },
        { name: '查詢… query', value: 'query' },
        { name: '回前畫面 back', value: 'back' },
      ];
      const action = await this.o.prompter.select<FormAction>({ message: '功能 action', choices, default: !state.saved ? 'save' : hasVisit ? 'new-order' : 'new-case', pageSize: 12 });
      switch (action) {
        case 'add-item':
          state = { ...state, record: await this.fillItem(state.record, n + 1), saved: false };
          break;
        case 'edit-item': {
          const which = await this.o.prompter.select<number>({ message: '編輯哪一筆報告序號 which item', choices: this.itemChoices(state.record) });
          state = { ...state, record: await this.fillItem(state.record, which), saved: false };
          break;
        }
        case 'delete-items': {
          const which = await this.o.prompter.checkbox<number>({ message: '勾選要刪除的報告序號 items to delete (space, Enter)', choices: this.itemChoices(state.record) });
          if (which.length) state = { ...state, record: removeItems(state.record, which), saved: false };
          break;
        }
        case 'edit-header':
          state = await this.editHeader(state);
          break;
        case 'save':
          state = await this.save(state);
          break;
        case 'new-order':
          if (!(await this.settle(state))) break;
          state = await this.newOrder(state);
          break;
        case 'new-case':
          if (!(await this.settle(state))) break;
          state = await this.newCase({ record: emptyRecord(), draftId: null, saved: false });
          break;
        case 'upload':
          if (!(await this.settle(state))) break;
          await this.uploadScreen();
          state = this.resync(state);
          break;
        case 'query':
          if (!(await this.settle(state))) break;
          await this.queryScreen({});
          state = this.resync(state);
          break;
        case 'back':
          if (await this.settle(state)) return;
          break;
      }
    }
  }

  /** After 資料上傳 or 查詢: the record on screen may have been uploaded, edited or removed meanwhile. */
  private resync(state: FormState): FormState {
    if (state.draftId === null) return state;
    const d = this.freshDraft(state.draftId);
    if (!d) return { record: emptyRecord(), draftId: null, saved: true };
    if (!isEditable(d)) return { record: cloneRecord(d.record), draftId: d.id, saved: true, readOnly: `${d.statusText}${d.receiptNo ? ` 收件序號 ${d.receiptNo}` : ''}` };
    return { record: cloneRecord(d.record), draftId: d.id, saved: true };
  }

  private freshDraft(id: number): Draft | undefined {
    try {
      return getDraft(this.o.store, id);
    } catch {
      return undefined;
    }
  }

  private itemChoices(rec: DailyRecord): Array<Choice<number>> {
    return rec.items.map((it, i) => ({ name: `#${i + 1} 報告序號 ${it.r1 ?? ''} ${it.r2 ?? it.r7?.slice(0, 20) ?? ''} ${it.r4 ?? ''} ${it.r5 ?? ''}`.trimEnd(), value: i + 1 }));
  }

  private async newCase(state: FormState): Promise<FormState> {
    this.print('');
    this.print('── 新增案件 new record: * 為必要輸入欄位 (* required); Enter 採用預設值 (takes the default), 空白時按 Backspace 清除預設 (Backspace on an empty answer drops it) ──');
    let rec = await this.fillHeader(state.record);
    rec = await this.fillItem(rec, 1);
    return { record: rec, draftId: null, saved: false };
  }

  /** 新增醫令: a new record keeping the visit fields; the order fields offer the previous answers. */
  private async newOrder(state: FormState): Promise<FormState> {
    const prev = state.record.header;
    const keep = new Set<string>(VISIT_FIELDS);
    const header: DailyRecord['header'] = {};
    for (const id of VISIT_FIELDS) if (prev[id] !== undefined) header[id] = prev[id];
    const defaults = { ...prev };
    delete defaults.h15;
    this.print('');
    this.print('── 新增醫令 next order of the same visit: 就醫資料已保留 (visit fields kept) ──');
    const only = new Set(HEADER_FIELDS.map((f) => f.id).filter((id) => !keep.has(id) && !DERIVED_FIELDS.has(id)));
    let rec = await this.fillHeader({ header, items: [] }, only, defaults);
    rec = await this.fillItem(rec, 1);
    return { record: rec, draftId: null, saved: false };
  }

  private async editHeader(state: FormState): Promise<FormState> {
    const choices: Array<Choice<string>> = [];
    for (const def of HEADER_FIELDS) {
      if (DERIVED_FIELDS.has(def.id)) continue;
      const q = headerQuestion(def, state.record, {}, { clock: this.o.clock });
      if (!q) continue;
      const v = state.record.header[def.id as HFieldId];
      choices.push({ name: `${def.id} ${def.zh}${v !== undefined ? ` = ${this.id(v, def.id)}` : ''}`, value: def.id });
    }
    const id = await this.o.prompter.select<string>({ message: '編輯哪一個欄位 which field', choices, pageSize: 15 });
    const q = headerQuestion(FIELD_BY_ID.get(id)!, state.record, {}, { clock: this.o.clock })!;
    return { ...state, record: await this.ask(q, state.record), saved: false };
  }

  /** 暫存: the whole core on the record, findings shown; saved (errors block upload, not saving). */
  private async save(state: FormState): Promise<FormState> {
    const check = checkEntry(state.record, { clock: this.o.clock, showIds: this.o.showIds === true });
    this.findings([...check.errors, ...check.warnings]);
    if (check.errors.length) {
      const ok = await this.o.prompter.confirm({ message: `有 ${check.errors.length} 個錯誤，仍要暫存嗎？（有錯誤的暫存資料不能上傳） ${check.errors.length} error(s): save anyway? (they block upload)`, default: true });
      if (!ok) return state;
    }
    try {
      const saved = saveRecord(this.o.store, state.draftId, state.record, { clock: this.o.clock, showIds: this.o.showIds === true });
      this.print(`暫存成功 — saved as draft #${saved.draft.id}${check.errors.length ? `（${check.errors.length} 個錯誤，修正後才能上傳 fix before upload）` : ''}${check.warnings.length ? `（${check.warnings.length} 個注意事項 warnings）` : ''}`);
      return { record: state.record, draftId: saved.draft.id, saved: true };
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      this.error(err);
      return state;
    }
  }

  /** Before leaving the record: offer to save it (or to drop the changes). False: stay. */
  private async settle(state: FormState): Promise<boolean> {
    if (state.saved || state.readOnly) return true;
    const empty = Object.keys(state.record.header).length === 0 && state.record.items.length === 0;
    if (empty) return true;
    const save = await this.o.prompter.confirm({ message: '目前資料尚未暫存，要先暫存嗎？ The record is not saved: save it (暫存) first?', default: true });
    if (!save) return this.o.prompter.confirm({ message: '放棄未暫存的資料？ Discard the unsaved changes?', default: false });
    const after = await this.save(state);
    return after.saved;
  }

  private error(err: LabupError): void {
    this.print(`✗ [${err.code}] ${err.message}${err.hint ? `\n  → ${err.hint}` : ''}`);
  }

  // ——— 資料上傳 ———

  private table(drafts: Draft[]): { head: string; rows: string[] } {
    const cells = drafts.map((d) => listingCells(summarise(d, this.o.showIds === true)));
    const lines = formatTable([[...LISTING_HEADINGS], ...cells]);
    return { head: lines[0]!, rows: lines.slice(1) };
  }

  private async uploadScreen(): Promise<void> {
    this.print('');
    this.print('── 檢驗(查)結果上傳 upload: 近一年內暫存資料 (drafts of the last year) ──');
    const candidates = uploadCandidates(this.o.store, this.o.clock);
    if (candidates.length === 0) {
      this.print(UPLOAD_MESSAGES.nothing);
      return;
    }
    const checks = new Map(candidates.map((d) => [d.id, checkEntry(d.record, { clock: this.o.clock })]));
    const { head, rows } = this.table(candidates);
    // The checkbox list draws “❯◯ ” before each row.
    this.print('   ' + head);
    const ids = await this.o.prompter.checkbox<number>({
      message: '勾選欲上傳資料 choose (space 勾選, a 全選 all, Enter 資料上傳)',
      choices: candidates.map((d, i) => ({ name: rows[i]!, value: d.id, ...(checks.get(d.id)!.ok ? {} : { disabled: '（有錯誤，修正後才能上傳 fix it first: 查詢… → 編輯）' }) })),
      pageSize: 15,
    });
    if (ids.length === 0) {
      this.print(UPLOAD_MESSAGES.nothing);
      return;
    }
    for (;;) {
      try {
        const portal = await this.o.connect();
        const r = await uploadDrafts({ store: this.o.store, portal, clock: this.o.clock, outbox: this.o.outbox, ids, showIds: this.o.showIds === true, ...(this.o.host ? { host: this.o.host } : {}) });
        if (r.ok) {
          this.print(`${r.message} — 收件序號 ${r.receiptNo}, 上傳日期 ${r.uploadDate}, ${r.drafts.length} 筆, ${r.statusText}${r.replayed ? '（入口網站已收過此檔 the portal already had this file）' : ''}`);
          this.print('  處理完成後以「查詢…」查看資料處理狀態 (check 資料處理狀態 with 查詢… once processed)');
        } else if (r.reason === 'nothing') {
          this.print(r.message);
        } else {
          this.print(`✗ ${r.message}`);
          for (const d of r.drafts) {
            this.print(`  #${d.id}:`);
            this.findings(d.errors, '    ');
          }
        }
        return;
      } catch (err) {
        if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
        if (err.kind !== 'portal') {
          this.error(err);
          return;
        }
        this.print(`${UPLOAD_MESSAGES.failed}: ${err.message}`);
        const again = await this.o.prompter.confirm({ message: '資料上傳失敗，請再次傳送？ Upload failed: send again?', default: true });
        if (!again) return;
      }
    }
  }

  // ——— 查詢 ———

  /** Refreshes 資料處理狀態 of drafts still 檢核中 (when a portal is at hand). */
  private async refresh(): Promise<void> {
    const r = await refreshChecking({ store: this.o.store, clock: this.o.clock, connect: this.o.connect, ...(this.o.checksDir ? { checksDir: this.o.checksDir } : {}), ...(this.o.host ? { host: this.o.host } : {}) });
    if (r.error) this.print(`（資料處理狀態未更新 not refreshed from the portal: ${r.error.message}）`);
  }

  private async queryScreen(initial: DraftQuery): Promise<void> {
    let q: DraftQuery = { ...initial, page: 1 };
    await this.refresh();
    for (;;) {
      const { result: res, drafts } = queryDraftPage(this.o.store, { ...q, showIds: this.o.showIds === true }, this.o.clock);
      const { page } = res;
      const statusText = res.statuses ? res.statuses.map((s) => DRAFT_STATUS_TEXT[s]).join('、') : '全部';
      this.print('');
      this.print(`── 檢驗(查)結果查詢 · 資料處理狀態: ${statusText} · 資料建立日期: ${res.from} ~ ${res.to} · 第 ${page.page}/${page.pages} 頁, 共 ${page.total} 筆 ──`);
      const choices: Array<Choice<string>> = [];
      if (drafts.length) {
        const { head, rows } = this.table(drafts);
        this.print('  ' + head);
        drafts.forEach((d, i) => choices.push({ name: rows[i]!, value: `open:${d.id}` }));
      } else {
        this.print('  查無資料 no records');
      }
      if (page.page < page.pages) choices.push({ name: '下一頁 next page', value: 'next' });
      if (page.page > 1) choices.push({ name: '上一頁 previous page', value: 'prev' });
      choices.push(
        { name: '重新查詢 refresh', value: 'refresh' },
        { name: '變更查詢條件 change 資料處理狀態 / 資料建立日期', value: 'filter' },
        { name: '新增案件… new record', value: 'new' },
        { name: '資料上傳… upload drafts', value: 'upload' },
        { name: '回前畫面 back', value: 'back' },
      );
      const action = await this.o.prompter.select<string>({ message: '詳細資料 open a record, or 功能 action', choices, pageSize: 15, default: 'back' });
      if (action.startsWith('open:')) await this.draftScreen(Number(action.slice(5)));
      else if (action === 'next') q = { ...q, page: page.page + 1 };
      else if (action === 'prev') q = { ...q, page: page.page - 1 };
      else if (action === 'refresh') await this.refresh();
      else if (action === 'filter') q = await this.filter(q, res.from!, res.to!);
      else if (action === 'new') await this.formScreen();
      else if (action === 'upload') await this.uploadScreen();
      else return;
    }
  }

  private async filter(q: DraftQuery, from: string, to: string): Promise<DraftQuery> {
    const status = await this.o.prompter.select<string>({
      message: '資料處理狀態',
      choices: [{ name: '全部 all', value: 'all' }, ...DRAFT_STATUSES.map((s) => ({ name: `${DRAFT_STATUS_TEXT[s]} ${s}`, value: s }))],
      default: q.status ?? 'all',
    });
    const valid = (v: string) => (v.trim() === '' || /^(\d{2,3}\/\d{1,2}\/\d{1,2}|\d{7}|\d{4}-\d{2}-\d{2})$/.test(v.trim()) ? true : '日期請寫 YYY/MM/DD, YYYMMDD 或 YYYY-MM-DD');
    const f = await this.o.prompter.input({ message: '資料建立日期 起 from (YYY/MM/DD)', default: from, validate: valid });
    const t = await this.o.prompter.input({ message: '資料建立日期 迄 to (YYY/MM/DD)', default: to, validate: valid });
    return { status, from: f, to: t, page: 1 };
  }

  /** 詳細資料: the record in full; 編輯 and 刪除 for 暫存 and 檢核錯誤, read-only otherwise. */
  private async draftScreen(id: number): Promise<void> {
    const d = getDraft(this.o.store, id);
    const v = viewDraft(d, { clock: this.o.clock, showIds: this.o.showIds === true });
    this.print('');
    this.print(`── 詳細資料 #${d.id} · ${d.statusText}${d.receiptNo ? ` · 收件序號 ${d.receiptNo}` : ''}${d.h16 ? ` · h16 ${d.h16}` : ''}${v.editable ? '' : ' · 僅能瀏覽 read-only'} ──`);
    const header = d.record.header as Record<string, string | undefined>;
    for (const f of HEADER_FIELDS) {
      const val = header[f.id];
      if (val !== undefined) this.print(`  ${f.id} ${f.zh}: ${this.id(val, f.id)}`);
    }
    d.record.items.forEach((it, i) => {
      this.print(`  ── 報告序號 item #${i + 1} ──`);
      for (const f of ITEM_FIELDS) {
        const val = (it as Record<string, string | undefined>)[f.id];
        if (val !== undefined) this.print(`    ${f.id} ${f.zh}: ${this.id(val, f.id)}`);
      }
    });
    if (v.portalErrors?.length) {
      this.print(`  ── 入口網站檢核結果 the portal's check (收件序號 ${d.receiptNo ?? '—'}) ──`);
      for (const e of v.portalErrors) this.print(`  ✗ ${portalErrorLine(e)}`);
    }
    this.findings([...v.errors, ...v.warnings]);
    if (!v.editable) {
      await this.o.prompter.select<string>({ message: '檢核中與檢核正確資料僅能瀏覽 (read-only)', choices: [{ name: '返回 back', value: 'back' }] });
      return;
    }
    const action = await this.o.prompter.select<string>({
      message: '功能 action',
      choices: [
        { name: '編輯 edit', value: 'edit' },
        { name: '刪除 delete this record', value: 'delete' },
        { name: '返回 back', value: 'back' },
      ],
    });
    if (action === 'edit') await this.formScreen(d);
    else if (action === 'delete') {
      if (await this.o.prompter.confirm({ message: `刪除暫存資料 #${d.id}？ Delete draft #${d.id}?`, default: false })) {
        removeDrafts(this.o.store, [d.id]);
        this.print(`已刪除 deleted #${d.id}`);
      }
    }
  }
}
