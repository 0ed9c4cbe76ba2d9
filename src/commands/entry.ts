/** `labup entry` — single-record entry with drafts (檢驗(查)結果(每日)單筆登錄與查詢). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext, Wrap } from '../cli/main.js';
import { taipeiDisplay } from '../clock.js';
import { describePage } from '../query.js';
import { ExitCode, fileError, usageError } from '../errors.js';
import { FIELD_BY_ID } from '../format/fields.js';
import { DEMO_INSTITUTION } from '../format/synthetic.js';
import type { Finding } from '../format/findings.js';
import { addPortalOptions, formatTable, openPortalFromCli, openStoreFromCli, type PortalFlags } from '../transport/cli-support.js';
import type { PortalConnection } from '../transport/connect.js';
import type { Store } from '../store/store.js';
import type { DraftView } from '../entry/entry.js';
import { hasCheckingDrafts, portalErrorLine } from '../entry/drafts.js';
import type { DraftQueryResult } from '../entry/listing.js';
import type { EntryStart } from '../entry/interactive.js';

interface EntryFlags extends PortalFlags {
  hosp?: string;
}
interface ListFlags {
  status?: string;
  from?: string;
  to?: string;
  page?: string;
  pageSize?: string;
  sort?: string;
}
interface QueryFlags extends ListFlags, PortalFlags {
  refresh: boolean;
  hosp?: string;
}
interface EditFlags extends EntryFlags {
  set: string[];
  removeItem: number[];
}
interface UploadFlags extends EntryFlags {
  ids?: string;
  all?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];
const collectInt = (v: string, prev: number[]) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usageError('ENTRY_REMOVE_ITEM', `--remove-item ${v}: give the item's position, 1, 2, …`);
  return [...prev, n];
};

function draftId(v: string): number {
  const n = Number(v.replace(/^#/, ''));
  if (!Number.isInteger(n) || n < 1) throw usageError('ENTRY_BAD_ID', `“${v}” is not a draft number`, { hint: 'labup entry list shows the drafts and their numbers.' });
  return n;
}

function idList(v: string): number[] {
  return v
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(draftId);
}

function addListOptions(cmd: Command): Command {
  return cmd
    .option('--status <status>', '資料處理狀態: all, draft (暫存), checking (檢核中), passed (檢核正確), failed (檢核錯誤); several with commas')
    .option('--from <date>', '資料建立日期 from: YYY/MM/DD, YYYMMDD or YYYY-MM-DD')
    .option('--to <date>', '資料建立日期 to (default today)')
    .option('--page <n>', 'page to show (default 1)')
    .option('--page-size <n>', 'records per page (default 20)')
    .option('--sort <field>', 'sort by id, created, updated, h4, h5, h15, receipt or status; -FIELD descending (default: entry query newest first, entry list by number)');
}

/** The institution for h2: --hosp, else `institution` from the config, else with --sandbox its demo institution. */
function institutionOf(ctx: CliContext, flags: EntryFlags): string | undefined {
  const configured = ctx.config(flags.hosp ? { institution: flags.hosp } : {}, { institution: '--hosp' }).values.institution;
  return configured ?? (flags.sandbox ? DEMO_INSTITUTION : undefined);
}

function noTerminal(what: string, scripted: string) {
  return usageError('NO_TTY', `${what} needs a terminal, and there is none`, { hint: `Without a terminal: ${scripted}` });
}

/** One portal connection per command, opened the first time it is needed. */
function lazyPortal(ctx: CliContext, flags: PortalFlags): () => Promise<PortalConnection> {
  let conn: Promise<PortalConnection> | undefined;
  return () => {
    conn ??= openPortalFromCli(ctx, flags).catch((err) => {
      conn = undefined;
      throw err;
    });
    return conn;
  };
}

async function session(ctx: CliContext, store: Store, flags: EntryFlags, start: EntryStart): Promise<number> {
  const { EntrySession } = await import('../entry/interactive.js');
  const { entryOutbox, entryChecksDir } = await import('../entry/upload.js');
  const institution = institutionOf(ctx, flags);
  const s = new EntrySession({
    store,
    prompter: ctx.prompter,
    screen: { print: (t) => ctx.out.screen(t) },
    clock: ctx.clock,
    ...(institution ? { institution } : {}),
    showIds: ctx.globals.showIds,
    connect: lazyPortal(ctx, flags),
    outbox: entryOutbox(ctx.env),
    checksDir: entryChecksDir(ctx.env),
    host: ctx.out,
  });
  await s.run(start);
  return ExitCode.OK;
}

function printFindings(ctx: CliContext, label: string, errors: Finding[], warnings: Finding[]): void {
  for (const f of [...errors, ...warnings]) {
    ctx.out.notify({ level: f.severity === 'error' ? 'error' : 'warn', code: f.code, message: `${label}${f.rdata !== null ? ` item #${f.rdata}` : ''}: ${f.message} → ${f.hint}` });
  }
}

async function readInput(ctx: CliContext, file: string | undefined): Promise<{ text: string; name: string }> {
  const max = 16 * 1024 * 1024;
  if (file === undefined || file === '-') {
    if (ctx.stdin.isTTY) throw usageError('ENTRY_JSON_INPUT', 'entry add: no file given and standard input is a terminal', { hint: 'Give the JSON file (labup entry add record.json), or pipe it in with -.' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of ctx.stdin as AsyncIterable<Buffer | string>) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      if (size > max) throw usageError('ENTRY_JSON_INPUT', 'standard input: more than 16 MiB of JSON for entry add', { hint: 'Pack large exports with labup pack instead.' });
      chunks.push(b);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), name: '-' };
  }
  const path = resolve(ctx.cwd, file);
  try {
    const buf = await readFile(path);
    if (buf.length > max) throw usageError('ENTRY_JSON_INPUT', `${file}: more than 16 MiB of JSON for entry add`, { hint: 'Pack large exports with labup pack instead.' });
    return { text: buf.toString('utf8'), name: file };
  } catch (err) {
    if ((err as { kind?: string }).kind) throw err;
    throw fileError(err, file);
  }
}

function renderView(ctx: CliContext, v: DraftView): void {
  const head = `#${v.id}  ${v.statusText}${v.receiptNo ? `  收件序號 ${v.receiptNo} (hdata ${v.position})` : ''}${v.h16 ? `  h16 ${v.h16}` : ''}${v.editable ? '' : '  (read-only)'}`;
  ctx.out.result(head);
  const { items, ...header } = v.order as Record<string, unknown> & { items: Array<Record<string, string>> };
  for (const [id, value] of Object.entries(header)) ctx.out.result(`  ${id} ${fieldName(id)}: ${String(value)}`);
  items.forEach((it, i) => {
    ctx.out.result(`  item #${i + 1}`);
    for (const [id, value] of Object.entries(it)) ctx.out.result(`    ${id} ${fieldName(id)}: ${value}`);
  });
  for (const e of v.portalErrors ?? []) ctx.out.result(`  portal ${portalErrorLine(e)}`);
  for (const f of [...v.errors, ...v.warnings]) ctx.out.result(`  ${f.severity} ${f.code}${f.rdata !== null ? ` item #${f.rdata}` : ''}: ${f.message} → ${f.hint}`);
}

function fieldName(id: string): string {
  return FIELD_BY_ID.get(id)?.zh ?? '';
}

function renderListing(ctx: CliContext, res: DraftQueryResult, cells: (s: DraftQueryResult['page']['items'][number]) => string[], headings: readonly string[]): void {
  const { page } = res;
  if (page.items.length) for (const line of formatTable([[...headings], ...page.items.map(cells)])) ctx.out.result(line);
  const window = res.from ? `資料建立日期 ${res.from} ~ ${res.to}${res.statuses ? `, ${res.statuses.join(',')}` : ''}; ` : res.statuses ? `${res.statuses.join(',')}; ` : '';
  ctx.out.summary(`labup entry: ${page.total === 0 ? `no records${window ? ` (${window.replace(/; $/, '')})` : ''}` : `${window}${describePage(page)}`}`);
}

export function register(program: Command, wrap: Wrap): void {
  const entry = program
    .command('entry')
    .summary('single-record entry with drafts (單筆登錄與查詢): type a record, keep it as 暫存, upload drafts')
    .description(
      'The portal’s 檢驗(查)結果(每日)單筆登錄與查詢 in the terminal. `labup entry` opens the form: the fields of 表一 ' +
        'in spec order with their Chinese names and formats, code lists to choose from, conditional fields only where ' +
        'they apply, each answer checked at once with the rules of labup validate. Records are kept as drafts (暫存) ' +
        'in LABUP_HOME/labup.db and uploaded later, several in one ZIP, through the same workflow as labup upload.\n\n' +
        'Scriptable: entry add FILE|-, entry list, entry show ID, entry edit ID --set FIELD[@ITEM]=VALUE, ' +
        'entry rm ID, entry upload --ids …|--all, entry query. Without a terminal, the interactive form fails at once ' +
        '(exit 2).\n\n' +
        '`labup entry` alone is `labup entry new` and takes its options (--hosp, --sandbox and the other portal ' +
        'options): see labup entry new --help.',
    );

  const add = entry
    .command('new', { isDefault: true })
    .alias('add')
    .summary('the entry form (interactive), or FILE|- to add drafts from JSON')
    .description(
      'Without a file: the entry form (a terminal is needed; with --json, standard input is read as JSON instead). ' +
        'With FILE (or - for standard input): each order of the ' +
        'JSON is saved as a draft and its number printed, one per line (with --json: one document, {ok, drafts: [{id, ' +
        'ok, errors, warnings}], warnings}). The JSON is what labup pack reads: {"h1": "1", …, "items": [{"r1": "1", …}]}, ' +
        'flat rows, NDJSON or an array; keys are field ids or 資料名稱. The form’s defaults apply: h2 from --hosp or the ' +
        'config, 補卡註記 1, 執行年月 from h20, 報告序號 1, 2 …; h16 is stamped at upload.\n\n' +
        'Exit codes: 0 saved, 1 saved but with errors (they block upload), 2 usage (bad JSON, no terminal).',
    )
    .argument('[file]', 'the JSON file of orders to save as drafts, or - for standard input')
    .option('--hosp <code>', '醫事機構代碼 for h2 (default: "institution" from the config; with --sandbox its demo institution)');
  addPortalOptions(add).action(
    wrap(async (ctx, file: string | undefined, opts: EntryFlags) => {
      // No file: the form — unless --json asks for a document, which only JSON input gives (then
      // standard input is read, as with -).
      if (file === undefined && !ctx.globals.json) {
        if (!ctx.prompter.interactive) throw noTerminal('labup entry (the entry form)', 'labup entry add FILE (or - for standard input).');
        const store = openStoreFromCli(ctx);
        return session(ctx, store, opts, { screen: 'form' });
      }
      const { addDrafts } = await import('../entry/entry.js');
      const input = await readInput(ctx, file);
      const store = openStoreFromCli(ctx);
      const institution = institutionOf(ctx, opts);
      const r = await addDrafts(store, input.text, input.name, { clock: ctx.clock, showIds: ctx.globals.showIds, ...(institution ? { institution } : {}) });
      const bad = r.saved.filter((s) => !s.check.ok).length;
      if (ctx.globals.json) {
        ctx.out.resultJson({
          ok: bad === 0,
          drafts: r.saved.map((s) => ({ id: s.draft.id, ok: s.check.ok, errors: s.check.errors, warnings: s.check.warnings })),
          warnings: r.warnings,
        });
        return bad ? ExitCode.INVALID : ExitCode.OK;
      }
      for (const w of r.warnings) ctx.out.warn(w, 'ENTRY_JSON_WARNING');
      let errors = 0;
      for (const s of r.saved) {
        ctx.out.result(String(s.draft.id));
        printFindings(ctx, `draft #${s.draft.id}`, s.check.errors, s.check.warnings);
        errors += s.check.errors.length;
      }
      ctx.out.summary(`labup entry add: ${r.saved.length} draft(s) saved (暫存): #${r.saved.map((s) => s.draft.id).join(', #')}${bad ? `; ${bad} with ${errors} error(s) — fix them (labup entry edit ID --set …) before upload` : ''}`);
      return bad ? ExitCode.INVALID : ExitCode.OK;
    }),
  );

  addListOptions(
    entry
      .command('list')
      .summary('list drafts (all dates unless --from/--to, by number), IDs masked')
      .description('Lists the drafts kept here, whatever their date unless --from/--to, with the portal’s columns. Nothing is asked of the portal (labup entry query refreshes 資料處理狀態).\n\nExit codes: 0, 2 usage.'),
  ).action(
    wrap(async (ctx, opts: ListFlags) => {
      const { queryDrafts, listingCells, LISTING_HEADINGS } = await import('../entry/listing.js');
      const store = openStoreFromCli(ctx);
      const res = queryDrafts(store, { ...opts, defaultDays: opts.from || opts.to ? 2 : null, defaultSort: { sort: 'id', order: 'asc' }, showIds: ctx.globals.showIds }, ctx.clock);
      if (ctx.globals.json) ctx.out.resultJson(res);
      else renderListing(ctx, res, listingCells, LISTING_HEADINGS);
      return ExitCode.OK;
    }),
  );

  entry
    .command('show')
    .summary('one draft in full, with its findings')
    .argument('<id>', 'draft number')
    .description('Shows a draft: its status, 收件序號, every field and item, and what the rules find in it now. --json prints it with "order" in the shape entry add reads (IDs masked unless --show-ids).\n\nExit codes: 0, 2 usage (no such draft).')
    .action(
      wrap(async (ctx, id: string) => {
        const { viewDraft } = await import('../entry/entry.js');
        const { getDraft } = await import('../entry/drafts.js');
        const store = openStoreFromCli(ctx);
        const v = viewDraft(getDraft(store, draftId(id)), { clock: ctx.clock, showIds: ctx.globals.showIds });
        if (ctx.globals.json) ctx.out.resultJson(v);
        else renderView(ctx, v);
        return ExitCode.OK;
      }),
    );

  const edit = entry
    .command('edit')
    .summary('change a draft: --set FIELD=VALUE, --set FIELD@ITEM=VALUE, --remove-item N (or the form)')
    .argument('<id>', 'draft number (暫存 or 檢核錯誤; 檢核中 and 檢核正確 are read-only)')
    .description(
      'Changes a 暫存 or 檢核錯誤 draft (which becomes 暫存 again) and checks it with the whole core. FIELD is a field ' +
        'id or 資料名稱; an item is addressed by its position as entry show numbers them: r4@2=95 sets r4 of the ' +
        'second item, and one past the last item adds one; an empty VALUE clears the field. Without --set or ' +
        '--remove-item, the draft opens in the form (a terminal is needed).\n\n' +
        'Exit codes: 0 saved, 1 saved but with errors (they block upload), 2 usage (read-only draft, bad --set, no terminal).',
    )
    .option('--set <FIELD[@ITEM]=VALUE>', 'set a value (repeatable)', collect, [])
    .option('--remove-item <n>', 'remove the item at this position (repeatable)', collectInt, [])
    .option('--hosp <code>', '醫事機構代碼 for h2 in the form (default: "institution" from the config)');
  addPortalOptions(edit).action(
    wrap(async (ctx, id: string, opts: EditFlags) => {
      const n = draftId(id);
      const store = openStoreFromCli(ctx);
      if (opts.set.length === 0 && opts.removeItem.length === 0) {
        if (!ctx.prompter.interactive || ctx.globals.json) throw noTerminal(`labup entry edit ${n} (the form)`, `labup entry edit ${n} --set FIELD=VALUE [--set FIELD@ITEM=VALUE] [--remove-item N].`);
        return session(ctx, store, opts, { screen: 'form', draftId: n });
      }
      const { editDraft, viewDraft } = await import('../entry/entry.js');
      const { parseSet } = await import('../entry/edit.js');
      const sets = opts.set.map(parseSet);
      const saved = editDraft(store, n, sets, opts.removeItem, { clock: ctx.clock, showIds: ctx.globals.showIds });
      const v = viewDraft(saved.draft, { clock: ctx.clock, showIds: ctx.globals.showIds });
      if (ctx.globals.json) ctx.out.resultJson(v);
      else printFindings(ctx, `draft #${n}`, v.errors, v.warnings);
      ctx.out.summary(`labup entry edit: draft #${n} saved (暫存)${v.errors.length ? `, ${v.errors.length} error(s) — they block upload` : ''}${v.warnings.length ? `, ${v.warnings.length} warning(s)` : ''}`);
      return v.errors.length ? ExitCode.INVALID : ExitCode.OK;
    }),
  );

  entry
    .command('rm')
    .summary('remove drafts')
    .argument('<ids...>', 'draft numbers')
    .option('--force', 'also remove drafts already uploaded (檢核中, 檢核正確) from this list; the portal keeps what it received')
    .description('Removes drafts (暫存, 檢核錯誤). Uploaded ones only with --force. A number that is not a draft here stops it before anything is removed (ENTRY_NOT_FOUND).\n\nExit codes: 0, 2 usage (no such draft).')
    .action(
      wrap(async (ctx, ids: string[], opts: { force?: boolean }) => {
        const { removeDrafts } = await import('../entry/drafts.js');
        const store = openStoreFromCli(ctx);
        const removed = removeDrafts(store, ids.map(draftId), { force: opts.force === true });
        if (ctx.globals.json) ctx.out.resultJson({ removed: removed.map((d) => d.id) });
        else for (const d of removed) ctx.out.result(`removed #${d.id} (${d.statusText})`);
        return ExitCode.OK;
      }),
    );

  const upload = entry
    .command('upload')
    .summary('資料上傳: chosen drafts (or --all) in one ZIP to the portal; without --ids/--all, a checkbox list')
    .description(
      'Builds the chosen 暫存 drafts into one daily XML (Big5) in one ZIP named (醫事機構代碼)(上傳日期)(流水號).zip, with ' +
        'h16 = now (Asia/Taipei), checks it with the rules of labup validate and sends it as labup upload does ' +
        '(journal, idempotency key). The answer is the portal’s: 暫存資料已全數上傳成功 with the 收件序號, 無資料可上傳, ' +
        'or 資料上傳失敗 — run the same command again: the same file goes out and the portal never takes it twice. ' +
        'Without --ids or --all, the drafts of the last year are offered in a checkbox list (a terminal is needed). ' +
        'A chosen draft with errors stops the upload; --all leaves drafts with errors out (and says so).\n\n' +
        'Exit codes: 0 uploaded (檢核中), 1 drafts with errors, 2 usage, 4 card or sign-in, 5 資料上傳失敗 (portal or ' +
        'network after retries), 6 無資料可上傳.',
    )
    .option('--ids <list>', 'draft numbers, e.g. 3,4,7')
    .option('--all', 'every 暫存 draft of the last year without errors');
  addPortalOptions(upload).action(
    wrap(async (ctx, opts: UploadFlags) => {
      if (opts.ids && opts.all) throw usageError('CONFLICTING_FLAGS', 'give --ids or --all, not both');
      const store = openStoreFromCli(ctx);
      if (!opts.ids && !opts.all) {
        if (!ctx.prompter.interactive || ctx.globals.json) throw noTerminal('labup entry upload (the checkbox list)', 'labup entry upload --ids 3,4 or --all.');
        return session(ctx, store, opts, { screen: 'upload' });
      }
      const { uploadDrafts, entryOutbox } = await import('../entry/upload.js');
      const ids = opts.ids ? idList(opts.ids) : undefined;
      // (the portal is opened only when there is something to send)
      const portal = lazyPortal(ctx, opts);
      const r = await uploadDrafts({ store, portal, clock: ctx.clock, outbox: entryOutbox(ctx.env), ...(ids ? { ids } : { all: true }), showIds: ctx.globals.showIds, host: ctx.out });
      if (ctx.globals.json) ctx.out.resultJson(r);
      if (!r.ok) {
        if (r.reason === 'nothing') {
          ctx.out.summary(`labup entry upload: ${r.message} — no 暫存 drafts ${r.skipped.length ? 'without errors' : 'of the last year'}`);
          return ExitCode.NOTHING_TO_DO;
        }
        if (!ctx.globals.json) for (const d of r.drafts) printFindings(ctx, `draft #${d.id}`, d.errors, []);
        ctx.out.summary(`labup entry upload: ${r.message}. Fix them (labup entry edit ID --set …), then upload again.`);
        return ExitCode.INVALID;
      }
      if (!ctx.globals.json) {
        for (const line of formatTable([['傳送時間', '收件序號', '上傳日期', '處理狀態', '筆數', '檔案'], [taipeiDisplay(new Date(r.sentAt)), r.receiptNo, r.uploadDate, r.statusText, String(r.drafts.length), r.fileName]])) ctx.out.result(line);
      }
      const again = r.replayed ? ' (the portal already had this file: same 收件序號, nothing sent twice)' : '';
      ctx.out.summary(`labup entry upload: ${r.message} — 收件序號 ${r.receiptNo}, drafts #${r.drafts.join(', #')}${again}. Next: labup entry query${(await portal()).sandbox ? ' --sandbox' : ''}`);
      return ExitCode.OK;
    }),
  );

  const query = addListOptions(
    entry
      .command('query')
      .summary('查詢: drafts by 資料建立日期 (last two days by default) and 資料處理狀態, refreshed from the portal')
      .description(
        'As the portal’s 檢驗(查)結果查詢: records created in --from/--to (default the last two days), of --status ' +
          '(default all), paged; the 資料處理狀態 of records still 檢核中 is asked of the portal first (--no-refresh ' +
          'skips that). On a terminal a record can be opened: viewed (檢核中 and 檢核正確 are read-only) or edited ' +
          '(暫存 and 檢核錯誤). With --json or without a terminal, the page is printed.\n\nExit codes: 0, 2 usage.',
      ),
  )
    .option('--no-refresh', 'do not ask the portal for 資料處理狀態')
    .option('--hosp <code>', '醫事機構代碼 for h2 in the form (default: "institution" from the config)');
  addPortalOptions(query).action(
    wrap(async (ctx, opts: QueryFlags) => {
      const store = openStoreFromCli(ctx);
      const q = { ...(opts.status ? { status: opts.status } : {}), ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}), ...(opts.page ? { page: opts.page } : {}), ...(opts.pageSize ? { pageSize: opts.pageSize } : {}), ...(opts.sort ? { sort: opts.sort } : {}) };
      const { queryDrafts, listingCells, LISTING_HEADINGS } = await import('../entry/listing.js');
      // Flags are checked before anything is asked of the portal.
      queryDrafts(store, q, ctx.clock);
      if (ctx.prompter.interactive && !ctx.globals.json) return session(ctx, store, opts, { screen: 'query', query: q });
      let refresh: { refreshed: boolean; error?: { code: string; message: string } } = { refreshed: false };
      // (the refresh's code loads only when some draft is 檢核中)
      if (opts.refresh && hasCheckingDrafts(store)) {
        const { refreshChecking } = await import('../entry/refresh.js');
        const { entryChecksDir } = await import('../entry/upload.js');
        const r = await refreshChecking({ store, clock: ctx.clock, connect: () => openPortalFromCli(ctx, opts), checksDir: entryChecksDir(ctx.env), host: ctx.out });
        const err = r.error;
        if (err) ctx.out.warn(`資料處理狀態 not refreshed from the portal: ${err.message}${err.hint ? ` (${err.hint})` : ''}`, 'ENTRY_NOT_REFRESHED');
        refresh = err ? { refreshed: false, error: { code: err.code, message: err.message } } : { refreshed: r.refreshed };
      }
      const res = queryDrafts(store, { ...q, showIds: ctx.globals.showIds }, ctx.clock);
      if (ctx.globals.json) ctx.out.resultJson({ ...res, ...refresh });
      else renderListing(ctx, res, listingCells, LISTING_HEADINGS);
      return ExitCode.OK;
    }),
  );
}
