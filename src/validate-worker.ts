/** Worker-thread entry: `validateFile` on one large file, in a heap of bounded size (see validate.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { fixedClock } from './clock.js';
import { failureEnd, type IsolatedEnd } from './isolated.js';
import { validateFile, type FileReport, type IsolatedProgress, type IsolatedRequest } from './validate.js';

const req = workerData as IsolatedRequest;
const post = (m: IsolatedProgress | IsolatedEnd<FileReport>) => parentPort!.postMessage(m);
try {
  const report = await validateFile(req.path, {
    ...req.options,
    clock: fixedClock(req.nowMs),
    ...(req.progress ? { onProgress: (bytes: number) => post({ progress: bytes }) } : {}),
  });
  post({ done: report });
} catch (err) {
  post(failureEnd(err));
}
