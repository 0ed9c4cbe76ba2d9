/**
 * Human text for an {@link ExplainResult}: grouped and explained on a terminal, one grep-able line
 * per error when piped (`file:line: code hdata … → fix`). Pure: lines in, lines out.
 */
import type { ExplainedError, ExplainGroup, ExplainResult } from './explain.js';
import { formatPlace } from './place.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export const plainStyle: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s };

export interface RenderOptions {
  /** Grouped, explained output for a terminal; otherwise one line per error. */
  grouped: boolean;
  /** Print at most this many errors (0 = all); all are counted. */
  maxErrors: number;
  style?: Style;
}

/** Control characters (a hostile or broken file) shown as escapes, so they cannot drive the terminal. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const STATUS_WORDS: Record<ExplainResult['status'], string> = {
  correct: '檢核正確 — accepted',
  error: '檢核錯誤 — rejected',
  unknown: 'status unknown',
};

function where(e: ExplainedError): string {
  const parts: string[] = [];
  if (e.hdata !== null) parts.push(`hdata ${e.hdata}`);
  if (e.rdata !== null) parts.push(`rdata ${e.rdata}`);
  if (e.field !== null) parts.push(e.fieldName ? `${e.field} ${e.fieldName}` : e.field);
  return parts.join(' ');
}

function record(e: ExplainedError): string {
  const parts: string[] = [];
  if (e.patient !== null) parts.push(`patient ${e.patient}`);
  if (e.orderCode !== null) parts.push(`醫令 ${e.orderCode}`);
  return parts.join(', ');
}

function quoted(v: string): string {
  return JSON.stringify(v.length > 80 ? v.slice(0, 77) + '…' : v);
}

/** The check file as the user named it (or its name inside the ZIP given), for `file:line` places. */
function checkPath(r: ExplainResult): string {
  return r.archive ? r.checkFile : r.file;
}

/** The one-line summary of the check file. */
export function headline(r: ExplainResult): string {
  const bits = [STATUS_WORDS[r.status]];
  bits.push(r.archive ? `${r.file} (${r.checkFile})` : r.file);
  const meta: string[] = [];
  if (r.receiptNo) meta.push(`收件序號 ${r.receiptNo}`);
  if (r.uploadDate) meta.push(`上傳日期 ${r.uploadDate}`);
  if (r.institution) meta.push(`醫事機構 ${r.institution}`);
  if (r.fileName) meta.push(`檔案 ${r.fileName}`);
  if (r.checkedAt) meta.push(`檢核時間 ${r.checkedAt}`);
  return printable(`${bits.join(': ')}${meta.length ? ` — ${meta.join(', ')}` : ''}`);
}

function countsLine(r: ExplainResult): string {
  const c: string[] = [];
  if (r.counts.hdata !== null) c.push(`醫令 ${r.counts.hdata} 筆`);
  if (r.counts.rdata !== null) c.push(`報告 ${r.counts.rdata} 筆`);
  c.push(`${r.counts.listed} error${r.counts.listed === 1 ? '' : 's'} listed`);
  if (r.source) c.push(`source ${r.source.file}${r.source.entry ? ` (${r.source.entry})` : ''}: ${r.source.hdata} hdata, ${r.source.rdata} rdata`);
  return c.join(', ');
}

/** `export.csv:4 row 3 …: 02 hdata 1 h9 身分證統一編號: 身分證號或居留證號檢查碼錯誤 "A12****788" [patient …] → fix` */
export function errorLine(r: ExplainResult, e: ExplainedError): string {
  const loc = e.source ? formatPlace(e.source, e.field) : `${checkPath(r)}:${e.line}`;
  const w = where(e);
  const rec = record(e);
  const now = e.current !== null && e.changed ? ` now ${quoted(e.current)}` : '';
  return printable(`${loc}: ${e.code}${w ? ' ' + w : ''}: ${e.message}${e.value ? ' ' + quoted(e.value) : ''}${now}${rec ? ` [${rec}]` : ''} → ${e.fix}`);
}

function groupLines(g: ExplainGroup, s: Style, budget: { left: number }): string[] {
  const out: string[] = [];
  const title = g.known ? g.title : `${g.title} ${s.dim('(code not in labup’s table)')}`;
  out.push(`${s.red(s.bold(g.code))} ${s.bold(printable(title))} ${s.dim(`×${g.count}`)}`);
  if (g.zh) out.push(`  ${printable(g.zh)}`);
  out.push(`  ${s.dim(printable(g.en))}`);
  let n = 0;
  for (const e of g.errors) {
    if (budget.left === 0) break;
    budget.left--;
    n++;
    const w = where(e);
    out.push(`  ${s.bold(`${e.seq}.`)} ${w || s.dim('the file as a whole')}${e.value ? ` = ${quoted(e.value)}` : ''}`);
    if (e.source) out.push(`     ${s.cyan('at')} ${printable(formatPlace(e.source, e.field))}`);
    else out.push(`     ${s.dim(`check file line ${e.line}`)}`);
    const rec = record(e);
    const now =
      e.current !== null
        ? `now ${quoted(e.current)}${e.changed ? s.yellow(' (changed since the check)') : ''}`
        : e.source && e.field && e.hdata !== null
          ? e.source.at === 'field'
            ? 'now empty'
            : 'now absent'
          : '';
    const facts = [rec, now].filter(Boolean).join(' · ');
    if (facts) out.push(`     ${printable(facts)}`);
    if (e.message && e.message !== g.zh) out.push(`     ${printable(e.message)}`);
    if (e.rule) out.push(`     ${s.dim(`表一 ${e.field}: ${e.rule}`)}`);
    out.push(`     ${s.cyan('→')} ${printable(e.fix)}`);
  }
  if (n < g.errors.length) out.push(s.dim(`  … ${g.errors.length - n} more with ${g.code} not printed`));
  return out;
}

/** The lines to print for a result. */
export function renderExplain(r: ExplainResult, o: RenderOptions): string[] {
  const s = o.style ?? plainStyle;
  const out: string[] = [];
  const budget = { left: o.maxErrors > 0 ? o.maxErrors : Number.POSITIVE_INFINITY };
  const mark = r.status === 'correct' ? s.green('✓') : r.status === 'error' ? s.red('✗') : s.yellow('?');
  if (!o.grouped) {
    out.push(`${mark} ${headline(r)}: ${countsLine(r)}`);
    for (const n of r.notices) out.push(`note: ${printable(n)}`);
    let printed = 0;
    for (const g of r.groups) {
      for (const e of g.errors) {
        if (printed >= budget.left) break;
        printed++;
        out.push(errorLine(r, e));
      }
    }
    const total = r.groups.reduce((a, g) => a + g.errors.length, 0);
    if (printed < total) out.push(`… ${total - printed} more not printed (--max-errors 0 prints all)`);
    for (const u of r.unparsed) out.push(`${checkPath(r)}:${u.line}: not understood${u.reason ? ` (${u.reason})` : ''}: ${printable(u.text)}`);
    return out;
  }
  out.push(`${mark} ${s.bold(headline(r))}`);
  out.push(`  ${s.dim(countsLine(r))}`);
  for (const n of r.notices) out.push(`  ${s.yellow('note:')} ${printable(n)}`);
  for (const g of r.groups) {
    out.push('');
    out.push(...groupLines(g, s, budget));
  }
  const total = r.groups.reduce((a, g) => a + g.errors.length, 0);
  const shown = o.maxErrors > 0 ? Math.min(o.maxErrors, total) : total;
  if (shown < total) {
    out.push('');
    out.push(s.dim(`… ${total - shown} errors not printed (--max-errors 0 prints all; --csv FILE writes every one)`));
  }
  if (r.unparsed.length) {
    out.push('');
    out.push(s.yellow(`Lines labup did not understand (shown as they are):`));
    for (const u of r.unparsed) out.push(`  ${s.dim(`${u.line}:`)} ${printable(u.text)}${u.reason ? s.dim(`  (${u.reason})`) : ''}`);
  }
  if (r.status === 'correct') {
    out.push('');
    out.push(s.green(`Nothing to fix: the portal accepted ${r.counts.hdata ?? '?'} hdata and ${r.counts.rdata ?? '?'} rdata.`));
  }
  return out;
}
