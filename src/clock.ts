/**
 * Time, always in Asia/Taipei (UTC+8, no daylight saving since 1979), whatever the host's TZ.
 * Every "today", h16 and 上傳日期 goes through an injected {@link Clock}.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock fixed at (or offset from) an instant, for tests and `--now`. */
export function fixedClock(at: Date | string | number): Clock & { set(at: Date | string | number): void; advance(ms: number): void } {
  let t = new Date(at).getTime();
  return {
    now: () => new Date(t),
    set(at2) {
      t = new Date(at2).getTime();
    },
    advance(ms) {
      t += ms;
    },
  };
}

/** A clock running `offsetMs` ahead of (or behind) another. */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return { now: () => new Date(base.now().getTime() + offsetMs) };
}

const TAIPEI_OFFSET_MS = 8 * 3600 * 1000;

export interface TaipeiParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function taipeiParts(d: Date): TaipeiParts {
  const t = new Date(d.getTime() + TAIPEI_OFFSET_MS);
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
    second: t.getUTCSeconds(),
  };
}

/** The instant of a Taipei wall-clock time. */
export function fromTaipei(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): Date {
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - TAIPEI_OFFSET_MS);
}

/** Whole days between two Taipei calendar dates (b - a). */
export function daysBetween(a: { year: number; month: number; day: number }, b: { year: number; month: number; day: number }): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

export function addDays(p: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number } {
  const t = new Date(Date.UTC(p.year, p.month - 1, p.day) + days * 86_400_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** ISO 8601 with the +08:00 offset, e.g. `2026-11-25T14:14:08+08:00`. */
export function taipeiIso(d: Date): string {
  const p = taipeiParts(d);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}+08:00`;
}

/** `YYYY-MM-DD HH:MM:SS` in Taipei, as the portal shows 傳送時間. */
export function taipeiDisplay(d: Date): string {
  const p = taipeiParts(d);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Parses durations such as `45m`, `5s`, `1h30m`, `500ms`, `7d`, or a bare number of seconds. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 ? Math.round(total) : undefined;
}
