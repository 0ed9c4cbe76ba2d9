/**
 * The fixtures of fixtures/explain: one check file with four errors, and the three sources it can
 * be traced in — the HIS export (CSV), the same orders as NDJSON, and the XML pack made of them.
 * Open export.csv next to this test: the expected rows are read off it.
 */
import { describe, expect, it } from 'vitest';
import { explain, type ExplainedError } from '../../../src/explain/explain.js';
import { fixedClock } from '../../../src/clock.js';
import { isLabupError } from '../../../src/errors.js';
import { fixture } from '../../helpers/cli.js';

const clock = fixedClock('2026-11-25T21:00:00+08:00');
const CHECK = fixture('explain/1300_1151125000001.msg.txt');

async function errorsWith(source: string, options: Parameters<typeof explain>[1] = {}): Promise<ExplainedError[]> {
  const r = await explain(CHECK, { source: fixture(`explain/${source}`), clock, ...options });
  expect(r).toMatchObject({ status: 'error', counts: { hdata: 3, rdata: 5, errors: 4, listed: 4 }, notices: [] });
  return r.groups.flatMap((g) => g.errors).sort((a, b) => a.seq - b.seq);
}

const strip = (e: ExplainedError) => ({ ...e.source, file: e.source!.file.replace(/.*\//, '') });

describe('explain --source export.csv', () => {
  it('names the spreadsheet row (header = row 1), the line it starts on and the column of every error', async () => {
    const errors = await errorsWith('export.csv');
    expect(errors.map(strip)).toEqual([
      // h9 of the first order: on its first row, and on every row of the order (row 5 is one of them)
      {
        file: 'export.csv',
        line: 2,
        row: 2,
        column: 9,
        columnName: '身分證統一編號',
        at: 'field',
        rows: [
          { line: 2, row: 2 },
          { line: 3, row: 3 },
          { line: 6, row: 5 },
        ],
      },
      // the platelet count: the order's third item is row 5, on line 6 (row 4 spans two lines)
      { file: 'export.csv', line: 6, row: 5, column: 21, columnName: '參考值下限', at: 'field' },
      { file: 'export.csv', line: 4, row: 4, column: 26, columnName: '檢驗（查）結果值註記', at: 'field' },
      { file: 'export.csv', line: 7, row: 6, column: 4, columnName: '執行年月', at: 'field' },
    ]);
    expect(errors.map((e) => [e.patient, e.orderCode, e.current, e.changed])).toEqual([
      ['A12****788', '08011C', 'A12****788', false],
      ['A12****788', '08011C', null, null],
      ['F22****786', '09005C', '7', false],
      ['K12****433', '09015C', '11510', false],
    ]);
  });

  it('unmasks the patient only with showIds', async () => {
    const [first] = await errorsWith('export.csv', { showIds: true });
    expect(first).toMatchObject({ patient: 'A123456788', current: 'A123456788', value: 'A123456788' });
  });
});

describe('explain --source orders.ndjson', () => {
  it('names the line and the JSON pointer of every error', async () => {
    const errors = await errorsWith('orders.ndjson');
    expect(errors.map(strip)).toEqual([
      { file: 'orders.ndjson', line: 1, pointer: '/h9', columnName: 'h9', at: 'field' },
      { file: 'orders.ndjson', line: 1, pointer: '/items/2', at: 'rdata' },
      { file: 'orders.ndjson', line: 2, pointer: '/items/0/r12', columnName: 'r12', at: 'field' },
      { file: 'orders.ndjson', line: 3, pointer: '/h4', columnName: 'h4', at: 'field' },
    ]);
  });
});

describe('explain --source TOTFA.xml', () => {
  it('names the line and column of each field in the XML pack wrote', async () => {
    const errors = await errorsWith('TOTFA.xml');
    expect(errors.map((e) => [e.source!.line, e.source!.column, e.source!.at])).toEqual([
      [12, 5, 'field'],
      [45, 5, 'rdata'],
      [86, 7, 'field'],
      [93, 5, 'field'],
    ]);
  });
});

describe('a source that was packed differently', () => {
  it('is refused when the rows group into other hdata', async () => {
    // given a group window of one row: the first order's third row (row 5) becomes an hdata of its own
    const err = await explain(CHECK, { source: fixture('explain/export.csv'), clock, sourceOptions: { groupWindow: 1 } }).catch((e: unknown) => e);
    expect(isLabupError(err) && err.code).toBe('EXPLAIN_SOURCE_MISMATCH');
    expect((err as Error).message).toContain('the check file counts 3 hdata (醫令筆數), the source packs into 4');
  });
});
