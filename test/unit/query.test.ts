import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { MAX_PORTAL_PAGE_SIZE, describePage, formatRocInstant, paginate, parseDateArg, parseDateRange, parsePageRequest, sortBy } from '../../src/query.js';

/** 115/11/25 00:30 in Taipei is still 11/24 in UTC: "today" must be Taipei's. */
const clock = fixedClock('2026-11-24T16:30:00Z');
const d = (year: number, month: number, day: number) => ({ year, month, day });

describe('parseDateRange: the portal’s date windows', () => {
  it('defaults to the last N days up to today in Asia/Taipei (2 for status, 7 for downloads)', () => {
    expect(parseDateRange(undefined, undefined, 2, clock)).toEqual({ from: d(2026, 11, 24), to: d(2026, 11, 25) });
    expect(parseDateRange(undefined, undefined, 7, clock)).toEqual({ from: d(2026, 11, 19), to: d(2026, 11, 25) });
  });

  it('accepts ROC YYY/MM/DD, YYYMMDD and ISO, all meaning the same day', () => {
    for (const [from, to] of [
      ['115/11/01', '115/11/03'],
      ['1151101', '1151103'],
      ['2026-11-01', '2026-11-03'],
    ]) {
      expect(parseDateRange(from, to, 2, clock)).toEqual({ from: d(2026, 11, 1), to: d(2026, 11, 3) });
    }
  });

  it('counts the default window back from --to when only --to is given', () => {
    expect(parseDateRange(undefined, '115/11/10', 7, clock)).toEqual({ from: d(2026, 11, 4), to: d(2026, 11, 10) });
  });

  it('refuses a date that is not one, and a range that runs backwards, naming the flag', () => {
    expect(() => parseDateRange('115/13/01', undefined, 2, clock)).toThrow(expect.objectContaining({ code: 'BAD_DATE', message: expect.stringContaining('--from'), exitCode: 2 }));
    expect(() => parseDateRange(undefined, 'yesterday', 2, clock)).toThrow(expect.objectContaining({ code: 'BAD_DATE', message: expect.stringContaining('--to') }));
    expect(() => parseDateRange('115/11/05', '115/11/01', 2, clock)).toThrow(expect.objectContaining({ code: 'BAD_DATE_RANGE' }));
    expect(() => parseDateArg('--since', '115/02/30')).toThrow(expect.objectContaining({ code: 'BAD_DATE', message: expect.stringContaining('--since') }));
  });
});

describe('parsePageRequest: --page, --page-size, --sort [-]FIELD', () => {
  const fields = { sentAt: 'sentAt', 傳送時間: 'sentAt', receiptNo: 'receiptNo' };
  const defaults = { sort: 'sentAt', order: 'desc' as const };

  it('gives the listing’s defaults: page 1 of 20, its default order', () => {
    expect(parsePageRequest({}, fields, defaults)).toEqual({ page: 1, pageSize: 20, sort: 'sentAt', order: 'desc' });
  });

  it('sorts ascending by FIELD and descending by -FIELD, under the user’s names for the field', () => {
    expect(parsePageRequest({ sort: 'receiptNo' }, fields, defaults)).toMatchObject({ sort: 'receiptNo', order: 'asc' });
    expect(parsePageRequest({ sort: '-receiptNo' }, fields, defaults)).toMatchObject({ sort: 'receiptNo', order: 'desc' });
    expect(parsePageRequest({ sort: '+傳送時間' }, fields, defaults)).toMatchObject({ sort: 'sentAt', order: 'asc' });
  });

  it('reads pages and sizes from flags (strings), within bounds', () => {
    expect(parsePageRequest({ page: '3', pageSize: '50' }, fields, defaults)).toMatchObject({ page: 3, pageSize: 50 });
    for (const bad of [{ page: '0' }, { page: '1.5' }, { page: 'two' }, { pageSize: '0' }, { pageSize: String(MAX_PORTAL_PAGE_SIZE + 1) }]) {
      expect(() => parsePageRequest(bad, fields, { ...defaults, maxPageSize: MAX_PORTAL_PAGE_SIZE })).toThrow(expect.objectContaining({ code: 'BAD_PAGE', exitCode: 2 }));
    }
  });

  it('refuses a field it cannot sort by, listing those it can', () => {
    expect(() => parsePageRequest({ sort: '-size' }, fields, defaults)).toThrow(expect.objectContaining({ code: 'BAD_SORT', hint: expect.stringContaining('sentAt, 傳送時間, receiptNo') }));
  });
});

describe('paginate and sortBy', () => {
  const items = Array.from({ length: 45 }, (_, i) => ({ n: i + 1, at: i % 2 ? null : `2026-11-${String((i % 28) + 1).padStart(2, '0')}` }));

  it('slices pages and counts them; an empty list is one empty page', () => {
    expect(paginate(items, { page: 3, pageSize: 20 })).toMatchObject({ page: 3, pageSize: 20, total: 45, pages: 3, items: items.slice(40) });
    expect(paginate([], { page: 1, pageSize: 20 })).toEqual({ items: [], page: 1, pageSize: 20, total: 0, pages: 1 });
    expect(paginate(items, { page: 9, pageSize: 20 }).items).toEqual([]);
  });

  it('sorts stably both ways, missing values last', () => {
    const asc = sortBy(items, 'at', 'asc');
    expect(asc.slice(-22).every((x) => x.at === null)).toBe(true);
    expect(asc[0]!.at).toBe('2026-11-01');
    const desc = sortBy(items, 'at', 'desc');
    expect(desc[0]!.at).toBe('2026-11-27');
    expect(desc.slice(-22).every((x) => x.at === null)).toBe(true);
    // equal keys keep their order
    expect(asc.filter((x) => x.at === '2026-11-01').map((x) => x.n)).toEqual([1, 29]);
    expect(sortBy(items, 'n', 'desc').map((x) => x.n)).toEqual(items.map((x) => x.n).reverse());
  });
});

describe('display: page N of M, ROC dates as the portal shows them', () => {
  it('describes a page', () => {
    expect(describePage({ page: 2, total: 45, totalPages: 3 })).toBe('page 2 of 3 (total 45)');
    expect(describePage({ page: 1, total: 0, totalPages: 0 })).toBe('page 1 of 1 (total 0)');
  });

  it('shows instants in Taipei as YYY/MM/DD HH:MM', () => {
    expect(formatRocInstant('2026-11-24T16:31:05Z')).toBe('115/11/25 00:31');
    expect(formatRocInstant(new Date('2026-11-25T20:31:05+08:00'), 'second')).toBe('115/11/25 20:31:05');
    expect(formatRocInstant('2026-11-25T20:31:05+08:00', 'day')).toBe('115/11/25');
    expect(formatRocInstant('not a date')).toBe('not a date');
  });
});
