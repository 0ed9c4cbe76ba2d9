/** `labup history` */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { taipeiDisplay } from '../clock.js';
import { formatTable, openStoreFromCli } from '../transport/cli-support.js';

interface HistoryFlags {
  from?: string;
  to?: string;
  page?: string;
  pageSize?: string;
  sort?: string;
}

export function register(program: Command, wrap: Wrap): void {
  program
    .command('history')
    .summary('what was uploaded when, with which 收件序號 and final 處理狀態 (from the journal)')
    .description(
      'Lists the uploads in the journal (LABUP_HOME/labup.db) — by labup daily or labup upload — with their 上傳日期, ' +
        '傳送時間, 收件序號 and the last 處理狀態 learned, and the daily runs that sent nothing (refused locally, no ' +
        'data, stopped). Dates are ROC, as the portal shows them; without --from, the last 30 days.\n\n' +
        'Exit codes: 0 listed, 6 nothing in the window, 2 usage.',
    )
    .option('--from <date>', '上傳日期 from (YYY/MM/DD, YYYMMDD or YYYY-MM-DD; default 30 days back)')
    .option('--to <date>', '上傳日期 to (default today)')
    .option('--page <n>', 'page (default 1)')
    .option('--page-size <n>', 'rows per page (default 20)')
    .option('--sort <field>', 'sort by time (default, newest first), date, receipt or status; prefix - for descending, + for ascending')
    .action(
      wrap(async (ctx, opts: HistoryFlags) => {
        const { history } = await import('../daily/history.js');
        const store = openStoreFromCli(ctx);
        const result = history(store, {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.page ? { page: opts.page } : {}),
          ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
          ...(opts.sort ? { sort: opts.sort } : {}),
          clock: ctx.clock,
        });
        if (ctx.globals.json) {
          ctx.out.resultJson(result);
        } else if (result.items.length) {
          const portals = new Set(result.items.map((i) => i.portal));
          const rows = [['上傳日期', '傳送時間', '收件序號', '處理狀態', '錯誤筆數', '檔案', '來源', ...(portals.size > 1 ? ['入口'] : [])]];
          for (const i of result.items) {
            const source = i.run ? `daily run ${i.run.id}: ${i.run.inputs.join(', ')}` : 'labup upload';
            rows.push([
              i.uploadDate,
              taipeiDisplay(new Date(i.at)),
              i.receiptNo ?? '—',
              i.statusText,
              i.errorCount === null ? '' : String(i.errorCount),
              i.fileName ?? '',
              source,
              ...(portals.size > 1 ? [i.portal.startsWith('sandbox:') ? 'sandbox' : i.portal] : []),
            ]);
          }
          for (const line of formatTable(rows)) ctx.out.result(line);
          if (result.pages > 1) ctx.out.result(`page ${result.page} of ${result.pages} (--page N)`);
        }
        ctx.out.summary(
          result.total
            ? `labup history: ${result.total} entr${result.total === 1 ? 'y' : 'ies'} for 上傳日期 ${result.from}–${result.to}`
            : `labup history: nothing uploaded for 上傳日期 ${result.from}–${result.to} (--from/--to for other dates)`,
        );
        return result.total ? ExitCode.OK : ExitCode.NOTHING_TO_DO;
      }),
    );
}
