/**
 * The promise of `explain --source export.csv`: for every error in a check file, the right CSV
 * row. Random exports — orders whose rows are interleaved with other orders', remarks that span
 * lines, errors on header fields (repeated on every row of an order) and on items — are packed
 * with `pack`, checked as the portal checks them, written as the portal's check file, and
 * explained; each error must name the row the test itself wrote that value into.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { explain } from '../../src/explain/explain.js';
import { fixedClock } from '../../src/clock.js';
import { pack } from '../../src/pack/pack.js';
import { validateFile } from '../../src/validate.js';
import { FIELD_BY_ID } from '../../src/format/fields.js';
import { lab } from '../helpers/xml.js';
import { scratch, type Scratch } from '../unit/archive/scratch.js';
import { checkFileBytes } from '../unit/explain/check-file-writer.js';

const clock = fixedClock('2026-11-25T21:00:00+08:00');
const H = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11', 'h15', 'h17', 'h20', 'h22', 'h26'] as const;
const R = ['r2', 'r3', 'r4', 'r5', 'r6-1', 'r6-2', 'r9', 'r10', 'r11', 'r12'] as const;

interface Plan {
  orders: Array<{ kind: number; badId: boolean; badH4: boolean }>;
  /** Per item (in order of generation): a bad r12, a missing reference range, a two-line remark. */
  itemFlags: Array<{ badFlag: boolean; noRange: boolean; remark: boolean }>;
  /** Sort keys that interleave the rows of different orders (items of one order keep their order). */
  shuffle: number[];
}

const plan = fc.record({
  orders: fc.array(fc.record({ kind: fc.constantFrom(0, 2, 3, 4), badId: fc.boolean(), badH4: fc.boolean() }), { minLength: 1, maxLength: 5 }),
  itemFlags: fc.array(fc.record({ badFlag: fc.boolean(), noRange: fc.boolean(), remark: fc.boolean() }), { minLength: 30, maxLength: 30 }),
  shuffle: fc.array(fc.nat(1000), { minLength: 30, maxLength: 30 }),
});

interface Row {
  order: number;
  item: number;
  cells: string[];
}

const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Writes the export; returns the rows in file order with their line and spreadsheet row. */
function exportFor(p: Plan): { text: string; rows: Array<Row & { line: number; sheetRow: number }> } {
  const all: Row[] = [];
  let flag = 0;
  p.orders.forEach((o, oi) => {
    const rec = lab(40 + oi, o.kind);
    if (o.badId) rec.header.h9 = rec.header.h9!.slice(0, 9) + String((Number(rec.header.h9![9]) + 1) % 10);
    if (o.badH4) rec.header.h4 = '11510';
    rec.items.forEach((it, ii) => {
      const f = p.itemFlags[flag++ % p.itemFlags.length]!;
      const item: Record<string, string | undefined> = { ...it };
      if (f.badFlag) item.r12 = '7';
      if (f.noRange) {
        delete item['r6-1'];
        delete item['r6-2'];
      }
      if (f.remark) item.r11 = '複檢，\n請聯絡檢驗科';
      const header = rec.header as Record<string, string | undefined>;
      all.push({ order: oi, item: ii, cells: [...H.map((h) => header[h] ?? ''), ...R.map((r) => item[r] ?? '')] });
    });
  });
  // Interleave: sort by a random key, then put each order's items back in their own order.
  const keyed = all.map((r, i) => ({ r, k: p.shuffle[i % p.shuffle.length]! * 100 + i }));
  keyed.sort((a, b) => a.k - b.k);
  const slots = new Map<number, Row[]>();
  for (const o of p.orders.keys()) slots.set(o, all.filter((r) => r.order === o));
  const ordered = keyed.map(({ r }) => slots.get(r.order)!.shift()!);
  let line = 2;
  const rows = ordered.map((r, i) => {
    const out = { ...r, line, sheetRow: i + 2 };
    line += r.cells.join('').split('\n').length - 1 + 1;
    return out;
  });
  const text = [[...H, ...R].join(','), ...ordered.map((r) => r.cells.map(cell).join(','))].join('\n') + '\n';
  return { text, rows };
}

let s: Scratch;
beforeAll(() => {
  s = scratch('labup-explain-csv-');
});
afterAll(() => s.remove());

describe('explain --source CSV names the right row for every error', () => {
  it('for random exports, packed, checked and written as the portal does', async () => {
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        // given an export and the check file the portal wrote for what pack made of it
        const { text, rows } = exportFor(p);
        writeFileSync(s.path('export.csv'), text);
        const packed = await pack(['export.csv'], { cwd: s.root, out: 'TOTFA.zip', uploadTime: '2026-11-25T20:00:00+08:00', clock, force: true });
        expect(packed.output).not.toBeNull();
        const report = await validateFile(packed.output!, { uploadDate: '115/11/25', clock, showIds: true });
        writeFileSync(s.path('check.msg.txt'), checkFileBytes({ receiptNo: '1151125000001', ...report.counts }, report.errors));

        // when it is explained against the export
        const r = await explain('check.msg.txt', { cwd: s.root, source: 'export.csv', clock });

        // then every error names the row this test wrote the value into: hdata in order of each
        // order's first row, rdata in the order of the order's rows
        const firstRow = p.orders.map((_, o) => rows.findIndex((row) => row.order === o));
        const hdataOrder = [...p.orders.keys()].sort((a, b) => firstRow[a]! - firstRow[b]!);
        const errors = r.groups.flatMap((g) => g.errors);
        expect(errors.length).toBe(report.errorCount);
        for (const e of errors) {
          const order = hdataOrder[e.hdata! - 1]!;
          const orderRows = rows.filter((row) => row.order === order);
          const col = e.field ? [...H, ...R].indexOf(e.field as never) + 1 : undefined;
          if (e.rdata === null) {
            const first = orderRows[0]!;
            expect({ e: `${e.hdata}/${e.field}`, row: e.source!.row, line: e.source!.line, column: e.source!.column }).toEqual({ e: `${e.hdata}/${e.field}`, row: first.sheetRow, line: first.line, column: col });
            if (orderRows.length > 1) expect(e.source!.rows).toEqual(orderRows.map((x) => ({ line: x.line, row: x.sheetRow })));
          } else {
            const row = orderRows[e.rdata - 1]!;
            expect({ e: `${e.hdata}/${e.rdata}/${e.field}`, row: e.source!.row, line: e.source!.line }).toEqual({ e: `${e.hdata}/${e.rdata}/${e.field}`, row: row.sheetRow, line: row.line });
            if (e.field && FIELD_BY_ID.get(e.field)?.section === 'r' && col) expect(e.source!.column).toBe(col);
          }
        }
        // and what the test injected is among them
        const injected = p.orders.filter((o) => o.badId).length + p.orders.filter((o) => o.badH4).length;
        expect(errors.filter((e) => e.field === 'h9' || e.field === 'h4').length).toBe(injected);
      }),
      { numRuns: 25 },
    );
  });
});
