import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { FIELD_BY_ID, H_FIELDS } from '../../../src/format/fields.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { applyAnswer, checkAnswer, headerQuestion, itemQuestion, promptLine, removeItems, type FormQuestion } from '../../../src/entry/form.js';
import { checkEntry, normaliseAnswer, type DailyRecord } from '../../../src/entry/record.js';

const clock = fixedClock('2026-11-25T21:00:00+08:00');
const o = { clock };
const PATIENT = completePersonId('F12671859');
const STAFF = completePersonId('B12345678');
const def = (id: string) => FIELD_BY_ID.get(id)!;

/** An outpatient lab order (09015C: CRE and eGFR) as the form would have it, complete. */
function labRecord(): DailyRecord {
  return {
    header: { h1: '1', h2: '3501200000', h3: '12', h4: '11511', h5: '1151125073005', h6: '01', h7: '0001', h8: '1', h9: PATIENT, h10: '0650315', h11: '1151125', h15: '09015C', h20: '1151125083005', h22: '血液', h26: '0' },
    items: [
      { r1: '1', r2: 'CRE(肌酸酐)', r3: '酵素法', r4: '1.02', r5: 'mg/dL', 'r6-1': '0.6', 'r6-2': '1.3', r9: STAFF, r10: '1151125093005' },
      { r1: '2', r2: 'eGFR', r3: '計算', r4: '75', r5: 'mL/min/1.73m2', 'r6-1': '60', r9: STAFF, r10: '1151125093005' },
    ],
  };
}

/** The header fields the form asks for a record, in order (answers as in `rec`). */
function askedHeader(rec: DailyRecord, institution?: string): string[] {
  const asked: string[] = [];
  let r: DailyRecord = { header: {}, items: [] };
  for (const f of H_FIELDS) {
    const q = headerQuestion(f, r, institution ? { institution } : {}, o);
    if (!q) continue;
    asked.push(f.id);
    const v = (rec.header as Record<string, string>)[f.id];
    if (v !== undefined) r = applyAnswer(r, f.id, null, v);
  }
  return asked;
}

describe('the entry form, derived from 表一', () => {
  it('asks the header in spec order, conditional fields only where they apply, h4 and h16 never', () => {
    // given an outpatient lab record and a configured institution
    const asked = askedHeader(labRecord(), '3501200000');
    // then h2 is filled from the config, h4 follows h20, h16 comes at upload;
    // h13/h14 (inpatients), h25 (CT/MRI) and h27 (h26 3 or 5) are not asked
    expect(asked).toEqual(['h1', 'h3', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11', 'h12', 'h15', 'h17', 'h18', 'h19', 'h20', 'h21', 'h22', 'h23', 'h24', 'h26', 'h28', 'h29', 'h30']);
  });

  it('asks h13 and h14 for inpatients (h3 21, 22, 29) instead of h11 and h26', () => {
    const rec = labRecord();
    rec.header.h3 = '22';
    rec.header.h6 = '05';
    const asked = askedHeader(rec, '3501200000');
    expect(asked).toContain('h13');
    expect(asked).toContain('h14');
    expect(asked).not.toContain('h11');
    expect(asked).not.toContain('h26');
    const h13 = headerQuestion(def('h13'), { header: { h3: '22' }, items: [] }, {}, o)!;
    const h14 = headerQuestion(def('h14'), { header: { h3: '22' }, items: [] }, {}, o)!;
    expect(h13.requiredness).toBe('required');
    expect(h14.requiredness).toBe('advised');
    expect(h13.message).toContain('住診 (h3 為 21、22、29) 必填');
  });

  it('asks h27 when h26 is 3 or 5, and h25 (a checkbox of body parts) for CT and MRI orders', () => {
    const rec = labRecord();
    expect(headerQuestion(def('h27'), rec, {}, o)).toBeNull();
    rec.header.h26 = '3';
    expect(headerQuestion(def('h27'), rec, {}, o)!.requiredness).toBe('required');
    expect(headerQuestion(def('h25'), rec, {}, o)).toBeNull();
    const ct: DailyRecord = { header: { h1: '2', h15: '33070B' }, items: [] };
    const h25 = headerQuestion(def('h25'), ct, {}, o)!;
    expect(h25.control).toBe('checkbox');
    expect(h25.choices!.map((c) => c.value)).toContain('N');
  });

  it('asks h2 when no institution is configured', () => {
    expect(askedHeader(labRecord())).toContain('h2');
  });

  it('names each field in Chinese with its format hint and marks required ones with *', () => {
    const q = headerQuestion(def('h9'), { header: {}, items: [] }, {}, o)!;
    expect(q.message).toBe('*h9 身分證統一編號 [身分證號或居留證號, e.g. A123456789]');
    const h12 = headerQuestion(def('h12'), { header: {}, items: [] }, {}, o)!;
    expect(h12.message).toContain('h12 治療結束日期 [YYYMMDD');
    expect(h12.message).toContain('選填 optional');
    expect(h12.message.startsWith('*')).toBe(false);
  });

  it('offers code lists as select lists, with defaults: 補卡註記 1-正常, 就醫日期 from the card date', () => {
    const h6 = headerQuestion(def('h6'), { header: {}, items: [] }, {}, o)!;
    expect(h6.control).toBe('select');
    expect(h6.choices!.find((c) => c.value === '01')!.name).toBe('01 西醫門診');
    const h8 = headerQuestion(def('h8'), { header: {}, items: [] }, {}, o)!;
    expect(h8.default).toBe('1');
    expect(h8.choices![0]!.value).toBe(''); // optional: a skip choice first
    const h11 = headerQuestion(def('h11'), { header: { h3: '12', h5: '1151125073005' }, items: [] }, {}, o)!;
    expect(h11.default).toBe('1151125');
  });

  it('offers the items of the order’s table for 報告序號, with the table’s name and unit as defaults', () => {
    const rec: DailyRecord = { header: { h1: '1', h15: '09015C' }, items: [{ r1: '1' }] };
    const r1 = itemQuestion(def('r1'), rec, 2, o) as FormQuestion;
    expect(r1.control).toBe('select');
    expect(r1.choices!.map((c) => c.value)).toEqual(['1', '2', '101', '102']);
    expect(r1.default).toBe('2'); // the first number not used yet
    const withR1 = applyAnswer(rec, 'r1', 2, '2');
    expect(itemQuestion(def('r2'), withR1, 2, o)!.default).toBe('eGFR');
    expect(itemQuestion(def('r5'), rec, 1, o)!.default).toBe('mg/dL');
    // an order without a table: the next number
    const plain = itemQuestion(def('r1'), { header: { h1: '1', h15: '12345C' }, items: [{ r1: '1' }] }, 2, o)!;
    expect(plain.control).toBe('input');
    expect(plain.default).toBe('2');
  });

  it('asks item fields by report type: r7 for images, r8-1 for pathology, continuation parts only after a filled one', () => {
    const image: DailyRecord = { header: { h1: '2', h15: '32001C' }, items: [{ r1: '1' }] };
    expect(itemQuestion(def('r7'), image, 1, o)!.requiredness).toBe('required');
    expect(itemQuestion(def('r4'), image, 1, o)).toBeNull();
    expect(itemQuestion(def('r8-2'), image, 1, o)).toBeNull();
    expect(itemQuestion(def('r8-2'), applyAnswer(image, 'r7', 1, 'Chest PA: normal'), 1, o)!.requiredness).toBe('optional');
    const path: DailyRecord = { header: { h1: '3', h15: '25003C' }, items: [{ r1: '1' }] };
    expect(itemQuestion(def('r8-1'), path, 1, o)!.requiredness).toBe('required');
    // a joint implant's surgical approach item needs r3 (表五), though 表一 asks r3 only for types 1 and 3
    const joint: DailyRecord = { header: { h1: '4', h15: '64164B' }, items: [{ r1: '4' }] };
    expect(itemQuestion(def('r3'), joint, 1, o)!.requiredness).toBe('required');
  });
});

describe('each answer checked at once', () => {
  const empty: DailyRecord = { header: {}, items: [] };

  it('refuses a national ID with a wrong checksum, naming the problem bilingually', () => {
    const wrong = PATIENT.slice(0, 9) + String((Number(PATIENT[9]) + 1) % 10);
    const c = checkAnswer(empty, def('h9'), null, wrong, o);
    expect(c.errors.map((f) => f.code)).toEqual(['PERSON_ID_CHECKSUM']);
    expect(c.blocking).toEqual(c.errors);
    expect(promptLine(c.errors[0]!)).toBe('身分證號或居留證號檢查碼錯誤 — ID checksum does not match → Check the ID against the patient’s card; a typo changes the checksum.');
    // the value shown is masked
    expect(c.errors[0]!.value).toBe(wrong.slice(0, 3) + '****' + wrong.slice(-3));
    expect(checkAnswer(empty, def('h9'), null, PATIENT, o).errors).toEqual([]);
  });

  it('reads what people type: lower-case IDs and codes, ROC dates with separators, ISO dates', () => {
    expect(checkAnswer(empty, def('h9'), null, PATIENT.toLowerCase(), o).value).toBe(PATIENT);
    expect(normaliseAnswer(def('h10'), '65/3/15')).toBe('0650315');
    expect(normaliseAnswer(def('h10'), '1976-03-15')).toBe('0650315');
    expect(normaliseAnswer(def('h5'), '115/11/25 07:30:05')).toBe('1151125073005');
    expect(normaliseAnswer(def('h5'), '1151125-073005')).toBe('1151125073005');
    expect(normaliseAnswer(def('h20'), '2026-11-25 08:30')).toBe('1151125083000');
    expect(normaliseAnswer(def('h15'), ' 09015c ')).toBe('09015C');
    expect(normaliseAnswer(def('h24'), 'a')).toBe('a'); // case means sex here
  });

  it('refuses an empty required answer and accepts an empty optional one', () => {
    expect(checkAnswer(empty, def('h9'), null, '', o).errors.map((f) => f.code)).toEqual(['FIELD_REQUIRED']);
    expect(checkAnswer(empty, def('h12'), null, '', o).errors).toEqual([]);
  });

  it('checks an answer against the record: 醫令代碼 of another report type, a unit the table does not allow', () => {
    const rec = labRecord();
    const c = checkAnswer({ ...rec, header: { ...rec.header, h15: undefined } }, def('h15'), null, '32001C', o);
    expect(c.errors.map((f) => f.code)).toEqual(['ORDER_REPORT_TYPE']);
    // shown at once, but the answer is taken: the fix may be h1 (編輯表頭欄位)
    expect(c.blocking).toEqual([]);
    const unit = checkAnswer(rec, def('r5'), 1, 'mmol/L', o);
    expect(unit.errors.map((f) => f.code).concat(unit.warnings.map((f) => f.code))).toContain('ITEM_UNIT_GUIDE');
  });

  it('wants one of the reference-range bounds, asked when both are left empty', () => {
    const rec: DailyRecord = { header: { h1: '1', h15: '12345C' }, items: [{ r1: '1', r2: 'X', r4: '1', r5: 'mg' }] };
    expect(checkAnswer(rec, def('r6-1'), 1, '', o).errors).toEqual([]);
    expect(checkAnswer(rec, def('r6-2'), 1, '', o).errors.map((f) => f.code)).toEqual(['REFERENCE_RANGE_REQUIRED']);
    const lower = applyAnswer(rec, 'r6-1', 1, '0');
    expect(checkAnswer(lower, def('r6-2'), 1, '', o).errors).toEqual([]);
  });

  it('derives 執行年月 from h20 and follows later changes of h20', () => {
    let rec = applyAnswer({ header: {}, items: [] }, 'h20', null, '1151125083005');
    expect(rec.header.h4).toBe('11511');
    rec = applyAnswer(rec, 'h20', null, '1151201083005');
    expect(rec.header.h4).toBe('11512');
    // a value set by hand is kept (and checked: it must match h20)
    rec = applyAnswer(rec, 'h4', null, '11510');
    rec = applyAnswer(rec, 'h20', null, '1151202083005');
    expect(rec.header.h4).toBe('11510');
    expect(checkEntry(rec, o).errors.map((f) => f.code)).toContain('EXEC_MONTH_MISMATCH');
  });

  it('notices a sampling time after now (h16 is the upload time)', () => {
    const c = checkAnswer({ header: { h1: '1' }, items: [] }, def('h20'), null, '1151126083005', o);
    expect(c.warnings.map((f) => f.code)).toEqual(['DATE_SEQUENCE']);
  });

  it('refuses characters Big5 cannot carry', () => {
    const c = checkAnswer({ header: { h1: '1' }, items: [{ r1: '1' }] }, def('r2'), 1, '血糖 😀', o);
    expect(c.errors.map((f) => f.code)).toEqual(['ENTRY_UNENCODABLE']);
  });

  it('removes items and numbers 1, 2, 3 … again, keeping numbers a table gave', () => {
    const rec = labRecord();
    rec.items.push({ r1: '3', r2: 'X' });
    const after = removeItems(rec, [1]);
    expect(after.items.map((i) => [i.r1, i.r2])).toEqual([
      ['1', 'eGFR'],
      ['2', 'X'],
    ]);
    const table: DailyRecord = { header: {}, items: [{ r1: '1' }, { r1: '4' }, { r1: '20' }] };
    expect(removeItems(table, [2]).items.map((i) => i.r1)).toEqual(['1', '20']);
  });

  it('finds a complete record valid', () => {
    const c = checkEntry(labRecord(), o);
    expect(c.errors).toEqual([]);
  });
});
