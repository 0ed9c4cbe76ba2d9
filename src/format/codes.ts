/**
 * Code lists of 表一 (format effective 114-01-01), as data. Labels are short names in zh-TW and English.
 */

export interface CodeEntry {
  code: string;
  zh: string;
  en: string;
}

export type CodeListId = 'h1' | 'h3' | 'h6' | 'h8' | 'h25' | 'h26' | 'r4-1' | 'r12';

const list = (rows: Array<[string, string, string]>): CodeEntry[] => rows.map(([code, zh, en]) => ({ code, zh, en }));

export const CODE_LISTS: Record<CodeListId, CodeEntry[]> = {
  h1: list([
    ['1', '檢體檢驗報告', 'specimen laboratory report'],
    ['2', '影像報告', 'imaging report'],
    ['3', '病理報告', 'pathology report'],
    ['4', '人工關節植入物資料', 'joint implant data'],
  ]),
  h3: list([
    ['11', '門診西醫診所', 'outpatient, Western medicine clinic'],
    ['12', '門診西醫醫院', 'outpatient, Western medicine hospital'],
    ['13', '門診牙醫', 'outpatient, dentistry'],
    ['14', '門診中醫', 'outpatient, Chinese medicine'],
    ['15', '門診洗腎', 'outpatient, dialysis'],
    ['19', '門診其他醫事機構', 'outpatient, other institution'],
    ['21', '住診西醫診所', 'inpatient, Western medicine clinic'],
    ['22', '住診西醫醫院', 'inpatient, Western medicine hospital'],
    ['29', '住診其他醫事機構', 'inpatient, other institution'],
    ['50', '特約檢驗所', 'contracted laboratory'],
  ]),
  h6: list([
    ['00', '門診高利用保險對象指定就醫', 'designated care for high utilisers'],
    ['01', '西醫門診', 'Western medicine outpatient'],
    ['02', '牙醫門診', 'dental outpatient'],
    ['03', '中醫門診', 'Chinese medicine outpatient'],
    ['04', '急診', 'emergency'],
    ['05', '住院', 'admission'],
    ['06', '門診轉診就醫', 'outpatient referral'],
    ['07', '門診手術後之回診', 'follow-up after outpatient surgery'],
    ['08', '住院患者出院之回診', 'follow-up after discharge'],
    ['09', '透析門診', 'dialysis outpatient'],
    ['AA', '同一療程六次以內', 'same course, within six sessions'],
    ['AB', '同一療程非六次以內', 'same course, not limited to six sessions'],
    ['AC', '預防保健', 'preventive care'],
    ['AD', '職業傷害或職業病門（急）診', 'occupational injury, outpatient/emergency'],
    ['AE', '慢性病連續處方箋領藥', 'chronic refill prescription'],
    ['AF', '藥局調劑', 'pharmacy dispensing'],
    ['AG', '排程檢查', 'scheduled examination'],
    ['AH', '居家照護（第二次以後）', 'home care, second visit or later'],
    ['AI', '同日同醫師看診（第二次以後）', 'same day same doctor, second visit or later'],
    ['AJ', '透析門診療程第二次', 'dialysis course, second session'],
    ['AK', '急診留觀', 'emergency observation'],
    ['BA', '急診當次轉住院之入院', 'admission from the emergency visit'],
    ['BB', '出院', 'discharge'],
    ['BC', '急診中、住院中執行項目', 'item done during emergency or admission'],
    ['BD', '急診第二日以後之離院', 'leaving emergency from the second day'],
    ['BE', '職業傷害或職業病之住院', 'occupational injury admission'],
    ['BF', '繼續住院依規定分段結清', 'continued stay, staged settlement'],
    ['BG', '門診當次轉住院之入院', 'admission from the outpatient visit'],
    ['CA', '其他不須累計就醫序號者', 'other, no visit count'],
    ['DA', '門診轉出', 'outpatient referral out'],
    ['DB', '門診手術後7日內之一次回診', 'one follow-up within 7 days after outpatient surgery'],
    ['DC', '出院後7日內之一次回診', 'one follow-up within 7 days after discharge'],
    ['EA', '床號變更/轉床', 'bed change'],
    ['ZA', '取消24小時內所有就醫類別', 'cancel all visit types within 24 hours'],
    ['ZB', '取消24小時內部分就醫類別', 'cancel some visit types within 24 hours'],
  ]),
  h8: list([
    ['1', '正常', 'normal'],
    ['2', '補卡', 'card presented later'],
  ]),
  h25: list([
    ['H', '頭部', 'head'],
    ['A', '頸部', 'neck'],
    ['F', '頭頸部', 'head and neck'],
    ['U', '胸部', 'chest'],
    ['N', '頸椎', 'cervical spine'],
    ['J', '胸椎', 'thoracic spine'],
    ['K', '腰椎', 'lumbar spine'],
    ['G', '胸部及上腹部', 'chest and upper abdomen'],
    ['C', '上腹部', 'upper abdomen'],
    ['I', '腹部（含骨盆腔）', 'abdomen incl. pelvis'],
    ['P', '骨盆腔', 'pelvis'],
    ['E', '肢部', 'limbs'],
    ['Q', '臂神經血管叢', 'brachial plexus'],
    ['M', '骨骼肌肉系統', 'musculoskeletal system'],
    ['V', '心血管系統', 'cardiovascular system'],
    ['S', 'MRS（磁振頻譜）', 'MR spectroscopy'],
    ['T', 'MRA（磁振血管攝影）', 'MR angiography'],
    ['O', '其他', 'other'],
    ['B', '薦椎', 'sacrum'],
    ['D', '周邊神經', 'peripheral nerves'],
  ]),
  h26: list([
    ['0', '自行調劑、檢驗（查）或物理治療', 'performed in-house'],
    ['1', '交付調劑、檢驗（查）或物理治療', 'handed to another provider'],
    ['2', '委託其他醫事機構轉檢', 'referred out for testing'],
    ['3', '接受其他院所委託轉檢', 'referred in for testing'],
    ['4', '委託其他醫事機構代檢', 'sent out for testing on our behalf'],
    ['5', '接受其他院所委託代檢', 'testing on behalf of another institution'],
  ]),
  'r4-1': list([
    ['1', 'Positive', 'positive'],
    ['0', 'Negative', 'negative'],
    ['U', 'Not Determined', 'not determined'],
    ['X', 'Not Applicable', 'not applicable'],
  ]),
  r12: list([
    ['0', '未發現異於參考值', 'within reference range'],
    ['1', '異於參考值', 'outside reference range'],
  ]),
};

const codeSets = new Map<CodeListId, Set<string>>(
  (Object.keys(CODE_LISTS) as CodeListId[]).map((k) => [k, new Set(CODE_LISTS[k].map((e) => e.code))]),
);

export function isCode(list: CodeListId, value: string): boolean {
  return codeSets.get(list)!.has(value);
}

export function codeLabel(list: CodeListId, value: string): string | undefined {
  return CODE_LISTS[list].find((e) => e.code === value)?.zh;
}

/** 醫事類別 groups used by conditional rules. */
export const OUTPATIENT_CATEGORIES = ['11', '12', '13', '14', '15', '19', '50'] as const;
export const INPATIENT_CATEGORIES = ['21', '22', '29'] as const;

/** h24: birth order as a letter, uppercase for boys and lowercase for girls. */
export const NEWBORN_MARK = /^[A-Za-z]$/;
