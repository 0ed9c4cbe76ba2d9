/** `labup download` (and `--request-resend`, `--list`) */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { ExitCode, usageError } from '../errors.js';
import type { CliContext, Wrap } from '../cli/main.js';
import type { LabupConfig } from '../config/config.js';
import { formatRocDate } from '../format/roc.js';
import { MAX_PORTAL_PAGE_SIZE, describePage, formatRocInstant, parseDateRange, parsePageRequest } from '../query.js';
import { addPortalOptions, formatTable, openPortalFromCli, openStoreFromCli, type PortalFlags } from '../transport/cli-support.js';
import type { DownloadFilesOptions, DownloadReport } from '../transport/download.js';
import type { FileQuery, PortalClient, ZipEncryption } from '../transport/portal-client.js';
import type { ResendRequest } from '../transport/portal-manual.js';
import { duration } from '../cli/args.js';
import { DEFAULT_POLL_MS, DEFAULT_WAIT_MS } from '../transport/poll.js';

/** Names `--sort` takes (the portal's column names too). */
const SORT_FIELDS: Record<string, string> = {
  providedAt: 'providedAt',
  提供下載日期: 'providedAt',
  uploadDate: 'uploadDate',
  上傳日期: 'uploadDate',
  name: 'name',
  檔案名稱: 'name',
  receiptNo: 'receiptNo',
  收件序號: 'receiptNo',
};

interface DownloadFlags extends PortalFlags {
  receipt?: string;
  from?: string;
  to?: string;
  within?: number;
  encrypted?: boolean;
  encryption?: ZipEncryption;
  out?: string;
  list?: boolean;
  page?: string;
  pageSize?: string;
  sort?: string;
  requestResend?: string[];
  wait?: boolean;
  timeout?: string;
  dryRun?: boolean;
}

function withinArg(v: string): number {
  const m = /^(\d+)\s*d?$/i.exec(v.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 14) throw new InvalidArgumentError('must be 1d to 14d (files are kept two weeks)');
  return n;
}

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('download')
    .summary('fetch the check files (檢核結果檔) of your uploads; 申請重送 for older ones')
    .description(
      'Lists the related files the portal offers (by --receipt, or by 上傳日期 --from/--to, provided ' +
        'for download within --within days, default 7) and fetches each into --out: every page of the ' +
        'listing, or one with --page. --list only shows the listing (paged like the portal, newest ' +
        '提供下載日期 first), with pending 申請重送. A plain download is unpacked to the check file; ' +
        '--encrypted keeps the portal’s encrypted ZIP, whose password is the national ID of the user who ' +
        'signed in (first letter uppercase). Files are written atomically, mode 0600; one already ' +
        'downloaded with the same name and content is skipped.\n\n' +
        'Check files are kept two weeks. --request-resend 收件序號 asks the portal to send an older one ' +
        'again (申請重送); once it is offered again, labup download fetches it (--wait waits for that ' +
        'and downloads it at once).\n\n' +
        '--dry-run signs in and lists, then reports what would be written (or which 申請重送 filed); nothing ' +
        'is fetched, written or requested.\n\n' +
        'Exit codes: 0 downloaded (or resend requested), 6 nothing new, 2 usage (or a file no longer ' +
        'kept, an unknown 收件序號, a file still offered), 3 still 申請重送中 at the --wait timeout, ' +
        '4 sign-in (or a 收件序號 of another institution), 5 portal or network.',
    )
    .option('--receipt <收件序號>', 'only the files of this upload')
    .option('--from <date>', '上傳日期 from (YYY/MM/DD, YYYMMDD or YYYY-MM-DD)')
    .option('--to <date>', '上傳日期 to')
    .addOption(new Option('--within <days>', '提供下載日期 within this many days, 1d–14d (default 7d)').argParser(withinArg))
    .option('--list', 'show the listing (and pending 申請重送) without downloading')
    .option('--page <n>', 'only this page of the listing (--list: default 1)')
    .option('--page-size <n>', `rows per page, 1–${MAX_PORTAL_PAGE_SIZE} (default 20)`)
    .option('--sort <field>', 'providedAt|uploadDate|name|receiptNo (or 提供下載日期|上傳日期|檔案名稱|收件序號); -FIELD for descending (default -providedAt)')
    .option('--request-resend <receiptNo...>', '申請重送: ask the portal to offer the check files of these 收件序號 again (files are kept two weeks)')
    .option('--wait', 'with --request-resend: wait until the files are offered again, then download them')
    .option('--timeout <duration>', 'how long --wait may take (default 45m, or waitTimeout in the config)')
    .option('--encrypted', '加密下載: an encrypted ZIP, password = your national ID (ZipCrypto; see --encryption)')
    .addOption(new Option('--encryption <method>', 'encryption of --encrypted ZIPs').choices(['zipcrypto', 'aes256']))
    .option('--out <dir>', 'folder to write to (default: downloadDir in the config, else ./downloads)')
    .option('--dry-run', 'list and report what would be written (or requested); fetch, write and request nothing');
  addPortalOptions(cmd).action(
    wrap(async (ctx, opts: DownloadFlags) => {
      if (opts.receipt && (opts.from || opts.to)) throw usageError('CONFLICTING_FLAGS', 'give --receipt or --from/--to, not both');
      if (opts.wait && !opts.requestResend) throw usageError('CONFLICTING_FLAGS', '--wait goes with --request-resend', { hint: 'labup download --request-resend 收件序號 --wait' });
      if (opts.requestResend) {
        const extra = (['receipt', 'from', 'to', 'within', 'list', 'page', 'pageSize', 'sort'] as const).filter((k) => opts[k] !== undefined);
        if (extra.length) throw usageError('CONFLICTING_FLAGS', `--request-resend takes 收件序號 only, not --${extra.map((k) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', --')}`);
        return requestResend(ctx, opts);
      }
      const { downloadFiles } = await import('../transport/download.js');
      const req = parsePageRequest(opts, SORT_FIELDS, { sort: 'providedAt', order: 'desc', maxPageSize: MAX_PORTAL_PAGE_SIZE });
      const range = opts.from || opts.to ? parseDateRange(opts.from, opts.to, 7, ctx.clock) : undefined;
      const { outDir, encrypted } = destination(ctx, opts, ctx.config().values);
      const store = openStoreFromCli(ctx);
      const portal = await openPortalFromCli(ctx, opts);
      await portal.signIn();
      const list = opts.list === true;
      const dryRun = opts.dryRun === true && !list;
      const report = await downloadFiles({
        client: portal.client,
        ...(opts.receipt ? { receiptNo: opts.receipt } : {}),
        ...(range ? { from: formatRocDate(range.from), to: formatRocDate(range.to) } : {}),
        ...(opts.within ? { withinDays: opts.within } : {}),
        ...(opts.page !== undefined || list ? { page: req.page } : {}),
        ...(opts.pageSize !== undefined ? { pageSize: req.pageSize } : {}),
        sort: req.sort as NonNullable<FileQuery['sort']>,
        order: req.order,
        listOnly: list || dryRun,
        encrypted,
        ...(opts.encryption ? { encryption: opts.encryption } : {}),
        outDir,
        store,
        clock: ctx.clock,
        host: ctx.out,
      } satisfies DownloadFilesOptions);
      const onePage = report.paging.page;
      const where = onePage === null ? `total ${report.paging.total}` : describePage({ ...report.paging, page: onePage });
      const pending = report.pendingResends.length ? `; ${report.pendingResends.length} 申請重送中` : '';
      if (dryRun) {
        const writes = report.files.filter((f) => !f.skipped);
        if (ctx.globals.json) ctx.out.resultJson({ dryRun: true, outDir, wouldWrite: writes.map((f) => ({ name: f.name, path: f.path, receiptNo: f.receiptNo, size: f.size, sha256: f.sha256, encrypted: f.encrypted })), alreadyHere: report.files.filter((f) => f.skipped).map((f) => f.path), ...report });
        else {
          for (const f of report.files) ctx.out.result(f.skipped ? `= ${f.path} (already here)` : `would write ${f.path} (${f.size.toLocaleString('en')} bytes${f.encrypted ? ', encrypted ZIP' : ''}; 收件序號 ${f.receiptNo})`);
        }
        ctx.out.summary(`labup download --dry-run: ${writes.length} file(s) would be written to ${outDir}, ${report.files.length - writes.length} already there — ${where}${pending}; nothing was fetched or written`);
        return writes.length ? ExitCode.OK : ExitCode.NOTHING_TO_DO;
      }
      if (ctx.globals.json) ctx.out.resultJson(report);
      else render(ctx, report, list);
      if (list) {
        ctx.out.summary(`labup download --list: ${report.files.length} file(s) offered, ${report.files.filter((f) => f.skipped).length} already in ${outDir} — ${where}${pending}`);
        return report.files.length ? ExitCode.OK : ExitCode.NOTHING_TO_DO;
      }
      const fetched = report.files.filter((f) => !f.skipped).length;
      const skipped = report.files.length - fetched;
      if (report.failures.length) {
        ctx.out.summary(`labup download: ${fetched} downloaded, ${skipped} already here, ${report.failures.length} failed — ${where}${pending}`);
        return report.failures[0]!.exitCode;
      }
      if (fetched === 0) {
        ctx.out.summary(
          report.files.length
            ? `labup download: nothing new (${skipped} already downloaded in ${outDir}) — ${where}${pending}`
            : `labup download: no files offered for these criteria (default: provided within 7 days; files are kept two weeks, older ones need labup download --request-resend 收件序號)${pending}`,
        );
        return ExitCode.NOTHING_TO_DO;
      }
      const pw = encrypted ? ' The ZIPs’ password is the national ID of the user who signed in, first letter uppercase.' : '';
      ctx.out.summary(`labup download: ${fetched} file(s) written to ${outDir}${skipped ? `, ${skipped} already there` : ''} — ${where}${pending}.${pw}`);
      return ExitCode.OK;
    }),
  );
}

/** The listing as the portal's 上傳案件相關檔案下載清單, then pending 申請重送 and failures. */
function render(ctx: CliContext, report: DownloadReport, list: boolean): void {
  const rows = [['上傳日期', '檔案名稱', '備註', '提供下載日期', list ? '本機' : '下載']];
  for (const f of report.files) {
    const state = list ? (f.skipped ? `已下載 ${f.path}` : '未下載') : f.skipped ? `= ${f.path} (already downloaded)` : `↓ ${f.path}`;
    rows.push([f.uploadDate, f.name, f.remark, f.providedAtText, state]);
  }
  for (const r of report.pendingResends) rows.push([r.uploadDate, r.fileName, resendRemark(r), '', '']);
  if (rows.length > 1) for (const line of formatTable(rows)) ctx.out.result(line);
  for (const f of report.failures) ctx.out.result(`✗ ${f.name}  ${f.receiptNo}  [${f.code}] ${f.message}${f.hint ? `  → ${f.hint}` : ''}`);
  const page = report.paging.page;
  if (page !== null) ctx.out.info(describePage({ ...report.paging, page }) + (report.paging.totalPages > page ? ` — --page ${page + 1} for more` : ''));
}

function resendRemark(r: ResendRequest): string {
  return `${r.statusText} (申請 ${formatRocInstant(r.requestedAt)}${r.dueAt ? `，預計 ${formatRocInstant(r.dueAt)}` : ''})`;
}

/** Where files go (--out, else the config's downloadDir, else ./downloads) and whether encrypted (--encrypted or --encryption, else the config). */
function destination(ctx: CliContext, opts: DownloadFlags, cfg: LabupConfig): { outDir: string; encrypted: boolean } {
  return {
    outDir: resolve(ctx.cwd, opts.out ?? cfg.downloadDir ?? 'downloads'),
    encrypted: opts.encrypted === true || opts.encryption !== undefined || (opts.encrypted === undefined && cfg.encryptedDownload === true),
  };
}

/** `--request-resend`: file the requests; with --wait, wait for them and download the files. */
async function requestResend(ctx: CliContext, opts: DownloadFlags): Promise<number> {
  const { requestResends } = await import('../transport/resend.js');
  const { downloadFiles } = await import('../transport/download.js');
  const cfg = ctx.config().values;
  const timeoutMs = duration(opts.timeout, '--timeout') ?? duration(cfg.waitTimeout, 'waitTimeout') ?? DEFAULT_WAIT_MS;
  const pollMs = duration(cfg.pollInterval, 'pollInterval') ?? DEFAULT_POLL_MS;
  const { outDir, encrypted } = destination(ctx, opts, cfg);
  const store = openStoreFromCli(ctx);
  const portal = await openPortalFromCli(ctx, opts);
  await portal.signIn();
  if (opts.dryRun) return resendDryRun(ctx, portal.client, opts.requestResend!);
  const report = await requestResends({ client: portal.client, receipts: opts.requestResend!, wait: opts.wait === true, timeoutMs, pollIntervalMs: pollMs, host: ctx.out });
  const downloads: DownloadReport[] = [];
  if (opts.wait) {
    for (const r of report.requests.filter((q) => q.status === 'done')) {
      downloads.push(
        await downloadFiles({ client: portal.client, receiptNo: r.receiptNo, withinDays: 14, encrypted, ...(opts.encryption ? { encryption: opts.encryption } : {}), outDir, store, clock: ctx.clock, host: ctx.out }),
      );
    }
  }
  const files = downloads.flatMap((d) => d.files);
  const failures = [...report.failures.map((f) => ({ ...f, name: '' })), ...downloads.flatMap((d) => d.failures)];
  if (ctx.globals.json) {
    ctx.out.resultJson({ ...report, ...(opts.wait ? { files, downloadFailures: downloads.flatMap((d) => d.failures) } : {}) });
  } else {
    const rows = [['收件序號', '檔案名稱', '申請重送', '申請時間', opts.wait ? '下載' : '預計可下載']];
    for (const r of report.requests) {
      const f = files.find((x) => x.receiptNo === r.receiptNo);
      const last = opts.wait ? (f ? `${f.skipped ? '=' : '↓'} ${f.path}` : r.failure ?? '') : r.dueAt ? formatRocInstant(r.dueAt, 'second') : '';
      rows.push([r.receiptNo, r.fileName, r.statusText + (r.alreadyRequested ? ' (already requested)' : ''), formatRocInstant(r.requestedAt), last]);
    }
    if (report.requests.length) for (const line of formatTable(rows)) ctx.out.result(line);
    for (const f of report.failures) ctx.out.result(`✗ ${f.receiptNo}  [${f.code}] ${f.message}${f.hint ? `  → ${f.hint}` : ''}`);
    for (const f of downloads.flatMap((d) => d.failures)) ctx.out.result(`✗ ${f.name}  ${f.receiptNo}  [${f.code}] ${f.message}${f.hint ? `  → ${f.hint}` : ''}`);
  }
  const filed = report.requests.length;
  const sandbox = portal.sandbox ? ' --sandbox' : '';
  if (failures.length) {
    ctx.out.summary(`labup download: ${filed} 申請重送 filed, ${failures.length} failed`);
    return failures[0]!.exitCode;
  }
  if (report.requests.some((r) => r.status === 'failed')) {
    ctx.out.summary(`labup download: the portal could not send ${report.requests.filter((r) => r.status === 'failed').map((r) => r.receiptNo).join(', ')} again`);
    return ExitCode.PORTAL;
  }
  if (opts.wait) {
    if (report.timedOut) {
      ctx.out.summary(`labup download: still 申請重送中 at the timeout; run labup download${sandbox} once the portal offers the file(s) again`);
      return ExitCode.PENDING;
    }
    const written = files.filter((f) => !f.skipped).length;
    ctx.out.summary(`labup download: ${filed} file(s) sent again; ${written} written to ${outDir}${files.length > written ? `, ${files.length - written} already there` : ''}`);
    return ExitCode.OK;
  }
  ctx.out.summary(`labup download: ${filed} 申請重送 filed (申請重送中); once the portal offers the file(s) again, run labup download${sandbox}`);
  return ExitCode.OK;
}

/** `--request-resend --dry-run`: which requests would be filed; each 收件序號 is looked up, nothing is requested. */
async function resendDryRun(ctx: CliContext, client: PortalClient, receipts: string[]): Promise<number> {
  const { LabupError } = await import('../errors.js');
  const pending = (await client.listResendRequests({ status: 'pending', receiptNos: receipts, pageSize: 100 })).items;
  const rows: Array<{ receiptNo: string; action: 'request' | 'already-requested' | 'refused'; uploadDate?: string; statusText?: string; code?: string; message?: string; exitCode?: number }> = [];
  for (const receiptNo of receipts) {
    if (pending.some((p) => p.receiptNo === receiptNo)) {
      rows.push({ receiptNo, action: 'already-requested' });
      continue;
    }
    try {
      const s = await client.getSubmission(receiptNo);
      // What the portal would answer: no check file yet, or one still offered, is refused.
      if (s.status === 'checking') {
        rows.push({ receiptNo, action: 'refused', uploadDate: s.uploadDate, statusText: s.statusText, code: 'CHECK_FILE_NOT_READY', message: `${receiptNo} is still 檢核中: there is no check file yet`, exitCode: ExitCode.USAGE });
        continue;
      }
      const offered = (await client.listFiles({ receiptNo, withinDays: 14, pageSize: 1 })).items;
      if (offered.length) {
        rows.push({ receiptNo, action: 'refused', uploadDate: s.uploadDate, statusText: s.statusText, code: 'FILE_STILL_AVAILABLE', message: `${offered[0]!.name} is still offered: download it (labup download --receipt ${receiptNo})`, exitCode: ExitCode.USAGE });
        continue;
      }
      rows.push({ receiptNo, action: 'request', uploadDate: s.uploadDate, statusText: s.statusText });
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      rows.push({ receiptNo, action: 'refused', code: err.code, message: err.message, exitCode: err.exitCode });
    }
  }
  if (ctx.globals.json) ctx.out.resultJson({ dryRun: true, requests: rows });
  else {
    for (const r of rows) {
      ctx.out.result(
        r.action === 'request'
          ? `would ask to send again: ${r.receiptNo} (上傳日期 ${r.uploadDate}, ${r.statusText})`
          : r.action === 'already-requested'
            ? `${r.receiptNo}: already requested (申請重送中)`
            : `✗ ${r.receiptNo}  [${r.code}] ${r.message}`,
      );
    }
  }
  const n = rows.filter((r) => r.action === 'request').length;
  const refused = rows.filter((r) => r.action === 'refused');
  ctx.out.summary(`labup download --request-resend --dry-run: ${n} 申請重送 would be filed${refused.length ? `, ${refused.length} would be refused` : ''}; nothing was requested`);
  // As the real request would end: the first refusal's code, else 0 — or 6 when nothing would be filed.
  return refused.length ? refused[0]!.exitCode! : n ? ExitCode.OK : ExitCode.NOTHING_TO_DO;
}
