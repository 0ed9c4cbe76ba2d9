import { describe, expect, it } from 'vitest';
import { formatRocDate, parseRocDate, parseRocDateTime, parseRocYearMonth, parseUserDate, parseUserDateTime, rocTimestamp, rocToGregorianYear } from '../../../src/format/roc.js';
import { taipeiParts } from '../../../src/clock.js';

describe('ROC dates', () => {
  it('reads YYYMMDD including years before 民國元年', () => {
    expect(parseRocDate('1141125')).toEqual({ ok: true, value: { year: 2025, month: 11, day: 25 } });
    expect(parseRocDate('0010101')).toEqual({ ok: true, value: { year: 1912, month: 1, day: 1 } });
    // 民國前5年 = 1907
    expect(parseRocDate('-050509')).toEqual({ ok: true, value: { year: 1907, month: 5, day: 9 } });
    expect(rocToGregorianYear(-1)).toBe(1911);
  });

  it('tells a wrong shape from a day that does not exist', () => {
    expect(parseRocDate('1141325')).toMatchObject({ ok: false, reason: 'format' });
    expect(parseRocDate('114112')).toMatchObject({ ok: false, reason: 'format' });
    expect(parseRocDate('11411a5')).toMatchObject({ ok: false, reason: 'format' });
    expect(parseRocDate('1140230')).toMatchObject({ ok: false, reason: 'calendar' });
    expect(parseRocDate('0000101')).toMatchObject({ ok: false, reason: 'calendar' });
    expect(parseRocDate('-000101')).toMatchObject({ ok: false, reason: 'calendar' });
    expect(parseRocDate('-050509', false)).toMatchObject({ ok: false, reason: 'format' });
  });

  it('knows leap years on the Gregorian calendar (ROC 113 = 2024, ROC 189 = 2100)', () => {
    expect(parseRocDate('1130229').ok).toBe(true);
    expect(parseRocDate('1140229').ok).toBe(false);
    expect(parseRocDate('1890229').ok).toBe(false);
    expect(parseRocDate('0890229').ok).toBe(true); // 2000
  });

  it('reads 13-digit datetimes and, where allowed, 11 digits without seconds', () => {
    expect(parseRocDateTime('1141125083005')).toMatchObject({ ok: true, value: { hour: 8, minute: 30, second: 5 } });
    expect(parseRocDateTime('11411250830')).toMatchObject({ ok: false, reason: 'format' });
    expect(parseRocDateTime('11411250830', true)).toMatchObject({ ok: true, value: { hour: 8, minute: 30, second: 0 } });
    expect(parseRocDateTime('1141125246000')).toMatchObject({ ok: false, reason: 'format' });
    expect(parseRocDateTime('1140231000000')).toMatchObject({ ok: false, reason: 'calendar' });
  });

  it('reads YYYMM', () => {
    expect(parseRocYearMonth('11411')).toEqual({ ok: true, value: { year: 2025, month: 11 } });
    expect(parseRocYearMonth('11413')).toMatchObject({ ok: false });
  });

  it('formats in Asia/Taipei whatever the host time zone', () => {
    // 2025-11-24T16:30:00Z is 2025-11-25 00:30 in Taipei
    expect(rocTimestamp(new Date('2025-11-24T16:30:00Z'))).toBe('1141125003000');
    expect(taipeiParts(new Date('2025-11-24T16:30:00Z')).day).toBe(25);
    expect(formatRocDate({ year: 1907, month: 5, day: 9 })).toBe('-050509');
  });

  it('accepts the date forms users type', () => {
    for (const s of ['114/11/25', '1141125', '2025-11-25', '2025/11/25', '20251125', '114-11-25']) {
      expect(parseUserDate(s), s).toEqual({ year: 2025, month: 11, day: 25 });
    }
    expect(parseUserDate('114/02/30')).toBeUndefined();
    expect(parseUserDate('soon')).toBeUndefined();
    expect(parseUserDateTime('2025-11-25T08:30:00')?.toISOString()).toBe('2025-11-25T00:30:00.000Z');
    expect(parseUserDateTime('1141125083000')?.toISOString()).toBe('2025-11-25T00:30:00.000Z');
    expect(parseUserDateTime('2025-11-25T08:30:00Z')?.toISOString()).toBe('2025-11-25T08:30:00.000Z');
  });
});
