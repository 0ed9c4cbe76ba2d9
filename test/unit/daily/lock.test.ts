import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { acquireLock, inspectLock } from '../../../src/daily/lock.js';

const clock = fixedClock('2026-11-26T02:00:00+08:00');
let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-lock-'));
  path = join(dir, 'daily.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lockOf = (pid: number, host = 'this-host', startedAt = '2026-11-25T02:00:00+08:00') => writeFileSync(path, JSON.stringify({ pid, host, startedAt, command: 'labup daily' }));

describe('the daily lock', () => {
  it('is taken, names its owner, and is gone once released', () => {
    // when a run takes the lock
    const held = acquireLock(path, { clock, host: 'this-host' });
    // then the file names this process and the time
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ pid: process.pid, host: 'this-host', startedAt: '2026-11-26T02:00:00+08:00', command: 'labup daily' });
    expect(held.recovered).toBeNull();
    // and releasing it removes it
    held.release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a second run while the first one lives (DAILY_LOCKED, exit 2)', () => {
    // given a lock held by a running process
    lockOf(4242);
    // when another run tries to take it
    const attempt = () => acquireLock(path, { clock, host: 'this-host', pidAlive: (pid) => pid === 4242 });
    // then it is refused with a coded usage error naming the owner
    expect(attempt).toThrowError(expect.objectContaining({ code: 'DAILY_LOCKED', exitCode: 2, message: expect.stringContaining('process 4242 on this-host') }));
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(4242);
  });

  it('recovers a lock whose process is gone, and says whose it was', () => {
    // given a lock left by a process that no longer runs
    lockOf(4243);
    // when a run takes the lock
    const held = acquireLock(path, { clock, host: 'this-host', pidAlive: () => false });
    // then it holds it now, and reports the stale owner
    expect(held.recovered).toMatchObject({ pid: 4243, startedAt: '2026-11-25T02:00:00+08:00' });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    held.release();
  });

  it('does not judge a lock from another host (it cannot see that process)', () => {
    lockOf(4244, 'other-host');
    expect(inspectLock(path, { host: 'this-host', pidAlive: () => false })).toMatchObject({ exists: true, alive: null, stale: false });
    expect(() => acquireLock(path, { clock, host: 'this-host', pidAlive: () => false })).toThrowError(expect.objectContaining({ code: 'DAILY_LOCKED', hint: expect.stringContaining('another host') }));
  });

  it('waits before calling an unreadable lock stale (it may be being written), then recovers it', () => {
    writeFileSync(path, '');
    expect(inspectLock(path, { host: 'this-host' })).toMatchObject({ exists: true, info: null, stale: false });
    expect(() => acquireLock(path, { clock, host: 'this-host' })).toThrowError(expect.objectContaining({ code: 'DAILY_LOCKED' }));
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(path, old, old);
    expect(inspectLock(path, { host: 'this-host' }).stale).toBe(true);
    const held = acquireLock(path, { clock, host: 'this-host' });
    expect(held.recovered).not.toBeNull();
    held.release();
  });

  it('release leaves alone a lock another run took over', () => {
    const held = acquireLock(path, { clock, host: 'this-host' });
    // another run decided this one was gone and took the lock
    lockOf(4245, 'this-host', '2026-11-26T03:00:00+08:00');
    held.release();
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(4245);
  });

  it('knows a missing lock', () => {
    expect(inspectLock(path)).toEqual({ path, exists: false, info: null, alive: null, stale: false });
  });
});
