/**
 * Synthetic, obviously fake records that pass every rule: for fixtures, the sandbox's demo, the
 * benchmark's generated day, and tests. Person IDs are checksum-valid but belong to nobody real.
 */
import { completePersonId } from './national-id.js';
import { formatRocDate, formatRocDateTime, formatRocYearMonth, type CalendarDate, type CalendarDateTime } from './roc.js';
import type { DailyRecord } from '../xml/builder.js';
import type { HFieldId, RFieldId } from './fields.js';

/** A small deterministic PRNG (mulberry32), so generated days are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DEMO_INSTITUTION = '3501200000';
export const DEMO_DOCTOR_ID = 'A123456789';
export const DEMO_STAFF_ID = completePersonId('B12345678');

const LETTERS = 'ABCDEFGHJKLMNPQRSTUVXYWZIO';

/** The n-th synthetic patient ID: letter + sex digit + 7 digits + checksum. */
export function syntheticPersonId(n: number): string {
  const letter = LETTERS[n % LETTERS.length]!;
  const sex = (Math.floor(n / LETTERS.length) % 2) + 1;
  const body = String(1000000 + (Math.floor(n / 52) % 9000000)).padStart(7, '0');
  return completePersonId(`${letter}${sex}${body}`);
}

interface LabItem {
  name: string;
  unit: string;
  low: number;
  high: number;
  decimals: number;
}

/** A few 表九 orders with their items, for realistic report type 1 data. */
const LAB_ORDERS: Array<{ order: string; items: LabItem[] }> = [
  { order: '09005C', items: [{ name: '飯前血糖 Glucose AC', unit: 'mg/dL', low: 70, high: 100, decimals: 0 }] },
  { order: '09001C', items: [{ name: '總膽固醇', unit: 'mg/dL', low: 0, high: 200, decimals: 0 }] },
  { order: '09015C', items: [{ name: 'CRE(肌酸酐)', unit: 'mg/dL', low: 0.6, high: 1.3, decimals: 2 }] },
  {
    order: '08011C',
    items: [
      { name: 'RBC 紅血球', unit: '10^6/uL', low: 4.2, high: 6.2, decimals: 2 },
      { name: 'Hemoglobin 血色素', unit: 'g/dL', low: 12, high: 18, decimals: 1 },
      { name: 'Platelet 血小板', unit: '10^3/uL', low: 150, high: 400, decimals: 0 },
      { name: 'WBC 白血球', unit: '10^3/uL', low: 4, high: 10, decimals: 1 },
      { name: 'Hematocrit 血球比容值', unit: '%', low: 37, high: 52, decimals: 1 },
      { name: 'MCV 平均血球容積', unit: 'fL', low: 80, high: 100, decimals: 1 },
      { name: 'MCH 平均血球色素值', unit: 'pg', low: 27, high: 33, decimals: 1 },
      { name: 'MCHC 平均血球色素濃度', unit: 'g/dL', low: 32, high: 36, decimals: 1 },
    ],
  },
  {
    order: '08013C',
    items: [
      { name: 'Neutrophil Seg. 嗜中性', unit: '%', low: 40, high: 75, decimals: 1 },
      { name: 'Lymphocyte 淋巴球', unit: '%', low: 20, high: 45, decimals: 1 },
      { name: 'Monocyte 單核球', unit: '%', low: 2, high: 10, decimals: 1 },
      { name: 'Eosinophil 嗜酸性白血球', unit: '%', low: 1, high: 6, decimals: 1 },
      { name: 'Basophil 嗜鹼性白血球', unit: '%', low: 0, high: 2, decimals: 1 },
    ],
  },
  { order: '09026C', items: [{ name: '血清麩胺酸丙酮酸轉氨基酶', unit: 'U/L', low: 0, high: 40, decimals: 0 }] },
  { order: '09006C', items: [{ name: '醣化血色素', unit: '%', low: 4, high: 6, decimals: 1 }] },
];

export interface SyntheticOptions {
  institution?: string;
  /** Sampling time (h20); h4 follows it. */
  sampledAt: CalendarDateTime;
  /** Upload time (h16). */
  uploadedAt: CalendarDateTime;
  patient?: number;
}

function visitHeader(o: SyntheticOptions, h1: string, order: string): Partial<Record<HFieldId, string>> {
  const d = o.sampledAt;
  const n = o.patient ?? 0;
  const day: CalendarDate = { year: d.year, month: d.month, day: d.day };
  const birth: CalendarDate = { year: 1950 + (n % 60), month: (n % 12) + 1, day: (n % 28) + 1 };
  const swipe: CalendarDateTime = { ...day, hour: Math.max(0, d.hour - 1), minute: d.minute, second: d.second };
  return {
    h1,
    h2: o.institution ?? DEMO_INSTITUTION,
    h3: '12',
    h4: formatRocYearMonth(d),
    h5: formatRocDateTime(swipe),
    h6: '01',
    h7: String((n % 9999) + 1).padStart(4, '0'),
    h8: '1',
    h9: syntheticPersonId(n),
    h10: formatRocDate(birth),
    h11: formatRocDate(day),
    h15: order,
    h16: formatRocDateTime(o.uploadedAt),
    h17: DEMO_DOCTOR_ID,
    h20: formatRocDateTime(d),
    h26: '0',
  };
}

/** A valid record of report type 1 (檢體檢驗) using one of a few 表九 orders. */
export function labRecord(o: SyntheticOptions, rand: () => number = prng(o.patient ?? 1), orderIndex?: number): DailyRecord {
  const spec = LAB_ORDERS[orderIndex ?? Math.floor(rand() * LAB_ORDERS.length) % LAB_ORDERS.length]!;
  const header = { ...visitHeader(o, '1', spec.order), h22: '血液' };
  const reportAt = formatRocDateTime({ ...o.sampledAt, hour: Math.min(23, o.sampledAt.hour + 1) });
  const items = spec.items.map((it, i) => {
    const value = it.low + (it.high - it.low) * (0.8 * rand() + 0.1);
    return {
      r1: String(i + 1),
      r2: it.name,
      r3: '自動化儀器分析',
      r4: value.toFixed(it.decimals),
      r5: it.unit,
      'r6-1': String(it.low),
      'r6-2': String(it.high),
      r9: DEMO_STAFF_ID,
      r10: reportAt,
      r12: '0',
    } satisfies Partial<Record<RFieldId, string>>;
  });
  return { header, items };
}

/** A valid imaging report (report type 2): chest X-ray 32001C. */
export function imagingRecord(o: SyntheticOptions): DailyRecord {
  return {
    header: { ...visitHeader(o, '2', '32001C'), h18: DEMO_DOCTOR_ID, h21: formatRocDateTime({ ...o.sampledAt, hour: Math.min(23, o.sampledAt.hour + 2) }) },
    items: [
      {
        r1: '1',
        r7: 'Chest PA view: no active lung lesion. 心臟大小正常，肺野清晰。',
        r10: formatRocDateTime({ ...o.sampledAt, hour: Math.min(23, o.sampledAt.hour + 2) }),
      },
    ],
  };
}

/** A valid pathology report (report type 3): 25003C surgical pathology. */
export function pathologyRecord(o: SyntheticOptions): DailyRecord {
  return {
    header: { ...visitHeader(o, '3', '25003C'), h18: DEMO_DOCTOR_ID, h22: '切片；皮膚' },
    items: [
      {
        r1: '1',
        r2: '外科病理',
        r3: 'H&E 染色',
        'r8-1': 'Skin, left forearm, excision: seborrheic keratosis. 切緣未見病灶。',
        r10: formatRocDateTime({ ...o.sampledAt, hour: Math.min(23, o.sampledAt.hour + 3) }),
      },
    ],
  };
}

/** A valid joint implant record (report type 4, 表五): total knee replacement 64164B. */
export function jointRecord(o: SyntheticOptions): DailyRecord {
  const header = { ...visitHeader(o, '4', '64164B'), h3: '22', h6: '05', h13: formatRocDate(o.sampledAt), h14: formatRocDate(o.uploadedAt) };
  delete header.h11;
  delete header.h26;
  return {
    header,
    items: [
      { r1: '1', r2: 'BH', r4: '170.3', r5: 'cm' },
      { r1: '2', r2: 'BW', r4: '76.76', r5: 'kg' },
      { r1: '3', r2: 'ASA', r4: '2' },
      { r1: '4', r2: 'Surgical Approach', r3: 'L11', r4: '(01)07613327029420(17)300912(10)HH7AJA91;7115-000520077T7W78' },
    ],
  };
}
