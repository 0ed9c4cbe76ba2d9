/** `labup explain CHECKFILE|DOWNLOAD.zip [--source FILE] [--csv WORKLIST.csv]` */
import { Option, type Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { delimiter, nonNegative, normaliseEncoding, positive } from '../cli/args.js';

export function register(program: Command, wrap: Wrap): void {
  program
    .command('explain')
    .summary('explain a check-result file (檢核結果) and point at the records to fix')
    .description(
      [
        'Reads the portal’s check-result file (1300_<收件序號>.msg.txt, Big5 or UTF-8), or the ZIP it was downloaded in — plain, or ' +
          'encrypted with your national ID (LABUP_USER_ID, the profile’s userIdSource, or a masked prompt; never on the command line; ' +
          'decrypted in memory only). Groups the errors by NHIA code (or labup’s L: code) with a plain explanation in 中文 and ' +
          'English and what to do. Lines it does not understand are shown as they are.',
        'With --source (the uploaded XML or ZIP, or the CSV / NDJSON export labup pack built it from), each error points at the value ' +
          'to fix: the XML line and column, the CSV row (header = row 1) and the line it starts on, or the JSON line and pointer; with ' +
          'the patient (ID masked unless --show-ids), the 醫令代碼, and the value the source holds now. Give the same --map/--hosp as to ' +
          'labup pack so rows group into the same hdata.',
        'Exit codes: 0 the check file says 檢核正確; 1 it lists errors (the upload was rejected); 2 usage: unreadable file, not a check ' +
          'file, or a source that does not match it; 4 wrong ID for an encrypted download.',
      ].join('\n\n'),
    )
    .argument('<file>', 'the check file (.msg.txt) or the ZIP downloaded with it')
    .option('-s, --source <file>', 'the uploaded .xml/.zip, or the .csv/.tsv/.ndjson/.json export it was packed from')
    .option('--csv <file>', 'also write a worklist for staff: one row per error (UTF-8 with BOM for Excel, mode 0600)')
    .addOption(new Option('--max-errors <n>', 'print at most n errors (0 = all; default 100; --json and --csv keep all)').argParser(nonNegative))
    .option('--entry <name>', 'the check file to read when the ZIP holds several')
    .option('--save <dir>', 'also save the check file read from a ZIP into this folder (mode 0600)')
    .option('--map <map.json>', 'for a CSV/JSON source: the column map it was packed with')
    .option('--hosp <code>', 'for a CSV/JSON source: the --hosp it was packed with (default: "institution" from the config, as for pack)')
    .addOption(new Option('--format <format>', 'source format (default: by extension, else by content)').choices(['auto', 'xml', 'csv', 'tsv', 'json']).default('auto'))
    .addOption(new Option('--input-encoding <enc>', 'for a CSV/JSON source: auto, utf-8 or big5, as packed').choices(['auto', 'utf-8', 'utf8', 'big5', 'cp950']).default('auto'))
    .option('--delimiter <char>', 'for a CSV source: the delimiter it was packed with')
    .addOption(new Option('--group-window <rows>', 'for a CSV/JSON source: the --group-window it was packed with').argParser(positive))
    .action(
      wrap(async (ctx, file: string, opts: ExplainFlags) => {
        const { explain } = await import('../explain/explain.js');
        const { userIdAsker } = await import('../archive/user-id.js');
        const { renderExplain } = await import('../explain/render.js');
        const config = ctx.config(opts.hosp ? { institution: opts.hosp } : {}, { institution: '--hosp' });
        const institution = config.values.institution;
        const result = await explain(file, {
          cwd: ctx.cwd,
          clock: ctx.clock,
          host: ctx.out,
          showIds: ctx.globals.showIds,
          userId: userIdAsker({ env: ctx.env, userIdSource: config.values.userIdSource, prompter: ctx.prompter, host: ctx.out }),
          ...(opts.source !== undefined ? { source: opts.source } : {}),
          sourceOptions: {
            format: opts.format,
            inputEncoding: normaliseEncoding(opts.inputEncoding),
            ...(opts.map !== undefined ? { map: opts.map } : {}),
            ...(institution ? { hosp: institution } : {}),
            ...(opts.delimiter !== undefined ? { delimiter: delimiter(opts.delimiter) } : {}),
            ...(opts.groupWindow !== undefined ? { groupWindow: opts.groupWindow } : {}),
          },
          ...(opts.entry !== undefined ? { entry: opts.entry } : {}),
          ...(opts.save !== undefined ? { saveTo: opts.save } : {}),
        });
        if (opts.csv !== undefined) {
          const { writeWorklist } = await import('../explain/worklist.js');
          await writeWorklist(result, opts.csv, ctx.cwd);
          const n = result.groups.reduce((a, g) => a + g.errors.length, 0);
          ctx.out.info(`labup explain: worklist with ${n} row${n === 1 ? '' : 's'} written to ${opts.csv}`);
        }
        if (result.archive?.saved) ctx.out.info(`labup explain: check file saved to ${result.archive.saved}`);
        if (ctx.globals.json) {
          ctx.out.resultJson(result);
        } else {
          const c = ctx.out.cOut;
          const lines = renderExplain(result, { grouped: ctx.out.stdoutTty, maxErrors: opts.maxErrors ?? 100, style: c });
          for (const line of lines) ctx.out.result(line);
        }
        if (result.status === 'correct') return ExitCode.OK;
        if (result.status === 'error') return ExitCode.INVALID;
        ctx.out.warn(
          `labup explain: ${file} does not read as a check file: no 處理狀態, no error rows, no 檢核結果 line${result.unparsed.length ? ` (${result.unparsed.length} line${result.unparsed.length === 1 ? '' : 's'} not understood)` : ''}`,
          'EXPLAIN_NOT_CHECK_FILE',
        );
        return ExitCode.USAGE;
      }),
    );
}

interface ExplainFlags {
  source?: string;
  csv?: string;
  maxErrors?: number;
  entry?: string;
  save?: string;
  map?: string;
  hosp?: string;
  format: 'auto' | 'xml' | 'csv' | 'tsv' | 'json';
  inputEncoding?: string;
  delimiter?: string;
  groupWindow?: number;
}


