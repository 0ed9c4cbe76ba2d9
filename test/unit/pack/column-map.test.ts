import { describe, expect, it } from 'vitest';
import { applyTarget, gregorianToRoc, parseColumnMap, resolveColumn, EMPTY_MAP } from '../../../src/input/column-map.js';
import { FIELD_BY_ID } from '../../../src/format/fields.js';
import { InputDecoder } from '../../../src/input/decode.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';

const field = (id: string) => FIELD_BY_ID.get(id)!;

describe('column map', () => {
  it('reads the structured form: names, conversions, value codes, defaults by id or 資料名稱', () => {
    // given a map with every kind of entry
    const map = parseColumnMap(
      JSON.stringify({
        columns: { PAT_ID: 'h9', 生日: { field: 'h10', convert: 'gregorian' }, TYPE: { field: '就醫類別', values: { OPD: '01' } }, CHART: null },
        defaults: { 醫事類別: '12', h8: 1 },
      }),
      'map.json',
    );
    // then each column resolves, and defaults are keyed by field id
    expect(resolveColumn('PAT_ID', map)).toEqual({ kind: 'field', target: { field: 'h9' }, via: 'map' });
    expect(resolveColumn('pat_id', map)).toMatchObject({ kind: 'field', target: { field: 'h9' } });
    expect(resolveColumn('TYPE', map)).toEqual({ kind: 'field', target: { field: 'h6', values: { OPD: '01' } }, via: 'map' });
    expect(resolveColumn('CHART', map)).toEqual({ kind: 'ignore' });
    expect(resolveColumn('身分證統一編號', map)).toEqual({ kind: 'field', target: { field: 'h9' }, via: 'name' });
    expect(resolveColumn('R4-1', map)).toMatchObject({ kind: 'field', target: { field: 'r4-1' } });
    expect(resolveColumn('NOTE', map)).toEqual({ kind: 'unknown' });
    expect(map.defaults).toEqual({ h3: '12', h8: '1' });
  });

  it('reads the flat form { "COLUMN": "field" }', () => {
    const map = parseColumnMap('{ "PAT_ID": "h9", "ITEM": "檢驗項目名稱" }', 'm.json');
    expect(resolveColumn('ITEM', map)).toMatchObject({ target: { field: 'r2' } });
  });

  it.each([
    ['{ "PAT_ID": "h99" }', /m\.json: column “PAT_ID”: “h99” is not a field of 表一/],
    ['{ "A": "h4_1" }', /not a field of 表一 \(did you mean h4\?\)/],
    ['{ "A": "r8_1" }', /did you mean r8-1\?/],
    ['{ "columns": { "A": { "field": "h9", "convert": "gregorian" } } }', /h9 身分證統一編號 is not a date field/],
    ['{ "columns": { "A": { "field": "h10", "convert": "julian" } } }', /"convert" must be "gregorian"/],
    ['{ "columns": { "A": { "field": "h10", "format": "x" } } }', /unknown key “format”/],
    ['{ "columns": {}, "default": {} }', /unknown key “default”/],
    ['{ "columns": {}, "defaults": { "h16": "1" } }', /h16 is stamped by labup pack/],
    ['{ "PAT_ID": 9 }', /expected a field id, null/],
    ['{ "PAT_ID": "h9", }', /m\.json: not valid JSON at line 1/],
    ['[]', /the map must be a JSON object/],
  ])('refuses %s with a clear message', (text, message) => {
    let err: Error | undefined;
    try {
      parseColumnMap(text, 'm.json');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(message);
    expect((err as { code?: string }).code).toBe('PACK_MAP_INVALID');
  });

  it('applies value codes before converting', () => {
    expect(applyTarget('OPD', { field: 'h6', values: { OPD: '01' } })).toEqual({ ok: true, value: '01' });
    expect(applyTarget('ICU', { field: 'h6', values: { OPD: '01' } })).toEqual({ ok: true, value: 'ICU' });
    expect(resolveColumn('h9', EMPTY_MAP)).toMatchObject({ via: 'name' });
  });
});

describe('Gregorian to ROC', () => {
  it.each([
    ['h10', '2026-11-25', '1151125'],
    ['h10', '2026/1/5', '1150105'],
    ['h10', '20261125', '1151125'],
    ['h10', '1950-03-04 00:00:00', '0390304'],
    ['h10', '1151125', '1151125'],
    ['h20', '2026-11-25 08:30:05', '1151125083005'],
    ['h20', '2026-11-25T08:30', '1151125083000'],
    ['h20', '2026/11/25 8:30:05.123', '1151125083005'],
    ['h20', '2026-11-25T00:30:05Z', '1151125083005'],
    ['h20', '2026-11-24T23:30:05-01:00', '1151125083005'],
    ['h20', '1151125083005', '1151125083005'],
    ['h4', '2026-11', '11511'],
    ['h4', '2026-11-25', '11511'],
    ['h4', '11511', '11511'],
    ['r10', '2026-11-25 09:30', '1151125093000'],
  ])('%s: %s → %s', (id, input, want) => {
    expect(gregorianToRoc(input, field(id))).toEqual({ ok: true, value: want });
  });

  it.each([
    ['h10', '2026-02-30', /“2026-02-30” is not a date on the calendar/],
    ['h10', '25/11/2026', /is not a Gregorian date such as 2026-11-25/],
    ['h10', '1900-01-01', /before 民國元年/],
    ['h20', '2026-11-25', /has no time of day, and this field needs one/],
    ['h20', '2026-11-25 24:00:00', /has a time that does not exist/],
    ['h10', '2026115', /is not a Gregorian date/],
  ])('%s: %s is an error', (id, input, message) => {
    const r = gregorianToRoc(input, field(id));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(message);
      expect(r.message.startsWith(`${id} `)).toBe(true);
      expect(r.hint).toMatch(/Write a Gregorian/);
    }
  });
});

describe('input decoding', () => {
  it('detects Big5 (CP950) and UTF-8 from the first non-ASCII bytes, and a UTF-8 BOM', () => {
    // given the same text in both encodings
    const text = 'h22\n血液,檢體\n';
    const big5 = new InputDecoder('auto', 'f');
    const b = big5.look(encodeCp950(text));
    const utf8 = new InputDecoder('auto', 'f');
    const u = utf8.look(Buffer.from(text, 'utf8'));
    const bom = new InputDecoder('auto', 'f');
    const withBom = bom.look(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a')]));
    // then each is recognised and decodes back to the text
    expect(big5.encoding).toBe('big5');
    expect(big5.decode(b, 0, b.length).text).toBe(text);
    expect(utf8.encoding).toBe('utf-8');
    expect(utf8.decode(u, 0, u.length).text).toBe(text);
    expect(bom.encoding).toBe('utf-8');
    expect(bom.how).toBe('bom');
    expect(withBom.toString()).toBe('a');
  });

  it('waits for the next chunk when the first non-ASCII character is cut by a chunk’s end', () => {
    // given 血液 in UTF-8 (E8 A1 80 …) and in Big5 (A6 E5 …), cut after the first byte and after the second
    for (const [encoding, bytes] of [
      ['utf-8', Buffer.from('h22\n血液\n', 'utf8')],
      ['big5', encodeCp950('h22\n血液\n')],
    ] as const) {
      for (const cuts of [[5], [6], [4, 5], [5, 6]]) {
        const d = new InputDecoder('auto', 'f');
        const chunks: Buffer[] = [];
        let from = 0;
        for (const at of [...cuts, bytes.length]) {
          chunks.push(d.look(bytes.subarray(from, at)));
          from = at;
        }
        // then the encoding is the file's, and the chunks decode back to the text
        expect(d.encoding, `${encoding} cut at ${cuts.join(',')}`).toBe(encoding);
        const all = Buffer.concat(chunks);
        expect(d.decode(all, 0, all.length).text).toBe('h22\n血液\n');
      }
    }
  });

  it('reports the first byte code page 950 cannot decode, and keeps the rest', () => {
    // given 血 then the HKSCS-only pair 88 40 then 液
    const d = new InputDecoder('big5', 'f');
    const bytes = Buffer.concat([encodeCp950('血'), Buffer.from([0x88, 0x40]), encodeCp950('液')]);
    const r = d.decode(bytes, 0, bytes.length);
    expect(r).toEqual({ text: '血?液', badAt: 2, badBytes: '88 40' });
  });

  it('reports bytes that are not UTF-8', () => {
    const d = new InputDecoder('utf-8', 'f');
    const bytes = Buffer.concat([Buffer.from('ok '), encodeCp950('血')]);
    const r = d.decode(bytes, 0, bytes.length);
    expect(r.badAt).toBe(3);
    expect(d.badBytesHint(bytes, 3)).toMatch(/--input-encoding big5/);
  });

  it('refuses UTF-16', () => {
    expect(() => new InputDecoder('auto', 'x.csv').look(Buffer.from([0xff, 0xfe, 0x41, 0x00]))).toThrow(/UTF-16/);
  });
});
