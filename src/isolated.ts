/**
 * One large piece of work (validating or packing a large file) in a worker thread whose young
 * generation is kept small: V8 grows its default several times larger over a long run, which is
 * most of what a large file would add to memory, while the work's objects die young anyway. The
 * result is the same as running it inline.
 *
 * A worker answers with any number of messages of its own, then exactly one ending:
 * `{ done }` with the value, `{ error }` with a {@link LabupError}'s fields, or `{ failed }` with
 * the stack of anything else.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LabupError, type ErrorKind, type ExitCodeValue } from './errors.js';

/** Inputs at least this large go to a worker (its start-up is then negligible). */
export const ISOLATE_FROM_BYTES = 16 * 1024 * 1024;

/** The worker's young generation, in MB. */
export const ISOLATED_YOUNG_MB = 8;

/** A {@link LabupError} as it crosses threads. */
export interface IsolatedError {
  kind: ErrorKind;
  code: string;
  message: string;
  exitCode: ExitCodeValue;
  hint?: string;
  details?: Record<string, unknown>;
}

/** The last message of a worker. */
export type IsolatedEnd<T> = { done: T } | { error: IsolatedError } | { failed: string };

/**
 * The compiled worker script `name` beside the calling module (`here`, its `import.meta.url`), or
 * — when running from TypeScript sources — the built one at `built` (relative to `here`), or null
 * without a build.
 */
export function isolatedScript(here: string, name: string, built: string): URL | null {
  if (here.endsWith('.js')) return new URL(name, here);
  const url = new URL(built, here);
  return existsSync(fileURLToPath(url)) ? url : null;
}

/** The ending a worker sends for a failure. */
export function failureEnd(err: unknown): { error: IsolatedError } | { failed: string } {
  if (err instanceof LabupError) {
    return {
      error: {
        kind: err.kind,
        code: err.code,
        message: err.message,
        exitCode: err.exitCode,
        ...(err.hint !== undefined ? { hint: err.hint } : {}),
        ...(err.details !== undefined ? { details: err.details } : {}),
      },
    };
  }
  return { failed: (err as Error)?.stack ?? String(err) };
}

/** The error a failure ending stands for: a {@link LabupError} again, or an Error with the stack. */
export function endError(end: { error: IsolatedError } | { failed: string }): Error {
  if ('failed' in end) return new Error(end.failed);
  const e = end.error;
  return new LabupError(e.kind, e.code, e.message, { exitCode: e.exitCode, ...(e.hint !== undefined ? { hint: e.hint } : {}), ...(e.details !== undefined ? { details: e.details } : {}) });
}

/**
 * Runs `script` with `workerData` and a small young generation; other messages go to `onMessage`,
 * with a way to answer the worker. Resolves with the worker's `done` value, rejects with its error
 * (a {@link LabupError} again).
 */
export function runIsolated<T, M extends object>(script: URL, workerData: unknown, what: string, onMessage: (m: M, answer: (reply: unknown) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(script, { workerData, resourceLimits: { maxYoungGenerationSizeMb: ISOLATED_YOUNG_MB } });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void w.terminate();
    };
    const answer = (reply: unknown) => {
      if (!settled) w.postMessage(reply);
    };
    w.on('message', (m: M | IsolatedEnd<T>) => {
      if ('done' in m) settle(() => resolve(m.done));
      else if ('error' in m || 'failed' in m) settle(() => reject(endError(m)));
      else onMessage(m, answer);
    });
    w.on('error', (err) => settle(() => reject(err)));
    w.on('exit', (code) => settle(() => reject(new Error(`the ${what} worker exited with code ${code}`))));
  });
}
