/**
 * pack's rule checker skips the rules for a record it recognises from its bytes as one the rules
 * would pass. These stories hold the byte checks to be one-sided (a value they pass, the real
 * check passes), and the rules it repeats from the bytes to report what the rules report.
 */
import { describe, expect, it } from 'vitest';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { FIELDS, H_FIELDS, R_FIELDS } from '../../../src/format/fields.js';
import { checkValue } from '../../../src/format/rules.js';
import { labRecord, prng } from '../../../src/format/synthetic.js';
import { RuleChecker } from '../../../src/pack/rule-check.js';
import { byteCheckOf, ByteCheck, numberInBytes, passesInBytes } from '../../../src/pack/value-bytes.js';
import { R_FIELD_BASE, XmlBatchWriter } from '../../../src/pack/xml-batch.js';
import type { DailyRecord } from '../../../src/xml/builder.js';

const passes = (def: (typeof FIELDS)[number], value: string) => checkValue(def, { value, line: 1, column: 1 }, () => {}, { hdata: 1, rdata: null });

/** Values near the valid ones of each kind, and some far from them. */
function candidates(seed: number): string[] {
  const rand = prng(seed);
  const base = ['1151125083005', '11511250830', '1151125', '0390101', '-050101', '1160229', '1130229', '1151131', '1151125240000', '1151125236000', '0001125083005', 'A123456789', 'B110000005', 'A823456789', 'AB23456789', 'a123456789', 'A12345678', 'Z000', 'IC02', 'ic02', '0001', '12', '123456', '1234567', '中文', '中文字'.repeat(30), 'x'.repeat(100), 'x'.repeat(101), '', '3501200000'];
  const out = [...base];
  const alphabet = '0123456789-ABCZaz中 ';
  for (let i = 0; i < 3000; i++) {
    const v = [...base[Math.floor(rand() * base.length)]!];
    const edits = 1 + Math.floor(rand() * 2);
    for (let e = 0; e < edits && v.length > 0; e++) v[Math.floor(rand() * v.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
    out.push(v.join(''));
  }
  return out;
}

describe('byte checks on values', () => {
  it('pass only values the field’s own check passes', () => {
    // given values of every shape, as the writer encodes them (CP950)
    const values = candidates(5);
    let passedInBytes = 0;
    for (const def of FIELDS) {
      const check = byteCheckOf(def);
      if (check === ByteCheck.None) continue;
      for (const v of values) {
        const bytes = encodeCp950(v);
        // when a value passes the byte check, then the field's check passes it too
        if (passesInBytes(check, def, bytes, 0, bytes.length)) {
          passedInBytes++;
          expect(passes(def, v), `${def.id} ${JSON.stringify(v)}`).toBe(true);
        }
      }
    }
    expect(passedInBytes).toBeGreaterThan(1000);
  });

  it('read numbers as the item tables do', () => {
    const number = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
    for (const v of ['1', '-1', '+1.5', '1.', '.5', '.', '+', '', '1.2.3', '1e3', ' 1', '1 ', '12.345', '0.10', '--1', 'Ａ']) {
      const bytes = encodeCp950(v);
      for (const decimals of [-1, 0, 1, 2]) {
        const dec = v.includes('.') ? v.length - v.indexOf('.') - 1 : 0;
        const expected = number.test(v) && (decimals < 0 || dec <= decimals);
        expect(numberInBytes(bytes, 0, bytes.length, decimals), `${JSON.stringify(v)} ${decimals}`).toBe(expected);
      }
    }
  });
});

/** Records into one batch, as pack writes them. */
function batchOf(records: DailyRecord[]): { bytes: Buffer; index: Int32Array; layout: XmlBatchWriter['layout'] } {
  const w = new XmlBatchWriter('big5', 1 << 24);
  records.forEach((rec, n) => {
    w.beginHdata(n + 1);
    H_FIELDS.forEach((f, i) => {
      const v = (rec.header as Record<string, string | undefined>)[f.id];
      if (v !== undefined) w.text(i, v);
    });
    for (const item of rec.items) {
      w.beginRdata();
      R_FIELDS.forEach((f, i) => {
        const v = (item as Record<string, string | undefined>)[f.id];
        if (v !== undefined) w.text(R_FIELD_BASE + i, v);
      });
      w.endRdata();
    }
    w.endHdata();
  });
  const b = w.take();
  return { bytes: b.bytes, index: b.index, layout: w.layout };
}

describe('records recognised from their bytes', () => {
  const day = (n: number, h16: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => {
      const rec = labRecord({ sampledAt: { year: 2026, month: 11, day: 25, hour: 8, minute: i % 60, second: 0 }, uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 }, patient: i }, prng(i), 4);
      rec.header.h16 = h16(i);
      return rec;
    });

  it('still get the upload-date rule: h16 on another day than the upload is reported', () => {
    // given many clean records, and every tenth stamped a day late
    const { bytes, index, layout } = batchOf(day(200, (i) => (i % 10 === 9 ? '1151126200000' : '1151125200000')));
    // when checked against the upload date 2026-11-25
    const findings = new RuleChecker(layout, { uploadDate: { year: 2026, month: 11, day: 25 } }).check(bytes, index);
    // then exactly the late ones are reported
    expect(findings.map((f) => `${f.code} ${f.hdata}`)).toEqual(Array.from({ length: 20 }, (_, k) => `UPLOAD_DATE_MISMATCH ${10 * k + 10}`));
  });

  it('still get the repeated-key rule, across batches', () => {
    // given clean records, then the same records again in a later batch
    const records = day(50, () => '1151125200000');
    const first = batchOf(records);
    const again = batchOf(records.slice(0, 5));
    const checker = new RuleChecker(first.layout, { uploadDate: { year: 2026, month: 11, day: 25 } });
    expect(checker.check(first.bytes, first.index)).toEqual([]);
    // then each repeat names the first record of its key
    expect(checker.check(again.bytes, again.index).map((f) => [f.code, f.hdata, f.first])).toEqual([1, 2, 3, 4, 5].map((n) => ['DUPLICATE_KEY', n, n]));
  });
});
