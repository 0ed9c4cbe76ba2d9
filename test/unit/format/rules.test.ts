import { describe, expect, it } from 'vitest';
import type { DailyRecord } from '../../../src/xml/builder.js';
import { jointRecord } from '../../../src/format/synthetic.js';
import { check, codes, lab, SAMPLED, UPLOADED, xml } from '../../helpers/xml.js';

function withHeader(rec: DailyRecord, header: Record<string, string | undefined>): DailyRecord {
  const h = { ...rec.header, ...header } as Record<string, string | undefined>;
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return { ...rec, header: h };
}
function withItem(rec: DailyRecord, i: number, item: Record<string, string | undefined>): DailyRecord {
  const items = rec.items.map((it, k) => {
    if (k !== i) return it;
    const m = { ...it, ...item } as Record<string, string | undefined>;
    for (const key of Object.keys(m)) if (m[key] === undefined) delete m[key];
    return m;
  });
  return { ...rec, items };
}
const errs = (r: DailyRecord) => codes(check(xml([r])));
const warns = (r: DailyRecord) => check(xml([r])).warnings.map((w) => w.code);

describe('field rules', () => {
  it('counts length the NHI way: 4 per Chinese character', () => {
    // r5 allows 50: 12 CJK = 48 fits, 13 = 52 does not
    expect(errs(withItem(lab(), 0, { r5: '單'.repeat(12) }))).not.toContain('FIELD_LENGTH');
    expect(errs(withItem(lab(), 0, { r5: '單'.repeat(13) }))).toContain('FIELD_LENGTH');
  });

  it('checks type 9, code lists and the NHIA codes they map to', () => {
    const r = check(xml([withHeader(lab(), { h8: 'x', h6: 'ZZ', h3: '99', h26: '9' })]));
    expect(r.errors.map((e) => [e.code, e.field, e.nhiCode])).toEqual(
      expect.arrayContaining([
        ['FIELD_TYPE', 'h8', '02'],
        ['FIELD_CODE', 'h6', '21'],
        ['FIELD_CODE', 'h3', '03'],
        ['FIELD_CODE', 'h26', '03'],
      ]),
    );
  });

  it('checks ID checksums in h9, h17, h18 and r9, and lets an institution code stand in for a doctor', () => {
    expect(errs(withHeader(lab(), { h9: 'A123456788' }))).toContain('PERSON_ID_CHECKSUM');
    expect(errs(withHeader(lab(), { h17: '3501200000' }))).toEqual([]);
    expect(errs(withHeader(lab(), { h9: '3501200000' }))).toContain('PERSON_ID_FORMAT');
    expect(errs(withItem(lab(), 0, { r9: 'Z999999999' }))).toContain('PERSON_ID_CHECKSUM');
  });

  it('masks the national ID in the finding', () => {
    const f = check(xml([withHeader(lab(), { h9: 'A123456788' })])).errors[0]!;
    expect(f.value).toBe('A12****788');
    expect(f.message).not.toContain('A123456788');
  });

  it('checks h4 against h20 (NHIA 10) and the upload date against h16 (NHIA 22)', () => {
    expect(check(xml([withHeader(lab(), { h4: '11510' })])).errors[0]).toMatchObject({ code: 'EXEC_MONTH_MISMATCH', nhiCode: '10' });
    expect(check(xml([withHeader(lab(), { h16: '1151124200000' })])).errors[0]).toMatchObject({ code: 'UPLOAD_DATE_MISMATCH', nhiCode: '22' });
  });

  it('requires h11 and h26 for outpatients, h13 for inpatients, h27 for 代檢', () => {
    expect(errs(withHeader(lab(), { h11: undefined, h26: undefined }))).toEqual(['FIELD_REQUIRED_IF', 'FIELD_REQUIRED_IF']);
    expect(errs(withHeader(lab(), { h3: '22', h11: undefined, h26: undefined }))).toEqual(['FIELD_REQUIRED_IF']);
    expect(warns(withHeader(lab(), { h3: '22', h13: '1151125', h11: undefined, h26: undefined }))).toContain('FIELD_ADVISED'); // h14
    expect(errs(withHeader(lab(), { h26: '5' }))).toEqual(['FIELD_REQUIRED_IF']);
    expect(errs(withHeader(lab(), { h26: '5', h27: '3501200001' }))).toEqual([]);
  });

  it('checks the newborn pair and the 60-day rule (NHIA 11, 12, 13)', () => {
    expect(check(xml([withHeader(lab(), { h24: 'a' })])).errors[0]!.nhiCode).toBe('11');
    expect(check(xml([withHeader(lab(), { h23: '1151101' })])).errors[0]!.nhiCode).toBe('12');
    expect(errs(withHeader(lab(), { h23: '1151101', h24: 'a' }))).toEqual([]);
    expect(check(xml([withHeader(lab(), { h23: '1150901', h24: 'B' })])).errors[0]!.nhiCode).toBe('13');
  });

  it('checks 醫令代碼 against 報告類別 (NHIA 30) and limits report type 4 to 表四', () => {
    expect(check(xml([withHeader(lab(), { h15: '18001C' })])).errors[0]).toMatchObject({ code: 'ORDER_REPORT_TYPE', nhiCode: '30' });
    const joint = jointRecord({ sampledAt: SAMPLED, uploadedAt: UPLOADED });
    expect(errs(joint)).toEqual([]);
    expect(errs(withHeader(joint, { h15: '09005C' }))).toContain('ORDER_REPORT_TYPE');
  });

  it('requires a reference range for report type 1 except where the item table says 無', () => {
    expect(check(xml([withItem(lab(), 0, { 'r6-1': undefined, 'r6-2': undefined })])).errors[0]!.nhiCode).toBe('14');
    const y3: DailyRecord = withHeader({ header: lab().header, items: [{ r1: '1', r2: '左腳足底檢查', r3: '目視', r4: '0', r9: 'B123456780', r10: '1151125093005' }] }, { h15: 'Y00003' });
    expect(errs(y3)).toEqual([]);
  });

  it('numbers items 1..n unless an item table fixes the numbers', () => {
    const two = { header: { ...lab().header, h15: '12044C' }, items: [lab().items[0]!, { ...lab().items[0]!, r1: '3' }] };
    expect(errs(two)).toContain('R1_SEQUENCE');
    // 表八: 09006C for DM care uses r1 101
    const dm = withItem(withHeader(lab(1, 6), { h15: '09006C' }), 0, { r1: '101' });
    expect(errs(dm)).toEqual([]);
    expect(errs(withItem(dm, 0, { r1: '7' }))).toContain('ITEM_NOT_IN_TABLE');
    expect(errs(withItem(dm, 0, { r4: '5.55' }))).toContain('ITEM_DECIMALS');
  });

  it('requires r4-1 for the positive/negative orders and only 1/0 for COVID tests', () => {
    const covid = withHeader({ header: lab().header, items: [{ r1: '1', r2: '新型冠狀病毒抗原檢測', r3: '快篩', r4: '陰', 'r6-1': '陰', r9: 'B123456780', r10: '1151125093005' }] }, { h15: '14084C' });
    expect(errs(covid)).toEqual(['FIELD_REQUIRED_IF']);
    expect(errs(withItem(covid, 0, { 'r4-1': 'U' }))).toContain('POS_NEG_VALUE');
    expect(errs(withItem(covid, 0, { 'r4-1': '0' }))).toEqual([]);
  });

  it('checks the joint implant items of 表五: names, units, side/procedure/approach, barcodes', () => {
    const joint = jointRecord({ sampledAt: SAMPLED, uploadedAt: UPLOADED });
    expect(errs(withItem(joint, 0, { r5: 'mm' }))).toContain('ITEM_UNIT');
    expect(errs(withItem(joint, 3, { r3: 'L51' }))).toContain('JOINT_APPROACH');
    expect(errs(withItem(joint, 3, { r4: '(01)0761332702942(17)300912' }))).toContain('IMPLANT_GS1_LENGTH');
    expect(errs(withItem(joint, 3, { r4: '+H124005842013021/2518163097677F15%' }))).toEqual([]);
    expect(errs(withItem(joint, 3, { r4: '+H124005842013021/2518163097677F15Q' }))).toContain('IMPLANT_HIBCC_CHECK');
    expect(errs(withItem(joint, 3, { r4: Array(21).fill('7115-000520077T7W78').join(';') }))).toContain('IMPLANT_BARCODE_COUNT');
    expect(errs(withItem(joint, 1, { r2: 'Weight' }))).toContain('ITEM_NAME');
  });

  it('warns about a correction key repeated inside the file (表七)', () => {
    const r = check(xml([lab(1), lab(1)]));
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toContain('DUPLICATE_KEY');
  });
});
