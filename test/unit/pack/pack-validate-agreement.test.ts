/**
 * `pack` runs the rules of `labup validate` on the records it writes, without parsing its own XML
 * again. This story holds it to that: on the same data, with every kind of fault, pack's findings
 * are validate's findings on the XML pack wrote — same codes, fields, hdata, rdata, lines,
 * columns, messages and values — whether the rules ran in pack's thread or in a worker.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packWith, type PackResult } from '../../../src/pack/pack.js';
import type { RulesWhere } from '../../../src/pack/rule-runner.js';
import { CleanRecords } from '../../../src/pack/rule-fast.js';
import { validateFile } from '../../../src/validate.js';
import { fixedClock } from '../../../src/clock.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';
import { imagingRecord, jointRecord, labRecord, pathologyRecord, prng } from '../../../src/format/synthetic.js';
import type { DailyRecord } from '../../../src/xml/builder.js';
import type { Finding } from '../../../src/format/findings.js';

const NOW = '2026-11-25T21:00:00+08:00';
const UPLOAD_TIME = '1151125200000';

/** Values that break one rule or another (and some that break none), by field or for any field. */
const ANY = ['', 'X', '0', '99', '中文', 'A&B', '<x>', "it's", '"q"', 'a,b', 'l1\nl2', '  padded  ', 'x'.repeat(300), '十'.repeat(30), '1151332', '-050101', 'a123456789', 'A123456788', '3501200000', '99999Z', '1.234', 'L11', '＂', 'a\tb'];
const BY_FIELD: Record<string, string[]> = {
  h1: ['1', '2', '3', '4', '5'],
  h3: ['11', '22', '99'],
  h4: ['11510', '11512', '1151'],
  h6: ['01', '04', '0X'],
  h9: ['A123456788', 'B110000005', 'a123456789'],
  h10: ['1151126', '0390101', '0390132'],
  h15: ['09005C', '08011C', '12215C', '14084C', '64164B', '30103B', 'Y00006', 'Z09006C', '99999Z'],
  h16: ['1151124200000', '1151125200000'],
  h20: ['1151125230000', '11511250800'],
  h23: ['1151001', '1151120'],
  h24: ['A', 'b', '1'],
  h25: ['NJ', 'Q'],
  r1: ['1', '2', '9', '01', 'x'],
  'r4-1': ['0', '1', '2', 'U'],
  r4: ['95', '95.05', '.5', '1e3', '(01)07613327029420(17)200912', '+H123ABC1'],
  r5: ['mg/dL', 'MG / DL', '%', 'kg'],
  r12: ['0', '1', '2'],
};

function faultyDay(seed: number, count: number, rate = 0.06): DailyRecord[] {
  const rand = prng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const records: DailyRecord[] = [];
  for (let i = 0; i < count; i++) {
    const o = { sampledAt: { year: 2026, month: 11, day: 25, hour: 8 + (i % 10), minute: i % 60, second: (i * 7) % 60 }, uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 }, patient: i };
    const roll = rand();
    const rec = roll < 0.6 ? labRecord(o, rand) : roll < 0.75 ? imagingRecord(o) : roll < 0.9 ? pathologyRecord(o) : jointRecord(o);
    rec.header.h7 = String((i % 9999) + 1).padStart(4, '0');
    // Now and then the key of an earlier order again (DUPLICATE_KEY).
    if (rand() < 0.04 && records.length) rec.header = { ...records[Math.floor(rand() * records.length)]!.header };
    const mutate = (values: Record<string, string | undefined>, id: string) => {
      if (rand() >= rate) return;
      if (rand() < 0.3) delete values[id];
      else values[id] = BY_FIELD[id] && rand() < 0.6 ? pick(BY_FIELD[id]!) : pick(ANY);
    };
    for (const f of H_FIELDS) mutate(rec.header as Record<string, string | undefined>, f.id);
    for (const item of rec.items) for (const f of R_FIELDS) mutate(item as Record<string, string | undefined>, f.id);
    if (rand() < 0.05) rec.items.reverse();
    records.push(rec);
  }
  return records;
}

/** The records as a CSV export: one row per item, the order's columns repeated, r1 sometimes left to pack. */
function toCsv(records: DailyRecord[], seed: number): Buffer {
  const rand = prng(seed + 1000);
  const columns = [...H_FIELDS, ...R_FIELDS].map((f) => f.id).filter((c) => c !== 'h16');
  const cell = (v: string | undefined) => (v === undefined ? '' : /[",\r\n]/.test(v) || rand() < 0.05 ? `"${v.replace(/"/g, '""')}"` : v);
  let text = columns.join(',') + '\r\n';
  for (const rec of records) {
    for (const item of rec.items) {
      const row: Record<string, string | undefined> = { ...rec.header, ...item };
      if (rand() < 0.05) row.r1 = undefined;
      text += columns.map((c) => cell(row[c])).join(',') + (rand() < 0.5 ? '\r\n' : '\n');
    }
  }
  return encodeCp950(text);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-agree-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What validate reports, and the part of pack's findings that comes from the same rules. */
const shape = (f: Finding) => ({ code: f.code, severity: f.severity, nhiCode: f.nhiCode, field: f.field, hdata: f.hdata, rdata: f.rdata, line: f.line, column: f.column, message: f.message, value: f.value });
const order = (a: ReturnType<typeof shape>, b: ReturnType<typeof shape>) => (a.hdata ?? 0) - (b.hdata ?? 0) || (a.rdata ?? -1) - (b.rdata ?? -1) || (a.line ?? 0) - (b.line ?? 0) || a.code.localeCompare(b.code) || (a.field ?? '').localeCompare(b.field ?? '') || a.message.localeCompare(b.message);

async function packAndValidate(seed: number, where: RulesWhere, batchBytes?: number, day: { count: number; rate: number } | DailyRecord[] = { count: 240, rate: 0.06 }): Promise<{ packed: ReturnType<typeof shape>[]; validated: ReturnType<typeof shape>[]; result: PackResult }> {
  let input: string;
  if (Array.isArray(day)) {
    // one order per NDJSON line: each record its own hdata, as given
    input = join(dir, `day${seed}.ndjson`);
    writeFileSync(input, day.map((r) => JSON.stringify({ ...r.header, items: r.items })).join('\n') + '\n');
  } else {
    input = join(dir, `day${seed}.csv`);
    writeFileSync(input, toCsv(faultyDay(seed, day.count, day.rate), seed));
  }
  const result = await packWith([input], { cwd: dir, clock: fixedClock(NOW), uploadTime: UPLOAD_TIME, out: `P${seed}.zip`, force: true, ...(batchBytes ? { batchBytes } : {}) }, where);
  expect(result.output).not.toBeNull();
  const report = await validateFile(result.output!, { clock: fixedClock(NOW), uploadDate: '1151125', maxStoredFindings: 1e6 });
  // pack reports a repeated key as its own error (PACK_KEY_REPEATED, on the same hdata).
  const packed = [...result.errors, ...result.warnings]
    .filter((f) => !f.code.startsWith('PACK_') || f.code === 'PACK_KEY_REPEATED')
    .map((f) => (f.code === 'PACK_KEY_REPEATED' ? { ...shape(f), code: 'DUPLICATE_KEY' } : shape(f)))
    .sort(order);
  const validated = [...report.errors, ...report.warnings]
    .filter((f) => !f.code.startsWith('ZIP_'))
    .map(shape)
    .map((f) => (f.code === 'DUPLICATE_KEY' ? { ...f, severity: 'error' as const, nhiCode: '25', field: null, message: '', value: undefined, line: null, column: null } : f))
    .sort(order);
  return {
    packed: packed.map((f) => (f.code === 'DUPLICATE_KEY' ? { ...f, message: '', value: undefined, line: null, column: null } : f)),
    validated,
    result,
  };
}

describe('pack and validate agree on the same data', () => {
  it.each([1, 2, 3, 4])('finds what validate finds in the XML it wrote (rules in pack’s thread), seed %i', async (seed) => {
    // given an export with faults of every kind, when packed (forced) and the ZIP validated
    const { packed, validated, result } = await packAndValidate(seed, 'thread');
    // then there is plenty to find, and both found exactly the same
    expect(validated.length).toBeGreaterThan(30);
    expect(packed).toEqual(validated);
    expect(result.errorCount).toBeGreaterThan(0);
  });

  it.each([7, 8])('finds the same in a day of mostly clean records, most of them recognised from their bytes, seed %i', async (seed) => {
    // given a larger day where a fault is rare: the same kinds of records over and over
    const attempt = vi.spyOn(CleanRecords.prototype, 'attempt');
    const { packed, validated } = await packAndValidate(seed, 'thread', undefined, { count: 3000, rate: 0.004 });
    // then most records were recognised as clean without the rules…
    const recognised = attempt.mock.results.filter((r) => r.type === 'return' && (r.value as number) >= 0).length;
    attempt.mockRestore();
    expect(recognised).toBeGreaterThan(1500);
    // …and pack still found exactly what validate finds, faults among clean records included
    expect(validated.length).toBeGreaterThan(30);
    expect(new Set(validated.map((f) => f.code)).size).toBeGreaterThan(8);
    expect(packed).toEqual(validated);
  });

  it.each(['thread', 'worker'] as const)('finds a fault in a record like many clean ones (rules in pack’s %s)', async (where) => {
    // given records of a few kinds repeated (clean, values varying), and among them records of the
    // same kinds with one fault each: in a value, in the dates, in a number an item table asks for
    const rand = prng(11);
    const faults: Array<(r: DailyRecord, earlier: DailyRecord) => void> = [
      (r) => (r.header.h4 = '11510'),
      (r) => (r.header.h20 = '1151125230000'),
      (r) => (r.header.h10 = '1151126'),
      (r) => Object.assign(r.header, { h23: '1150101', h24: 'A' }),
      (r) => (r.header.h9 = 'A123456788'),
      (r) => (r.header.h5 = '1151125256000'),
      (r) => (r.header.h17 = 'a123456789'),
      (r) => (r.header.h15 === '09006C' ? (r.items[0]!.r4 = '5.67') : r.items[2] && (r.items[2].r4 = '9')),
      (r) => (r.items[0]!.r4 = 'abc'),
      (r) => (r.items[0]!.r10 = '1151125250000'),
      (r) => (r.items.at(-1)!.r1 = '7'),
      (r) => (r.header.h2 = '35012000'),
      // the key of an earlier order of the same kind
      (r, earlier) => (r.header = { ...earlier.header }),
    ];
    // (13 faults, 4 kinds of record: every fault meets every kind)
    const records: DailyRecord[] = [];
    for (let i = 0; i < 1200; i++) {
      const o = { sampledAt: { year: 2026, month: 11, day: 25, hour: 8 + (i % 10), minute: i % 60, second: (i * 7) % 60 }, uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 }, patient: i };
      const kind = i % 4;
      const rec = kind === 0 ? jointRecord(o) : kind === 1 ? imagingRecord(o) : labRecord(o, rand, kind === 2 ? 4 : 6);
      // 09006C as 表八 numbers it: r1 101, r4 a number with at most one decimal
      if (rec.header.h15 === '09006C') rec.items[0]!.r1 = '101';
      // now and then a newborn's order (born five days before)
      if (i % 9 === 1) Object.assign(rec.header, { h23: '1151120', h24: 'A' });
      if (i >= 200 && i % 5 === 0) faults[(i / 5) % faults.length]!(rec, records[i - 4]!);
      records.push(rec);
    }
    const attempt = vi.spyOn(CleanRecords.prototype, 'attempt');
    const { packed, validated } = await packAndValidate(21, where, where === 'worker' ? 4096 : undefined, records);
    const recognised = attempt.mock.results.filter((r) => r.type === 'return' && (r.value as number) >= 0).length;
    attempt.mockRestore();
    // then the clean ones were mostly recognised from their bytes (in this thread: the worker's are not counted)…
    if (where === 'thread') expect(recognised).toBeGreaterThan(400);
    // …and every fault was found, as validate finds it
    for (const code of ['DUPLICATE_KEY', 'EXEC_MONTH_MISMATCH', 'DATE_SEQUENCE', 'NEWBORN_AGE', 'PERSON_ID_CHECKSUM', 'DATE_FORMAT', 'PERSON_ID_FORMAT', 'ITEM_DECIMALS', 'ITEM_VALUE', 'ITEM_NUMERIC', 'R1_SEQUENCE', 'INSTITUTION_CODE']) {
      expect(validated.map((f) => f.code)).toContain(code);
    }
    expect(packed).toEqual(validated);
  });

  it.each([5, 6])('finds the same with the rules in a worker thread and many small batches, seed %i', async (seed) => {
    const inThread = await packAndValidate(seed, 'thread', 2048);
    const inWorker = await packAndValidate(seed, 'worker', 2048);
    expect(inWorker.packed).toEqual(inWorker.validated);
    // and the result — every finding, in the order kept — is the same as from pack's own thread
    const strip = (r: PackResult) => ({ ...r, output: null, target: null, entry: null, inputs: r.inputs.map((i) => ({ ...i, file: '' })), errors: r.errors.map((e) => ({ ...e, source: e.source && { ...e.source, file: '' } })), warnings: r.warnings.map((e) => ({ ...e, source: e.source && { ...e.source, file: '' } })) });
    expect(strip(inWorker.result)).toEqual(strip(inThread.result));
  });
});
