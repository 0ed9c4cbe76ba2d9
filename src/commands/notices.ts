/** `labup notices` (公告事項) and `labup notices get ID` (their attachments). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { MAX_PORTAL_PAGE_SIZE, describePage, parsePageRequest } from '../query.js';
import { addPortalOptions, openPortalFromCli, type PortalFlags } from '../transport/cli-support.js';

const SORT_FIELDS: Record<string, string> = { publishedAt: 'publishedAt', 公告日期: 'publishedAt', title: 'title', 標題: 'title', id: 'id' };

interface ListFlags extends PortalFlags {
  since?: string;
  page?: string;
  pageSize?: string;
  sort?: string;
}

interface GetFlags extends PortalFlags {
  out?: string;
  attachment?: string;
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function register(program: Command, wrap: Wrap): void {
  const notices = program
    .command('notices')
    .summary('公告事項: the job’s announcements (newest first) and their attachments, e.g. the user manual')
    .description(
      'The announcements the portal shows on entering 現行作業區, newest 公告日期 first, each with its ' +
        'attachments (the user manual and other documents). `labup notices [--since DATE] [--page N] ' +
        '[--page-size N] [--sort FIELD]` lists them (see labup notices list --help); `labup notices get ID` ' +
        'downloads a notice’s attachments. No card is needed: notices are public.',
    );

  const list = notices
    .command('list', { isDefault: true })
    .summary('list the announcements, newest first (the default)')
    .description(
      'Lists the announcements with 公告日期, title, text and attachments, newest first, one page at a ' +
        'time (--page, --page-size; default 20).\n\nExit codes: 0 listed, 6 none, 2 usage, 5 portal or network.',
    )
    .option('--since <date>', 'only those published on or after this date (YYY/MM/DD, YYYMMDD or YYYY-MM-DD)')
    .option('--page <n>', 'page (default 1)')
    .option('--page-size <n>', `notices per page, 1–${MAX_PORTAL_PAGE_SIZE} (default 20)`)
    .option('--sort <field>', 'publishedAt|title|id (or 公告日期|標題); -FIELD for descending (default -publishedAt)');
  addPortalOptions(list).action(
    wrap(async (ctx, opts: ListFlags) => {
      const { listNotices } = await import('../transport/notices.js');
      const page = parsePageRequest(opts, SORT_FIELDS, { sort: 'publishedAt', order: 'desc', maxPageSize: MAX_PORTAL_PAGE_SIZE });
      const portal = await openPortalFromCli(ctx, opts);
      const report = await listNotices({ client: portal.client, ...(opts.since !== undefined ? { since: opts.since } : {}), page });
      if (ctx.globals.json) {
        ctx.out.resultJson(report);
      } else {
        report.notices.forEach((n, i) => {
          if (i) ctx.out.result('');
          // Notices are public, but whatever an admin typed into one is masked like any human output.
          ctx.out.result(ctx.out.mask(`[${n.id}] ${n.publishedDate}  ${n.title}`));
          for (const line of n.body.split(/\r?\n/)) ctx.out.result(ctx.out.mask(`    ${line}`));
          if (n.attachments.length) {
            ctx.out.result(`    附件: ${n.attachments.map((a) => `${a.name} (${size(a.size)})`).join(', ')}`);
            ctx.out.result(`    → labup notices get ${n.id}`);
          }
        });
      }
      if (report.notices.length) {
        // One line for cron mail, also with --quiet and --json.
        const more = report.paging.totalPages > report.paging.page ? ` — --page ${report.paging.page + 1} for more` : '';
        ctx.out.summary(`labup notices: ${report.notices.length} announcement(s) — ${describePage(report.paging)}${more}`);
      }
      if (report.notices.length === 0) {
        ctx.out.summary(report.paging.total ? `labup notices: nothing on page ${report.paging.page} — ${describePage(report.paging)}` : `labup notices: no announcements${opts.since ? ` since ${opts.since}` : ''}`);
        return ExitCode.NOTHING_TO_DO;
      }
      return ExitCode.OK;
    }),
  );

  const get = notices
    .command('get')
    .summary('download the attachments of a notice')
    .description(
      'Downloads the attachments of notice ID (all, or --attachment NAME) into --out. Each is written ' +
        'to a temporary file in the same folder and renamed (mode 0644: public documents); one already ' +
        'there with the same content is skipped, one that changed is replaced.\n\n' +
        'Exit codes: 0 written, 6 nothing new (or no attachments), 2 usage (unknown notice or ' +
        'attachment), 5 portal or network.',
    )
    .argument('<id>', 'the notice’s number, as labup notices shows it ([3])')
    .option('--attachment <name>', 'only this attachment')
    .option('--out <dir>', 'folder to write to (default: downloadDir in the config, else ./downloads)');
  addPortalOptions(get).action(
    wrap(async (ctx, id: string, opts: GetFlags) => {
      const { fetchAttachments } = await import('../transport/notices.js');
      const noticeId = Number(id.replace(/^\[(.*)\]$/, '$1'));
      if (!/^\[?\d{1,9}\]?$/.test(id) || noticeId < 1) throw usageError('BAD_NOTICE_ID', `“${id}” is not a notice number`, { hint: 'labup notices lists them with their numbers, e.g. [3].' });
      const outDir = resolve(ctx.cwd, opts.out ?? ctx.config().values.downloadDir ?? 'downloads');
      const portal = await openPortalFromCli(ctx, opts);
      const report = await fetchAttachments({ client: portal.client, noticeId, ...(opts.attachment !== undefined ? { attachment: opts.attachment } : {}), outDir, host: ctx.out });
      if (ctx.globals.json) {
        ctx.out.resultJson(report);
      } else {
        for (const f of report.files) ctx.out.result(`${f.skipped ? '=' : '↓'} ${f.name} (${size(f.size)})  → ${f.path}${f.skipped ? '  (already here)' : f.replaced ? '  (replaced: changed on the portal)' : ''}`);
        for (const f of report.failures) ctx.out.result(`✗ ${f.name}  [${f.code}] ${f.message}${f.hint ? `  → ${f.hint}` : ''}`);
      }
      const written = report.files.filter((f) => !f.skipped).length;
      const title = `[${report.notice.id}] ${report.notice.title}`;
      if (report.failures.length) {
        ctx.out.summary(`labup notices get: ${title}: ${written} written, ${report.failures.length} failed`);
        return report.failures[0]!.exitCode;
      }
      if (report.files.length === 0) {
        ctx.out.summary(`labup notices get: ${title} has no attachments`);
        return ExitCode.NOTHING_TO_DO;
      }
      if (written === 0) {
        ctx.out.summary(`labup notices get: ${title}: nothing new (${report.files.length} already in ${outDir})`);
        return ExitCode.NOTHING_TO_DO;
      }
      ctx.out.summary(`labup notices get: ${title}: ${written} attachment(s) written to ${outDir}`);
      return ExitCode.OK;
    }),
  );
}
