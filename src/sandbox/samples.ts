/**
 * What a new sandbox publishes out of the box: a few synthetic 公告事項 (a user-manual notice with a
 * PDF and a text attachment, a maintenance notice, the upload format's XML Schema, a reminder about
 * 申請重送) and a synthetic 聯絡窗口. Seeded once per data folder (the admin may delete them for
 * good), dated relative to the sandbox's clock so they are "recent" whenever the folder is made.
 */
import { addDays, fromTaipei, type Clock } from '../clock.js';
import { formatRocSlashed, taipeiToday } from '../format/roc.js';
import { buildXsd } from '../format/xsd.js';
import type { Contact } from './contact.js';
import { setContactWindow } from './contact.js';
import { JOB_NAME } from './layout.js';
import { putAttachment, type NewAttachment } from './notices.js';
import { simplePdf } from './sample-pdf.js';
import type { Db } from './state.js';

const SEEDED = 'samples_seeded';

export const SAMPLE_CONTACTS: Contact[] = [
  {
    role: '業務窗口',
    unit: '沙盒示範署 醫務管理組（示範資料）',
    name: '陳怡君',
    phone: '(02) 0000-1300 分機 101',
    email: 'lab-upload@sandbox.invalid',
    hours: '週一至週五 08:30–12:30、13:30–17:30',
    note: '上傳資料內容、檢核錯誤代碼、申請重送',
  },
  {
    role: '系統操作窗口',
    unit: '沙盒示範署 資訊組（示範資料）',
    name: '林志明',
    phone: '(02) 0000-1300 分機 202',
    email: 'vpn-help@sandbox.invalid',
    hours: '週一至週五 08:30–17:30',
    note: '憑證登入、VPN 連線、網頁操作',
  },
];

const MANUAL_LINES = [
  `${JOB_NAME} 使用手冊（沙盒示範版）`,
  '',
  '一、登入：插入醫事機構卡，選擇憑證並輸入密碼後登入，進入「現行作業區」即可看到本作業之公告事項。',
  '二、上傳：選擇上傳日期（當天或前一天）與 ZIP 檔（內含一個 XML 檔）後開始上傳，系統回覆收件序號。',
  '三、查詢：依收件序號或上傳日期查詢處理狀態：檢核中、檢核正確或檢核錯誤。預設顯示二日內建立之資料。',
  '四、下載：檢核結果檔於網站保留兩週，可選擇一般下載或加密下載；加密下載之密碼為登入者身分證號（首碼大寫）。',
  '五、申請重送：超過兩週之檢核結果檔，請於「上傳案件相關檔案下載」申請重送，處理完成後即可再次下載。',
  '',
  'labup: labup upload / status / download / download --request-resend / notices / contact',
  'This is synthetic sample content of the labup sandbox, not an NHIA document.',
];

function attachment(name: string, data: Buffer | string, contentType?: string): NewAttachment {
  return { name, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data, ...(contentType ? { contentType } : {}) };
}

/** The sample notices, dated relative to `now`. */
export function sampleNotices(now: Date): Array<{ title: string; body: string; publishedAt: number; attachments: NewAttachment[] }> {
  const today = taipeiToday(now);
  const at = (days: number, hour: number) => {
    const d = addDays(today, -days);
    return fromTaipei(d.year, d.month, d.day, hour).getTime();
  };
  const maintenance = formatRocSlashed(addDays(today, 5));
  return [
    {
      title: '「檢驗(查)結果每日上傳作業」使用手冊',
      body: '本作業之使用手冊已更新，請參閱附件。\n手冊說明登入、上傳、處理狀態查詢、檢核結果檔下載與申請重送之操作方式。\n（labup 沙盒示範公告，非健保署正式公告。）',
      publishedAt: at(60, 9),
      attachments: [attachment('檢驗(查)結果每日上傳作業使用手冊.pdf', simplePdf(`${JOB_NAME} 使用手冊`, MANUAL_LINES.map((text, i) => ({ text, size: i === 0 ? 16 : 11 })))), attachment('使用手冊摘要.txt', MANUAL_LINES.join('\r\n') + '\r\n')],
    },
    {
      title: '上傳檔案格式（XML Schema）',
      body: '上傳之 XML 檔須符合附件之格式定義（表一欄位、長度與代碼）。\n上傳前可先以 labup validate 檢查。\n（labup 沙盒示範公告。）',
      publishedAt: at(30, 10),
      attachments: [attachment('lab-daily.xsd', buildXsd(), 'application/xml')],
    },
    {
      title: '檢核結果檔保留期限與申請重送',
      body: '檢核結果檔於網站保留兩週。逾期之檔案請於「上傳案件相關檔案下載」畫面申請重送，重送完成後可於清單中再次下載。\n（labup 沙盒示範公告。）',
      publishedAt: at(9, 14),
      attachments: [],
    },
    {
      title: '系統維護公告',
      body: `預定於 ${maintenance} 02:00 至 06:00 進行系統維護，期間暫停上傳與下載服務，造成不便敬請見諒。\n（labup 沙盒示範公告。）`,
      publishedAt: at(1, 16),
      attachments: [],
    },
  ];
}

/** Publishes the samples once per data folder (safe when several processes start together). */
export function seedSamples(db: Db, clock: Clock): boolean {
  return db
    .transaction(() => {
      if (db.prepare('SELECT 1 FROM sandbox_meta WHERE key = ?').get(SEEDED)) return false;
      const now = clock.now();
      const t = now.getTime();
      for (const n of sampleNotices(now)) {
        const id = Number(db.prepare('INSERT INTO notices (title, body, published_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(n.title, n.body, n.publishedAt, t, t).lastInsertRowid);
        for (const a of n.attachments) putAttachment(db, id, a, t);
      }
      if (!db.prepare('SELECT 1 FROM contact_window WHERE id = 1').get()) setContactWindow(db, { contacts: SAMPLE_CONTACTS }, clock, true);
      db.prepare('INSERT INTO sandbox_meta (key, value) VALUES (?, ?)').run(SEEDED, new Date(t).toISOString());
      return true;
    })
    .immediate();
}
