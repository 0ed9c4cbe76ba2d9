/**
 * Human rendering of validation findings: grouped by code on a terminal, one grep-able line per
 * finding when piped. Shared by validate, pack, upload and daily.
 */
import type { Finding } from '../format/findings.js';
import type { FileReport } from '../validate.js';
import type { Output } from './output.js';

export interface RenderOptions {
  /** Print at most this many findings per file (0 = all). */
  maxPrinted: number;
  warnings: boolean;
}

function where(f: Finding): string {
  const parts: string[] = [];
  if (f.hdata !== null) parts.push(`hdata ${f.hdata}`);
  if (f.rdata !== null) parts.push(`rdata ${f.rdata}`);
  return parts.join(' ');
}

function nhi(f: Finding): string {
  return f.nhiCode ? ` NHI ${f.nhiCode}` : '';
}

/** `file:line:col: error CODE (NHI 02) hdata 1 rdata 2: message → hint` */
export function findingLine(file: string, f: Finding): string {
  const loc = f.line !== null ? `${file}:${f.line}:${f.column ?? 1}` : file;
  const w = where(f);
  return `${loc}: ${f.severity} ${f.code}${f.nhiCode ? ` (NHI ${f.nhiCode})` : ''}${w ? ' ' + w : ''}: ${f.message} → ${f.hint}`;
}

export function renderFileReport(out: Output, report: FileReport, opts: RenderOptions): void {
  const c = out.cOut;
  const name = report.entry ? `${report.file} (${report.entry})` : report.file;
  if (report.failure) {
    out.result(`${c.red('✗')} ${report.failure.message}${report.failure.hint ? `\n  → ${report.failure.hint}` : ''}`);
    return;
  }
  const enc = report.encoding === 'big5' ? 'Big5' : report.encoding === 'utf-8' ? 'UTF-8' : '?';
  const head = `${report.ok ? c.green('✓') : c.red('✗')} ${name}  ${c.dim(`${enc}, ${report.counts.hdata} hdata, ${report.counts.rdata} rdata`)}  ${
    report.ok ? c.green('valid') : c.red(`${report.errorCount} error${report.errorCount === 1 ? '' : 's'}`)
  }${report.warningCount ? c.yellow(`, ${report.warningCount} warning${report.warningCount === 1 ? '' : 's'}`) : ''}`;
  const findings = [...report.errors, ...(opts.warnings ? report.warnings : [])];
  if (!out.stdoutTty) {
    out.result(head);
    const shown = opts.maxPrinted > 0 ? findings.slice(0, opts.maxPrinted) : findings;
    for (const f of shown) out.result(out.mask(findingLine(report.file, f)));
    const hidden = (report.errorCount + (opts.warnings ? report.warningCount : 0)) - shown.length;
    if (hidden > 0) out.result(`… ${hidden} more not printed (--max-errors 0 prints all${report.truncated ? '; --json keeps the first 50,000' : ''})`);
    return;
  }
  out.result(head);
  // Grouped by code, errors first, in order of first appearance.
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const g = groups.get(f.code);
    if (g) g.push(f);
    else groups.set(f.code, [f]);
  }
  let printed = 0;
  for (const [code, list] of groups) {
    const first = list[0]!;
    const total = report.byCode[code] ?? list.length;
    const sev = first.severity === 'error' ? c.red('error') : c.yellow('warning');
    const generic = first.message.replace(/^[^:]+: /, '').replace(/ \(".*"\)$/, '').replace(/: .*$/, '');
    out.result(`  ${sev} ${c.bold(code)}${c.dim(nhi(first))} ×${total}  ${generic}`);
    for (const f of list) {
      if (opts.maxPrinted > 0 && printed >= opts.maxPrinted) break;
      printed++;
      const loc = f.line !== null ? `line ${f.line}:${f.column ?? 1}` : '';
      out.result(`    ${c.dim(loc.padEnd(14))} ${c.dim(where(f).padEnd(18))} ${out.mask(f.message)}`);
    }
    out.result(`    ${c.cyan('→')} ${first.hint}`);
    if (opts.maxPrinted > 0 && printed >= opts.maxPrinted) {
      const rest = report.errorCount + (opts.warnings ? report.warningCount : 0) - printed;
      if (rest > 0) out.result(c.dim(`  … ${rest} more not printed (--max-errors 0 prints all)`));
      break;
    }
  }
}
