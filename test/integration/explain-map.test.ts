/**
 * A HIS export in its own words — Big5, HIS column names translated by a column map, Gregorian
 * dates, h2 from --hosp, rows of one order interleaved with another's — and a check file in NHI's
 * own wording with codes only the portal can find (26, 31, 37). `labup explain --map --hosp` must
 * name, for each error, a row of the export that really holds that order and that item: the test
 * reads the export itself to confirm it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { decodeCp950, encodeCp950 } from '../../src/encoding/cp950.js';
import { fixture, labup } from '../helpers/cli.js';
import { scratch, type Scratch } from '../unit/archive/scratch.js';

let s: Scratch;
/** The export's records: cells by column name, and the line each starts on. */
let records: Array<{ line: number; cells: Record<string, string> }>;
/** The XML pack made of it: per hdata, h9, h15 and the item names (r2). */
let hdata: Array<{ h9: string; h15: string; r2: string[]; r4: string[] }>;

/** A small quote-aware CSV reader, independent of labup's. */
function readExport(text: string): Array<{ line: number; cells: string[] }> {
  const out: Array<{ line: number; cells: string[] }> = [];
  let line = 1;
  let cells: string[] = [];
  let cur = '';
  let quoted = false;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cur += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cur);
      cur = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cur);
      out.push({ line: start, cells });
      cells = [];
      cur = '';
      line++;
      start = line;
    } else cur += c;
  }
  return out;
}

beforeAll(async () => {
  s = scratch('labup-explain-map-');
  copyFileSync(fixture('pack/his-export.csv'), s.path('his-export.csv'));
  copyFileSync(fixture('pack/his-map.json'), s.path('his-map.json'));
  const parsed = readExport(decodeCp950(readFileSync(s.path('his-export.csv'))).text);
  const names = parsed[0]!.cells;
  records = parsed.slice(1).map((r) => ({ line: r.line, cells: Object.fromEntries(names.map((n, i) => [n, r.cells[i] ?? ''])) }));
  // the upload, as pack makes it
  const packed = await labup(['pack', 'his-export.csv', '--map', 'his-map.json', '--hosp', '3501200000', '--encoding', 'utf-8', '--upload-time', '2026-11-25T20:00:00+08:00'], { cwd: s.root });
  expect(packed.code).toBe(0);
  execFileSync('unzip', ['-q', '-o', s.path('TOTFA.zip'), '-d', s.path('x')]);
  const xml = readFileSync(s.path('x', 'TOTFA.xml'), 'utf8');
  hdata = xml
    .split('<hdata>')
    .slice(1)
    .map((h) => ({
      h9: /<h9>(.*?)<\/h9>/.exec(h)![1]!,
      h15: /<h15>(.*?)<\/h15>/.exec(h)![1]!,
      r2: [...h.matchAll(/<r2>(.*?)<\/r2>/g)].map((m) => m[1]!),
      r4: [...h.matchAll(/<r4>(.*?)<\/r4>/g)].map((m) => m[1]!),
    }));
  expect(hdata.map((h) => h.h15)).toEqual(['08011C', '09005C', '09006C', '09015C', '08013C']);
  // NHI's check file: its own wording, codes labup cannot find locally
  const rows = [
    ['1', '1', '5', 'r4', '37', '代碼不存在或不在生效期間', hdata[0]!.r4[4]!],
    ['2', '2', '', 'h20', '31', '採檢日期時間與醫令執行時間不符', '1151125083005'],
    ['3', '5', '3', 'r4', '05', '數值格式錯誤', hdata[4]!.r4[2]!],
    ['4', '4', '', '', '26', '勾稽查無案件', ''],
    ['5', '1', '', 'h2', '28', '醫事機構代碼錯誤', '3501200000'],
  ];
  const text = ['檢驗(查)結果每日上傳檢核結果', '收件序號: 1151125000042', '處理狀態: 檢核錯誤', '醫令筆數(hdata): 5', '報告筆數(rdata): 16', '錯誤筆數: 5', '', '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容', ...rows.map((r) => r.join('\t'))];
  writeFileSync(s.path('1300_1151125000042.msg.txt'), encodeCp950(text.join('\r\n') + '\r\n'));
});
afterAll(() => s.remove());

describe('labup explain --source his-export.csv --map --hosp', () => {
  it('names rows that hold the order and the item of every error', async () => {
    const r = await labup(['--json', '--show-ids', 'explain', '1300_1151125000042.msg.txt', '--source', 'his-export.csv', '--map', 'his-map.json', '--hosp', '3501200000'], { cwd: s.root });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    const errors = (doc.groups as Array<{ errors: Array<{ seq: number; hdata: number; rdata: number | null; field: string | null; source: { line: number; row: number; columnName?: string; from?: string; rows?: Array<{ line: number }> }; patient: string; orderCode: string }> }>)
      .flatMap((g) => g.errors)
      .sort((a, b) => a.seq - b.seq);
    expect(errors).toHaveLength(5);
    for (const e of errors) {
      const h = hdata[e.hdata - 1]!;
      const rec = records.find((x) => x.line === e.source.line)!;
      // the row named is a row of this order (same patient, same 醫令代碼), and the spreadsheet row matches its line
      expect({ seq: e.seq, id: rec.cells['身分證號'], order: rec.cells['醫令代碼'] }).toEqual({ seq: e.seq, id: h.h9, order: h.h15 });
      expect(e.source.row).toBe(records.indexOf(rec) + 2);
      expect([e.patient, e.orderCode]).toEqual([h.h9, h.h15]);
      // an item error names the row of that very item
      if (e.rdata !== null) expect(rec.cells['檢驗項目']).toBe(h.r2[e.rdata - 1]);
      // a header error lists every row of the order
      if (e.rdata === null && e.source.rows) {
        expect(e.source.rows.map((x) => records.find((y) => y.line === x.line)!.cells['醫令代碼'])).toEqual(e.source.rows.map(() => h.h15));
      }
    }
    // the map's column names, and where a value did not come from the export at all
    expect(errors[0]!.source.columnName).toBe('結果值');
    expect(errors[1]!.source.columnName).toBe('採檢時間');
    expect(errors[4]!.source.from).toBe('--hosp');
    // h2 came from --hosp, not from a row; hdata 2 (one row) needs no list
    expect(errors[4]!.source.rows).toBeUndefined();
    expect(errors[1]!.source.rows).toBeUndefined();
  });

  it('says what is missing when the export is given without the map it was packed with', async () => {
    const r = await labup(['explain', '1300_1151125000042.msg.txt', '--source', 'his-export.csv'], { cwd: s.root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[PACK_COLUMN_MISSING\] his-export\.csv:1: no column for/);
    expect(r.stderr).toContain('--map');
  });
});
