import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CsvParser, type CsvRecord } from '../../../src/input/csv-parser.js';
import { LabupError } from '../../../src/errors.js';

/** Parses `input` fed in chunks of the given sizes; returns each record's values and line. */
function parse(input: string | Buffer, chunkSizes: number[] = [1 << 20], delimiter = ','): Array<{ line: number; values: string[] }> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const p = new CsvParser({ delimiter, file: 't.csv' });
  const recs: CsvRecord[] = [];
  let pos = 0;
  let k = 0;
  while (pos < buf.length) {
    const n = Math.max(1, chunkSizes[k++ % chunkSizes.length]!);
    recs.push(...p.push(buf.subarray(pos, pos + n)));
    pos += n;
  }
  recs.push(...p.end());
  return recs.map((r) => ({
    line: r.line,
    values: r.fields.map((f) => {
      const t = r.bytes.subarray(f.start, f.end).toString('utf8');
      return f.escapes ? t.replace(/""/g, '"') : t;
    }),
  }));
}

describe('CsvParser (RFC 4180, on bytes)', () => {
  it('splits plain fields and LF, CRLF and CR line ends, numbering lines', () => {
    // given three records with three different line ends
    const input = 'a,b,c\nd,e,f\r\ng,h,i\rj,k,l';
    // when parsed
    const recs = parse(input);
    // then each record is found on its own line
    expect(recs).toEqual([
      { line: 1, values: ['a', 'b', 'c'] },
      { line: 2, values: ['d', 'e', 'f'] },
      { line: 3, values: ['g', 'h', 'i'] },
      { line: 4, values: ['j', 'k', 'l'] },
    ]);
  });

  it('reads quoted fields with delimiters, doubled quotes and line breaks inside', () => {
    // given a quoted value spanning two lines and one holding "" and a comma
    const input = 'id,text\n1,"two\r\nlines"\n2,"say ""hi"", then go"\n3,\n';
    // when parsed
    const recs = parse(input);
    // then the values are exact and the next record's line accounts for the break inside quotes
    expect(recs).toEqual([
      { line: 1, values: ['id', 'text'] },
      { line: 2, values: ['1', 'two\r\nlines'] },
      { line: 4, values: ['2', 'say "hi", then go'] },
      { line: 5, values: ['3', ''] },
    ]);
  });

  it('skips blank lines but keeps their line numbers', () => {
    const recs = parse('a,b\n\n\r\nc,d\n');
    expect(recs).toEqual([
      { line: 1, values: ['a', 'b'] },
      { line: 4, values: ['c', 'd'] },
    ]);
  });

  it('keeps a quote inside an unquoted field as text, and marks text after a closing quote', () => {
    // given 5" (a quote inside unquoted text) and "abc"def (text after the closing quote)
    const p = new CsvParser();
    const recs = [...p.push(Buffer.from('5" tube,"abc"def,x\n')), ...p.end()];
    // then the first is plain text and the second is flagged, kept raw
    const [rec] = recs;
    const values = rec!.fields.map((f) => rec!.bytes.subarray(f.start, f.end).toString());
    expect(values).toEqual(['5" tube', '"abc"def', 'x']);
    expect(rec!.fields.map((f) => f.stray)).toEqual([false, true, false]);
  });

  it('reads an empty last field at the end of the file', () => {
    expect(parse('a,b,')).toEqual([{ line: 1, values: ['a', 'b', ''] }]);
    expect(parse('a,"b"')).toEqual([{ line: 1, values: ['a', 'b'] }]);
  });

  it('uses another delimiter, e.g. tab', () => {
    expect(parse('a\tb,c\n', undefined, '\t')).toEqual([{ line: 1, values: ['a', 'b,c'] }]);
  });

  it('splits Big5 bytes correctly even where a trail byte is a backslash or @', () => {
    // given 許 (B3 5C) and 功 (A5 5C), whose second byte is ASCII, inside unquoted and quoted fields
    const big5 = Buffer.from([0xb3, 0x5c, 0x2c, 0x22, 0xa5, 0x5c, 0x2c, 0x22, 0x0a]);
    const p = new CsvParser();
    const [rec] = [...p.push(big5), ...p.end()];
    // then the comma inside the quotes is content, and the pairs are intact
    expect(rec!.fields.map((f) => rec!.bytes.subarray(f.start, f.end).toString('hex'))).toEqual(['b35c', 'a55c2c']);
  });

  it('refuses an unclosed quote at the end of the file, naming the line where it opened', () => {
    // given a quote opened on line 2 that never closes
    const p = new CsvParser({ file: 'x.csv' });
    p.push(Buffer.from('a,b\n1,"open\n2,3\n'));
    // when the input ends
    let error: unknown;
    try {
      p.end();
    } catch (err) {
      error = err;
    }
    // then a coded usage error names the file and line 2
    expect(error).toBeInstanceOf(LabupError);
    expect((error as LabupError).code).toBe('CSV_UNCLOSED_QUOTE');
    expect((error as LabupError).message).toBe('x.csv:2: a quoted field opened here is never closed');
    expect((error as LabupError).exitCode).toBe(2);
  });

  it('refuses a record longer than the limit instead of buffering the file', () => {
    const p = new CsvParser({ file: 'x.csv', maxRecordBytes: 1000 });
    expect(() => p.push(Buffer.from('a,"' + 'x'.repeat(2000)))).toThrow(/longer than/);
  });

  it('refuses a delimiter that cannot work', () => {
    expect(() => new CsvParser({ delimiter: '"' })).toThrow(/delimiter/);
    expect(() => new CsvParser({ delimiter: ';;' })).toThrow(/delimiter/);
  });

  it('gives the same records however the input is cut into chunks (property)', () => {
    const cell = fc.oneof(
      fc.stringMatching(/^[a-z0-9 ]{0,6}$/),
      fc.constantFrom('a,b', 'say "x"', 'two\nlines', 'cr\r\nlf', '血液', '', ' '),
    );
    const table = fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(table, fc.constantFrom('\n', '\r\n'), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }), (rows, eol, cuts) => {
        const text = rows.map((r) => r.map((v) => (/[",\r\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v)).join(',')).join(eol) + eol;
        const whole = parse(text);
        const chunked = parse(text, cuts);
        expect(chunked).toEqual(whole);
        expect(whole.map((r) => r.values)).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same records with long records running over large chunks (property)', () => {
    // records of up to ~40 KiB, quoted line breaks inside, cut into chunks of up to 20 KiB
    const cell = fc.oneof(
      fc.stringMatching(/^[a-z0-9 ]{0,6}$/),
      fc.tuple(fc.constantFrom('x', '血', 'a\nb', 'q""'), fc.integer({ min: 100, max: 10000 })).map(([unit, n]) => unit.repeat(n)),
    );
    const table = fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(table, fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 4 }), (rows, cuts) => {
        const text = rows.map((r) => r.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',')).join('\r\n') + '\r\n';
        const whole = parse(text);
        expect(parse(text, cuts)).toEqual(whole);
        expect(whole.map((r) => r.values)).toEqual(rows);
      }),
      { numRuns: 150 },
    );
  });
});
