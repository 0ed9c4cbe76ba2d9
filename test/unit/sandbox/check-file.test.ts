import { describe, expect, it } from 'vitest';
import { checkFileBytes, checkFileRemark, checkFileText, findingDetail, rowsFromFindings, unreadableRow } from '../../../src/sandbox/check-file.js';
import { makeFinding } from '../../../src/format/findings.js';
import { decodeCp950 } from '../../../src/encoding/cp950.js';

const base = {
  receiptNo: '1151125000001',
  uploadDate: { year: 2026, month: 11, day: 25 },
  institutionCode: '3501200000',
  fileName: 'TOTFA.xml',
  checkedAt: new Date('2026-11-25T20:31:05+08:00'),
};

describe('the check-result file (檢核結果檔)', () => {
  it('lists each error with its position, field, NHIA code (or L:code), description and raw value', () => {
    // given three errors as the validator reports them: a header field, an item field, a file-level one
    const findings = [
      makeFinding({ code: 'PERSON_ID_CHECKSUM', field: 'h9', hdata: 1, rdata: null, value: 'A123456788' }),
      makeFinding({ code: 'REFERENCE_RANGE_REQUIRED', field: 'r6-1', hdata: 2, rdata: 3 }),
      makeFinding({ code: 'UPLOAD_DATE_MISMATCH', field: 'h16', hdata: 2, rdata: null, value: '1151124200000', detail: 'upload date is 1151125' }),
      makeFinding({ code: 'XML_SYNTAX', line: 3, column: 1, detail: 'unexpected end\tof file' }),
      makeFinding({ code: 'ORDER_NOT_LISTED', field: 'h15', hdata: 1, value: '99999C' }),
    ];
    // when the check file is written
    const text = checkFileText({ ...base, status: 'failed', counts: { hdata: 2, rdata: 9 }, errorCount: 4, rows: rowsFromFindings(findings) });
    // then it is exactly the shared format: header block, blank line, TAB table, CRLF, warnings left out
    expect(text).toBe(
      [
        '檢驗(查)結果每日上傳檢核結果',
        '收件序號: 1151125000001',
        '上傳日期: 115/11/25',
        '醫事機構代碼: 3501200000',
        '檔案名稱: TOTFA.xml',
        '檢核時間: 115/11/25 20:31:05',
        '處理狀態: 檢核錯誤',
        '醫令筆數(hdata): 2',
        '報告筆數(rdata): 9',
        '錯誤筆數: 4',
        '',
        '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容',
        '1\t1\t\th9\t02\t身分證號或居留證號檢查碼錯誤\tA123456788',
        '2\t2\t3\tr6-1\t14\t參考值下限、參考值上限至少需擇一填寫\t',
        '3\t2\t\th16\t22\th16 前七碼與上傳日期不一致: upload date is 1151125\t1151124200000',
        '4\t\t\t\tL:XML_SYNTAX\tXML 格式錯誤: unexpected end of file\t',
        '',
      ].join('\r\n'),
    );
  });

  it('summarises a correct file in one line, without a table', () => {
    const text = checkFileText({ ...base, status: 'passed', counts: { hdata: 2, rdata: 9 }, errorCount: 0, rows: [] });
    expect(text.split('\r\n').slice(6)).toEqual(['處理狀態: 檢核正確', '醫令筆數(hdata): 2', '報告筆數(rdata): 9', '錯誤筆數: 0', '', '檢核結果: 全部正確，醫令 2 筆、報告 9 筆。', '']);
  });

  it('reports a file that cannot be read with one row carrying the labup code', () => {
    const text = checkFileText({ ...base, fileName: 'TOTFA.zip', status: 'failed', counts: { hdata: 0, rdata: 0 }, errorCount: 1, rows: [unreadableRow('ZIP_DAMAGED', 'TOTFA.xml fails its CRC-32 check')] });
    expect(text.split('\r\n').slice(-3)).toEqual(['序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容', '1\t\t\t\tL:ZIP_DAMAGED\tZIP 檔損毀或無法讀取: TOTFA.xml fails its CRC-32 check\t', '']);
    expect(checkFileRemark('failed', true)).toBe('檢驗(查)結果每日上傳 資料檢核錯誤(XML申報檔案處理錯誤)');
  });

  it('is encoded in Big5 (code page 950)', () => {
    const bytes = checkFileBytes({ ...base, status: 'passed', counts: { hdata: 1, rdata: 1 }, errorCount: 0, rows: [] });
    // 檢 is 0xC0CB in Big5
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc0, 0xcb]));
    expect(decodeCp950(bytes).text).toContain('檢核結果: 全部正確，醫令 1 筆、報告 1 筆。');
  });

  it('recovers the detail of a finding, with or without a value', () => {
    expect(findingDetail(makeFinding({ code: 'EXEC_MONTH_MISMATCH', field: 'h4', value: '11510', detail: 'h20 is 1151125, so h4 should be 11511' }))).toBe('h20 is 1151125, so h4 should be 11511');
    expect(findingDetail(makeFinding({ code: 'FIELD_REQUIRED', field: 'h2' }))).toBe('');
  });
});

describe('the check file’s values come from the file as it is', () => {
  it('keeps national IDs unmasked only when the validator is asked to (showIds)', async () => {
    const { StreamingValidator } = await import('../../../src/validate.js');
    const { xml, lab } = await import('../../helpers/xml.js');
    const bytes = xml([{ ...lab(), header: { ...lab().header, h9: 'A123456788' } }]);
    const run = (showIds: boolean) => {
      const v = new StreamingValidator('t.xml', { showIds, uploadDateResolved: { year: 2026, month: 11, day: 25 } });
      v.write(bytes);
      return v.end().errors.find((f) => f.code === 'PERSON_ID_CHECKSUM')!;
    };
    expect(run(false).value).toBe('A12****788');
    expect(run(false).message).not.toContain('A123456788');
    expect(run(true).value).toBe('A123456788');
    expect(rowsFromFindings([run(true)])[0]!.value).toBe('A123456788');
  });
});
