/**
 * The portal as labup sees it. Commands talk to a {@link PortalClient}; the HTTP implementation
 * (`http-client.ts`) speaks the protocol of docs/portal-protocol.md to the embedded sandbox, and
 * further adapters implement the same interface without touching the commands.
 */
import type { Card } from '../card/card.js';
import type { PortalManualApi } from './portal-manual.js';

/** 處理狀態: 檢核中, 檢核正確, 檢核錯誤. */
export type SubmissionStatus = 'checking' | 'passed' | 'failed';

export const STATUS_TEXT: Record<SubmissionStatus, string> = {
  checking: '檢核中',
  passed: '檢核正確',
  failed: '檢核錯誤',
};

export interface PortalInfo {
  /** e.g. `labup sandbox portal`. */
  service: string;
  /** Protocol version, e.g. `1`. */
  protocol: string;
  /** 作業名稱 and 作業代號 (1300). */
  job: { name: string; code: string };
  /** The portal's own time (ISO 8601, +08:00), to compare with the host clock. */
  serverTime: string;
  sandbox: boolean;
  /** The answer's HTTP `Date` header (the portal's clock, to the second), when it had one. */
  date?: string;
}

export interface SignInCredentials {
  card: Card;
  /** National ID of the user signing in (a registered user of the card's institution). Never logged. */
  userId: string;
}

export interface PortalSession {
  institutionCode: string;
  institutionName: string;
  /** The user's ID, masked (A12****789). */
  user: string;
  idleTimeoutSeconds: number;
  /** When the session ends if unused (ISO 8601). */
  expiresAt: string;
}

export interface UploadRequest {
  /** Path of the ZIP to send. */
  file: string;
  /** Name the portal records (NHI: letters and digits, `.zip`). */
  fileName: string;
  size: number;
  /** 上傳日期, ROC YYYMMDD. */
  uploadDate: string;
  /** SHA-256 (hex) of the ZIP. */
  contentSha256: string;
  /** See {@link idempotencyKey}: the same ZIP and 上傳日期 always give the same key. */
  idempotencyKey: string;
  /**
   * Asked after a try whose outcome is unknown (a timeout, or the connection lost once the ZIP may
   * have reached the portal), before the ZIP is sent again: the submission the portal already
   * holds for this ZIP and 上傳日期, which is then adopted instead of sending again (undefined: the
   * portal has none, send again).
   */
  findReceived?: (failure: { code: string; attempt: number }) => Promise<Submission | undefined>;
}

export interface SubmissionFileRef {
  id: string;
  name: string;
}

/** One upload as the portal lists it (檢驗(查)結果項目資料上傳及查詢). */
export interface Submission {
  /** 收件序號: ROC receive date (7 digits) + daily sequence (6 digits). */
  receiptNo: string;
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string;
  /** 傳送時間, ISO 8601 (+08:00). */
  sentAt: string;
  status: SubmissionStatus;
  statusText: string;
  fileName: string;
  contentSha256: string;
  /** 檢核時間, once checked. */
  checkedAt: string | null;
  counts: { hdata: number; rdata: number } | null;
  errorCount: number | null;
  /** Related files (the check file), once checked. */
  files: SubmissionFileRef[];
}

export interface UploadResult extends Submission {
  /** The portal had already received this ZIP for this 上傳日期 (same idempotency key). */
  replayed: boolean;
  /** Found among the portal's submissions by content hash after a try whose answer was lost, and adopted: not sent again. */
  adopted?: boolean;
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
  totalPages: number;
  /** The filters the portal applied, its defaults included. */
  criteria?: Record<string, unknown>;
}

/**
 * Reads a paged listing from page 1 to its last page (at most `maxPages`): every item, and the last
 * page read (its totals and criteria).
 */
export async function walkPages<T>(fetch: (page: number) => Promise<Page<T>>, maxPages = Number.POSITIVE_INFINITY): Promise<{ items: T[]; last: Page<T> }> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const p = await fetch(page);
    items.push(...p.items);
    if (page >= p.totalPages || p.items.length === 0 || page >= maxPages) return { items, last: p };
  }
}

/** How a listing's page is reported: the portal's page, its sort, and at least one page in all. */
export function pagingOf(p: Page<unknown>, sort: string, order: 'asc' | 'desc'): { page: number; pageSize: number; total: number; totalPages: number; sort: string; order: 'asc' | 'desc' } {
  return { page: p.page, pageSize: p.pageSize, total: p.total, totalPages: Math.max(1, p.totalPages), sort, order };
}

export interface SubmissionQuery {
  receiptNos?: string[];
  /** 上傳日期 range, ROC YYYMMDD or `YYY/MM/DD`. Without receipts or a range: created in the last two days. */
  uploadDateFrom?: string;
  uploadDateTo?: string;
  /** Only submissions of this ZIP (SHA-256 hex). */
  contentSha256?: string;
  status?: SubmissionStatus;
  sort?: 'sentAt' | 'receiptNo' | 'uploadDate';
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

/** A related file (上傳案件相關檔案). */
export interface PortalFile {
  id: string;
  /** e.g. `1300_1151125000001.msg.txt`. */
  name: string;
  receiptNo: string;
  uploadDate: string;
  /** 備註. */
  remark: string;
  /** 提供下載日期 (ISO 8601), and as the portal shows it (`115/11/25 20:31`). */
  providedAt: string;
  providedAtText: string;
  /** When the portal stops offering it (two weeks later). */
  expiresAt: string;
  size: number;
  /** SHA-256 (hex) of the file itself (not of the ZIP it is delivered in). */
  sha256: string;
}

export interface FileQuery {
  receiptNo?: string;
  uploadDateFrom?: string;
  uploadDateTo?: string;
  /** 提供下載日期 within this many days (1–14; default 7). */
  withinDays?: number;
  sort?: 'providedAt' | 'uploadDate' | 'name' | 'receiptNo';
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export type { ZipEncryption } from '../archive/encrypted-zip.js';
import type { ZipEncryption } from '../archive/encrypted-zip.js';

export interface DownloadOptions {
  /** 加密下載: a ZIP whose password is the signed-in user's national ID. */
  encrypted?: boolean;
  encryption?: ZipEncryption;
}

export interface DownloadedFile {
  /** Name the portal gave the download (a `.zip`). */
  fileName: string;
  contentType: string;
  data: Uint8Array;
}

export interface PortalClient extends PortalManualApi {
  /** Stable identity of the portal (keys the journal): its base URL, or `sandbox:<folder>`. */
  readonly id: string;
  readonly baseUrl: string;
  info(): Promise<PortalInfo>;
  /** Challenge–response with the card. Later calls re-sign in by themselves when the session ended. */
  signIn(credentials: SignInCredentials): Promise<PortalSession>;
  signOut(): Promise<void>;
  /** Sends a ZIP; the same idempotency key returns the first submission instead of a new one. */
  upload(request: UploadRequest): Promise<UploadResult>;
  getSubmission(receiptNo: string): Promise<Submission>;
  listSubmissions(query?: SubmissionQuery): Promise<Page<Submission>>;
  listFiles(query?: FileQuery): Promise<Page<PortalFile>>;
  download(fileId: string, options?: DownloadOptions): Promise<DownloadedFile>;
  /** Releases connections (and an in-process sandbox). */
  close(): Promise<void>;
}
