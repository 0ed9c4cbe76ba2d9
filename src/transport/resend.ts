/**
 * `download --request-resend`: 申請重送 for check files past their two weeks. Each 收件序號 gets a
 * request (or the one already pending); refusals are collected per receipt. With `wait`, the
 * requests are polled with backoff until the portal offers the files again (or the timeout), so
 * the caller can download them at once.
 */
import { LabupError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { pollUntilDone, type PollOptions } from './poll.js';
import type { PortalClient } from './portal-client.js';
import type { ResendFiled, ResendRequest } from './portal-manual.js';

export interface RequestResendOptions extends PollOptions {
  client: PortalClient;
  /** 收件序號 whose check files are asked for again. */
  receipts: string[];
  /** Poll until each request is done or failed (or `timeoutMs` passes). */
  wait?: boolean;
  host?: IoHost;
}

export interface ResendFailure {
  receiptNo: string;
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export interface ResendReport {
  /** One per receipt the portal accepted, in the order given; with `wait`, as they ended. */
  requests: ResendFiled[];
  failures: ResendFailure[];
  /** `wait` ended with requests still 申請重送中. */
  timedOut: boolean;
}

export async function requestResends(o: RequestResendOptions): Promise<ResendReport> {
  if (o.receipts.length === 0) throw usageError('NO_RECEIPTS', 'give the 收件序號 whose check file should be sent again');
  for (const r of o.receipts) {
    if (!/^\d{13}$/.test(r)) throw usageError('BAD_RECEIPT', `“${r}” is not a 收件序號 (13 digits: ROC date + daily number)`, { hint: 'e.g. 1151125000001' });
  }
  const requests: ResendFiled[] = [];
  const failures: ResendFailure[] = [];
  for (const receiptNo of [...new Set(o.receipts)]) {
    try {
      const r = await o.client.requestResend(receiptNo);
      o.host?.notify({ level: 'verbose', code: 'RESEND_REQUESTED', message: `申請重送 ${r.id}: 收件序號 ${receiptNo}${r.alreadyRequested ? ' (already requested)' : ''}` });
      requests.push(r);
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      // A refused card or session refuses every receipt alike: stop at the first.
      if (err.kind === 'auth' && err.code !== 'RECEIPT_OTHER_INSTITUTION') throw err;
      failures.push({ receiptNo, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode });
    }
  }
  let timedOut = false;
  if (o.wait && requests.some((r) => r.status === 'pending')) timedOut = !(await waitForResends(o, requests));
  return { requests, failures, timedOut };
}

/** Polls until no request is pending; updates `requests` in place. False at the timeout. */
function waitForResends(o: RequestResendOptions, requests: ResendFiled[]): Promise<boolean> {
  const pending = () => requests.filter((r) => r.status === 'pending');
  return pollUntilDone(
    o,
    () => pending().length,
    (n, pauseMs) => o.host?.notify({ level: 'info', code: 'RESEND_WAITING', message: `${n} 申請重送中; asking again in ${Math.round(pauseMs / 1000)} s` }),
    async () => {
      const fresh = await o.client.listResendRequests({ receiptNos: pending().map((r) => r.receiptNo), pageSize: 100 });
      for (const f of fresh.items) {
        const i = requests.findIndex((r) => r.id === f.id);
        if (i >= 0) requests[i] = { ...requests[i]!, ...(f as ResendRequest) };
      }
    },
  );
}
