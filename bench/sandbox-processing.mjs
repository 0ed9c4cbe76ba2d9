#!/usr/bin/env node
// Measures the sandbox's processing of one upload: starts an in-process sandbox (its own temp folder,
// processing delay 0), signs in with the demo card, uploads the ZIP, and times from the upload's
// answer (檢核中) to the final 處理狀態. Prints {"processingSeconds", "status", "hdata"} on stdout.
//
//   node bench/sandbox-processing.mjs DAY.zip
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fixedClock } from '../dist/clock.js';
import { openCard } from '../dist/card/open.js';
import { initSandbox } from '../dist/sandbox/setup.js';
import { startSandbox } from '../dist/sandbox/server.js';
import { HttpPortalClient } from '../dist/transport/http-client.js';
import { idempotencyKey } from '../dist/transport/protocol.js';
import { sha256File } from '../dist/transport/upload.js';
import { runningClock } from '../dist/transport/connect.js';
import { BENCH_DAY } from './generate.mjs';

const zip = process.argv[2];
if (!zip) throw new Error('usage: node bench/sandbox-processing.mjs DAY.zip');
const dir = mkdtempSync(join(tmpdir(), 'labup-bench-sandbox-'));
const clock = runningClock(fixedClock(BENCH_DAY.now));
try {
  await initSandbox({ dataDir: dir, clock });
  const sb = await startSandbox({ dataDir: dir, port: 0, clock, processingDelayMs: 0, pollIntervalMs: 20, ...(process.env.BENCH_INLINE ? { processing: 'inline' } : {}) });
  const card = await openCard(sb.demo.card, { pinSource: sb.demo.pinSource });
  const client = new HttpPortalClient({ baseUrl: sb.url, noProxy: true, caPem: sb.caCertPem, requestTimeoutMs: 600_000 });
  await client.signIn({ card, userId: sb.demo.user.nationalId });
  const { sha256, size } = await sha256File(zip);
  const up = await client.upload({ file: zip, fileName: basename(zip), size, uploadDate: BENCH_DAY.uploadDate, contentSha256: sha256, idempotencyKey: idempotencyKey(sha256, BENCH_DAY.uploadDate) });
  const t0 = process.hrtime.bigint();
  let s;
  for (;;) {
    s = await client.getSubmission(up.receiptNo);
    if (s.status !== 'checking') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await client.close();
  await card.close();
  await sb.stop();
  process.stdout.write(JSON.stringify({ processingSeconds: Number(seconds.toFixed(3)), status: s.status, receiptNo: up.receiptNo }) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
