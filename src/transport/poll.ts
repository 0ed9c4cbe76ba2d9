/**
 * Waiting for the portal to finish something (處理狀態, 申請重送): ask again after a pause that
 * starts at `firstPollMs` and grows by half up to `pollIntervalMs`, until nothing is pending or
 * `timeoutMs` of real (monotonic) time has passed.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';

/** How long a wait may take, and the longest pause between polls, unless told otherwise. */
export const DEFAULT_WAIT_MS = 45 * 60_000;
export const DEFAULT_POLL_MS = 30_000;

export interface PollOptions {
  /** How long the wait may take (default 45 minutes). */
  timeoutMs?: number;
  /** Longest pause between polls (default 30 s); polling starts at `firstPollMs` (1 s) and backs off. */
  pollIntervalMs?: number;
  firstPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds (the wait's timeout is real time, whatever the clock says). */
  monotonicNow?: () => number;
}

/**
 * Polls: `pending()` says how many are still pending, `announce` is told of each pause (how many,
 * how long), `refresh` asks the portal again. True when nothing is pending, false at the timeout.
 */
export async function pollUntilDone(o: PollOptions, pending: () => number, announce: (pending: number, pauseMs: number) => void, refresh: () => Promise<void>): Promise<boolean> {
  const sleep = o.sleep ?? ((ms: number) => sleepTimer(ms).then(() => undefined));
  const mono = o.monotonicNow ?? (() => performance.now());
  const deadline = mono() + (o.timeoutMs ?? DEFAULT_WAIT_MS);
  const maxPoll = o.pollIntervalMs ?? DEFAULT_POLL_MS;
  let pause = Math.min(o.firstPollMs ?? 1000, maxPoll);
  for (;;) {
    const n = pending();
    if (n === 0) return true;
    const left = deadline - mono();
    if (left <= 0) return false;
    announce(n, Math.min(pause, left));
    await sleep(Math.min(pause, left));
    pause = Math.min(maxPoll, Math.round(pause * 1.5));
    await refresh();
  }
}
