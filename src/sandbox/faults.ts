/**
 * Fault injection: a hook the sandbox asks at each request (and once more after an upload has
 * been committed, before it answers) whether to misbehave, so tests can show the client ends in a
 * correct state through resets, overloads, slow answers, trickling downloads and ended sessions.
 *
 * Faults are given either as a function ({@link FaultHook}, e.g. {@link faultOnce}) or as a spec
 * in a small language (`labup sandbox --faults SPEC`, {@link parseFaultSpec}, {@link faultsFromSpec}):
 *
 *     SPEC   = RULE *( "," RULE )
 *     RULE   = [ TARGET ":" ] ACTION *( ":" OPTION )
 *
 * e.g. `upload:reset-after-commit:once,status:503:retry-after=2:times=3,slow:8s`. See
 * docs/security.md (“Fault injection”) for every target, action and option.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDuration } from '../clock.js';
import { usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';

export type FaultPoint =
  | { phase: 'request'; method: string; path: string; /** 1-based count of requests so far. */ n: number }
  | { phase: 'upload-committed'; receiptNo: string; replayed: boolean; n: number };

export type FaultAction =
  /** Drop the connection without an answer; with `afterBodyBytes`, after reading that much of the request body (mid-upload). */
  | { kind: 'reset'; afterBodyBytes?: number }
  /** Answer with this status (e.g. 503) and an optional Retry-After, without handling the request; `html` answers as a proxy would. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; code?: string; html?: boolean }
  /** Wait this long (real time) before handling the request (or, after a commit, before answering). */
  | { kind: 'delay'; ms: number }
  /** End every open session first (session expiry between sign-in and upload). */
  | { kind: 'end-sessions' }
  /** Handle the request, but send the answer's body at this many bytes per second. */
  | { kind: 'trickle'; bytesPerSecond: number }
  /** Handle the request, send the headers and this much of the body (default: half), then drop the connection. */
  | { kind: 'cut-response'; afterBytes?: number };

/** What a hook answers: nothing, one action, or several applied in order. */
export type FaultHook = (point: FaultPoint) => FaultAction | FaultAction[] | undefined;

/** A hook that applies `action` to the requests for which `when` is true, `times` times at most. */
export function faultOnce(when: (p: FaultPoint) => boolean, action: FaultAction, times = 1): FaultHook & { fired: number } {
  const hook = ((p: FaultPoint) => {
    if (hook.fired >= times || !when(p)) return undefined;
    hook.fired++;
    return action;
  }) as FaultHook & { fired: number };
  hook.fired = 0;
  return hook;
}

// ---------------------------------------------------------------------------------------------
// The spec language
// ---------------------------------------------------------------------------------------------

/** Which requests a rule applies to (by method and path under /api/v1). */
export const FAULT_TARGETS = {
  any: 'every request',
  info: 'GET /api/v1 (portal information)',
  challenge: 'POST /api/v1/session/challenge (first half of sign-in)',
  signin: 'POST /api/v1/session (second half of sign-in)',
  upload: 'POST /api/v1/submissions (the upload)',
  status: 'GET /api/v1/submissions and /api/v1/submissions/<收件序號> (處理狀態 queries)',
  files: 'GET /api/v1/files and /api/v1/files/<id> (the listing of check files)',
  download: 'GET /api/v1/files/<id>/content (a check file’s content)',
  resend: '/api/v1/resend-requests (申請重送)',
  notices: '/api/v1/notices (公告事項)',
  contact: '/api/v1/contact (聯絡窗口)',
} as const;

export type FaultTarget = keyof typeof FAULT_TARGETS;

export const FAULT_ACTIONS = {
  reset: 'drop the connection before handling the request',
  'reset-mid-upload': 'read part of the request body (after-bytes=N, default 1024), then drop the connection: nothing is committed',
  'reset-after-commit': 'upload only: commit the submission, then drop the connection before answering',
  'reset-mid-response': 'handle the request, send part of the answer (after-bytes=N, default half), then drop the connection',
  '429': 'answer 429 without handling the request',
  '500': 'answer 500 without handling the request',
  '502': 'answer 502 without handling the request',
  '503': 'answer 503 without handling the request',
  '504': 'answer 504 without handling the request',
  slow: 'wait DURATION (slow:8s) before handling the request',
  'slow-after-commit': 'upload only: commit the submission, then wait DURATION before answering',
  'expire-session': 'end every open session, then handle the request (the client must sign in again)',
  trickle: 'send the answer’s body at RATE bytes per second (trickle:4k, trickle=512/s)',
} as const;

export type FaultActionName = keyof typeof FAULT_ACTIONS;

export interface FaultRule {
  /** The rule as written (normalised), for messages. */
  text: string;
  target: FaultTarget;
  action: FaultActionName;
  /** Applies at the request, or after the upload was committed. */
  phase: 'request' | 'upload-committed';
  /** What the sandbox does. */
  fault: FaultAction;
  /** Fire at most this many times (default: every matching request). */
  times: number;
  /** Let this many matching requests through first. */
  skip: number;
}

const STATUS_CODES: Record<number, string> = { 429: 'TOO_MANY_REQUESTS', 500: 'INTERNAL', 502: 'BAD_GATEWAY', 503: 'SERVICE_UNAVAILABLE', 504: 'GATEWAY_TIMEOUT' };

function specError(rule: string, what: string): never {
  throw usageError('BAD_FAULT_SPEC', `fault “${rule}”: ${what}`, {
    hint: 'Write RULE[,RULE…] with RULE = [TARGET:]ACTION[:OPTION…], e.g. upload:reset-after-commit:once,status:503:retry-after=2:times=3,slow:8s (see docs/security.md).',
  });
}

function count(rule: string, name: string, v: string | undefined, min: number): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) specError(rule, `${name} needs a whole number ≥ ${min}${v === undefined ? '' : ` (got “${v}”)`}`);
  return Number(v);
}

/** `4096`, `4k`, `4KiB`, `1m`, `512/s`, `2kb/s` → bytes (per second). */
export function parseByteRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?(?:\/s)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const n = Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1);
  return n >= 1 ? Math.round(n) : undefined;
}

/** Parses one rule, e.g. `status:503:retry-after=2:times=3`. */
export function parseFaultRule(raw: string): FaultRule {
  const rule = raw.trim();
  if (!rule) specError(raw, 'is empty');
  const parts = rule.split(':').map((p) => p.trim());
  let target: FaultTarget = 'any';
  let explicitTarget = false;
  const first = parts[0]!.toLowerCase();
  if (first === '*' || Object.hasOwn(FAULT_TARGETS, first)) {
    target = first === '*' ? 'any' : (first as FaultTarget);
    explicitTarget = true;
    parts.shift();
  }
  if (parts.length === 0 || !parts[0]) specError(rule, `names no action (one of ${Object.keys(FAULT_ACTIONS).join(', ')})`);
  // An action may carry its value as `slow=8s` as well as `slow:8s`.
  const [actionWritten, inlineValue] = parts.shift()!.split(/=(.*)/s, 2) as [string, string | undefined];
  const actionText = actionWritten.toLowerCase();
  if (!Object.hasOwn(FAULT_ACTIONS, actionText)) {
    specError(rule, Object.hasOwn(FAULT_TARGETS, actionText) || explicitTarget ? `“${actionText}” is not an action (${Object.keys(FAULT_ACTIONS).join(', ')})` : `“${actionText}” is neither a target (${Object.keys(FAULT_TARGETS).join(', ')}) nor an action (${Object.keys(FAULT_ACTIONS).join(', ')})`);
  }
  const action = actionText as FaultActionName;
  const afterCommit = action === 'reset-after-commit' || action === 'slow-after-commit';
  if (afterCommit) {
    if (explicitTarget && target !== 'upload') specError(rule, `${action} applies to uploads only (write upload:${action})`);
    target = 'upload';
  }
  if (action === 'reset-mid-upload') {
    if (explicitTarget && target !== 'upload') specError(rule, 'reset-mid-upload applies to uploads only');
    target = 'upload';
  }

  let times = Number.POSITIVE_INFINITY;
  let skip = 0;
  let retryAfter: number | undefined;
  let html = false;
  let afterBytes: number | undefined;
  let value = inlineValue;
  for (const opt of parts) {
    const [k, v] = opt.split(/=(.*)/s, 2) as [string, string | undefined];
    const key = k.toLowerCase();
    if (key === 'once' && v === undefined) times = 1;
    else if (key === 'always' && v === undefined) times = Number.POSITIVE_INFINITY;
    else if (key === 'times') times = count(rule, 'times', v, 1);
    else if (key === 'skip') skip = count(rule, 'skip', v, 0);
    else if (key === 'retry-after') retryAfter = count(rule, 'retry-after', v, 0);
    else if (key === 'html' && v === undefined) html = true;
    else if (key === 'after-bytes') afterBytes = count(rule, 'after-bytes', v, 0);
    else if (v === undefined && value === undefined && (action === 'slow' || action === 'slow-after-commit' || action === 'trickle')) value = opt;
    else specError(rule, `unknown option “${opt}” (once, times=N, skip=N${/^\d+$/.test(action) ? ', retry-after=SECONDS, html' : ''}${action.startsWith('reset-mid') ? ', after-bytes=N' : ''})`);
  }
  const isStatus = /^\d{3}$/.test(action);
  if ((retryAfter !== undefined || html) && !isStatus) specError(rule, 'retry-after and html go with a status action (429, 500, 502, 503, 504)');
  if (afterBytes !== undefined && !action.startsWith('reset-mid')) specError(rule, 'after-bytes goes with reset-mid-upload or reset-mid-response');
  if (value !== undefined && action !== 'slow' && action !== 'slow-after-commit' && action !== 'trickle') specError(rule, `${action} takes no value`);

  let fault: FaultAction;
  switch (action) {
    case 'reset':
      fault = { kind: 'reset' };
      break;
    case 'reset-mid-upload':
      fault = { kind: 'reset', afterBodyBytes: afterBytes ?? 1024 };
      break;
    case 'reset-after-commit':
      fault = { kind: 'reset' };
      break;
    case 'reset-mid-response':
      fault = { kind: 'cut-response', ...(afterBytes !== undefined ? { afterBytes } : {}) };
      break;
    case 'slow':
    case 'slow-after-commit': {
      const ms = value === undefined ? undefined : parseDuration(value);
      if (ms === undefined) specError(rule, `${action} needs a duration, e.g. ${action}:8s`);
      fault = { kind: 'delay', ms };
      break;
    }
    case 'trickle': {
      const bps = value === undefined ? undefined : parseByteRate(value);
      if (bps === undefined) specError(rule, 'trickle needs a rate in bytes per second, e.g. trickle:4k');
      fault = { kind: 'trickle', bytesPerSecond: bps };
      break;
    }
    case 'expire-session':
      fault = { kind: 'end-sessions' };
      break;
    default: {
      const status = Number(action);
      fault = { kind: 'status', status, code: STATUS_CODES[status]!, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}), ...(html ? { html: true } : {}) };
    }
  }
  const opts = [times === 1 ? 'once' : Number.isFinite(times) ? `times=${times}` : '', skip ? `skip=${skip}` : '', retryAfter !== undefined ? `retry-after=${retryAfter}` : '', html ? 'html' : '', afterBytes !== undefined ? `after-bytes=${afterBytes}` : '', value !== undefined ? value : ''].filter(Boolean);
  return { text: [target, action, ...opts].join(':'), target, action, phase: afterCommit ? 'upload-committed' : 'request', fault, times, skip };
}

/** Parses a whole spec (`RULE,RULE,…`); an empty spec has no rules. */
export function parseFaultSpec(spec: string): FaultRule[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map(parseFaultRule);
}

/** Does `target` name this request? */
export function targetMatches(target: FaultTarget, method: string, path: string): boolean {
  const p = path.replace(/\/+$/, '') || '/';
  switch (target) {
    case 'any':
      return true;
    case 'info':
      return p === '/api/v1';
    case 'challenge':
      return method === 'POST' && p === '/api/v1/session/challenge';
    case 'signin':
      return method === 'POST' && p === '/api/v1/session';
    case 'upload':
      return method === 'POST' && p === '/api/v1/submissions';
    case 'status':
      return method === 'GET' && /^\/api\/v1\/submissions(\/[^/]+)?$/.test(p);
    case 'files':
      return method === 'GET' && /^\/api\/v1\/files(\/[^/]+)?$/.test(p);
    case 'download':
      return method === 'GET' && /^\/api\/v1\/files\/[^/]+\/content$/.test(p);
    case 'resend':
      return p.startsWith('/api/v1/resend-requests');
    case 'notices':
      return p.startsWith('/api/v1/notices');
    case 'contact':
      return p === '/api/v1/contact';
  }
}

export interface SpecHook extends FaultHook {
  readonly rules: readonly FaultRule[];
  /** How many times each rule fired, in rule order. */
  readonly fired: number[];
  /** How many requests each rule matched (fired or let through). */
  readonly matched: number[];
}

/**
 * A hook from rules (or a spec): each rule counts the requests it matches, lets `skip` of them
 * through, then fires `times` times at most. All rules that fire on a request apply, in order.
 */
export function faultsFromSpec(spec: string | FaultRule[]): SpecHook {
  const rules = typeof spec === 'string' ? parseFaultSpec(spec) : spec;
  const fired = rules.map(() => 0);
  const matched = rules.map(() => 0);
  const hook = ((p: FaultPoint) => {
    const out: FaultAction[] = [];
    rules.forEach((r, i) => {
      if (r.phase !== p.phase) return;
      const applies = p.phase === 'request' ? targetMatches(r.target, p.method, p.path) : r.target === 'upload';
      if (!applies) return;
      matched[i]!++;
      if (matched[i]! <= r.skip || fired[i]! >= r.times) return;
      fired[i]!++;
      out.push(r.fault);
    });
    return out.length === 0 ? undefined : out.length === 1 ? out[0] : out;
  }) as SpecHook;
  Object.defineProperties(hook, { rules: { value: rules }, fired: { value: fired }, matched: { value: matched } });
  return hook;
}

// ---------------------------------------------------------------------------------------------
// Applying an action (the sandbox calls this)
// ---------------------------------------------------------------------------------------------

export interface FaultContext {
  /** Ends every open session; returns how many. */
  endSessions(): number;
  /** Sends a JSON answer (the sandbox's own). */
  send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  log?: IoHost | undefined;
  /** For messages: what the request was. */
  what: string;
}

function describe(a: FaultAction): string {
  switch (a.kind) {
    case 'reset':
      return a.afterBodyBytes !== undefined ? `connection dropped after ${a.afterBodyBytes} bytes of the body` : 'connection dropped';
    case 'status':
      return `answered ${a.status}${a.retryAfterSeconds !== undefined ? ` (Retry-After: ${a.retryAfterSeconds})` : ''}`;
    case 'delay':
      return `delayed ${a.ms} ms`;
    case 'end-sessions':
      return 'sessions ended';
    case 'trickle':
      return `answer trickled at ${a.bytesPerSecond} B/s`;
    case 'cut-response':
      return `answer cut after ${a.afterBytes ?? 'half its'} bytes`;
  }
}

/**
 * Applies what a hook answered. Resolves true when the request was dealt with (dropped or
 * answered) and must not be handled; false when handling goes on (after a delay, with the
 * sessions ended, or with the answer trickled or cut short).
 */
export async function applyFaults(answer: FaultAction | FaultAction[] | undefined, req: IncomingMessage, res: ServerResponse, ctx: FaultContext): Promise<boolean> {
  if (!answer) return false;
  for (const action of Array.isArray(answer) ? answer : [answer]) {
    ctx.log?.notify({ level: 'warn', code: 'SANDBOX_FAULT', message: `fault injected: ${ctx.what}: ${describe(action)}`, data: { fault: action } });
    switch (action.kind) {
      case 'reset':
        if (action.afterBodyBytes !== undefined) await readSome(req, action.afterBodyBytes);
        req.socket.destroy();
        return true;
      case 'status': {
        req.resume();
        const headers: Record<string, string> = action.retryAfterSeconds !== undefined ? { 'Retry-After': String(action.retryAfterSeconds) } : {};
        if (action.html) {
          // What a reverse proxy in front of the portal sends: not the portal's JSON.
          const page = `<html><head><title>${action.status}</title></head><body><h1>${action.status}</h1></body></html>\n`;
          if (!res.headersSent && !res.destroyed) {
            res.writeHead(action.status, { 'Content-Type': 'text/html', 'Content-Length': String(Buffer.byteLength(page)), ...headers });
            res.end(page);
          }
        } else {
          ctx.send(res, action.status, { error: { code: action.code ?? STATUS_CODES[action.status] ?? 'FAULT_INJECTED', message: `injected ${action.status}` } }, headers);
        }
        return true;
      }
      case 'delay':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, action.ms);
          // A client that gave up does not keep the sandbox waiting.
          res.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        break;
      case 'end-sessions':
        ctx.endSessions();
        break;
      case 'trickle':
        shapeBody(res, { bytesPerSecond: action.bytesPerSecond });
        break;
      case 'cut-response':
        shapeBody(res, { cutAfter: action.afterBytes });
        break;
    }
  }
  return false;
}

/** Reads up to `n` bytes of the request body (or all of it, if shorter). */
function readSome(req: IncomingMessage, n: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const done = () => {
      req.off('data', onData);
      req.pause();
      resolve();
    };
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= n) done();
    };
    if (n === 0) return resolve();
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
  });
}

type Chunk = string | Uint8Array;

/**
 * Takes over the response's body: paces it (`bytesPerSecond`, in ticks of 100 ms) and/or drops
 * the connection after `cutAfter` bytes (`null`: half the declared Content-Length).
 */
function shapeBody(res: ServerResponse, o: { bytesPerSecond?: number; cutAfter?: number | undefined }): void {
  const write = res.write.bind(res) as (c: Chunk) => boolean;
  const end = res.end.bind(res) as () => ServerResponse;
  const queue: Buffer[] = [];
  let ending = false;
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const tickMs = 100;
  const perTick = o.bytesPerSecond ? Math.max(1, Math.round((o.bytesPerSecond * tickMs) / 1000)) : Number.POSITIVE_INFINITY;
  const limit = (): number => {
    if (!('cutAfter' in o)) return Number.POSITIVE_INFINITY;
    if (o.cutAfter !== undefined) return o.cutAfter;
    const declared = Number(res.getHeader('content-length'));
    return Number.isFinite(declared) && declared > 0 ? Math.floor(declared / 2) : 0;
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const pump = () => {
    if (res.destroyed) return stop();
    let budget = perTick;
    const cut = limit();
    while (budget > 0 && queue.length > 0) {
      const room = cut - sent;
      if (room <= 0) {
        stop();
        res.socket?.destroy();
        return;
      }
      const head = queue[0]!;
      const n = Math.min(head.length, budget, room);
      write(head.subarray(0, n));
      sent += n;
      budget -= n;
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
    }
    if (queue.length === 0 && ending) {
      stop();
      end();
      return;
    }
    if (cut - sent <= 0 && queue.length > 0) {
      stop();
      res.socket?.destroy();
    }
  };
  const start = () => {
    if (timer || res.destroyed) return;
    if (perTick === Number.POSITIVE_INFINITY) {
      pump();
      return;
    }
    timer = setInterval(pump, tickMs);
    pump();
  };
  res.once('close', stop);
  const toBuffer = (c: unknown): Buffer | undefined => (typeof c === 'string' ? Buffer.from(c) : c instanceof Uint8Array ? Buffer.from(c.buffer, c.byteOffset, c.byteLength) : undefined);
  res.write = ((chunk: unknown) => {
    const b = toBuffer(chunk);
    if (b && b.length) queue.push(b);
    start();
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    const b = toBuffer(chunk);
    if (b && b.length) queue.push(b);
    ending = true;
    start();
    return res;
  }) as typeof res.end;
}
