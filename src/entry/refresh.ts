/**
 * Bringing drafts' 資料處理狀態 up to date: the portal is asked about every 收件序號 still 檢核中, and
 * each draft of that upload takes the upload's 處理狀態 (the journal learns it too). A ZIP whose
 * upload is final (檢核正確 / 檢核錯誤) is no longer needed for a retry and is removed.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { IoHost } from '../io-host.js';
import type { Store } from '../store/store.js';
import { journalUpdateStatus } from '../store/journal.js';
import type { PortalClient } from '../transport/portal-client.js';
import { listDrafts, listUploads, recordUploadStatus } from './drafts.js';

export interface RefreshReport {
  /** 收件序號 asked about. */
  asked: string[];
  /** Drafts whose status changed. */
  changed: number;
  /** 收件序號 the portal did not know. */
  unknown: string[];
}

export async function refreshDrafts(o: { store: Store; client: PortalClient; clock: Clock; host?: IoHost }): Promise<RefreshReport> {
  const portal = o.client.id;
  const pending = listDrafts(o.store, { statuses: ['checking'], portal });
  const receipts = [...new Set(pending.map((d) => d.receiptNo).filter((r): r is string => r !== null))];
  let changed = 0;
  const found = new Set<string>();
  for (let i = 0; i < receipts.length; i += 100) {
    const chunk = receipts.slice(i, i + 100);
    for (let page = 1; ; page++) {
      const p = await o.client.listSubmissions({ receiptNos: chunk, page, pageSize: 100 });
      for (const s of p.items) {
        found.add(s.receiptNo);
        changed += recordUploadStatus(o.store, portal, { receiptNo: s.receiptNo, status: s.status, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
        journalUpdateStatus(o.store, portal, { receiptNo: s.receiptNo, status: s.status, statusText: s.statusText, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
      }
      if (page >= p.totalPages || p.items.length === 0) break;
    }
  }
  const unknown = receipts.filter((r) => !found.has(r));
  if (unknown.length) o.host?.notify({ level: 'warn', code: 'ENTRY_RECEIPT_UNKNOWN', message: `the portal does not know 收件序號 ${unknown.join(', ')}; those drafts stay 檢核中` });
  for (const u of listUploads(o.store, { states: ['sent'], portal })) {
    if ((u.status === 'passed' || u.status === 'failed') && existsSync(u.file)) await rm(u.file, { force: true });
  }
  return { asked: receipts, changed, unknown };
}
