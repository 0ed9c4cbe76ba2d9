/** `labup validate <file.xml|file.zip>...` */
import { Option, type Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { renderFileReport } from '../cli/render-findings.js';
import { nonNegative } from '../cli/args.js';

export function register(program: Command, wrap: Wrap): void {
  program
    .command('validate')
    .summary('check daily XML or upload ZIP files against every NHI rule, locally')
    .description(
      'Checks each file as NHI would: well-formedness, structure, every field of 表一, the conditional\n' +
        'rules, 醫令代碼 vs 報告類別 (表三/表四), the item tables (表五, 表八–表十四), and h16 against the\n' +
        'upload date. A ZIP must hold exactly one .xml with an alphanumeric name; it is read in place.\n\n' +
        'Exit codes: 0 valid, 1 invalid, 2 usage error (missing file, unreadable ZIP).',
    )
    .argument('<files...>', 'daily XML files or upload ZIPs')
    .option('--upload-date <date>', '上傳日期 h16 must match: YYY/MM/DD, YYYMMDD or YYYY-MM-DD (default: today, Asia/Taipei)')
    .option('--any-upload-date', 'skip the upload-date rules (h16 vs 上傳日期, today or yesterday): check an older file’s content')
    .addOption(new Option('--max-errors <n>', 'print at most n findings per file (0 = all; default 100, all with --json); all are counted').argParser(nonNegative))
    .option('--no-warnings', 'do not print warnings')
    .action(
      wrap(async (ctx, files: string[], opts: { uploadDate?: string; anyUploadDate?: boolean; maxErrors?: number; warnings: boolean }) => {
        const { validate } = await import('../validate.js');
        const max = opts.maxErrors ?? (ctx.globals.json ? 0 : 100);
        const result = await validate(files, {
          clock: ctx.clock,
          showIds: ctx.globals.showIds,
          ...(opts.uploadDate ? { uploadDate: opts.uploadDate } : {}),
          ...(opts.anyUploadDate ? { anyUploadDate: true } : {}),
          onProgress: (bytes) => ctx.out.progress({ label: 'validate', done: Math.round(bytes / 1048576), unit: 'MiB' }),
        });
        if (ctx.globals.json) {
          const limit = (list: unknown[]) => (max > 0 ? list.slice(0, max) : list);
          ctx.out.resultJson({
            ok: result.ok,
            uploadDate: result.uploadDate,
            files: result.files.map((f) => ({ ...f, errors: limit(f.errors), warnings: opts.warnings ? limit(f.warnings) : [] })),
          });
        } else {
          for (const f of result.files) renderFileReport(ctx.out, f, { maxPrinted: max, warnings: opts.warnings });
          if (result.files.length > 1 || ctx.out.quiet) {
            const bad = result.files.filter((f) => !f.ok).length;
            ctx.out.summary(
              bad === 0
                ? `labup validate: all ${result.files.length} file(s) valid`
                : `labup validate: ${bad} of ${result.files.length} file(s) invalid`,
            );
          }
        }
        if (result.files.some((f) => f.failure)) return ExitCode.USAGE;
        return result.ok ? ExitCode.OK : ExitCode.INVALID;
      }),
    );
}

