/**
 * explain with the uploaded XML (or its ZIP) as the source: every error of a check file rendered
 * from the validator's own findings points at the line and column of the field in the XML, found
 * here independently by reading the XML text line by line.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explain } from '../../../src/explain/explain.js';
import { createZip } from '../../../src/archive/encrypted-zip.js';
import { isLabupError } from '../../../src/errors.js';
import { maskId } from '../../../src/format/national-id.js';
import { fixedClock } from '../../../src/clock.js';
import { StreamingValidator } from '../../../src/validate.js';
import { lab, xml, UPLOAD_DATE } from '../../helpers/xml.js';
import { scratch, type Scratch } from '../archive/scratch.js';
import { checkFileBytes } from './check-file-writer.js';
import { brokenRecords, findings } from './scenario.js';

const clock = fixedClock('2026-11-25T21:00:00+08:00');
let s: Scratch;
beforeEach(() => {
  s = scratch('labup-explain-');
});
afterEach(() => s.remove());

/** The line (1-based) and column of `<field>` in hdata `h` (rdata `r`), by reading the text. */
function lineOf(text: string, h: number, r: number | null, field: string | null): { line: number; column: number } {
  const lines = text.split('\n');
  let hd = 0;
  let rd = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.includes('<hdata>')) {
      hd++;
      rd = 0;
      if (hd === h && r === null && field === null) return { line: i + 1, column: l.indexOf('<') + 1 };
    }
    if (hd !== h) continue;
    if (l.includes('<rdata>')) {
      rd++;
      if (rd === r && field === null) return { line: i + 1, column: l.indexOf('<') + 1 };
    }
    if (field && l.includes(`<${field}>`) && ((r === null && rd === 0) || rd === r)) return { line: i + 1, column: l.indexOf('<') + 1 };
  }
  throw new Error(`hdata ${h} rdata ${r} ${field} not in the text`);
}

describe('explain --source XML', () => {
  it('points every error of the check file at its field in the XML, with the patient masked and the 醫令代碼', async () => {
    // given an upload with four errors, and the check file listing them
    const records = brokenRecords();
    const bytes = xml(records, 'utf-8');
    const found = findings(bytes);
    expect(found.errors.map((f) => f.code).sort()).toEqual(['EXEC_MONTH_MISMATCH', 'FIELD_CODE', 'PERSON_ID_CHECKSUM', 'REFERENCE_RANGE_REQUIRED']);
    s.write('TOTFA.xml', bytes);
    s.write('1300_1151125000001.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: found.hdata, rdata: found.rdata }, found.errors));

    // when it is explained with the XML as the source
    const r = await explain('1300_1151125000001.msg.txt', { cwd: s.root, source: 'TOTFA.xml', clock });

    // then each error points at the line of its field (or of the rdata lacking it)
    const text = bytes.toString('utf8');
    const errors = r.groups.flatMap((g) => g.errors);
    expect(errors).toHaveLength(4);
    for (const e of errors) {
      const fieldInXml = e.field === 'r6-1' ? null : e.field;
      const want = lineOf(text, e.hdata!, e.rdata, fieldInXml);
      expect({ seq: e.seq, line: e.source?.line, column: e.source?.column }).toEqual({ seq: e.seq, ...want });
      expect(e.source?.file).toBe('TOTFA.xml');
      expect(e.patient).toBe(maskId(records[e.hdata! - 1]!.header.h9!));
      expect(e.orderCode).toBe(records[e.hdata! - 1]!.header.h15);
    }
    // and the four are grouped by NHIA code, with explanations and the specific fix
    expect(r.groups.map((g) => [g.code, g.title, g.count])).toEqual([
      ['02', '資料類別錯誤', 1],
      ['14', '參考值上下限至少擇一', 1],
      ['03', '代碼類別錯誤', 1],
      ['10', '與執行年月之年月不一致', 1],
    ]);
    const id = errors.find((e) => e.field === 'h9')!;
    expect(id).toMatchObject({ finding: 'PERSON_ID_CHECKSUM', value: 'A12****788', current: 'A12****788', changed: false, source: { at: 'field' } });
    expect(id.fix).toMatch(/patient’s card/);
    const range = errors.find((e) => e.code === '14')!;
    expect(range).toMatchObject({ hdata: 1, rdata: 3, source: { at: 'rdata' }, current: null });
    const h4 = errors.find((e) => e.field === 'h4')!;
    expect(h4).toMatchObject({ value: '11510', current: '11510', changed: false, orderCode: '09015C' });
    expect(r).toMatchObject({ ok: false, status: 'error', receiptNo: '1151125000001', counts: { hdata: 3, rdata: 10, errors: 4, listed: 4 }, source: { file: 'TOTFA.xml', format: 'xml', hdata: 3, rdata: 10 } });
    expect(r.unparsed).toEqual([]);
    expect(r.notices).toEqual([]);
  });

  it('reads the XML inside the upload ZIP, and shows IDs only when asked', async () => {
    // given the upload ZIP rather than the XML
    const records = brokenRecords();
    const bytes = xml(records, 'big5');
    const found = findings(bytes);
    s.write('TOTFA.zip', await createZip([{ name: 'TOTFA.xml', data: bytes }]));
    s.write('check.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: found.hdata, rdata: found.rdata }, found.errors));
    // when explained with --show-ids
    const r = await explain('check.msg.txt', { cwd: s.root, source: 'TOTFA.zip', clock, showIds: true });
    // then the places name the ZIP and its entry, and the ID is shown whole
    const id = r.groups.flatMap((g) => g.errors).find((e) => e.field === 'h9')!;
    expect(id.source).toMatchObject({ file: 'TOTFA.zip', entry: 'TOTFA.xml', at: 'field' });
    expect(id.source!.line).toBe(lineOf(bytes.toString('latin1'), 1, null, 'h9').line);
    expect(id).toMatchObject({ patient: 'A123456788', value: 'A123456788', current: 'A123456788' });
    expect(r.source).toMatchObject({ file: 'TOTFA.zip', entry: 'TOTFA.xml' });
  });

  it('says the source does not match when the check file names an hdata it does not have', async () => {
    // given a check file for three orders, and an XML holding two
    const records = brokenRecords();
    const found = findings(xml(records, 'utf-8'));
    s.write('short.xml', xml(records.slice(0, 2), 'utf-8'));
    s.write('check.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: 0, rdata: 0 }, found.errors));
    // when explained against it
    const err = await explain('check.msg.txt', { cwd: s.root, source: 'short.xml', clock }).catch((e: unknown) => e);
    // then a usage error names the position it lacks
    expect(isLabupError(err) && err.code).toBe('EXPLAIN_SOURCE_MISMATCH');
    expect((err as Error).message).toMatch(/refers to hdata 3 \(line \d+\), the source holds 2 hdata/);
    expect((err as { exitCode: number }).exitCode).toBe(2);
  });

  it('says the source does not match when the counts differ, even before a position is missing', async () => {
    // given a check file counting three hdata, and a source with four
    const records = brokenRecords();
    const found = findings(xml(records, 'utf-8'));
    s.write('more.xml', xml([...records, lab(9, 0)], 'utf-8'));
    s.write('check.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: found.hdata, rdata: found.rdata }, found.errors));
    const err = await explain('check.msg.txt', { cwd: s.root, source: 'more.xml', clock }).catch((e: unknown) => e);
    expect(isLabupError(err) && err.code).toBe('EXPLAIN_SOURCE_MISMATCH');
    expect((err as Error).message).toMatch(/counts 3 hdata \(醫令筆數\), the source holds 4/);
  });

  it('notes values that changed since the check (already corrected)', async () => {
    // given the ID corrected in the XML after the check
    const records = brokenRecords();
    const found = findings(xml(records, 'utf-8'));
    s.write('check.msg.txt', checkFileBytes({ receiptNo: '1151125000001', hdata: found.hdata, rdata: found.rdata }, found.errors));
    records[0]!.header.h9 = 'A123456789';
    s.write('fixed.xml', xml(records, 'utf-8'));
    const r = await explain('check.msg.txt', { cwd: s.root, source: 'fixed.xml', clock });
    const id = r.groups.flatMap((g) => g.errors).find((e) => e.field === 'h9')!;
    expect(id).toMatchObject({ value: 'A12****788', current: 'A12****789', changed: true });
    expect(r.notices).toEqual(['1 of 3 values differ from what the check file shows (already corrected?)']);
  });

  it('places a syntax error the check file reports with L:XML_SYNTAX where the reader finds it', async () => {
    // given an XML cut off inside its second hdata, and the check file's file-level row
    const full = xml(brokenRecords(), 'utf-8').toString('utf8');
    const cut = full.slice(0, full.indexOf('<h15>', full.indexOf('<hdata>', full.indexOf('</hdata>'))));
    s.write('cut.xml', cut);
    const v = new StreamingValidator('cut.xml', { uploadDateResolved: UPLOAD_DATE, showIds: true });
    v.write(Buffer.from(cut));
    const report = v.end();
    const syntax = report.errors.filter((f) => f.code === 'XML_SYNTAX');
    expect(syntax).toHaveLength(1);
    s.write('check.msg.txt', checkFileBytes({ receiptNo: '1151125000009', hdata: 0, rdata: 0 }, syntax));
    // when explained
    const r = await explain('check.msg.txt', { cwd: s.root, source: 'cut.xml', clock });
    // then the row points where the reader stopped
    const e = r.groups[0]!.errors[0]!;
    expect(r.groups[0]).toMatchObject({ code: 'L:XML_SYNTAX', nhiCode: null, finding: 'XML_SYNTAX', known: true });
    expect(e.source).toMatchObject({ file: 'cut.xml', line: syntax[0]!.line, column: syntax[0]!.column });
  });
});
