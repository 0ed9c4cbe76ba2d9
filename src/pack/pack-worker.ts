/** Worker-thread entry: `pack` on large files, in a heap of bounded size (see `pack` in pack.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { fixedClock, systemClock } from '../clock.js';
import { LabupError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { packWith, type IsolatedPackReply, type IsolatedPackRequest } from './pack.js';

const req = workerData as IsolatedPackRequest;
const post = (m: IsolatedPackReply) => parentPort!.postMessage(m);
const host: IoHost = {
  notify: (message) => post({ notify: message }),
  progress: (p) => post({ progress: p }),
};
try {
  // A large input (why it is packed here): the rules get their own thread from the start.
  const result = await packWith(req.inputs, { ...req.options, clock: req.nowMs === null ? systemClock : fixedClock(req.nowMs), ...(req.host ? { host } : {}) }, 'worker');
  post({ result });
} catch (err) {
  if (err instanceof LabupError) {
    post({ error: { kind: err.kind, code: err.code, message: err.message, exitCode: err.exitCode, ...(err.hint !== undefined ? { hint: err.hint } : {}), ...(err.details !== undefined ? { details: err.details } : {}) } });
  } else {
    post({ failed: (err as Error)?.stack ?? String(err) });
  }
}
