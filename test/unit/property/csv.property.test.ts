/**
 * Hostile input, by property: the CSV parser and reader `labup pack` reads HIS exports with, the
 * column map, and the JSON reader. Whatever the bytes and however they are cut into chunks, they
 * give records or coded problems (`LabupError` with a code, or an `InputProblem` with a code and
 * a place) — never an uncoded exception, never a hang (each property runs in bounded time). And
 * quoting holds: any table written by the RFC 4180 rules reads back cell for cell.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabupError } from '../../../src/errors.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { FIELDS } from '../../../src/format/fields.js';
import { CsvParser, fieldBytes, type CsvRecord } from '../../../src/input/csv-parser.js';
import { EMPTY_MAP, parseColumnMap, resolveColumn } from '../../../src/input/column-map.js';
import { readJson } from '../../../src/input/json-reader.js';
import type { InputInfo, InputProblem } from '../../../src/input/types.js';
import { pack, type PackResult } from '../../../src/pack/pack.js';
import { fixedClock } from '../../../src/clock.js';

/** Runs per property (see docs/security.md for the totals). */
const RUNS = 300;

/** Cuts `bytes` at the given offsets (modulo its length), in order. */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

async function* stream(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

/** Parses chunks; returns the records (their cells as raw bytes, copied) or the coded error. */
function parse(chunks: Buffer[], delimiter = ','): { cells: string[][]; lines: number[] } | { error: LabupError } {
  const p = new CsvParser({ delimiter, maxRecordBytes: 4096, file: 'in.csv' });
  const recs: CsvRecord[] = [];
  const take = (rs: CsvRecord[]) => {
    for (const r of rs) recs.push({ ...r, bytes: Buffer.from(r.bytes) });
  };
  try {
    for (const c of chunks) take(p.push(c));
    take(p.end());
  } catch (err) {
    if (err instanceof LabupError) return { error: err };
    throw err;
  }
  return {
    cells: recs.map((r) => r.fields.map((f) => (f.escapes ? fieldBytes(r, f).toString('latin1').replace(/""/g, '"') : fieldBytes(r, f).toString('latin1')))),
    lines: recs.map((r) => r.line),
  };
}

const CSV_CODES = new Set(['CSV_UNCLOSED_QUOTE', 'CSV_RECORD_TOO_LONG']);
/** Noise made of the characters CSV is about, and bytes that are not text. */
const noiseToken = fc.constantFrom('"', '""', ',', ';', '\t', '\r', '\n', '\r\n', 'a', ' ', '血', '\u0000', '\uFEFF', 'h9', '"x"y', '\\', '\u00ff');
const noise = fc.array(fc.oneof(noiseToken.map((t) => Buffer.from(t, 'utf8')), fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b))), { maxLength: 120 }).map((parts) => Buffer.concat(parts));
const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 8 });

describe('CSV parser', () => {
  it('answers arbitrary bytes, in any chunks, with records or a coded error — the same whatever the chunking', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), noise), cuts, fc.constantFrom(',', ';', '\t', '|'), (bytes, at, delimiter) => {
        // given the same bytes whole and cut into pieces
        const whole = parse([bytes], delimiter);
        const pieces = parse(cut(bytes, at), delimiter);
        // then either records or a coded CSV error, and the same either way
        if ('error' in whole) expect(CSV_CODES.has(whole.error.code)).toBe(true);
        expect(pieces).toEqual(whole);
        if ('cells' in whole) {
          // lines never go backwards and never pass the number of line breaks
          const breaks = (bytes.toString('latin1').match(/\r\n|\r|\n/g) ?? []).length;
          expect([...whole.lines].sort((a, b) => a - b)).toEqual(whole.lines);
          expect(whole.lines.every((l) => l >= 1 && l <= breaks + 1)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('reads back any table written with RFC 4180 quoting, cell for cell: delimiters, quotes and line breaks inside, empty cells, any delimiter', () => {
    const cell = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('', '"', '""', '" "', 'a,b', 'a;b', 'a\tb', 'two\nlines', 'cr\rcr', 'crlf\r\n', ' lead', 'trail ', '血清', '"quoted"', 'x"y'),
    );
    const table = fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(table, fc.constantFrom(',', ';', '\t', '|'), fc.constantFrom('\n', '\r\n', '\r'), cuts, fc.boolean(), (rows, delimiter, eol, at, finalEol) => {
        // a row that is one empty cell would be a blank line, which CSV cannot tell from none
        fc.pre(rows.every((r) => !(r.length === 1 && r[0] === '')));
        const quote = (v: string) => (v === '' || /["\r\n]/.test(v) || v.includes(delimiter) ? `"${v.replace(/"/g, '""')}"` : v);
        const text = rows.map((r) => r.map(quote).join(delimiter)).join(eol) + (finalEol ? eol : '');
        const bytes = Buffer.from(text, 'utf8');
        const r = parse(cut(bytes, at), delimiter);
        expect('cells' in r).toBe(true);
        if (!('cells' in r)) return;
        const decoded = r.cells.map((cells) => cells.map((c) => Buffer.from(c, 'latin1').toString('utf8')));
        expect(decoded).toEqual(rows);
      }),
      { numRuns: RUNS },
    );
  });

  it('names the line where an unclosed quote opened, and refuses a record past the limit without buffering on', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9,]{0,8}$/), { minLength: 0, maxLength: 6 }), fc.stringMatching(/^[a-z\n]{0,30}$/), (before, tail) => {
        // given some good lines, then a quote that never closes
        const text = before.map((l) => `${l}\n`).join('') + `x,"${tail}`;
        const r = parse([Buffer.from(text)]);
        // then the error names the line of the quote
        expect(r).toMatchObject({ error: { code: 'CSV_UNCLOSED_QUOTE' } });
        if ('error' in r) expect(r.error.message).toContain(`in.csv:${before.length + 1}:`);
      }),
      { numRuns: RUNS },
    );
    const p = new CsvParser({ maxRecordBytes: 1024, file: 'in.csv' });
    expect(() => {
      for (let i = 0; i < 100; i++) p.push(Buffer.from('"'.padEnd(100, 'x')));
    }).toThrow(expect.objectContaining({ code: 'CSV_RECORD_TOO_LONG' }));
  });
});

const FIELD_CODES = new Set<string>(FIELDS.map((f) => f.id));
const HEADER = 'h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h15,h17,h20,h22,h26,r2,r3,r4,r5,r6-1,r6-2,r9,r10,r12';
const GOOD_ROW = (n: number) =>
  `1,3501200000,12,11511,1151125073005,01,${String(n).padStart(4, '0')},1,Q210000009,0600315,1151125,09005C,A123456789,1151125083005,血清,0,飯前血糖,酵素法,95,mg/dL,70,100,B123456780,1151125093005,0`;
const clock = fixedClock('2026-11-25T21:00:00+08:00');

/**
 * The CSV reader as `labup pack --dry-run` drives it (the reader's own interface is internal):
 * the result with its findings, or the coded error that ended the read.
 */
async function packCsv(chunks: Buffer[], encoding: 'auto' | 'utf-8' | 'big5' = 'auto'): Promise<{ result?: PackResult; error?: LabupError }> {
  try {
    return { result: await pack([{ name: 'in.csv', stream: stream(chunks) }], { format: 'csv', inputEncoding: encoding, dryRun: true, clock, uploadTime: '2026-11-25T21:00:00+08:00' }) };
  } catch (err) {
    if (err instanceof LabupError) return { error: err };
    throw err;
  }
}

function expectCoded(r: { result?: PackResult; error?: LabupError }): void {
  if (r.error) {
    expect(r.error.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(r.error.message).toContain('in.csv');
    return;
  }
  for (const f of [...r.result!.errors, ...r.result!.warnings]) {
    expect(f.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    if (f.code.startsWith('PACK_') && f.source) expect(f.source.file).toBe('in.csv');
    if (f.field) expect(FIELD_CODES.has(f.field)).toBe(true);
  }
}

describe('CSV reader (through pack --dry-run)', () => {
  it('answers arbitrary bytes, in any chunks and any encoding, with coded findings or a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)), noise), cuts, fc.constantFrom('auto', 'utf-8', 'big5') as fc.Arbitrary<'auto' | 'utf-8' | 'big5'>, async (bytes, at, enc) => {
        expectCoded(await packCsv(cut(bytes, at), enc));
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a UTF-8 export whose first non-ASCII character a chunk boundary cuts (a case the property below found)', async () => {
    // given one valid row, the first 血 cut after its first or second byte, alone in a chunk or not
    const bytes = Buffer.from(`${HEADER}\n${GOOD_ROW(0)}\n`, 'utf8');
    const at = bytes.indexOf(Buffer.from('血', 'utf8'));
    for (const cuts of [[at + 1], [at + 2], [at, at + 1], [at, at + 2], [at + 1, at + 2]]) {
      // when it is read with the encoding detected
      const r = await packCsv(cut(bytes, cuts), 'auto');
      // then it is UTF-8, and the row is read without an undecodable byte
      expect(r.error).toBeUndefined();
      expect(r.result!.inputs[0]!.encoding).toMatch(/^UTF-8/);
      expect(r.result!.errors.filter((e) => e.code === 'PACK_INPUT_BYTES')).toEqual([]);
      expect(r.result!.counts.rows).toBe(1);
    }
  });

  it('answers noise between valid rows, in UTF-8 or Big5, with coded findings at their rows, and reads every valid row', async () => {
    const row = fc.oneof(
      fc.nat({ max: 9999 }).map(GOOD_ROW),
      noise.map((b) => b.toString('latin1')),
      fc.array(fc.constantFrom('1', '', '"', '血', '\u00e9', ',', '"a""b"', '""'), { maxLength: 30 }).map((a) => a.join(',')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), cuts, async (rows, eol, big5, at) => {
        // given the header, then valid rows and noise
        const text = [HEADER, ...rows].join(eol) + eol;
        const bytes = big5 ? Buffer.from(encodeCp950(text, [])) : Buffer.from(text, 'utf8');
        // (Big5 is named: detection needs the first non-ASCII bytes whole in one chunk — see the report)
        const r = await packCsv(cut(bytes, at), big5 ? 'big5' : 'auto');
        // then coded findings only
        expectCoded(r);
        // and an export of valid rows only is read in full, whatever the chunking
        const valid = rows.filter((x) => /^1,3501200000,12,11511,1151125073005,01,\d{4},/.test(x));
        if (valid.length === rows.length && rows.length > 0) {
          expect(r.error).toBeUndefined();
          expect(r.result!.counts.rows).toBe(rows.length);
          expect(r.result!.errors.filter((e) => e.code.startsWith('PACK_CSV') || e.code === 'PACK_INPUT_BYTES')).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('column map', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  it('answers any JSON document, or any text, with a map or PACK_MAP_INVALID naming the file', () => {
    const text = fc.oneof(
      json.map((v) => JSON.stringify(v)),
      json.map((v) => JSON.stringify({ columns: v })),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.constantFrom('h9', 'r4', '身分證統一編號', 'x', 'h16'), fc.constant(null), json), { maxKeys: 5 }).map((c) => JSON.stringify({ columns: c, defaults: { h3: '11' } })),
      fc.string({ maxLength: 60 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          const map = parseColumnMap(t, 'map.json');
          // every target it accepted is a field of 表一, and resolves
          for (const [name, target] of map.columns) {
            if (target) expect(FIELD_CODES.has(target.field)).toBe(true);
            expect(resolveColumn(name, map).kind).not.toBe('unknown');
          }
        } catch (err) {
          expect(err).toBeInstanceOf(LabupError);
          expect((err as LabupError).code).toBe('PACK_MAP_INVALID');
          expect((err as LabupError).message.startsWith('map.json: ')).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('JSON reader', () => {
  it('answers arbitrary bytes and JSON-like noise, in any chunks, with coded problems or a coded error', async () => {
    const token = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\n', '\\', '\\u', 'h9', '"h9"', '"items"', '1', '1e999', '-', 'true', 'null', '血', '\u0000', ' ');
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      fc.array(token, { maxLength: 100 }).map((t) => Buffer.from(t.join(''), 'utf8')),
      fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }).map((vs) => Buffer.from(vs.map((v) => JSON.stringify(v)).join('\n'), 'utf8')),
    );
    await fc.assert(
      fc.asyncProperty(input, cuts, async (bytes, at) => {
        const problems: InputProblem[] = [];
        const info: InputInfo = { file: 'in.ndjson', format: 'json', encoding: null, records: 0 };
        try {
          for await (const rec of readJson(stream(cut(bytes, at)), { file: 'in.ndjson', encoding: 'auto', map: EMPTY_MAP, report: (p) => problems.push(p), info })) {
            expect(['row', 'order']).toContain(rec.kind);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(LabupError);
          expect((err as LabupError).message).toContain('in.ndjson');
        }
        for (const p of problems) {
          expect(p.code).toMatch(/^PACK_[A-Z_]+$/);
          expect(p.source.file).toBe('in.ndjson');
        }
      }),
      { numRuns: RUNS },
    );
  });
});
