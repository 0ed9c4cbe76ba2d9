/**
 * Fault injection: a hook the sandbox asks at each request (and once more after an upload has
 * been committed, before it answers) whether to misbehave, so tests can show the client ends in a
 * correct state through resets, overloads, slow answers and ended sessions.
 */

export type FaultPoint =
  | { phase: 'request'; method: string; path: string; /** 1-based count of requests so far. */ n: number }
  | { phase: 'upload-committed'; receiptNo: string; replayed: boolean; n: number };

export type FaultAction =
  /** Drop the connection without an answer. */
  | { kind: 'reset' }
  /** Answer with this status (e.g. 503) and an optional Retry-After, without handling the request. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; code?: string }
  /** Wait this long (real time) before handling the request. */
  | { kind: 'delay'; ms: number }
  /** End every open session first (session expiry between sign-in and upload). */
  | { kind: 'end-sessions' };

export type FaultHook = (point: FaultPoint) => FaultAction | undefined;

/** A hook that applies `action` to the requests for which `when` is true, `times` times at most. */
export function faultOnce(when: (p: FaultPoint) => boolean, action: FaultAction, times = 1): FaultHook & { fired: number } {
  const hook = ((p: FaultPoint) => {
    if (hook.fired >= times || !when(p)) return undefined;
    hook.fired++;
    return action;
  }) as FaultHook & { fired: number };
  hook.fired = 0;
  return hook;
}
