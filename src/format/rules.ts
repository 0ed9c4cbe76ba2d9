/**
 * Record-level rules of the daily format: each field by its kind (length, type, code lists, dates,
 * IDs), the conditional requirements of 表一, the cross-field rules, and the per-order item tables
 * (表五, 表八–表十四). Works on one hdata at a time, as the streaming reader hands it over.
 */
import { daysBetween } from '../clock.js';
import { isCode, NEWBORN_MARK, CODE_LISTS } from './codes.js';
import {
  CORRECTION_KEY,
  H_FIELDS,
  H_INDEX,
  R_FIELDS,
  R_INDEX,
  type Condition,
  type FieldDef,
  type HFieldId,
  type RFieldId,
} from './fields.js';
import type { FindingCode, FindingInput } from './findings.js';
import { JOINT_APPROACHES, JOINT_PROCEDURES, JOINT_SIDES, MAX_IMPLANT_BARCODES, normaliseUnit, orderItems, type ItemSpec } from './item-tables.js';
import { checkPersonId, isInstitutionCode } from './national-id.js';
import { inOrderGroup, JOINT_IMPLANT_ORDERS, lookupOrder, POS_NEG_STRICT_ORDERS } from './order-codes.js';
import { formatRocDate, parseRocDate, parseRocDateTime, parseRocYearMonth, type CalendarDate } from './roc.js';
import type { FieldValue, HdataRecord, RdataRecord } from '../xml/daily-reader.js';

export type Emit = (f: FindingInput) => void;

export interface RuleOptions {
  /** 上傳日期: h16's first seven digits must equal it. */
  uploadDate?: CalendarDate;
  /**
   * Remembers 表七 correction keys across records (hash → first hdata) to warn about repeats
   * inside one file. Pass the same table for every record of a file.
   */
  keys?: KeyMemory;
  /** Called with a record's hdata and the earlier hdata of its key, just before DUPLICATE_KEY is emitted. */
  onDuplicateKey?: (hdata: number, first: number) => void;
  /**
   * The record's correction key as a number for {@link keys} (default: a hash of the key fields'
   * values), for a caller that hashes keys its own way for other records too.
   */
  keyHash?: (rec: HdataRecord) => number;
}

/** What {@link RuleOptions.keys} needs (a {@link KeyTable}). */
export interface KeyMemory {
  /** The hdata stored for `key`, or — storing `hdata` for it — undefined. */
  getOrAdd(key: number, hdata: number): number | undefined;
}

/** The keys a checker has seen, to carry on in another thread. */
export interface KeyTableState {
  /** Slot i: a key (0: empty, a key of 0 stored as -1), and its first hdata. */
  keys: Float64Array;
  hdata: Int32Array;
  count: number;
}

/**
 * Keys seen so far (hash → first hdata), in open addressing over typed arrays: 12 bytes a slot, at
 * most half full (a day of 250,000 orders: 6 MB).
 */
export class KeyTable implements KeyMemory {
  private keys: Float64Array;
  private hdata: Int32Array;
  private count: number;

  constructor(state?: KeyTableState) {
    this.keys = state?.keys ?? new Float64Array(1 << 14);
    this.hdata = state?.hdata ?? new Int32Array(1 << 14);
    this.count = state?.count ?? 0;
  }

  get state(): KeyTableState {
    return { keys: this.keys, hdata: this.hdata, count: this.count };
  }

  /** The slot of `key`, or of the empty slot where it would go. */
  private find(key: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    // 0 marks an empty slot; a key of 0 is stored as -1 (keys are non-negative).
    const k = key === 0 ? -1 : key;
    for (let i = (key ^ (key / 0x100000000)) & mask; ; i = (i + 1) & mask) {
      const h = keys[i]!;
      if (h === 0 || h === k) return i;
    }
  }

  get(key: number): number | undefined {
    const i = this.find(key);
    return this.keys[i] === 0 ? undefined : this.hdata[i];
  }

  set(key: number, hdata: number): void {
    if (this.getOrAdd(key, hdata) !== undefined) this.hdata[this.find(key)] = hdata;
  }

  getOrAdd(key: number, hdata: number): number | undefined {
    let i = this.find(key);
    if (this.keys[i] !== 0) return this.hdata[i];
    if ((this.count + 1) * 2 > this.keys.length) {
      this.rehash();
      i = this.find(key);
    }
    this.keys[i] = key === 0 ? -1 : key;
    this.hdata[i] = hdata;
    this.count++;
    return undefined;
  }

  private rehash(): void {
    const keys = this.keys;
    const hdata = this.hdata;
    this.keys = new Float64Array(keys.length * 2);
    this.hdata = new Int32Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) {
      const h = keys[i]!;
      if (h === 0) continue;
      const j = this.find(h === -1 ? 0 : h);
      this.keys[j] = h;
      this.hdata[j] = hdata[i]!;
    }
  }
}

/** Length by NHI's rule: ASCII 1, any other character (CJK, full-width) 4. */
export function nhiLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0xdc00 || c > 0xdfff) n += 4;
  }
  return n;
}

const hIx = (id: HFieldId) => H_INDEX.get(id)!;
const rIx = (id: RFieldId) => R_INDEX.get(id)!;
const H = Object.fromEntries(H_FIELDS.map((f) => [f.id, hIx(f.id as HFieldId)])) as Record<HFieldId, number>;
const R = Object.fromEntries(R_FIELDS.map((f) => [f.id, rIx(f.id as RFieldId)])) as Record<RFieldId, number>;

const INSTITUTION = /^[0-9A-Za-z]{10}$/;
const ORDER_CODE = /^[0-9A-Z]{5,12}$/;
const VISIT_SEQ = /^[0-9A-Z]{4}$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const BODY_PARTS = new Set(CODE_LISTS.h25.map((e) => e.code));

function hv(rec: HdataRecord, id: HFieldId): string | undefined {
  return rec.fields[H[id]]?.value;
}
function rv(r: RdataRecord, id: RFieldId): string | undefined {
  return r.fields[R[id]]?.value;
}

/** `/^[0-9]+$/.test(v)`, without the regular expression. */
function isDigits(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const compiledConditions = new WeakMap<Condition, Predicate>();

/** Whether a condition of 表一 holds for a record (compiled once per condition, see {@link compile}). */
export function evalCondition(cond: Condition, rec: HdataRecord): boolean {
  let p = compiledConditions.get(cond);
  if (!p) compiledConditions.set(cond, (p = compile(cond)));
  return p(rec);
}

/** Reports a value that failed its field's check; returns false (the value is unusable). */
function failValue(emit: Emit, def: FieldDef, fv: FieldValue, where: { hdata: number; rdata: number | null }, code: FindingCode, detail?: string, extra: Partial<FindingInput> = {}): false {
  // Person IDs are masked by the validator (StreamingValidator.add) unless showIds: the portal's check file needs them raw.
  emit({ code, field: def.id, line: fv.line, column: fv.column, hdata: where.hdata, rdata: where.rdata, ...(detail ? { detail } : {}), value: fv.value, ...extra });
  return false;
}

/** Checks one field value by the kind of its field. Returns false when the value is unusable. */
export function checkValue(def: FieldDef, fv: FieldValue, emit: Emit, where: { hdata: number; rdata: number | null }): boolean {
  const v = fv.value;
  const kind = def.kind;
  if (kind.type === 'text') {
    // nhiLength is at most 4 per UTF-16 unit: short values need no count.
    if (v.length * 4 <= def.maxLength) return true;
    const len = nhiLength(v);
    if (len > def.maxLength) return failValue(emit, def, fv, where, 'FIELD_LENGTH', `${len} > ${def.maxLength}`, { value: v.slice(0, 20) + '…' });
    return true;
  }
  if (def.type === '9' && !isDigits(v)) return failValue(emit, def, fv, where, 'FIELD_TYPE');
  switch (kind.type) {
    case 'code':
      if (!isCode(kind.list, v)) {
        const nhi = def.id === 'h6' ? '21' : def.id === 'h8' ? '24' : undefined;
        return failValue(emit, def, fv, where, 'FIELD_CODE', undefined, nhi ? { nhiCode: nhi } : {});
      }
      return true;
    case 'rocDate': {
      const r = parseRocDate(v, kind.negative);
      if (!r.ok) return failValue(emit, def, fv, where, r.reason === 'format' ? 'DATE_FORMAT' : 'DATE_CALENDAR', r.reason === 'format' ? `expected YYYMMDD${kind.negative ? ' (−YY for years before 民國)' : ''}` : undefined);
      return true;
    }
    case 'rocDateTime': {
      const r = parseRocDateTime(v, kind.short, kind.negative);
      if (!r.ok) return failValue(emit, def, fv, where, r.reason === 'format' ? 'DATE_FORMAT' : 'DATE_CALENDAR', r.reason === 'format' ? `expected YYYMMDDHHMMSS${kind.short ? ' or YYYMMDDHHMM' : ''}` : undefined);
      return true;
    }
    case 'rocYearMonth': {
      const r = parseRocYearMonth(v);
      if (!r.ok) return failValue(emit, def, fv, where, r.reason === 'format' ? 'DATE_FORMAT' : 'DATE_CALENDAR', 'expected YYYMM');
      return true;
    }
    case 'personId': {
      if (kind.institution && isInstitutionCode(v)) return true;
      const c = checkPersonId(v);
      if (c.ok) return true;
      if (c.reason === 'checksum') return failValue(emit, def, fv, where, 'PERSON_ID_CHECKSUM');
      if (c.reason === 'lowercase') return failValue(emit, def, fv, where, 'PERSON_ID_FORMAT', 'the first letter must be uppercase');
      return failValue(emit, def, fv, where, 'PERSON_ID_FORMAT', kind.institution ? 'expected a national ID, a resident permit number or a 10-character institution code' : undefined);
    }
    case 'institution':
      return INSTITUTION.test(v) ? true : failValue(emit, def, fv, where, 'INSTITUTION_CODE', `${v.length} characters`);
    case 'orderCode':
      return ORDER_CODE.test(v) ? true : failValue(emit, def, fv, where, 'ORDER_CODE_FORMAT', /[a-z]/.test(v) ? 'write letters in capitals' : undefined);
    case 'visitSeq':
      return VISIT_SEQ.test(v) ? true : failValue(emit, def, fv, where, 'VISIT_SEQ');
    case 'newbornMark':
      return NEWBORN_MARK.test(v) ? true : failValue(emit, def, fv, where, 'NEWBORN_MARK');
    case 'bodyParts': {
      if (v.length > def.maxLength) return failValue(emit, def, fv, where, 'BODY_PART', `at most ${def.maxLength} letters`);
      for (const ch of v) if (!BODY_PARTS.has(ch)) return failValue(emit, def, fv, where, 'BODY_PART', `“${ch}” is not a body-part code`);
      return true;
    }
    case 'digits':
      if (!isDigits(v) || v.length > def.maxLength) return failValue(emit, def, fv, where, 'FIELD_TYPE', v.length > def.maxLength ? `at most ${def.maxLength} digits` : undefined);
      return true;
  }
}

/**
 * The last value of each field that passed its check. A field's check depends on its value only,
 * and daily files repeat values (h3, h11, h26, r9, r12 …), so a repeat needs no second check.
 */
const H_PASSED: Array<string | undefined> = new Array(H_FIELDS.length).fill(undefined);
const R_PASSED: Array<string | undefined> = new Array(R_FIELDS.length).fill(undefined);

/** Where a value is, for checkValue (reused: checkValue copies what it reports). */
const WHERE: { hdata: number; rdata: number | null } = { hdata: 0, rdata: null };

function checkH(i: number, fv: FieldValue, emit: Emit, hdata: number): boolean {
  const v = fv.value;
  if (v === H_PASSED[i]) return true;
  WHERE.hdata = hdata;
  WHERE.rdata = null;
  if (!checkValue(H_FIELDS[i]!, fv, emit, WHERE)) return false;
  H_PASSED[i] = v;
  return true;
}

function checkR(i: number, fv: FieldValue, emit: Emit, hdata: number, rdata: number): boolean {
  const v = fv.value;
  if (v === R_PASSED[i]) return true;
  WHERE.hdata = hdata;
  WHERE.rdata = rdata;
  if (!checkValue(R_FIELDS[i]!, fv, emit, WHERE)) return false;
  R_PASSED[i] = v;
  return true;
}

/** FNV-1a over the key fields, as a 52-bit number (collisions only risk a spurious warning). */
function keyHash(rec: HdataRecord): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let k = 0; k < KEY_INDEX.length; k++) {
    const v = rec.fields[KEY_INDEX[k]!]?.value ?? '';
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    }
    h1 = Math.imul(h1 ^ 0x1f, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ 0x1f, 0x5bd1e995) >>> 0;
  }
  return (h2 & 0xfffff) * 0x100000000 + h1;
}
const KEY_INDEX: readonly number[] = CORRECTION_KEY.map((id) => H[id]);

/** The 表七 correction key of a record as text (for portal bookkeeping). */
export function correctionKey(rec: HdataRecord): string {
  let k = rec.fields[KEY_INDEX[0]!]?.value ?? '';
  for (let i = 1; i < KEY_INDEX.length; i++) k += '|' + (rec.fields[KEY_INDEX[i]!]?.value ?? '');
  return k;
}

/** The fields a condition reads. */
function conditionFields(cond: Condition, into: Set<string>): Set<string> {
  if ('all' in cond) cond.all.forEach((c) => conditionFields(c, into));
  else if ('any' in cond) cond.any.forEach((c) => conditionFields(c, into));
  else if ('orderGroup' in cond) into.add('h15');
  else into.add(cond.field);
  return into;
}

/**
 * The fields whose values a rule reads besides their own check: the conditions of 表一, the
 * cross-field rules of {@link checkRecord} and the item tables. Any other field's value is read
 * only by its own check (and by the correction-key hash): records that differ only there, in values
 * that pass, get the same findings. Keep this list with the rules: a rule that reads another field
 * adds it here.
 */
export const READ_ACROSS: ReadonlySet<string> = (() => {
  const read = new Set<string>(['h1', 'h4', 'h10', 'h11', 'h13', 'h15', 'h16', 'h20', 'h23', 'h24', 'r1', 'r2', 'r3', 'r4', 'r4-1', 'r5', 'r7']);
  for (const f of [...H_FIELDS, ...R_FIELDS]) if (f.required.kind === 'when') conditionFields(f.required.when, read);
  return read;
})();

/** A condition compiled to a predicate on the record's header: fields outside the header read as empty. */
type Predicate = (rec: HdataRecord) => boolean;

function compile(cond: Condition): Predicate {
  if ('all' in cond) {
    const parts = cond.all.map(compile);
    return (rec) => parts.every((p) => p(rec));
  }
  if ('any' in cond) {
    const parts = cond.any.map(compile);
    return (rec) => parts.some((p) => p(rec));
  }
  if ('orderGroup' in cond) {
    const group = cond.orderGroup;
    const h15 = H.h15;
    return (rec) => inOrderGroup(group, rec.fields[h15]?.value);
  }
  const list = cond.in;
  if (!cond.field.startsWith('h')) {
    const empty = list.includes('');
    return () => empty;
  }
  const ix = H_INDEX.get(cond.field)!;
  return (rec) => list.includes(rec.fields[ix]?.value ?? '');
}

/** Each field's requirement, ready to evaluate: `always`, `optional`, or a compiled condition. */
interface CompiledRequirement {
  def: FieldDef;
  always: boolean;
  when: Predicate | null;
}
const compileRequirement = (def: FieldDef): CompiledRequirement => ({ def, always: def.required.kind === 'always', when: def.required.kind === 'when' ? compile(def.required.when) : null });
const H_REQ: readonly CompiledRequirement[] = H_FIELDS.map(compileRequirement);
const R_REQ: readonly CompiledRequirement[] = R_FIELDS.map(compileRequirement);

/** Reports a missing field whose requirement holds (`at` is where the record or item starts). */
function missing(req: CompiledRequirement, emit: Emit, at: { hdata: number; line: number; column: number }, rdata: number | null): void {
  const def = req.def;
  const r = def.required;
  if (r.kind === 'always') emit({ code: 'FIELD_REQUIRED', field: def.id, ...at, rdata });
  else if (r.kind === 'when') emit({ code: r.severity === 'error' ? 'FIELD_REQUIRED_IF' : 'FIELD_ADVISED', field: def.id, ...at, rdata, detail: r.note.en + '; ' + r.note.zh });
}

/** Where a header field (or, absent, its record) is, for a finding. */
function hAt(rec: HdataRecord, id: HFieldId): { hdata: number; rdata: null; field: string; line: number; column: number } {
  const fv = rec.fields[H[id]];
  return { hdata: rec.index, rdata: null, field: id, line: fv?.line ?? rec.line, column: fv?.column ?? rec.column };
}

/** A calendar date as one sortable number. */
const dayKey = (d: CalendarDate) => d.year * 10000 + d.month * 100 + d.day;

/** A record's calendar date from a field that passed its check (YYYMMDD, or a date-time). */
function dateOf(v: string): CalendarDate | undefined {
  const r = v.length === 7 ? parseRocDate(v) : parseRocDateTime(v, true);
  return r.ok ? r.value : undefined;
}

let uploadDateSeen: CalendarDate | undefined;
let uploadDateText = '';
function uploadDateAsRoc(d: CalendarDate): string {
  if (d !== uploadDateSeen) {
    uploadDateText = formatRocDate(d);
    uploadDateSeen = d;
  }
  return uploadDateText;
}

const I_H1 = H.h1, I_H4 = H.h4, I_H10 = H.h10, I_H11 = H.h11, I_H13 = H.h13, I_H15 = H.h15, I_H16 = H.h16, I_H20 = H.h20, I_H23 = H.h23, I_H24 = H.h24;

/** Runs every rule on one hdata. */
export function checkRecord(rec: HdataRecord, emit: Emit, options: RuleOptions = {}): void {
  const hdata = rec.index;
  const fields = rec.fields;
  // Which header fields hold a usable value (bit i for H_FIELDS[i]; 30 fields fit in 32 bits).
  let okH = 0;
  let recAt: { hdata: number; line: number; column: number } | undefined;

  // Header fields, one by one.
  for (let i = 0; i < H_FIELDS.length; i++) {
    const fv = fields[i];
    if (fv === undefined) {
      const req = H_REQ[i]!;
      if (req.always || (req.when !== null && req.when(rec))) missing(req, emit, (recAt ??= { hdata, line: rec.line, column: rec.column }), null);
      continue;
    }
    if (checkH(i, fv, emit, hdata)) okH |= 1 << i;
  }

  const h1 = (okH & (1 << I_H1)) !== 0 ? fields[I_H1]!.value : undefined;
  const h15 = (okH & (1 << I_H15)) !== 0 ? fields[I_H15]!.value : undefined;

  // h4 執行年月 vs h20 (NHIA 10).
  if ((okH & (1 << I_H4)) !== 0 && (okH & (1 << I_H20)) !== 0) {
    const h4 = fields[I_H4]!.value;
    const h20 = fields[I_H20]!.value;
    if (h4 !== h20.slice(0, 5)) emit({ code: 'EXEC_MONTH_MISMATCH', ...hAt(rec, 'h4'), value: h4, detail: `h20 is ${h20.slice(0, 7)}, so h4 should be ${h20.slice(0, 5)}` });
  }

  // Newborn dependants (NHIA 11, 12, 13).
  const h23 = fields[I_H23];
  const h24 = fields[I_H24];
  if (h24 && !h23) emit({ code: 'NEWBORN_DATE_REQUIRED', ...hAt(rec, 'h23') });
  if (h23 && !h24) emit({ code: 'NEWBORN_MARK_REQUIRED', ...hAt(rec, 'h24') });
  const born = (okH & (1 << I_H23)) !== 0 ? dateOf(h23!.value) : undefined;
  if (born) {
    const visit = ((okH & (1 << I_H11)) !== 0 ? dateOf(fields[I_H11]!.value) : undefined) ?? ((okH & (1 << I_H13)) !== 0 ? dateOf(fields[I_H13]!.value) : undefined) ?? ((okH & (1 << I_H20)) !== 0 ? dateOf(fields[I_H20]!.value) : undefined);
    if (visit) {
      const age = daysBetween(born, visit);
      if (age > 60) emit({ code: 'NEWBORN_AGE', ...hAt(rec, 'h23'), detail: `${age} days between h23 and the visit date` });
      else if (age < 0) emit({ code: 'DATE_SEQUENCE', ...hAt(rec, 'h23'), detail: 'the newborn’s birth date is after the visit date' });
    }
  }

  // 醫令代碼 vs 報告類別 (NHIA 30).
  if (h1 && h15) {
    if (h1 === '4') {
      if (!JOINT_IMPLANT_ORDERS.includes(h15)) emit({ code: 'ORDER_REPORT_TYPE', ...hAt(rec, 'h15'), value: h15, detail: `report type 4 allows only ${JOINT_IMPLANT_ORDERS.join(', ')} (表四)` });
    } else {
      const info = lookupOrder(h15);
      if (info && info.reportType !== h1) {
        emit({ code: 'ORDER_REPORT_TYPE', ...hAt(rec, 'h15'), value: h15, detail: `${info.table} gives report type ${info.reportType} for ${h15} ${info.name}, h1 is ${h1}` });
      } else if (!info) {
        emit({ code: 'ORDER_NOT_LISTED', ...hAt(rec, 'h15'), value: h15 });
      }
    }
  }

  // h16 vs 上傳日期 (NHIA 22).
  if (options.uploadDate && (okH & (1 << I_H16)) !== 0) {
    const want = uploadDateAsRoc(options.uploadDate);
    const h16 = fields[I_H16]!.value;
    if (h16.slice(0, 7) !== want) emit({ code: 'UPLOAD_DATE_MISMATCH', ...hAt(rec, 'h16'), value: h16, detail: `upload date is ${want}` });
  }

  // Dates out of sequence (advice). A field that passed its check is a date.
  if ((okH & (1 << I_H20)) !== 0 && (okH & (1 << I_H16)) !== 0 && dateValue(rec, 'h20') > dateValue(rec, 'h16')) emit({ code: 'DATE_SEQUENCE', ...hAt(rec, 'h20'), detail: 'h20 is later than the upload time h16' });
  if ((okH & (1 << I_H10)) !== 0 && (okH & (1 << I_H20)) !== 0) {
    const h10 = dateOf(fields[I_H10]!.value);
    const h20 = dateOf(fields[I_H20]!.value);
    if (h10 && h20 && dayKey(h10) > dayKey(h20)) emit({ code: 'DATE_SEQUENCE', ...hAt(rec, 'h10'), detail: 'the birth date is after h20' });
  }

  // Items.
  checkItems(rec, h1, h15, emit);

  // Repeated correction key inside the file (advice; NHIA 25 on the portal).
  if (options.keys) {
    const first = options.keys.getOrAdd((options.keyHash ?? keyHash)(rec), hdata);
    if (first !== undefined) {
      options.onDuplicateKey?.(hdata, first);
      emit({ hdata, line: rec.line, column: rec.column, code: 'DUPLICATE_KEY', detail: `same key (h1–h10, h15, h20) as hdata ${first}` });
    }
  }
}

/** h16/h20 as a sortable number (YYYMMDDHHMMSS, 11-digit forms padded). */
function dateValue(rec: HdataRecord, id: HFieldId): number {
  const v = hv(rec, id)!;
  return Number((v.startsWith('-') ? '-' : '') + v.replace('-', '').padEnd(v.startsWith('-') ? 12 : 13, '0'));
}

/** r1 as a number written without leading zeros (r1 passed its check: 1–6 digits). */
function numberR1(v: string): string {
  return v.length === 1 || v.charCodeAt(0) !== 48 ? v : String(Number(v));
}

const I_R1 = R.r1, I_R3 = R.r3, I_R4_1 = R['r4-1'], I_R5 = R.r5, I_R6_1 = R['r6-1'], I_R6_2 = R['r6-2'];

function fAt(r: RdataRecord, hdata: number, id: RFieldId): { hdata: number; rdata: number; field: string; line: number; column: number } {
  const fv = r.fields[R[id]];
  return { hdata, rdata: r.index, field: id, line: fv?.line ?? r.line, column: fv?.column ?? r.column };
}

function checkItems(rec: HdataRecord, h1: string | undefined, h15: string | undefined, emit: Emit): void {
  const hdata = rec.index;
  const table = h15 ? orderItems(h15) : undefined;
  let seenR1: Map<string, number> | undefined;
  let sequenceBroken = false;
  const byR1 = new Map<string, RdataRecord>();
  // Which missing r-fields are required: the conditions read the header only, so once per hdata.
  let required = 0;
  for (let i = 0; i < R_REQ.length; i++) {
    const req = R_REQ[i]!;
    if (req.always || (req.when !== null && req.when(rec))) required |= 1 << i;
  }
  const strictPosNeg = h15 !== undefined && POS_NEG_STRICT_ORDERS.includes(h15);
  for (const r of rec.rdata) {
    const rFields = r.fields;
    let r1Ok = false;
    let absent = 0;
    for (let i = 0; i < R_FIELDS.length; i++) {
      const fv = rFields[i];
      if (fv === undefined) {
        absent |= 1 << i;
        continue;
      }
      const passed = checkR(i, fv, emit, hdata, r.index);
      if (i === I_R1) r1Ok = passed;
    }
    const r1 = r1Ok ? numberR1(rFields[I_R1]!.value) : undefined;
    const item: ItemSpec | undefined = r1 !== undefined && table ? table.byR1.get(r1) : undefined;

    // Requirements, with the exemptions the item tables grant.
    const missingRequired = absent & required;
    if (missingRequired !== 0) {
      const rAt = { hdata, rdata: r.index, line: r.line, column: r.column };
      for (let i = 0; i < R_FIELDS.length; i++) {
        if ((missingRequired & (1 << i)) === 0) continue;
        const req = R_REQ[i]!;
        if (!req.always) {
          const exempt = (i === I_R5 && item?.units !== undefined && (item.units.length === 0 || item.units.includes(''))) || (i === I_R3 && item?.noMethod === true);
          if (exempt) continue;
        }
        missing(req, emit, rAt, r.index);
      }
    }
    if (h1 === '1' && !rFields[I_R6_1] && !rFields[I_R6_2] && !item?.noReferenceRange) {
      emit({ code: 'REFERENCE_RANGE_REQUIRED', ...fAt(r, hdata, 'r6-1') });
    }

    // r1 numbering.
    if (r1 !== undefined) {
      seenR1 ??= new Map<string, number>();
      const dup = seenR1.get(r1);
      if (dup !== undefined) emit({ code: 'R1_DUPLICATE', ...fAt(r, hdata, 'r1'), value: rv(r, 'r1')!, detail: `also rdata ${dup}` });
      else seenR1.set(r1, r.index);
      byR1.set(r1, r);
      if (table) {
        if (!item) {
          const allowed = [...table.byR1.keys()].join(', ');
          if (table.binding === 'fixed') emit({ code: 'ITEM_NOT_IN_TABLE', ...fAt(r, hdata, 'r1'), value: rv(r, 'r1')!, detail: `${h15} allows r1 ${allowed} (${table.tables.map((t) => t.table).join(', ')})` });
          else emit({ code: 'ITEM_NOT_IN_GUIDE', ...fAt(r, hdata, 'r1'), value: rv(r, 'r1')!, detail: `表九 numbers ${h15} as ${allowed}` });
        }
      } else if (!sequenceBroken && Number(r1) !== r.index) {
        sequenceBroken = true;
        emit({ code: 'R1_SEQUENCE', ...fAt(r, hdata, 'r1'), value: rv(r, 'r1')!, detail: `rdata ${r.index} should have r1 = ${r.index}` });
      }
    }

    // r4-1 limited to 1/0 for the COVID orders.
    if (strictPosNeg) {
      const r41 = rFields[I_R4_1]?.value;
      if (r41 !== undefined && r41 !== '0' && r41 !== '1') emit({ code: 'POS_NEG_VALUE', ...fAt(r, hdata, 'r4-1'), value: r41 });
    }

    if (item) checkItem(item, r, rec, h15!, emit, hdata);
  }

  if (table) {
    for (const it of table.byR1.values()) {
      if (it.requiredWhen && !byR1.has(it.r1)) {
        const trigger = byR1.get(it.requiredWhen.r1);
        const tv = trigger ? rv(trigger, 'r4') : undefined;
        if (tv !== undefined && tv.includes(it.requiredWhen.valueIncludes)) {
          emit({ code: 'ITEM_MISSING', hdata, rdata: null, line: rec.line, column: rec.column, field: 'r1', detail: `r1 ${it.r1} ${it.name} is required when r1 ${it.requiredWhen.r1} is ${it.requiredWhen.valueIncludes}` });
        }
      }
    }
    for (const r1 of table.expectedItems) {
      if (!byR1.has(r1)) {
        const it = table.byR1.get(r1);
        emit({ code: 'ITEM_EXPECTED', hdata, rdata: null, line: rec.line, column: rec.column, field: 'r1', detail: `r1 ${r1}${it ? ' ' + it.name : ''}` });
      }
    }
    for (const id of table.requiredHeader) {
      if (!rec.fields[H[id as HFieldId]]) emit({ code: 'FIELD_REQUIRED_IF', hdata, rdata: null, line: rec.line, column: rec.column, field: id, detail: `${h15} requires it (${table.tables.map((t) => t.table).join(', ')})` });
    }
  }
}

/**
 * How an item's result value (r4) and report text (r7) take part in the rules beyond their own
 * checks — for a caller that remembers which records were clean: not at all (`none`), as a number
 * with at most `decimals` decimals (-1: any), or in some other way (`more`: value lists, dates,
 * codes, barcodes, report values, or r4 deciding whether another item is required). `r1` is a
 * value that passed its check. Keep in step with {@link checkItems} and {@link checkItem}.
 */
export function itemValueUse(h15: string | undefined, r1: string | undefined): 'none' | 'more' | { decimals: number } {
  const table = h15 ? orderItems(h15) : undefined;
  if (!table || r1 === undefined) return 'none';
  const n = numberR1(r1);
  for (const it of table.byR1.values()) if (it.requiredWhen?.r1 === n) return 'more';
  const item = table.byR1.get(n);
  if (!item) return 'none';
  if (item.values || item.dateValue || item.institutionValue || item.surgicalApproach || item.reportValues) return 'more';
  if (item.numeric || item.decimals !== undefined) return { decimals: item.decimals ?? -1 };
  return 'none';
}

const NORMALISED_UNITS = new WeakMap<ItemSpec, readonly string[]>();
function normalisedUnits(item: ItemSpec): readonly string[] {
  let u = NORMALISED_UNITS.get(item);
  if (!u) NORMALISED_UNITS.set(item, (u = item.units!.map(normaliseUnit)));
  return u;
}

function checkItem(item: ItemSpec, r: RdataRecord, rec: HdataRecord, h15: string, emit: Emit, hdata: number): void {
  const guide = item.table === '表九';
  const r4 = rv(r, 'r4');
  if (r4 !== undefined) {
    if (item.values) {
      const okValue = item.multiCode ? r4.length > 0 && [...r4].every((c) => item.values!.includes(c)) && new Set(r4).size === r4.length : item.values.includes(r4);
      if (!okValue) {
        emit({ code: guide ? 'ITEM_VALUE_GUIDE' : 'ITEM_VALUE', ...fAt(r, hdata, 'r4'), value: r4, detail: `${item.table} r1 ${item.r1} ${item.name}: ${item.values.join(' / ')}` });
      }
    }
    if (item.numeric || item.decimals !== undefined) {
      if (!NUMBER.test(r4)) emit({ code: 'ITEM_NUMERIC', ...fAt(r, hdata, 'r4'), value: r4, detail: `${item.table} r1 ${item.r1} ${item.name}` });
      else if (item.decimals !== undefined) {
        const dec = r4.includes('.') ? r4.length - r4.indexOf('.') - 1 : 0;
        if (dec > item.decimals) emit({ code: 'ITEM_DECIMALS', ...fAt(r, hdata, 'r4'), value: r4, detail: `at most ${item.decimals} decimal${item.decimals === 1 ? '' : 's'} (${item.table} ${item.name})` });
      }
    }
    if (item.dateValue && !parseRocDate(r4).ok) emit({ code: 'ITEM_DATE', ...fAt(r, hdata, 'r4'), value: r4 });
    if (item.institutionValue && !INSTITUTION.test(r4)) emit({ code: 'ITEM_VALUE', ...fAt(r, hdata, 'r4'), value: r4, detail: 'a 10-character 醫事機構代碼' });
  }
  if (item.units !== undefined) {
    const r5 = rv(r, 'r5');
    // A unit written exactly as listed needs no normalising.
    if (r5 !== undefined && !item.units.includes(r5) && !normalisedUnits(item).includes(normaliseUnit(r5))) {
      const expected = item.units.length === 0 || (item.units.length === 1 && item.units[0] === '') ? 'no unit (無)' : item.units.filter((u) => u).join(' / ');
      emit({ code: item.table === '表五' ? 'ITEM_UNIT' : 'ITEM_UNIT_GUIDE', ...fAt(r, hdata, 'r5'), value: r5, detail: `${item.table} r1 ${item.r1} ${item.name}: ${expected}` });
    }
  }
  if (item.posNeg) {
    const v = rv(r, 'r4-1');
    if (v !== undefined && !item.posNeg.includes(v)) emit({ code: 'POS_NEG_VALUE', ...fAt(r, hdata, 'r4-1'), value: v });
  }
  if (item.reportValues) {
    const r7 = rv(r, 'r7');
    if (r7 !== undefined && !item.reportValues.includes(r7)) emit({ code: 'ITEM_VALUE', ...fAt(r, hdata, 'r7'), value: r7, detail: `${item.table} ${item.name}: ${item.reportValues.join(' / ')}` });
  }
  if (item.noMethod) {
    const r3 = rv(r, 'r3');
    if (r3 !== undefined && r3.toUpperCase() !== 'X') emit({ code: 'ITEM_METHOD_NOT_EMPTY', ...fAt(r, hdata, 'r3'), value: r3 });
  }
  if (item.table === '表五') {
    const r2 = rv(r, 'r2');
    if (r2 !== undefined && r2.replace(/\s+/g, ' ').trim().toLowerCase() !== item.name.toLowerCase()) {
      emit({ code: 'ITEM_NAME', ...fAt(r, hdata, 'r2'), value: r2, detail: `表五 r1 ${item.r1} is “${item.name}”` });
    }
  }
  if (item.surgicalApproach) checkSurgicalApproach(r, rec, h15, emit, hdata);
}

function checkSurgicalApproach(r: RdataRecord, rec: HdataRecord, h15: string, emit: Emit, hdata: number): void {
  const r3 = rv(r, 'r3');
  const proc = JOINT_PROCEDURES[h15];
  if (r3 === undefined) {
    emit({ code: 'FIELD_REQUIRED_IF', ...fAt(r, hdata, 'r3'), detail: 'side, procedure and approach are required for surgical approach items (表五)' });
  } else if (proc) {
    const approaches: readonly string[] = JOINT_APPROACHES[proc.joint];
    const problems: string[] = [];
    if (r3.length !== 3) problems.push('three characters expected');
    else {
      if (!(JOINT_SIDES as readonly string[]).includes(r3[0]!)) problems.push(`side “${r3[0]}” (L or R)`);
      if (!proc.procedures.includes(r3[1]!)) problems.push(`procedure “${r3[1]}” (${h15}: ${proc.procedures.join(' or ')})`);
      if (!approaches.includes(r3[2]!)) problems.push(`approach “${r3[2]}” (${proc.joint}: ${approaches.join(', ')})`);
    }
    if (problems.length) emit({ code: 'JOINT_APPROACH', ...fAt(r, hdata, 'r3'), value: r3, detail: problems.join('; ') });
  }
  const r4 = rv(r, 'r4');
  if (r4 === undefined) return;
  const codes = r4.split(';');
  if (codes.length > MAX_IMPLANT_BARCODES) emit({ code: 'IMPLANT_BARCODE_COUNT', ...fAt(r, hdata, 'r4'), detail: `${codes.length} barcodes` });
  const h4 = rec.fields[H.h4]?.value;
  for (const code of codes) {
    const problem = checkBarcode(code, h4);
    if (problem) emit({ ...fAt(r, hdata, 'r4'), ...problem, value: code });
  }
}

/** One implant barcode: GS1 (starts with “(01)”), HIBCC (starts with “+”) or a vendor code. */
export function checkBarcode(code: string, feeYearMonth?: string): { code: FindingCode; detail?: string } | undefined {
  if (code.length === 0 || /\s/.test(code)) return { code: 'IMPLANT_BARCODE_EMPTY', detail: code.length === 0 ? 'empty item between semicolons' : 'spaces inside a barcode' };
  if (code.startsWith('(')) {
    if (/[^0-9A-Za-z()]/.test(code)) return { code: 'IMPLANT_GS1_SYMBOL' };
    const parts = [...code.matchAll(/\((\d{2,4})\)([^(]*)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== code) return { code: 'IMPLANT_GS1_SYMBOL', detail: 'unbalanced parentheses' };
    const gtin = parts.find((p) => p[1] === '01');
    if (!gtin) return { code: 'IMPLANT_GS1_LENGTH', detail: 'no (01) GTIN' };
    if (!/^\d+$/.test(gtin[2]!)) return { code: 'IMPLANT_GS1_NUMERIC', detail: '(01) must be digits' };
    if (gtin[2]!.length !== 14) return { code: 'IMPLANT_GS1_LENGTH', detail: `(01) has ${gtin[2]!.length} digits` };
    const exp = parts.find((p) => p[1] === '17');
    if (exp) {
      const v = exp[2]!;
      if (!/^\d{6}$/.test(v)) return { code: 'IMPLANT_GS1_DATE', detail: '(17) must be YYMMDD' };
      const month = Number(v.slice(2, 4));
      const day = Number(v.slice(4, 6));
      if (month < 1 || month > 12 || day > 31) return { code: 'IMPLANT_GS1_DATE', detail: '(17) must be YYMMDD' };
      if (feeYearMonth && /^\d{5}$/.test(feeYearMonth)) {
        const yyyymm = (2000 + Number(v.slice(0, 2))) * 100 + month;
        const fee = (Number(feeYearMonth.slice(0, 3)) + 1911) * 100 + Number(feeYearMonth.slice(3, 5));
        if (yyyymm < fee) return { code: 'IMPLANT_GS1_EXPIRED', detail: `expires 20${v.slice(0, 2)}-${v.slice(2, 4)}, before the execution month (h4)` };
      }
    }
    return undefined;
  }
  if (code.startsWith('+')) {
    if (!/^\+[0-9A-Z$/.%\- ]+$/.test(code) || code.length < 4) return { code: 'IMPLANT_HIBCC_CHECK', detail: 'not a HIBCC barcode' };
    return hibccCheckOk(code) ? undefined : { code: 'IMPLANT_HIBCC_CHECK' };
  }
  if (!/^[0-9A-Za-z-]+$/.test(code)) return { code: 'IMPLANT_VENDOR_FORMAT' };
  return undefined;
}

const HIBCC_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%';

/** HIBCC: the last character is the sum of the values of all others, modulo 43. */
export function hibccCheckOk(code: string): boolean {
  let sum = 0;
  for (let i = 0; i < code.length - 1; i++) {
    const v = HIBCC_CHARS.indexOf(code[i]!);
    if (v < 0) return false;
    sum += v;
  }
  return HIBCC_CHARS[sum % 43] === code[code.length - 1];
}

