import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Grouper, type Group } from '../../../src/pack/grouping.js';
import { GroupIndex } from '../../../src/pack/row-grouper.js';
import { prng } from '../../../src/format/synthetic.js';
import type { InputRecord } from '../../../src/input/types.js';

const KEY = { h1: '1', h2: '3501200000', h3: '12', h4: '11511', h5: '1151125073005', h6: '01', h7: '0001', h8: '1', h9: 'A123456789', h10: '0600315', h20: '1151125083005' };

function row(line: number, order: string, r2: string, extra: Record<string, string> = {}): InputRecord {
  const at = { file: 'x.csv', line, row: line - 1 };
  return { kind: 'row', header: { ...KEY, h15: order, ...extra }, items: [{ r2 }], at, itemsAt: [at], headerPlaces: {}, itemPlaces: [{}] };
}

function order(line: number, h15: string, items: string[]): InputRecord {
  const at = { file: 'x.ndjson', line };
  return { kind: 'order', header: { ...KEY, h15 }, items: items.map((r2) => ({ r2 })), at, itemsAt: items.map(() => at), headerPlaces: {}, itemPlaces: items.map(() => ({})) };
}

function run(recs: InputRecord[], window?: number): Group[] {
  const g = new Grouper(window === undefined ? {} : { window });
  const out: Group[] = [];
  recs.forEach((r, i) => out.push(...g.add(r, i + 1)));
  out.push(...g.flushAll());
  return out;
}

describe('Grouper', () => {
  it('gathers the rows of one order into one hdata, in order of first appearance', () => {
    // given a CBC whose rows are interleaved with a glucose of the same visit
    const groups = run([row(2, '08011C', 'RBC'), row(3, '08011C', 'Hb'), row(4, '09005C', 'Glucose'), row(5, '08011C', 'PLT')]);
    // then two hdata, the CBC first with its three items in input order
    expect(groups.map((g) => [g.header.h15, g.items.map((i) => i.r2), g.itemsAt.map((a) => a.line)])).toEqual([
      ['08011C', ['RBC', 'Hb', 'PLT'], [2, 3, 5]],
      ['09005C', ['Glucose'], [4]],
    ]);
    expect(groups.every((g) => g.problems.length === 0)).toBe(true);
  });

  it('closes a group after the window: a later row of the same order starts a new hdata', () => {
    // given a window of 2 rows and the CBC's last row 3 rows after its first
    const groups = run([row(2, '08011C', 'RBC'), row(3, '09005C', 'Glucose'), row(4, '09006C', 'HbA1c'), row(5, '08011C', 'PLT')], 2);
    // then the late row is a hdata of its own (pack reports the repeated key, see pack.test.ts)
    expect(groups.map((g) => [g.header.h15, g.items.length])).toEqual([
      ['08011C', 1],
      ['09005C', 1],
      ['09006C', 1],
      ['08011C', 1],
    ]);
  });

  it('keeps memory to the window: groups come out while rows still arrive', () => {
    const g = new Grouper({ window: 3 });
    const out: Group[] = [];
    for (let i = 1; i <= 10; i++) out.push(...g.add(row(i + 1, `0900${i % 10}C`, 'x', { h7: String(i).padStart(4, '0') }), i));
    // after 10 distinct orders with a window of 3, all but the last 3 are already out
    expect(out.length).toBe(7);
    expect(g.flushAll().length).toBe(3);
  });

  it('warns once per field when rows of one order disagree on a header value', () => {
    const groups = run([row(2, '08011C', 'RBC', { h22: '全血' }), row(3, '08011C', 'Hb', { h22: '血清' }), row(4, '08011C', 'PLT', { h22: '尿液', h21: '1151125100000' })]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.header.h22).toBe('全血');
    // a value missing from the first row is taken from a later one, and remembered as coming from there
    expect(groups[0]!.header.h21).toBe('1151125100000');
    expect(groups[0]!.headerFrom.h21).toMatchObject({ line: 4 });
    expect(groups[0]!.problems).toEqual([
      expect.objectContaining({ code: 'PACK_HEADER_CONFLICT', severity: 'warning', field: 'h22', rdata: 2, message: expect.stringContaining('“全血” at line 2, “血清” here') }),
    ]);
  });

  it('masks national IDs in conflict messages unless IDs are shown', () => {
    const recs = [row(2, '08011C', 'RBC', { h17: 'A123456789' }), row(3, '08011C', 'Hb', { h17: 'B123456780' })];
    expect(run(recs)[0]!.problems[0]!.message).toContain('“A12****789” at line 2, “B12****780” here');
    const shown = new Grouper({ showIds: true });
    recs.forEach((r, i) => shown.add(r, i + 1));
    expect(shown.flushAll()[0]!.problems[0]!.message).toContain('“A123456789”');
  });

  it('takes whole orders as they are, never adding rows to them', () => {
    const groups = run([order(1, '09005C', ['Glucose', 'x']), order(2, '09006C', ['HbA1c']), row(3, '09005C', 'extra')]);
    expect(groups.map((g) => [g.header.h15, g.sealed, g.items.length])).toEqual([
      ['09005C', true, 2],
      ['09006C', true, 1],
      ['09005C', false, 1],
    ]);
  });
});

describe('the table of open groups', () => {
  it('answers as a Map would, through growth, collisions and deletions that wrap around (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 8180, max: 8200 }), fc.integer({ min: 0, max: 0x3fffffff })), fc.integer({ min: 0, max: 1e6 })), { minLength: 200, maxLength: 3000, size: 'max' }),
        (ops) => {
          const index = new GroupIndex();
          const map = new Map<number, number>();
          for (const [op, h, g] of ops) {
            if (op === 'set') {
              index.set(h, g);
              map.set(h, g);
            } else if (op === 'delete') {
              index.delete(h);
              map.delete(h);
            }
            expect(index.get(h)).toBe(map.get(h) ?? -1);
          }
          for (const [h, g] of map) expect(index.get(h)).toBe(g);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every key through thousands of groups in and out', () => {
    const index = new GroupIndex();
    const map = new Map<number, number>();
    const rand = prng(9);
    const keys: number[] = [];
    for (let g = 0; g < 50000; g++) {
      const h = Math.floor(rand() * 0x40000000);
      keys.push(h);
      index.set(h, g);
      map.set(h, g);
      if (g >= 3000) {
        index.delete(keys[g - 3000]!);
        map.delete(keys[g - 3000]!);
      }
    }
    for (const [h, g] of map) expect(index.get(h)).toBe(g);
    expect(index.get(1)).toBe(map.get(1) ?? -1);
  });
});
