/**
 * `history`: what was uploaded when, with which 收件序號 and final 處理狀態 — every submission in the
 * journal (by `labup daily` or `labup upload`), with the daily run that made it, and the daily runs
 * that sent nothing (refused locally, no data, stopped before sending). Filtered by 上傳日期, paged
 * and sorted with the conventions of every listing (src/query.ts).
 */
import type { Clock } from '../clock.js';
import { formatRocDate, formatRocSlashed, rocSlashed } from '../format/roc.js';
import { paginate, parseDateRange, parsePageRequest, sortBy, type Page } from '../query.js';
import type { Store } from '../store/store.js';
import { listJournal, type JournalState } from '../store/journal.js';
import type { SubmissionStatus } from '../transport/portal-client.js';
import { listRuns, type RunOutcome, type RunRecord } from './run-store.js';

export interface HistoryItem {
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string;
  /** 傳送時間 (ISO 8601, +08:00); for a run that sent nothing, when it started. */
  at: string;
  /** 收件序號; null when nothing was sent. */
  receiptNo: string | null;
  /** The journal's state of the sending: `sent`, `sending` (answer not received), `refused`; null when nothing was sent. */
  sendState: JournalState | null;
  status: SubmissionStatus | null;
  /** 處理狀態, or what happened to a run that sent nothing. */
  statusText: string;
  errorCount: number | null;
  checkedAt: string | null;
  /** The ZIP sent. */
  fileName: string | null;
  institutionCode: string | null;
  portal: string;
  /** The daily run behind it; null for `labup upload`. */
  run: { id: number; inputs: string[]; outcome: RunOutcome | null; state: string; report: string | null; failure: string | null } | null;
}

export interface HistoryOptions {
  from?: string;
  to?: string;
  page?: string | number;
  pageSize?: string | number;
  sort?: string;
  clock: Clock;
}

export interface HistoryResult extends Page<HistoryItem> {
  /** The 上傳日期 window, `YYY/MM/DD`. */
  from: string;
  to: string;
  sort: string;
  order: 'asc' | 'desc';
}

/** Days shown without --from: a month. */
export const HISTORY_DEFAULT_DAYS = 30;

export const HISTORY_SORT_FIELDS: Record<string, keyof HistoryItem> = {
  date: 'uploadDate',
  time: 'at',
  sent: 'at',
  receipt: 'receiptNo',
  status: 'statusText',
};

const OUTCOME_TEXT: Record<RunOutcome, string> = {
  passed: '檢核正確',
  failed: '檢核錯誤',
  refused: '未上傳 (errors found locally)',
  empty: '未上傳 (no data rows)',
  pending: '檢核中',
  error: '未上傳 (stopped)',
};

function runRef(r: RunRecord): NonNullable<HistoryItem['run']> {
  return {
    id: r.id,
    inputs: r.inputs.map((i) => i.given),
    outcome: r.outcome,
    state: r.state,
    report: r.reportPath,
    failure: r.failure ? `[${r.failure.code}] ${r.failure.message}` : null,
  };
}

export function history(store: Store, o: HistoryOptions): HistoryResult {
  const range = parseDateRange(o.from, o.to, HISTORY_DEFAULT_DAYS, o.clock);
  const req = parsePageRequest({ ...(o.page !== undefined ? { page: o.page } : {}), ...(o.pageSize !== undefined ? { pageSize: o.pageSize } : {}), ...(o.sort ? { sort: o.sort } : {}) }, HISTORY_SORT_FIELDS, {
    sort: 'at',
    order: 'desc',
  });
  const q = { uploadDateFrom: formatRocDate(range.from), uploadDateTo: formatRocDate(range.to) };
  const runs = listRuns(store, q);
  const byReceipt = new Map<string, RunRecord>();
  const byZip = new Map<string, RunRecord>();
  for (const r of runs) {
    if (r.receiptNo) byReceipt.set(`${r.portal}|${r.receiptNo}`, r);
    if (r.zipSha256) byZip.set(`${r.portal}|${r.zipSha256}`, r);
  }
  const shown = new Set<number>();
  const items: HistoryItem[] = [];
  for (const e of listJournal(store, q)) {
    // By 收件序號; a sending the portal never answered is found by the ZIP's hash.
    const r = (e.receiptNo ? byReceipt.get(`${e.portal}|${e.receiptNo}`) : undefined) ?? byZip.get(`${e.portal}|${e.contentSha256}`);
    if (r) shown.add(r.id);
    items.push({
      uploadDate: rocSlashed(e.uploadDate),
      at: e.sentAt ?? e.createdAt,
      receiptNo: e.receiptNo,
      sendState: e.state,
      status: e.status,
      statusText: e.statusText ?? (e.state === 'sending' ? '傳送中 (no answer yet)' : e.state === 'refused' ? '未收件 (refused)' : '?'),
      errorCount: e.errorCount,
      checkedAt: e.checkedAt,
      fileName: e.fileName,
      institutionCode: e.institutionCode,
      portal: e.portal,
      run: r ? runRef(r) : null,
    });
  }
  for (const r of runs) {
    if (shown.has(r.id)) continue;
    items.push({
      uploadDate: rocSlashed(r.uploadDate),
      at: r.startedAt,
      receiptNo: r.receiptNo,
      sendState: null,
      status: r.status,
      statusText: r.statusText ?? (r.outcome ? OUTCOME_TEXT[r.outcome] : r.state === 'running' ? '進行中 (running or interrupted)' : '?'),
      errorCount: r.errorCount,
      checkedAt: null,
      fileName: null,
      institutionCode: null,
      portal: r.portal,
      run: runRef(r),
    });
  }
  const sorted = sortBy(items, req.sort as keyof HistoryItem, req.order);
  return { ...paginate(sorted, req), from: formatRocSlashed(range.from), to: formatRocSlashed(range.to), sort: req.sort, order: req.order };
}
