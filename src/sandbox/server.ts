/**
 * The embedded sandbox portal: an HTTP(S) server speaking the JSON protocol of
 * docs/portal-protocol.md under /api/v1, with its state in SQLite under a data folder. It
 * reproduces what the NHI portal's manual shows — card sign-in, upload with 上傳日期, 收件序號,
 * 檢核中 → 檢核正確/檢核錯誤 after a processing delay, the check file, queries and downloads that
 * expire after two weeks — so labup can be tried and tested end to end.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, taipeiIso, type Clock } from '../clock.js';
import { configError, isLabupError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { issueSoftwareCard, type SoftwareCardMaterial } from '../card/sandbox-ca.js';
import type { CardType } from '../card/card.js';
import { maskId } from '../format/national-id.js';
import { API_PREFIX, HEADER, PROTOCOL_VERSION, deliveryZipName } from '../transport/protocol.js';
import type { ZipEncryption } from '../transport/portal-client.js';
import { createZip } from '../archive/encrypted-zip.js';
import { ApiError, badRequest, notFound } from './api-error.js';
import { authenticate, createChallenge, signIn, signOut, type Session } from './auth.js';
import { applyFaults, type FaultHook } from './faults.js';
import { receiveUpload } from './intake.js';
import { JOB_CODE, JOB_NAME, sandboxLayout, type SandboxLayout } from './layout.js';
import { loadCa, serverTls } from './pki.js';
import { Processor, type ProcessingMode } from './processor.js';
import { rocSlashed } from '../format/roc.js';
import { fileJson, listFiles, listSubmissions, submissionJson } from './queries.js';
import { initSandbox, readDemo, registerInstitution, registerUser, type SandboxDemo } from './setup.js';
import { openSandboxDb, type Db, type FileRow, type SubmissionRow } from './state.js';
import { ensureAdminToken } from './admin-token.js';
import { routeManual } from './manual-api.js';
import { seedSamples } from './samples.js';

export interface StartSandboxOptions {
  /** The data folder (state, PKI, received files). */
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  clock?: Clock;
  /** Time from 傳送時間 to the check result (default 5 s; NHI says 30 minutes or more). */
  processingDelayMs?: number;
  /** Time from a 申請重送 to the file being offered again (default: the processing delay). */
  resendDelayMs?: number;
  /** Serve HTTPS with a certificate for 127.0.0.1/localhost issued by the sandbox CA. */
  tls?: boolean;
  /** A session ends after this long without a request (default 20 minutes). */
  sessionIdleMs?: number;
  /** How long files are offered for download (default 14 days). */
  retentionDays?: number;
  maxUploadBytes?: number;
  /** How often (real time) the sandbox looks for due work besides on each request (default 500 ms). */
  pollIntervalMs?: number;
  /** `worker` (default when built) processes off the event loop; `inline` in the server's thread. */
  processing?: ProcessingMode;
  faults?: FaultHook;
  /** Where the sandbox reports requests and processing (nothing by default). */
  log?: IoHost;
  /** Initialise an empty folder (CA, demo institution, card, user) instead of refusing it (default true). */
  autoInit?: boolean;
}

export interface IssueCardOptions {
  institutionCode: string;
  name?: string;
  cardType?: CardType;
  notBefore?: Date;
  notAfter?: Date;
}

/** In-process administration, for tests and the library (not reachable over HTTP). */
export interface SandboxAdmin {
  readonly db: Db;
  readonly layout: SandboxLayout;
  addInstitution(code: string, name: string): void;
  addUser(institutionCode: string, nationalId: string, name?: string): void;
  /** A software card for a registered (or any) institution, signed by the sandbox CA. */
  issueCard(options: IssueCardOptions): SoftwareCardMaterial;
  /** Processes everything due at the sandbox's current time, and resolves when done. */
  processDue(): Promise<void>;
  setFaults(hook: FaultHook | undefined): void;
  /** Ends every open session; returns how many. */
  endSessions(): number;
  counts(): { submissions: number; checking: number; passed: number; failed: number; files: number; requests: number };
  submissions(): Array<{ receiptNo: string; institutionCode: string; uploadDate: string; status: string; idempotencyKey: string; contentSha256: string; sentAt: number; dueAt: number }>;
}

export interface RunningSandbox {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  url: string;
  dataDir: string;
  tls: boolean;
  caCertPem: string;
  /** The CA file (trust it with `--ca` when the sandbox runs with TLS). */
  caFile: string;
  /** The demo institution, user and card. */
  demo: SandboxDemo | undefined;
  processing: ProcessingMode;
  admin: SandboxAdmin;
  /** Bearer token of the HTTP admin API (`/api/v1/admin/…`), kept in `adminTokenFile`. */
  adminToken: string;
  adminTokenFile: string;
  stop(): Promise<void>;
}

export const DEFAULT_PROCESSING_DELAY_MS = 5000;
export const DEFAULT_SESSION_IDLE_MS = 20 * 60_000;
export const DEFAULT_RETENTION_DAYS = 14;
export const DEFAULT_MAX_UPLOAD_BYTES = 1024 ** 3;
const MAX_JSON_BYTES = 1 << 20;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON_BYTES) throw new ApiError(413, 'BODY_TOO_LARGE', 'the JSON body is too large');
    chunks.push(c);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw badRequest('BAD_JSON', 'the body is not a JSON object');
  }
}

export async function startSandbox(options: StartSandboxOptions): Promise<RunningSandbox> {
  const clock = options.clock ?? systemClock;
  const layout = sandboxLayout(resolve(options.dataDir));
  let demo = readDemo(layout);
  if (!demo) {
    if (options.autoInit === false) throw configError('SANDBOX_NOT_INITIALISED', `${layout.root} is not a sandbox folder`, { hint: `Run labup sandbox init --data ${layout.root} first.` });
    demo = (await initSandbox({ dataDir: layout.root, clock })).demo;
  }
  const ca = loadCa(layout);
  const db = openSandboxDb(layout.db);
  const adminToken = ensureAdminToken(layout);
  seedSamples(db, clock);
  const delayMs = options.processingDelayMs ?? DEFAULT_PROCESSING_DELAY_MS;
  const resendDelayMs = options.resendDelayMs ?? delayMs;
  const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const retentionMs = retentionDays * 86_400_000;
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const instanceId = randomBytes(8).toString('hex');
  const log = options.log;
  const processor = new Processor({ db, layout, clock, instanceId, retentionMs, ...(options.processing ? { mode: options.processing } : {}), ...(log ? { host: log } : {}) });
  let faults = options.faults;
  let requestCount = 0;
  let stopping = false;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      Date: clock.now().toUTCString(),
      'Cache-Control': 'no-store',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }),
      ...headers,
    });
    res.end(text);
  };

  const applyFault = (action: ReturnType<FaultHook>, req: IncomingMessage, res: ServerResponse): Promise<boolean> =>
    applyFaults(action, req, res, { endSessions, send, log, what: `${req.method} ${req.url?.split('?')[0]}` });

  const endSessions = (): number => db.prepare('UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL').run(clock.now().getTime()).changes;

  const session = (req: IncomingMessage): Session => authenticate(db, req.headers.authorization, clock, idleMs);

  const submissionOf = (s: Session, receiptNo: string): SubmissionRow => {
    if (!/^\d{13}$/.test(receiptNo)) throw badRequest('BAD_QUERY', `“${receiptNo.slice(0, 20)}” is not a 13-digit 收件序號`);
    const row = db.prepare('SELECT * FROM submissions WHERE receipt_no = ? AND institution_code = ?').get(receiptNo, s.institutionCode) as SubmissionRow | undefined;
    if (!row) throw notFound('RECEIPT_NOT_FOUND', `收件序號 ${receiptNo} is not a submission of institution ${s.institutionCode}`, 'Check the number (labup status lists recent ones).');
    return row;
  };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const allow = (methods: string[]) => {
      if (!methods.includes(method)) throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, undefined, undefined, { Allow: methods.join(', ') });
    };
    if (path === API_PREFIX) {
      allow(['GET']);
      return send(res, 200, {
        service: 'labup sandbox portal',
        protocol: PROTOCOL_VERSION,
        job: { name: JOB_NAME, code: JOB_CODE },
        serverTime: taipeiIso(clock.now()),
        sandbox: true,
        processingDelaySeconds: delayMs / 1000,
        resendDelaySeconds: resendDelayMs / 1000,
        retentionDays,
        sessionIdleSeconds: idleMs / 1000,
      });
    }
    if (path === `${API_PREFIX}/session/challenge`) {
      allow(['POST']);
      req.resume();
      const c = createChallenge(db, clock);
      return send(res, 201, { nonce: c.nonce, expiresAt: taipeiIso(new Date(c.expiresAt)) });
    }
    if (path === `${API_PREFIX}/session`) {
      allow(['POST', 'GET', 'DELETE']);
      if (method === 'POST') {
        const body = await readJson(req);
        const r = signIn(db, ca.certPem, body, clock, idleMs);
        log?.notify({ level: 'info', code: 'SANDBOX_SIGNIN', message: `signed in: institution ${r.session.institutionCode}, user ${maskId(r.session.userId)}` });
        return send(res, 201, { token: r.token, ...sessionJson(r.session, idleMs) });
      }
      if (method === 'DELETE') {
        signOut(db, req.headers.authorization, clock);
        return send(res, 204, undefined);
      }
      return send(res, 200, sessionJson(session(req), idleMs));
    }
    if (path === `${API_PREFIX}/submissions`) {
      allow(['POST', 'GET']);
      const s = session(req);
      if (method === 'GET') return send(res, 200, listSubmissions(db, s.institutionCode, url.searchParams, clock));
      const r = await receiveUpload({ db, layout, clock, processingDelayMs: delayMs, maxUploadBytes }, req, url, s);
      log?.notify({ level: 'info', code: 'SANDBOX_UPLOAD', message: `${r.replayed ? 'replayed' : 'received'} 收件序號 ${r.row.receipt_no} (${r.row.file_name}, ${r.row.size} bytes, 上傳日期 ${rocSlashed(r.row.upload_date)})` });
      const fault = faults?.({ phase: 'upload-committed', receiptNo: r.row.receipt_no, replayed: r.replayed, n: requestCount });
      if (await applyFault(fault, req, res)) return;
      return send(res, r.replayed ? 200 : 201, submissionJson(db, r.row, clock.now().getTime()), {
        Location: `${API_PREFIX}/submissions/${r.row.receipt_no}`,
        ...(r.replayed ? { [HEADER.replayed]: 'true' } : {}),
      });
    }
    let m = /^\/api\/v1\/submissions\/([^/]+)$/.exec(path);
    if (m) {
      allow(['GET']);
      const s = session(req);
      return send(res, 200, submissionJson(db, submissionOf(s, decodeURIComponent(m[1]!)), clock.now().getTime()));
    }
    if (path === `${API_PREFIX}/files`) {
      allow(['GET']);
      const s = session(req);
      return send(res, 200, listFiles(db, s.institutionCode, url.searchParams, clock, retentionDays));
    }
    m = /^\/api\/v1\/files\/([0-9a-f]{1,64})(\/content)?$/.exec(path);
    if (m) {
      allow(['GET']);
      const s = session(req);
      const row = fileOf(s, m[1]!);
      if (!m[2]) return send(res, 200, fileJson(row));
      const encrypted = ['1', 'true', 'yes'].includes((url.searchParams.get('encrypted') ?? '').toLowerCase());
      const encryption = (url.searchParams.get('encryption') ?? 'zipcrypto') as ZipEncryption;
      if (encryption !== 'zipcrypto' && encryption !== 'aes256') throw badRequest('BAD_QUERY', 'encryption must be zipcrypto or aes256');
      const data = await readFile(row.path).catch(() => {
        throw new ApiError(410, 'FILE_EXPIRED', `${row.name} is no longer kept`, `Ask for it to be sent again: labup download --request-resend ${row.receipt_no}.`, { receiptNo: row.receipt_no });
      });
      const zip = await deliverZip(row.name, data, encrypted ? { password: passwordOf(s.userId), encryption } : undefined, clock.now());
      const zipName = deliveryZipName(row.name);
      if (res.headersSent || res.destroyed) return;
      res.writeHead(200, {
        Date: clock.now().toUTCString(),
        'Cache-Control': 'no-store',
        'Content-Type': 'application/zip',
        'Content-Length': String(zip.length),
        'Content-Disposition': `attachment; filename="${zipName}"`,
      });
      res.end(zip);
      return;
    }
    const manual = { db, clock, adminToken, resendDelayMs, log, session, send, readJson, allow };
    if (await routeManual(manual, req, res, url, method, path)) return;
    throw notFound('NOT_FOUND', `no such endpoint: ${method} ${path}`, 'See docs/portal-protocol.md for the endpoints.');
  }

  const fileOf = (s: Session, id: string): FileRow => {
    const row = db.prepare('SELECT * FROM files WHERE id = ? AND institution_code = ?').get(id, s.institutionCode) as FileRow | undefined;
    if (!row) throw notFound('FILE_NOT_FOUND', `no file ${id} for institution ${s.institutionCode}`, 'List the files first (GET /api/v1/files).');
    if (row.state !== 'available' || row.expires_at <= clock.now().getTime()) {
      throw new ApiError(410, 'FILE_EXPIRED', `${row.name} was offered until ${taipeiIso(new Date(row.expires_at))}; files are kept ${retentionDays} days`, `Ask for it to be sent again: labup download --request-resend ${row.receipt_no}.`, {
        receiptNo: row.receipt_no,
        expiredAt: taipeiIso(new Date(row.expires_at)),
      });
    }
    return row;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    requestCount++;
    const n = requestCount;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sandbox');
    } catch {
      send(res, 400, new ApiError(400, 'BAD_REQUEST', 'unreadable request target').body());
      return;
    }
    processor.kick();
    res.on('finish', () => {
      log?.notify({ level: 'verbose', code: 'SANDBOX_REQUEST', message: `${req.method} ${url.pathname} → ${res.statusCode} (${Math.round(performance.now() - started)} ms)` });
    });
    void (async () => {
      try {
        if (stopping) throw new ApiError(503, 'SHUTTING_DOWN', 'the sandbox is stopping', 'Try again in a moment.', undefined, { 'Retry-After': '1', Connection: 'close' });
        if (await applyFault(faults?.({ phase: 'request', method: req.method ?? 'GET', path: url.pathname, n }), req, res)) return;
        await route(req, res, url);
      } catch (err) {
        if (err instanceof ApiError) {
          req.resume();
          send(res, err.status, err.body(), err.headers);
          return;
        }
        if (res.destroyed || req.destroyed || req.aborted) return;
        const message = isLabupError(err) ? err.message : (err as Error)?.message ?? String(err);
        log?.notify({ level: 'error', code: 'SANDBOX_ERROR', message: `${req.method} ${url.pathname}: ${message}` });
        req.resume();
        send(res, 500, { error: { code: 'INTERNAL', message: 'the sandbox failed to handle the request', hint: 'See the sandbox’s log.' } });
      }
    })();
  };

  let server: Server;
  const tls = options.tls === true;
  if (tls) {
    const material = serverTls(layout, clock.now());
    server = createHttpsServer({ cert: material.cert, key: material.key }, handler) as unknown as Server;
  } else {
    server = createHttpServer(handler);
  }
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? configError('PORT_IN_USE', `port ${options.port} on ${host} is already in use`, { hint: 'Choose another --port, or 0 for any free port.' })
          : configError('SANDBOX_LISTEN', `cannot listen on ${host}:${options.port ?? 0} (${err.code ?? err.message})`),
      );
    });
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${address.port}`;
  const timer = setInterval(() => processor.kick(), options.pollIntervalMs ?? 500);
  timer.unref();
  processor.kick();

  const admin: SandboxAdmin = {
    db,
    layout,
    addInstitution: (code, name) => registerInstitution(db, code, name, clock.now().getTime()),
    addUser: (code, id, name = '測試使用者') => registerUser(db, code, id, name, clock.now().getTime()),
    issueCard: (o) => {
      const now = clock.now();
      return issueSoftwareCard(ca, {
        institutionCode: o.institutionCode,
        name: o.name ?? `機構 ${o.institutionCode}`,
        notBefore: o.notBefore ?? new Date(now.getTime() - 3600_000),
        notAfter: o.notAfter ?? new Date(now.getTime() + 365 * 86_400_000),
        ...(o.cardType ? { cardType: o.cardType } : {}),
      });
    },
    processDue: () => processor.drain(),
    setFaults: (hook) => {
      faults = hook;
    },
    endSessions,
    counts: () => {
      const c = db.prepare("SELECT COUNT(*) AS n, SUM(status = 'checking') AS checking, SUM(status = 'passed') AS passed, SUM(status = 'failed') AS failed FROM submissions").get() as Record<string, number | null>;
      const f = db.prepare('SELECT COUNT(*) AS n FROM files').get() as { n: number };
      return { submissions: c.n ?? 0, checking: c.checking ?? 0, passed: c.passed ?? 0, failed: c.failed ?? 0, files: f.n, requests: requestCount };
    },
    submissions: () =>
      (db.prepare('SELECT * FROM submissions ORDER BY id').all() as SubmissionRow[]).map((r) => ({
        receiptNo: r.receipt_no,
        institutionCode: r.institution_code,
        uploadDate: r.upload_date,
        status: r.status,
        idempotencyKey: r.idempotency_key,
        contentSha256: r.content_sha256,
        sentAt: r.sent_at,
        dueAt: r.due_at,
      })),
  };

  let stopped: Promise<void> | undefined;
  return {
    url,
    dataDir: layout.root,
    tls,
    caCertPem: ca.certPem,
    caFile: layout.caCert,
    demo,
    processing: processor.processingMode,
    admin,
    adminToken,
    adminTokenFile: layout.adminToken,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(timer);
        await processor.stop();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        db.close();
      })();
      return stopped;
    },
  };
}

function sessionJson(s: Session, idleMs: number): Record<string, unknown> {
  return {
    institution: { code: s.institutionCode, name: s.institutionName },
    user: maskId(s.userId),
    idleTimeoutSeconds: idleMs / 1000,
    expiresAt: taipeiIso(new Date(s.expiresAt)),
  };
}

/** The encrypted-download password: the signed-in user's national ID, first letter uppercase. */
export function passwordOf(nationalId: string): string {
  return nationalId.charAt(0).toUpperCase() + nationalId.slice(1);
}

/** The download as the portal gives it: a ZIP holding the file, encrypted on request. */
async function deliverZip(name: string, data: Buffer, encryption: { password: string; encryption: ZipEncryption } | undefined, at: Date): Promise<Uint8Array> {
  return createZip([{ name, data }], { lastModified: at, ...(encryption ? { password: encryption.password, encryption: encryption.encryption } : {}) });
}
