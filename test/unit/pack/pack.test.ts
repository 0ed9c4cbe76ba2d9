import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack, type PackOptions, type PackResult } from '../../../src/pack/pack.js';
import { fixedClock } from '../../../src/clock.js';
import type { IoHost, Progress } from '../../../src/io-host.js';
import { readEntry, readZipDirectory } from '../../../src/archive/zip-reader.js';
import { DailyXmlReader, type HdataRecord } from '../../../src/xml/daily-reader.js';
import { H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { LabupError } from '../../../src/errors.js';

const NOW = '2026-11-25T21:00:00+08:00';
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

// A valid fasting glucose, one row per item; `extra` overrides cells by column.
const COLUMNS = ['h1', 'h2', 'h3', 'h5', 'h6', 'h7', 'h9', 'h10', 'h11', 'h15', 'h20', 'h22', 'h26', 'r2', 'r3', 'r4', 'r5', 'r6-1', 'r6-2', 'r9', 'r10'];
const BASE: Record<string, string> = {
  h1: '1', h2: '3501200000', h3: '12', h5: '1151125073005', h6: '01', h7: '0001', h9: 'A123456789', h10: '0600315', h11: '1151125', h15: '09005C',
  h20: '1151125083005', h22: '血清', h26: '0', r2: '飯前血糖 Glucose AC', r3: '酵素法', r4: '95', r5: 'mg/dL', 'r6-1': '70', 'r6-2': '100', r9: 'B123456780', r10: '1151125093005',
};
const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
function csv(rows: Array<Record<string, string>>, columns = COLUMNS): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell({ ...BASE, ...r }[c] ?? '')).join(','))].join('\n') + '\n';
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-pack-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function run(inputs: string[], options: PackOptions = {}): Promise<PackResult> {
  return pack(inputs, { cwd: dir, clock: fixedClock(NOW), ...options });
}

/** The XML inside a ZIP pack wrote: raw bytes and the records read back. */
async function unpack(zipPath: string): Promise<{ name: string; xml: Buffer; records: HdataRecord[] }> {
  const d = await readZipDirectory(zipPath);
  const parts: Buffer[] = [];
  for await (const c of readEntry(d, d.entries[0]!)) parts.push(c);
  const xml = Buffer.concat(parts);
  const records: HdataRecord[] = [];
  const reader = new DailyXmlReader({ hdata: (r) => records.push(r), finding: () => {} });
  reader.write(xml);
  reader.end();
  return { name: d.entries[0]!.name, xml, records };
}

const h = (rec: HdataRecord, id: string) => rec.fields[H_FIELDS.findIndex((f) => f.id === id)]?.value;
const r = (rec: HdataRecord, i: number, id: string) => rec.rdata[i]!.fields[R_FIELDS.findIndex((f) => f.id === id)]?.value;
const leftovers = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('pack (library)', () => {
  it('packs a CSV into TOTFA.zip: grouped, r1 numbered, h4 derived, h16 stamped, mode 0600', async () => {
    // given two rows of one order (PT/INR) and one of another, no r1 and no h4 columns
    const pt = { h15: '08026C', r3: '凝固法', r5: 'sec', 'r6-1': '9.4', 'r6-2': '12.5', r4: '11.2' };
    const input = write('export.csv', csv([{ ...pt, r2: 'PT' }, { ...pt, r2: 'INR 國際標準', r5: 'INR' }, { h7: '0002', r2: 'c' }]));
    // when packed at 115/11/25 21:00 Taipei
    const result = await run([input]);
    // then a clean ZIP is written with two hdata, items numbered in input order
    expect(result).toMatchObject({ ok: true, refused: null, output: join(dir, 'TOTFA.zip'), entry: 'TOTFA.xml', h16: '1151125210000', counts: { rows: 3, hdata: 2, rdata: 3 }, errorCount: 0 });
    expect(statSync(result.output!).mode & 0o777).toBe(0o600);
    const { name, records } = await unpack(result.output!);
    expect(name).toBe('TOTFA.xml');
    expect(records.map((rec) => [h(rec, 'h7'), h(rec, 'h4'), h(rec, 'h16'), rec.rdata.map((_, i) => [r(rec, i, 'r1'), r(rec, i, 'r2')])])).toEqual([
      ['0001', '11511', '1151125210000', [['1', 'PT'], ['2', 'INR 國際標準']]],
      ['0002', '11511', '1151125210000', [['1', 'c']]],
    ]);
    expect(leftovers()).toEqual([]);
  });

  it('packs an NDJSON export and a CSV export together into one XML, in input order, whichever comes first', async () => {
    // given one order as NDJSON (one object per order, with items) and another as a CSV row
    const { r2, r3, r4, r5, 'r6-1': lo, 'r6-2': hi, r9, r10, ...header } = BASE;
    const order = { ...header, h7: '0003', items: [{ r2, r3, r4, r5, 'r6-1': lo, 'r6-2': hi, r9, r10 }] };
    const json = write('orders.ndjson', JSON.stringify(order) + '\n');
    const table = write('export.csv', csv([{ h7: '0004' }]));
    for (const [inputs, visits] of [
      [[json, table], ['0003', '0004']],
      [[table, json], ['0004', '0003']],
    ] as const) {
      // when packed in one go
      const result = await run([...inputs], { out: `BOTH${visits[0]}.zip` });
      // then one ZIP holds both orders, each opened once
      expect(result).toMatchObject({ ok: true, errorCount: 0, counts: { rows: 2, hdata: 2, rdata: 2 } });
      expect((await unpack(result.output!)).records.map((rec) => h(rec, 'h7'))).toEqual([...visits]);
    }
    expect(leftovers()).toEqual([]);
  });

  it('writes the five XML specials full-width, byte for byte in Big5 (CP950) — " as ” (A1 A8)', async () => {
    // given a remark holding & < > ' "
    const input = write('e.csv', csv([{ r11: `a&b<c>d'e"f` }], [...COLUMNS, 'r11']));
    // when packed in Big5 and in UTF-8
    const big5 = await run([input], { out: 'B.zip' });
    const utf8 = await run([input], { out: 'U.zip', encoding: 'utf-8' });
    // then Big5 has ＆ ＜ ＞ ’ ” as CP950 pairs, and UTF-8 has ＂ for the double quote
    const b = (await unpack(big5.output!)).xml;
    const want = Buffer.concat([Buffer.from('<r11>a'), Buffer.from([0xa1, 0xae]), Buffer.from('b'), Buffer.from([0xa1, 0xd5]), Buffer.from('c'), Buffer.from([0xa1, 0xd6]), Buffer.from('d'), Buffer.from([0xa1, 0xa6]), Buffer.from('e'), Buffer.from([0xa1, 0xa8]), Buffer.from('f</r11>')]);
    expect(b.includes(want)).toBe(true);
    expect(b.subarray(0, 38).toString()).toBe('<?xml version="1.0" encoding="Big5"?>\n');
    const u = (await unpack(utf8.output!)).xml.toString('utf8');
    expect(u).toContain('<r11>a＆b＜c＞d’e＂f</r11>');
    expect(u.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(big5.errorCount + utf8.errorCount).toBe(0);
  });

  it('refuses a character Big5 cannot carry, naming the CSV row, column and field; no file is left', async () => {
    // given 堃 (not in code page 950) in r2 of the second data row
    const input = write('e.csv', csv([{}, { h7: '0002', r2: '王堃 送檢' }]));
    // when packed
    const result = await run([input]);
    // then nothing is written and the error points at line 3, column r2
    expect(result).toMatchObject({ ok: false, refused: 'invalid', output: null, errorCount: 1 });
    expect(result.errors[0]).toMatchObject({
      code: 'PACK_UNENCODABLE',
      severity: 'error',
      field: 'r2',
      fieldName: '檢驗項目名稱',
      hdata: 2,
      rdata: 1,
      source: { file: input, line: 3, row: 2, column: 14, columnName: 'r2' },
    });
    expect(result.errors[0]!.message).toContain('“堃” (U+5803)');
    expect(readdirSync(dir).sort()).toEqual(['e.csv']);
  });

  it('replaces such characters with --replace-unencodable, a warning each (µ becomes μ)', async () => {
    const input = write('e.csv', csv([{ r2: '王堃', r5: 'µg/dL' }]));
    const result = await run([input], { replaceUnencodable: true });
    expect(result.ok).toBe(true);
    const replaced = result.warnings.filter((w) => w.code === 'PACK_CHAR_REPLACED');
    expect(replaced.map((w) => [w.code, w.field, w.message.match(/replaced by “(.)”/)?.[1]])).toEqual([
      ['PACK_CHAR_REPLACED', 'r2', '?'],
      ['PACK_CHAR_REPLACED', 'r5', 'μ'],
    ]);
    const { records } = await unpack(result.output!);
    expect([r(records[0]!, 0, 'r2'), r(records[0]!, 0, 'r5')]).toEqual(['王?', 'μg/dL']);
  });

  it('refuses control characters XML cannot carry; a forced file stays well-formed', async () => {
    const input = write('e.csv', csv([{ r3: 'a\u0007b' }]));
    const result = await run([input]);
    expect(result.errors.map((e) => [e.code, e.field, e.source?.line])).toEqual([['PACK_CONTROL_CHAR', 'r3', 2]]);
    const forced = await run([input], { force: true });
    expect(forced.errors.map((e) => e.code)).toEqual(['PACK_CONTROL_CHAR']);
    expect(r((await unpack(forced.output!)).records[0]!, 0, 'r3')).toBe('a b');
  });

  it('maps validator findings back to the CSV cell, masking IDs', async () => {
    // given a wrong checksum in row 2 and an unknown visit type in row 3
    const input = write('e.csv', csv([{ h9: 'A123456788' }, { h7: '0002', h6: '0X' }]));
    const result = await run([input]);
    expect(result.refused).toBe('invalid');
    expect(result.errors.map((e) => [e.code, e.nhiCode, e.value, e.source])).toEqual([
      ['PERSON_ID_CHECKSUM', '02', 'A12****788', { file: input, line: 2, row: 1, column: 7, columnName: 'h9' }],
      ['FIELD_CODE', '21', '0X', { file: input, line: 3, row: 2, column: 5, columnName: 'h6' }],
    ]);
    // the validator's own position (in the XML inside the ZIP) is kept too
    expect(result.errors[0]!.line).toBeGreaterThan(0);
  });

  it('writes anyway with force, and says so', async () => {
    const input = write('e.csv', csv([{ h9: 'A123456788' }]));
    const result = await run([input], { force: true });
    expect(result).toMatchObject({ ok: true, forced: true, refused: null, errorCount: 1 });
    expect(existsSync(join(dir, 'TOTFA.zip'))).toBe(true);
  });

  it('writes nothing on a dry run, but reports the target', async () => {
    const input = write('e.csv', csv([{}]));
    const result = await run([input], { dryRun: true, out: 'LAB1.zip' });
    expect(result).toMatchObject({ ok: true, dryRun: true, output: null, target: join(dir, 'LAB1.zip'), entry: 'LAB1.xml', counts: { hdata: 1 } });
    expect(readdirSync(dir)).toEqual(['e.csv']);
  });

  it('names the ZIP by the API pattern with the next free serial', async () => {
    // given serials 001 and 003 already in the folder (and another day's 009)
    const input = write('e.csv', csv([{}]));
    write('35012000001151125001.zip', 'x');
    write('35012000001151125003.ZIP', 'x');
    write('35012000001151124009.zip', 'x');
    // when packed with --api-name
    const result = await run([input], { apiName: true });
    // then 004 is taken, for the ZIP and the XML inside
    expect(result.output).toBe(join(dir, '35012000001151125004.zip'));
    expect((await unpack(result.output!)).name).toBe('35012000001151125004.xml');
  });

  it.each([
    [{ out: 'TOT_FA.zip' }, 'PACK_OUT_NAME', /letters and digits/],
    [{ out: 'TOTFA.xml' }, 'PACK_OUT_NAME', /\.zip/],
    [{ out: 'missing/TOTFA.zip' }, 'PACK_OUT_DIR', /does not exist/],
    [{ out: 'TOTFA.zip', apiName: true }, 'PACK_OUT_NAME', /must then be a folder/],
    [{ uploadTime: 'yesterday' }, 'PACK_UPLOAD_TIME', /is not a date and time/],
    [{ hosp: '12345' }, 'PACK_HOSP', /10 letters or digits/],
    [{ map: 'nope.json' }, 'FILE_NOT_FOUND', /nope\.json: no such file/],
  ] as Array<[PackOptions, string, RegExp]>)('refuses bad options before reading: %j', async (options, code, message) => {
    const input = write('e.csv', csv([{}]));
    const err = await run([input], options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabupError);
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect((err as Error).message).toMatch(message);
    expect(readdirSync(dir)).toEqual(['e.csv']);
  });

  it('refuses a CSV without a column every record needs, listing the columns it has', async () => {
    const input = write('e.csv', csv([{}], COLUMNS.filter((c) => c !== 'h9' && c !== 'h2')));
    const err = await run([input]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PACK_COLUMN_MISSING', message: `${input}:1: no column for h2 醫事機構代碼, h9 身分證統一編號, which every record needs (h2: or give --hosp)` });
    // with --hosp only h9 is missing
    const err2 = await run([input], { hosp: '3501200000' }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/no column for h9 身分證統一編號,/);
  });

  it('fills h2 from --hosp where the input has none, and warns where it differs', async () => {
    const input = write('e.csv', csv([{ h2: '' }, { h7: '0002', h2: '3501209999' }]));
    const result = await run([input], { hosp: '3501200000' });
    const { records } = await unpack(result.output!);
    expect(records.map((rec) => h(rec, 'h2'))).toEqual(['3501200000', '3501209999']);
    expect(result.warnings.map((w) => w.code)).toEqual(['PACK_H2_DIFFERS']);
  });

  it('stamps h16 from --upload-time, ISO or ROC, and checks the date NHI would accept', async () => {
    const input = write('e.csv', csv([{}]));
    expect((await run([input], { uploadTime: '2026-11-25T20:15:00+08:00', dryRun: true })).h16).toBe('1151125201500');
    expect((await run([input], { uploadTime: '1151124235959', dryRun: true })).h16).toBe('1151124235959');
    // two days ago: NHI no longer accepts that 上傳日期
    const old = await run([input], { uploadTime: '1151123100000', dryRun: true });
    expect(old.errors.map((e) => e.code)).toContain('UPLOAD_DATE_NOT_ALLOWED');
    // tomorrow: allowed, with a warning (upload it then)
    const later = await run([input], { uploadTime: '2026-11-26T08:00:00+08:00', dryRun: true });
    expect(later.errorCount).toBe(0);
    expect(later.warnings.map((w) => w.code)).toContain('PACK_UPLOAD_TIME_FUTURE');
  });

  it('has nothing to do for a CSV with only its header: no file at all', async () => {
    const input = write('e.csv', csv([]));
    const result = await run([input]);
    expect(result).toMatchObject({ ok: false, refused: 'empty', output: null, counts: { rows: 0, hdata: 0, rdata: 0 }, errorCount: 0 });
    expect(readdirSync(dir)).toEqual(['e.csv']);
  });

  it('reads Big5 CSV, detecting the encoding, and leaves out a row with the wrong number of values', async () => {
    const text = csv([{}, { h7: '0002' }]) + 'extra,value\n';
    const input = write('b.csv', encodeCp950(text));
    const result = await run([input], { force: true });
    expect(result.inputs[0]).toMatchObject({ format: 'csv', encoding: 'Big5 (CP950), detected', records: 3 });
    expect(result.errors.map((e) => [e.code, e.source?.line])).toEqual([['PACK_CSV_FIELD_COUNT', 4]]);
    expect(result.counts).toEqual({ rows: 3, hdata: 2, rdata: 2 });
  });

  it('re-stamps an existing daily XML with a later h16, and refuses an earlier one', async () => {
    // given the lab fixture, uploaded at 115/11/25 20:00:00
    const input = join(dir, 'lab.xml');
    copyFileSync(join(fixtures, 'valid/lab.xml'), input);
    // when re-stamped at 21:00
    const result = await run([input], { out: 'FIX.zip' });
    // then every hdata carries the new h16 and nothing else changed
    expect(result).toMatchObject({ ok: true, counts: { rows: 2, hdata: 2, rdata: 9 } });
    const { records } = await unpack(result.output!);
    expect(records.map((rec) => h(rec, 'h16'))).toEqual(['1151125210000', '1151125210000']);
    const original: HdataRecord[] = [];
    const reader = new DailyXmlReader({ hdata: (rec) => original.push(rec), finding: () => {} });
    reader.write(await import('node:fs').then((fs) => fs.readFileSync(input)));
    reader.end();
    const values = (recs: HdataRecord[]) => recs.map((rec) => [rec.fields.map((f, i) => (H_FIELDS[i]!.id === 'h16' ? '' : f?.value)), rec.rdata.map((rd) => rd.fields.map((f) => f?.value))]);
    expect(values(records)).toEqual(values(original));
    // and an h16 earlier than the original one would not replace it: refused
    const earlier = await run([input], { out: 'OLD.zip', uploadTime: '1151125190000' });
    expect(earlier.refused).toBe('invalid');
    expect(earlier.errors.map((e) => [e.code, e.hdata, e.source?.line])).toEqual([
      ['PACK_H16_NOT_LATER', 1, expect.any(Number)],
      ['PACK_H16_NOT_LATER', 2, expect.any(Number)],
    ]);
  });

  it('refuses a key written twice (NHI keeps only the last record), naming both lines', async () => {
    // given a window of 2 rows, and a PT/INR order whose second row comes 3 rows after its first
    const pt = { h15: '08026C', r3: '凝固法', r5: 'sec', 'r6-1': '9.4', 'r6-2': '12.5', r4: '11.2', r2: 'PT' };
    const input = write('e.csv', csv([pt, { h7: '0002' }, { h7: '0003' }, { ...pt, r2: 'INR 國際標準', r5: 'INR' }]));
    // when packed
    const result = await run([input], { groupWindow: 2 });
    // then the late row became a 4th hdata, and the repeat is an error naming line 2 and line 5
    expect(result.counts).toMatchObject({ hdata: 4 });
    expect(result.errors.map((e) => [e.code, e.nhiCode, e.hdata, e.source?.line])).toEqual([['PACK_KEY_REPEATED', '25', 4, 5]]);
    expect(result.errors[0]!.message).toContain('already written as hdata 1, from line 2');
    expect(result.errors[0]!.hint).toMatch(/up to 2 rows apart; --group-window raises that/);
    expect(result.warnings.map((w) => w.code)).not.toContain('DUPLICATE_KEY');
    // and with the default window the rows are simply one order
    const grouped = await run([input], { dryRun: true });
    expect(grouped).toMatchObject({ errorCount: 0, counts: { hdata: 3, rdata: 4 } });
  });

  it('reads TSV by extension, sniffs a format from content, and packs several inputs into one XML', async () => {
    // given a TSV export, an NDJSON export under a neutral name, and a UTF-8 CSV with a byte-order mark
    const tsv = write('a.tsv', csv([{}]).replace(/,/g, '\t'));
    const nd = write('b.dat', JSON.stringify({ ...BASE, h7: '0002' }) + '\n');
    const bom = write('c.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv([{ h7: '0003' }]), 'utf8')]));
    // when packed together
    const result = await run([tsv, nd, bom]);
    // then each is read as what it is, in the order given
    expect(result.inputs.map((i) => [i.format, i.encoding, i.records])).toEqual([
      ['csv', 'UTF-8, detected', 1],
      ['json', 'UTF-8, detected', 1],
      ['csv', 'UTF-8, byte-order mark', 1],
    ]);
    expect(result).toMatchObject({ ok: true, errorCount: 0, counts: { rows: 3, hdata: 3, rdata: 3 } });
    const { records } = await unpack(result.output!);
    expect(records.map((rec) => h(rec, 'h7'))).toEqual(['0001', '0002', '0003']);
  });

  it('names the input XML’s line and column for problems of an XML being re-stamped', async () => {
    const input = join(dir, 'broken.xml');
    copyFileSync(join(fixtures, 'invalid/not-well-formed.xml'), input);
    const result = await run([input], { dryRun: true });
    expect(result.refused).toBe('invalid');
    expect(result.errors[0]).toMatchObject({ code: 'XML_SYNTAX', source: { file: input, line: 10, column: expect.any(Number) } });
  });

  it('reports progress to the host in rows, and never prints', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => ({ h7: String(i + 1).padStart(4, '0') }));
    const input = write('big.csv', csv(rows));
    const progress: Progress[] = [];
    const host: IoHost = { notify: () => {}, progress: (p) => progress.push(p) };
    const result = await run([input], { host, dryRun: true });
    expect(result.counts.hdata).toBe(2500);
    expect(progress.map((p) => p.done)).toEqual([1000, 2000, 2500]);
    expect(progress.every((p) => p.label === 'pack' && p.unit === 'rows')).toBe(true);
  });
});
