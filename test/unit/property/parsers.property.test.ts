/**
 * Hostile input, by property: whatever bytes or text arrive, the parsers return a result or a
 * coded finding — never an uncoded exception, never a hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPersonId, completePersonId } from '../../../src/format/national-id.js';
import { formatRocDate, parseRocDate, parseRocDateTime, parseUserDate } from '../../../src/format/roc.js';
import { FINDINGS } from '../../../src/format/findings.js';
import { check, lab, xml } from '../../helpers/xml.js';

const RUNS = { numRuns: 300 };

describe('ROC date parser', () => {
  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const r = parseRocDate(s);
        const t = parseRocDateTime(s, true);
        expect(typeof r.ok).toBe('boolean');
        expect(typeof t.ok).toBe('boolean');
        parseUserDate(s);
      }),
      RUNS,
    );
  });

  it('reads back every date it writes, before and after 民國元年', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1813-01-01T00:00:00Z'), max: new Date('2910-12-31T00:00:00Z'), noInvalidDate: true }), (d) => {
        const cal = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
        const text = formatRocDate(cal);
        expect(parseRocDate(text)).toEqual({ ok: true, value: cal });
      }),
      RUNS,
    );
  });
});

describe('ID checksum', () => {
  const prefix = fc.tuple(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), fc.constantFrom('1', '2', '8', '9', 'A', 'B', 'C', 'D'), fc.stringMatching(/^[0-9]{7}$/)).map(([a, b, c]) => a + b + c);

  it('accepts the completed ID and rejects a changed digit wherever the weighted sum can see it', () => {
    fc.assert(
      fc.property(prefix, fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 9 }), (p, pos, delta) => {
        const id = completePersonId(p);
        expect(checkPersonId(id).ok).toBe(true);
        // Digit weights are 7…1 then 1: a change of weight×delta ≡ 0 (mod 10) is invisible to any such checksum.
        const weight = pos === 9 ? 1 : 9 - pos;
        fc.pre((weight * delta) % 10 !== 0);
        const d = (Number(id[pos]) + delta) % 10;
        const changed = id.slice(0, pos) + String(d) + id.slice(pos + 1);
        expect(checkPersonId(changed).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 15 }), (s) => void checkPersonId(s)), RUNS);
  });
});

describe('streaming XML reader', () => {
  const codes = new Set(Object.keys(FINDINGS));

  it('answers arbitrary bytes with coded findings only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), (bytes, chunk) => {
        const r = check(Buffer.from(bytes), chunk);
        for (const f of [...r.errors, ...r.warnings]) expect(codes.has(f.code)).toBe(true);
      }),
      RUNS,
    );
  });

  it('answers XML-like noise with coded findings only', () => {
    const token = fc.constantFrom('<', '>', '</', '/>', '<?xml version="1.0" encoding="Big5"?>', '<!--', '-->', '<![CDATA[', ']]>', '<!DOCTYPE x>', '&amp;', '&#x41;', '&bad;', '"', "'", '=', ' ', '\n', 'patient', 'hdata', 'rdata', 'h1', 'r1', '1', '檢驗', '\u0000', '\uFFFD');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 80 }), fc.integer({ min: 1, max: 32 }), (parts, chunk) => {
        const r = check(Buffer.from(parts.join(''), 'utf8'), chunk);
        for (const f of [...r.errors, ...r.warnings]) expect(codes.has(f.code)).toBe(true);
      }),
      RUNS,
    );
  });

  it('finds the same things whatever the chunking of a damaged valid file', () => {
    const base = xml([lab(1, 3), lab(2, 0)]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 500 }), (pos, byte, chunk) => {
        const damaged = Buffer.from(base);
        damaged[pos] = byte;
        const whole = check(damaged, damaged.length);
        const pieces = check(damaged, chunk);
        expect(pieces.errors.map((e) => [e.code, e.line, e.column])).toEqual(whole.errors.map((e) => [e.code, e.line, e.column]));
      }),
      { numRuns: 200 },
    );
  });
});
