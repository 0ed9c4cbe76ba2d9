import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readJson } from '../../../src/input/json-reader.js';
import { parseJson } from '../../../src/input/json-parse.js';
import { EMPTY_MAP, parseColumnMap } from '../../../src/input/column-map.js';
import type { InputInfo, InputProblem, InputRecord } from '../../../src/input/types.js';

async function read(text: string, chunk = 1 << 20, map = EMPTY_MAP): Promise<{ records: InputRecord[]; problems: InputProblem[]; info: InputInfo }> {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const problems: InputProblem[] = [];
  const info: InputInfo = { file: 'in.ndjson', format: 'json', encoding: null, records: 0 };
  const records: InputRecord[] = [];
  for await (const r of readJson(chunks(), { file: 'in.ndjson', encoding: 'auto', map, report: (p) => problems.push(p), info })) records.push(r);
  return { records, problems, info };
}

describe('JSON parser', () => {
  it('keeps numbers as written and knows where every value is', () => {
    // given a pretty-printed object starting at line 3, column 5
    const node = parseJson('{\n  "r4": 95.0,\n  "r5": "mg/dL", "x": [1e3, true, null]\n}', 3, 5);
    // then 95.0 keeps its decimal, and lines are absolute
    expect(node.type).toBe('object');
    if (node.type !== 'object') return;
    expect(node.line).toBe(3);
    expect(node.column).toBe(5);
    expect(node.entries[0]).toEqual({ key: 'r4', value: { type: 'number', value: '95.0', line: 4, column: 9 } });
    expect(node.entries[1]!.value).toMatchObject({ type: 'string', value: 'mg/dL', line: 5 });
    expect(node.entries[2]!.value).toMatchObject({ type: 'array', line: 5 });
  });

  it('decodes escapes and reports syntax errors with line and column', () => {
    expect(parseJson('"a\\"b\\u8840\\n"')).toMatchObject({ value: 'a"b\u8840\n' });
    expect(() => parseJson('{"a": 1,}', 7)).toThrow(expect.objectContaining({ message: 'expected a key in double quotes, found "}"', line: 7, column: 9 }));
    expect(() => parseJson('{"a": tru}')).toThrow(/where a value should start/);
    expect(() => parseJson('{"a": 01}')).toThrow(/expected "," or "}"/);
  });
});

describe('readJson (NDJSON and JSON arrays, streaming)', () => {
  const order = { h1: '1', h9: 'A123456789', items: [{ r2: 'Glucose', r4: 95.0 }, { r2: 'HbA1c', r4: '5.20' }] };

  it('reads one order per line with its items, numbers as written, pointers per field', async () => {
    // given two NDJSON orders
    const text = JSON.stringify(order).replace('95', '95.0') + '\n' + JSON.stringify({ ...order, h9: 'B123456780' }) + '\n';
    // when read
    const { records, problems, info } = await read(text);
    // then each line is an order; values keep their text; places name line and pointer
    expect(problems).toEqual([]);
    expect(info.records).toBe(2);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ kind: 'order', header: { h1: '1', h9: 'A123456789' }, items: [{ r2: 'Glucose', r4: '95.0' }, { r2: 'HbA1c', r4: '5.20' }] });
    expect(records[1]!.at).toEqual({ file: 'in.ndjson', line: 2 });
    expect(records[1]!.itemPlaces[1]!.r4).toEqual({ line: 2, pointer: '/items/1/r4', columnName: 'r4' });
    expect(records[1]!.headerPlaces.h9).toEqual({ line: 2, pointer: '/h9', columnName: 'h9' });
  });

  it('streams the elements of a JSON array, pointers from the document root', async () => {
    // given a pretty-printed array with a flat row and an order
    const text = JSON.stringify([{ h1: '1', r2: 'PT', r4: 11.2 }, order], null, 2);
    // when read in tiny chunks
    const { records, problems } = await read(text, 7);
    // then both elements arrive, with array indexes in their pointers
    expect(problems).toEqual([]);
    expect(records.map((r) => r.kind)).toEqual(['row', 'order']);
    expect(records[0]!.itemPlaces[0]!.r4).toMatchObject({ pointer: '/0/r4', line: 5 });
    expect(records[1]!.itemPlaces[1]!.r2).toMatchObject({ pointer: '/1/items/1/r2' });
  });

  it('maps HIS keys and converts dates like the CSV reader; order-level r-fields fill each item', async () => {
    const map = parseColumnMap(JSON.stringify({ columns: { PAT: 'h9', DRAWN: { field: 'h20', convert: 'gregorian' }, TECH: 'r9' } }), 'm.json');
    const { records, problems } = await read(JSON.stringify({ PAT: 'A123456789', DRAWN: '2026-11-25 08:30:05', TECH: 'B123456780', items: [{ r2: 'a' }, { r2: 'b', TECH: 'C123456781' }] }), 1 << 20, map);
    expect(problems).toEqual([]);
    expect(records[0]!.header).toEqual({ h9: 'A123456789', h20: '1151125083005' });
    expect(records[0]!.items).toEqual([
      { r9: 'B123456780', r2: 'a' },
      { r9: 'C123456781', r2: 'b' },
    ]);
  });

  it('reports a broken line and goes on with the next', async () => {
    // given a valid line, a line with a trailing comma, and another valid line
    const text = `${JSON.stringify(order)}\n{"h1": "1",}\n${JSON.stringify(order)}\n`;
    const { records, problems, info } = await read(text);
    // then the broken line is named and the other two are read
    expect(records).toHaveLength(2);
    expect(info.records).toBe(3);
    expect(problems).toEqual([expect.objectContaining({ code: 'PACK_JSON_SYNTAX', severity: 'error', source: { file: 'in.ndjson', line: 2, column: 12 } })]);
  });

  it('reports values of the wrong shape, unknown keys once, and header fields inside items', async () => {
    const text = [
      JSON.stringify({ h1: true, NOTE: 'x', items: [{ r2: 'a', h9: 'A123456789' }] }),
      JSON.stringify({ NOTE: 'y', h1: '1', items: 'none' }),
      '42',
    ].join('\n');
    const { problems } = await read(text);
    expect(problems.map((p) => [p.code, p.source.line, p.source.pointer])).toEqual([
      ['PACK_JSON_SHAPE', 1, '/h1'],
      ['PACK_COLUMN_UNKNOWN', 1, '/NOTE'],
      ['PACK_JSON_SHAPE', 1, '/items/0/h9'],
      ['PACK_JSON_SHAPE', 2, '/items'],
      ['PACK_JSON_SHAPE', 3, undefined],
    ]);
    expect(problems[2]!.message).toMatch(/h9 身分證統一編號 is a header field: put it on the order/);
  });

  it('refuses a value that is never closed', async () => {
    await expect(read('{"h1": "1",\n "items": [\n')).rejects.toThrow(/in\.ndjson:1: the JSON value starting here is not closed/);
  });

  it('reads the same records however the input is cut (property)', async () => {
    const text = [JSON.stringify(order), JSON.stringify({ h1: '2', r7: 'line\nbreak "quoted" {braces} [x]' }), JSON.stringify([1])].join('\n');
    const whole = await read(text);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), async (n) => {
        const cut = await read(text, n);
        expect(cut.records).toEqual(whole.records);
        expect(cut.problems).toEqual(whole.problems);
      }),
      { numRuns: 40 },
    );
  });
});
