import { describe, expect, it } from 'vitest';
import { completePersonId } from '../../../src/format/national-id.js';
import { applyEdits, parseSet } from '../../../src/entry/edit.js';
import { readJsonOrders } from '../../../src/entry/json-input.js';
import { completeRecord, type DailyRecord } from '../../../src/entry/record.js';

const PATIENT = completePersonId('F12671859');
const two = (): DailyRecord => ({ header: { h1: '1', h7: '0001', h20: '1151125083005', h4: '11511' }, items: [{ r1: '1', r4: '1.0' }, { r1: '2', r4: '70' }] });

describe('entry edit --set', () => {
  it('addresses header fields by id or 資料名稱, items by their position after @', () => {
    expect(parseSet('h7=0002')).toMatchObject({ def: { id: 'h7' }, item: null, value: '0002' });
    expect(parseSet('就醫序號=0002')).toMatchObject({ def: { id: 'h7' } });
    expect(parseSet('r4@2=95')).toMatchObject({ def: { id: 'r4' }, item: 2, value: '95' });
    expect(parseSet('r4-1@1=1')).toMatchObject({ def: { id: 'r4-1' }, item: 1 });
    expect(parseSet('r11@1=a=b')).toMatchObject({ value: 'a=b' });
    expect(parseSet('h12=')).toMatchObject({ value: '' });
  });

  it('says what is wrong with a --set', () => {
    expect(() => parseSet('h7')).toThrow(expect.objectContaining({ code: 'ENTRY_SET', exitCode: 2 }));
    expect(() => parseSet('h99=1')).toThrow(/“h99” is not a field of 表一/);
    expect(() => parseSet('h7@1=1')).toThrow(/header field/);
    expect(() => parseSet('r4@0=1')).toThrow(/position/);
    expect(() => parseSet('h16=1151125210000')).toThrow(/stamped/);
  });

  it('sets, clears, adds an item one past the last, removes items, and keeps h4 with h20', () => {
    const r = applyEdits(two(), [parseSet('h7=0002'), parseSet('r4@2=95'), parseSet('r2@3=eGFR'), parseSet('h20=1151201083005'), parseSet('h9=' + PATIENT.toLowerCase())]);
    expect(r.header).toMatchObject({ h7: '0002', h20: '1151201083005', h4: '11512', h9: PATIENT });
    expect(r.items).toEqual([{ r1: '1', r4: '1.0' }, { r1: '2', r4: '95' }, { r2: 'eGFR' }]);
    const cleared = applyEdits(r, [parseSet('h7=')], [1]);
    expect(cleared.header.h7).toBeUndefined();
    expect(cleared.items.map((i) => i.r1)).toEqual(['2', undefined]);
    expect(() => applyEdits(two(), [parseSet('r4=1')])).toThrow(/say which one, e.g. r4@1/);
    expect(() => applyEdits(two(), [parseSet('r4@4=1')])).toThrow(/@3 adds one/);
    expect(() => applyEdits(two(), [], [3])).toThrow(expect.objectContaining({ code: 'ENTRY_REMOVE_ITEM' }));
  });
});

describe('entry add FILE input', () => {
  it('reads an order object with items, keys as field ids or 資料名稱, numbers as written', async () => {
    const text = JSON.stringify({ 報告類別: '1', h9: PATIENT, h20: '1151125083005', items: [{ r2: 'CRE', r4: 1 }] }).replace('"r4":1', '"r4":1.50');
    const r = await readJsonOrders(text, 'rec.json');
    expect(r.records).toEqual([{ header: { h1: '1', h9: PATIENT, h20: '1151125083005' }, items: [{ r2: 'CRE', r4: '1.50' }] }]);
    // the form's defaults, as for a typed record
    expect(completeRecord(r.records[0]!, { institution: '3501200000' })).toEqual({
      header: { h1: '1', h9: PATIENT, h20: '1151125083005', h2: '3501200000', h8: '1', h4: '11511' },
      items: [{ r2: 'CRE', r4: '1.50', r1: '1' }],
    });
  });

  it('groups flat rows of one order, reads NDJSON, and takes the output of entry show --json', async () => {
    const rows = [
      { h1: '1', h7: '0001', h9: PATIENT, h15: '09015C', r2: 'CRE', r4: '1' },
      { h1: '1', h7: '0001', h9: PATIENT, h15: '09015C', r2: 'eGFR', r4: '70' },
      { h1: '1', h7: '0002', h9: PATIENT, h15: '09005C', r2: 'Glu', r4: '95' },
    ];
    const r = await readJsonOrders(rows.map((x) => JSON.stringify(x)).join('\n'), 'rows.ndjson');
    expect(r.records.map((x) => [x.header.h7, x.items.length])).toEqual([
      ['0001', 2],
      ['0002', 1],
    ]);
    const shown = { id: 3, status: 'draft', order: { h1: '1', h7: '0003', items: [{ r1: '1', r4: '95.0' }] }, errors: [] };
    expect((await readJsonOrders(JSON.stringify(shown), '-')).records).toEqual([{ header: { h1: '1', h7: '0003' }, items: [{ r1: '1', r4: '95.0' }] }]);
    expect((await readJsonOrders(JSON.stringify([shown, shown]), '-')).records).toHaveLength(2);
  });

  it('stops at bad JSON with the line, and warns about unknown keys', async () => {
    await expect(readJsonOrders('{"h1": "1",, "items": []}', 'bad.json')).rejects.toMatchObject({ code: 'ENTRY_JSON_INPUT', exitCode: 2, message: expect.stringContaining('bad.json:1') });
    await expect(readJsonOrders('{"h1": "1", "items": [', 'open.json')).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('open.json:1') });
    await expect(readJsonOrders('', 'empty.json')).rejects.toMatchObject({ code: 'ENTRY_JSON_EMPTY' });
    const r = await readJsonOrders(JSON.stringify({ h1: '1', 病歷號: 'x', items: [{ r1: '1' }] }), 'x.json');
    expect(r.warnings.join('\n')).toContain('病歷號');
  });
});
