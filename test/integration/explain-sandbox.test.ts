/**
 * The whole way, as support staff go it: an upload rejected by the sandbox portal, its check file
 * downloaded encrypted with the user's ID, and `labup explain` (the real binary) on that ZIP with
 * the uploaded file as the source — every error must land on the right line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { labup } from '../helpers/cli.js';
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
});
