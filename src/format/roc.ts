/**
 * ROC (民國) dates as NHI writes them: YYY is the ROC year zero-padded to three digits, or `-YY`
 * for years before 民國元年 (−05 = 民國前5年 = 1907). There is no year 0.
 */
import { fromTaipei, taipeiParts, type TaipeiParts } from '../clock.js';

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export interface CalendarDateTime extends CalendarDate {
  hour: number;
  minute: number;
  second: number;
}

/** Gregorian year of an ROC year (1 → 1912, −1 → 1911). */
export function rocToGregorianYear(roc: number): number {
  return roc > 0 ? roc + 1911 : roc + 1912;
}

export function gregorianToRocYear(year: number): number {
  return year >= 1912 ? year - 1911 : year - 1912;
}

export function isValidCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export type RocParseFailure = 'format' | 'calendar';

export type RocParse<T> = { ok: true; value: T } | { ok: false; reason: RocParseFailure };

/** Two ASCII digits at `i` as a number, or -1. */
function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Reads the 3-character ROC year at the start: a number, 'format' when it is not one, 'calendar' for year 0. */
function parseYear(text: string, allowNegative: boolean): number | RocParseFailure {
  if (text.charCodeAt(0) === 45 /* - */) {
    const n = d2(text, 1);
    if (!allowNegative || n < 0) return 'format';
    return n === 0 ? 'calendar' : -n;
  }
  const h = text.charCodeAt(0) - 48;
  const t = d2(text, 1);
  if (h < 0 || h > 9 || t < 0) return 'format';
  const n = h * 100 + t;
  return n === 0 ? 'calendar' : n;
}

const FORMAT: { ok: false; reason: RocParseFailure } = { ok: false, reason: 'format' };
const CALENDAR: { ok: false; reason: RocParseFailure } = { ok: false, reason: 'calendar' };

/** YYYMMDD. */
export function parseRocDate(text: string, allowNegative = true): RocParse<CalendarDate> {
  if (text.length !== 7) return FORMAT;
  const roc = parseYear(text, allowNegative);
  const month = d2(text, 3);
  const day = d2(text, 5);
  if (roc === 'format' || month < 1 || month > 12 || day < 1 || day > 31) return FORMAT;
  if (roc === 'calendar') return CALENDAR;
  const year = rocToGregorianYear(roc);
  if (!isValidCalendarDate(year, month, day)) return CALENDAR;
  return { ok: true, value: { year, month, day } };
}

/** YYYMMDDHHMMSS (13), or YYYMMDDHHMM (11) where `allowShort`. */
export function parseRocDateTime(text: string, allowShort = false, allowNegative = true): RocParse<CalendarDateTime> {
  const len = text.length;
  if (!(len === 13 || (allowShort && len === 11))) return FORMAT;
  const roc = parseYear(text, allowNegative);
  const month = d2(text, 3);
  const day = d2(text, 5);
  const hour = d2(text, 7);
  const minute = d2(text, 9);
  const second = len === 13 ? d2(text, 11) : 0;
  if (roc === 'format' || month < 1 || month > 12 || day < 1 || day > 31) return FORMAT;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return FORMAT;
  if (roc === 'calendar') return CALENDAR;
  const year = rocToGregorianYear(roc);
  if (!isValidCalendarDate(year, month, day)) return CALENDAR;
  return { ok: true, value: { year, month, day, hour, minute, second } };
}

/** YYYMM. */
export function parseRocYearMonth(text: string, allowNegative = false): RocParse<{ year: number; month: number }> {
  if (text.length !== 5) return FORMAT;
  const roc = parseYear(text, allowNegative);
  const month = d2(text, 3);
  if (roc === 'format' || month < 1 || month > 12) return FORMAT;
  if (roc === 'calendar') return CALENDAR;
  return { ok: true, value: { year: rocToGregorianYear(roc), month } };
}

function rocYearText(year: number): string {
  const roc = gregorianToRocYear(year);
  if (roc < 0) return '-' + String(-roc).padStart(2, '0');
  return String(roc).padStart(3, '0');
}

const p2 = (n: number) => String(n).padStart(2, '0');

export function formatRocDate(d: CalendarDate): string {
  return `${rocYearText(d.year)}${p2(d.month)}${p2(d.day)}`;
}

export function formatRocDateTime(d: CalendarDateTime): string {
  return `${formatRocDate(d)}${p2(d.hour)}${p2(d.minute)}${p2(d.second)}`;
}

export function formatRocYearMonth(d: { year: number; month: number }): string {
  return `${rocYearText(d.year)}${p2(d.month)}`;
}

/** `YYY/MM/DD`, as the portal displays dates. */
export function formatRocSlashed(d: CalendarDate): string {
  return `${rocYearText(d.year)}/${p2(d.month)}/${p2(d.day)}`;
}

/** A ROC date as stored (`YYYMMDD`) shown as `YYY/MM/DD`; text that is not one, as it is. */
export function rocSlashed(roc: string): string {
  const d = parseRocDate(roc);
  return d.ok ? formatRocSlashed(d.value) : roc;
}

/** Today's date in Asia/Taipei. */
export function taipeiToday(now: Date): CalendarDate {
  const p = taipeiParts(now);
  return { year: p.year, month: p.month, day: p.day };
}

/** h16-style ROC datetime (13 digits) of an instant, in Asia/Taipei. */
export function rocTimestamp(now: Date): string {
  return formatRocDateTime(taipeiParts(now));
}

/** The instant of a Taipei wall-clock time given as ROC datetime. */
export function rocDateTimeToInstant(d: CalendarDateTime): Date {
  return fromTaipei(d.year, d.month, d.day, d.hour, d.minute, d.second);
}

/**
 * Accepts a date as users type it: ROC `YYY/MM/DD`, `YYYMMDD`, `YYY-MM-DD`, or ISO `YYYY-MM-DD`
 * (also `YYYY/MM/DD`, `YYYYMMDD`). Returns undefined when it is none of these or not on the calendar.
 */
export function parseUserDate(text: string): CalendarDate | undefined {
  const s = text.trim();
  let m = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$/.exec(s);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return isValidCalendarDate(year, month, day) ? { year, month, day } : undefined;
  }
  m = /^(-?\d{2,3})[-/](\d{1,2})[-/](\d{1,2})$/.exec(s);
  if (m) {
    const roc = Number(m[1]);
    if (roc === 0) return undefined;
    const year = rocToGregorianYear(roc);
    const [month, day] = [Number(m[2]), Number(m[3])];
    return isValidCalendarDate(year, month, day) ? { year, month, day } : undefined;
  }
  if (/^(\d{7}|-\d{6})$/.test(s)) {
    const r = parseRocDate(s);
    return r.ok ? r.value : undefined;
  }
  return undefined;
}

/**
 * Accepts an instant as users type it: ISO 8601 (offset optional; without one it is Taipei wall-clock
 * time) or ROC `YYYMMDDHHMMSS`.
 */
export function parseUserDateTime(text: string): Date | undefined {
  const s = text.trim();
  if (/^(\d{13}|-\d{12})$/.test(s)) {
    const r = parseRocDateTime(s);
    return r.ok ? rocDateTimeToInstant(r.value) : undefined;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] ? Number(m[6]) : 0;
  if (!isValidCalendarDate(year!, month!, day!) || hour! > 23 || minute! > 59 || second > 59) return undefined;
  if (!m[7]) return fromTaipei(year!, month!, day!, hour!, minute!, second);
  const d = new Date(s.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export type { TaipeiParts };
