/**
 * The submission journal: every upload is written down before it is sent (state `sending`, with
 * its idempotency key and content hash) and again once the portal answered (收件序號, 傳送時間),
 * and each 處理狀態 learned later is recorded. A process that dies mid-upload leaves a `sending`
 * entry; the next run re-sends with the same key and gets the same 收件序號.
 */
import type { Clock } from '../clock.js';
import { taipeiIso } from '../clock.js';
import type { SubmissionStatus } from '../transport/portal-client.js';
import type { Store } from './store.js';

export type JournalState = 'sending' | 'sent' | 'refused';

/**
 * How the 收件序號 was learned: the portal's answer to the upload, its answer to a re-sent upload it
 * already had (a replay of the idempotency key), or — after a try whose answer was lost — found
 * among the portal's submissions by the ZIP's content hash and adopted instead of sending again.
 */
export type ConfirmedBy = 'answer' | 'replay' | 'adopted';

export interface JournalEntry {
  id: number;
  /** The portal's identity (its base URL, or `sandbox:<folder>`). */
  portal: string;
  /** 醫事機構代碼 of the signing card, when known. */
  institutionCode: string | null;
  /** 上傳日期, ROC YYYMMDD. */
  uploadDate: string;
  /** Absolute path of the ZIP that was sent. */
  file: string;
  fileName: string;
  size: number;
  contentSha256: string;
  idempotencyKey: string;
  state: JournalState;
  /** 收件序號. */
  receiptNo: string | null;
  /** 傳送時間, ISO 8601 (+08:00). */
  sentAt: string | null;
  /** 處理狀態 as last learned. */
  status: SubmissionStatus | null;
  statusText: string | null;
  checkedAt: string | null;
  errorCount: number | null;
  /** Code of the last failure to send (a refusal or a network error). */
  lastError: string | null;
  /** How many times the upload was attempted. */
  attempts: number;
  /** How the 收件序號 was learned (null before it was, and for entries older than this field). */
  confirmedBy: ConfirmedBy | null;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: number;
  portal: string;
  institution_code: string | null;
  upload_date: string;
  file: string;
  file_name: string;
  size: number;
  content_sha256: string;
  idempotency_key: string;
  state: JournalState;
  receipt_no: string | null;
  sent_at: string | null;
  status: SubmissionStatus | null;
  status_text: string | null;
  checked_at: string | null;
  error_count: number | null;
  last_error: string | null;
  attempts: number;
  confirmed_by: ConfirmedBy | null;
  created_at: string;
  updated_at: string;
}

function toEntry(r: Row): JournalEntry {
  return {
    id: r.id,
    portal: r.portal,
    institutionCode: r.institution_code,
    uploadDate: r.upload_date,
    file: r.file,
    fileName: r.file_name,
    size: r.size,
    contentSha256: r.content_sha256,
    idempotencyKey: r.idempotency_key,
    state: r.state,
    receiptNo: r.receipt_no,
    sentAt: r.sent_at,
    status: r.status,
    statusText: r.status_text,
    checkedAt: r.checked_at,
    errorCount: r.error_count,
    lastError: r.last_error,
    attempts: r.attempts,
    confirmedBy: r.confirmed_by ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface BeginSubmission {
  portal: string;
  institutionCode: string | null;
  uploadDate: string;
  file: string;
  fileName: string;
  size: number;
  contentSha256: string;
  idempotencyKey: string;
}

/**
 * Writes the entry before sending, or returns the one a previous run wrote for the same portal and
 * idempotency key (a `refused` one goes back to `sending`: the file is being sent again).
 */
export function journalBegin(store: Store, input: BeginSubmission, clock: Clock): JournalEntry {
  const now = taipeiIso(clock.now());
  const db = store.db;
  return db
    .transaction(() => {
      const existing = db.prepare('SELECT * FROM submissions WHERE portal = ? AND idempotency_key = ?').get(input.portal, input.idempotencyKey) as Row | undefined;
      if (existing) {
        db.prepare(
          `UPDATE submissions SET state = CASE state WHEN 'refused' THEN 'sending' ELSE state END, file = ?, institution_code = COALESCE(institution_code, ?), updated_at = ? WHERE id = ?`,
        ).run(input.file, input.institutionCode, now, existing.id);
        return toEntry(db.prepare('SELECT * FROM submissions WHERE id = ?').get(existing.id) as Row);
      }
      const info = db
        .prepare(
          `INSERT INTO submissions (portal, institution_code, upload_date, file, file_name, size, content_sha256, idempotency_key, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?)`,
        )
        .run(input.portal, input.institutionCode, input.uploadDate, input.file, input.fileName, input.size, input.contentSha256, input.idempotencyKey, now, now);
      return toEntry(db.prepare('SELECT * FROM submissions WHERE id = ?').get(info.lastInsertRowid) as Row);
    })
    .immediate();
}

/** Counts one attempt to send (before the request goes out). */
export function journalAttempt(store: Store, id: number, clock: Clock): void {
  store.db.prepare('UPDATE submissions SET attempts = attempts + 1, updated_at = ? WHERE id = ?').run(taipeiIso(clock.now()), id);
}

export interface SentFacts {
  receiptNo: string;
  sentAt: string;
  status: SubmissionStatus;
  statusText: string;
  institutionCode?: string | null;
  /** How the 收件序號 was learned (default `answer`). */
  confirmedBy?: ConfirmedBy;
}

/**
 * Records the portal's answer: 收件序號, 傳送時間 and the first 處理狀態. An adopted submission keeps
 * the code of the failure that made its outcome unknown in `lastError`, as the record of why.
 */
export function journalMarkSent(store: Store, id: number, facts: SentFacts, clock: Clock): JournalEntry {
  const db = store.db;
  const how = facts.confirmedBy ?? 'answer';
  db.prepare(
    `UPDATE submissions SET state = 'sent', receipt_no = ?, sent_at = ?, status = COALESCE(status, ?), status_text = COALESCE(status_text, ?),
       institution_code = COALESCE(?, institution_code), confirmed_by = ?, last_error = CASE WHEN ? = 'adopted' THEN last_error ELSE NULL END, updated_at = ? WHERE id = ?`,
  ).run(facts.receiptNo, facts.sentAt, facts.status, facts.statusText, facts.institutionCode ?? null, how, how, taipeiIso(clock.now()), id);
  return toEntry(db.prepare('SELECT * FROM submissions WHERE id = ?').get(id) as Row);
}

/**
 * Records a failure to send. `refused` means the portal answered with a definite refusal (nothing
 * was received); otherwise the entry stays `sending`, since the portal may have received it.
 */
export function journalMarkFailed(store: Store, id: number, code: string, refused: boolean, clock: Clock): void {
  store.db
    .prepare(`UPDATE submissions SET state = CASE WHEN ? AND state = 'sending' THEN 'refused' ELSE state END, last_error = ?, updated_at = ? WHERE id = ?`)
    .run(refused ? 1 : 0, code, taipeiIso(clock.now()), id);
}

export interface StatusFacts {
  receiptNo: string;
  status: SubmissionStatus;
  statusText: string;
  checkedAt?: string | null;
  errorCount?: number | null;
}

/** Records a 處理狀態 learned from the portal (for receipts this journal knows; others are ignored). */
export function journalUpdateStatus(store: Store, portal: string, facts: StatusFacts, clock: Clock): boolean {
  const r = store.db
    .prepare(
      `UPDATE submissions SET status = ?, status_text = ?, checked_at = COALESCE(?, checked_at), error_count = COALESCE(?, error_count), updated_at = ?
       WHERE portal = ? AND receipt_no = ?`,
    )
    .run(facts.status, facts.statusText, facts.checkedAt ?? null, facts.errorCount ?? null, taipeiIso(clock.now()), portal, facts.receiptNo);
  return r.changes > 0;
}

export function findJournalEntry(store: Store, portal: string, idempotencyKey: string): JournalEntry | undefined {
  const r = store.db.prepare('SELECT * FROM submissions WHERE portal = ? AND idempotency_key = ?').get(portal, idempotencyKey) as Row | undefined;
  return r ? toEntry(r) : undefined;
}

export function findJournalByReceipt(store: Store, portal: string, receiptNo: string): JournalEntry | undefined {
  const r = store.db.prepare('SELECT * FROM submissions WHERE portal = ? AND receipt_no = ?').get(portal, receiptNo) as Row | undefined;
  return r ? toEntry(r) : undefined;
}

export interface JournalQuery {
  portal?: string;
  states?: JournalState[];
  statuses?: SubmissionStatus[];
  /** 上傳日期 from (ROC YYYMMDD, inclusive). */
  uploadDateFrom?: string;
  uploadDateTo?: string;
  limit?: number;
}

/** Journal entries, newest first. */
export function listJournal(store: Store, q: JournalQuery = {}): JournalEntry[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.portal) {
    where.push('portal = ?');
    args.push(q.portal);
  }
  if (q.states?.length) {
    where.push(`state IN (${q.states.map(() => '?').join(',')})`);
    args.push(...q.states);
  }
  if (q.statuses?.length) {
    where.push(`status IN (${q.statuses.map(() => '?').join(',')})`);
    args.push(...q.statuses);
  }
  if (q.uploadDateFrom) {
    where.push('upload_date >= ?');
    args.push(q.uploadDateFrom);
  }
  if (q.uploadDateTo) {
    where.push('upload_date <= ?');
    args.push(q.uploadDateTo);
  }
  const sql = `SELECT * FROM submissions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC ${q.limit ? 'LIMIT ' + Math.max(1, Math.floor(q.limit)) : ''}`;
  return (store.db.prepare(sql).all(...args) as Row[]).map(toEntry);
}

export interface DownloadRecord {
  portal: string;
  fileId: string;
  name: string;
  receiptNo: string | null;
  /** SHA-256 of the file's content as the portal lists it (the check file itself, not the ZIP around it). */
  contentSha256: string | null;
  encrypted: boolean;
  path: string;
  downloadedAt: string;
}

export function recordDownload(store: Store, d: Omit<DownloadRecord, 'downloadedAt'>, clock: Clock): void {
  store.db
    .prepare(
      `INSERT INTO downloads (portal, file_id, name, receipt_no, content_sha256, encrypted, path, downloaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (portal, file_id, encrypted) DO UPDATE SET name = excluded.name, receipt_no = excluded.receipt_no, content_sha256 = excluded.content_sha256,
         path = excluded.path, downloaded_at = excluded.downloaded_at`,
    )
    .run(d.portal, d.fileId, d.name, d.receiptNo, d.contentSha256, d.encrypted ? 1 : 0, d.path, taipeiIso(clock.now()));
}

export function findDownload(store: Store, portal: string, fileId: string, encrypted: boolean): DownloadRecord | undefined {
  const r = store.db.prepare('SELECT * FROM downloads WHERE portal = ? AND file_id = ? AND encrypted = ?').get(portal, fileId, encrypted ? 1 : 0) as
    | { portal: string; file_id: string; name: string; receipt_no: string | null; content_sha256: string | null; encrypted: number; path: string; downloaded_at: string }
    | undefined;
  if (!r) return undefined;
  return { portal: r.portal, fileId: r.file_id, name: r.name, receiptNo: r.receipt_no, contentSha256: r.content_sha256, encrypted: r.encrypted === 1, path: r.path, downloadedAt: r.downloaded_at };
}
