/** Worker-thread entry: processes one submission off the sandbox's event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { processSubmission, type ProcessJob } from './process-submission.js';

try {
  const outcome = await processSubmission(workerData as ProcessJob);
  parentPort?.postMessage({ ok: true, outcome });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: (err as Error)?.message ?? String(err) });
}
