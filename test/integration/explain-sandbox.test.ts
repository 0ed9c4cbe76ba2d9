/**
 * The whole way, as support staff go it: an upload rejected by the sandbox portal, its check file
 * downloaded encrypted with the user's ID, and `labup explain` (the real binary) on that ZIP with
 * the uploaded file as the source — every error must land on the right line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { pack } from '../../src/pack/pack.js';
import { fixedClock } from '../../src/clock.js';
import { fixture, labup } from '../helpers/cli.js';
import { xml } from '../helpers/xml.js';
import { brokenRecords } from '../unit/explain/scenario.js';
import { send, tempDir, testSandbox, DEMO_USER, type TestSandbox } from './sandbox-support.js';

describe('labup explain on a check file downloaded from the sandbox', () => {
  let t: TestSandbox;
  const dir = tempDir('labup-explain-sb-');
  let receiptNo: string;
  const records = brokenRecords();
  const xmlBytes = xml(records, 'big5');

  beforeAll(async () => {
    t = await testSandbox();
    writeFileSync(join(dir.path, 'TOTFA.xml'), xmlBytes);
    writeFileSync(join(dir.path, 'TOTFA.zip'), await createZip([{ name: 'TOTFA.xml', data: xmlBytes }]));
    const r = await send(t.client, join(dir.path, 'TOTFA.zip'));
    receiptNo = r.receiptNo;
    await t.processAll();
    const s = await t.client.getSubmission(receiptNo);
    expect(s.status).toBe('failed');
    const got = await t.client.download(s.files[0]!.id, { encrypted: true, encryption: 'aes256' });
    writeFileSync(join(dir.path, got.fileName), got.data);
  });
  afterAll(async () => {
    await t.stop();
    dir.remove();
  });

  /** The line of `<field>` in hdata `h` (rdata `r`), read from the XML text. */
  function lineOf(h: number, r: number | null, field: string): number {
    const lines = xmlBytes.toString('latin1').split('\n');
    let hd = 0;
    let rd = 0;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.includes('<hdata>')) [hd, rd] = [hd + 1, 0];
      if (hd !== h) continue;
      if (lines[i]!.includes('<rdata>')) rd++;
      if (rd === (r ?? 0) && (lines[i]!.includes(`<${field}>`) || (field === '' && lines[i]!.includes(r ? '<rdata>' : '<hdata>')))) return i + 1;
    }
    throw new Error(`no ${field} in hdata ${h}`);
  }

  it('points every error at its line in the uploaded ZIP, the ID given in lowercase', async () => {
    const zip = `1300_${receiptNo}.zip`;
    const r = await labup(['--json', 'explain', zip, '--source', 'TOTFA.zip'], { cwd: dir.path, env: { LABUP_USER_ID: DEMO_USER.toLowerCase(), XDG_CONFIG_HOME: join(dir.path, '.config') } });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ status: 'error', receiptNo, archive: { entry: `1300_${receiptNo}.msg.txt`, encryption: 'aes256', passwordSource: 'LABUP_USER_ID' }, unparsed: [] });
    const errors = doc.groups.flatMap((g: { errors: unknown[] }) => g.errors) as Array<{ hdata: number; rdata: number | null; field: string; source: { line: number; at: string; entry: string } }>;
    expect(errors.map((e) => `${e.hdata}/${e.rdata ?? '-'}/${e.field}`).sort()).toEqual(['1/-/h9', '1/3/r6-1', '2/1/r12', '3/-/h4']);
    for (const e of errors) {
      const field = e.source.at === 'field' ? e.field : '';
      expect({ e: `${e.hdata}/${e.rdata}/${e.field}`, line: e.source.line }).toEqual({ e: `${e.hdata}/${e.rdata}/${e.field}`, line: lineOf(e.hdata, e.rdata, field) });
      expect(e.source.entry).toBe('TOTFA.xml');
    }
    expect(r.stdout).not.toContain('A123456788');
  });

  it('points every error at its row in the CSV export the upload was packed from', async () => {
    // given the HIS export of fixtures/explain, packed (errors and all) and uploaded
    copyFileSync(fixture('explain/export.csv'), join(dir.path, 'export.csv'));
    const packed = await pack(['export.csv'], { cwd: dir.path, out: 'EXPORT.zip', uploadTime: '2026-11-25T20:00:00+08:00', clock: fixedClock('2026-11-25T21:00:00+08:00'), force: true });
    const up = await send(t.client, packed.output!);
    await t.processAll();
    const sub = await t.client.getSubmission(up.receiptNo);
    expect(sub.status).toBe('failed');
    const got = await t.client.download(sub.files[0]!.id, { encrypted: true });
    writeFileSync(join(dir.path, got.fileName), got.data);

    // when the download is explained against the export, the ID typed in lowercase
    const r = await labup(['--json', 'explain', got.fileName, '--source', 'export.csv', '--csv', 'worklist.csv'], {
      cwd: dir.path,
      env: { LABUP_USER_ID: DEMO_USER.toLowerCase(), XDG_CONFIG_HOME: join(dir.path, '.config') },
    });

    // then each error names the spreadsheet row (header = row 1) and the line the row starts on
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ receiptNo: up.receiptNo, counts: { hdata: 3, rdata: 5, listed: 4 }, source: { file: 'export.csv', format: 'csv', hdata: 3, rdata: 5 } });
    const errors = doc.groups.flatMap((g: { errors: unknown[] }) => g.errors) as Array<{ seq: number; field: string; source: { row: number; line: number; rows?: Array<{ row: number }> } }>;
    expect(errors.sort((a, b) => a.seq - b.seq).map((e) => [e.field, e.source.row, e.source.line, e.source.rows?.map((x) => x.row) ?? null])).toEqual([
      ['h9', 2, 2, [2, 3, 5]],
      ['r6-1', 5, 6, null],
      ['r12', 4, 4, null],
      ['h4', 6, 7, null],
    ]);
    // and the staff worklist says the same, patients masked
    const worklist = readFileSync(join(dir.path, 'worklist.csv'), 'utf8').replace(/^\ufeff/, '').trimEnd().split('\r\n');
    expect(worklist).toHaveLength(5);
    expect(worklist[1]).toMatch(new RegExp(`^${up.receiptNo},1,export\\.csv,"2, 3, 5",2,9,身分證統一編號,1,,A12\\*\\*\\*\\*788,08011C,h9,`));
    expect(worklist[2]).toMatch(new RegExp(`^${up.receiptNo},2,export\\.csv,5,6,21,參考值下限,1,3,A12\\*\\*\\*\\*788,08011C,r6-1,參考值下限,,,14,`));
    expect(worklist[3]).toMatch(new RegExp(`^${up.receiptNo},3,export\\.csv,4,4,26,檢驗（查）結果值註記,2,1,F22\\*\\*\\*\\*786,09005C,r12,檢驗（查）結果值註記,7,7,03,`));
    expect(worklist[4]).toMatch(new RegExp(`^${up.receiptNo},4,export\\.csv,6,7,4,執行年月,3,,K12\\*\\*\\*\\*433,09015C,h4,執行年月,11510,11510,10,`));
  });
});
