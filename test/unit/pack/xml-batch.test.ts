/**
 * The byte writer `pack` uses writes what {@link DailyXmlWriter} writes, byte for byte, and an index
 * of every value that points where a reader finds it: the rules run on that index instead of a
 * second parse, so any slip here would be a finding in the wrong place.
 */
import { describe, expect, it } from 'vitest';
import { decodeCp950, encodeCp950 } from '../../../src/encoding/cp950.js';
import { H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';
import { prng } from '../../../src/format/synthetic.js';
import { IndexTag, R_FIELD_BASE, XmlBatchWriter, type XmlBatch } from '../../../src/pack/xml-batch.js';
import { DailyXmlReader, type HdataRecord } from '../../../src/xml/daily-reader.js';
import { DailyXmlWriter, type DailyRecord, type OutputEncoding } from '../../../src/xml/builder.js';

const TEXTS = ['1', '3501200000', '血液', 'a&b<c>d\'e"f', '＂quoted＂', 'line1\nline2\n', '王堃', '😀 emoji', 'lone \ud800 surrogate', '十二指腸', 'tab\there', '', ' ', 'x'.repeat(500), '𠀀'];

function randomRecords(seed: number, n: number): DailyRecord[] {
  const rand = prng(seed);
  const pick = () => TEXTS[Math.floor(rand() * TEXTS.length)]!;
  return Array.from({ length: n }, () => {
    const header: Record<string, string> = {};
    for (const f of H_FIELDS) if (rand() < 0.5) header[f.id] = pick();
    const items = Array.from({ length: Math.floor(rand() * 4) }, () => {
      const item: Record<string, string> = {};
      for (const f of R_FIELDS) if (rand() < 0.4) item[f.id] = pick();
      return item;
    });
    return { header, items } as DailyRecord;
  });
}

function writeAll(records: DailyRecord[], encoding: OutputEncoding, batchBytes: number): { bytes: Buffer; batches: XmlBatch[] } {
  const w = new XmlBatchWriter(encoding, batchBytes);
  const batches: XmlBatch[] = [];
  w.head();
  records.forEach((rec, k) => {
    w.beginHdata(k + 1);
    H_FIELDS.forEach((f, i) => {
      const v = (rec.header as Record<string, string | undefined>)[f.id];
      if (v !== undefined && v !== '') w.text(i, v);
    });
    for (const item of rec.items) {
      w.beginRdata();
      R_FIELDS.forEach((f, i) => {
        const v = (item as Record<string, string | undefined>)[f.id];
        if (v !== undefined && v !== '') w.text(R_FIELD_BASE + i, v);
      });
      w.endRdata();
    }
    w.endHdata();
    if (w.size >= batchBytes) batches.push(w.take());
  });
  w.tail();
  batches.push(w.take());
  return { bytes: Buffer.concat(batches.map((b) => b.bytes)), batches };
}

function readBack(bytes: Buffer): HdataRecord[] {
  const out: HdataRecord[] = [];
  const r = new DailyXmlReader({ hdata: (rec) => out.push(rec), finding: () => {} });
  r.write(bytes);
  r.end();
  return out;
}

describe('XmlBatchWriter', () => {
  it.each(['big5', 'utf-8'] as const)('writes byte for byte what DailyXmlWriter writes (%s), in batches of any size', (encoding) => {
    // given records with specials, line breaks, characters Big5 lacks and broken surrogates
    const records = randomRecords(7, 60);
    const reference = new DailyXmlWriter({ encoding });
    const expected = Buffer.concat([reference.head(), ...records.map((r) => reference.record(r)), reference.tail()]);
    // when written by the batch writer, in small and in large batches
    for (const size of [300, 1 << 20]) expect(writeAll(records, encoding, size).bytes.equals(expected)).toBe(true);
  });

  it('indexes every value where the reader finds it: same value, line and column', () => {
    // given the batches of some records
    const records = randomRecords(11, 40);
    const { bytes, batches } = writeAll(records, 'big5', 500);
    const read = readBack(bytes);
    // when the index is walked
    const seen: Array<[number, number | null, string, string, number]> = [];
    let hdata = 0;
    let rdata = 0;
    for (const b of batches) {
      for (let i = 0; i < b.index.length; ) {
        const tag = b.index[i]!;
        if (tag === IndexTag.Record) [hdata, rdata, i] = [b.index[i + 1]!, 0, i + 3];
        else if (tag === IndexTag.Rdata) [rdata, i] = [rdata + 1, i + 2];
        else if (tag === IndexTag.End) i += 2;
        else {
          const id = tag >= R_FIELD_BASE ? R_FIELDS[tag - R_FIELD_BASE]!.id : H_FIELDS[tag]!.id;
          const value = decodeCp950(b.bytes, b.index[i + 1]!, b.index[i + 2]!).text;
          seen.push([hdata, tag >= R_FIELD_BASE ? rdata : null, id, value, b.index[i + 3]!]);
          i += 4;
        }
      }
    }
    // then it lists exactly the values the reader reads, on the lines it reads them
    const expected: Array<[number, number | null, string, string, number]> = [];
    for (const rec of read) {
      rec.fields.forEach((fv, i) => fv && expected.push([rec.index, null, H_FIELDS[i]!.id, fv.value, fv.line]));
      for (const r of rec.rdata) r.fields.forEach((fv, i) => fv && expected.push([rec.index, r.index, R_FIELDS[i]!.id, fv.value, fv.line]));
    }
    const sorted = (a: typeof seen) => [...a].sort((x, y) => x[0] - y[0] || (x[1] ?? -1) - (y[1] ?? -1) || x[4] - y[4]);
    expect(sorted(seen)).toEqual(sorted(expected));
  });

  it('copies Big5 bytes as they are, writing specials full-width and each character by its first CP950 pair', () => {
    // given input bytes with 十 as A451 (CP950 also maps A2CC to 十; the encoder writes A2CC) and a special
    const src = Buffer.concat([Buffer.from([0xa4, 0x51]), Buffer.from('&x<', 'latin1'), encodeCp950('血液'), Buffer.from('\nz', 'latin1')]);
    const w = new XmlBatchWriter('big5');
    w.raw(R_FIELD_BASE + 1, src, 0, src.length);
    const copied = w.take();
    // then the bytes are what encoding the decoded text writes
    const ref = new XmlBatchWriter('big5');
    ref.text(R_FIELD_BASE + 1, decodeCp950(src).text);
    expect(copied.bytes.equals(ref.take().bytes)).toBe(true);
    expect(copied.bytes.includes(Buffer.from([0xa2, 0xcc]))).toBe(true);
  });
});
