/** `labup upload FILE.zip` */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { taipeiDisplay } from '../clock.js';
import { addPortalOptions, formatTable, openPortalFromCli, openStoreFromCli, type PortalFlags } from '../transport/cli-support.js';

interface UploadFlags extends PortalFlags {
  uploadDate?: string;
  force?: boolean;
  dryRun?: boolean;
}

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('upload')
    .summary('send a daily upload ZIP to the portal and print its 收件序號')
    .description(
      'Validates the ZIP locally with the same rules the portal applies (an invalid file is not sent ' +
        'unless --force), checks h16 against 上傳日期, signs in with the card, and sends it. Every ' +
        'submission is journaled before and after sending; running the same command again never ' +
        'submits twice: the same ZIP and 上傳日期 give the same idempotency key and 收件序號, and when an ' +
        'answer is lost (a timeout, a dropped connection) labup asks the portal what it received for that ' +
        '上傳日期 and adopts the submission with the ZIP’s content hash instead of sending it again.\n\n' +
        '--dry-run validates, signs in and asks the portal what it already holds, then reports what would be ' +
        'sent; nothing is sent and the journal is not written.\n\n' +
        'Exit codes: 0 sent (檢核中) or already there (or, with --dry-run, would be sent), 1 invalid locally ' +
        'or refused by the portal, 2 usage, 4 card or sign-in, 5 portal or network after retries.',
    )
    .argument('<file>', 'the upload ZIP (one daily XML inside, letters-and-digits names)')
    .option('--upload-date <date>', '上傳日期: YYY/MM/DD, YYYMMDD or YYYY-MM-DD, today or yesterday (default today, Asia/Taipei)')
    .option('--force', 'send even if local validation finds errors (the portal will answer 檢核錯誤)')
    .option('--dry-run', 'validate, sign in and ask the portal what it holds; report what would be sent, send nothing');
  addPortalOptions(cmd).action(
    wrap(async (ctx, file: string, opts: UploadFlags) => {
      const { uploadZip } = await import('../transport/upload.js');
      const { renderFileReport } = await import('../cli/render-findings.js');
      const store = openStoreFromCli(ctx);
      const portal = await openPortalFromCli(ctx, opts);
      const r = await uploadZip({
        file,
        ...(opts.uploadDate ? { uploadDate: opts.uploadDate } : {}),
        force: opts.force === true,
        dryRun: opts.dryRun === true,
        showIds: ctx.globals.showIds,
        portal,
        store,
        clock: ctx.clock,
        host: ctx.out,
        onProgress: (bytes) => ctx.out.progress({ label: 'validate', done: Math.round(bytes / 1048576), unit: 'MiB' }),
      });
      if (!r.ok) {
        if (ctx.globals.json) {
          ctx.out.resultJson({ ok: false, reason: r.reason, file: r.file, uploadDate: r.uploadDate, errorCount: r.report.errorCount, warningCount: r.report.warningCount, errors: r.report.errors });
        } else {
          renderFileReport(ctx.out, r.report, { maxPrinted: 100, warnings: false });
        }
        ctx.out.summary(`labup upload: ${r.report.errorCount} error(s) in ${file}; not sent. Fix them (labup validate shows them all), or send anyway with --force.`);
        return ExitCode.INVALID;
      }
      if ('dryRun' in r) {
        const { report: _report, ...plan } = r;
        const what =
          plan.action === 'send'
            ? `would send ${plan.fileName} (${plan.size.toLocaleString('en')} bytes, SHA-256 ${plan.contentSha256.slice(0, 12)}…) for 上傳日期 ${plan.uploadDate} as ${plan.institutionCode ?? 'the signed-in institution'}`
            : `would send nothing: the portal already holds ${plan.fileName} for 上傳日期 ${plan.uploadDate} as 收件序號 ${plan.existing!.receiptNo} (${plan.existing!.statusText})${plan.action === 'adopt' ? ', which a real run adopts' : ''}`;
        if (ctx.globals.json) ctx.out.resultJson(plan);
        else ctx.out.result(what);
        ctx.out.summary(`labup upload --dry-run: ${what}; nothing was sent`);
        return ExitCode.OK;
      }
      if (ctx.globals.json) {
        const { report: _report, ...rest } = r;
        ctx.out.resultJson({
          receiptNo: rest.receiptNo,
          uploadDate: rest.uploadDate,
          sentAt: rest.sentAt,
          status: rest.status,
          statusText: rest.statusText,
          replayed: rest.replayed,
          adopted: rest.adopted,
          file: rest.file,
          fileName: rest.fileName,
          size: rest.size,
          contentSha256: rest.contentSha256,
          institutionCode: rest.institutionCode,
          validation: rest.validation,
        });
      } else {
        const sent = taipeiDisplay(new Date(r.sentAt));
        for (const line of formatTable([['傳送時間', '收件序號', '上傳日期', '處理狀態'], [sent, r.receiptNo, r.uploadDate, r.statusText]])) ctx.out.result(line);
      }
      const again = r.adopted
        ? ' (the answer was lost; the portal had received it, adopted: nothing sent twice)'
        : r.replayed
          ? ' (the portal already had this ZIP for this 上傳日期: same 收件序號, nothing sent twice)'
          : '';
      ctx.out.summary(`labup upload: ${r.fileName} → 收件序號 ${r.receiptNo}${again}. Next: labup status ${r.receiptNo} --wait${portal.sandbox ? ' --sandbox' : ''}`);
      return ExitCode.OK;
    }),
  );
}
