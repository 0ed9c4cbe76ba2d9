/**
 * What the portal offers besides upload and download (the rest of its manual): 申請重送 (resend
 * requests for check files past their two weeks), 公告事項 (notices with attachments) and 聯絡窗口
 * (the contact window). Part of {@link PortalClient}; shapes as in docs/portal-protocol.md.
 */

/**
 * A name an attachment can be saved under on any system: no path separators, no characters
 * Windows refuses, no control characters, not `.`/`..`, no trailing dot or space, 1–120 characters.
 * The sandbox refuses other names; the client checks again before writing.
 */
export function isSafeAttachmentName(name: string): boolean {
  if (name.length < 1 || name.length > 120 || name === '.' || name === '..' || name.trim() !== name || name.endsWith('.')) return false;
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || '\\/:*?"<>|'.includes(ch)) return false;
  }
  return true;
}

/** 申請重送 state: 申請重送中, 已重送, 重送失敗. */
export type ResendStatus = 'pending' | 'done' | 'failed';

export const RESEND_STATUS_TEXT: Record<ResendStatus, string> = {
  pending: '申請重送中',
  done: '已重送',
  failed: '重送失敗',
};

/** A 申請重送: a request that the portal offer a check file again. */
export interface ResendRequest {
  id: number;
  /** 收件序號 of the upload whose check file is asked for. */
  receiptNo: string;
  /** 上傳日期 of that upload, `YYY/MM/DD`. */
  uploadDate: string;
  /** The check file, e.g. `1300_1151125000001.msg.txt`. */
  fileName: string;
  /** 申請時間 (ISO 8601). */
  requestedAt: string;
  /** When the portal expects to offer it again, if it says (ISO 8601). */
  dueAt: string | null;
  status: ResendStatus;
  statusText: string;
  completedAt: string | null;
  /** The file offered again, once done. */
  fileId: string | null;
  failure: string | null;
}

export interface ResendFiled extends ResendRequest {
  /** A request for this receipt was already pending: the portal answered with it. */
  alreadyRequested: boolean;
}

export interface ResendQuery {
  status?: ResendStatus;
  receiptNos?: string[];
  sort?: 'requestedAt' | 'receiptNo' | 'dueAt';
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface NoticeAttachment {
  /** File name, possibly Chinese (`檢驗(查)結果每日上傳作業使用手冊.pdf`). */
  name: string;
  contentType: string;
  size: number;
  /** SHA-256 (hex) of the attachment. */
  sha256: string;
}

/** 公告事項: one announcement of the job. */
export interface Notice {
  id: number;
  title: string;
  body: string;
  /** 公告日期 (ISO 8601) and as the portal shows it (`115/11/20`). */
  publishedAt: string;
  publishedDate: string;
  updatedAt: string;
  attachments: NoticeAttachment[];
}

export interface NoticeQuery {
  /** Published on or after this date (ROC `YYY/MM/DD`, `YYYMMDD` or ISO). */
  since?: string;
  sort?: 'publishedAt' | 'title' | 'id';
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

/** One person or desk of the 聯絡窗口. */
export interface ContactEntry {
  /** What to ask them about (業務窗口, 系統操作窗口…). */
  role: string;
  unit: string;
  name: string;
  phone: string;
  email: string;
  /** 服務時間. */
  hours: string;
  note?: string;
}

/** 聯絡窗口 of the job, as the portal publishes it. */
export interface ContactWindow {
  job: { name: string; code: string };
  contacts: ContactEntry[];
  updatedAt: string | null;
}

/** The methods {@link PortalClient} has for these features. */
export interface PortalManualApi {
  /** Files a 申請重送 for the check file of `receiptNo` (past its two weeks). */
  requestResend(receiptNo: string): Promise<ResendFiled>;
  listResendRequests(query?: ResendQuery): Promise<import('./portal-client.js').Page<ResendRequest>>;
  /** Notices, newest first by default. Needs no sign-in. */
  listNotices(query?: NoticeQuery): Promise<import('./portal-client.js').Page<Notice>>;
  getNotice(id: number): Promise<Notice>;
  /** One attachment's bytes. Needs no sign-in. */
  downloadAttachment(noticeId: number, name: string): Promise<import('./portal-client.js').DownloadedFile>;
  /** The 聯絡窗口. Needs no sign-in. */
  getContactWindow(): Promise<ContactWindow>;
}
