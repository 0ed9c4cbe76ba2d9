/**
 * `upload`: validate locally with the same core the portal uses (refused unless `force`), check
 * h16 against 上傳日期, sign in, journal, send, journal again. A rerun of the same ZIP for the same
 * 上傳日期 finds its journal entry: if the portal already gave a 收件序號 it is confirmed and returned;
 * otherwise the ZIP is sent again with the same idempotency key, and the portal answers with the
 * submission it may already have (never a second one).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { LabupError, fileError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { formatRocDate, formatRocSlashed, type CalendarDate } from '../format/roc.js';
import { resolveUploadDate, validateFile, type FileReport } from '../validate.js';
import type { Store } from '../store/store.js';
import { findJournalEntry, journalAttempt, journalBegin, journalMarkFailed, journalMarkSent, journalUpdateStatus } from '../store/journal.js';
import type { PortalConnection } from './connect.js';
import type { SubmissionStatus } from './portal-client.js';
import { idempotencyKey } from './protocol.js';

export interface UploadZipOptions {
  file: string;
  /** 上傳日期 (default: today, Asia/Taipei). */
  uploadDate?: CalendarDate | string;
  /** Send even when local validation finds errors. */
  force?: boolean;
  portal: PortalConnection;
  store: Store;
  clock: Clock;
  host?: IoHost;
  /** Progress of the local validation, in bytes of XML read. */
  onProgress?: (bytes: number) => void;
  /** Keep national IDs unmasked in the validation report (`--show-ids`). */
  showIds?: boolean;
}

export interface UploadSummary {
  ok: true;
  /** 收件序號. */
  receiptNo: string;
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string;
  /** 傳送時間, ISO 8601 (+08:00). */
  sentAt: string;
  status: SubmissionStatus;
  statusText: string;
  file: string;
  fileName: string;
  size: number;
  contentSha256: string;
  idempotencyKey: string;
  institutionCode: string | null;
  /** The portal already had this ZIP for this 上傳日期 (a rerun, or a retried request). */
  replayed: boolean;
  /** Local validation: sent despite errors with `force`. */
  validation: { ok: boolean; errorCount: number; warningCount: number; forced: boolean };
  /** The validation report (for rendering). */
  report: FileReport;
}

export interface UploadRefused {
  ok: false;
  reason: 'invalid';
  file: string;
  uploadDate: string;
  report: FileReport;
}

export type UploadOutcome = UploadSummary | UploadRefused;

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(c);
      size += c.length;
    }
  } catch (err) {
    throw fileError(err, path);
  }
  return { sha256: hash.digest('hex'), size };
}

async function assertZip(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fileError(err, path);
  }
  if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${path}: is a directory, expected the upload ZIP`);
  const fh = await open(path, 'r').catch((err) => {
    throw fileError(err, path);
  });
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    // A ZIP starts with a local header, or (holding nothing) with its end record: the validator names what is wrong with it.
    if (bytesRead < 4 || (b.readUInt32LE(0) !== 0x04034b50 && b.readUInt32LE(0) !== 0x06054b50)) {
      throw usageError('NOT_A_ZIP', `${path}: the portal takes a ZIP holding the daily XML, and this is not a ZIP`, { hint: 'Pack the XML first (labup pack FILE.xml), then upload the ZIP.' });
    }
  } finally {
    await fh.close();
  }
}

export async function uploadZip(o: UploadZipOptions): Promise<UploadOutcome> {
  const file = resolve(o.file);
  await assertZip(file);
  const date = resolveUploadDate(o.uploadDate, o.clock);
  const roc = formatRocDate(date);
  const report = await validateFile(file, { uploadDate: date, clock: o.clock, showIds: o.showIds === true, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  if (!report.ok && !o.force) return { ok: false, reason: 'invalid', file, uploadDate: formatRocSlashed(date), report };
  if (!report.ok) o.host?.notify({ level: 'warn', code: 'UPLOAD_FORCED', message: `${basename(file)}: ${report.errorCount} error(s) found locally; sending anyway (--force): expect 檢核錯誤` });

  const { sha256, size } = await sha256File(file);
  const key = idempotencyKey(sha256, roc);
  const portal = o.portal;
  const client = portal.client;
  const session = await portal.signIn();
  const existing = findJournalEntry(o.store, client.id, key);
  const validation = { ok: report.ok, errorCount: report.errorCount, warningCount: report.warningCount, forced: !report.ok };

  if (existing?.state === 'sent' && existing.receiptNo) {
    // Sent before: confirm with the portal instead of sending the ZIP again.
    try {
      const s = await client.getSubmission(existing.receiptNo);
      journalUpdateStatus(o.store, client.id, { receiptNo: s.receiptNo, status: s.status, statusText: s.statusText, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
      o.host?.notify({ level: 'info', code: 'UPLOAD_ALREADY_SENT', message: `${basename(file)} was already sent for 上傳日期 ${formatRocSlashed(date)}: 收件序號 ${s.receiptNo} (${s.statusText})` });
      return summary(s, true);
    } catch (err) {
      if (!(err instanceof LabupError) || err.code !== 'RECEIPT_NOT_FOUND') throw err;
      o.host?.notify({ level: 'warn', code: 'UPLOAD_RECEIPT_UNKNOWN', message: `the portal does not know 收件序號 ${existing.receiptNo} from the journal; sending again` });
    }
  }
  const entry = journalBegin(
    o.store,
    { portal: client.id, institutionCode: session.institutionCode, uploadDate: roc, file, fileName: basename(file), size, contentSha256: sha256, idempotencyKey: key },
    o.clock,
  );
  if (existing && existing.state !== 'sent') o.host?.notify({ level: 'info', code: 'UPLOAD_RESUMED', message: `${basename(file)}: an earlier try did not finish; sending again with the same idempotency key` });
  journalAttempt(o.store, entry.id, o.clock);
  let result;
  try {
    result = await client.upload({ file, fileName: basename(file), size, uploadDate: roc, contentSha256: sha256, idempotencyKey: key });
  } catch (err) {
    const refused = err instanceof LabupError && (err.kind === 'data' || err.kind === 'usage' || err.kind === 'auth');
    journalMarkFailed(o.store, entry.id, err instanceof LabupError ? err.code : 'INTERNAL', refused, o.clock);
    throw err;
  }
  journalMarkSent(o.store, entry.id, { receiptNo: result.receiptNo, sentAt: result.sentAt, status: result.status, statusText: result.statusText, institutionCode: session.institutionCode }, o.clock);
  return summary(result, result.replayed);

  function summary(s: { receiptNo: string; uploadDate: string; sentAt: string; status: SubmissionStatus; statusText: string }, replayed: boolean): UploadSummary {
    return {
      ok: true,
      receiptNo: s.receiptNo,
      uploadDate: s.uploadDate,
      sentAt: s.sentAt,
      status: s.status,
      statusText: s.statusText,
      file,
      fileName: basename(file),
      size,
      contentSha256: sha256,
      idempotencyKey: key,
      institutionCode: session.institutionCode,
      replayed,
      validation,
      report,
    };
  }
}
