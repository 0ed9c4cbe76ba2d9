/**
 * The portal's query conventions, shared by status, download listings and entry queries: a date
 * range in ROC or ISO with the portal's default window, a page of a given size, a sort field.
 */
import { addDays, type Clock } from './clock.js';
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
  const read = (flag: string, v: string) => {
    const d = parseUserDate(v);
    if (!d) throw usageError('BAD_DATE', `${flag} “${v}” is not a date`, { hint: 'Write ROC YYY/MM/DD or YYYMMDD (e.g. 114/11/25), or ISO YYYY-MM-DD.' });
    return d;
  };
  const today = taipeiToday(clock.now());
  const end = to ? read('--to', to) : today;
  const start = from ? read('--from', from) : addDays(end, -(defaultDays - 1));
  if (formatRocDate(start) > formatRocDate(end) && !(formatRocDate(start).startsWith('-') || formatRocDate(end).startsWith('-'))) {
    throw usageError('BAD_DATE_RANGE', `--from ${formatRocSlashed(start)} is after --to ${formatRocSlashed(end)}`);
  }
  return { from: start, to: end };
}

/** Reads paging and sorting flags; `fields` maps the names users type to item fields. */
export function parsePageRequest(
  opts: { page?: string | number; pageSize?: string | number; sort?: string },
  fields: Record<string, string>,
  defaults: { sort: string; order: 'asc' | 'desc'; pageSize?: number },
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
    order = m[1] === '-' ? 'desc' : m[1] === '+' ? 'asc' : order;
  }
  return { page: int('--page', opts.page, 1, 100000), pageSize: int('--page-size', opts.pageSize, defaults.pageSize ?? DEFAULT_PAGE_SIZE, 1000), sort, order };
}
