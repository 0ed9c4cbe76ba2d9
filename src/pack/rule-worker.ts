/** Worker-thread entry: `pack`'s rules on the batches it writes (see rule-runner.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThread } from '../threads.js';
import { RuleChecker } from './rule-check.js';
import type { RuleWorkerData, RuleWorkerReply, RuleWorkerRequest } from './rule-runner.js';

const data = workerData as RuleWorkerData;
if (data.lower !== null) lowerThisThread(data.lower);
const checker = new RuleChecker(data.layout, data.options);

parentPort!.on('message', (m: RuleWorkerRequest) => {
  let reply: RuleWorkerReply;
  try {
    reply = { id: m.id, findings: m.batches.map((b) => checker.check(Buffer.from(b.memory, 0, b.length), new Int32Array(b.memory, b.indexOffset, b.indexLength))) };
  } catch (err) {
    reply = { id: m.id, error: (err as Error)?.stack ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
