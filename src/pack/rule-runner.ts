/**
 * Where `pack` runs the rules: in its own thread for a small input, and — once the input proves
 * large — in a worker thread, so that reading and writing (this thread), the rules (the worker)
 * and deflate (zlib's thread pool) overlap. Results always come back in the order the batches were
 * handed over; the worker takes over the keys seen so far, so DUPLICATE_KEY spans the whole file.
 */
import { Worker } from 'node:worker_threads';
import { isolatedScript } from '../isolated.js';
import { helperPriority } from '../threads.js';
import { RuleChecker, type RuleCheckOptions, type RuleFinding } from './rule-check.js';
import type { XmlBatch, XmlLayout } from './xml-batch.js';

export type RulesWhere = 'thread' | 'worker' | 'auto';

/** What the worker is started with. */
export interface RuleWorkerData {
  layout: XmlLayout;
  options: RuleCheckOptions;
  /** The nice value to run at (a helper's of the thread that starts it: see threads.ts), or null. */
  lower: number | null;
}

/** Batches handed to the worker in one message: shared memory holding each batch's bytes, then its index. */
export interface RuleWorkerRequest {
  id: number;
  batches: Array<{ memory: SharedArrayBuffer; length: number; indexOffset: number; indexLength: number }>;
}

/** The findings of each batch of a request, in order. */
export type RuleWorkerReply = { id: number; findings: RuleFinding[][] } | { id: number; error: string };

/** The compiled worker script, or null when running from TypeScript sources without a build. */
const workerScript = (): URL | null => isolatedScript(import.meta.url, './rule-worker.js', '../../dist/pack/rule-worker.js');

/** XML written before the rules move to a worker under `auto` (a worker costs a start-up). */
const AUTO_WORKER_AFTER_BYTES = 8 * 1024 * 1024;
/** Batches go to the worker in messages of about this many bytes (fewer messages, less overhead). */
const MESSAGE_BYTES = 1024 * 1024;
/** The worker's young generation (V8's default is several times larger). */
const WORKER_YOUNG_MB = 4;
/** Messages with the worker and not yet answered, at most. */
const IN_FLIGHT = 3;

interface Pending {
  batch: XmlBatch;
  shared: SharedArrayBuffer;
  released: () => void;
}

interface Message {
  id: number;
  batches: Pending[];
  done: Promise<void>;
  settle: () => void;
}

export class RuleRunner {
  private readonly checker: RuleChecker;
  private worker: Worker | null = null;
  private failed: Error | null = null;
  private nextId = 0;
  /** Batches for the next message. */
  private outbox: Pending[] = [];
  private outboxBytes = 0;
  /** Messages with the worker, oldest first (it answers in order). */
  private readonly queue: Message[] = [];
  private written = 0;
  private readonly script: URL | null;

  /**
   * `onResult` receives each batch's findings, in the order the batches were submitted (a worker's
   * answer, or at once when checked in this thread). `lower`: the worker runs at a helper's
   * priority (see threads.ts).
   */
  constructor(
    private readonly layout: XmlLayout,
    private readonly options: RuleCheckOptions,
    private readonly where: RulesWhere,
    private readonly lower: boolean,
    private readonly onResult: (batch: XmlBatch, findings: RuleFinding[]) => void,
  ) {
    this.checker = new RuleChecker(layout, options);
    this.script = where === 'thread' ? null : workerScript();
    // Told to use a worker: it starts now, loading its code while this thread starts reading.
    if (where === 'worker' && this.script) this.start();
  }

  /** Whether this batch will go to the worker (its findings come later). */
  goesToWorker(batch: XmlBatch): boolean {
    return this.worker !== null || (batch.shared !== null && this.script !== null);
  }

  /** Whether the next batch should come in shared memory (it will go to a worker). */
  get wantsShared(): boolean {
    return this.script !== null && (this.worker !== null || this.where === 'worker' || this.written > AUTO_WORKER_AFTER_BYTES);
  }

  /**
   * Hands over a batch; resolves when another may follow. A batch goes to the worker when it lies in
   * shared memory (see {@link wantsShared}); once the worker has started, every batch does.
   * `released` is called once the rules are done with the batch's bytes.
   */
  async submit(batch: XmlBatch, released: () => void): Promise<void> {
    if (this.failed) throw this.failed;
    this.written += batch.bytes.length;
    let shared = batch.shared;
    if (!this.worker && shared && this.script) this.start();
    if (!this.worker) {
      this.onResult(batch, this.checker.check(batch.bytes, batch.index));
      released();
      return;
    }
    if (!shared) {
      shared = new SharedArrayBuffer(batch.indexOffset + batch.index.byteLength);
      Buffer.from(shared).set(batch.bytes);
      new Int32Array(shared, batch.indexOffset, batch.index.length).set(batch.index);
    }
    this.outbox.push({ batch, shared, released });
    this.outboxBytes += batch.bytes.length;
    if (this.outboxBytes < MESSAGE_BYTES) return;
    this.post();
    if (this.queue.length >= IN_FLIGHT) await this.queue[0]!.done;
    if (this.failed) throw this.failed;
  }

  /** Waits until every batch handed over is answered. */
  async drain(): Promise<void> {
    if (this.outbox.length > 0) this.post();
    while (this.queue.length > 0) await this.queue[0]!.done;
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private post(): void {
    const batches = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const id = this.nextId++;
    this.queue.push({ id, batches, done, settle });
    const req: RuleWorkerRequest = {
      id,
      batches: batches.map((p) => ({ memory: p.shared, length: p.batch.bytes.length, indexOffset: p.batch.indexOffset, indexLength: p.batch.index.length })),
    };
    this.worker!.postMessage(req);
  }

  private start(): void {
    const data: RuleWorkerData = { layout: this.layout, options: { ...this.options, keys: this.checker.keyState }, lower: this.lower ? helperPriority() : null };
    // What the worker allocates dies young (one record at a time): a small young generation keeps
    // its memory down at no cost.
    const w = new Worker(this.script!, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    this.worker = w;
    w.on('message', (m: RuleWorkerReply) => {
      const head = this.queue.shift();
      if (!head) return;
      if (head.id !== m.id) this.failed ??= new Error(`the rule checker answered message ${m.id} for ${head.id}`);
      else if ('error' in m) this.failed ??= new Error(`the rule checker failed: ${m.error}`);
      else if (!this.failed) head.batches.forEach((p, k) => this.onResult(p.batch, m.findings[k]!));
      for (const p of head.batches) p.released();
      head.settle();
    });
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => {
      if (this.worker === w && this.queue.length > 0) this.fail(new Error(`the rule checker exited with code ${code}`));
    });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const q of this.queue.splice(0)) q.settle();
  }
}
