/**
 * Thread priorities, on Linux, where each thread has a nice value of its own.
 *
 * A large `pack` keeps two cores busy with five kinds of threads; its pipeline (reading, grouping,
 * writing the XML) is the one everything else waits for. The CLI lowers the priority of the others
 * — the rules, the compressing thread, zlib's thread pool, V8's helpers — so that on a machine
 * short of cores the pipeline runs first and the others take the time it leaves. Lowering needs no
 * privilege; raising it back would, so only a process that ends with the command does this. Best
 * effort: anything that fails is left as it was.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much lower (in nice steps) the helpers run than the pipeline. */
export const HELPER_NICE = 10;

/** This thread's id (TID), or null where threads have no priority of their own (not Linux). */
export function currentThreadId(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const m = /task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The nice value helpers of a thread at `base` get. */
const helperNice = (base: number): number => Math.min(19, base + HELPER_NICE);

/** Lowers this thread's priority to a helper's, below that of the thread that started it. */
export function lowerThisThread(): void {
  const tid = currentThreadId();
  if (tid === null) return;
  try {
    setPriority(tid, helperNice(getPriority(tid)));
  } catch {
    // left as it is
  }
}

/** Lowers every thread of this process but `keep` to a helper's priority below `keep`'s. */
export function lowerAllThreadsBut(keep: number): void {
  if (process.platform !== 'linux') return;
  try {
    const target = helperNice(getPriority(keep));
    for (const name of readdirSync('/proc/self/task')) {
      const tid = Number(name);
      if (tid === keep || !Number.isInteger(tid)) continue;
      try {
        if (getPriority(tid) < target) setPriority(tid, target);
      } catch {
        // a thread that ended meanwhile, or not allowed: left as it is
      }
    }
  } catch {
    // no /proc: nothing changed
  }
}
