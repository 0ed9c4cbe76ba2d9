/**
 * The portal's query conventions, shared by status, download listings and entry queries: a date
 * range in ROC or ISO with the portal's default window, a page of a given size, a sort field.
 */
import { addDays, taipeiParts, type Clock } from './clock.js';
import { usageError } from './errors.js';
import { formatRocDate, formatRocSlashed, parseUserDate, taipeiToday, type CalendarDate } from './format/roc.js';

export interface PageRequest {
  /** 1-based. */
  page: number;
  pageSize: number;
  sort: string;
  order: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
  pages: number;
}

export const DEFAULT_PAGE_SIZE = 20;
/** The largest page a portal endpoint serves (docs/portal-protocol.md). */
export const MAX_PORTAL_PAGE_SIZE = 100;

/** Slices `items` (already sorted) to the requested page. */
export function paginate<T>(items: T[], req: Pick<PageRequest, 'page' | 'pageSize'>): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / req.pageSize));
  const start = (req.page - 1) * req.pageSize;
  return { items: items.slice(start, start + req.pageSize), page: req.page, pageSize: req.pageSize, total: items.length, pages };
}

/** Sorts by a field of the items (stable; strings compare as text, numbers as numbers). */
export function sortBy<T>(items: T[], field: keyof T, order: 'asc' | 'desc'): T[] {
  const dir = order === 'asc' ? 1 : -1;
  return [...items].sort((a, b) => {
    const x = a[field] as unknown;
    const y = b[field] as unknown;
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
}

export interface DateRange {
  from: CalendarDate;
  to: CalendarDate;
}

/**
 * Reads `--from`/`--to` (ROC `YYY/MM/DD`, `YYYMMDD` or ISO). Without `from`, the window is the
 * last `defaultDays` days up to today in Asia/Taipei (the portal's defaults: 2 for status and entry
 * queries, 7 for download listings).
 */
export function parseDateRange(from: string | undefined, to: string | undefined, defaultDays: number, clock: Clock): DateRange {
  const read = parseDateArg;
  const today = taipeiToday(clock.now());
  const end = to ? read('--to', to) : today;
  const start = from ? read('--from', from) : addDays(end, -(defaultDays - 1));
  if (formatRocDate(start) > formatRocDate(end) && !(formatRocDate(start).startsWith('-') || formatRocDate(end).startsWith('-'))) {
    throw usageError('BAD_DATE_RANGE', `--from ${formatRocSlashed(start)} is after --to ${formatRocSlashed(end)}`);
  }
  return { from: start, to: end };
}

/** One date flag (ROC `YYY/MM/DD`, `YYYMMDD` or ISO), or a BAD_DATE usage error naming the flag. */
export function parseDateArg(flag: string, value: string): CalendarDate {
  const d = parseUserDate(value);
  if (!d) throw usageError('BAD_DATE', `${flag} “${value}” is not a date`, { hint: 'Write ROC YYY/MM/DD or YYYMMDD (e.g. 114/11/25), or ISO YYYY-MM-DD.' });
  return d;
}

/**
 * Reads paging and sorting flags; `fields` maps the names users type to item fields. `--sort FIELD`
 * sorts ascending, `--sort -FIELD` descending; without `--sort` the listing's default order applies.
 */
export function parsePageRequest(
  opts: { page?: string | number; pageSize?: string | number; sort?: string },
  fields: Record<string, string>,
  defaults: { sort: string; order: 'asc' | 'desc'; pageSize?: number; maxPageSize?: number },
): PageRequest {
  const int = (flag: string, v: string | number | undefined, d: number, max: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw usageError('BAD_PAGE', `${flag} must be a whole number from 1 to ${max}`);
    return n;
  };
  let sort = defaults.sort;
  let order = defaults.order;
  if (opts.sort) {
    const m = /^([+-]?)(.+)$/.exec(opts.sort.trim())!;
    const key = m[2]!;
    if (!fields[key]) throw usageError('BAD_SORT', `--sort ${key}: not a field to sort by`, { hint: `Sort by one of: ${Object.keys(fields).join(', ')} (prefix - for descending).` });
    sort = fields[key]!;
    order = m[1] === '-' ? 'desc' : 'asc';
  }
  return { page: int('--page', opts.page, 1, 100000), pageSize: int('--page-size', opts.pageSize, defaults.pageSize ?? DEFAULT_PAGE_SIZE, defaults.maxPageSize ?? 1000), sort, order };
}

/** `page 2 of 3 (total 45)`, as listings end (the portal's 到第 N 頁). */
export function describePage(p: { page: number; total: number; totalPages?: number; pages?: number }): string {
  const pages = Math.max(1, p.totalPages ?? p.pages ?? 1);
  return `page ${p.page} of ${pages} (total ${p.total})`;
}

/**
 * An instant as the portal shows dates: ROC `YYY/MM/DD`, with `HH:MM` (`minute`) or `HH:MM:SS`
 * (`second`) in Asia/Taipei, e.g. 提供下載日期 `115/11/25 20:31`.
 */
export function formatRocInstant(at: Date | string, precision: 'day' | 'minute' | 'second' = 'minute'): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return String(at);
  const p = taipeiParts(d);
  const day = formatRocSlashed(p);
  const hm = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  return precision === 'day' ? day : precision === 'minute' ? `${day} ${hm}` : `${day} ${hm}:${String(p.second).padStart(2, '0')}`;
}
