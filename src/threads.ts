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

/** The nice value for helpers of this thread (null where threads have none of their own). */
export function helperPriority(): number | null {
  const tid = currentThreadId();
  if (tid === null) return null;
  try {
    return helperNice(getPriority(tid));
  } catch {
    return null;
  }
}

/** Lowers this thread's priority to `nice` (from {@link helperPriority}); one already lower stays. */
export function lowerThisThread(nice: number): void {
  const tid = currentThreadId();
  if (tid === null) return;
  try {
    if (getPriority(tid) < nice) setPriority(tid, nice);
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
