/**
 * The portal's queries, with its defaults: status by 收件序號 or by 上傳日期 range (without either:
 * data created today or yesterday), and related files by 上傳日期 range and a 提供下載日期 window
 * (default within 7 days, sorted by 提供下載日期), both paged.
 */
import { addDays, taipeiIso, type Clock } from '../clock.js';
import { formatRocDate, formatRocSlashed, parseUserDate, rocSlashed, taipeiToday } from '../format/roc.js';
import { fromTaipei, taipeiDisplay } from '../clock.js';
import { STATUS_TEXT } from '../transport/portal-client.js';
import { badRequest } from './api-error.js';
import type { Db, FileRow, SubmissionRow } from './state.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_WITHIN_DAYS = 7;

export interface Paging {
  page: number;
  pageSize: number;
}

export function parsePaging(q: URLSearchParams): Paging {
  const page = intParam(q, 'page', 1, 1, 1_000_000);
  const pageSize = intParam(q, 'pageSize', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  return { page, pageSize };
}

function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badRequest('BAD_QUERY', `${name} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

/** A date parameter as ROC YYYMMDD: accepts `YYY/MM/DD`, `YYYMMDD` and ISO `YYYY-MM-DD`. */
export function dateParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const d = parseUserDate(v);
  if (!d) throw badRequest('BAD_QUERY', `${name} “${v.slice(0, 20)}” is not a date`, 'Write dates as YYY/MM/DD, YYYMMDD or YYYY-MM-DD.');
  return formatRocDate(d);
}

export interface SubmissionJson {
  receiptNo: string;
  uploadDate: string;
  sentAt: string;
  /** 傳送時間 as the portal shows it: `2026-11-25 14:14:08`. */
  sentAtText: string;
  status: SubmissionRow['status'];
  statusText: string;
  fileName: string;
  size: number;
  contentSha256: string;
  checkedAt: string | null;
  counts: { hdata: number; rdata: number } | null;
  errorCount: number | null;
  files: Array<{ id: string; name: string }>;
}

export function submissionJson(db: Db, row: SubmissionRow, now: number): SubmissionJson {
  const files = row.status === 'checking' ? [] : (db.prepare("SELECT id, name FROM files WHERE submission_id = ? AND state = 'available' AND expires_at > ? ORDER BY provided_at").all(row.id, now) as Array<{ id: string; name: string }>);
  return {
    receiptNo: row.receipt_no,
    uploadDate: rocSlashed(row.upload_date),
    sentAt: taipeiIso(new Date(row.sent_at)),
    sentAtText: taipeiDisplay(new Date(row.sent_at)),
    status: row.status,
    statusText: STATUS_TEXT[row.status],
    fileName: row.file_name,
    size: row.size,
    contentSha256: row.content_sha256,
    checkedAt: row.checked_at === null ? null : taipeiIso(new Date(row.checked_at)),
    counts: row.hdata_count === null ? null : { hdata: row.hdata_count, rdata: row.rdata_count ?? 0 },
    errorCount: row.error_count,
    files,
  };
}

export interface PageJson<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
  totalPages: number;
}

const SUBMISSION_SORT: Record<string, string> = { sentAt: 'sent_at', receiptNo: 'receipt_no', uploadDate: 'upload_date' };
const FILE_SORT: Record<string, string> = { providedAt: 'provided_at', uploadDate: 'upload_date', name: 'name', receiptNo: 'receipt_no' };

/** A listing's `sort` (one of `allowed`'s keys, naming its column) and `order` (default desc). */
export function sortParam(q: URLSearchParams, allowed: Record<string, string>, dflt: string): { sort: string; column: string; order: 'asc' | 'desc' } {
  const sort = q.get('sort') ?? dflt;
  const column = allowed[sort];
  if (!column) throw badRequest('BAD_QUERY', `sort must be one of ${Object.keys(allowed).join(', ')}`);
  const order = (q.get('order') ?? 'desc').toLowerCase();
  if (order !== 'asc' && order !== 'desc') throw badRequest('BAD_QUERY', 'order must be asc or desc');
  return { sort, column, order };
}

/** Start of a Taipei calendar day, epoch ms. */
function dayStart(d: { year: number; month: number; day: number }): number {
  return fromTaipei(d.year, d.month, d.day).getTime();
}

export function listSubmissions(db: Db, institutionCode: string, q: URLSearchParams, clock: Clock): PageJson<SubmissionJson> & { criteria: Record<string, unknown> } {
  const now = clock.now().getTime();
  const receipts = q.getAll('receiptNo').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const r of receipts) if (!/^\d{13}$/.test(r)) throw badRequest('BAD_QUERY', `receiptNo “${r.slice(0, 20)}” is not a 13-digit 收件序號`);
  const from = dateParam(q, 'from');
  const to = dateParam(q, 'to');
  const sha = q.get('contentSha256');
  if (sha !== null && !/^[0-9a-fA-F]{64}$/.test(sha)) throw badRequest('BAD_QUERY', 'contentSha256 must be 64 hex digits');
  const status = q.get('status');
  if (status !== null && !['checking', 'passed', 'failed'].includes(status)) throw badRequest('BAD_QUERY', 'status must be checking, passed or failed');
  const where = ['institution_code = ?'];
  const args: unknown[] = [institutionCode];
  const criteria: Record<string, unknown> = {};
  if (receipts.length) {
    where.push(`receipt_no IN (${receipts.map(() => '?').join(',')})`);
    args.push(...receipts);
    criteria.receiptNos = receipts;
  }
  if (from) {
    where.push('upload_date >= ?');
    args.push(from);
    criteria.uploadDateFrom = rocSlashed(from);
  }
  if (to) {
    where.push('upload_date <= ?');
    args.push(to);
    criteria.uploadDateTo = rocSlashed(to);
  }
  if (!receipts.length && !from && !to && sha === null) {
    // The portal's default: data created in the last two days (yesterday and today).
    const since = dayStart(addDays(taipeiToday(new Date(now)), -1));
    where.push('sent_at >= ?');
    args.push(since);
    criteria.sentSince = taipeiIso(new Date(since));
  }
  if (sha !== null) {
    where.push('content_sha256 = ?');
    args.push(sha.toLowerCase());
    criteria.contentSha256 = sha.toLowerCase();
  }
  if (status !== null) {
    where.push('status = ?');
    args.push(status);
    criteria.status = status;
  }
  const { column, order } = sortParam(q, SUBMISSION_SORT, 'sentAt');
  const { page, pageSize } = parsePaging(q);
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM submissions WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
  const rows = db.prepare(`SELECT * FROM submissions WHERE ${where.join(' AND ')} ORDER BY ${column} ${order}, id ${order} LIMIT ? OFFSET ?`).all(...args, pageSize, (page - 1) * pageSize) as SubmissionRow[];
  return { items: rows.map((r) => submissionJson(db, r, now)), page, pageSize, total, totalPages: Math.ceil(total / pageSize), criteria };
}

export interface FileJson {
  id: string;
  name: string;
  receiptNo: string;
  uploadDate: string;
  remark: string;
  providedAt: string;
  /** 提供下載日期 as the portal shows it: `115/11/25 14:16`. */
  providedAtText: string;
  expiresAt: string;
  size: number;
  sha256: string;
}

export function fileJson(row: FileRow): FileJson {
  const at = new Date(row.provided_at);
  const p = taipeiDisplay(at);
  return {
    id: row.id,
    name: row.name,
    receiptNo: row.receipt_no,
    uploadDate: rocSlashed(row.upload_date),
    remark: row.remark,
    providedAt: taipeiIso(at),
    providedAtText: `${formatRocSlashed(taipeiToday(at))} ${p.slice(11, 16)}`,
    expiresAt: taipeiIso(new Date(row.expires_at)),
    size: row.size,
    sha256: row.sha256,
  };
}

export function listFiles(db: Db, institutionCode: string, q: URLSearchParams, clock: Clock, retentionDays: number): PageJson<FileJson> & { criteria: Record<string, unknown> } {
  const now = clock.now().getTime();
  const from = dateParam(q, 'from');
  const to = dateParam(q, 'to');
  const receiptNo = q.get('receiptNo');
  if (receiptNo !== null && !/^\d{13}$/.test(receiptNo)) throw badRequest('BAD_QUERY', `receiptNo “${receiptNo.slice(0, 20)}” is not a 13-digit 收件序號`);
  const within = intParam(q, 'within', DEFAULT_WITHIN_DAYS, 1, retentionDays);
  const where = ['institution_code = ?', "state = 'available'", 'expires_at > ?', 'provided_at >= ?'];
  const args: unknown[] = [institutionCode, now, now - within * 86_400_000];
  const criteria: Record<string, unknown> = { withinDays: within };
  if (receiptNo) {
    where.push('receipt_no = ?');
    args.push(receiptNo);
    criteria.receiptNo = receiptNo;
  }
  if (from) {
    where.push('upload_date >= ?');
    args.push(from);
    criteria.uploadDateFrom = rocSlashed(from);
  }
  if (to) {
    where.push('upload_date <= ?');
    args.push(to);
    criteria.uploadDateTo = rocSlashed(to);
  }
  const { column, order } = sortParam(q, FILE_SORT, 'providedAt');
  const { page, pageSize } = parsePaging(q);
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM files WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
  const rows = db.prepare(`SELECT * FROM files WHERE ${where.join(' AND ')} ORDER BY ${column} ${order}, id ${order} LIMIT ? OFFSET ?`).all(...args, pageSize, (page - 1) * pageSize) as FileRow[];
  return { items: rows.map(fileJson), page, pageSize, total, totalPages: Math.ceil(total / pageSize), criteria };
}

