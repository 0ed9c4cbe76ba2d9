/** `labup pack <inputs...>` */
import { Option, type Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import type { Output } from '../cli/output.js';
import type { IoHost } from '../io-host.js';
import { formatSource, type PackFinding } from '../pack/findings.js';
import type { PackResult } from '../pack/pack.js';
import { delimiter, nonNegative, normaliseEncoding, positive } from '../cli/args.js';

interface PackFlags {
  out?: string;
  apiName?: boolean;
  map?: string;
  format: 'auto' | 'csv' | 'tsv' | 'json' | 'xml';
  inputEncoding?: string;
  delimiter?: string;
  encoding: 'big5' | 'utf-8';
  replaceUnencodable?: boolean;
  uploadTime?: string;
  hosp?: string;
  force?: boolean;
  dryRun?: boolean;
  groupWindow?: number;
  maxErrors?: number;
  warnings: boolean;
}

export function register(program: Command, wrap: Wrap): void {
  program
    .command('pack')
    .summary('turn a HIS/LIS export (CSV, NDJSON/JSON) or a daily XML into an upload-ready ZIP')
    .description(
      'Builds the daily XML from an export — one CSV row (or flat JSON object) per result item, or one JSON object per ' +
        'order with "items" — groups rows into one hdata per order (表七 key), numbers r1, stamps h16, writes Big5 ' +
        '(code page 950) with the XML specials full-width, and packs it into a ZIP holding exactly one XML. An existing ' +
        'daily XML (or its ZIP) is re-stamped with a new h16 for a correction upload. Everything is checked with the ' +
        'rules of labup validate: a file NHI would reject is not written (unless --force), and every finding names the ' +
        'input line to fix.\n\n' +
        'Exit codes: 0 written, 1 refused (errors; nothing written), 2 usage error (flags, map, unreadable input), ' +
        '6 nothing to do (no data rows).',
    )
    .argument('<inputs...>', 'CSV/TSV, NDJSON/JSON, daily XML or upload ZIP files; - reads standard input')
    .option('-o, --out <file>', 'the ZIP to write: letters and digits, .zip (default TOTFA.zip); or a folder')
    .option('--api-name', 'name the ZIP (醫事機構代碼)(上傳日期)(流水號).zip, e.g. 35012000001151125001.zip, with the next free 流水號 in the folder')
    .option('--map <map.json>', 'column map: HIS column names → fields, Gregorian → ROC dates, value codes, defaults (see docs/pack.md)')
    .addOption(new Option('--format <format>', 'input format (default: by extension, else by content)').choices(['auto', 'csv', 'tsv', 'json', 'xml']).default('auto'))
    .addOption(new Option('--input-encoding <enc>', 'CSV/JSON encoding: auto (BOM, else detected), utf-8, or big5 (code page 950)').choices(['auto', 'utf-8', 'utf8', 'big5', 'cp950']).default('auto'))
    .option('--delimiter <char>', 'CSV delimiter: "," (default), ";", "|" or "\\t" (default for .tsv)')
    .addOption(new Option('--encoding <enc>', 'encoding of the XML written').choices(['big5', 'utf-8']).default('big5'))
    .option('--replace-unencodable', 'replace characters the encoding (or XML) cannot carry, with a warning each, instead of refusing')
    .option('--upload-time <time>', 'h16: ISO 8601 (2026-11-25T21:00:00+08:00) or ROC YYYMMDDHHMMSS (default: now, Asia/Taipei)')
    .option('--hosp <code>', '醫事機構代碼 for records without h2 (default: "institution" from the config)')
    .option('--force', 'write the ZIP even when it holds errors NHI would reject')
    .option('--dry-run', 'check everything and report, but write nothing')
    .addOption(new Option('--group-window <rows>', 'rows an order stays open for more of its rows (default 10000)').argParser(positive))
    .addOption(new Option('--max-errors <n>', 'print at most n findings (0 = all; default 100, all with --json); all are counted').argParser(nonNegative))
    .option('--no-warnings', 'do not print warnings')
    .action(
      wrap(async (ctx, inputs: string[], opts: PackFlags) => {
        const { pack } = await import('../pack/run.js');
        const institution = ctx.config(opts.hosp ? { institution: opts.hosp } : {}, { institution: '--hosp' }).values.institution;
        if (inputs.filter((i) => i === '-').length > 1) throw usageError('PACK_STDIN_TWICE', 'standard input (-) can be read only once');
        const started = performance.now();
        const host: IoHost = { notify: (m) => ctx.out.notify(m) };
        // (without a terminal to show it, no progress is asked for: a large pack would post it from its worker)
        if (ctx.out.showsProgress) {
          host.progress = (p) => {
            const secs = (performance.now() - started) / 1000;
            const rate = secs > 0.2 ? Math.round(p.done / secs).toLocaleString('en') : '…';
            ctx.out.progress({ label: p.label, done: p.done, unit: `${p.unit ?? 'rows'}, ${rate}/s` });
          };
        }
        const result = await pack(
          inputs.map((i) => (i === '-' ? { name: '-', stream: ctx.stdin as AsyncIterable<Buffer> } : i)),
          {
            cwd: ctx.cwd,
            // (this process ends with the command: its helper threads may run below the pipeline)
            lowerHelpers: true,
            clock: ctx.clock,
            host,
            format: opts.format,
            inputEncoding: normaliseEncoding(opts.inputEncoding),
            ...(opts.delimiter !== undefined ? { delimiter: delimiter(opts.delimiter) } : {}),
            ...(opts.map ? { map: opts.map } : {}),
            encoding: opts.encoding,
            replaceUnencodable: opts.replaceUnencodable === true,
            ...(opts.uploadTime ? { uploadTime: opts.uploadTime } : {}),
            ...(institution ? { hosp: institution } : {}),
            ...(opts.out ? { out: opts.out } : {}),
            apiName: opts.apiName === true,
            force: opts.force === true,
            dryRun: opts.dryRun === true,
            ...(opts.groupWindow !== undefined ? { groupWindow: opts.groupWindow } : {}),
            showIds: ctx.globals.showIds,
          },
        );
        const max = opts.maxErrors ?? (ctx.globals.json ? 0 : 100);
        if (ctx.globals.json) {
          const limit = (list: PackFinding[]) => (max > 0 ? list.slice(0, max) : list);
          ctx.out.resultJson({
            ok: result.ok,
            output: result.output,
            counts: result.counts,
            h16: result.h16,
            errors: limit(result.errors),
            warnings: opts.warnings ? limit(result.warnings) : [],
            target: result.target,
            entry: result.entry,
            refused: result.refused,
            dryRun: result.dryRun,
            forced: result.forced,
            encoding: result.encoding,
            bytes: result.bytes,
            inputs: result.inputs,
            errorCount: result.errorCount,
            warningCount: result.warningCount,
            byCode: result.byCode,
            truncated: result.truncated,
          });
          ctx.out.summary(summaryText(result));
        } else {
          render(ctx.out, result, max, opts.warnings);
        }
        if (result.refused === 'empty') return ExitCode.NOTHING_TO_DO;
        if (result.refused === 'invalid') return ExitCode.INVALID;
        return ExitCode.OK;
      }),
    );
}


function where(f: PackFinding): string {
  const parts: string[] = [];
  if (f.hdata !== null) parts.push(`hdata ${f.hdata}`);
  if (f.rdata !== null) parts.push(`rdata ${f.rdata}`);
  return parts.join(' ');
}

/** One grep-able line: `his.csv:12 column 5 “PAT_ID”: error PERSON_ID_CHECKSUM (NHI 02) hdata 3 rdata 1: message → hint` */
export function packFindingLine(f: PackFinding): string {
  const loc = formatSource(f.source) || '(whole file)';
  const w = where(f);
  return `${loc}: ${f.severity} ${f.code}${f.nhiCode ? ` (NHI ${f.nhiCode})` : ''}${w ? ' ' + w : ''}: ${f.message} → ${f.hint}`;
}

function render(out: Output, r: PackResult, max: number, warnings: boolean): void {
  const c = out.cOut;
  const findings = [...r.errors, ...(warnings ? r.warnings : [])];
  const total = r.errorCount + (warnings ? r.warningCount : 0);
  let printed = 0;
  if (!out.stdoutTty) {
    for (const f of max > 0 ? findings.slice(0, max) : findings) {
      out.result(out.mask(packFindingLine(f)));
      printed++;
    }
  } else {
    const groups = new Map<string, PackFinding[]>();
    for (const f of findings) {
      const g = groups.get(f.code);
      if (g) g.push(f);
      else groups.set(f.code, [f]);
    }
    outer: for (const [code, list] of groups) {
      const first = list[0]!;
      const sev = first.severity === 'error' ? c.red('error') : c.yellow('warning');
      out.result(`  ${sev} ${c.bold(code)}${first.nhiCode ? c.dim(` NHI ${first.nhiCode}`) : ''} ×${r.byCode[code] ?? list.length}`);
      for (const f of list) {
        if (max > 0 && printed >= max) break outer;
        printed++;
        out.result(`    ${c.dim((formatSource(f.source) || '(whole file)').padEnd(30))} ${c.dim(where(f).padEnd(16))} ${out.mask(f.message)}`);
      }
      out.result(`    ${c.cyan('→')} ${first.hint}`);
    }
  }
  const hidden = total - printed;
  if (hidden > 0) out.result(`… ${hidden} more not printed (--max-errors 0 prints all${r.truncated ? '; the first 50,000 are kept' : ''})`);
  const enc = r.encoding === 'big5' ? 'Big5' : 'UTF-8';
  const figures = `${r.counts.rows.toLocaleString('en')} row${r.counts.rows === 1 ? '' : 's'} → ${r.counts.hdata.toLocaleString('en')} hdata, ${r.counts.rdata.toLocaleString('en')} rdata, ${enc}, h16 ${r.h16}`;
  const tally = `${r.errorCount} error${r.errorCount === 1 ? '' : 's'}${r.warningCount ? `, ${r.warningCount} warning${r.warningCount === 1 ? '' : 's'}` : ''}`;
  let line: string;
  if (r.refused === 'empty') line = `${c.yellow('–')} nothing to pack: the input holds no data rows; nothing written`;
  else if (r.refused === 'invalid') line = `${c.red('✗')} refused: ${tally}; nothing written  ${c.dim(figures)}\n  → fix the input at the lines above (or --force to write it anyway)`;
  else if (r.dryRun) line = `${c.green('✓')} dry run: would write ${r.target} (${r.entry})  ${c.dim(figures)}${r.errorCount + r.warningCount ? `  ${tally}` : ''}`;
  else line = `${r.forced ? c.yellow('!') : c.green('✓')} wrote ${r.output} (${r.entry})  ${c.dim(figures)}${r.forced ? c.yellow(`  forced with ${tally}`) : r.warningCount ? `  ${tally}` : ''}`;
  out.result(line);
  if (out.quiet) out.summary(summaryText(r));
}

/** The one line for cron mail (with --quiet or --json). */
function summaryText(r: PackResult): string {
  const tally = `${r.errorCount} error${r.errorCount === 1 ? '' : 's'}${r.warningCount ? `, ${r.warningCount} warning${r.warningCount === 1 ? '' : 's'}` : ''}`;
  return r.refused === 'empty'
    ? 'labup pack: nothing to pack (no data rows)'
    : r.refused === 'invalid'
      ? `labup pack: refused, ${tally}; nothing written`
      : r.dryRun
        ? `labup pack: dry run, would write ${r.target}`
        : `labup pack: wrote ${r.output} (${r.counts.hdata} hdata, ${r.counts.rdata} rdata)`;
}
