/**
 * The HTTP implementation of {@link PortalClient} (undici), speaking docs/portal-protocol.md.
 *
 * - Every try has a deadline covering the whole exchange, a trickling body included (uploads get
 *   more time in proportion to their size).
 * - Transient failures (connection reset or refused, timeouts, 429/502/503/504) are tried again
 *   with backoff, honouring `Retry-After`; `retries` is the number of tries in total. An upload
 *   whose outcome is unknown (a timeout or a lost connection once the ZIP may have reached the
 *   portal) is not simply sent again: the caller's `findReceived` is asked first what the portal
 *   already holds for that ZIP and 上傳日期, and a match is adopted. The idempotency key protects a
 *   re-send on a portal that honours it.
 * - HTTPS is verified against the system CAs plus `caFile`; verification is never turned off, not
 *   even by NODE_TLS_REJECT_UNAUTHORIZED=0. `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are honoured
 *   (undici EnvHttpProxyAgent).
 * - A session that ended (idle timeout) is renewed by signing in again with the same card.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { authError, configError, dataError, LabupError, portalError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Env } from '../paths.js';
import {
  STATUS_TEXT,
  type DownloadOptions,
  type DownloadedFile,
  type FileQuery,
  type Page,
  type PortalClient,
  type PortalFile,
  type PortalInfo,
  type PortalSession,
  type SignInCredentials,
  type Submission,
  type SubmissionQuery,
  type UploadRequest,
  type UploadResult,
} from './portal-client.js';
import { API_PREFIX, HEADER, contentDigestHeader, parseContentDigest, sha256Hex, signInPayload } from './protocol.js';
import type { ContactWindow, Notice, NoticeQuery, ResendFiled, ResendQuery, ResendRequest } from './portal-manual.js';
import { formatRocInstant } from '../query.js';
import { DEFAULT_BACKOFF, RETRYABLE_STATUS, backoffDelay, isTlsError, isTransientNetworkError, networkErrorCode, outcomeUnknown, parseRetryAfter, type BackoffPolicy } from './retry.js';
import { proxyRoute, type ProxyRoute } from './proxy.js';

export interface HttpPortalClientOptions {
  baseUrl: string;
  /** Identity for the journal (default: the base URL). */
  id?: string;
  /** Extra CA bundle (PEM file) trusted besides the system's. */
  caFile?: string;
  /** Extra CA certificates (PEM text). */
  caPem?: string;
  /** Environment for proxy settings (default process.env). */
  env?: Env;
  /** Ignore proxy settings (for the in-process sandbox on 127.0.0.1). */
  noProxy?: boolean;
  /** Deadline of one try, whole exchange (default 60 s). */
  requestTimeoutMs?: number;
  /** Uploads get `size / this` seconds more (default 64 KiB/s). */
  uploadMinBytesPerSecond?: number;
  /** Tries in total for a request that can succeed on retry (default 4). */
  retries?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Waits between tries (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  host?: IoHost;
  /** Largest download accepted (default 256 MiB). */
  maxDownloadBytes?: number;
  /** Runs when the client is closed (e.g. stopping an in-process sandbox). */
  onClose?: () => Promise<void>;
  /**
   * Send the `Idempotency-Key` header with uploads (default true). `false` behaves like a portal
   * adapter without idempotency keys: only the adoption of what the portal received protects a
   * re-send (tests prove it that way).
   */
  sendIdempotencyKey?: boolean;
}

interface CallSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | string[] | number | undefined>;
  json?: unknown;
  /** A fresh body for each try. */
  body?: () => NodeJS.ReadableStream;
  headers?: Record<string, string>;
  auth: boolean;
  timeoutMs?: number;
  /** What the request is, for messages (`upload of TOTFA.zip`). */
  what: string;
  binary?: boolean;
  /** With `binary`: a successful answer is bytes whatever its type (an attachment may be JSON). */
  raw?: boolean;
  /** Tries for this call (default: the client's). */
  tries?: number;
  /**
   * After a try whose outcome is unknown, before the next one (and after the last): true when the
   * portal turned out to have acted on it, which ends the call (see {@link UploadRequest.findReceived}).
   */
  settled?: (failure: { code: string; attempt: number }) => Promise<boolean>;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json?: unknown;
  bytes?: Uint8Array;
}

interface PortalErrorBody {
  error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> };
}

class TransientFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterMs?: number,
    /** The HTTP status, when the portal (or a gateway) answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The call ended because the portal was found to have acted on a try whose answer was lost. */
const SETTLED: Answer = { status: 0, headers: {} };

function loadCa(options: HttpPortalClientOptions): string | undefined {
  if (options.caPem) return options.caPem;
  if (!options.caFile) return undefined;
  try {
    const text = readFileSync(options.caFile, 'utf8');
    if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return text;
  } catch (err) {
    throw configError('CA_FILE_INVALID', `${options.caFile}: cannot use it as a CA bundle (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      hint: 'Give a PEM file holding the CA certificate(s) (--ca FILE, LABUP_CA_FILE or caFile in the config).',
    });
  }
}

export class HttpPortalClient implements PortalClient {
  readonly id: string;
  readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private readonly minRate: number;
  private readonly tries: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly maxDownload: number;
  private token: string | undefined;
  private credentials: SignInCredentials | undefined;

  constructor(private readonly options: HttpPortalClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw configError('PORTAL_URL_INVALID', `“${options.baseUrl}” is not a portal URL`, { hint: 'Give an http:// or https:// URL (--portal, LABUP_PORTAL or portal in the config).' });
    }
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.id = options.id ?? this.baseUrl;
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.minRate = options.uploadMinBytesPerSecond ?? 64 * 1024;
    this.tries = Math.max(1, options.retries ?? 4);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.sleep = options.sleep ?? ((ms) => sleepTimer(ms).then(() => undefined));
    this.random = options.random ?? Math.random;
    this.maxDownload = options.maxDownloadBytes ?? 256 * 1024 * 1024;
    const ca = loadCa(options);
    this.extraCa = ca !== undefined;
    // rejectUnauthorized is explicit: Node's default follows NODE_TLS_REJECT_UNAUTHORIZED, which
    // must never turn verification off for labup behind the operator's back.
    const tls = { ...(ca ? { ca: [...rootCertificates, ca] } : {}), rejectUnauthorized: true };
    const agentOptions = { connect: tls, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs };
    const env = options.env ?? process.env;
    if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0' && base.protocol === 'https:') {
      options.host?.notify({
        level: 'warn',
        code: 'TLS_VERIFY_KEPT',
        message: 'NODE_TLS_REJECT_UNAUTHORIZED=0 is set: labup ignores it and verifies the portal’s certificate (trust a private CA with --ca FILE)',
      });
    }
    if (options.noProxy) {
      this.route = { kind: 'direct', reason: 'the in-process sandbox is never reached through a proxy' };
      this.dispatcher = new Agent(agentOptions);
    } else {
      const proxies = { httpProxy: env.HTTP_PROXY ?? env.http_proxy ?? '', httpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? '', noProxy: env.NO_PROXY ?? env.no_proxy ?? '' };
      this.route = proxyRoute(base, proxies);
      this.dispatcher = new EnvHttpProxyAgent({ ...agentOptions, ...proxies, requestTls: tls, proxyTls: tls });
    }
  }

  /** How requests reach the portal: directly, or through which proxy (credentials masked). */
  readonly route: ProxyRoute;
  /** TLS trusts an extra CA bundle besides the system's. */
  readonly extraCa: boolean;

  async info(): Promise<PortalInfo> {
    const a = await this.call({ method: 'GET', path: API_PREFIX, auth: false, what: 'portal information' });
    const date = a.headers.date;
    return { ...(a.json as PortalInfo), ...(typeof date === 'string' && date ? { date } : {}) };
  }

  async signIn(credentials: SignInCredentials): Promise<PortalSession> {
    this.credentials = credentials;
    const cert = await credentials.card.certificate();
    for (let attempt = 1; ; attempt++) {
      try {
        const challenge = (await this.call({ method: 'POST', path: `${API_PREFIX}/session/challenge`, auth: false, what: 'sign-in challenge', tries: 1 })).json as { nonce: string };
        const sig = await credentials.card.sign(signInPayload(challenge.nonce, credentials.userId));
        const a = await this.call({
          method: 'POST',
          path: `${API_PREFIX}/session`,
          auth: false,
          what: 'sign-in',
          tries: 1,
          json: { nonce: challenge.nonce, userId: credentials.userId, certificate: cert.pem, signature: sig.signature.toString('base64'), algorithm: sig.algorithm },
        });
        const s = a.json as { token: string; institution: { code: string; name: string }; user: string; idleTimeoutSeconds: number; expiresAt: string };
        this.token = s.token;
        return { institutionCode: s.institution.code, institutionName: s.institution.name, user: s.user, idleTimeoutSeconds: s.idleTimeoutSeconds, expiresAt: s.expiresAt };
      } catch (err) {
        // One try of the pair failed in transit: a new challenge is needed (a nonce is single-use).
        if (err instanceof LabupError && err.code === 'PORTAL_UNAVAILABLE' && attempt < this.tries) {
          await this.sleep(backoffDelay(attempt, this.backoff, this.random));
          continue;
        }
        throw err;
      }
    }
  }

  async signOut(): Promise<void> {
    if (!this.token) return;
    try {
      await this.call({ method: 'DELETE', path: `${API_PREFIX}/session`, auth: true, what: 'sign-out', tries: 1 });
    } catch {
      // Signing out is a courtesy; the session ends by itself.
    }
    this.token = undefined;
  }

  async upload(req: UploadRequest): Promise<UploadResult> {
    let adopted: Submission | undefined;
    const findReceived = req.findReceived;
    const a = await this.call({
      method: 'POST',
      path: `${API_PREFIX}/submissions`,
      query: { uploadDate: req.uploadDate, fileName: req.fileName },
      headers: {
        'content-type': 'application/zip',
        'content-length': String(req.size),
        ...(this.options.sendIdempotencyKey === false ? {} : { [HEADER.idempotencyKey]: req.idempotencyKey }),
        [HEADER.contentDigest]: contentDigestHeader(req.contentSha256),
      },
      body: () => createReadStream(req.file),
      auth: true,
      what: `upload of ${req.fileName}`,
      timeoutMs: this.timeoutMs + Math.ceil((req.size / this.minRate) * 1000),
      ...(findReceived
        ? {
            settled: async (failure: { code: string; attempt: number }) => {
              adopted = await findReceived(failure);
              return adopted !== undefined;
            },
          }
        : {}),
    });
    if (a === SETTLED && adopted) return { ...adopted, replayed: true, adopted: true };
    return { ...toSubmission(a.json), replayed: a.status === 200 || a.headers[HEADER.replayed] === 'true' };
  }

  async getSubmission(receiptNo: string): Promise<Submission> {
    const a = await this.call({ method: 'GET', path: `${API_PREFIX}/submissions/${encodeURIComponent(receiptNo)}`, auth: true, what: `status of ${receiptNo}` });
    return toSubmission(a.json);
  }

  async listSubmissions(q: SubmissionQuery = {}): Promise<Page<Submission>> {
    const a = await this.call({
      method: 'GET',
      path: `${API_PREFIX}/submissions`,
      auth: true,
      what: 'submission query',
      query: {
        receiptNo: q.receiptNos?.length ? q.receiptNos.join(',') : undefined,
        from: q.uploadDateFrom,
        to: q.uploadDateTo,
        contentSha256: q.contentSha256,
        status: q.status,
        sort: q.sort,
        order: q.order,
        page: q.page,
        pageSize: q.pageSize,
      },
    });
    const p = a.json as Page<unknown>;
    return { ...p, items: p.items.map(toSubmission) };
  }

  async listFiles(q: FileQuery = {}): Promise<Page<PortalFile>> {
    const a = await this.call({
      method: 'GET',
      path: `${API_PREFIX}/files`,
      auth: true,
      what: 'file list',
      query: { receiptNo: q.receiptNo, from: q.uploadDateFrom, to: q.uploadDateTo, within: q.withinDays, sort: q.sort, order: q.order, page: q.page, pageSize: q.pageSize },
    });
    const p = a.json as Page<PortalFile & Record<string, unknown>>;
    return { ...p, items: p.items.map(toFile) };
  }

  async download(fileId: string, options: DownloadOptions = {}): Promise<DownloadedFile> {
    const a = await this.call({
      method: 'GET',
      path: `${API_PREFIX}/files/${encodeURIComponent(fileId)}/content`,
      query: options.encrypted ? { encrypted: 'true', encryption: options.encryption ?? 'zipcrypto' } : undefined,
      auth: true,
      binary: true,
      what: `download of file ${fileId}`,
    });
    const disposition = String(a.headers['content-disposition'] ?? '');
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${fileId}.zip`;
    return { fileName: name, contentType: String(a.headers['content-type'] ?? 'application/octet-stream'), data: a.bytes! };
  }

  async requestResend(receiptNo: string): Promise<ResendFiled> {
    // Safe to repeat: a request still pending for the receipt is answered again, not duplicated.
    const a = await this.call({ method: 'POST', path: `${API_PREFIX}/resend-requests`, json: { receiptNo }, auth: true, what: `申請重送 of ${receiptNo}` });
    return { ...toResend(a.json), alreadyRequested: (a.json as { alreadyRequested?: boolean }).alreadyRequested === true || a.status === 200 };
  }

  async listResendRequests(q: ResendQuery = {}): Promise<Page<ResendRequest>> {
    const a = await this.call({
      method: 'GET',
      path: `${API_PREFIX}/resend-requests`,
      auth: true,
      what: '申請重送 list',
      query: { status: q.status, receiptNo: q.receiptNos?.length ? q.receiptNos.join(',') : undefined, sort: q.sort, order: q.order, page: q.page, pageSize: q.pageSize },
    });
    const p = a.json as Page<unknown>;
    return { ...p, items: p.items.map(toResend) };
  }

  async listNotices(q: NoticeQuery = {}): Promise<Page<Notice>> {
    const a = await this.call({ method: 'GET', path: `${API_PREFIX}/notices`, auth: false, what: '公告事項', query: { since: q.since, sort: q.sort, order: q.order, page: q.page, pageSize: q.pageSize } });
    const p = a.json as Page<unknown>;
    return { ...p, items: p.items.map(toNotice) };
  }

  async getNotice(id: number): Promise<Notice> {
    const a = await this.call({ method: 'GET', path: `${API_PREFIX}/notices/${encodeURIComponent(String(id))}`, auth: false, what: `公告事項 ${id}` });
    return toNotice(a.json);
  }

  async downloadAttachment(noticeId: number, name: string): Promise<DownloadedFile> {
    const what = `attachment ${name} of notice ${noticeId}`;
    const a = await this.call({ method: 'GET', path: `${API_PREFIX}/notices/${encodeURIComponent(String(noticeId))}/attachments/${encodeURIComponent(name)}`, auth: false, binary: true, raw: true, what });
    const declared = parseContentDigest(String(a.headers['content-digest'] ?? '') || undefined);
    if (declared && declared !== sha256Hex(a.bytes!)) throw portalError('DOWNLOAD_CORRUPT', `${what}: the content does not match the portal's Content-Digest`, { hint: 'Download it again.' });
    return { fileName: name, contentType: String(a.headers['content-type'] ?? 'application/octet-stream'), data: a.bytes! };
  }

  async getContactWindow(): Promise<ContactWindow> {
    const a = await this.call({ method: 'GET', path: `${API_PREFIX}/contact`, auth: false, what: '聯絡窗口' });
    const c = a.json as ContactWindow;
    return { job: c.job, contacts: c.contacts ?? [], updatedAt: c.updatedAt ?? null };
  }

  async close(): Promise<void> {
    await this.signOut();
    await this.dispatcher.close().catch(() => undefined);
    await this.options.onClose?.();
  }

  /** One request with the retry policy. */
  private async call(spec: CallSpec): Promise<Answer> {
    const tries = spec.tries ?? this.tries;
    let renewed = false;
    let last: TransientFailure | undefined;
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (spec.auth && !this.token) await this.renewSession(spec.what);
      try {
        const answer = await this.once(spec);
        if (answer.status >= 200 && answer.status < 300) return answer;
        const body = (answer.json ?? {}) as PortalErrorBody;
        const code = body.error?.code ?? `HTTP_${answer.status}`;
        if (answer.status === 401 && spec.auth && (code === 'SESSION_EXPIRED' || code === 'SESSION_REQUIRED') && this.credentials && !renewed) {
          // The session ended between calls: sign in again once and repeat (not counted as a try).
          this.options.host?.notify({ level: 'verbose', code: 'PORTAL_SESSION_RENEWED', message: 'the portal session had ended; signing in again' });
          this.token = undefined;
          renewed = true;
          attempt--;
          continue;
        }
        if (RETRYABLE_STATUS.has(answer.status)) {
          // An HTTP-date Retry-After is read against the portal's own clock (its Date), not ours.
          const portalNow = Date.parse(String(answer.headers.date ?? ''));
          throw new TransientFailure(
            `${spec.what}: the portal answered ${answer.status} (${code})`,
            code,
            parseRetryAfter(answer.headers['retry-after'], Number.isNaN(portalNow) ? Date.now() : portalNow),
            answer.status,
          );
        }
        throw this.refusal(spec, answer.status, body);
      } catch (err) {
        if (!(err instanceof TransientFailure)) throw err;
        last = err;
        if (spec.settled && outcomeUnknown(err)) {
          this.options.host?.notify({
            level: 'warn',
            code: 'UPLOAD_OUTCOME_UNKNOWN',
            message: `${err.message}: the portal may have received it; asking what it holds before sending again`,
            data: { attempt, code: err.code },
          });
          let settled: boolean;
          try {
            settled = await spec.settled({ code: err.code, attempt });
          } catch (cause) {
            // Not knowing what the portal holds, sending again could submit twice: stop here.
            throw portalError('UPLOAD_OUTCOME_UNKNOWN', `${err.message}, and the portal could not be asked whether it received it (${cause instanceof LabupError ? cause.code : (cause as Error).message})`, {
              hint: 'Run the same command again once the portal answers: labup asks first what the portal received, and sends only if it has nothing.',
              details: { code: err.code, attempt },
              cause,
            });
          }
          if (settled) return SETTLED;
        }
        if (attempt >= tries) break;
        let wait = backoffDelay(attempt, this.backoff, this.random);
        if (err.retryAfterMs !== undefined) {
          if (err.retryAfterMs > this.backoff.maxRetryAfterMs) break;
          wait = Math.max(wait, err.retryAfterMs);
        }
        this.options.host?.notify({
          level: 'warn',
          code: 'PORTAL_RETRY',
          message: `${err.message}; try ${attempt + 1} of ${tries} in ${(wait / 1000).toFixed(1)} s`,
          data: { attempt, tries, waitMs: wait, code: err.code },
        });
        await this.sleep(wait);
      }
    }
    throw portalError('PORTAL_UNAVAILABLE', `${last?.message ?? spec.what + ' failed'}${tries > 1 ? ` (after ${tries} tries)` : ''}`, {
      hint: 'Check the network and the portal, then run the same command again: an upload is never submitted twice.',
      details: { code: last?.code, tries },
      cause: last,
    });
  }

  private async renewSession(what: string): Promise<void> {
    if (!this.credentials) throw usageError('NOT_SIGNED_IN', `${what}: sign in first`, { hint: 'Call signIn() with the card before using the portal.' });
    await this.signIn(this.credentials);
  }

  private url(spec: CallSpec): string {
    const u = new URL(this.baseUrl + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
    }
    return u.href;
  }

  /** One try: resolves with the answer, or rejects with a TransientFailure or a coded error. */
  private async once(spec: CallSpec): Promise<Answer> {
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const e = new Error(`no complete answer within ${Math.round(timeoutMs / 1000)} s`) as Error & { code: string };
      e.code = 'REQUEST_TIMEOUT';
      controller.abort(e);
    }, timeoutMs);
    try {
      const headers: Record<string, string> = { accept: spec.binary ? 'application/zip, application/json' : 'application/json', ...spec.headers };
      if (spec.auth && this.token) headers.authorization = `Bearer ${this.token}`;
      let body: string | NodeJS.ReadableStream | undefined;
      if (spec.json !== undefined) {
        body = JSON.stringify(spec.json);
        headers['content-type'] = 'application/json';
      } else if (spec.body) {
        body = spec.body();
      }
      const res = await request(this.url(spec), {
        method: spec.method,
        headers,
        body: body as never,
        dispatcher: this.dispatcher,
        signal: controller.signal,
      });
      const type = String(res.headers['content-type'] ?? '');
      let json: unknown;
      let bytes: Uint8Array | undefined;
      if (spec.binary && res.statusCode >= 200 && res.statusCode < 300 && (spec.raw || !type.startsWith('application/json'))) {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of res.body as AsyncIterable<Buffer>) {
          size += c.length;
          if (size > this.maxDownload) throw portalError('DOWNLOAD_TOO_LARGE', `${spec.what}: larger than ${this.maxDownload} bytes`);
          chunks.push(c);
        }
        bytes = new Uint8Array(Buffer.concat(chunks));
      } else {
        const text = await res.body.text();
        if (text) {
          try {
            json = JSON.parse(text);
          } catch {
            if (res.statusCode >= 200 && res.statusCode < 300) {
              throw portalError('PORTAL_BAD_ANSWER', `${spec.what}: the portal's answer is not JSON`, { hint: 'Check that --portal points at a labup portal API (…/api/v1 is appended).' });
            }
          }
        }
      }
      return { status: res.statusCode, headers: res.headers as Answer['headers'], json, bytes };
    } catch (err) {
      if (err instanceof LabupError || err instanceof TransientFailure) throw err;
      const reason = controller.signal.aborted ? (controller.signal.reason as Error & { code?: string }) : undefined;
      const code = reason?.code ?? networkErrorCode(err) ?? (err as { code?: string }).code;
      if (isTlsError(code)) {
        throw portalError('TLS_UNTRUSTED', `${this.baseUrl}: the portal's TLS certificate is not trusted (${code})`, {
          hint: 'If the portal uses a private CA, trust it with --ca FILE (or LABUP_CA_FILE / caFile); verification is never turned off.',
          cause: err,
        });
      }
      if (code === 'REQUEST_TIMEOUT' || isTransientNetworkError(code)) {
        throw new TransientFailure(`${spec.what}: ${code === 'REQUEST_TIMEOUT' ? reason!.message : `connection failed (${code})`}`, code!);
      }
      throw portalError('PORTAL_UNREACHABLE', `${spec.what}: cannot reach ${this.baseUrl} (${code ?? (err as Error).message})`, {
        hint: 'Check the portal URL, the network and the proxy settings (HTTPS_PROXY, NO_PROXY).',
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private refusal(spec: CallSpec, status: number, body: PortalErrorBody): LabupError {
    const code = body.error?.code ?? `HTTP_${status}`;
    const message = `${spec.what}: ${body.error?.message ?? `the portal answered ${status}`}`;
    const options = { ...(body.error?.hint ? { hint: body.error.hint } : {}), details: { status, portalCode: code, ...(body.error?.details ?? {}) } };
    if (status === 401 || status === 403) return authError(code, message, options);
    if (status === 413 || status === 422) return dataError(code, message, options);
    if (status >= 400 && status < 500) return usageError(code, message, options);
    // A portal failure without advice of its own: the one thing to do is the same command later.
    return portalError(code, message, { hint: 'The portal failed to handle the request; run the same command again later (an upload is never submitted twice).', ...options });
  }
}

function toSubmission(raw: unknown): Submission {
  const s = raw as Submission & Record<string, unknown>;
  return {
    receiptNo: s.receiptNo,
    uploadDate: s.uploadDate,
    sentAt: s.sentAt,
    status: s.status,
    statusText: s.statusText ?? STATUS_TEXT[s.status],
    fileName: s.fileName,
    contentSha256: s.contentSha256,
    checkedAt: s.checkedAt ?? null,
    counts: s.counts ?? null,
    errorCount: s.errorCount ?? null,
    files: s.files ?? [],
  };
}

function toFile(raw: PortalFile & Record<string, unknown>): PortalFile {
  return {
    id: raw.id,
    name: raw.name,
    receiptNo: raw.receiptNo,
    uploadDate: raw.uploadDate,
    remark: raw.remark,
    providedAt: raw.providedAt,
    providedAtText: typeof raw.providedAtText === 'string' ? raw.providedAtText : formatRocInstant(raw.providedAt),
    expiresAt: raw.expiresAt,
    size: raw.size,
    sha256: raw.sha256,
  };
}

function toResend(raw: unknown): ResendRequest {
  const r = raw as ResendRequest;
  return {
    id: r.id,
    receiptNo: r.receiptNo,
    uploadDate: r.uploadDate,
    fileName: r.fileName,
    requestedAt: r.requestedAt,
    dueAt: r.dueAt ?? null,
    status: r.status,
    statusText: r.statusText,
    completedAt: r.completedAt ?? null,
    fileId: r.fileId ?? null,
    failure: r.failure ?? null,
  };
}

function toNotice(raw: unknown): Notice {
  const n = raw as Notice;
  return {
    id: n.id,
    title: n.title,
    body: n.body,
    publishedAt: n.publishedAt,
    publishedDate: n.publishedDate ?? formatRocInstant(n.publishedAt, 'day'),
    updatedAt: n.updatedAt,
    attachments: (n.attachments ?? []).map((a) => ({ name: a.name, contentType: a.contentType, size: a.size, sha256: a.sha256 })),
  };
}
