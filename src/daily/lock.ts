/**
 * The lock that keeps two `labup daily` runs from overlapping: a file in LABUP_HOME holding the
 * owner's pid, host and start time, created atomically (written beside it, then hard-linked into
 * place, which fails when a lock exists). A second run is refused with DAILY_LOCKED (exit 2) while
 * the owner lives; a lock whose process is gone (killed, machine restarted) is recovered and said
 * so. Recovery itself is serialised by a short-lived second file, so two runs finding the same
 * stale lock never remove each other's fresh one.
 */
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Clock } from '../clock.js';
import { taipeiIso } from '../clock.js';
import { fileError, usageError } from '../errors.js';

export const LOCK_FILE = 'daily.lock';

export interface LockInfo {
  pid: number;
  host: string;
  /** When the owner took the lock (ISO 8601, +08:00). */
  startedAt: string;
  /** What holds it, e.g. `labup daily`. */
  command: string;
}

export interface LockInspection {
  path: string;
  exists: boolean;
  /** The owner, when the file could be read. */
  info: LockInfo | null;
  /** The owner's process is running (null: it runs on another host and cannot be checked). */
  alive: boolean | null;
  /** The lock can be taken over: its process is gone, or the file is unreadable and old. */
  stale: boolean;
}

export interface HeldLock {
  path: string;
  info: LockInfo;
  /** The stale lock this one replaced, if any. */
  recovered: LockInfo | null;
  release(): void;
}

export interface LockOptions {
  clock: Clock;
  command?: string;
  /** Is this pid running? (tests). */
  pidAlive?: (pid: number) => boolean;
  /** This host's name (tests). */
  host?: string;
}

/** An unreadable lock file younger than this may be one being written: not stale yet. */
const UNREADABLE_GRACE_MS = 60_000;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process not yet reaped by its parent (a zombie) still answers to kill 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function readLock(path: string): { exists: boolean; text: string | null; info: LockInfo | null; ageMs: number } {
  let text: string;
  let ageMs = 0;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, text: null, info: null, ageMs: 0 };
    return { exists: true, text: null, info: null, ageMs };
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string') {
      return { exists: true, text, info: { pid: v.pid, host: v.host, startedAt: String(v.startedAt ?? ''), command: String(v.command ?? 'labup daily') }, ageMs };
    }
  } catch {
    // fall through: unreadable
  }
  return { exists: true, text, info: null, ageMs };
}

/** What the lock file says, and whether its owner still runs (for `labup doctor` and the lock itself). */
export function inspectLock(path: string, o: Pick<LockOptions, 'pidAlive' | 'host'> = {}): LockInspection {
  const alive = o.pidAlive ?? pidAlive;
  const host = o.host ?? hostname();
  const r = readLock(path);
  if (!r.exists) return { path, exists: false, info: null, alive: null, stale: false };
  if (!r.info) return { path, exists: true, info: null, alive: null, stale: r.ageMs > UNREADABLE_GRACE_MS };
  if (r.info.host !== host) return { path, exists: true, info: r.info, alive: null, stale: false };
  const running = alive(r.info.pid);
  return { path, exists: true, info: r.info, alive: running, stale: !running };
}

function tryCreate(path: string, info: LockInfo): boolean {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.lock-tmp`);
  try {
    writeFileSync(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(err, path, 'create the lock');
  } finally {
    rmSync(tmp, { force: true });
  }
}

function describe(info: LockInfo): string {
  return `process ${info.pid} on ${info.host}${info.startedAt ? `, started ${info.startedAt}` : ''}`;
}

/**
 * Takes the lock at `path`, recovering a stale one. Throws DAILY_LOCKED (exit 2) when another live
 * run holds it.
 */
export function acquireLock(path: string, o: LockOptions): HeldLock {
  const info: LockInfo = { pid: process.pid, host: o.host ?? hostname(), startedAt: taipeiIso(o.clock.now()), command: o.command ?? 'labup daily' };
  let recovered: LockInfo | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, info)) {
      let released = false;
      return {
        path,
        info,
        recovered,
        release() {
          if (released) return;
          released = true;
          // Only our own lock is removed (a lock recovered by someone else after we hung is theirs).
          const now = readLock(path);
          if (now.info && now.info.pid === info.pid && now.info.host === info.host && now.info.startedAt === info.startedAt) rmSync(path, { force: true });
        },
      };
    }
    const seen = inspectLock(path, o);
    if (!seen.exists) continue;
    if (!seen.stale) {
      const who = seen.info ? describe(seen.info) : 'a process whose lock file cannot be read';
      throw usageError('DAILY_LOCKED', `another labup daily is running (${who}); not starting a second one`, {
        hint:
          seen.alive === null && seen.info
            ? `The lock ${path} was taken on another host: if no run is going on there, remove the file.`
            : `Wait for it to finish (or stop it), then run again. The lock is ${path}.`,
        details: { lock: path, ...(seen.info ? { owner: seen.info } : {}) },
      });
    }
    if (recoverStale(path, seen)) recovered = seen.info ?? { pid: 0, host: info.host, startedAt: '', command: 'unknown' };
  }
  throw usageError('DAILY_LOCKED', `cannot take the lock ${path}: other runs keep taking it`, { hint: 'Run again in a moment.' });
}

/** Removes a stale lock unless it changed since it was judged stale; one recoverer at a time. */
function recoverStale(path: string, seen: LockInspection): boolean {
  const guard = `${path}.recover`;
  const guardAge = (() => {
    try {
      return Date.now() - statSync(guard).mtimeMs;
    } catch {
      return -1;
    }
  })();
  if (guardAge > UNREADABLE_GRACE_MS) rmSync(guard, { force: true });
  const guardInfo: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: 'recover' };
  if (!tryCreate(guard, guardInfo)) return false;
  try {
    const now = readLock(path);
    const same = now.exists && (seen.info ? now.info !== null && now.info.pid === seen.info.pid && now.info.startedAt === seen.info.startedAt && now.info.host === seen.info.host : now.info === null);
    if (!same) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}
