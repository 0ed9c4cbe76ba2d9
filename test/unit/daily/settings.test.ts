import { describe, expect, it } from 'vitest';
import { fixedClock, taipeiIso } from '../../../src/clock.js';
import { planUploadDate } from '../../../src/daily/daily.js';
import { dailySettings } from '../../../src/daily/settings.js';

describe('the daily settings', () => {
  it('reads the timeouts, with the defaults where none is set', () => {
    const s = dailySettings({ waitTimeout: '90m', pollInterval: '1m', deadline: '3h', portal: 'https://portal.example', card: 'p12:card.p12' }, {}, false);
    expect(s).toMatchObject({ waitTimeoutMs: 90 * 60_000, pollIntervalMs: 60_000, deadlineMs: 3 * 3_600_000 });
    expect(s.check()).toBe('wait up to 90m, poll every ≤ 1m, deadline 3h, portal https://portal.example');
    expect(dailySettings({}, {}, true)).toMatchObject({ waitTimeoutMs: 45 * 60_000, pollIntervalMs: 30_000, deadlineMs: undefined });
  });

  it('reports a bad value at the preflight, naming the setting and where it came from', () => {
    const s = dailySettings({ deadline: 'soon' }, { deadline: 'env LABUP_DEADLINE' }, true);
    expect(() => s.check()).toThrowError(expect.objectContaining({ code: 'BAD_DURATION', exitCode: 2, message: 'deadline “soon” (from env LABUP_DEADLINE) is not a duration' }));
  });

  it('wants a portal and a card unless the sandbox is used', () => {
    expect(() => dailySettings({}, {}, false).check()).toThrowError(expect.objectContaining({ code: 'PORTAL_NOT_CONFIGURED' }));
    expect(() => dailySettings({ portal: 'https://p.example' }, {}, false).check()).toThrowError(expect.objectContaining({ code: 'CARD_NOT_CONFIGURED' }));
    expect(() => dailySettings({ portal: 'https://p.example', card: 'p12:x', pinSource: 'nonsense' }, { pinSource: 'user file /home/u/.config/labup/config.json' }, false).check()).toThrowError(
      expect.objectContaining({ code: 'BAD_SECRET_SOURCE', message: expect.stringContaining('pinSource (from user file') }),
    );
  });
});

describe('上傳日期 and h16 of a daily run', () => {
  const clock = fixedClock('2026-11-26T02:00:00+08:00');

  it('is today and now by default', () => {
    expect(planUploadDate({ clock })).toEqual({ date: { year: 2026, month: 11, day: 26 }, uploadTime: undefined });
  });

  it('is yesterday at 23:59:59 for a late upload, and never older', () => {
    const late = planUploadDate({ clock, uploadDate: '115/11/25' });
    expect(late.date).toEqual({ year: 2026, month: 11, day: 25 });
    expect(taipeiIso(late.uploadTime!)).toBe('2026-11-25T23:59:59+08:00');
    expect(() => planUploadDate({ clock, uploadDate: '115/11/24' })).toThrowError(expect.objectContaining({ code: 'UPLOAD_DATE_NOT_ALLOWED', exitCode: 2 }));
  });

  it('follows --upload-time, which must agree with --upload-date', () => {
    expect(planUploadDate({ clock, uploadTime: '1151125220000' }).date).toEqual({ year: 2026, month: 11, day: 25 });
    expect(() => planUploadDate({ clock, uploadTime: '1151125220000', uploadDate: '115/11/26' })).toThrowError(expect.objectContaining({ code: 'DAILY_UPLOAD_DATE_CONFLICT' }));
  });
});
