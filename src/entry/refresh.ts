/**
 * Bringing drafts' 資料處理狀態 up to date: the portal is asked about every 收件序號 still 檢核中, and
 * each draft of that upload takes the upload's 處理狀態 (the journal learns it too). For a 檢核錯誤
 * upload the check file (檢核結果檔) is downloaded and its rows are kept on the drafts they name
 * (by hdata), explained, so that the record to correct says why. A ZIP whose upload is final is no
 * longer needed for a retry and is removed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { LabupError } from '../errors.js';
import { parseCheckFile } from '../explain/check-file.js';
import { explainCode } from '../explain/codes.js';
import type { IoHost } from '../io-host.js';
import type { Store } from '../store/store.js';
import type { PortalConnection } from '../transport/connect.js';
import { journalUpdateStatus } from '../store/journal.js';
import { downloadFiles } from '../transport/download.js';
import { walkPages, type PortalClient } from '../transport/portal-client.js';
import { hasCheckingDrafts, listDrafts, listUploads, recordPortalErrors, recordUploadStatus, type PortalError } from './drafts.js';

export interface RefreshOptions {
  store: Store;
  client: PortalClient;
  clock: Clock;
  host?: IoHost;
  /** Where check files of 檢核錯誤 uploads are downloaded to (mode 0600); without it they are not fetched. */
  checksDir?: string;
}

export interface RefreshReport {
  /** 收件序號 asked about. */
  asked: string[];
  /** Drafts whose status changed. */
  changed: number;
  /** 收件序號 the portal did not know. */
  unknown: string[];
  /** 收件序號 that turned 檢核錯誤, whose check file was read onto the drafts. */
  explained: string[];
}

/**
 * {@link refreshDrafts} when some draft is still 檢核中 (only then is the portal opened). A portal
 * that cannot be reached or signed in to is no reason to stop showing drafts: its coded error is
 * returned for the caller to report.
 */
export async function refreshChecking(o: Omit<RefreshOptions, 'client'> & { connect: () => Promise<PortalConnection> }): Promise<{ refreshed: boolean; error?: LabupError }> {
  if (!hasCheckingDrafts(o.store)) return { refreshed: false };
  try {
    const portal = await o.connect();
    await portal.signIn();
    const { connect: _connect, ...rest } = o;
    await refreshDrafts({ ...rest, client: portal.client });
    return { refreshed: true };
  } catch (err) {
    if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
    return { refreshed: false, error: err };
  }
}

export async function refreshDrafts(o: RefreshOptions): Promise<RefreshReport> {
  const portal = o.client.id;
  const pending = listDrafts(o.store, { statuses: ['checking'], portal });
  const receipts = [...new Set(pending.map((d) => d.receiptNo).filter((r): r is string => r !== null))];
  let changed = 0;
  const found = new Set<string>();
  const failed: string[] = [];
  for (let i = 0; i < receipts.length; i += 100) {
    const chunk = receipts.slice(i, i + 100);
    const { items } = await walkPages((page) => o.client.listSubmissions({ receiptNos: chunk, page, pageSize: 100 }));
    for (const s of items) {
      found.add(s.receiptNo);
      changed += recordUploadStatus(o.store, portal, { receiptNo: s.receiptNo, status: s.status, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
      journalUpdateStatus(o.store, portal, { receiptNo: s.receiptNo, status: s.status, statusText: s.statusText, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
      if (s.status === 'failed') failed.push(s.receiptNo);
    }
  }
  const unknown = receipts.filter((r) => !found.has(r));
  if (unknown.length) o.host?.notify({ level: 'warn', code: 'ENTRY_RECEIPT_UNKNOWN', message: `the portal does not know 收件序號 ${unknown.join(', ')}; those drafts stay 檢核中` });
  const explained: string[] = [];
  if (o.checksDir) {
    for (const receiptNo of failed) {
      if (await explainFailure(o, receiptNo, o.checksDir)) explained.push(receiptNo);
    }
  }
  for (const u of listUploads(o.store, { states: ['sent'], portal })) {
    if ((u.status === 'passed' || u.status === 'failed') && existsSync(u.file)) await rm(u.file, { force: true });
  }
  return { asked: receipts, changed, unknown, explained };
}

/** Downloads the check file of a 檢核錯誤 upload and keeps its rows on the drafts. False when it could not be had. */
async function explainFailure(o: RefreshOptions, receiptNo: string, dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const report = await downloadFiles({ client: o.client, receiptNo, outDir: dir, store: o.store, clock: o.clock, ...(o.host ? { host: o.host } : {}) });
    const file = report.files.find((f) => !f.encrypted);
    if (!file) {
      o.host?.notify({ level: 'warn', code: 'ENTRY_CHECK_FILE_MISSING', message: `收件序號 ${receiptNo} is 檢核錯誤, but the portal offers no check file for it (yet); labup download --receipt ${receiptNo} fetches it later` });
      return false;
    }
    const check = parseCheckFile(await readFile(file.path));
    const rows: Array<PortalError & { hdata: number | null }> = check.rows.map((r) => {
      const e = explainCode(r.code, r.message);
      return { hdata: r.hdata, rdata: r.rdata, field: r.field, code: r.code, message: r.message, zh: e.zh, en: e.en, fix: e.fix };
    });
    recordPortalErrors(o.store, o.client.id, receiptNo, rows);
    return true;
  } catch (err) {
    if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
    o.host?.notify({ level: 'warn', code: 'ENTRY_CHECK_FILE_UNREAD', message: `the check file of 收件序號 ${receiptNo} could not be read (${err.message}); labup download --receipt ${receiptNo} fetches it` });
    return false;
  }
}
