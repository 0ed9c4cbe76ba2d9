/** `labup download` */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { addPortalOptions, openPortalFromCli, openStoreFromCli, type PortalFlags } from '../transport/cli-support.js';
import type { ZipEncryption } from '../transport/portal-client.js';

interface DownloadFlags extends PortalFlags {
  receipt?: string;
  from?: string;
  to?: string;
  within?: number;
  encrypted?: boolean;
  encryption?: ZipEncryption;
  out?: string;
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
    .summary('fetch the check files (檢核結果檔) of your uploads')
    .description(
      'Lists the related files the portal offers (by --receipt, or by 上傳日期 --from/--to, provided ' +
        'for download within --within days) and fetches each into --out. A plain download is unpacked ' +
        'to the check file; --encrypted keeps the portal’s encrypted ZIP, whose password is the national ' +
        'ID of the user who signed in (first letter uppercase). Files are written atomically, mode 0600; ' +
        'one already downloaded with the same name and content is skipped.\n\n' +
        'Exit codes: 0 downloaded, 6 nothing new, 2 usage (or a file no longer kept), 4 sign-in, ' +
        '5 portal or network.',
    )
    .option('--receipt <收件序號>', 'only the files of this upload')
    .option('--from <date>', '上傳日期 from (YYY/MM/DD, YYYMMDD or YYYY-MM-DD)')
    .option('--to <date>', '上傳日期 to')
    .addOption(new Option('--within <days>', '提供下載日期 within this many days, 1d–14d (default 7d)').argParser(withinArg))
    .option('--encrypted', '加密下載: an encrypted ZIP, password = your national ID (ZipCrypto; see --encryption)')
    .addOption(new Option('--encryption <method>', 'encryption of --encrypted ZIPs').choices(['zipcrypto', 'aes256']))
    .option('--out <dir>', 'folder to write to (default: downloadDir in the config, else ./downloads)');
  addPortalOptions(cmd).action(
    wrap(async (ctx, opts: DownloadFlags) => {
      const { downloadFiles } = await import('../transport/download.js');
      if (opts.receipt && (opts.from || opts.to)) throw usageError('CONFLICTING_FLAGS', 'give --receipt or --from/--to, not both');
      const cfg = ctx.config().values;
      const outDir = resolve(ctx.cwd, opts.out ?? cfg.downloadDir ?? 'downloads');
      const encrypted = opts.encrypted === true || opts.encryption !== undefined || (opts.encrypted === undefined && cfg.encryptedDownload === true);
      const store = openStoreFromCli(ctx);
      const portal = await openPortalFromCli(ctx, opts);
      await portal.signIn();
      const report = await downloadFiles({
        client: portal.client,
        ...(opts.receipt ? { receiptNo: opts.receipt } : {}),
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.to ? { to: opts.to } : {}),
        ...(opts.within ? { withinDays: opts.within } : {}),
        encrypted,
        ...(opts.encryption ? { encryption: opts.encryption } : {}),
        outDir,
        store,
        clock: ctx.clock,
        host: ctx.out,
      });
      if (ctx.globals.json) {
        ctx.out.resultJson(report);
      } else {
        for (const f of report.files) ctx.out.result(`${f.skipped ? '=' : '↓'} ${f.name}  ${f.receiptNo}  ${f.uploadDate}  ${f.remark}  → ${f.path}${f.skipped ? '  (already downloaded)' : ''}`);
        for (const f of report.failures) ctx.out.result(`✗ ${f.name}  ${f.receiptNo}  [${f.code}] ${f.message}${f.hint ? `  → ${f.hint}` : ''}`);
      }
      const fetched = report.files.filter((f) => !f.skipped).length;
      const skipped = report.files.length - fetched;
      if (report.failures.length) {
        ctx.out.summary(`labup download: ${fetched} downloaded, ${skipped} already here, ${report.failures.length} failed`);
        return report.failures[0]!.exitCode;
      }
      if (fetched === 0) {
        ctx.out.summary(report.files.length ? `labup download: nothing new (${skipped} already downloaded in ${outDir})` : 'labup download: no files offered for these criteria (default: provided within 7 days)');
        return ExitCode.NOTHING_TO_DO;
      }
      const pw = encrypted ? ' The ZIPs’ password is the national ID of the user who signed in, first letter uppercase.' : '';
      ctx.out.summary(`labup download: ${fetched} file(s) written to ${outDir}${skipped ? `, ${skipped} already there` : ''}.${pw}`);
      return ExitCode.OK;
    }),
  );
}
