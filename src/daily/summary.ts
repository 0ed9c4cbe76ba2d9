/**
 * How a daily result reads: the block a person reads in the morning (stdout), and the one line a
 * cron mail carries (stderr), ending in the final 處理狀態. Pure builders from the result data.
 */
import { taipeiDisplay } from '../clock.js';
import { shownPath } from '../paths.js';
import { formatDailySource, type DailyError } from './daily-errors.js';
import { plainStyle, type Style } from '../explain/render.js';
import type { DailyResult } from './daily.js';

export interface SummaryOptions {
  /** Paths are shown relative to this folder when inside it. */
  cwd: string;
  /** Errors printed at most (0 = all); all are counted. */
  maxErrors: number;
  paint?: Style;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

function time(iso: string | null): string {
  return iso ? taipeiDisplay(new Date(iso)) : '';
}

/** `28 ×1, 02 ×3`: the codes of the groups, for one line. */
export function groupTally(result: Pick<DailyResult, 'errorGroups'>, max = 4): string {
  const parts = result.errorGroups.slice(0, max).map((g) => `${g.code} ×${g.count}`);
  if (result.errorGroups.length > max) parts.push(`+${result.errorGroups.length - max} more codes`);
  return parts.join(', ');
}

function errorWhere(e: DailyError): string {
  const parts: string[] = [];
  if (e.hdata !== null) parts.push(`hdata ${e.hdata}`);
  if (e.rdata !== null) parts.push(`rdata ${e.rdata}`);
  return parts.join(' ');
}

/** The block printed on stdout. */
export function summaryLines(r: DailyResult, o: SummaryOptions): string[] {
  const p = o.paint ?? plainStyle;
  const path = (x: string) => shownPath(x, o.cwd);
  const lines: string[] = [];
  const head = [`labup daily`, r.uploadDate ? `上傳日期 ${r.uploadDate}` : '', r.runId !== null ? `run ${r.runId}` : '', r.dryRun ? 'dry run' : ''].filter(Boolean).join('  ');
  lines.push(p.bold(head));
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(9)} ${text}`);
  if (r.inputs.length) {
    const figures = r.counts ? ` — ${plural(r.counts.rows, 'row')} → ${r.counts.hdata} hdata, ${r.counts.rdata} rdata` : '';
    row('inputs', `${r.inputs.map((i) => path(i.file)).join(', ')}${figures}${r.zip?.h16 ? p.dim(` (h16 ${r.zip.h16})`) : ''}`);
  }
  if (r.warningCount > 0) row('warnings', `${plural(r.warningCount, 'warning')} from pack (labup pack --dry-run lists them)`);
  for (const rc of r.receipts) {
    row('uploaded', `${rc.fileName ?? 'ZIP'} → 收件序號 ${rc.receiptNo}${rc.sentAt ? `, 傳送時間 ${time(rc.sentAt)}` : ''}`);
    const status = rc.statusText ?? '?';
    const painted = rc.status === 'passed' ? p.green(status) : rc.status === 'failed' ? p.red(status) : p.yellow(status);
    row('status', `${painted}${rc.errorCount ? `, ${plural(rc.errorCount, 'error')}` : ''}${rc.checkedAt ? p.dim(` (檢核時間 ${time(rc.checkedAt)})`) : ''}`);
    for (const f of rc.files) {
      const shown = f.encrypted ? `${path(f.path)}${f.decrypted ? ` → ${path(f.decrypted)}` : ''}` : path(f.path);
      row('file', `${shown}${f.skipped ? p.dim(' (already here)') : ''}`);
    }
  }
  if (r.report) row('report', path(r.report));
  if (r.failure) row(r.exitCode === 3 ? 'pending' : 'stopped', `${p.red(`[${r.failure.code}]`)} ${r.failure.message}${r.failure.hint ? `\n            → ${r.failure.hint}` : ''}`);
  for (const n of r.notices) row('note', n);

  if (r.errors.length) {
    const origin = r.errors[0]!.origin === 'portal' ? 'in the check file' : 'found before sending';
    lines.push('');
    lines.push(p.bold(`${plural(r.errorCount, 'error')} ${origin}, by NHIA code:`));
    let printed = 0;
    outer: for (const g of r.errorGroups) {
      lines.push(`  ${p.bold(g.code)} ${g.title} ×${g.count}${g.explanation && g.explanation !== g.title ? p.dim(` — ${g.explanation}`) : ''}`);
      for (const e of r.errors.filter((x) => x.group === g.code)) {
        if (o.maxErrors > 0 && printed >= o.maxErrors) break outer;
        printed++;
        const value = e.value !== null && e.value !== '' && !e.message.includes(e.value) ? ` “${e.value}”` : '';
        const who = e.patient ? p.dim(` (${e.patient}${e.orderCode ? `, ${e.orderCode}` : ''})`) : '';
        lines.push(`    ${formatDailySource(e.source ? { ...e.source, file: path(e.source.file) } : null)}  ${p.dim(errorWhere(e))}  ${e.message}${value}${who}`);
      }
      lines.push(`    ${p.cyan('→')} ${g.fix}`);
    }
    const hidden = r.errors.length - printed;
    if (hidden > 0) lines.push(`  … ${hidden} more in the report${r.report ? ` (${path(r.report)})` : ''}`);
  }
  return lines;
}

/** The one line for cron mail (stderr), ending in the final 處理狀態 when there is one. */
export function summaryLine(r: DailyResult, cwd: string): string {
  const rc = r.receipts[0];
  const figures = r.counts ? `${r.counts.hdata} hdata, ${r.counts.rdata} rdata` : '';
  const report = r.report ? `; report ${shownPath(r.report, cwd)}` : '';
  switch (r.outcome) {
    case 'passed':
    case 'failed': {
      const files = rc?.files.length ? `, ${rc.files.map((f) => shownPath(f.decrypted ?? f.path, cwd)).join(', ')}` : '';
      const again = r.alreadyDone ? 'already done, ' : r.resumed ? 'continued, ' : '';
      const errors = r.outcome === 'failed' ? ` (${plural(r.errorCount || rc?.errorCount || 0, 'error')}${r.errorGroups.length ? `: ${groupTally(r)}` : ''}${report})` : '';
      return `labup daily: ${again}上傳日期 ${r.uploadDate}, ${figures ? figures + ', ' : ''}收件序號 ${rc?.receiptNo ?? '?'}${files}${r.outcome === 'failed' ? errors : ''} — ${rc?.statusText ?? (r.outcome === 'passed' ? '檢核正確' : '檢核錯誤')}`;
    }
    case 'refused':
      return `labup daily: not sent — ${plural(r.errorCount, 'error')} NHI would reject${r.errorGroups.length ? ` (${groupTally(r)})` : ''}${report}`;
    case 'empty':
      return `labup daily: nothing to do — the input holds no data rows${r.dryRun ? ' (dry run)' : ''}`;
    case 'already-uploaded':
      return `labup daily: nothing to do — these inputs were already uploaded for 上傳日期 ${rc?.uploadDate ?? r.uploadDate} (收件序號 ${rc?.receiptNo ?? '?'}, ${rc?.statusText ?? '?'})`;
    case 'pending':
      return `labup daily: 收件序號 ${rc?.receiptNo ?? '?'} still 檢核中 at the ${r.failure?.code === 'DEADLINE_PASSED' ? 'deadline' : 'wait timeout'}; run the same command again later (state journaled)${report}`;
    case 'dry-run':
      return `labup daily: dry run — ${rc ? `would wait on 收件序號 ${rc.receiptNo}` : r.counts ? `would upload ${figures} for 上傳日期 ${r.uploadDate}` : 'would continue the run'}; nothing sent or written`;
    case 'error':
    default: {
      const f = r.failure;
      return `labup daily: stopped at ${f?.step ?? '?'} — [${f?.code ?? 'ERROR'}] ${f?.message ?? ''} (exit ${r.exitCode})${report}`;
    }
  }
}
