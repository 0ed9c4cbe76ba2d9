/**
 * Reading the check-result file: the sandbox's format in Big5, the all-correct form, and what
 * people make of the file (re-saved as UTF-8 or UTF-16, typed colons, notes) — every line not
 * understood is kept with its number.
 */
import { describe, expect, it } from 'vitest';
import { decodeCheckFile, parseCheckFile } from '../../../src/explain/check-file.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';

const SANDBOX = [
  '檢驗(查)結果每日上傳檢核結果',
  '收件序號: 1151125000001',
  '上傳日期: 115/11/25',
  '醫事機構代碼: 3501200000',
  '檔案名稱: TOTFA.xml',
  '檢核時間: 115/11/25 20:31:05',
  '處理狀態: 檢核錯誤',
  '醫令筆數(hdata): 2',
  '報告筆數(rdata): 9',
  '錯誤筆數: 3',
  '',
  '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容',
  '1\t1\t\th9\t02\t身分證號或居留證號檢查碼錯誤\tA123456788',
  '2\t2\t3\tr6-1\t14\t參考值下限、參考值上限至少需擇一填寫\t',
  '3\t\t\t\tL:XML_SYNTAX\tXML 格式錯誤: unexpected end of file\t',
].join('\r\n') + '\r\n';

describe('parseCheckFile', () => {
  it('reads the sandbox’s Big5 file: header block and every table row', () => {
    // given the file as the portal writes it
    const bytes = encodeCp950(SANDBOX);
    // when parsed
    const c = parseCheckFile(bytes);
    // then
    expect(c).toMatchObject({
      encoding: 'big5',
      badBytes: 0,
      titled: true,
      receiptNo: '1151125000001',
      uploadDate: '115/11/25',
      institution: '3501200000',
      fileName: 'TOTFA.xml',
      checkedAt: '115/11/25 20:31:05',
      statusText: '檢核錯誤',
      status: 'error',
      counts: { hdata: 2, rdata: 9, errors: 3 },
      allCorrect: null,
      tableLine: 12,
      unparsed: [],
      lines: 15,
    });
    expect(c.rows).toEqual([
      { line: 13, seq: 1, hdata: 1, rdata: null, field: 'h9', code: '02', message: '身分證號或居留證號檢查碼錯誤', value: 'A123456788' },
      { line: 14, seq: 2, hdata: 2, rdata: 3, field: 'r6-1', code: '14', message: '參考值下限、參考值上限至少需擇一填寫', value: '' },
      { line: 15, seq: 3, hdata: null, rdata: null, field: null, code: 'L:XML_SYNTAX', message: 'XML 格式錯誤: unexpected end of file', value: '' },
    ]);
  });

  it('reads the all-correct form', () => {
    const text = SANDBOX.split('\r\n').slice(0, 6).join('\r\n') + '\r\n處理狀態: 檢核正確\r\n醫令筆數(hdata): 2\r\n報告筆數(rdata): 9\r\n錯誤筆數: 0\r\n\r\n檢核結果: 全部正確，醫令 2 筆、報告 9 筆。\r\n';
    const c = parseCheckFile(encodeCp950(text));
    expect(c).toMatchObject({ status: 'correct', counts: { hdata: 2, rdata: 9, errors: 0 }, allCorrect: { hdata: 2, rdata: 9 }, rows: [], unparsed: [] });
  });

  it('keeps every line it does not understand, with its number and, for almost-rows, why', () => {
    // given a file with a note typed in, a broken row, a stray header line and a duplicated key
    const text = [
      '檢驗(查)結果每日上傳檢核結果',
      '收件序號: 1151125000001',
      '轉寄給檢驗科，請於明日前修正',
      '處理狀態: 檢核錯誤',
      '處理狀態: 檢核正確',
      '醫令筆數(hdata): 兩筆',
      '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容',
      '1\t1\t\th9\t02\t身分證號或居留證號檢查碼錯誤\tA123456788',
      'x\t1\t\th9\t02\t說明\t',
      '2\tone\t\th9\t02\t說明\t',
      '3\t1\t\tzz9\t02\t說明\t',
      '4\t1\t\th9\t\t說明\t',
      '5\t\t2\th9\t02\t說明\t',
      '--- end ---',
    ].join('\n');
    const c = parseCheckFile(text);
    expect(c.rows.map((r) => r.seq)).toEqual([1]);
    expect(c.status).toBe('error');
    expect(c.unparsed).toEqual([
      { line: 3, text: '轉寄給檢驗科，請於明日前修正' },
      { line: 5, text: '處理狀態: 檢核正確' },
      { line: 6, text: '醫令筆數(hdata): 兩筆', reason: 'not a number' },
      { line: 9, text: 'x\t1\t\th9\t02\t說明\t', reason: '序號 is not a number' },
      { line: 10, text: '2\tone\t\th9\t02\t說明\t', reason: 'hdata is not a position (1, 2 …)' },
      { line: 11, text: '3\t1\t\tzz9\t02\t說明\t', reason: '“zz9” is not a field id (h1 … h30, r1 … r14)' },
      { line: 12, text: '4\t1\t\th9\t\t說明\t', reason: 'no 錯誤代碼' },
      { line: 13, text: '5\t\t2\th9\t02\t說明\t', reason: 'rdata without hdata' },
      { line: 14, text: '--- end ---' },
    ]);
  });

  it('reads a file re-saved by hand: UTF-8 with BOM, full-width colons and digits, spaces, lowercase codes, trailing cells cut', () => {
    const text = '\ufeff收件序號：１１５１１２５０００００２\n處理狀態 ： 檢核錯誤\n錯誤筆數：1 筆\n\n1\t１\t2\tR4\tl:item_numeric\t數值格式錯誤';
    const c = parseCheckFile(Buffer.from(text, 'utf8'));
    expect(c).toMatchObject({ encoding: 'utf-8', receiptNo: '1151125000002', status: 'error', counts: { errors: 1 } });
    expect(c.rows).toEqual([{ line: 5, seq: 1, hdata: 1, rdata: 2, field: 'r4', code: 'L:ITEM_NUMERIC', message: '數值格式錯誤', value: '' }]);
  });

  it('follows the table header when the columns come in another order, and keeps a TAB that was in the value', () => {
    const text = ['錯誤代碼\t序號\t欄位\thdata\trdata\t欄位內容\t錯誤說明', '03\t1\tr12\t2\t1\t7\t代碼不在代碼表內', '02\t2\th9\t1\t\tA12\t身分證號格式錯誤\textra'].join('\r\n');
    const c = parseCheckFile(text);
    expect(c.rows).toEqual([
      { line: 2, seq: 1, hdata: 2, rdata: 1, field: 'r12', code: '03', message: '代碼不在代碼表內', value: '7' },
      { line: 3, seq: 2, hdata: 1, rdata: null, field: 'h9', code: '02', message: '身分證號格式錯誤', value: 'A12 extra' },
    ]);
  });

  it('reads UTF-16 (Notepad’s “Unicode”) and old-Mac CR line ends', () => {
    const text = '收件序號: 1151125000003\r處理狀態: 檢核正確\r檢核結果: 全部正確，醫令 1 筆、報告 1 筆。\r';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const c = parseCheckFile(le);
    expect(c).toMatchObject({ encoding: 'utf-16le', receiptNo: '1151125000003', status: 'correct', allCorrect: { hdata: 1, rdata: 1 }, lines: 3, unparsed: [] });
  });

  it('decodes Big5 with broken bytes as U+FFFD and counts them, keeping the rest', () => {
    const good = encodeCp950('收件序號: 1151125000001\r\n');
    const bytes = Buffer.concat([good, Buffer.from([0x80, 0xff]), encodeCp950('處理狀態: 檢核錯誤\r\n')]);
    const d = decodeCheckFile(bytes);
    expect(d).toMatchObject({ encoding: 'big5', badBytes: 2 });
    expect(d.text).toBe('收件序號: 1151125000001\r\n\ufffd\ufffd處理狀態: 檢核錯誤\r\n');
    const c = parseCheckFile(bytes);
    expect(c.receiptNo).toBe('1151125000001');
    expect(c.unparsed).toEqual([{ line: 2, text: '\ufffd\ufffd處理狀態: 檢核錯誤' }]);
  });

  it('gives an empty result for an empty file', () => {
    expect(parseCheckFile(new Uint8Array(0))).toMatchObject({ lines: 0, rows: [], unparsed: [], status: null, receiptNo: null });
  });
});
