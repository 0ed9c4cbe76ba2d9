/**
 * `status`: 處理狀態 of submissions by 收件序號 or by 上傳日期 range (the portal's default: created
 * today or yesterday), one page of the portal's listing (newest first by default), recorded in the
 * journal; with `wait`, polled with backoff until every one shown is final (檢核正確 or 檢核錯誤) or
 * the timeout passes.
 */
import type { Clock } from '../clock.js';
import { usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { formatRocDate, parseUserDate } from '../format/roc.js';
import { paginate, sortBy, type PageRequest } from '../query.js';
import type { Store } from '../store/store.js';
import { journalUpdateStatus } from '../store/journal.js';
import { pollUntilDone, type PollOptions } from './poll.js';
import { pagingOf, walkPages, type PortalClient, type Submission, type SubmissionStatus } from './portal-client.js';

export interface StatusOptions extends PollOptions {
  client: PortalClient;
  receipts?: string[];
  /** 上傳日期 range (ROC `YYY/MM/DD`, `YYYMMDD`, or ISO). */
  from?: string;
  to?: string;
  /**
   * Paging and order of the listing (default page 1 of 20, 傳送時間 newest first). Given 收件序號
   * are all shown in the order given unless a page or an order is asked for.
   */
  page?: Partial<PageRequest>;
  wait?: boolean;
  store?: Store;
  clock: Clock;
  host?: IoHost;
}

export interface ReceiptStatus {
  receiptNo: string;
  uploadDate: string;
  status: SubmissionStatus;
  statusText: string;
  sentAt: string;
  checkedAt: string | null;
  fileName: string;
  errorCount: number | null;
  counts: { hdata: number; rdata: number } | null;
  files: Array<{ id: string; name: string }>;
}

export interface StatusReport {
  receipts: ReceiptStatus[];
  paging: { page: number; pageSize: number; total: number; totalPages: number; sort: string; order: 'asc' | 'desc' };
  /** The filters applied, the portal's default window included (`sentSince`: created since yesterday 00:00). */
  criteria: Record<string, unknown>;
  counts: { checking: number; passed: number; failed: number };
  /** `wait` ended with receipts still 檢核中. */
  timedOut: boolean;
}

function dateArg(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const d = parseUserDate(value);
  if (!d) throw usageError('BAD_DATE', `${what} “${value}” is not a date`, { hint: 'Write ROC YYY/MM/DD or YYYMMDD (e.g. 115/11/25), or ISO YYYY-MM-DD.' });
  return formatRocDate(d);
}

function toReceipt(s: Submission): ReceiptStatus {
  return {
    receiptNo: s.receiptNo,
    uploadDate: s.uploadDate,
    status: s.status,
    statusText: s.statusText,
    sentAt: s.sentAt,
    checkedAt: s.checkedAt,
    fileName: s.fileName,
    errorCount: s.errorCount,
    counts: s.counts,
    files: s.files,
  };
}

async function fetchAll(client: PortalClient, q: Parameters<PortalClient['listSubmissions']>[0]): Promise<Submission[]> {
  return (await walkPages((page) => client.listSubmissions({ ...q, page, pageSize: 100 }))).items;
}

async function byReceipts(o: StatusOptions, receipts: string[]): Promise<Submission[]> {
  const found: Submission[] = [];
  for (let i = 0; i < receipts.length; i += 100) found.push(...(await fetchAll(o.client, { receiptNos: receipts.slice(i, i + 100) })));
  const missing = receipts.filter((r) => !found.some((s) => s.receiptNo === r));
  if (missing.length) {
    throw usageError('RECEIPT_NOT_FOUND', `the portal has no submission ${missing.join(', ')} for this institution`, { hint: 'Check the 收件序號 (labup status without arguments lists the last two days).' });
  }
  return receipts.map((r) => found.find((s) => s.receiptNo === r)!);
}

type Listing = { list: Submission[]; paging: StatusReport['paging']; criteria: Record<string, unknown> };

async function query(o: StatusOptions): Promise<Listing> {
  const sort = o.page?.sort ?? 'sentAt';
  const order = o.page?.order ?? 'desc';
  if (o.receipts?.length) {
    const receipts = [...new Set(o.receipts)];
    let list = await byReceipts(o, receipts);
    if (o.page?.sort !== undefined) list = sortBy(list, sort as keyof Submission, order);
    const pageSize = o.page?.page !== undefined || o.page?.pageSize !== undefined ? (o.page.pageSize ?? 20) : Math.max(1, list.length);
    const p = paginate(list, { page: o.page?.page ?? 1, pageSize });
    return { list: p.items, paging: { page: p.page, pageSize: p.pageSize, total: p.total, totalPages: p.pages, sort, order }, criteria: { receiptNos: receipts } };
  }
  const from = dateArg(o.from, '--from');
  const to = dateArg(o.to, '--to');
  const p = await o.client.listSubmissions({
    ...(from ? { uploadDateFrom: from } : {}),
    ...(to ? { uploadDateTo: to } : {}),
    sort: sort as NonNullable<Parameters<PortalClient['listSubmissions']>[0]>['sort'],
    order,
    page: o.page?.page ?? 1,
    pageSize: o.page?.pageSize ?? 20,
  });
  return { list: p.items, paging: pagingOf(p, sort, order), criteria: p.criteria ?? {} };
}

export async function checkStatus(o: StatusOptions): Promise<StatusReport> {
  for (const r of o.receipts ?? []) {
    if (!/^\d{13}$/.test(r)) throw usageError('BAD_RECEIPT', `“${r}” is not a 收件序號 (13 digits: ROC date + daily number)`, { hint: 'e.g. 1151125000001' });
  }
  const listing = await query(o);
  let list = listing.list;
  record(o, list);
  let timedOut = false;
  if (o.wait) {
    const byReceipt = new Map(list.map((s) => [s.receiptNo, s]));
    const pending = () => [...byReceipt.values()].filter((s) => s.status === 'checking').map((s) => s.receiptNo);
    timedOut = !(await pollUntilDone(
      o,
      () => pending().length,
      (n, pauseMs) => o.host?.notify({ level: 'info', code: 'STATUS_WAITING', message: `${n} submission(s) 檢核中; asking again in ${Math.round(pauseMs / 1000)} s` }),
      async () => {
        const fresh = await byReceipts(o, pending());
        record(o, fresh);
        for (const s of fresh) byReceipt.set(s.receiptNo, s);
      },
    ));
    list = [...byReceipt.values()];
  }
  const receipts = list.map(toReceipt);
  const counts = { checking: 0, passed: 0, failed: 0 };
  for (const r of receipts) counts[r.status]++;
  return { receipts, paging: listing.paging, criteria: listing.criteria, counts, timedOut };
}

function record(o: StatusOptions, list: Submission[]): void {
  if (!o.store) return;
  for (const s of list) journalUpdateStatus(o.store, o.client.id, { receiptNo: s.receiptNo, status: s.status, statusText: s.statusText, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
}
