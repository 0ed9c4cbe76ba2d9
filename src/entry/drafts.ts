/**
 * The draft store (暫存資料): single-record entries kept in the client's SQLite file
 * (`LABUP_HOME/labup.db`, mode 0600 — the user's own data folder), with their status as the portal
 * reports it: 暫存 → uploaded (收件序號) → 檢核中 → 檢核正確 / 檢核錯誤.
 */
import type { Clock } from '../clock.js';
import { taipeiIso } from '../clock.js';
import { usageError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { SubmissionStatus } from '../transport/portal-client.js';
import type { DailyRecord } from './record.js';

/** 資料處理狀態 of a draft. */
export type DraftStatus = 'draft' | SubmissionStatus;

export const DRAFT_STATUSES: readonly DraftStatus[] = ['draft', 'checking', 'passed', 'failed'];

export const DRAFT_STATUS_TEXT: Record<DraftStatus, string> = {
  draft: '暫存',
  checking: '檢核中',
  passed: '檢核正確',
  failed: '檢核錯誤',
};

export interface Draft {
  id: number;
  status: DraftStatus;
  statusText: string;
  record: DailyRecord;
  /** Findings when last saved (errors block upload). */
  errorCount: number;
  warningCount: number;
  /** The upload (batch) the draft went out in, or is about to. */
  uploadId: number | null;
  /** Its hdata position in that upload's XML. */
  position: number | null;
  portal: string | null;
  /** 收件序號 of the upload. */
  receiptNo: string | null;
  /** h16 the draft was uploaded with. */
  h16: string | null;
  /** 傳送時間, ISO 8601 (+08:00). */
  uploadedAt: string | null;
  /** 檢核時間 of its upload, once checked. */
  checkedAt: string | null;
  /** The portal's check file rows on this record (檢核錯誤), explained; null when none were read. */
  portalErrors: PortalError[] | null;
  /** 資料建立日期, ISO 8601 (+08:00). */
  createdAt: string;
  updatedAt: string;
}

/** One row of the portal's check file (檢核結果檔) about a draft, with labup's explanation of its code. */
export interface PortalError {
  /** The item's position, or null for a header field (or the whole file). */
  rdata: number | null;
  field: string | null;
  /** 錯誤代碼: NHIA's (`02`), or `L:<labup finding>`. */
  code: string;
  /** 錯誤說明, as the check file words it. */
  message: string;
  zh: string;
  en: string;
  fix: string;
}

/** A check-file row as one line: `h9 身分證統一編號 #2 [02] 錯誤說明 — English → what to do`. */
export function portalErrorLine(e: PortalError): string {
  const where = [e.field ?? '', e.rdata !== null ? `item #${e.rdata}` : ''].filter(Boolean).join(' ');
  return `${where ? where + ' ' : ''}[${e.code}] ${e.message}${e.en ? ` — ${e.en}` : ''}${e.fix ? ` → ${e.fix}` : ''}`;
}

interface DraftRow {
  id: number;
  status: DraftStatus;
  record: string;
  error_count: number;
  warning_count: number;
  upload_id: number | null;
  position: number | null;
  portal: string | null;
  receipt_no: string | null;
  h16: string | null;
  uploaded_at: string | null;
  checked_at: string | null;
  portal_errors: string | null;
  created_at: string;
  updated_at: string;
}

function toDraft(r: DraftRow): Draft {
  return {
    id: r.id,
    status: r.status,
    statusText: DRAFT_STATUS_TEXT[r.status],
    record: JSON.parse(r.record) as DailyRecord,
    errorCount: r.error_count,
    warningCount: r.warning_count,
    uploadId: r.upload_id,
    position: r.position,
    portal: r.portal,
    receiptNo: r.receipt_no,
    h16: r.h16,
    uploadedAt: r.uploaded_at,
    checkedAt: r.checked_at,
    portalErrors: r.portal_errors ? (JSON.parse(r.portal_errors) as PortalError[]) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Drafts can be edited (and removed) while 暫存 or after 檢核錯誤; 檢核中 and 檢核正確 are read-only. */
export function isEditable(d: Pick<Draft, 'status'>): boolean {
  return d.status === 'draft' || d.status === 'failed';
}

export interface DraftCounts {
  errorCount: number;
  warningCount: number;
}

export function createDraft(store: Store, record: DailyRecord, counts: DraftCounts, clock: Clock): Draft {
  const now = taipeiIso(clock.now());
  const info = store.db
    .prepare(`INSERT INTO drafts (status, record, error_count, warning_count, created_at, updated_at) VALUES ('draft', ?, ?, ?, ?, ?)`)
    .run(JSON.stringify(record), counts.errorCount, counts.warningCount, now, now);
  return getDraft(store, Number(info.lastInsertRowid));
}

export function findDraft(store: Store, id: number): Draft | undefined {
  const r = store.db.prepare('SELECT * FROM drafts WHERE id = ?').get(id) as DraftRow | undefined;
  return r ? toDraft(r) : undefined;
}

export function getDraft(store: Store, id: number): Draft {
  const d = findDraft(store, id);
  if (!d) throw usageError('ENTRY_NOT_FOUND', `there is no draft #${id}`, { hint: 'labup entry list shows the drafts and their numbers.' });
  return d;
}

/** The refusal to change a draft the portal has (檢核中, 檢核正確). */
export function readOnly(d: Draft, what: string) {
  return usageError('ENTRY_READ_ONLY', `draft #${d.id} is ${d.statusText} (收件序號 ${d.receiptNo ?? '—'}): it cannot be ${what}`, {
    hint: d.status === 'checking' ? 'Wait for the portal’s result (labup entry query); a 檢核錯誤 record can then be corrected.' : 'A 檢核正確 record is final; enter a correction as a new record with a later h16 (表七).',
  });
}

/**
 * Saves a new version of a draft. A 檢核錯誤 draft becomes 暫存 again (its next upload carries a
 * later h16, which by 表七 replaces the rejected one); 檢核中 and 檢核正確 are refused.
 */
export function updateDraft(store: Store, id: number, record: DailyRecord, counts: DraftCounts, clock: Clock): Draft {
  const db = store.db;
  return db
    .transaction(() => {
      const d = getDraft(store, id);
      if (!isEditable(d)) throw readOnly(d, 'edited');
      db.prepare(
        `UPDATE drafts SET status = 'draft', record = ?, error_count = ?, warning_count = ?, upload_id = NULL, position = NULL, portal = NULL, receipt_no = NULL,
           h16 = NULL, uploaded_at = NULL, checked_at = NULL, portal_errors = NULL, updated_at = ? WHERE id = ?`,
      ).run(JSON.stringify(record), counts.errorCount, counts.warningCount, taipeiIso(clock.now()), id);
      return getDraft(store, id);
    })
    .immediate();
}

/** Removes drafts; uploaded ones (檢核中, 檢核正確) only with `force`. Unknown ids are an error; nothing is removed then. */
export function removeDrafts(store: Store, ids: number[], o: { force?: boolean } = {}): Draft[] {
  const db = store.db;
  return db
    .transaction(() => {
      const drafts = ids.map((id) => getDraft(store, id));
      if (!o.force) for (const d of drafts) if (!isEditable(d)) throw readOnly(d, 'removed without --force');
      const del = db.prepare('DELETE FROM drafts WHERE id = ?');
      for (const d of drafts) del.run(d.id);
      return drafts;
    })
    .immediate();
}

export interface DraftFilter {
  ids?: number[];
  statuses?: DraftStatus[];
  /** 資料建立日期 from/to, ISO `YYYY-MM-DD` (inclusive, Asia/Taipei). */
  createdFrom?: string;
  createdTo?: string;
  portal?: string;
  receiptNos?: string[];
}

/** Drafts matching the filter, oldest first. */
/** Whether some draft is 檢核中 (its upload's 處理狀態 still to be learnt from the portal). */
export function hasCheckingDrafts(store: Store): boolean {
  return store.db.prepare(`SELECT 1 FROM drafts WHERE status = 'checking' LIMIT 1`).get() !== undefined;
}

export function listDrafts(store: Store, f: DraftFilter = {}): Draft[] {
  const where: string[] = [];
  const args: unknown[] = [];
  const inList = (col: string, values: readonly unknown[]) => {
    where.push(`${col} IN (${values.map(() => '?').join(',')})`);
    args.push(...values);
  };
  if (f.ids) {
    if (f.ids.length === 0) return [];
    inList('id', f.ids);
  }
  if (f.statuses?.length) inList('status', f.statuses);
  if (f.receiptNos) {
    if (f.receiptNos.length === 0) return [];
    inList('receipt_no', f.receiptNos);
  }
  if (f.portal) {
    where.push('portal = ?');
    args.push(f.portal);
  }
  // created_at is ISO 8601 with +08:00, so its first ten characters are the Taipei date.
  if (f.createdFrom) {
    where.push('substr(created_at, 1, 10) >= ?');
    args.push(f.createdFrom);
  }
  if (f.createdTo) {
    where.push('substr(created_at, 1, 10) <= ?');
    args.push(f.createdTo);
  }
  const sql = `SELECT * FROM drafts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id`;
  return (store.db.prepare(sql).all(...args) as DraftRow[]).map(toDraft);
}

// ——— uploads (the batches drafts go out in) ———

export type EntryUploadState = 'built' | 'sent' | 'discarded';

/** One upload of drafts: the ZIP built from them, kept until the portal has it, for idempotent retries. */
export interface EntryUpload {
  id: number;
  portal: string;
  draftIds: number[];
  /** SHA-256 of the drafts' content without h16: the same drafts, unchanged, give the same value. */
  fingerprint: string;
  h16: string;
  /** 上傳日期, ROC YYYMMDD (h16's first seven digits). */
  uploadDate: string;
  file: string;
  fileName: string;
  contentSha256: string;
  state: EntryUploadState;
  receiptNo: string | null;
  status: SubmissionStatus | null;
  errorCount: number | null;
  checkedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

interface UploadRow {
  id: number;
  portal: string;
  draft_ids: string;
  fingerprint: string;
  h16: string;
  upload_date: string;
  file: string;
  file_name: string;
  content_sha256: string;
  state: EntryUploadState;
  receipt_no: string | null;
  status: SubmissionStatus | null;
  error_count: number | null;
  checked_at: string | null;
  created_at: string;
  updated_at: string;
}

function toUpload(r: UploadRow): EntryUpload {
  return {
    id: r.id,
    portal: r.portal,
    draftIds: JSON.parse(r.draft_ids) as number[],
    fingerprint: r.fingerprint,
    h16: r.h16,
    uploadDate: r.upload_date,
    file: r.file,
    fileName: r.file_name,
    contentSha256: r.content_sha256,
    state: r.state,
    receiptNo: r.receipt_no,
    status: r.status,
    errorCount: r.error_count,
    checkedAt: r.checked_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A built upload of exactly these drafts (same order, same content) for this portal, not yet sent. */
export function findPendingUpload(store: Store, portal: string, draftIds: number[], fingerprint: string): EntryUpload | undefined {
  const r = store.db
    .prepare(`SELECT * FROM entry_uploads WHERE portal = ? AND state = 'built' AND draft_ids = ? AND fingerprint = ? ORDER BY id DESC LIMIT 1`)
    .get(portal, JSON.stringify(draftIds), fingerprint) as UploadRow | undefined;
  return r ? toUpload(r) : undefined;
}

export function listUploads(store: Store, f: { states?: EntryUploadState[]; portal?: string } = {}): EntryUpload[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.states?.length) {
    where.push(`state IN (${f.states.map(() => '?').join(',')})`);
    args.push(...f.states);
  }
  if (f.portal) {
    where.push('portal = ?');
    args.push(f.portal);
  }
  return (store.db.prepare(`SELECT * FROM entry_uploads ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id`).all(...args) as UploadRow[]).map(toUpload);
}

export function findUpload(store: Store, id: number): EntryUpload | undefined {
  const r = store.db.prepare('SELECT * FROM entry_uploads WHERE id = ?').get(id) as UploadRow | undefined;
  return r ? toUpload(r) : undefined;
}

export interface NewUpload {
  portal: string;
  draftIds: number[];
  fingerprint: string;
  h16: string;
  uploadDate: string;
  file: string;
  fileName: string;
  contentSha256: string;
}

/** Records a built upload and ties its drafts to it (they stay 暫存 until the portal answers). */
export function recordUpload(store: Store, u: NewUpload, clock: Clock): EntryUpload {
  const db = store.db;
  const now = taipeiIso(clock.now());
  return db
    .transaction(() => {
      const info = db
        .prepare(
          `INSERT INTO entry_uploads (portal, draft_ids, fingerprint, h16, upload_date, file, file_name, content_sha256, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'built', ?, ?)`,
        )
        .run(u.portal, JSON.stringify(u.draftIds), u.fingerprint, u.h16, u.uploadDate, u.file, u.fileName, u.contentSha256, now, now);
      const id = Number(info.lastInsertRowid);
      const link = db.prepare(`UPDATE drafts SET upload_id = ?, position = ? WHERE id = ? AND status = 'draft'`);
      u.draftIds.forEach((d, i) => link.run(id, i + 1, d));
      return findUpload(store, id)!;
    })
    .immediate();
}

export interface SentUpload {
  receiptNo: string;
  sentAt: string;
  status: SubmissionStatus;
}

/** The portal has the upload: its drafts take the 收件序號, the h16 and the first 處理狀態. */
export function markUploadSent(store: Store, uploadId: number, s: SentUpload, clock: Clock): void {
  const db = store.db;
  const now = taipeiIso(clock.now());
  db.transaction(() => {
    const u = findUpload(store, uploadId);
    if (!u) throw new Error(`entry upload ${uploadId} not found`);
    db.prepare(`UPDATE entry_uploads SET state = 'sent', receipt_no = ?, status = ?, updated_at = ? WHERE id = ?`).run(s.receiptNo, s.status, now, uploadId);
    db.prepare(
      `UPDATE drafts SET status = ?, portal = ?, receipt_no = ?, h16 = ?, uploaded_at = ?, updated_at = ? WHERE upload_id = ? AND status = 'draft'`,
    ).run(s.status, u.portal, s.receiptNo, u.h16, s.sentAt, now, uploadId);
  })();
}

/** Forgets a built upload that will not be sent (its drafts changed, or its 上傳日期 passed). */
export function discardUpload(store: Store, uploadId: number, clock: Clock): void {
  const db = store.db;
  db.transaction(() => {
    db.prepare(`UPDATE entry_uploads SET state = 'discarded', updated_at = ? WHERE id = ? AND state = 'built'`).run(taipeiIso(clock.now()), uploadId);
    db.prepare(`UPDATE drafts SET upload_id = NULL, position = NULL WHERE upload_id = ? AND status = 'draft'`).run(uploadId);
  })();
}

export interface UploadStatusFacts {
  receiptNo: string;
  status: SubmissionStatus;
  checkedAt: string | null;
  errorCount: number | null;
}

/**
 * Records a 處理狀態 learned from the portal for every draft of that 收件序號. The portal checks a
 * file as a whole (an upload with an error is rejected entirely), so each of its drafts takes the
 * file's status. Returns the drafts whose status changed.
 */
export function recordUploadStatus(store: Store, portal: string, f: UploadStatusFacts, clock: Clock): number {
  const db = store.db;
  const now = taipeiIso(clock.now());
  return db.transaction(() => {
    db.prepare(`UPDATE entry_uploads SET status = ?, error_count = ?, checked_at = ?, updated_at = ? WHERE portal = ? AND receipt_no = ?`).run(
      f.status,
      f.errorCount,
      f.checkedAt,
      now,
      portal,
      f.receiptNo,
    );
    const r = db
      .prepare(`UPDATE drafts SET status = ?, checked_at = ?, updated_at = ? WHERE portal = ? AND receipt_no = ? AND status <> 'draft' AND status <> ?`)
      .run(f.status, f.checkedAt, now, portal, f.receiptNo, f.status);
    return r.changes;
  })();
}

/**
 * Records the check file's rows for the drafts of a 收件序號: each row goes to the draft at its hdata
 * position; rows on the whole file (no hdata) go to every draft of the upload.
 */
export function recordPortalErrors(store: Store, portal: string, receiptNo: string, rows: Array<PortalError & { hdata: number | null }>): void {
  const db = store.db;
  db.transaction(() => {
    const drafts = listDrafts(store, { portal, receiptNos: [receiptNo] });
    const set = db.prepare('UPDATE drafts SET portal_errors = ? WHERE id = ?');
    for (const d of drafts) {
      const mine = rows.filter((r) => r.hdata === null || r.hdata === d.position).map(({ hdata: _hdata, ...rest }) => rest);
      set.run(JSON.stringify(mine), d.id);
    }
  })();
}
