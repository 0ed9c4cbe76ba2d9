/** Worker-thread entry: `validateFile` on one large file, in a heap of bounded size (see validate.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { fixedClock } from './clock.js';
import { LabupError } from './errors.js';
import { validateFile, type IsolatedRequest, type IsolatedReply } from './validate.js';

const req = workerData as IsolatedRequest;
const post = (m: IsolatedReply) => parentPort!.postMessage(m);
try {
  const report = await validateFile(req.path, {
    ...req.options,
    clock: fixedClock(req.nowMs),
    ...(req.progress ? { onProgress: (bytes: number) => post({ progress: bytes }) } : {}),
  });
  post({ report });
} catch (err) {
  if (err instanceof LabupError) {
    post({ error: { kind: err.kind, code: err.code, message: err.message, exitCode: err.exitCode, ...(err.hint !== undefined ? { hint: err.hint } : {}), ...(err.details !== undefined ? { details: err.details } : {}) } });
  } else {
    post({ failed: (err as Error)?.stack ?? String(err) });
  }
}
