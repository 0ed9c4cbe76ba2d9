/**
 * explain() end to end on arbitrary check files, with and without a source: a result or a coded
 * usage error (never an uncoded exception, never a hang).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { explain } from '../../../src/explain/explain.js';
import { isLabupError } from '../../../src/errors.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { xml } from '../../helpers/xml.js';
import { scratch, type Scratch } from '../archive/scratch.js';
import { brokenRecords } from './scenario.js';

let s: Scratch;
beforeAll(() => {
  s = scratch('labup-explain-prop-');
  s.write('TOTFA.xml', xml(brokenRecords(), 'big5'));
});
afterAll(() => s.remove());

const row = fc
  .tuple(fc.nat(20), fc.option(fc.integer({ min: 0, max: 5 })), fc.option(fc.integer({ min: 0, max: 12 })), fc.constantFrom('h9', 'h4', 'r4', 'r6-1', 'r12', 'h31', ''), fc.constantFrom('02', '03', '14', 'L:XML_SYNTAX', 'L:NOPE', 'ZZ'), fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
  .map(([seq, h, r, f, c, m, v]) => [seq, h ?? '', r ?? '', f, c, m, v].join('\t'));
const line = fc.oneof(row, fc.constantFrom('處理狀態: 檢核錯誤', '處理狀態: 檢核正確', '醫令筆數(hdata): 3', '報告筆數(rdata): 10', '醫令筆數(hdata): 7', '檢核結果: 全部正確，醫令 3 筆、報告 10 筆。'), fc.string({ maxLength: 30 }));

async function attempt(bytes: Uint8Array, source: boolean): Promise<void> {
  writeFileSync(s.path('c.msg.txt'), bytes);
  try {
    const r = await explain('c.msg.txt', { cwd: s.root, ...(source ? { source: 'TOTFA.xml' } : {}) });
    expect(['correct', 'error', 'unknown']).toContain(r.status);
    expect(r.groups.reduce((a, g) => a + g.count, 0)).toBe(r.counts.listed);
  } catch (err) {
    if (!isLabupError(err) || err.kind === 'internal') throw err;
    expect(err.exitCode).toBe(2);
  }
}

describe('explain never fails uncoded', () => {
  it('on arbitrary bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, src) => attempt(b, src)), { numRuns: 150 });
  });

  it('on check-file-like text, mapped onto a real source', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, src) => attempt(encodeCp950(lines.join('\r\n')), src)),
      { numRuns: 200 },
    );
  });
});
