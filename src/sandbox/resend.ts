/**
 * 申請重送: the portal keeps a check file two weeks; for an older one the user asks for it to be
 * sent again, and after a processing delay the portal offers it once more (another two weeks).
 * Requests live in SQLite and are completed by time, by whichever sandbox process holds the folder
 * (on a request or the timer), also after a restart. Completing one is a single IMMEDIATE
 * transaction that only moves a request still pending, so two processes never complete it twice.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { taipeiIso, type Clock } from '../clock.js';
import type { IoHost } from '../io-host.js';
import { formatRocInstant } from '../query.js';
import { ApiError, badRequest, forbidden, notFound } from './api-error.js';
import type { Session } from './auth.js';
import { RESEND_STATUS_TEXT } from '../transport/portal-manual.js';
import { rocSlashed } from '../format/roc.js';
import { parsePaging, sortParam, type PageJson } from './queries.js';
import type { Db, FileRow, ResendRow, SubmissionRow } from './state.js';

export type ResendState = ResendRow['state'];

export interface ResendJson {
  id: number;
  receiptNo: string;
  /** 上傳日期 of the submission, `YYY/MM/DD`. */
  uploadDate: string;
  fileName: string;
  /** 申請時間. */
  requestedAt: string;
  requestedAtText: string;
  /** When the portal expects to offer the file again (the sandbox's processing delay). */
  dueAt: string;
  status: ResendState;
  statusText: string;
  completedAt: string | null;
  /** The file offered again, once done (GET /api/v1/files/{id}). */
  fileId: string | null;
  /** Why it failed, when it did. */
  failure: string | null;
}

export function resendJson(row: ResendRow & { upload_date?: string }): ResendJson {
  return {
    id: row.id,
    receiptNo: row.receipt_no,
    uploadDate: rocSlashed(row.upload_date ?? row.receipt_no.slice(0, 7)),
    fileName: row.file_name,
    requestedAt: taipeiIso(new Date(row.requested_at)),
    requestedAtText: formatRocInstant(new Date(row.requested_at)),
    dueAt: taipeiIso(new Date(row.due_at)),
    status: row.state,
    statusText: RESEND_STATUS_TEXT[row.state],
    completedAt: row.completed_at === null ? null : taipeiIso(new Date(row.completed_at)),
    fileId: row.file_id,
    failure: row.failure,
  };
}

/**
 * Files a request for `receiptNo`'s check file. Answers the request and whether it already
 * existed (a request still pending for the same receipt is answered again, not duplicated).
 */
export function fileResendRequest(db: Db, s: Session, receiptNo: unknown, clock: Clock, delayMs: number): { row: ResendRow & { upload_date: string }; existing: boolean } {
  if (typeof receiptNo !== 'string' || !/^\d{13}$/.test(receiptNo)) {
    throw badRequest('BAD_REQUEST', `receiptNo must be a 13-digit 收件序號`, 'Send {"receiptNo": "1151125000001"}.');
  }
  return db
    .transaction(() => {
      const now = clock.now().getTime();
      const sub = db.prepare('SELECT * FROM submissions WHERE receipt_no = ?').get(receiptNo) as SubmissionRow | undefined;
      if (!sub) throw notFound('RECEIPT_NOT_FOUND', `the portal has no submission 收件序號 ${receiptNo}`, 'Check the number (labup status --from … lists older uploads).');
      if (sub.institution_code !== s.institutionCode) {
        throw forbidden('RECEIPT_OTHER_INSTITUTION', `收件序號 ${receiptNo} was not uploaded by institution ${s.institutionCode}`, 'Sign in with the card of the institution that uploaded it.');
      }
      if (sub.status === 'checking') {
        throw new ApiError(409, 'CHECK_FILE_NOT_READY', `收件序號 ${receiptNo} is still 檢核中: its check file does not exist yet`, `Wait for the result: labup status ${receiptNo} --wait.`);
      }
      const available = db.prepare("SELECT * FROM files WHERE submission_id = ? AND state = 'available' AND expires_at > ? ORDER BY provided_at DESC LIMIT 1").get(sub.id, now) as FileRow | undefined;
      if (available) {
        throw new ApiError(409, 'FILE_STILL_AVAILABLE', `${available.name} is still offered for download (until ${taipeiIso(new Date(available.expires_at))}); no resend is needed`, `Download it: labup download --receipt ${receiptNo}.`, {
          fileId: available.id,
          expiresAt: taipeiIso(new Date(available.expires_at)),
        });
      }
      const pending = db.prepare("SELECT * FROM resend_requests WHERE submission_id = ? AND state = 'pending'").get(sub.id) as ResendRow | undefined;
      if (pending) return { row: { ...pending, upload_date: sub.upload_date }, existing: true };
      const original = db.prepare('SELECT * FROM files WHERE submission_id = ? ORDER BY provided_at LIMIT 1').get(sub.id) as FileRow | undefined;
      if (!original) throw new ApiError(409, 'CHECK_FILE_NOT_READY', `收件序號 ${receiptNo} has no check file`, `Ask again later: labup status ${receiptNo}.`);
      const r = db
        .prepare('INSERT INTO resend_requests (institution_code, user_id, submission_id, receipt_no, file_name, requested_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(s.institutionCode, s.userId, sub.id, receiptNo, original.name, now, now + delayMs);
      return { row: { ...(db.prepare('SELECT * FROM resend_requests WHERE id = ?').get(r.lastInsertRowid) as ResendRow), upload_date: sub.upload_date }, existing: false };
    })
    .immediate();
}

export function listResendRequests(db: Db, institutionCode: string, q: URLSearchParams): PageJson<ResendJson> & { criteria: Record<string, unknown> } {
  const where = ['institution_code = ?'];
  const args: unknown[] = [institutionCode];
  const criteria: Record<string, unknown> = {};
  const status = q.get('status');
  if (status !== null) {
    if (!(status in RESEND_STATUS_TEXT)) throw badRequest('BAD_QUERY', 'status must be pending, done or failed');
    where.push('state = ?');
    args.push(status);
    criteria.status = status;
  }
  const receipts = q.getAll('receiptNo').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const r of receipts) if (!/^\d{13}$/.test(r)) throw badRequest('BAD_QUERY', `receiptNo “${r.slice(0, 20)}” is not a 13-digit 收件序號`);
  if (receipts.length) {
    where.push(`receipt_no IN (${receipts.map(() => '?').join(',')})`);
    args.push(...receipts);
    criteria.receiptNos = receipts;
  }
  const { column, order } = sortParam(q, { requestedAt: 'requested_at', receiptNo: 'receipt_no', dueAt: 'due_at' }, 'requestedAt');
  const { page, pageSize } = parsePaging(q);
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM resend_requests WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
  const rows = db
    .prepare(`SELECT r.*, (SELECT upload_date FROM submissions s WHERE s.id = r.submission_id) AS upload_date FROM resend_requests r WHERE ${where.join(' AND ')} ORDER BY ${column} ${order}, id ${order} LIMIT ? OFFSET ?`)
    .all(...args, pageSize, (page - 1) * pageSize) as Array<ResendRow & { upload_date: string }>;
  return { items: rows.map(resendJson), page, pageSize, total, totalPages: Math.ceil(total / pageSize), criteria };
}

export function getResendRequest(db: Db, institutionCode: string, id: string): ResendRow & { upload_date: string } {
  const row = /^\d{1,15}$/.test(id)
    ? (db.prepare('SELECT r.*, (SELECT upload_date FROM submissions s WHERE s.id = r.submission_id) AS upload_date FROM resend_requests r WHERE id = ? AND institution_code = ?').get(Number(id), institutionCode) as (ResendRow & { upload_date: string }) | undefined)
    : undefined;
  if (!row) throw notFound('RESEND_NOT_FOUND', `no resend request ${id.slice(0, 20)} for institution ${institutionCode}`, 'List them: GET /api/v1/resend-requests.');
  return row;
}

/**
 * Completes the requests due at the sandbox's time: the kept check file is offered again under a
 * new file id, for another retention period. A check file no longer on disk fails the request.
 */
export function completeDueResends(db: Db, clock: Clock, retentionMs: number, host?: IoHost): number {
  const now = clock.now().getTime();
  const due = db.prepare("SELECT id FROM resend_requests WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT 100").all(now) as Array<{ id: number }>;
  let done = 0;
  for (const { id } of due) {
    const outcome = db
      .transaction(() => {
        const req = db.prepare("SELECT * FROM resend_requests WHERE id = ? AND state = 'pending'").get(id) as ResendRow | undefined;
        if (!req) return undefined;
        const original = db.prepare('SELECT * FROM files WHERE submission_id = ? ORDER BY provided_at LIMIT 1').get(req.submission_id) as FileRow | undefined;
        let data: Buffer | undefined;
        try {
          data = original ? readFileSync(original.path) : undefined;
        } catch {
          data = undefined;
        }
        if (!original || !data) {
          db.prepare("UPDATE resend_requests SET state = 'failed', completed_at = ?, failure = ? WHERE id = ?").run(now, 'the check file is no longer kept', id);
          return { req, ok: false };
        }
        const fileId = randomBytes(8).toString('hex');
        db.prepare(
          `INSERT INTO files (id, submission_id, receipt_no, institution_code, upload_date, name, remark, path, size, sha256, provided_at, expires_at, origin)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'resend')`,
        ).run(fileId, original.submission_id, original.receipt_no, original.institution_code, original.upload_date, original.name, original.remark, original.path, data.length, createHash('sha256').update(data).digest('hex'), now, now + retentionMs);
        db.prepare("UPDATE resend_requests SET state = 'done', completed_at = ?, file_id = ? WHERE id = ?").run(now, fileId, id);
        return { req, ok: true };
      })
      .immediate();
    if (!outcome) continue;
    done++;
    host?.notify({
      level: outcome.ok ? 'info' : 'warn',
      code: outcome.ok ? 'SANDBOX_RESENT' : 'SANDBOX_RESEND_FAILED',
      message: `申請重送 ${outcome.req.id} (收件序號 ${outcome.req.receipt_no}): ${outcome.ok ? `${outcome.req.file_name} offered again` : 'the check file is no longer kept'}`,
    });
  }
  return done;
}
