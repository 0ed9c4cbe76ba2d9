/**
 * Asking this thread's garbage collector for a young-generation collection, where the runtime
 * allows it.
 *
 * For memory a thread receives in buffers and lets go of quickly: V8 gives the memory behind a
 * buffer back only when it collects the buffer's object, and a thread that allocates little
 * collects seldom — the buffers would pile up meanwhile.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: ((options: { type: 'minor' }) => void) | null | undefined;

export function collectYoungGeneration(): void {
  if (gc === undefined) {
    gc = null;
    try {
      // The flag makes `gc` a global of contexts made from now on.
      setFlagsFromString('--expose-gc');
      const f = runInNewContext('gc') as unknown;
      if (typeof f === 'function') gc = f as (options: { type: 'minor' }) => void;
    } catch {
      // Not allowed here: the memory is given back when V8 decides.
    }
  }
  gc?.({ type: 'minor' });
}
