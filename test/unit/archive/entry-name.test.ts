import { describe, expect, it } from 'vitest';
import { checkEntryName, collisionKey } from '../../../src/archive/entry-name.js';

describe('checkEntryName', () => {
  it.each([
    ['1300_1151125000001.msg.txt', ['1300_1151125000001.msg.txt']],
    ['reports/2025/檢核結果.txt', ['reports', '2025', '檢核結果.txt']],
    ['reports/', ['reports']],
    ['a..b.txt', ['a..b.txt']],
    ['.hidden', ['.hidden']],
  ])('accepts %s', (name, segments) => {
    expect(checkEntryName(name)).toEqual({ ok: true, segments });
  });

  it.each([
    ['', 'empty'],
    ['/', 'empty'],
    ['../x', 'parent-segment'],
    ['a/../../x', 'parent-segment'],
    ['a/..', 'parent-segment'],
    ['/etc/passwd', 'absolute'],
    ['\\\\server\\share\\x', 'absolute'],
    ['C:/Windows/x', 'drive-letter'],
    ['c:x', 'drive-letter'],
    ['a\\b.txt', 'backslash'],
    ['..\\x', 'backslash'],
    ['a//b', 'empty-segment'],
    ['./a', 'dot-segment'],
    ['a/./b', 'dot-segment'],
    ['a\u0000.txt', 'control-character'],
    ['a\nb', 'control-character'],
    ['file.txt:stream', 'colon'],
    ['CON', 'reserved-name'],
    ['dir/nul.txt', 'reserved-name'],
    ['com1', 'reserved-name'],
    ['report.', 'trailing-dot-or-space'],
    ['dir /x', 'trailing-dot-or-space'],
  ])('refuses %j (%s)', (name, reason) => {
    expect(checkEntryName(name)).toEqual({ ok: false, reason });
  });
});

describe('collisionKey', () => {
  it('folds letter case and Unicode normalisation, as Windows and macOS do', () => {
    expect(collisionKey(['Report.TXT'])).toBe(collisionKey(['report.txt']));
    expect(collisionKey(['cafe\u0301'])).toBe(collisionKey(['caf\u00e9']));
    expect(collisionKey(['a', 'b'])).not.toBe(collisionKey(['a', 'c']));
  });
});
