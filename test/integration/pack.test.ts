import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { BIN, FIXTURE_NOW, ROOT, fixture, labup } from '../helpers/cli.js';
import { DailyXmlReader, type HdataRecord } from '../../src/xml/daily-reader.js';
import { H_FIELDS, R_FIELDS } from '../../src/format/fields.js';
import { toFullWidth } from '../../src/xml/builder.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-pack-it-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const XSD = join(ROOT, 'schema/lab-daily.xsd');

/** Checks a ZIP with Info-ZIP, 7-Zip, xmllint against the XSD, and labup validate; returns the XML bytes. */
async function acceptedByEveryTool(zip: string): Promise<Buffer> {
  const unzipT = await execa('unzip', ['-t', zip], { reject: false });
  expect({ code: unzipT.exitCode, out: unzipT.stdout }).toMatchObject({ code: 0, out: expect.stringContaining('No errors detected') });
  const sevenZ = await execa('7z', ['t', zip], { reject: false });
  expect({ code: sevenZ.exitCode, out: sevenZ.stdout }).toMatchObject({ code: 0, out: expect.stringContaining('Everything is Ok') });
  const list = await execa('unzip', ['-Z1', zip]);
  const entries = list.stdout.split('\n');
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatch(/^[A-Za-z0-9]+\.xml$/);
  const xml = (await execa('unzip', ['-p', zip], { encoding: 'buffer' })).stdout as unknown as Uint8Array;
  const xmlFile = join(dir, `${entries[0]}`);
  writeFileSync(xmlFile, xml);
  const lint = await execa('xmllint', ['--noout', '--schema', XSD, xmlFile], { reject: false });
  expect({ code: lint.exitCode, err: lint.stderr }).toEqual({ code: 0, err: `${xmlFile} validates` });
  const v = await labup(['validate', zip]);
  expect({ code: v.code, out: v.stdout }).toMatchObject({ code: 0, out: expect.stringMatching(/✓ .* valid/) });
  return Buffer.from(xml);
}

function readBack(xml: Buffer): HdataRecord[] {
  const recs: HdataRecord[] = [];
  const reader = new DailyXmlReader({ hdata: (r) => recs.push(r), finding: () => {} });
  reader.write(xml);
  reader.end();
  return recs;
}
const hv = (rec: HdataRecord, id: string) => rec.fields[H_FIELDS.findIndex((f) => f.id === id)]?.value;
const rv = (rec: HdataRecord, i: number, id: string) => rec.rdata[i]!.fields[R_FIELDS.findIndex((f) => f.id === id)]?.value;

/** A deliberately plain CSV reader for the test's expectations (independent of labup's). */
function naiveCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}
const roc = (g: string) => {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(g)!;
  return `${String(Number(m[1]) - 1911).padStart(3, '0')}${m[2]}${m[3]}${m[4] ? `${m[4]}${m[5]}${m[6] ?? '00'}` : ''}`;
};

describe('labup pack (the real binary)', () => {
  it('packs the HIS export (Big5, Chinese and HIS columns, Gregorian dates) into a ZIP every tool accepts, holding the input values', async () => {
    // given the HIS fixture and its map
    const out = join(dir, 'HIS.zip');
    // when packed as a new user would (on a machine in another time zone: h16 is Taipei time regardless)
    const r = await labup(['pack', fixture('pack/his-export.csv'), '--map', fixture('pack/his-map.json'), '--hosp', '3501200000', '--out', out], { env: { TZ: 'America/Los_Angeles' } });
    // then it is written, mode 0600, and Info-ZIP, 7-Zip, xmllint and labup validate all accept it
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^✓ wrote .*HIS\.zip \(HIS\.xml\) {2}16 rows → 5 hdata, 16 rdata, Big5, h16 1151125210000$/m);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const xml = await acceptedByEveryTool(out);
    expect(xml.subarray(0, 38).toString('latin1')).toBe('<?xml version="1.0" encoding="Big5"?>\n');
    // and every mapped value of every row comes back, converted and full-width
    const [head, ...rows] = naiveCsv(iconv.decode(readFileSync(fixture('pack/his-export.csv')), 'cp950'));
    const col = (row: string[], name: string) => row[head!.indexOf(name)]!;
    const recs = readBack(xml);
    expect(recs).toHaveLength(5);
    for (const row of rows) {
      const rec = recs.find((x) => hv(x, 'h7') === col(row, '就醫序號') && hv(x, 'h15') === col(row, '醫令代碼'))!;
      expect(rec).toBeDefined();
      const i = rec.rdata.findIndex((_, k) => rv(rec, k, 'r2') === col(row, '檢驗項目'));
      expect(i).toBeGreaterThanOrEqual(0);
      const full = (v: string) => toFullWidth(v.replace(/\r\n/g, '\n'), 'big5');
      expect({
        h1: hv(rec, 'h1'), h2: hv(rec, 'h2'), h3: hv(rec, 'h3'), h4: hv(rec, 'h4'), h5: hv(rec, 'h5'), h6: hv(rec, 'h6'), h8: hv(rec, 'h8'), h9: hv(rec, 'h9'),
        h10: hv(rec, 'h10'), h11: hv(rec, 'h11'), h16: hv(rec, 'h16'), h17: hv(rec, 'h17'), h20: hv(rec, 'h20'), h22: hv(rec, 'h22'), h26: hv(rec, 'h26'),
        r1: rv(rec, i, 'r1'), r3: rv(rec, i, 'r3'), r4: rv(rec, i, 'r4'), r5: rv(rec, i, 'r5'), r61: rv(rec, i, 'r6-1'), r62: rv(rec, i, 'r6-2'),
        r9: rv(rec, i, 'r9'), r10: rv(rec, i, 'r10'), r11: rv(rec, i, 'r11'), r12: rv(rec, i, 'r12'),
      }).toEqual({
        h1: col(row, '報告類別'), h2: '3501200000', h3: '12', h4: roc(col(row, '採檢時間')).slice(0, 5), h5: roc(col(row, '刷卡時間')), h6: '01', h8: '1', h9: col(row, '身分證號'),
        h10: roc(col(row, '生日')), h11: roc(col(row, '就醫日期')), h16: '1151125210000', h17: col(row, '開單醫師'), h20: roc(col(row, '採檢時間')), h22: col(row, '檢體'), h26: '0',
        r1: String(i + 1), r3: full(col(row, '檢驗方法')), r4: col(row, '結果值'), r5: col(row, '單位'), r61: col(row, '參考值下限'), r62: col(row, '參考值上限'),
        r9: col(row, '醫檢師'), r10: roc(col(row, '報告時間')), r11: col(row, '備註') ? full(col(row, '備註')) : undefined, r12: col(row, '異常註記') === 'N' ? '0' : '1',
      });
    }
    // the remark with & < > ' " is full-width: ＆ ＜ ＞ ’ and ” (CP950 has no ＂), byte for byte
    expect(xml.includes(Buffer.concat([Buffer.from(' '), Buffer.from([0xa1, 0xae]), Buffer.from(' ')]))).toBe(true);
    expect(xml.includes(Buffer.from([0xa1, 0xa6, 0x72, 0x65, 0x63, 0x68, 0x65, 0x63, 0x6b, 0xa1, 0xa6]))).toBe(true); // ’recheck’
    expect(xml.includes(Buffer.from([0xa1, 0xa8, 0x53, 0x54, 0x41, 0x54, 0xa1, 0xa8]))).toBe(true); // ”STAT”
    expect(iconv.decode(xml, 'cp950')).toContain('<r11>溶血(+) ＆ 脂血＜輕微＞; 醫師註記 ’recheck’ ”STAT”</r11>');
  });

  it('packs the NDJSON example (report types 1–4, orders and flat rows) and parses back to its values', async () => {
    const out = join(dir, 'ND.zip');
    const r = await labup(['pack', fixture('pack/orders.ndjson'), '--out', out]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const recs = readBack(await acceptedByEveryTool(out));
    const lines = readFileSync(fixture('pack/orders.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // four orders and the two flat rows of a fifth, in input order
    expect(recs.map((x) => hv(x, 'h1'))).toEqual(['1', '2', '3', '4', '1']);
    const text = (v: unknown) => toFullWidth(String(v), 'big5');
    lines.slice(0, 4).forEach((o, k) => {
      const rec = recs[k]!;
      for (const [key, v] of Object.entries(o)) if (key !== 'items') expect([key, hv(rec, key)]).toEqual([key, text(v)]);
      expect(hv(rec, 'h16')).toBe('1151125210000');
      (o.items as Array<Record<string, unknown>>).forEach((item, i) => {
        for (const [key, v] of Object.entries(item)) expect([k, i, key, rv(rec, i, key)]).toEqual([k, i, key, text(v)]);
        expect(rv(rec, i, 'r1')).toBe(String(item.r1 ?? i + 1));
      });
    });
    const flat = recs[4]!;
    expect(flat.rdata.map((_, i) => [rv(flat, i, 'r1'), rv(flat, i, 'r2'), rv(flat, i, 'r4'), rv(flat, i, 'r6-1')])).toEqual([
      ['1', 'PT', '11.2', '9.4'],
      ['2', 'INR 國際標準', '1.05', '0.85'],
    ]);
    // an imaging report's ' and < > came out full-width
    expect(rv(recs[1]!, 0, 'r7')).toContain('’normal’ chest ＜no acute findings＞');
  });

  it('re-stamps an existing upload ZIP with a new h16 for a correction upload', async () => {
    const out = join(dir, 'FIX.zip');
    const r = await labup(['pack', fixture('valid/TOTFA.zip'), '--out', out, '--upload-time', '2026-11-25T20:30:00+08:00']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const recs = readBack(await acceptedByEveryTool(out));
    expect(recs.map((x) => hv(x, 'h16'))).toEqual(['1151125203000', '1151125203000']);
  });

  it('refuses a file NHI would reject: exit 1, each finding names the input line and column, and no file is left', async () => {
    // given an export with 堃, which code page 950 cannot carry, in r2 of line 3
    const outDir = mkdtempSync(join(dir, 'refused-'));
    const r = await labup(['pack', fixture('pack/invalid/unencodable.csv'), '--out', join(outDir, 'TOTFA.zip')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('unencodable.csv:3 column 14 “r2”: error PACK_UNENCODABLE hdata 2 rdata 1: r2 檢驗項目名稱: Big5 無法表示的字元 — “堃” (U+5803)');
    expect(r.stdout).toMatch(/✗ refused: 1 error; nothing written/);
    expect(readdirSync(outDir)).toEqual([]);
    // when forced, the file is written anyway and says so
    const forced = await labup(['pack', fixture('pack/invalid/unencodable.csv'), '--out', join(outDir, 'TOTFA.zip'), '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/! wrote .*TOTFA\.zip .* forced with 1 error/);
    expect(readdirSync(outDir)).toEqual(['TOTFA.zip']);
  });

  it('masks national IDs in findings', async () => {
    const r = await labup(['pack', fixture('pack/invalid/bad-values.csv'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('bad-values.csv:2 column 7 “h9”: error PERSON_ID_CHECKSUM (NHI 02) hdata 1: h9 身分證統一編號');
    expect(r.stdout).toContain('A12****788');
    expect(r.stdout).not.toContain('A123456788');
  });

  it('prints one JSON document: ok, output, counts, h16, errors and warnings with their input source', async () => {
    const r = await labup(['pack', fixture('pack/invalid/bad-values.csv'), '--json', '--out', join(dir, 'J.zip')]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).slice(0, 6)).toEqual(['ok', 'output', 'counts', 'h16', 'errors', 'warnings']);
    expect(doc).toMatchObject({ ok: false, output: null, counts: { rows: 2, hdata: 2, rdata: 2 }, h16: '1151125210000', refused: 'invalid', errorCount: 2 });
    expect(doc.errors[1]).toEqual({
      code: 'FIELD_CODE',
      severity: 'error',
      nhiCode: '21',
      field: 'h6',
      fieldName: '就醫類別',
      hdata: 2,
      rdata: null,
      line: expect.any(Number),
      column: expect.any(Number),
      message: expect.stringContaining('代碼不在代碼表內'),
      hint: expect.any(String),
      value: '0X',
      source: { file: fixture('pack/invalid/bad-values.csv'), line: 3, row: 2, column: 5, columnName: 'h6' },
    });
    expect(existsSync(join(dir, 'J.zip'))).toBe(false);
    // a JSON input's findings name the line and the pointer
    const j = await labup(['pack', fixture('pack/invalid/repeated-order.ndjson'), '--json', '--dry-run']);
    const e = JSON.parse(j.stdout).errors[0];
    expect(e).toMatchObject({ code: 'PACK_KEY_REPEATED', hdata: 3, source: { line: 3 } });
    expect(e.message).toContain('already written as hdata 1, from line 1');
  });

  it.each([
    [['pack/invalid/header-only.csv'], 6, /nothing to pack: the input holds no data rows/],
    [['pack/invalid/unclosed-quote.csv'], 2, /\[CSV_UNCLOSED_QUOTE\] .*unclosed-quote\.csv:2: a quoted field opened here is never closed/],
    [['pack/his-export.csv', '--map', 'pack/invalid/bad-map.json'], 2, /\[PACK_MAP_INVALID\] .*bad-map\.json: column “PAT_ID”: “h99” is not a field of 表一/],
    [['pack/his-export.csv'], 2, /\[PACK_COLUMN_MISSING\] .*his-export\.csv:1: no column for h2 醫事機構代碼, h3 醫事類別, h4 執行年月, h5 健保卡刷卡日期時間, h9 身分證統一編號, h10 出生日期, h20 採檢\/實際檢查\/手術日期時間, which every record needs \(h2: or give --hosp\)/],
    [['pack/orders.ndjson', '--out', 'TOT-FA.zip'], 2, /\[PACK_OUT_NAME\] --out TOT-FA\.zip: NHI accepts only letters and digits/],
    [['pack/orders.ndjson', '--encoding', 'latin1'], 2, /argument 'latin1' is invalid/],
    [['pack/nope.csv'], 2, /\[FILE_NOT_FOUND\] .*nope\.csv: no such file/],
    [['pack/orders.ndjson', '--upload-time', '115-11-25'], 2, /\[PACK_UPLOAD_TIME\] --upload-time “115-11-25” is not a date and time/],
  ])('exits with the documented code: %j → %i', async (args, code, message) => {
    const [first, ...rest] = args as string[];
    const fixed = rest.map((a, i) => (rest[i - 1] === '--map' ? fixture(a) : a));
    const r = await labup(['pack', fixture(first!), ...fixed, '--dry-run'], { cwd: dir });
    expect(r.code).toBe(code);
    expect(r.stdout + r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('names the ZIP by the API pattern with the next free serial in the folder', async () => {
    const outDir = mkdtempSync(join(dir, 'api-'));
    const first = await labup(['pack', fixture('pack/orders.ndjson'), '--api-name', '--out', outDir]);
    const second = await labup(['pack', fixture('pack/orders.ndjson'), '--api-name', '--out', outDir]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(readdirSync(outDir).sort()).toEqual(['35012000001151125001.zip', '35012000001151125002.zip']);
    await acceptedByEveryTool(join(outDir, '35012000001151125002.zip'));
  });

  it('reads standard input (-)', async () => {
    const out = join(dir, 'STDIN.zip');
    const r = await labup(['pack', '-', '--out', out], { input: readFileSync(fixture('pack/orders.ndjson')) });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(existsSync(out)).toBe(true);
  });

  it('shows progress with rows per second on a terminal only; cron output stays clean', async () => {
    // given 3,000 rows
    const rows = ['h1,h2,h3,h5,h6,h7,h9,h10,h11,h15,h20,h22,h26,r2,r3,r4,r5,r6-1,r6-2,r9,r10'];
    for (let i = 0; i < 3000; i++) rows.push(`1,3501200000,12,1151125073005,01,${i.toString(36).toUpperCase().padStart(4, '0')},A123456789,0600315,1151125,09005C,1151125083005,血清,0,飯前血糖 Glucose AC,酵素法,95,mg/dL,70,100,B123456780,1151125093005`);
    const input = join(dir, 'rows.csv');
    writeFileSync(input, rows.join('\n') + '\n');
    // when stderr is a pipe: no progress at all
    const piped = await labup(['pack', input, '--dry-run']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    // when run on a terminal (a pseudo-terminal from `script`): a progress line with rows/s
    const cmd = `LABUP_NOW=${FIXTURE_NOW} node ${BIN} pack ${input} --dry-run`;
    const tty = await execa('script', ['-qec', cmd, '/dev/null'], { reject: false, env: { NO_COLOR: '1' } });
    expect(tty.exitCode).toBe(0);
    // (at most ten updates a second, so which counts appear depends on the machine's speed)
    expect(tty.stdout).toContain('\r\u001b[Kpack ');
    expect(tty.stdout).toMatch(/pack [1-3]000 rows, [\d,…]+\/s/);
  });

  it('keeps memory bounded: 200,000 rows pack within a 64 MB heap', async () => {
    // given 200,000 rows (80,000 orders) — far more than 64 MB if held in memory
    const input = join(dir, 'many.csv');
    const lines = ['h1,h2,h3,h5,h6,h7,h9,h10,h11,h15,h20,h22,h26,r2,r3,r4,r5,r6-1,r6-2,r9,r10'];
    const CBC = ['RBC 紅血球,自動化儀器分析,5.40,10^6/uL,4.2,6.2', 'Hemoglobin 血色素,自動化儀器分析,12.6,g/dL,12,18', 'Platelet 血小板,自動化儀器分析,388,10^3/uL,150,400', 'WBC 白血球,自動化儀器分析,8.2,10^3/uL,4,10'];
    for (let p = 1; lines.length <= 200_000; p++) {
      const head = `1,3501200000,12,1151125073005,01,${p.toString(36).toUpperCase().padStart(4, '0')},A123456789,0600315,1151125`;
      lines.push(`${head},09005C,1151125083005,血清,0,飯前血糖 Glucose AC,酵素法,95,mg/dL,70,100,B123456780,1151125093005`);
      for (const c of CBC) lines.push(`${head},08011C,1151125083005,全血,0,${c},B123456780,1151125093005`);
    }
    writeFileSync(input, lines.slice(0, 200_001).join('\n') + '\n');
    // when packed with the V8 heap capped at 64 MB
    const out = join(dir, 'MANY.zip');
    const r = await labup(['pack', input, '--out', out], { env: { NODE_OPTIONS: '--max-old-space-size=64' } });
    // then it completes and the archive is sound
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/200,000 rows → 80,000 hdata, 200,000 rdata/);
    const t = await execa('unzip', ['-t', out]);
    expect(t.stdout).toContain('No errors detected');
  });
});
