/** `labup status [收件序號...]` */
import type { Command } from 'commander';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { taipeiDisplay } from '../clock.js';
import { DEFAULT_POLL_MS, DEFAULT_WAIT_MS } from '../transport/poll.js';
import { addPortalOptions, formatTable, openPortalFromCli, openStoreFromCli, type PortalFlags } from '../transport/cli-support.js';
import { MAX_PORTAL_PAGE_SIZE, describePage, formatRocInstant, parseDateRange, parsePageRequest } from '../query.js';
import { formatRocDate } from '../format/roc.js';
import { duration } from '../cli/args.js';

/** Names `--sort` takes (the portal's column names too). */
const SORT_FIELDS: Record<string, string> = { sentAt: 'sentAt', 傳送時間: 'sentAt', receiptNo: 'receiptNo', 收件序號: 'receiptNo', uploadDate: 'uploadDate', 上傳日期: 'uploadDate' };

interface StatusFlags extends PortalFlags {
  from?: string;
  to?: string;
  page?: string;
  pageSize?: string;
  sort?: string;
  wait?: boolean;
  timeout?: string;
  pollInterval?: string;
}

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('status')
    .summary('處理狀態 of uploads (檢核中, 檢核正確, 檢核錯誤), optionally waiting for the result')
    .description(
      'Asks the portal for the 處理狀態 of the given 收件序號, or of the uploads whose 上傳日期 lies in ' +
        '--from/--to, or (with neither) of the uploads made today or yesterday, as the portal does. ' +
        'With --wait, polls with backoff until every one is 檢核正確 or 檢核錯誤. A listing is one page ' +
        '(--page, --page-size; default 20), newest 傳送時間 first (--sort FIELD ascending, -FIELD descending).\n\n' +
        'Exit codes: 0 all 檢核正確, 1 any 檢核錯誤, 3 still 檢核中 (at the --wait timeout, or without ' +
        '--wait), 6 no uploads found, 2 usage, 4 sign-in, 5 portal or network.',
    )
    .argument('[receipts...]', '收件序號 (13 digits), e.g. 1151125000001')
    .option('--from <date>', '上傳日期 from (YYY/MM/DD, YYYMMDD or YYYY-MM-DD)')
    .option('--to <date>', '上傳日期 to')
    .option('--page <n>', 'page of the listing (default 1)')
    .option('--page-size <n>', `rows per page, 1–${MAX_PORTAL_PAGE_SIZE} (default 20)`)
    .option('--sort <field>', 'sentAt|receiptNo|uploadDate (or 傳送時間|收件序號|上傳日期); -FIELD for descending (default -sentAt)')
    .option('--wait', 'wait until every upload is 檢核正確 or 檢核錯誤')
    .option('--timeout <duration>', 'how long --wait may take (default 45m, or waitTimeout in the config)')
    .option('--poll-interval <duration>', 'longest pause between polls (default 30s, or pollInterval in the config)');
  addPortalOptions(cmd).action(
    wrap(async (ctx, receipts: string[], opts: StatusFlags) => {
      const { checkStatus } = await import('../transport/status.js');
      if (receipts.length && (opts.from || opts.to)) throw usageError('CONFLICTING_FLAGS', 'give 收件序號 or --from/--to, not both');
      const req = parsePageRequest(opts, SORT_FIELDS, { sort: 'sentAt', order: 'desc', maxPageSize: MAX_PORTAL_PAGE_SIZE });
      const range = opts.from || opts.to ? parseDateRange(opts.from, opts.to, 2, ctx.clock) : undefined;
      const cfg = ctx.config().values;
      const timeoutMs = duration(opts.timeout, '--timeout') ?? duration(cfg.waitTimeout, 'waitTimeout') ?? DEFAULT_WAIT_MS;
      const pollMs = duration(opts.pollInterval, '--poll-interval') ?? duration(cfg.pollInterval, 'pollInterval') ?? DEFAULT_POLL_MS;
      const store = openStoreFromCli(ctx);
      const portal = await openPortalFromCli(ctx, opts);
      await portal.signIn();
      const report = await checkStatus({
        client: portal.client,
        ...(receipts.length ? { receipts } : {}),
        ...(range ? { from: formatRocDate(range.from), to: formatRocDate(range.to) } : {}),
        page: {
          ...(opts.page !== undefined ? { page: req.page } : {}),
          ...(opts.pageSize !== undefined ? { pageSize: req.pageSize } : {}),
          ...(opts.sort !== undefined ? { sort: req.sort, order: req.order } : {}),
        },
        wait: opts.wait === true,
        timeoutMs,
        pollIntervalMs: pollMs,
        store,
        clock: ctx.clock,
        host: ctx.out,
      });
      if (ctx.globals.json) {
        ctx.out.resultJson(report);
      } else if (report.receipts.length) {
        const rows = [['收件序號', '上傳日期', '傳送時間', '處理狀態', '錯誤筆數', '檢核結果檔']];
        for (const r of report.receipts) {
          rows.push([r.receiptNo, r.uploadDate, taipeiDisplay(new Date(r.sentAt)), r.statusText, r.errorCount === null ? '' : String(r.errorCount), r.files.map((f) => f.name).join(' ')]);
        }
        for (const line of formatTable(rows)) ctx.out.result(line);
      }
      if (!ctx.globals.json && !receipts.length) ctx.out.info(`${describePage(report.paging)} · ${windowText(report.criteria, ctx.clock.now())}`);
      const { checking, passed, failed } = report.counts;
      if (report.receipts.length === 0) {
        if (report.paging.total > 0) {
          ctx.out.summary(`labup status: nothing on page ${report.paging.page} — ${describePage(report.paging)}`);
          return ExitCode.NOTHING_TO_DO;
        }
        ctx.out.summary('labup status: no uploads found (the default is uploads made today or yesterday; use --from/--to for others)');
        return ExitCode.NOTHING_TO_DO;
      }
      const parts = [passed && `${passed} 檢核正確`, failed && `${failed} 檢核錯誤`, checking && `${checking} 檢核中`].filter(Boolean).join(', ');
      const tail = failed ? ' — download the check files: labup download' + (portal.sandbox ? ' --sandbox' : '') : checking ? (report.timedOut ? ' — still 檢核中 at the timeout; the state is journaled, ask again later' : ' — not final yet (--wait waits)') : '';
      const more = report.paging.totalPages > report.paging.page ? ` — ${describePage(report.paging)}, --page ${report.paging.page + 1} for more` : '';
      ctx.out.summary(`labup status: ${parts}${tail}${more}`);
      if (failed) return ExitCode.INVALID;
      if (checking) return ExitCode.PENDING;
      return ExitCode.OK;
    }),
  );
}

/** The query's window as the portal shows it: 上傳日期 range, or 資料建立日期 (the default, since yesterday). */
function windowText(criteria: Record<string, unknown>, now: Date): string {
  if (typeof criteria.uploadDateFrom === 'string' || typeof criteria.uploadDateTo === 'string') {
    return `上傳日期 ${criteria.uploadDateFrom ?? ''} ~ ${criteria.uploadDateTo ?? ''}`;
  }
  if (typeof criteria.sentSince === 'string') return `資料建立日期 ${formatRocInstant(criteria.sentSince, 'day')} ~ ${formatRocInstant(now, 'day')} (the portal's default: the last two days)`;
  return '';
}
