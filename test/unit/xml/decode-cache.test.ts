/**
 * Non-ASCII values are decoded once and found again by a hash of their bytes. The bytes kept to
 * confirm a hit must be a copy: the reader's working buffer (and pack's batch memory) is written
 * over, and a kept view would then confirm another value with the same hash as the old one.
 */
import { describe, expect, it } from 'vitest';
import { cp950DecodeTable, decodeCp950 } from '../../../src/encoding/cp950.js';
import { H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';
import { prng } from '../../../src/format/synthetic.js';
import { RuleChecker } from '../../../src/pack/rule-check.js';
import { R_FIELD_BASE, XmlBatchWriter } from '../../../src/pack/xml-batch.js';
import { DailyXmlReader, type HdataRecord } from '../../../src/xml/daily-reader.js';

/** Two different runs of three CP950 characters whose bytes have the same FNV-1a hash. */
function collidingValues(): [Buffer, Buffer] {
  const table = cp950DecodeTable();
  const rand = prng(42);
  const seen = new Map<number, Buffer>();
  for (;;) {
    const b = Buffer.alloc(6);
    for (let k = 0; k < 6; k += 2) {
      do {
        b[k] = 0xa4 + Math.floor(rand() * 0x22);
        b[k + 1] = 0xa1 + Math.floor(rand() * 0x5e);
      } while (table[(b[k]! << 8) | b[k + 1]!] === 0);
    }
    let h = 0x811c9dc5;
    for (const x of b) h = Math.imul(h ^ x, 0x01000193);
    h >>>= 0;
    const other = seen.get(h);
    if (other && !other.equals(b)) return [other, b];
    seen.set(h, b);
  }
}

const H22 = H_FIELDS.findIndex((f) => f.id === 'h22');
/** r2, a value other rules read (the rule checker makes a string of it). */
const R2 = R_FIELD_BASE + R_FIELDS.findIndex((f) => f.id === 'r2');

describe('decoded values are confirmed against a copy of their bytes', () => {
  const [x, y] = collidingValues();
  const text = (b: Buffer) => decodeCp950(b).text;

  it('in the XML reader, whose working buffer is reused', () => {
    // given X and, in the next chunk at the very same place of the working buffer, Y (same hash)
    const head = Buffer.from('<?xml version="1.0" encoding="Big5"?>\n<patient>\n', 'latin1');
    const record = (v: Buffer) => Buffer.concat([Buffer.from('<hdata><h22>', 'latin1'), v, Buffer.from('</h22></hdata>', 'latin1')]);
    const records: HdataRecord[] = [];
    const reader = new DailyXmlReader({ hdata: (r) => records.push(r), finding: () => {} });
    // when both are read
    reader.write(Buffer.concat([head, record(x)]));
    reader.write(Buffer.concat([Buffer.alloc(head.length, 0x20), record(y)]));
    reader.write(Buffer.from('</patient>\n', 'latin1'));
    reader.end();
    // then each record holds its own value
    expect(records.map((r) => r.fields[H22]?.value)).toEqual([text(x), text(y)]);
  });

  it('in pack’s rule checker, whose batch memory is reused', () => {
    // given a batch holding X, checked, then the same memory holding Y at the same place
    const batch = (v: Buffer) => {
      const w = new XmlBatchWriter('big5');
      w.beginHdata(1);
      w.beginRdata();
      w.raw(R2, v, 0, v.length);
      w.endRdata();
      w.endHdata();
      return w.take();
    };
    const first = batch(x);
    const second = batch(y);
    const memory = Buffer.from(first.bytes);
    const seen: string[] = [];
    const checker = new RuleChecker(new XmlBatchWriter('big5').layout);
    checker.check(memory, first.index);
    second.bytes.copy(memory);
    // when the second batch is checked in the same memory, the value the rules see is Y
    const spy = checker as unknown as { fieldValue: (f: number, s: number, e: number) => string };
    const original = spy.fieldValue.bind(checker);
    spy.fieldValue = (f, s, e) => {
      const v = original(f, s, e);
      seen.push(v);
      return v;
    };
    checker.check(memory, second.index);
    expect(seen).toEqual([text(y)]);
  });
});
