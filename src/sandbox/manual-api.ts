/**
 * The endpoints for the rest of the portal's manual: 申請重送 (`/resend-requests`, signed in),
 * 公告事項 (`/notices`, readable without a session) and 聯絡窗口 (`/contact`, readable without a
 * session), and the admin API that manages notices and the contact window (`/admin/…`, admin token).
 *
 * Notices and the contact window need no session: they are what a user reads when signing in
 * fails (a maintenance notice, whom to call).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { IoHost } from '../io-host.js';
import { contentDigestHeader } from '../transport/protocol.js';
import { ApiError } from './api-error.js';
import { requireAdmin } from './admin-token.js';
import type { Session } from './auth.js';
import { getContactWindow, setContactWindow } from './contact.js';
import {
  MAX_ATTACHMENT_BYTES,
  contentDisposition,
  contentTypeOf,
  createNotice,
  deleteAttachment,
  deleteNotice,
  getAttachment,
  getNotice,
  listNotices,
  noticeJson,
  putAttachment,
  updateNotice,
} from './notices.js';
import { fileResendRequest, getResendRequest, listResendRequests, resendJson } from './resend.js';
import type { Db } from './state.js';

export interface ManualApiContext {
  db: Db;
  clock: Clock;
  adminToken: string;
  resendDelayMs: number;
  log: IoHost | undefined;
  session(req: IncomingMessage): Session;
  send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  readJson(req: IncomingMessage): Promise<Record<string, unknown>>;
  allow(methods: string[]): void;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) throw new ApiError(413, 'ATTACHMENT_TOO_LARGE', `the attachment is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new ApiError(413, 'ATTACHMENT_TOO_LARGE', `the attachment is larger than ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'unreadable percent-encoding in the path');
  }
}

/** Handles the request if it is one of these endpoints; false otherwise. */
export async function routeManual(c: ManualApiContext, req: IncomingMessage, res: ServerResponse, url: URL, method: string, path: string): Promise<boolean> {
  const { db, clock } = c;
  // 申請重送
  if (path === '/api/v1/resend-requests') {
    c.allow(['POST', 'GET']);
    const s = c.session(req);
    if (method === 'GET') {
      c.send(res, 200, listResendRequests(db, s.institutionCode, url.searchParams));
      return true;
    }
    const body = await c.readJson(req);
    const r = fileResendRequest(db, s, body.receiptNo, clock, c.resendDelayMs);
    if (!r.existing) c.log?.notify({ level: 'info', code: 'SANDBOX_RESEND_REQUESTED', message: `申請重送 ${r.row.id}: 收件序號 ${r.row.receipt_no} (${r.row.file_name})` });
    c.send(res, r.existing ? 200 : 201, { ...resendJson(r.row), alreadyRequested: r.existing }, { Location: `/api/v1/resend-requests/${r.row.id}` });
    return true;
  }
  let m = /^\/api\/v1\/resend-requests\/([^/]+)$/.exec(path);
  if (m) {
    c.allow(['GET']);
    const s = c.session(req);
    c.send(res, 200, resendJson(getResendRequest(db, s.institutionCode, decodeSegment(m[1]!))));
    return true;
  }

  // 公告事項 (readers)
  if (path === '/api/v1/notices') {
    c.allow(['GET']);
    c.send(res, 200, listNotices(db, url.searchParams, clock));
    return true;
  }
  m = /^\/api\/v1\/notices\/([^/]+)$/.exec(path);
  if (m) {
    c.allow(['GET']);
    c.send(res, 200, noticeJson(db, getNotice(db, decodeSegment(m[1]!), clock)));
    return true;
  }
  m = /^\/api\/v1\/notices\/([^/]+)\/attachments\/([^/]+)$/.exec(path);
  if (m) {
    c.allow(['GET']);
    const notice = getNotice(db, decodeSegment(m[1]!), clock);
    const a = getAttachment(db, notice.id, decodeSegment(m[2]!));
    if (res.headersSent || res.destroyed) return true;
    res.writeHead(200, {
      Date: clock.now().toUTCString(),
      'Cache-Control': 'no-store',
      'Content-Type': a.content_type,
      'Content-Length': String(a.size),
      'Content-Disposition': contentDisposition(a.name),
      'Content-Digest': contentDigestHeader(a.sha256),
    });
    res.end(a.data);
    return true;
  }

  // 聯絡窗口 (readers)
  if (path === '/api/v1/contact') {
    c.allow(['GET']);
    c.send(res, 200, getContactWindow(db));
    return true;
  }

  // The admin API.
  if (path === '/api/v1/admin' || path.startsWith('/api/v1/admin/')) {
    requireAdmin(req.headers.authorization, c.adminToken);
    return routeAdmin(c, req, res, url, method, path);
  }
  return false;
}

async function routeAdmin(c: ManualApiContext, req: IncomingMessage, res: ServerResponse, url: URL, method: string, path: string): Promise<boolean> {
  const { db, clock } = c;
  const logged = (what: string) => c.log?.notify({ level: 'info', code: 'SANDBOX_ADMIN', message: what });
  if (path === '/api/v1/admin/notices') {
    c.allow(['GET', 'POST']);
    if (method === 'GET') {
      c.send(res, 200, listNotices(db, url.searchParams, clock, true));
      return true;
    }
    const row = createNotice(db, await c.readJson(req), clock);
    logged(`notice ${row.id} created: ${row.title}`);
    c.send(res, 201, noticeJson(db, row), { Location: `/api/v1/notices/${row.id}` });
    return true;
  }
  let m = /^\/api\/v1\/admin\/notices\/([^/]+)$/.exec(path);
  if (m) {
    c.allow(['GET', 'PATCH', 'PUT', 'DELETE']);
    const id = decodeSegment(m[1]!);
    if (method === 'GET') {
      c.send(res, 200, noticeJson(db, getNotice(db, id, clock, true)));
    } else if (method === 'DELETE') {
      deleteNotice(db, id, clock);
      logged(`notice ${id} deleted`);
      c.send(res, 204, undefined);
    } else {
      const row = updateNotice(db, id, await c.readJson(req), clock);
      logged(`notice ${row.id} updated`);
      c.send(res, 200, noticeJson(db, row));
    }
    return true;
  }
  m = /^\/api\/v1\/admin\/notices\/([^/]+)\/attachments\/([^/]+)$/.exec(path);
  if (m) {
    c.allow(['PUT', 'DELETE']);
    const notice = getNotice(db, decodeSegment(m[1]!), clock, true);
    const name = decodeSegment(m[2]!);
    const at = clock.now().getTime();
    if (method === 'DELETE') {
      deleteAttachment(db, notice.id, name, at);
      logged(`notice ${notice.id}: attachment ${name} deleted`);
      c.send(res, 204, undefined);
      return true;
    }
    const data = await readBody(req, MAX_ATTACHMENT_BYTES);
    const type = req.headers['content-type'];
    const created = putAttachment(db, notice.id, { name, data, contentType: type && type !== 'application/octet-stream' ? type : contentTypeOf(name) }, at);
    logged(`notice ${notice.id}: attachment ${name} ${created ? 'added' : 'replaced'} (${data.length} bytes)`);
    c.send(res, created ? 201 : 200, noticeJson(db, getNotice(db, String(notice.id), clock, true)));
    return true;
  }
  if (path === '/api/v1/admin/contact') {
    c.allow(['GET', 'PUT', 'PATCH']);
    if (method === 'GET') {
      c.send(res, 200, getContactWindow(db));
      return true;
    }
    const doc = setContactWindow(db, await c.readJson(req), clock, method === 'PUT');
    logged('contact window updated');
    c.send(res, 200, doc);
    return true;
  }
  throw new ApiError(404, 'NOT_FOUND', `no such admin endpoint: ${method} ${path}`, 'See docs/portal-protocol.md, “The admin API”.');
}
