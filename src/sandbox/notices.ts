/**
 * 公告事項: the job's announcements, shown newest first on entering 現行作業區, with documents
 * attached (the user manual and others). Readers list and fetch them; the admin API creates,
 * updates and deletes them. Attachments are kept in SQLite with the notice (small documents).
 */
import { createHash } from 'node:crypto';
import { taipeiIso, type Clock } from '../clock.js';
import { parseUserDate, parseUserDateTime } from '../format/roc.js';
import { fromTaipei } from '../clock.js';
import { formatRocInstant } from '../query.js';
import { API_PREFIX } from '../transport/protocol.js';
import { isSafeAttachmentName } from '../transport/portal-manual.js';
import { badRequest, notFound } from './api-error.js';
import { dateParam, parsePaging, sortParam, type PageJson } from './queries.js';
import type { Db } from './state.js';

/** Largest attachment the admin API accepts. */
export const MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024;
const MAX_TITLE = 200;
const MAX_BODY = 20_000;

export interface NoticeRow {
  id: number;
  title: string;
  body: string;
  published_at: number;
  created_at: number;
  updated_at: number;
}

interface AttachmentRow {
  notice_id: number;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  added_at: number;
}

export interface AttachmentJson {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Path of the content (GET, no session needed). */
  href: string;
}

export interface NoticeJson {
  id: number;
  title: string;
  body: string;
  /** 公告日期: ISO instant, and the ROC date the portal shows. */
  publishedAt: string;
  publishedDate: string;
  updatedAt: string;
  attachments: AttachmentJson[];
}

export interface NewAttachment {
  name: string;
  contentType?: string;
  data: Buffer;
}

const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xsd: 'application/xml',
  xml: 'application/xml',
  json: 'application/json',
  zip: 'application/zip',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  odt: 'application/vnd.oasis.opendocument.text',
};

export function contentTypeOf(name: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) ?? 'application/octet-stream';
}

function attachmentsOf(db: Db, noticeId: number): AttachmentJson[] {
  const rows = db.prepare('SELECT notice_id, name, content_type, size, sha256, added_at FROM notice_attachments WHERE notice_id = ? ORDER BY added_at, rowid').all(noticeId) as AttachmentRow[];
  return rows.map((a) => ({ name: a.name, contentType: a.content_type, size: a.size, sha256: a.sha256, href: `${API_PREFIX}/notices/${noticeId}/attachments/${encodeURIComponent(a.name)}` }));
}

export function noticeJson(db: Db, row: NoticeRow): NoticeJson {
  const at = new Date(row.published_at);
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    publishedAt: taipeiIso(at),
    publishedDate: formatRocInstant(at, 'day'),
    updatedAt: taipeiIso(new Date(row.updated_at)),
    attachments: attachmentsOf(db, row.id),
  };
}

/**
 * Notices newest first (公告日期 descending), paged. Readers see those published by now;
 * `includeScheduled` (the admin) sees those dated later too. `since` keeps those published on or
 * after a date (ROC or ISO).
 */
export function listNotices(db: Db, q: URLSearchParams, clock: Clock, includeScheduled = false): PageJson<NoticeJson> & { criteria: Record<string, unknown> } {
  const where: string[] = [];
  const args: unknown[] = [];
  const criteria: Record<string, unknown> = {};
  if (!includeScheduled) {
    where.push('published_at <= ?');
    args.push(clock.now().getTime());
  }
  const since = dateParam(q, 'since');
  if (since) {
    const d = parseUserDate(since)!;
    where.push('published_at >= ?');
    args.push(fromTaipei(d.year, d.month, d.day).getTime());
    criteria.since = formatRocInstant(fromTaipei(d.year, d.month, d.day), 'day');
  }
  const { sort, column, order } = sortParam(q, { publishedAt: 'published_at', title: 'title', id: 'id' }, 'publishedAt');
  criteria.sort = sort;
  criteria.order = order;
  const { page, pageSize } = parsePaging(q);
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM notices ${clause}`).get(...args) as { n: number }).n;
  const rows = db.prepare(`SELECT * FROM notices ${clause} ORDER BY ${column} ${order}, id ${order} LIMIT ? OFFSET ?`).all(...args, pageSize, (page - 1) * pageSize) as NoticeRow[];
  return { items: rows.map((r) => noticeJson(db, r)), page, pageSize, total, totalPages: Math.ceil(total / pageSize), criteria };
}

export function getNotice(db: Db, id: string, clock: Clock, includeScheduled = false): NoticeRow {
  const row = /^\d{1,15}$/.test(id) ? (db.prepare('SELECT * FROM notices WHERE id = ?').get(Number(id)) as NoticeRow | undefined) : undefined;
  if (!row || (!includeScheduled && row.published_at > clock.now().getTime())) {
    throw notFound('NOTICE_NOT_FOUND', `no notice ${id.slice(0, 20)}`, 'List the notices: labup notices.');
  }
  return row;
}

export function getAttachment(db: Db, noticeId: number, name: string): AttachmentRow & { data: Buffer } {
  const row = db.prepare('SELECT * FROM notice_attachments WHERE notice_id = ? AND name = ?').get(noticeId, name) as (AttachmentRow & { data: Buffer }) | undefined;
  if (!row) throw notFound('ATTACHMENT_NOT_FOUND', `notice ${noticeId} has no attachment “${name.slice(0, 120)}”`, 'labup notices lists each notice with its attachments.');
  return row;
}

/** 公告日期 from the admin API: an ISO instant, ROC `YYYMMDDHHMMSS`, or a date (its midnight in Taipei). */
function publishedAtOf(v: unknown, clock: Clock): number {
  if (v === undefined || v === null) return clock.now().getTime();
  if (typeof v === 'string') {
    const d = parseUserDate(v);
    if (d) return fromTaipei(d.year, d.month, d.day).getTime();
    const at = parseUserDateTime(v);
    if (at) return at.getTime();
  }
  throw badRequest('BAD_REQUEST', 'publishedAt must be an ISO 8601 instant or a date (YYY/MM/DD, YYYMMDD, YYYY-MM-DD)');
}

function text(v: unknown, field: string, max: number, required: boolean): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || (required && v.trim() === '') || v.length > max) {
    throw badRequest('BAD_REQUEST', `${field} must be ${required ? 'a non-empty ' : 'a '}string of at most ${max} characters`);
  }
  return v;
}

export function checkAttachment(name: unknown, data: Buffer): string {
  if (typeof name !== 'string' || !isSafeAttachmentName(name)) {
    throw badRequest('BAD_ATTACHMENT_NAME', `attachment name “${String(name).slice(0, 120)}” cannot be used`, 'Use a plain file name: no / \\ : * ? " < > |, no control characters, at most 120 characters.');
  }
  if (data.length > MAX_ATTACHMENT_BYTES) throw badRequest('ATTACHMENT_TOO_LARGE', `attachment ${name} is larger than ${MAX_ATTACHMENT_BYTES} bytes`);
  return name;
}

export function putAttachment(db: Db, noticeId: number, a: NewAttachment, at: number): boolean {
  const name = checkAttachment(a.name, a.data);
  const existed = db.prepare('SELECT 1 FROM notice_attachments WHERE notice_id = ? AND name = ?').get(noticeId, name) !== undefined;
  db.prepare(
    `INSERT INTO notice_attachments (notice_id, name, content_type, data, size, sha256, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (notice_id, name) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, size = excluded.size, sha256 = excluded.sha256, added_at = excluded.added_at`,
  ).run(noticeId, name, a.contentType ?? contentTypeOf(name), a.data, a.data.length, createHash('sha256').update(a.data).digest('hex'), at);
  db.prepare('UPDATE notices SET updated_at = ? WHERE id = ?').run(at, noticeId);
  return !existed;
}

/** Attachments given inline in JSON: `[{"name", "contentType"?, "data": base64}]`. */
function inlineAttachments(v: unknown): NewAttachment[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw badRequest('BAD_REQUEST', 'attachments must be a list of {name, contentType?, data (base64)}');
  return v.map((a: unknown) => {
    const o = (a ?? {}) as Record<string, unknown>;
    if (typeof o.data !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(o.data)) throw badRequest('BAD_REQUEST', 'each attachment needs data as base64');
    const data = Buffer.from(o.data, 'base64');
    const name = checkAttachment(o.name, data);
    if (o.contentType !== undefined && typeof o.contentType !== 'string') throw badRequest('BAD_REQUEST', 'contentType must be a string');
    return { name, data, ...(typeof o.contentType === 'string' ? { contentType: o.contentType } : {}) };
  });
}

export function createNotice(db: Db, body: Record<string, unknown>, clock: Clock): NoticeRow {
  const title = text(body.title, 'title', MAX_TITLE, true)!;
  const content = text(body.body, 'body', MAX_BODY, true)!;
  const publishedAt = publishedAtOf(body.publishedAt, clock);
  const attachments = inlineAttachments(body.attachments);
  return db
    .transaction(() => {
      const now = clock.now().getTime();
      const id = Number(db.prepare('INSERT INTO notices (title, body, published_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(title, content, publishedAt, now, now).lastInsertRowid);
      for (const a of attachments) putAttachment(db, id, a, now);
      return db.prepare('SELECT * FROM notices WHERE id = ?').get(id) as NoticeRow;
    })
    .immediate();
}

export function updateNotice(db: Db, id: string, body: Record<string, unknown>, clock: Clock): NoticeRow {
  const row = getNotice(db, id, clock, true);
  const title = text(body.title, 'title', MAX_TITLE, false) ?? row.title;
  const content = text(body.body, 'body', MAX_BODY, false) ?? row.body;
  const publishedAt = body.publishedAt === undefined ? row.published_at : publishedAtOf(body.publishedAt, clock);
  const attachments = inlineAttachments(body.attachments);
  return db
    .transaction(() => {
      const now = clock.now().getTime();
      db.prepare('UPDATE notices SET title = ?, body = ?, published_at = ?, updated_at = ? WHERE id = ?').run(title, content, publishedAt, now, row.id);
      for (const a of attachments) putAttachment(db, row.id, a, now);
      return db.prepare('SELECT * FROM notices WHERE id = ?').get(row.id) as NoticeRow;
    })
    .immediate();
}

export function deleteNotice(db: Db, id: string, clock: Clock): void {
  const row = getNotice(db, id, clock, true);
  db.transaction(() => {
    db.prepare('DELETE FROM notice_attachments WHERE notice_id = ?').run(row.id);
    db.prepare('DELETE FROM notices WHERE id = ?').run(row.id);
  }).immediate();
}

export function deleteAttachment(db: Db, noticeId: number, name: string, at: number): void {
  const r = db.prepare('DELETE FROM notice_attachments WHERE notice_id = ? AND name = ?').run(noticeId, name);
  if (r.changes !== 1) throw notFound('ATTACHMENT_NOT_FOUND', `notice ${noticeId} has no attachment “${name.slice(0, 120)}”`);
  db.prepare('UPDATE notices SET updated_at = ? WHERE id = ?').run(at, noticeId);
}

/** `Content-Disposition` for a name that may be Chinese: an ASCII fallback and RFC 5987 `filename*`. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}

