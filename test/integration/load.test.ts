/**
 * Load: 20 clients × 10 uploads against one sandbox, over real HTTP on 127.0.0.1, while the
 * sandbox processes what it received (its worker thread writing to the same SQLite file). The
 * clients run in 4 threads, 5 each, every client with its own connection to one shared journal
 * (labup.db), as several labup processes on one LABUP_HOME would. Some answers are lost after the
 * commit and some uploads are turned away with 503, so retries and replays run under load too.
 *
 * (The sandbox checks one submission at a time, in a fresh worker thread, so only part of the
 * 200 is checked by the time the uploads end; that part is enough to make the two writers meet.)
 *
 * Checked: every 收件序號 unique, consecutive and increasing in the order the portal committed them,
 * and increasing for each client; no submission lost (each client's 收件序號 is the sandbox's record
 * of that ZIP, and the journal holds all 200 as sent); no error, and no SQLITE_BUSY, reaching a
 * client or the sandbox's log; both databases pass integrity_check.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import type { IoMessage } from '../../src/io-host.js';
import { initSandbox } from '../../src/sandbox/setup.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import type { FaultPoint } from '../../src/sandbox/faults.js';
import { runningClock } from '../../src/transport/connect.js';
import { NOW, record, tempDir, uploadZip } from './sandbox-support.js';

const CLIENTS = 20;
const UPLOADS = 10;
const THREADS = 4;

interface Outcome {
  client: string;
  i: number;
  file: string;
  receiptNo?: string;
  sha256?: string;
  replayed?: boolean;
  error?: { code: string; message: string; stack: string };
  ms: number;
}

const dir = tempDir('labup-load-');
let sb: RunningSandbox | undefined;
afterAll(async () => {
  await sb?.stop();
  dir.remove();
});

function runThread(workerData: unknown): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('../helpers/load-worker.mjs', import.meta.url), { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited ${code}`)));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

describe('load', () => {
  it(`${CLIENTS} clients × ${UPLOADS} uploads: unique, increasing 收件序號, nothing lost, no SQLITE_BUSY`, async () => {
    // given a sandbox that processes uploads 200 ms after they arrive, logging everything it does,
    // losing the answer of every 25th new upload and turning away every 40th request with a 503
    const data = join(dir.path, 'sandbox');
    const log: IoMessage[] = [];
    const clock = runningClock(fixedClock(NOW));
    await initSandbox({ dataDir: data, clock });
    let commits = 0;
    let uploadsSeen = 0;
    const faults = { lost: 0, busy: 0 };
    sb = await startSandbox({
      dataDir: data,
      clock,
      processingDelayMs: 200,
      pollIntervalMs: 50,
      log: { notify: (m) => void log.push(m) },
      faults: (p: FaultPoint) => {
        if (p.phase === 'upload-committed' && !p.replayed && ++commits % 25 === 0) {
          faults.lost++;
          return { kind: 'reset' };
        }
        if (p.phase === 'request' && p.method === 'POST' && p.path === '/api/v1/submissions' && ++uploadsSeen % 40 === 0) {
          faults.busy++;
          return { kind: 'status', status: 503, retryAfterSeconds: 0 };
        }
        return undefined;
      },
    });
    expect(sb.processing).toBe('worker');
    // and 200 different ZIPs, 10 for each of 20 clients
    const zipDir = join(dir.path, 'zips');
    mkdirSync(zipDir);
    const plan: Array<{ name: string; zips: string[] }> = [];
    for (let c = 0; c < CLIENTS; c++) {
      const zips: string[] = [];
      for (let i = 0; i < UPLOADS; i++) zips.push(await uploadZip(zipDir, `C${c}U${i}.zip`, [record(1000 + c * UPLOADS + i), record(5000 + c * UPLOADS + i)]));
      plan.push({ name: `client${c}`, zips });
    }
    const journal = join(dir.path, 'home', 'labup.db');
    mkdirSync(join(dir.path, 'home'));
    const before = sb.admin.counts().submissions;

    // when the 20 clients upload at the same time, 5 to a thread
    const t0 = performance.now();
    const perThread = CLIENTS / THREADS;
    const outcomes = (
      await Promise.all(
        Array.from({ length: THREADS }, (_, k) =>
          runThread({ url: sb!.url, card: sb!.demo!.card, pinSource: sb!.demo!.pinSource, userId: sb!.demo!.user.nationalId, journal, now: NOW, clients: plan.slice(k * perThread, (k + 1) * perThread) }),
        ),
      )
    ).flat();
    const elapsed = performance.now() - t0;

    // then every upload succeeded: no error (SQLITE_BUSY or any other) reached a client
    expect(outcomes).toHaveLength(CLIENTS * UPLOADS);
    expect(outcomes.filter((o) => o.error).map((o) => `${o.client}#${o.i}: ${o.error!.code} ${o.error!.message}`)).toEqual([]);
    // and the faults fired, and every lost answer came back as a replay of the committed submission
    expect(faults.lost).toBeGreaterThanOrEqual(7);
    expect(faults.busy).toBeGreaterThanOrEqual(4);
    expect(outcomes.filter((o) => o.replayed)).toHaveLength(faults.lost);
    // and every 收件序號 is unique, of today, and consecutive from the first
    const receipts = outcomes.map((o) => o.receiptNo!);
    expect(new Set(receipts).size).toBe(CLIENTS * UPLOADS);
    expect(receipts.every((r) => /^1151125\d{6}$/.test(r))).toBe(true);
    const numbers = receipts.map((r) => Number(r.slice(7))).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: CLIENTS * UPLOADS }, (_, i) => numbers[0]! + i));
    // and increasing for each client, in the order it sent its ZIPs
    for (const p of plan) {
      const mine = outcomes.filter((o) => o.client === p.name).sort((a, b) => a.i - b.i).map((o) => o.receiptNo!);
      expect([...mine].sort()).toEqual(mine);
    }
    // and nothing lost: the sandbox holds exactly these 200, each with the ZIP its client sent,
    // numbered in the order it committed them
    const rows = sb.admin.submissions().slice(before);
    expect(rows).toHaveLength(CLIENTS * UPLOADS);
    expect(sb.admin.counts().submissions).toBe(before + CLIENTS * UPLOADS);
    const bySha = new Map(rows.map((r) => [r.contentSha256, r.receiptNo]));
    for (const o of outcomes) expect(bySha.get(o.sha256!), o.file).toBe(o.receiptNo);
    expect(rows.map((r) => r.receiptNo)).toEqual([...rows.map((r) => r.receiptNo)].sort());
    // and the shared journal holds all 200 as sent, with the portal's numbers
    const j = openDatabase(journal, { readonly: true });
    try {
      expect(j.pragma('integrity_check', { simple: true })).toBe('ok');
      const entries = j.prepare('SELECT state, receipt_no, content_sha256 FROM submissions').all() as Array<{ state: string; receipt_no: string; content_sha256: string }>;
      expect(entries).toHaveLength(CLIENTS * UPLOADS);
      expect(entries.every((e) => e.state === 'sent' && bySha.get(e.content_sha256) === e.receipt_no)).toBe(true);
    } finally {
      j.close();
    }
    // and the sandbox was checking them all along (its worker writing to the same database), none failed
    const processed = log.filter((m) => m.code === 'SANDBOX_PROCESSED').length;
    expect(processed).toBeGreaterThan(0);
    expect(sb.admin.counts().failed).toBe(0);
    expect(sb.admin.counts().passed).toBeGreaterThanOrEqual(processed);
    // and nothing went wrong on the sandbox's side: no error logged, no 5xx but the injected 503s, no SQLITE_BUSY
    expect(log.filter((m) => m.level === 'error')).toEqual([]);
    const answers = log.filter((m) => m.code === 'SANDBOX_REQUEST').map((m) => m.message);
    expect(answers.filter((a) => / → 5\d\d /.test(a))).toHaveLength(faults.busy);
    expect(log.filter((m) => /SQLITE_BUSY|database is locked/i.test(m.message))).toEqual([]);
    const sdb = openDatabase(join(data, 'sandbox.db'), { readonly: true });
    try {
      expect(sdb.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      sdb.close();
    }

    const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
    console.info(
      `load: ${outcomes.length} uploads by ${CLIENTS} clients in ${(elapsed / 1000).toFixed(1)} s (${(outcomes.length / (elapsed / 1000)).toFixed(0)}/s); ` +
        `per upload p50 ${percentile(ms, 50).toFixed(0)} ms, p95 ${percentile(ms, 95).toFixed(0)} ms, max ${ms.at(-1)!.toFixed(0)} ms; ` +
        `${faults.lost} answers lost after commit and replayed, ${faults.busy} 503s retried; ${answers.length} requests; ${processed} checked meanwhile`,
    );
  });
});
