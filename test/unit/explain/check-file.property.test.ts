/**
 * Whatever a check file holds — random bytes, random text, real rows mixed with junk — the parser
 * returns a result, never an exception, fast; and no line is lost: each is read as the header,
 * a row, or kept as not understood.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCheckFile, splitLines } from '../../../src/explain/check-file.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { explainCode, findingForRow } from '../../../src/explain/codes.js';

const RUNS = { numRuns: 400 };

/** Lines a check file is made of, and the ways they go wrong. */
const line = fc.oneof(
  fc.constantFrom(
    '檢驗(查)結果每日上傳檢核結果',
    '收件序號: 1151125000001',
    '上傳日期: 115/11/25',
    '處理狀態: 檢核錯誤',
    '處理狀態：檢核正確',
    '醫令筆數(hdata): 2',
    '錯誤筆數: x',
    '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容',
    '檢核結果: 全部正確，醫令 2 筆、報告 9 筆。',
    '',
  ),
  fc
    .tuple(fc.nat(99), fc.option(fc.nat(9)), fc.option(fc.nat(9)), fc.constantFrom('h9', 'r4', 'r6-1', '', 'x'), fc.constantFrom('02', '14', 'L:XML_SYNTAX', '', '!!'), fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }))
    .map(([seq, h, r, f, code, msg, v]) => [seq, h ?? '', r ?? '', f, code, msg, v].join('\t')),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

/** Every non-blank line is the title, a header key, the table header, a row, or kept as unparsed. */
function accounted(text: string): void {
  const c = parseCheckFile(text);
  const lines = splitLines(text.replace(/^\ufeff/, ''));
  expect(c.lines).toBe(lines.length);
  const used = new Set<number>([...c.rows.map((r) => r.line), ...c.unparsed.map((u) => u.line)]);
  if (c.tableLine !== null) used.add(c.tableLine);
  let header = 0;
  lines.forEach((l, i) => {
    if (l.trim() === '' || used.has(i + 1)) return;
    header++;
  });
  // The rest are the title and the recognised header keys, each at most once.
  const keys = [c.titled, c.receiptNo, c.uploadDate, c.institution, c.fileName, c.checkedAt, c.statusText, c.counts.hdata, c.counts.rdata, c.counts.errors, c.allCorrect].filter(
    (v) => v !== null && v !== false,
  ).length;
  const repeatedTableHeaders = lines.filter((l, i) => i + 1 !== c.tableLine && l.startsWith('序號\thdata')).length;
  expect(header).toBe(keys + repeatedTableHeaders);
  for (const u of c.unparsed) expect(u.text).toBe(lines[u.line - 1]);
}

describe('parseCheckFile never throws, never hangs, never drops a line', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const c = parseCheckFile(bytes);
        expect(Array.isArray(c.rows) && Array.isArray(c.unparsed)).toBe(true);
      }),
      RUNS,
    );
  });

  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (t) => accounted(t)), RUNS);
  });

  it('on check files mixed with junk, in Big5, UTF-8 and with any line ends', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.constantFrom('\r\n', '\n', '\r'), (lines, eol) => {
        const text = lines.join(eol);
        accounted(text);
        // The Big5 bytes read the same (for text Big5 can carry).
        const bytes = encodeCp950(text);
        const fromBytes = parseCheckFile(bytes);
        expect(fromBytes.rows.length + fromBytes.unparsed.length).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it('in linear time on hostile long lines', () => {
    const t0 = Date.now();
    for (const s of ['a'.repeat(200_000), ' '.repeat(200_000) + ':', '\t'.repeat(100_000), '收件序號' + ' '.repeat(100_000) + 'x', '1\t'.repeat(50_000)]) parseCheckFile(s);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('explains any code it meets, known or not', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 }), (code, message) => {
        const e = explainCode(code, message);
        expect(typeof e.fix).toBe('string');
        findingForRow(code, message);
      }),
      RUNS,
    );
  });
});
