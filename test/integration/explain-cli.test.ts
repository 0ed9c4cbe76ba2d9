/**
 * `labup explain`, the real binary: exit codes, --json, --csv, piped lines, the encrypted download
 * opened with an ID typed in lowercase, and the errors a user makes (wrong file, wrong source).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { encodeCp950 } from '../../src/encoding/cp950.js';
import { completePersonId } from '../../src/format/national-id.js';
import { fixture, labup } from '../helpers/cli.js';
import { xml } from '../helpers/xml.js';
import { scratch, type Scratch } from '../unit/archive/scratch.js';
import { checkFileBytes } from '../unit/explain/check-file-writer.js';
import { brokenRecords, findings } from '../unit/explain/scenario.js';

const USER_ID = 'A123456789';
const CHECK = '1300_1151125000001.msg.txt';

let s: Scratch;
beforeEach(() => {
  s = scratch('labup-explain-cli-');
  const records = brokenRecords();
  const bytes = xml(records, 'big5');
  const f = findings(bytes);
  s.write('TOTFA.xml', bytes);
  s.write(CHECK, checkFileBytes({ receiptNo: '1151125000001', hdata: f.hdata, rdata: f.rdata }, f.errors));
});
afterEach(() => s.remove());

function run(args: string[], env: Record<string, string> = {}) {
  return labup(args, { cwd: s.root, env: { LABUP_USER_ID: '', XDG_CONFIG_HOME: s.path('.config'), LABUP_HOME: s.path('.labup'), ...env } });
}

describe('labup explain', () => {
  it('exits 1 for a rejected upload and prints one line per error, IDs masked', async () => {
    const r = await run(['explain', CHECK, '--source', 'TOTFA.xml']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^✗ 檢核錯誤 — rejected: 1300_1151125000001\.msg\.txt — 收件序號 1151125000001/);
    expect(lines[1]).toBe(
      'TOTFA.xml:12:5: 02 hdata 1 h9 身分證統一編號: 身分證號或居留證號檢查碼錯誤 "A12****788" [patient A12****788, 醫令 08011C] → Check the ID against the patient’s card; a typo changes the checksum.',
    );
    expect(r.stdout).not.toContain('A123456788');
    expect(r.stderr).toBe('');
  });

  it('--show-ids shows the IDs in the result', async () => {
    const r = await run(['--show-ids', 'explain', CHECK, '--source', 'TOTFA.xml']);
    expect(r.stdout).toContain('"A123456788" [patient A123456788, 醫令 08011C]');
  });

  it('--json prints the result object: groups with their errors, places, patients masked', async () => {
    const r = await run(['--json', 'explain', CHECK, '--source', 'TOTFA.xml']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'ok', 'file', 'checkFile', 'archive', 'encoding', 'receiptNo', 'uploadDate', 'institution', 'fileName', 'checkedAt', 'status', 'statusText', 'counts', 'source', 'groups', 'unparsed', 'notices', 'explainedAt',
    ]);
    expect(doc).toMatchObject({ ok: false, status: 'error', receiptNo: '1151125000001', counts: { hdata: 3, rdata: 10, errors: 4, listed: 4 }, explainedAt: '2026-11-25T21:00:00+08:00' });
    expect(Object.keys(doc.groups[0])).toEqual(['code', 'nhiCode', 'finding', 'title', 'zh', 'en', 'fix', 'known', 'count', 'errors']);
    expect(doc.groups[0].errors[0]).toEqual({
      seq: 1,
      line: 13,
      hdata: 1,
      rdata: null,
      field: 'h9',
      fieldName: '身分證統一編號',
      code: '02',
      message: '身分證號或居留證號檢查碼錯誤',
      value: 'A12****788',
      finding: 'PERSON_ID_CHECKSUM',
      fix: 'Check the ID against the patient’s card; a typo changes the checksum.',
      rule: '身分證號或居留證號, e.g. A123456789',
      source: { file: 'TOTFA.xml', line: 12, column: 5, at: 'field' },
      patient: 'A12****788',
      orderCode: '08011C',
      current: 'A12****788',
      changed: false,
    });
  });

  it('--csv writes the worklist (BOM, 0600) and still prints the explanation', async () => {
    const r = await run(['explain', CHECK, '--source', 'TOTFA.xml', '--csv', 'worklist.csv']);
    expect(r.code).toBe(1);
    const bytes = readFileSync(s.path('worklist.csv'));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = bytes.subarray(3).toString('utf8').trimEnd().split('\r\n');
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatch(/^1151125000001,1,TOTFA\.xml,,12,5,,1,,A12\*\*\*\*788,08011C,h9,身分證統一編號,/);
    expect(statSync(s.path('worklist.csv')).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain('worklist with 4 rows written to worklist.csv');
  });

  it('exits 0 for an accepted upload', async () => {
    s.write('ok.msg.txt', checkFileBytes({ receiptNo: '1151125000002', hdata: 2, rdata: 9 }, []));
    const r = await run(['explain', 'ok.msg.txt']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ 檢核正確 — accepted: ok\.msg\.txt — 收件序號 1151125000002/);
  });

  it('opens the encrypted download with the ID typed in lowercase, writing nothing', async () => {
    s.write('download.zip', await createZip([{ name: CHECK, data: readFileSync(s.path(CHECK)) }], { password: USER_ID, encryption: 'aes256' }));
    const before = s.tree();
    const r = await run(['explain', 'download.zip', '--source', 'TOTFA.xml'], { LABUP_USER_ID: 'a123456789' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('TOTFA.xml:12:5: 02 hdata 1 h9');
    expect(s.tree()).toEqual(before);
  });

  it('exits 4 on a wrong ID, 2 without an ID and no terminal', async () => {
    // (a wrong ID that passes ZipCrypto's one-byte check is still found wrong: see extract.test.ts)
    const wrongId = completePersonId('B12345678');
    s.write('download.zip', await createZip([{ name: CHECK, data: readFileSync(s.path(CHECK)) }], { password: USER_ID }));
    const wrong = await run(['explain', 'download.zip'], { LABUP_USER_ID: wrongId });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('[DECRYPT_WRONG_PASSWORD]');
    expect(wrong.stderr).not.toContain(completePersonId('B12345678'));
    const none = await run(['explain', 'download.zip']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('[USER_ID_MISSING]');
  });

  it('exits 2, saying so, for a source that does not match', async () => {
    s.write('other.xml', xml(brokenRecords().slice(0, 2), 'big5'));
    const r = await run(['explain', CHECK, '--source', 'other.xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[EXPLAIN_SOURCE_MISMATCH\] other\.xml does not match 1300_1151125000001\.msg\.txt: the check file counts 3 hdata \(醫令筆數\), the source holds 2/);
    expect(r.stderr).toContain('→ Give the file that was uploaded under 收件序號 1151125000001');
    expect(r.stdout).toBe('');
  });

  it('exits 2 for a file that is not a check file, showing what it holds', async () => {
    s.write('notes.txt', '會議紀錄\n下週一交報告\n');
    const r = await run(['explain', 'notes.txt']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('notes.txt:1: not understood: 會議紀錄');
    expect(r.stderr).toContain('does not read as a check file');
    const x = await run(['explain', 'TOTFA.xml']);
    expect(x.code).toBe(2);
    expect(x.stderr).toContain('[EXPLAIN_NOT_CHECK_FILE] TOTFA.xml: is a daily XML, not a check file');
    const missing = await run(['explain', 'nope.msg.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[FILE_NOT_FOUND] nope.msg.txt: no such file');
  });

  it('shows junk lines as they are and still explains the rest', async () => {
    const text = readFileSync(s.path(CHECK));
    s.write('junk.msg.txt', Buffer.concat([encodeCp950('轉寄：請檢驗科處理\r\n'), text, encodeCp950('\x1b[31m--\r\n')]));
    const r = await run(['explain', 'junk.msg.txt']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('junk.msg.txt:1: not understood: 轉寄：請檢驗科處理');
    expect(r.stdout).toContain('not understood: \\x1b[31m--');
    expect(r.stdout).toContain('junk.msg.txt:14: 02 hdata 1 h9 身分證統一編號');
  });
});

describe('labup explain on the fixtures (fixtures/explain)', () => {
  const at = (p: string) => fixture(`explain/${p}`);

  it('1300_1151125000002.msg.txt says 檢核正確: exit 0, nothing to fix', async () => {
    const r = await labup(['explain', at('1300_1151125000002.msg.txt')]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual([`✓ 檢核正確 — accepted: ${at('1300_1151125000002.msg.txt')} — 收件序號 1151125000002, 上傳日期 115/11/25, 醫事機構 3501200000, 檔案 TOTFA.xml, 檢核時間 115/11/25 20:31:05: 醫令 2 筆, 報告 9 筆, 0 errors listed`]);
  });

  it('the forwarded copy: notes and a mangled row shown as they are, the rest traced to export.csv', async () => {
    const r = await labup(['explain', at('1300_1151125000001.forwarded.txt'), '--source', at('export.csv')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('note: the header counts 4 errors (錯誤筆數), 3 rows are listed (file cut short?)');
    const places = lines.filter((l) => l.startsWith(at('export.csv') + ':')).map((l) => /^.*\/(export\.csv:.*?): (\d\d) hdata/.exec(l)!.slice(1, 3));
    expect(places).toEqual([
      ['export.csv:2 row 2, column 9 “身分證統一編號” (every row of the order: rows 2, 3 and 5)', '02'],
      ['export.csv:4 row 4, column 26 “檢驗（查）結果值註記”', '03'],
      ['export.csv:7 row 6, column 4 “執行年月”', '10'],
    ]);
    expect(lines.filter((l) => l.includes('not understood')).map((l) => l.slice(l.lastIndexOf('/') + 1))).toEqual([
      '1300_1151125000001.forwarded.txt:1: not understood: -----Original Message-----',
      '1300_1151125000001.forwarded.txt:2: not understood: 寄件者: 檢驗科 <lab@example.invalid>',
      '1300_1151125000001.forwarded.txt:16: not understood (rdata is not a position (1, 2 …)): 2\t1\t第3筆\tr6-1\t14\t參考值下限、參考值上限至少需擇一填寫\t',
      '1300_1151125000001.forwarded.txt:20: not understood: 備註：第 2 筆已請檢驗科確認參考值',
      '1300_1151125000001.forwarded.txt:21: not understood: ==== 以上 ====',
    ]);
  });

  it('the same check file traced in the NDJSON export, with --max-errors', async () => {
    const json = await labup(['explain', at('1300_1151125000001.msg.txt'), '--source', at('orders.ndjson'), '--max-errors', '2']);
    expect(json.code).toBe(1);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines.slice(1, 3).map((l) => /^.*\/(orders\.ndjson:.*?): (\d\d) hdata/.exec(l)!.slice(1, 3))).toEqual([
      ['orders.ndjson:1 /h9', '02'],
      ['orders.ndjson:1 /items/2 (its rdata: r6-1 is absent)', '14'],
    ]);
    expect(lines[3]).toBe('… 2 more not printed (--max-errors 0 prints all)');
  });
});
