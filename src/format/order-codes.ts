/**
 * 醫令代碼 → 報告類別 (表三 and 表四), and the order groups the rules name.
 */
import { ORDER_CODES } from './generated/order-codes.js';
import type { OrderGroup } from './fields.js';

export interface OrderInfo {
  code: string;
  reportType: '1' | '2' | '3' | '4';
  name: string;
  table: '表三' | '表四' | '表八' | '表十一';
}

const byCode = new Map<string, OrderInfo>();
for (const [code, reportType, name, table] of ORDER_CODES) byCode.set(code, { code, reportType, name, table });

/** Codes outside 表三 that the spec names for care-program data (表八 DM/CKD, 表十一 HIV). */
const PROGRAM_CODES: Array<[string, string, OrderInfo['table']]> = [
  ['Y00000', '論質追蹤', '表八'],
  ['Y00001', 'eGFR', '表八'],
  ['Y00002', 'U PCR/UACR', '表八'],
  ['Y00003', '足底檢查', '表八'],
  ['Y00004', '身高', '表八'],
  ['Y00005', '體重', '表八'],
  ['Y00006', '血壓', '表八'],
  ['Y00007', '抽菸/戒菸服務', '表八'],
  ['Y00008', 'CKD階段', '表八'],
  ['Y00009', '伴隨疾病/家族病史', '表八'],
  ['Y00010', '結案資料', '表八'],
  ['Z0000', 'CD4細胞數', '表十一'],
];
for (const [code, name, table] of PROGRAM_CODES) byCode.set(code, { code, reportType: '1', name, table });

/** Adult health check orders are the 表三 code with a leading Z (e.g. Z09006C), as 表八 allows. */
export function lookupOrder(code: string): OrderInfo | undefined {
  const direct = byCode.get(code);
  if (direct) return direct;
  if (code.length === 7 && code[0] === 'Z') {
    const base = byCode.get(code.slice(1));
    if (base) return { ...base, code, name: `${base.name}（成人健檢）` };
  }
  return undefined;
}

/** 表四: the only orders allowed with 報告類別 4. */
export const JOINT_IMPLANT_ORDERS: readonly string[] = ORDER_CODES.filter((e) => e[3] === '表四').map((e) => e[0]);

/** Orders for which r4-1 (陽陰性判斷) is required; the last two accept only 1 or 0. */
export const POS_NEG_ORDERS: readonly string[] = ['14051C', '12185C', '12215C', '14084C'];
export const POS_NEG_STRICT_ORDERS: readonly string[] = ['12215C', '14084C'];

/** CT and MRI orders (電腦斷層造影, 磁振造影), for which h25 診療部位 is required. */
export const CT_MRI_ORDERS: readonly string[] = ORDER_CODES.filter((e) => /^(電腦斷層造影|磁振造影)/.test(e[2])).map((e) => e[0]);

const groups: Record<OrderGroup, ReadonlySet<string>> = {
  'ct-mri': new Set(CT_MRI_ORDERS),
  'pos-neg': new Set(POS_NEG_ORDERS),
};

export function inOrderGroup(group: OrderGroup, code: string | undefined): boolean {
  return code !== undefined && groups[group].has(code);
}

export function orderCount(): number {
  return ORDER_CODES.length;
}
