/**
 * `pack`'s entry: where a pack runs. A large input (files only) is packed in a worker thread with a
 * small young generation, and this thread — otherwise only waiting — compresses the ZIP for it;
 * anything else runs in the calling thread. The result is the same either way.
 *
 * Kept apart from pack.ts so that a thread that only starts the worker does not load the packing
 * code itself.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemClock } from '../clock.js';
import { ISOLATE_FROM_BYTES, isolatedScript, runIsolated } from '../isolated.js';
import type { IoMessage, Progress } from '../io-host.js';
import { DeflateService, isDeflateRequest, type DeflateRequest } from '../archive/remote-deflate.js';
import { lowerAllThreadsBut } from '../threads.js';
import type { PackInput, PackOptions, PackResult } from './pack.js';

/** Packs `inputs` into one upload ZIP. Bad data is reported in the result; bad usage throws a LabupError. */
export async function pack(inputs: PackInput[], options: PackOptions = {}): Promise<PackResult> {
  if (await isolate(inputs, options)) return packIsolated(inputs as string[], options);
  const { packWith } = await import('./pack.js');
  return packWith(inputs, options, 'auto');
}

/** What a worker packing large files is given. */
export interface IsolatedPackRequest {
  inputs: string[];
  /** The clock's instant, or null for the system clock. */
  nowMs: number | null;
  /** Forward notices, and progress. */
  host: boolean;
  progress: boolean;
  options: Omit<PackOptions, 'clock' | 'host'>;
}

/**
 * What a worker packing large files sends before its ending (the ZIP's bytes are compressed in
 * this thread); `pipelineThread` is its thread id, when helpers are to run below it.
 */
export type IsolatedPackMessage = { notify: IoMessage } | { progress: Progress } | { pipelineThread: number } | DeflateRequest;

const PACK_WORKER = (): URL | null => isolatedScript(import.meta.url, './pack-worker.js', '../../dist/pack/pack-worker.js');

/**
 * Whether to pack in a worker: files only and no `onHdata` (neither can cross threads), large enough, a
 * compiled worker at hand, and a clock the worker can have too (the system clock, or a fixed one).
 */
async function isolate(inputs: PackInput[], options: PackOptions): Promise<boolean> {
  if (!PACK_WORKER() || options.onHdata || inputs.length === 0 || !inputs.every((i) => typeof i === 'string')) return false;
  const clock = options.clock;
  if (clock !== undefined && clock !== systemClock && !('advance' in clock && 'set' in clock)) return false;
  let total = 0;
  for (const input of inputs as string[]) {
    try {
      total += (await stat(resolve(options.cwd ?? process.cwd(), input))).size;
    } catch {
      return false;
    }
  }
  return total >= ISOLATE_FROM_BYTES;
}

/** {@link packWith} in a worker thread whose heap is kept small, so that memory stays flat; the result is the same. */
async function packIsolated(inputs: string[], options: PackOptions): Promise<PackResult> {
  const { clock, host, ...rest } = options;
  const req: IsolatedPackRequest = {
    inputs,
    nowMs: clock === undefined || clock === systemClock ? null : clock.now().getTime(),
    host: host !== undefined,
    progress: host?.progress !== undefined,
    options: { ...rest, cwd: options.cwd ?? process.cwd() },
  };
  // This thread only waits meanwhile: it compresses the ZIP for the worker (see remote-deflate.ts).
  const deflater = new DeflateService();
  try {
    return await runIsolated<PackResult, IsolatedPackMessage>(PACK_WORKER()!, req, 'pack', (m, answer) => {
      if (isDeflateRequest(m)) deflater.handle(m, answer);
      // Every thread but the pack worker's — this one, zlib's pool, V8's helpers — below it.
      else if ('pipelineThread' in m) lowerAllThreadsBut(m.pipelineThread);
      else if ('notify' in m) host?.notify(m.notify);
      else host?.progress?.(m.progress);
    });
  } finally {
    await deflater.close();
  }
}

