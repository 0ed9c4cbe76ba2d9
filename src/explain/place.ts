/** Source places in words, for terminals, pipes and the staff worklist. */
import type { SourcePlace, SourceRow } from './source.js';

/** `row 3, 4 and 5` */
function rowList(rows: readonly SourceRow[]): string {
  const nums = rows.map((r) => String(r.row ?? `line ${r.line}`));
  if (nums.length <= 1) return nums.join('');
  const shown = nums.length > 8 ? [...nums.slice(0, 7), `… (${nums.length} in all)`] : nums;
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/**
 * `TOTFA.xml:12:7`, `TOTFA.zip:12:7 (TOTFA.xml)`, `export.csv:4 row 3, column 9 “PAT_ID”`,
 * `orders.ndjson:3 /items/0/r4`; a header value repeated on several rows adds `(rows 3, 4 and 5)`.
 */
export function formatPlace(p: SourcePlace, field: string | null = null): string {
  let t = `${p.file}:${p.line}`;
  if (p.pointer !== undefined) t += ` ${p.pointer || '/'}`;
  else if (p.row !== undefined) {
    t += ` row ${p.row}`;
    if (p.column !== undefined) t += `, column ${p.column}${p.columnName !== undefined ? ` “${p.columnName}”` : ''}`;
  } else if (p.column !== undefined) t += `:${p.column}`;
  if (p.entry) t += ` (${p.entry})`;
  if (p.rows && p.rows.length > 1) t += ` (every row of the order: ${p.rows.some((r) => r.row !== undefined) ? 'rows' : 'lines'} ${rowList(p.rows)})`;
  if (p.from) t += ` (value from ${p.from})`;
  if (field && (p.at === 'hdata' || p.at === 'rdata')) t += ` (its ${p.at}: ${field} is absent)`;
  return t;
}

/** Spreadsheet rows of a place: `3` or `3, 4, 5`; empty when the source has no rows. */
export function placeRows(p: SourcePlace): string {
  if (p.rows && p.rows.length > 0) return p.rows.map((r) => String(r.row ?? '')).filter((s) => s !== '').join(', ');
  return p.row !== undefined ? String(p.row) : '';
}
