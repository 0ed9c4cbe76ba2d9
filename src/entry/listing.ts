/**
 * Listing drafts as the portal does (檢驗(查)結果上傳 / 檢驗(查)結果查詢): one row per record with
 * 執行年月, 健保卡過卡日期時間, 報告類別, 就醫類別, 就醫序號, 身分證號 (masked), 醫令代碼, 收件序號 and
 * 資料處理狀態; queried by 資料建立日期 (the last two days by default) and 資料處理狀態, paged and sorted
 * with the conventions every labup listing shares (`src/query.ts`).
 */
import { addDays, type Clock } from '../clock.js';
import { usageError } from '../errors.js';
import { codeLabel } from '../format/codes.js';
import { maskId } from '../format/national-id.js';
import { formatRocSlashed, taipeiToday, type CalendarDate } from '../format/roc.js';
import { paginate, parseDateRange, parsePageRequest, sortBy, type Page } from '../query.js';
import type { Store } from '../store/store.js';
import { DRAFT_STATUSES, DRAFT_STATUS_TEXT, listDrafts, type Draft, type DraftStatus } from './drafts.js';

/** One row of a draft listing. Person IDs are masked unless asked otherwise. */
export interface DraftSummary {
  id: number;
  status: DraftStatus;
  /** 資料處理狀態: 暫存, 檢核中, 檢核正確, 檢核錯誤. */
  statusText: string;
  /** 報告類別 */
  h1: string | null;
  /** 執行年月 */
  h4: string | null;
  /** 健保卡刷卡日期時間 */
  h5: string | null;
  /** 就醫類別 */
  h6: string | null;
  /** 就醫序號 */
  h7: string | null;
  /** 身分證統一編號 (masked unless showIds) */
  h9: string | null;
  /** 醫令代碼 */
  h15: string | null;
  /** Number of report items (rdata). */
  items: number;
  /** 收件序號 */
  receiptNo: string | null;
  errorCount: number;
  warningCount: number;
  /** 資料建立日期 (ISO 8601, +08:00). */
  createdAt: string;
  updatedAt: string;
  uploadedAt: string | null;
  checkedAt: string | null;
}

export function summarise(d: Draft, showIds = false): DraftSummary {
  const h = d.record.header;
  const id = h.h9 ?? null;
  return {
    id: d.id,
    status: d.status,
    statusText: d.statusText,
    h1: h.h1 ?? null,
    h4: h.h4 ?? null,
    h5: h.h5 ?? null,
    h6: h.h6 ?? null,
    h7: h.h7 ?? null,
    h9: id === null ? null : showIds ? id : maskId(id),
    h15: h.h15 ?? null,
    items: d.record.items.length,
    receiptNo: d.receiptNo,
    errorCount: d.errorCount,
    warningCount: d.warningCount,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    uploadedAt: d.uploadedAt,
    checkedAt: d.checkedAt,
  };
}

/** The portal's column headings, after labup's own `#`. */
export const LISTING_HEADINGS = ['#', '執行年月', '健保卡過卡日期時間', '報告類別', '就醫類別', '就醫序號', '身分證號', '醫令代碼', '收件序號', '資料處理狀態'] as const;

/** `11511` → `115/11`. */
export function showYearMonth(v: string | null): string {
  return v && /^-?\d{5}$/.test(v) ? `${v.slice(0, -2)}/${v.slice(-2)}` : (v ?? '');
}

/** `1151125083005` → `115/11/25 08:30:05`. */
export function showDateTime(v: string | null): string {
  if (!v) return '';
  const m = /^(-?\d{2,3})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(v);
  return m ? `${m[1]}/${m[2]}/${m[3]} ${m[4]}:${m[5]}:${m[6] ?? '00'}` : v;
}

/** `1151125` → `115/11/25`. */
export function showDate(v: string | null): string {
  if (!v) return '';
  const m = /^(-?\d{2,3})(\d{2})(\d{2})$/.exec(v);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : v;
}

/** `1-檢體檢驗報告`, `01-西醫門診`, as the portal shows coded values. */
export function showCode(list: 'h1' | 'h6', v: string | null): string {
  if (!v) return '';
  const label = codeLabel(list, v);
  return label ? `${v}-${label}` : v;
}

/** A summary as the cells under {@link LISTING_HEADINGS}. */
export function listingCells(s: DraftSummary): string[] {
  return [
    String(s.id),
    showYearMonth(s.h4),
    showDateTime(s.h5),
    showCode('h1', s.h1),
    showCode('h6', s.h6),
    s.h7 ?? '',
    s.h9 ?? '',
    s.h15 ?? '',
    s.receiptNo ?? '',
    s.statusText + (s.status === 'draft' && s.errorCount ? ` (${s.errorCount} 錯誤)` : ''),
  ];
}

/** `--status` values: `all` or a status, by its English name or 資料處理狀態. */
export function parseStatusFilter(value: string | undefined): DraftStatus[] | undefined {
  if (value === undefined || value === 'all' || value === '全部') return undefined;
  const wanted: DraftStatus[] = [];
  for (const part of value.split(',')) {
    const p = part.trim();
    const s = (DRAFT_STATUSES as readonly string[]).includes(p) ? (p as DraftStatus) : DRAFT_STATUSES.find((k) => DRAFT_STATUS_TEXT[k] === p);
    if (!s) throw usageError('BAD_STATUS', `--status ${p}: not a 資料處理狀態`, { hint: 'Use all, draft (暫存), checking (檢核中), passed (檢核正確) or failed (檢核錯誤); several with commas.' });
    wanted.push(s);
  }
  return wanted;
}

/** Sort keys users type → summary fields. */
export const SORT_FIELDS: Record<string, keyof DraftSummary> = {
  id: 'id',
  created: 'createdAt',
  updated: 'updatedAt',
  h4: 'h4',
  h5: 'h5',
  h15: 'h15',
  receipt: 'receiptNo',
  status: 'status',
};

export interface DraftQuery {
  /** `all` (default) or statuses, see {@link parseStatusFilter}. */
  status?: string;
  /** 資料建立日期 range (ROC `YYY/MM/DD`, `YYYMMDD`, ISO). */
  from?: string;
  to?: string;
  /** Days the default window covers when `from` is absent (the portal: 2). `null`: no date window. */
  defaultDays?: number | null;
  page?: string | number;
  pageSize?: string | number;
  sort?: string;
  /** The order without `sort` (default newest first, as the portal lists). */
  defaultSort?: { sort: keyof DraftSummary; order: 'asc' | 'desc' };
  showIds?: boolean;
}

export interface DraftQueryResult {
  /** 資料建立日期 from/to as the portal shows them (`115/11/24`), or null without a window. */
  from: string | null;
  to: string | null;
  statuses: DraftStatus[] | null;
  sort: string;
  order: 'asc' | 'desc';
  page: Page<DraftSummary>;
}

const iso = (d: CalendarDate) => `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;

/** Drafts by 資料建立日期 and 資料處理狀態, one page of them. */
export function queryDrafts(store: Store, q: DraftQuery, clock: Clock): DraftQueryResult {
  return queryDraftPage(store, q, clock).result;
}

/** {@link queryDrafts}, and the drafts of the page themselves (for a screen that shows more than their summaries). */
export function queryDraftPage(store: Store, q: DraftQuery, clock: Clock): { result: DraftQueryResult; drafts: Draft[] } {
  const statuses = parseStatusFilter(q.status);
  const days = q.defaultDays === undefined ? 2 : q.defaultDays;
  const range = q.from !== undefined || q.to !== undefined || days !== null ? parseDateRange(q.from, q.to, days ?? 2, clock) : null;
  const req = parsePageRequest({ ...(q.page !== undefined ? { page: q.page } : {}), ...(q.pageSize !== undefined ? { pageSize: q.pageSize } : {}), ...(q.sort !== undefined ? { sort: q.sort } : {}) }, SORT_FIELDS as Record<string, string>, q.defaultSort ?? {
    sort: 'createdAt',
    order: 'desc',
  });
  const drafts = listDrafts(store, {
    ...(statuses ? { statuses } : {}),
    ...(range ? { createdFrom: iso(range.from), createdTo: iso(range.to) } : {}),
  });
  const rows = drafts.map((d) => summarise(d, q.showIds === true));
  // Ties (same creation second) keep the newest draft first when sorting newest first.
  const sorted = sortBy(req.order === 'desc' ? rows.reverse() : rows, req.sort as keyof DraftSummary, req.order);
  const page = paginate(sorted, req);
  const byId = new Map(drafts.map((d) => [d.id, d]));
  return {
    result: {
      from: range ? formatRocSlashed(range.from) : null,
      to: range ? formatRocSlashed(range.to) : null,
      statuses: statuses ?? null,
      sort: req.sort,
      order: req.order,
      page,
    },
    drafts: page.items.map((s) => byId.get(s.id)!),
  };
}

/** The first day of the upload list's window: 近一年內 (the last year, Asia/Taipei). */
export function uploadWindowStart(clock: Clock): CalendarDate {
  return addDays(taipeiToday(clock.now()), -365);
}

export { iso as isoDate };
