/**
 * Per-order item tables of the format (表五, 表八–表十四), as data: which 報告序號 (r1) an order
 * may carry, what each item is, its unit, allowed values and decimals, and whether a reference
 * range applies. An order may appear in several tables (09006C is in 表九 with r1 1 and in 表八
 * with r1 101/102); its allowed items are the union.
 */

export type TableId = '表五' | '表八' | '表九' | '表十' | '表十一' | '表十二' | '表十三' | '表十四';

export interface ItemSpec {
  table: TableId;
  r1: string;
  /** Expected 檢驗項目名稱 (r2) as the table names it. */
  name: string;
  /**
   * Allowed units (r5), compared case-insensitively. `[]` = the table says 無 (no unit): r5 is then
   * not required. `undefined` = the table gives no unit.
   */
  units?: readonly string[];
  /** Allowed result values (r4). */
  values?: readonly string[];
  /** r4 must be a number. */
  numeric?: boolean;
  /** r4 must be a number with at most this many decimals. */
  decimals?: number;
  /** The table says 無 for the reference range: r6-1/r6-2 are not required. */
  noReferenceRange?: boolean;
  /** Allowed r4-1 values. */
  posNeg?: readonly string[];
  /** Allowed r7 values (表八 imaging items). */
  reportValues?: readonly string[];
  /** r4 holds an ROC date (YYYMMDD). */
  dateValue?: boolean;
  /** r4 holds a 醫事機構代碼. */
  institutionValue?: boolean;
  /** r4 is a set of single-character codes from `values`, e.g. 伴隨疾病 "235". */
  multiCode?: boolean;
  /** Joint implant: r3 is side/術別/入路 and r4 the implant barcodes (表五 r1 4, 5). */
  surgicalApproach?: boolean;
  /** r3 must be empty (the table marks it X). */
  noMethod?: boolean;
  /** This item is required when another item of the same order has one of these values. */
  requiredWhen?: { r1: string; valueIncludes: string };
}

export interface OrderTable {
  table: TableId;
  /** 醫令代碼 covered. */
  orders: readonly string[];
  /** 報告類別 the table is written for. */
  h1: '1' | '2' | '3' | '4';
  items: readonly ItemSpec[];
  /**
   * How strictly the table binds: 'fixed' — r1 must be one of the table's items (error otherwise);
   * 'guide' — the table is guidance (表九): other r1 values and other units are warnings.
   */
  binding: 'fixed' | 'guide';
  /** Header fields the table makes mandatory (表八 註2). */
  requiredHeader?: readonly string[];
  /** Items every record of this order should carry. */
  expectedItems?: readonly string[];
}

const NONE: readonly string[] = [];

function items(table: TableId, rows: Array<[string, string, Partial<ItemSpec>?]>): ItemSpec[] {
  return rows.map(([r1, name, extra]) => ({ table, r1, name, ...(extra ?? {}) }));
}

const withZ = (...codes: string[]) => codes.flatMap((c) => [c, 'Z' + c]);

// 表五 — 人工關節植入物資料 (報告類別 4)
const TABLE5: OrderTable = {
  table: '表五',
  orders: ['64164B', '64169B', '64202B', '64162B', '64170B', '64258B', '64201B'],
  h1: '4',
  binding: 'fixed',
  expectedItems: ['1', '2', '3', '4'],
  items: items('表五', [
    ['1', 'BH', { units: ['cm'], decimals: 1, noMethod: true, noReferenceRange: true }],
    ['2', 'BW', { units: ['kg'], decimals: 2, noMethod: true, noReferenceRange: true }],
    ['3', 'ASA', { units: NONE, values: ['1', '2', '3', '4', '5'], noMethod: true, noReferenceRange: true }],
    ['4', 'Surgical Approach', { units: NONE, surgicalApproach: true, noReferenceRange: true }],
    ['5', 'Surgical Approach', { units: NONE, surgicalApproach: true, noReferenceRange: true }],
  ]),
};

/** 表五 註3: 術別 (second character of r3) allowed per order, and whether it is a knee or a hip. */
export const JOINT_PROCEDURES: Record<string, { procedures: readonly string[]; joint: 'knee' | 'hip' }> = {
  '64164B': { procedures: ['1'], joint: 'knee' },
  '64169B': { procedures: ['2', '3'], joint: 'knee' },
  '64202B': { procedures: ['4'], joint: 'knee' },
  '64162B': { procedures: ['5'], joint: 'hip' },
  '64170B': { procedures: ['6'], joint: 'hip' },
  '64258B': { procedures: ['6'], joint: 'hip' },
  '64201B': { procedures: ['7'], joint: 'hip' },
};
/** 入路途徑 (third character of r3). */
export const JOINT_APPROACHES = { knee: ['1', '2', '3', '4', '5'], hip: ['A', 'B', 'C', 'D', 'E', 'F', '5'] } as const;
export const JOINT_SIDES = ['L', 'R'] as const;
/** At most this many implant barcodes in one r4 (NHIA D2). */
export const MAX_IMPLANT_BARCODES = 20;

// 表八 — DM、CKD 個案照護
const DM_CKD_LAB = (name: string, unit: string, extra: Partial<ItemSpec> = {}): Array<[string, string, Partial<ItemSpec>]> => [
  ['101', `${name}（DM）`, { units: [unit], ...extra }],
  ['102', `${name}（EARLY-CKD）`, { units: [unit], ...extra }],
];
const TABLE8: OrderTable[] = [
  { table: '表八', orders: withZ('09006C'), h1: '1', binding: 'fixed', items: items('表八', DM_CKD_LAB('醣化血色素', '%', { decimals: 1 })) },
  { table: '表八', orders: withZ('09005C'), h1: '1', binding: 'fixed', items: items('表八', [['101', '飯前血糖 Glucose AC', { units: ['mg/dl'], numeric: true }]]) },
  { table: '表八', orders: withZ('09140C'), h1: '1', binding: 'fixed', items: items('表八', [['101', '飯後血糖 Glucose PC', { units: ['mg/dl'], numeric: true }]]) },
  { table: '表八', orders: withZ('09044C'), h1: '1', binding: 'fixed', items: items('表八', DM_CKD_LAB('低密度脂蛋白 LDL', 'mg/dl', { numeric: true })) },
  { table: '表八', orders: withZ('09004C'), h1: '1', binding: 'fixed', items: items('表八', [['101', '三酸甘油脂 TG', { units: ['mg/dl'], numeric: true }]]) },
  { table: '表八', orders: withZ('09015C'), h1: '1', binding: 'fixed', items: items('表八', DM_CKD_LAB('CRE(肌酸酐)', 'mg/dl', { decimals: 2 })) },
  {
    table: '表八', orders: withZ('06013C'), h1: '1', binding: 'fixed',
    items: items('表八', [['101', '尿液常規檢查', { values: ['1', '2'], units: NONE, noReferenceRange: true }]]),
  },
  {
    table: '表八', orders: ['Y00000'], h1: '1', binding: 'fixed',
    items: items('表八', [
      ['101', '診療階段（DM）', { values: ['0', '1'], units: NONE, noReferenceRange: true }],
      ['102', '診療階段（EARLY-CKD）', { values: ['0', '1'], units: NONE, noReferenceRange: true }],
      ['201', '年度檢查註記（DM）', { values: ['Y'], units: NONE, noReferenceRange: true }],
      ['202', '年度檢查註記（EARLY-CKD）', { values: ['Y'], units: NONE, noReferenceRange: true }],
    ]),
  },
  { table: '表八', orders: ['Y00001'], h1: '1', binding: 'fixed', items: items('表八', [['1', 'eGFR', { units: ['ml/min/1.73m2'], numeric: true }]]) },
  {
    table: '表八', orders: ['Y00002'], h1: '1', binding: 'fixed',
    items: items('表八', [['1', 'U PCR', { units: ['mg/g'], numeric: true }], ['2', 'U ACR', { units: ['mg/g'], numeric: true }]]),
  },
  {
    table: '表八', orders: ['Y00003'], h1: '1', binding: 'fixed',
    items: items('表八', [
      ['1', '左腳足底檢查', { values: ['0', '1'], units: NONE, noReferenceRange: true }],
      ['2', '右腳足底檢查', { values: ['0', '1'], units: NONE, noReferenceRange: true }],
    ]),
  },
  { table: '表八', orders: ['Y00004'], h1: '1', binding: 'fixed', items: items('表八', [['1', '身高', { units: ['cm'], decimals: 1, noReferenceRange: true }]]) },
  { table: '表八', orders: ['Y00005'], h1: '1', binding: 'fixed', items: items('表八', [['1', '體重', { units: ['kg'], decimals: 2, noReferenceRange: true }]]) },
  {
    table: '表八', orders: ['Y00006'], h1: '1', binding: 'fixed',
    items: items('表八', [['1', '收縮壓', { units: ['mmHg'], decimals: 0 }], ['2', '舒張壓', { units: ['mmHg'], decimals: 0 }]]),
  },
  {
    table: '表八', orders: ['Y00007'], h1: '1', binding: 'fixed',
    items: items('表八', [
      ['1', '抽菸', { values: ['1', '2'], units: NONE, noReferenceRange: true }],
      ['2', '戒菸服務', { values: ['1', '2'], units: NONE, noReferenceRange: true }],
    ]),
  },
  {
    table: '表八', orders: ['Y00008'], h1: '1', binding: 'fixed',
    items: items('表八', [['1', 'CKD 階段', { values: ['00', '10', '20', '3a', '3b', '40', '50'], units: NONE, noReferenceRange: true }]]),
  },
  {
    table: '表八', orders: ['Y00009'], h1: '1', binding: 'fixed',
    items: items('表八', [
      ['1', '伴隨疾病', { values: ['0', '1', '2', '3', '4', '5', '6', '7', '8'], multiCode: true, units: NONE, noReferenceRange: true }],
      ['2', '伴隨疾病_其他說明', { units: NONE, noReferenceRange: true, requiredWhen: { r1: '1', valueIncludes: '8' } }],
      ['3', '家族病史', { values: ['0', '1', 'X'], units: NONE, noReferenceRange: true }],
    ]),
  },
  {
    table: '表八', orders: ['Y00010'], h1: '1', binding: 'fixed', requiredHeader: ['h17', 'h18'],
    items: items('表八', [
      ['101', 'DM 論質照護_結案日期', { dateValue: true, units: NONE, noReferenceRange: true }],
      ['102', 'CKD 論質照護_結案日期', { dateValue: true, units: NONE, noReferenceRange: true }],
      ['201', 'DM 論質照護_結案原因', { values: ['1', '2', '3', '4', '5', '6'], units: NONE, noReferenceRange: true }],
      ['202', 'CKD 論質照護_結案原因', { values: ['1', '2', '3', '4', '5', '6', '7'], units: NONE, noReferenceRange: true }],
      ['301', 'DM 論質照護_結案原因(其他)', { units: NONE, noReferenceRange: true, requiredWhen: { r1: '201', valueIncludes: '6' } }],
      ['302', 'CKD 論質照護_結案原因(其他)', { units: NONE, noReferenceRange: true, requiredWhen: { r1: '202', valueIncludes: '7' } }],
      ['402', 'CKD 論質照護_轉診原因', { values: ['10', '3b', '40', '50'], units: NONE, noReferenceRange: true }],
      ['502', 'CKD 論質照護_接受轉診院所代碼', { institutionValue: true, units: NONE, noReferenceRange: true }],
    ]),
  },
  {
    table: '表八', orders: ['23501C', '23502C', '23702C'], h1: '2', binding: 'fixed',
    items: items('表八', [['101', '眼底檢查', { reportValues: ['1', '2'] }]]),
  },
];

// 表九 — 檢體檢驗報告 (guidance: numbering and units)
const U = (...u: string[]) => ({ units: u.map((x) => (x === '無' ? '' : x)) });
const V = (...v: string[]) => ({ values: v });
const URINE_COMMON: Array<[string, string, Partial<ItemSpec>?]> = [
  ['1', '蛋白'], ['2', '糖'], ['3', '尿膽元', U('無', 'mg/dL', 'EU/dL', 'EU./dL')], ['4', '膽紅素', U('無', 'mg/dL')],
  ['5', '比重'], ['6', '顏色'], ['7', '混濁度'], ['8', '酸鹼度'], ['9', '白血球酯酶'], ['10', '酮體'],
];
const T9: Array<[string, Array<[string, string, Partial<ItemSpec>?]>]> = [
  ['06012C', [...URINE_COMMON, ['11', '尿沉渣', U('/HPF')], ['12', '潛血']]],
  ['06013C', URINE_COMMON],
  ['06505C', [['1', '懷孕試驗－酵素免疫法', V('陰', '陽')]]],
  ['07009C', [['1', '外觀'], ['2', '蟲卵', V('有', '無')], ['3', '潛血反應', V('陰', '陽')], ['4', '硬度'], ['5', '顏色'], ['6', '消化能力'], ['7', '紅血球'], ['8', '白血球'], ['9', '粘液']]],
  ['08002C', [['1', '白血球計數', U('/uL', '10^3/uL')]]],
  ['08003C', [['1', '血色素檢查', U('g/dL')]]],
  ['08004C', [['1', '血球比容值測定', U('%')]]],
  ['08005C', [['1', '血球沉降率1小時', U('mm/hr')], ['2', '血球沉降率2小時', U('mm/2hr')]]],
  ['08006C', [['1', '血小板計數', U('/uL', '10^3/uL')]]],
  ['08011C', [
    ['1', 'RBC 紅血球', U('10^4/uL', '10^6/uL')], ['2', 'Hemoglobin 血色素', U('g/dL')], ['3', 'Platelet 血小板', U('/uL', '10^3/uL')],
    ['4', 'WBC 白血球', U('/uL', '10^3/uL')], ['5', 'Hematocrit 血球比容值', U('%')], ['6', 'MCV 平均血球容積', U('fL')],
    ['7', 'MCH 平均血球色素值', U('pg')], ['8', 'MCHC 平均血球色素濃度', U('g/dL')],
  ]],
  ['08013C', [['1', 'Neutrophil Seg. 嗜中性', U('%')], ['2', 'Lymphocyte 淋巴球', U('%')], ['3', 'Monocyte 單核球', U('%')], ['4', 'Eosinophil 嗜酸性白血球', U('%')], ['5', 'Basophil 嗜鹼性白血球', U('%')]]],
  ['08026C', [['1', 'PT', U('秒', 'sec')], ['2', 'INR 國際標準']]],
  ['08036B', [['1', '部份凝血活酶時間', U('秒', 'sec')]]],
  ['09001C', [['1', '總膽固醇', U('mg/dL')]]],
  ['09002C', [['1', '血中尿素氮', U('mg/dL')]]],
  ['09004C', [['1', '三酸甘油脂 TG', U('mg/dL')]]],
  ['09005C', [['1', '飯前血糖 Glucose AC', U('mg/dL')]]],
  ['09006C', [['1', '醣化血色素', U('%')]]],
  ['09011C', [['1', 'CA(鈣)', U('mg/dL')], ['2', 'URINE CA (24HR)', U('mg/day')]]],
  ['09012C', [['1', '磷', U('mg/dL')]]],
  ['09013C', [['1', '尿酸', U('mg/dL')]]],
  ['09015C', [['1', 'CRE(肌酸酐)', U('mg/dL')], ['2', 'eGFR']]],
  ['09016C', [['1', 'CRE(肌酸酐)', U('mg/dL')], ['2', 'CRE(24HRS URINE)', U('mg/day')]]],
  ['09017C', [['1', '澱粉酶、血', U('U/L', 'IU/L')]]],
  ['09021C', [['1', '鈉', U('MEQ/L', 'mmol/L')]]],
  ['09022C', [['1', '鉀', U('MEQ/L', 'mmol/L')]]],
  ['09023C', [['1', '氯', U('MEQ/L', 'mmol/L')]]],
  ['09025C', [['1', '血清麩胺酸苯醋酸轉氨基酶', U('U/L', 'IU/L')]]],
  ['09026C', [['1', '血清麩胺酸丙酮酸轉氨基酶', U('U/L', 'IU/L')]]],
  ['09027C', [['1', '鹼性磷酯酶', U('U/L', 'IU/L')]]],
  ['09029C', [['1', '總膽紅素', U('mg/dL')]]],
  ['09030C', [['1', '直接膽紅素', U('mg/dL')]]],
  ['09031C', [['1', '麩胺轉酸酶', U('U/L', 'IU/L')]]],
  ['09032C', [['1', '肌酸磷化酶', U('U/L', 'IU/L')]]],
  ['09033C', [['1', '乳酸脫氫酶', U('U/L', 'IU/L')]]],
  ['09038C', [['1', '白蛋白', U('g/L', 'g/dL')]]],
  ['09040C', [['1', '總蛋白', U('mg/dL', 'mg/g', 'g/dL')], ['2', '24小時尿蛋白', U('mg/day')]]],
  ['09041B', [['1', 'PH'], ['2', 'PO2', U('mmHg')], ['3', 'PCO2', U('mmHg')]]],
  ['09043C', [['1', '高密度脂蛋白－膽固醇', U('mg/dL')]]],
  ['09044C', [['1', '低密度脂蛋白 LDL', U('mg/dL')]]],
  ['09046B', [['1', '鎂', U('mg/dL')]]],
  ['09064C', [['1', '解脂酶', U('U/L', 'IU/L')]]],
  ['09071C', [['1', '肌酸磷酸酶(MB 同功酶)', U('U/L', 'ng/mL')]]],
  ['09099C', [['1', '心肌旋轉蛋白Ｉ', U('ng/mL', 'ng/L', 'pg/mL')]]],
  ['09106C', [['1', '游離甲狀腺素免疫分析', U('ng/mL', 'ng/dL')]]],
  ['09112C', [['1', '甲狀腺刺激素免疫分析', U('uIU/mL')]]],
  ['11001C', [['1', 'ABO 血型測定檢驗']]],
  ['11002C', [['1', '交叉配合試驗']]],
  ['11003C', [['1', 'RH（D）型檢驗']]],
  ['11004C', [['1', '不規則抗體篩檢', V('陰', '陽')]]],
  ['12007C', [['1', 'α－胎兒蛋白檢驗', U('ng/mL')]]],
  ['12015C', [['1', 'Ｃ反應性蛋白試驗－免疫比濁法', U('mg/dL', 'mg/L')]]],
  ['12021C', [['1', '癌胚胎抗原檢驗', U('ng/mL')]]],
  ['12081C', [['1', '攝護腺特異抗原（EIA/LIA 法）', U('ng/mL')]]],
  ['12111C', [['1', '微白蛋白（免疫比濁法）', U('mg/L', 'mg/dL', 'mg/g')]]],
  ['12184C', [['1', '去氧核糖核酸類定量擴增試驗']]],
  ['12185C', [['1', '核糖核酸類定量擴增試驗']]],
  ['12193B', [['1', 'B 型利納利尿胜肽原(B 型利納利尿胜肽)', U('pg/mL')]]],
  ['12202C', [['1', 'C 型肝炎病毒核酸基因檢測－即時聚合酶連鎖反應法']]],
  ['13006C', [['1', '排泄物，滲出物及分泌物之細菌顯微鏡檢查', V('有', '無')]]],
  ['13007C', [['1', '細菌培養鑑定檢查']]],
  ['13008C', [['1', '細菌培養鑑定檢查（厭氧性培養加算）']]],
  ['13016B', [['1', '血液培養']]],
  ['13023C', [['1', '細菌最低抑制濃度快速試驗', V('有', '無')]]],
  ['13025C', [['1', '抗酸性濃縮抹片染色檢查', V('陰', '陽')]]],
  ['13026C', [['1', '抗酸菌培養', V('有', '無')]]],
  ['14032C', [['1', 'Ｂ型肝炎表面抗原', U('IU/mL', 'S/CO', 'COI')]]],
  ['14033C', [['1', 'Ｂ型肝炎表面抗體']]],
  ['14035C', [['1', 'Ｂ型肝炎 e 抗原檢查 HBeAg']]],
  ['14051C', [['1', 'Ｃ型肝炎病毒抗體檢查']]],
  ['30022C', [['1', '特異過敏原免疫檢驗', U('AU', 'KU/L', '無')]]],
  ['08010C', [['1', '嗜酸性白血球計算', U('/uL')]]],
  ['12031C', [['1', '免疫球蛋白 E', U('IU/mL')]]],
  ['14065C', [['1', '流行感冒 A 型病毒抗原', V('陰', '陽')]]],
  ['14066C', [['1', '流行感冒 B 型病毒抗原', V('陰', '陽')]]],
  ['09140C', [['1', '飯後血糖 Glucose PC', U('mg/dL')]]],
];
const TABLE9: OrderTable[] = T9.map(([order, rows]) => ({ table: '表九', orders: [order], h1: '1', binding: 'guide', items: items('表九', rows) }));

// 表十 — PD-L1 (r1 = reagent: 1 Dako 22C3, 2 Ventana SP263, 3 Dako 28-8, 4 Ventana SP142)
const TABLE10: OrderTable = {
  table: '表十', orders: ['30103B'], h1: '3', binding: 'fixed',
  items: items('表十', [['1', 'PD-L1 Dako 22C3'], ['2', 'PD-L1 Ventana SP263'], ['3', 'PD-L1 Dako 28-8'], ['4', 'PD-L1 Ventana SP142']]),
};

// 表十一 — 愛滋檢驗
const TABLE11: OrderTable[] = [
  { table: '表十一', orders: ['Z0000'], h1: '1', binding: 'fixed', items: items('表十一', [['1', 'CD4細胞數', { units: ['cells/mm3'], decimals: 0, noReferenceRange: true }]]) },
  {
    table: '表十一', orders: ['14074C'], h1: '1', binding: 'fixed',
    items: items('表十一', [
      ['1', '病毒負荷量檢查', { values: ['0', '1'], units: NONE, noReferenceRange: true }],
      ['2', '病毒負荷量檢查-病毒量檢驗值', { units: ['copies/mL'], decimals: 0, requiredWhen: { r1: '1', valueIncludes: '1' } }],
    ]),
  },
];

// 表十二 — COVID-19
const TABLE12: OrderTable[] = [
  { table: '表十二', orders: ['12215C'], h1: '1', binding: 'fixed', items: items('表十二', [['1', '新型冠狀病毒核糖核酸定性擴增試驗', { values: ['陰', '陽'], posNeg: ['1', '0'], units: NONE }]]) },
  { table: '表十二', orders: ['14084C'], h1: '1', binding: 'fixed', items: items('表十二', [['1', '新型冠狀病毒抗原檢測', { values: ['陰', '陽'], posNeg: ['1', '0'], units: NONE }]]) },
];

// 表十三 — NGS
const TABLE13: OrderTable = {
  table: '表十三', orders: ['30301B', '30302B', '30303B', '30304B', '30305B', '30306B', '30307B'], h1: '3', binding: 'fixed',
  items: items('表十三', [['1', '次世代基因定序']]),
};

// 表十四 — 血壓 (same items as 表八 Y00006)
const TABLE14: OrderTable = {
  table: '表十四', orders: ['Y00006'], h1: '1', binding: 'fixed',
  items: items('表十四', [['1', '收縮壓', { units: ['mmHg'], decimals: 0 }], ['2', '舒張壓', { units: ['mmHg'], decimals: 0 }]]),
};

export const ORDER_TABLES: readonly OrderTable[] = [TABLE5, ...TABLE8, ...TABLE9, TABLE10, ...TABLE11, ...TABLE12, TABLE13, TABLE14];

export interface OrderItems {
  order: string;
  tables: readonly OrderTable[];
  /** Union of items by r1 (first table wins for a duplicated r1, fixed tables before guides). */
  byR1: ReadonlyMap<string, ItemSpec>;
  /** 'fixed' if any fixed table covers the order. */
  binding: 'fixed' | 'guide';
  requiredHeader: readonly string[];
  expectedItems: readonly string[];
}

const index = new Map<string, OrderItems>();
for (const t of [...ORDER_TABLES].sort((a, b) => (a.binding === b.binding ? 0 : a.binding === 'fixed' ? -1 : 1))) {
  for (const order of t.orders) {
    const prev = index.get(order);
    const byR1 = new Map(prev?.byR1 ?? []);
    for (const it of t.items) if (!byR1.has(it.r1)) byR1.set(it.r1, it);
    index.set(order, {
      order,
      tables: [...(prev?.tables ?? []), t],
      byR1,
      binding: prev?.binding === 'fixed' || t.binding === 'fixed' ? 'fixed' : 'guide',
      requiredHeader: [...new Set([...(prev?.requiredHeader ?? []), ...(t.requiredHeader ?? [])])],
      expectedItems: [...new Set([...(prev?.expectedItems ?? []), ...(t.expectedItems ?? [])])],
    });
  }
}

export function orderItems(order: string): OrderItems | undefined {
  return index.get(order);
}

/** Units compare case-insensitively and without spaces, as the spec allows for 表九. */
export function normaliseUnit(u: string): string {
  return u.replace(/\s+/g, '').toLowerCase();
}
