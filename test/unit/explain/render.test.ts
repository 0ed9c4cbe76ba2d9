/**
 * What people see: the grouped explanation on a terminal, one line per error in a pipe, and the
 * staff worklist — exact strings, from the four-error upload of the scenario.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { explain, type ExplainResult } from '../../../src/explain/explain.js';
import { printable, renderExplain } from '../../../src/explain/render.js';
import { csvValue, worklistCsv, writeWorklist } from '../../../src/explain/worklist.js';
import { fixedClock } from '../../../src/clock.js';
import { xml } from '../../helpers/xml.js';
import { scratch, type Scratch } from '../archive/scratch.js';
import { checkFileBytes } from './check-file-writer.js';
import { brokenRecords, findings } from './scenario.js';

let s: Scratch;
let result: ExplainResult;
beforeAll(async () => {
  s = scratch('labup-explain-');
  const records = brokenRecords();
  const bytes = xml(records, 'utf-8');
  const f = findings(bytes);
  s.write('TOTFA.xml', bytes);
  s.write('1300_1151125000001.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: f.hdata, rdata: f.rdata }, f.errors));
  result = await explain('1300_1151125000001.msg.txt', { cwd: s.root, source: 'TOTFA.xml', clock: fixedClock('2026-11-25T21:00:00+08:00') });
});
afterAll(() => s.remove());

const HEAD =
  '✗ 檢核錯誤 — rejected: 1300_1151125000001.msg.txt — 收件序號 1151125000001, 上傳日期 115/11/25, 醫事機構 3501200000, 檔案 TOTFA.xml, 檢核時間 115/11/25 20:31:05';

describe('renderExplain', () => {
  it('prints one grep-able line per error when piped: place, code, position, message, value, record, fix', () => {
    expect(renderExplain(result, { grouped: false, maxErrors: 0 })).toEqual([
      `${HEAD}: 醫令 3 筆, 報告 10 筆, 4 errors listed, source TOTFA.xml: 3 hdata, 10 rdata`,
      'TOTFA.xml:12:5: 02 hdata 1 h9 身分證統一編號: 身分證號或居留證號檢查碼錯誤 "A12****788" [patient A12****788, 醫令 08011C] → Check the ID against the patient’s card; a typo changes the checksum.',
      'TOTFA.xml:45:5 (its rdata: r6-1 is absent): 14 hdata 1 rdata 3 r6-1 參考值下限: 參考值下限、參考值上限至少需擇一填寫 [patient A12****788, 醫令 08011C] → Fill in r6-1 and/or r6-2 (a text reference goes into r6-1).',
      'TOTFA.xml:144:7: 03 hdata 2 rdata 1 r12 檢驗（查）結果值註記: 代碼不在代碼表內 "7" [patient C11****006, 醫令 09005C] → Use one of the codes of 表一 for this field.',
      'TOTFA.xml:151:5: 10 hdata 3 h4 執行年月: 與執行年月之年月不一致: h20 is 1151125, so h4 should be 11511 "11510" [patient D11****007, 醫令 09015C] → Make h4 the year and month of h20 (the sampling/examination date).',
    ]);
  });

  it('groups by code on a terminal, with the explanation in both languages and each record under it', () => {
    const lines = renderExplain(result, { grouped: true, maxErrors: 0 });
    expect(lines.slice(0, 2)).toEqual([HEAD, '  醫令 3 筆, 報告 10 筆, 4 errors listed, source TOTFA.xml: 3 hdata, 10 rdata']);
    const at = lines.indexOf('03 代碼類別錯誤 ×1');
    expect(lines.slice(at, at + 10)).toEqual([
      '03 代碼類別錯誤 ×1',
      '  欄位值不在規定的代碼表內。',
      '  The value is not one of the codes the field allows.',
      '  3. hdata 2 rdata 1 r12 檢驗（查）結果值註記 = "7"',
      '     at TOTFA.xml:144:7',
      '     patient C11****006, 醫令 09005C · now "7"',
      '     代碼不在代碼表內',
      '     表一 r12: 0 未發現異於參考值, 1 異於參考值',
      '     → Use one of the codes of 表一 for this field.',
      '',
    ]);
    expect(lines).toContain('     patient A12****788, 醫令 08011C · now absent');
  });

  it('stops at --max-errors and says how many are left', () => {
    expect(renderExplain(result, { grouped: false, maxErrors: 1 }).slice(-1)).toEqual(['… 3 more not printed (--max-errors 0 prints all)']);
    const grouped = renderExplain(result, { grouped: true, maxErrors: 2 });
    expect(grouped.slice(-1)).toEqual(['… 2 errors not printed (--max-errors 0 prints all; --csv FILE writes every one)']);
    expect(grouped).toContain('03 代碼類別錯誤 ×1');
  });

  it('shows control characters of a hostile file as escapes', () => {
    expect(printable('a\u001b[2Jb\u0007\tc')).toBe('a\\x1b[2Jb\\x07\tc');
  });
});

describe('the worklist', () => {
  it('has one row per error: where, whose, which order and field, the value, the code, what it means, what to do', () => {
    const lines = worklistCsv(result).split('\r\n');
    expect(lines[0]).toBe('收件序號,序號,來源檔案,列號,行號,欄,位置,hdata,rdata,病人,醫令代碼,欄位,欄位名稱,目前內容,檢核時內容,錯誤代碼,錯誤說明,說明,Explanation,表一規定,修正方式');
    expect(lines[3]).toBe(
      '1151125000001,3,TOTFA.xml,,144,7,,2,1,C11****006,09005C,r12,檢驗（查）結果值註記,7,7,03,代碼不在代碼表內,欄位值不在規定的代碼表內。,The value is not one of the codes the field allows.,"0 未發現異於參考值, 1 異於參考值",Use one of the codes of 表一 for this field.',
    );
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe('');
    // no patient's ID unmasked anywhere
    for (const r of brokenRecords()) expect(worklistCsv(result)).not.toContain(r.header.h9);
  });

  it('is written with a BOM for Excel, mode 0600, atomically (no temporary file left)', async () => {
    const path = await writeWorklist(result, 'worklist.csv', s.root);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8')).toBe(worklistCsv(result));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(s.root).filter((n) => n.includes('labup-tmp'))).toEqual([]);
  });

  it('quotes what CSV needs quoted and defuses formulas', () => {
    expect(['a,b', 'say "x"', 'line\nbreak', '=SUM(A1)', '+1', '@x', '-5', '-2.5', '-x', ' pad', null, 3].map(csvValue)).toEqual([
      '"a,b"',
      '"say ""x"""',
      '"line\nbreak"',
      "'=SUM(A1)",
      "'+1",
      "'@x",
      '-5',
      '-2.5',
      "'-x",
      '" pad"',
      '',
      '3',
    ]);
  });
});
