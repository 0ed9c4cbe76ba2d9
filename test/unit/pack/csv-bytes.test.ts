/**
 * pack keeps CSV values as the bytes they are where they need nothing done to them, and cleans the
 * others. These stories sit on the border between the two: what is copied must be what cleaning
 * and encoding would have written, and a value must mean the same whichever way it was kept.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, type PackOptions } from '../../../src/pack/pack.js';
import { fixedClock } from '../../../src/clock.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { readEntry, readZipDirectory } from '../../../src/archive/zip-reader.js';
import { DailyXmlReader, type HdataRecord } from '../../../src/xml/daily-reader.js';
import { H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';

const NOW = '2026-11-25T21:00:00+08:00';
const COLUMNS = ['h1', 'h2', 'h3', 'h5', 'h6', 'h7', 'h9', 'h10', 'h11', 'h15', 'h20', 'h22', 'h26', 'r2', 'r3', 'r4', 'r5', 'r6-1', 'r6-2', 'r9', 'r10'];
const BASE: Record<string, string> = {
  h1: '1', h2: '3501200000', h3: '12', h5: '1151125073005', h6: '01', h7: '0001', h9: 'A123456789', h10: '0600315', h11: '1151125', h15: '09005C',
  h20: '1151125083005', h22: '血清', h26: '0', r2: '飯前血糖 Glucose AC', r3: '酵素法', r4: '95', r5: 'mg/dL', 'r6-1': '70', 'r6-2': '100', r9: 'B123456780', r10: '1151125093005',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-csvbytes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A Big5 CSV from rows of cells written as given (quote them yourself). */
function big5Csv(rows: Array<Record<string, string>>, columns = COLUMNS): string {
  const path = join(dir, 'e.csv');
  const text = [columns.join(','), ...rows.map((r) => columns.map((c) => r[c] ?? BASE[c] ?? '').join(','))].join('\r\n') + '\r\n';
  writeFileSync(path, encodeCp950(text));
  return path;
}

async function packed(path: string, options: PackOptions = {}) {
  const result = await pack([path], { cwd: dir, clock: fixedClock(NOW), ...options });
  const records: HdataRecord[] = [];
  let xml = Buffer.alloc(0);
  if (result.output) {
    const d = await readZipDirectory(result.output);
    const parts: Buffer[] = [];
    for await (const c of readEntry(d, d.entries[0]!)) parts.push(c);
    xml = Buffer.concat(parts);
    const reader = new DailyXmlReader({ hdata: (r) => records.push(r), finding: () => {} });
    reader.write(xml);
    reader.end();
  }
  return { result, records, xml };
}
const h = (rec: HdataRecord, id: string) => rec.fields[H_FIELDS.findIndex((f) => f.id === id)]?.value;
const r = (rec: HdataRecord, i: number, id: string) => rec.rdata[i]!.fields[R_FIELDS.findIndex((f) => f.id === id)]?.value;

describe('CSV values kept as bytes', () => {
  it('writes 十 as the encoder does (A2 CC), specials full-width, quoted commas and doubled quotes as text', async () => {
    // given 十 (A4 51 in the export), a special, a quoted comma and a doubled quote
    const path = big5Csv([{ r2: '十二指腸 & 胃', r3: '"酵素法, 比色"', r4: '"5"" tube"' }]);
    const { result, records, xml } = await packed(path);
    // then the values read back are the export's, specials full-width
    expect(result.errorCount).toBe(0);
    expect([r(records[0]!, 0, 'r2'), r(records[0]!, 0, 'r3'), r(records[0]!, 0, 'r4')]).toEqual(['十二指腸 ＆ 胃', '酵素法, 比色', '5” tube']);
    // and 十 is written with the pair encodeCp950 chooses for it
    expect(xml.includes(encodeCp950('<r2>十二指腸'))).toBe(true);
    expect(xml.includes(Buffer.from([0xa2, 0xcc]))).toBe(true);
  });

  it('trims white space — U+3000 included — and turns line breaks inside quotes into LF', async () => {
    const path = big5Csv([{ r2: '\u3000飯前血糖\u3000', r3: ' 酵素法 ', r4: '"95\r\nrecheck"' }]);
    const { records } = await packed(path, { force: true });
    expect([r(records[0]!, 0, 'r2'), r(records[0]!, 0, 'r3'), r(records[0]!, 0, 'r4')]).toEqual(['飯前血糖', '酵素法', '95\nrecheck']);
  });

  it('groups rows whose key is the same once cleaned, whether kept as bytes or as text', async () => {
    // given two rows of one order, the second with its visit number padded (cleaned to the same)
    const path = big5Csv([{ r2: 'PT' }, { h7: ' 0001 ', r2: 'INR' }, { h7: '0002', r2: 'c' }]);
    const { result, records } = await packed(path, { force: true });
    // then they make one hdata with two items
    expect(result.counts).toEqual({ rows: 3, hdata: 2, rdata: 3 });
    expect(records[0]!.rdata.map((_, i) => r(records[0]!, i, 'r2'))).toEqual(['PT', 'INR']);
  });

  it('reports rows of one order that disagree, naming both lines, and fills a header field the first row left empty', async () => {
    const path = big5Csv([{ h22: '', r2: 'a' }, { h22: '血液', r2: 'b' }, { h22: '血清', r2: 'c' }]);
    const { result, records } = await packed(path, { force: true });
    expect(h(records[0]!, 'h22')).toBe('血液');
    const conflicts = result.warnings.filter((w) => w.code === 'PACK_HEADER_CONFLICT');
    expect(conflicts.map((w) => [w.field, w.hdata, w.rdata, w.source])).toEqual([['h22', 1, 3, { file: path, line: 4, row: 3, column: 12, columnName: 'h22' }]]);
    expect(conflicts[0]!.message).toContain('“血液” at line 3, “血清” here');
  });

  it('derives h4 from h20 and fills h2 from --hosp, naming where they came from', async () => {
    const path = big5Csv([{ h2: '', h9: 'A123456788' }], COLUMNS);
    const { result, records } = await packed(path, { hosp: '3501200000', force: true });
    expect([h(records[0]!, 'h2'), h(records[0]!, 'h4')]).toEqual(['3501200000', '11511']);
    expect(result.errors.map((e) => [e.code, e.source])).toEqual([['PERSON_ID_CHECKSUM', { file: path, line: 2, row: 1, column: 7, columnName: 'h9' }]]);
  });

  it('keeps each row’s own bytes when the export spans many chunks and orders stay open across them', async () => {
    // given 5,000 orders of 4 items, 500 orders at a time with their items 500 rows apart (each
    // order open across chunks of the file read; with a group window of 2,000 rows, the earlier
    // chunks' memory is used again meanwhile), each value unique to its row
    const orders = 5000;
    const block = 500;
    const rows: Array<Record<string, string>> = [];
    const key = (k: number) => k.toString(36).toUpperCase().padStart(4, '0');
    const values = (k: number, item: number) => [`項目${item} item ${item}`, `${k}-${item}-${'x'.repeat(k % 97)}`, `11511251${(k % 6) + 4}${String(item * 7).padStart(2, '0')}00`];
    for (let b = 0; b < orders; b += block) {
      for (let item = 0; item < 4; item++) {
        for (let k = b; k < b + block; k++) {
          const [r2, r4, r10] = values(k, item);
          rows.push({ h7: key(k), r2: r2!, r4: r4!, r10: r10! });
        }
      }
    }
    const path = big5Csv(rows);
    // when packed
    const { result, records } = await packed(path, { force: true, groupWindow: 2000 });
    // then every order holds exactly its own four values, in order
    expect(result.counts).toEqual({ rows: orders * 4, hdata: orders, rdata: orders * 4 });
    expect(result.errors.filter((e) => e.code.startsWith('PACK_'))).toEqual([]);
    records.forEach((rec, k) => {
      expect(h(rec, 'h7')).toBe(key(k));
      expect(rec.rdata.map((_, i) => [r(rec, i, 'r2'), r(rec, i, 'r4'), r(rec, i, 'r10')])).toEqual([0, 1, 2, 3].map((item) => values(k, item)));
    });
  });
});
