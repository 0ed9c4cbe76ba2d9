/** Worker-thread entry: `pack` on large files, in a heap of bounded size (see `pack` in run.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { fixedClock, systemClock } from '../clock.js';
import type { IoHost, Progress } from '../io-host.js';
import { failureEnd, type IsolatedEnd } from '../isolated.js';
import { remoteDeflate } from '../archive/remote-deflate.js';
import { currentThreadId } from '../threads.js';
import { packWith, type IsolatedPackMessage, type IsolatedPackRequest, type PackResult } from './pack.js';

const req = workerData as IsolatedPackRequest;
const post = (m: IsolatedPackMessage | IsolatedEnd<PackResult>) => parentPort!.postMessage(m);
const host: IoHost = {
  notify: (message) => post({ notify: message }),
  ...(req.progress ? { progress: (p: Progress) => post({ progress: p }) } : {}),
};
if (req.options.lowerHelpers) {
  const tid = currentThreadId();
  if (tid !== null) post({ pipelineThread: tid });
}
try {
  // A large input (why it is packed here): the rules get their own thread from the start, and the
  // thread that started this one — idle until the result — compresses the ZIP.
  const options = { ...req.options, clock: req.nowMs === null ? systemClock : fixedClock(req.nowMs), ...(req.host ? { host } : {}) };
  const result = await packWith(req.inputs, options, 'worker', remoteDeflate(parentPort!));
  post({ done: result });
} catch (err) {
  post(failureEnd(err));
}
