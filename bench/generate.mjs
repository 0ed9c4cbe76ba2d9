#!/usr/bin/env node
// Generates a realistic day of results for the benchmark: a Big5 daily XML (compact, as HIS
// generators write it) and the same data as a Big5 CSV export (one row per result item, visit and
// order columns repeated), deterministic for a given seed.
//
//   node bench/generate.mjs --hdata 250000 --out bench/out [--seed 1]
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { DailyXmlWriter } from '../dist/xml/builder.js';
import { encodeCp950 } from '../dist/encoding/cp950.js';
import { labRecord, imagingRecord, pathologyRecord, jointRecord, prng } from '../dist/format/synthetic.js';
import { H_FIELDS, R_FIELDS } from '../dist/format/fields.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

export const BENCH_DAY = {
  sampled: { year: 2026, month: 11, day: 25, hour: 8, minute: 0, second: 0 },
  uploaded: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 },
  /** LABUP_NOW for runs over the generated day. */
  now: '2026-11-25T21:00:00+08:00',
  uploadDate: '1151125',
};

/** Writes `<out>/day-<hdata>.xml` and `.csv`; returns their paths and counts. */
export async function generateDay({ hdata, out, seed = 1 }) {
  mkdirSync(out, { recursive: true });
  const xmlPath = join(out, `day${hdata}.xml`);
  const csvPath = join(out, `day${hdata}.csv`);
  const xml = createWriteStream(xmlPath);
  const csv = createWriteStream(csvPath);
  const writer = new DailyXmlWriter({ encoding: 'big5', indent: false });
  const columns = [...H_FIELDS, ...R_FIELDS].map((f) => f.id);
  const esc = (v) => (v === undefined ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rand = prng(seed);
  let items = 0;
  let xmlParts = [writer.head()];
  let csvParts = [columns.join(',') + '\r\n'];
  let pending = 0;
  const flush = async () => {
    const waits = [];
    if (!xml.write(Buffer.concat(xmlParts))) waits.push(once(xml, 'drain'));
    if (!csv.write(encodeCp950(csvParts.join('')))) waits.push(once(csv, 'drain'));
    xmlParts = [];
    csvParts = [];
    pending = 0;
    await Promise.all(waits);
  };
  for (let i = 0; i < hdata; i++) {
    const minute = i % 600;
    const o = {
      sampledAt: { ...BENCH_DAY.sampled, hour: 8 + Math.floor(minute / 60), minute: minute % 60, second: i % 60 },
      uploadedAt: BENCH_DAY.uploaded,
      patient: i,
    };
    const roll = rand();
    // Mostly laboratory orders; complete blood counts and differentials make the average ~4 items.
    const rec =
      roll < 0.9 ? labRecord(o, rand, roll < 0.27 ? 3 : roll < 0.42 ? 4 : undefined) : roll < 0.96 ? imagingRecord(o) : roll < 0.995 ? pathologyRecord(o) : jointRecord(o);
    // Distinct correction keys: the visit sequence varies with the record.
    rec.header.h7 = String((i % 9999) + 1).padStart(4, '0');
    items += rec.items.length;
    xmlParts.push(writer.record(rec));
    for (const item of rec.items) {
      const row = { ...rec.header, ...item };
      csvParts.push(columns.map((c) => esc(row[c])).join(',') + '\r\n');
    }
    if (++pending >= 2000) await flush();
  }
  xmlParts.push(writer.tail());
  await flush();
  xml.end();
  csv.end();
  await Promise.all([once(xml, 'finish'), once(csv, 'finish')]);
  return { xmlPath, csvPath, hdata, items };
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  const hdata = Number(arg('hdata', '250000'));
  const out = arg('out', 'bench/out');
  const t0 = Date.now();
  const r = await generateDay({ hdata, out, seed: Number(arg('seed', '1')) });
  process.stderr.write(`generated ${r.hdata} hdata, ${r.items} rdata in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${r.xmlPath}, ${r.csvPath}\n`);
}
