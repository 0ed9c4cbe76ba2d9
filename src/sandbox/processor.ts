/**
 * Time-driven processing: a submission is due at 傳送時間 + the processing delay. Due work is
 * picked up by a timer and on every request, by whichever sandbox process holds the folder — also
 * after a restart. A submission is claimed (instance id + pid) before it is processed, so two
 * processes sharing a folder never process it twice; a claim whose owner is gone is taken over.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../clock.js';
import type { IoHost } from '../io-host.js';
import type { SandboxLayout } from './layout.js';
import { processSubmission, type ProcessJob, type ProcessOutcome } from './process-submission.js';
import type { Db, SubmissionRow } from './state.js';
import { completeDueResends } from './resend.js';

/** Sandbox instances alive in this process (a claim by a stopped instance of this pid is stale). */
const LIVE_INSTANCES = new Set<string>();
/** A claim older than this (real time) is taken over whatever its owner. */
const CLAIM_TIMEOUT_MS = 30 * 60_000;
/** After an unexpected processing failure, try again this much later (sandbox time). */
const RETRY_AFTER_FAILURE_MS = 60_000;

export type ProcessingMode = 'worker' | 'inline';

export interface ProcessorOptions {
  db: Db;
  layout: SandboxLayout;
  clock: Clock;
  instanceId: string;
  retentionMs: number;
  mode?: ProcessingMode;
  host?: IoHost;
  onProcessed?: (outcome: ProcessOutcome) => void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claimIsStale(row: Pick<SubmissionRow, 'claim_instance' | 'claim_pid' | 'claimed_at'>): boolean {
  if (row.claim_instance === null) return true;
  if (row.claimed_at !== null && Date.now() - row.claimed_at > CLAIM_TIMEOUT_MS) return true;
  if (row.claim_pid === process.pid) return !LIVE_INSTANCES.has(row.claim_instance);
  return row.claim_pid === null || !pidAlive(row.claim_pid);
}

/** The compiled worker script, or null when running from TypeScript sources without a build. */
function workerScript(): URL | null {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./process-worker.js', here);
  const built = new URL('../../dist/sandbox/process-worker.js', here);
  return existsSync(fileURLToPath(built)) ? built : null;
}

export class Processor {
  private running: Promise<void> | null = null;
  private worker: Worker | null = null;
  private stopped = false;
  private readonly mode: ProcessingMode;

  constructor(private readonly o: ProcessorOptions) {
    LIVE_INSTANCES.add(o.instanceId);
    const script = workerScript();
    this.mode = o.mode ?? (script ? 'worker' : 'inline');
    if (this.mode === 'worker' && !script) this.mode = 'inline';
  }

  get processingMode(): ProcessingMode {
    return this.mode;
  }

  /** Starts processing due work in the background (no-op when already running). */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Processes everything due now, and resolves when nothing due is left. */
  async drain(): Promise<void> {
    for (;;) {
      this.kick();
      if (this.running) await this.running;
      if (this.stopped || !this.nextClaimable()) return;
    }
  }

  /** Stops processing: an unfinished job is abandoned and its claim released for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.worker;
    if (w) await w.terminate();
    if (this.running) await this.running.catch(() => undefined);
    try {
      this.o.db.prepare('UPDATE submissions SET claim_instance = NULL, claim_pid = NULL, claimed_at = NULL WHERE claim_instance = ?').run(this.o.instanceId);
    } catch {
      // the database may already be closed
    }
    LIVE_INSTANCES.delete(this.o.instanceId);
  }

  /** Marks files past their retention as expired, and completes the 申請重送 that are due. */
  sweep(): void {
    const now = this.o.clock.now().getTime();
    this.o.db.prepare("UPDATE files SET state = 'expired' WHERE state = 'available' AND expires_at <= ?").run(now);
    completeDueResends(this.o.db, this.o.clock, this.o.retentionMs, this.o.host);
  }

  private nextClaimable(): SubmissionRow | undefined {
    const now = this.o.clock.now().getTime();
    const rows = this.o.db.prepare("SELECT * FROM submissions WHERE status = 'checking' AND due_at <= ? ORDER BY due_at, id LIMIT 100").all(now) as SubmissionRow[];
    return rows.find(claimIsStale);
  }

  private claimNext(): SubmissionRow | undefined {
    return this.o.db
      .transaction(() => {
        const row = this.nextClaimable();
        if (!row) return undefined;
        const r = this.o.db
          .prepare('UPDATE submissions SET claim_instance = ?, claim_pid = ?, claimed_at = ? WHERE id = ? AND claim_instance IS ? AND status = ?')
          .run(this.o.instanceId, process.pid, Date.now(), row.id, row.claim_instance, 'checking');
        return r.changes === 1 ? row : undefined;
      })
      .immediate();
  }

  private async loop(): Promise<void> {
    this.sweep();
    while (!this.stopped) {
      const row = this.claimNext();
      if (!row) return;
      const job: ProcessJob = {
        dbFile: this.o.layout.db,
        resultsDir: this.o.layout.results,
        submissionId: row.id,
        claimInstance: this.o.instanceId,
        startedAtMs: this.o.clock.now().getTime(),
        retentionMs: this.o.retentionMs,
      };
      try {
        const outcome = this.mode === 'worker' ? await this.runInWorker(job) : await processSubmission(job);
        if (outcome) {
          this.o.host?.notify({ level: 'info', code: 'SANDBOX_PROCESSED', message: `收件序號 ${outcome.receiptNo}: ${outcome.status === 'passed' ? '檢核正確' : `檢核錯誤 (${outcome.errorCount} errors)`}` });
          this.o.onProcessed?.(outcome);
        }
      } catch (err) {
        if (this.stopped) return;
        this.o.host?.notify({ level: 'error', code: 'SANDBOX_PROCESSING_FAILED', message: `收件序號 ${row.receipt_no}: processing failed (${(err as Error).message}); retrying in a minute` });
        this.o.db
          .prepare('UPDATE submissions SET claim_instance = NULL, claim_pid = NULL, claimed_at = NULL, due_at = ? WHERE id = ? AND claim_instance = ?')
          .run(this.o.clock.now().getTime() + RETRY_AFTER_FAILURE_MS, row.id, this.o.instanceId);
      }
    }
  }

  private runInWorker(job: ProcessJob): Promise<ProcessOutcome | undefined> {
    return new Promise((resolve, reject) => {
      const w = new Worker(workerScript()!, { workerData: job });
      this.worker = w;
      let settled = false;
      w.once('message', (m: { ok: boolean; outcome?: ProcessOutcome; message?: string }) => {
        settled = true;
        if (m.ok) resolve(m.outcome);
        else reject(new Error(m.message));
      });
      w.once('error', (err) => {
        settled = true;
        reject(err);
      });
      w.once('exit', (code) => {
        this.worker = null;
        if (!settled) {
          if (this.stopped) resolve(undefined);
          else reject(new Error(`the processing worker exited with code ${code}`));
        }
      });
    });
  }
}
