/**
 * Large files are packed and validated in worker threads with a small young generation (so that
 * memory stays flat whatever the size), and pack's rules move to a worker of their own. The
 * results must be exactly those of doing it all in one thread.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, packWith, type PackResult } from '../../src/pack/pack.js';
import { validate, validateFile } from '../../src/validate.js';
import { fixedClock } from '../../src/clock.js';
import { encodeCp950 } from '../../src/encoding/cp950.js';
import { H_FIELDS, R_FIELDS } from '../../src/format/fields.js';
import { labRecord, prng } from '../../src/format/synthetic.js';
import { DailyXmlWriter } from '../../src/xml/builder.js';
import type { Progress } from '../../src/io-host.js';
import { labup } from '../helpers/cli.js';

const NOW = '2026-11-25T21:00:00+08:00';
let dir: string;
let csv: string;
let xml: string;

beforeAll(() => {
  // given a day of 60,000 orders (≈ 20 MB of CSV, ≈ 25 MB of XML), with a few faults
  dir = mkdtempSync(join(tmpdir(), 'labup-large-'));
  const rand = prng(3);
  const columns = [...H_FIELDS, ...R_FIELDS].map((f) => f.id);
  const lines = [columns.join(',')];
  const writer = new DailyXmlWriter({ encoding: 'big5', indent: false });
  const parts = [writer.head()];
  for (let i = 0; i < 60_000; i++) {
    const rec = labRecord({ sampledAt: { year: 2026, month: 11, day: 25, hour: 8 + (i % 10), minute: i % 60, second: i % 60 }, uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 }, patient: i }, rand);
    rec.header.h7 = String((i % 9999) + 1).padStart(4, '0');
    if (i % 5000 === 17) rec.header.h9 = 'A123456788';
    if (i % 7000 === 5) rec.items[0]!.r4 = 'n/a';
    parts.push(writer.record(rec));
    for (const item of rec.items) {
      const row: Record<string, string | undefined> = { ...rec.header, ...item };
      lines.push(columns.map((c) => row[c] ?? '').join(','));
    }
  }
  parts.push(writer.tail());
  csv = join(dir, 'day.csv');
  writeFileSync(csv, encodeCp950(lines.join('\r\n') + '\r\n'));
  xml = join(dir, 'DAY.xml');
  writeFileSync(xml, Buffer.concat(parts));
  expect(statSync(csv).size).toBeGreaterThan(16 * 1024 * 1024);
  expect(statSync(xml).size).toBeGreaterThan(16 * 1024 * 1024);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const same = (r: PackResult) => ({ ...r, output: null, target: null, entry: null });

describe('large files', () => {
  it('packs in a worker exactly as in one thread, forwarding progress', async () => {
    const progress: Progress[] = [];
    const options = { cwd: dir, clock: fixedClock(NOW), uploadTime: '1151125200000', force: true };
    const isolated = await pack([csv], { ...options, out: 'A.zip', host: { notify: () => {}, progress: (p) => progress.push(p) } });
    const inThread = await packWith([csv], { ...options, out: 'B.zip' }, 'thread');
    expect(isolated.counts.hdata).toBe(60_000);
    expect(isolated.errorCount).toBeGreaterThan(0);
    expect(same(isolated)).toEqual(same(inThread));
    expect(progress.at(-1)).toMatchObject({ label: 'pack', done: isolated.counts.rows, unit: 'rows' });
  });

  it('packs from the CLI as the library does, its helper threads below the pipeline', async () => {
    // given the large export, packed by the library in this process (no thread priorities touched)
    const options = { cwd: dir, clock: fixedClock(NOW), uploadTime: '1151125200000', force: true };
    mkdirSync(join(dir, 'lib'));
    mkdirSync(join(dir, 'cli'));
    const library = await pack([csv], { ...options, out: 'lib/DAY.zip' });
    // when the CLI packs it (which lowers its helper threads on Linux)
    const r = await labup(['pack', csv, '--input-encoding', 'big5', '--upload-time', '1151125200000', '--force', '--out', join(dir, 'cli', 'DAY.zip'), '--json'], { cwd: dir });
    // then it ends as usual with the same result and the same archive
    expect(r.code).toBe(0);
    const cli = JSON.parse(r.stdout) as { counts: PackResult['counts']; errorCount: number; bytes: PackResult['bytes'] };
    expect([cli.counts, cli.errorCount, cli.bytes]).toEqual([library.counts, library.errorCount, library.bytes]);
    expect(readFileSync(join(dir, 'cli', 'DAY.zip')).equals(readFileSync(join(dir, 'lib', 'DAY.zip')))).toBe(true);
  });

  it('validates in a worker exactly as in one thread', async () => {
    const options = { clock: fixedClock(NOW), uploadDate: '1151125' };
    const isolated = await validate([xml], options);
    const inThread = await validateFile(xml, options);
    expect(isolated.files[0]).toEqual(inThread);
    expect(inThread.errorCount).toBeGreaterThan(0);
  });

  it('reports a file it cannot read from the worker as it would itself', async () => {
    const bad = join(dir, 'BAD.xml');
    writeFileSync(bad, Buffer.alloc(17 * 1024 * 1024, 0x20));
    const r = await validate([bad], { clock: fixedClock(NOW), uploadDate: '1151125' });
    expect(r.files[0]).toEqual(await validateFile(bad, { clock: fixedClock(NOW), uploadDate: '1151125' }));
  });
});
