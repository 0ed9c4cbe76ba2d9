/**
 * `upload`: validate locally with the same core the portal uses (refused unless `force`), check
 * h16 against 上傳日期, sign in, journal, send, journal again.
 *
 * Never twice: a rerun of the same ZIP for the same 上傳日期 finds its journal entry. If the portal
 * already gave a 收件序號 it is confirmed and returned. If an earlier try's outcome is unknown (the
 * process died, or the answer was lost), the portal is first asked what it received for that
 * 上傳日期, and a submission with the ZIP's content hash is adopted instead of sending again; the
 * same question is asked between tries within one run. Only when the portal holds nothing is the
 * ZIP sent again — with the same idempotency key, for a portal that honours one.
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
import { findJournalEntry, journalAttempt, journalBegin, journalMarkFailed, journalMarkSent, journalUpdateStatus, type ConfirmedBy } from '../store/journal.js';
import type { PortalConnection } from './connect.js';
import type { PortalClient, Submission, SubmissionStatus } from './portal-client.js';
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
  /**
   * Validate, sign in and ask the portal what it already holds, then report what would be sent;
   * nothing is sent and the journal is not written.
   */
  dryRun?: boolean;
}

/** The ZIP an upload is about, and what local validation found in it (an upload and its dry run). */
export interface UploadFile {
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string;
  file: string;
  fileName: string;
  size: number;
  contentSha256: string;
  idempotencyKey: string;
  institutionCode: string | null;
  /** Local validation: sent (or to be sent) despite errors with `force`. */
  validation: { ok: boolean; errorCount: number; warningCount: number; forced: boolean };
  /** The validation report (for rendering). */
  report: FileReport;
}

export interface UploadSummary extends UploadFile {
  ok: true;
  /** 收件序號. */
  receiptNo: string;
  /** 傳送時間, ISO 8601 (+08:00). */
  sentAt: string;
  status: SubmissionStatus;
  statusText: string;
  /** The portal already had this ZIP for this 上傳日期 (a rerun, or a retried request). */
  replayed: boolean;
  /**
   * The answer to a try was lost (or an earlier run died while sending): the portal was asked what
   * it received, and its submission with this ZIP's content hash was adopted instead of sending again.
   */
  adopted: boolean;
}

export interface UploadRefused {
  ok: false;
  reason: 'invalid';
  file: string;
  uploadDate: string;
  report: FileReport;
}

/** What `dryRun` found: what would be sent, or the submission the portal already holds. */
export interface UploadDryRun extends UploadFile {
  ok: true;
  dryRun: true;
  /** `send`: the ZIP would be sent; `confirm`: the journal has its 收件序號; `adopt`: the portal holds it already. */
  action: 'send' | 'confirm' | 'adopt';
  /** The submission already there (`confirm`, `adopt`). */
  existing: { receiptNo: string; sentAt: string; status: SubmissionStatus; statusText: string } | null;
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

export async function uploadZip(o: UploadZipOptions & { dryRun: true }): Promise<UploadRefused | UploadDryRun>;
export async function uploadZip(o: UploadZipOptions & { dryRun?: false }): Promise<UploadOutcome>;
export async function uploadZip(o: UploadZipOptions): Promise<UploadOutcome | UploadDryRun>;
export async function uploadZip(o: UploadZipOptions): Promise<UploadOutcome | UploadDryRun> {
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
  const where = `${basename(file)} for 上傳日期 ${formatRocSlashed(date)}`;

  if (o.dryRun) {
    const base = { ok: true as const, dryRun: true as const, uploadDate: formatRocSlashed(date), file, fileName: basename(file), size, contentSha256: sha256, idempotencyKey: key, institutionCode: session.institutionCode, validation, report };
    if (existing?.state === 'sent' && existing.receiptNo) {
      const s = await client.getSubmission(existing.receiptNo);
      return { ...base, action: 'confirm', existing: brief(s) };
    }
    const held = await findReceived(client, roc, sha256);
    return { ...base, action: held ? 'adopt' : 'send', existing: held ? brief(held) : null };
  }

  if (existing?.state === 'sent' && existing.receiptNo) {
    // Sent before: confirm with the portal instead of sending the ZIP again.
    try {
      const s = await client.getSubmission(existing.receiptNo);
      journalUpdateStatus(o.store, client.id, { receiptNo: s.receiptNo, status: s.status, statusText: s.statusText, checkedAt: s.checkedAt, errorCount: s.errorCount }, o.clock);
      o.host?.notify({ level: 'info', code: 'UPLOAD_ALREADY_SENT', message: `${basename(file)} was already sent for 上傳日期 ${formatRocSlashed(date)}: 收件序號 ${s.receiptNo} (${s.statusText})` });
      return summary(s, { replayed: true, adopted: existing.confirmedBy === 'adopted' });
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
  const adopt = (s: Submission, failure: string): UploadSummary => {
    journalMarkSent(o.store, entry.id, { receiptNo: s.receiptNo, sentAt: s.sentAt, status: s.status, statusText: s.statusText, institutionCode: session.institutionCode, confirmedBy: 'adopted' }, o.clock);
    o.host?.notify({
      level: 'warn',
      code: 'UPLOAD_ADOPTED',
      message: `${where}: ${failure}; the portal had received it as 收件序號 ${s.receiptNo} (${s.statusText}), adopted instead of sending it again`,
      data: { receiptNo: s.receiptNo, failure },
    });
    return summary(s, { replayed: true, adopted: true });
  };
  if (existing && existing.state === 'sending') {
    // An earlier try's outcome is unknown (the process died, or the answer was lost): ask first.
    const held = await findReceived(client, roc, sha256);
    if (held) return adopt(held, `an earlier try's outcome was unknown${existing.lastError ? ` (${existing.lastError})` : ''}`);
    o.host?.notify({ level: 'info', code: 'UPLOAD_RESUMED', message: `${where}: an earlier try did not finish and the portal holds nothing of it; sending again` });
  }
  journalAttempt(o.store, entry.id, o.clock);
  let result;
  let lostCode: string | undefined;
  try {
    result = await client.upload({
      file,
      fileName: basename(file),
      size,
      uploadDate: roc,
      contentSha256: sha256,
      idempotencyKey: key,
      findReceived: async (failure) => {
        lostCode = failure.code;
        // The try's outcome is unknown until the portal says otherwise: a crash now leaves `sending`.
        journalMarkFailed(o.store, entry.id, failure.code, false, o.clock);
        const held = await findReceived(client, roc, sha256);
        if (!held) journalAttempt(o.store, entry.id, o.clock);
        return held;
      },
    });
  } catch (err) {
    const refused = err instanceof LabupError && (err.kind === 'data' || err.kind === 'usage' || err.kind === 'auth');
    journalMarkFailed(o.store, entry.id, err instanceof LabupError ? err.code : 'INTERNAL', refused, o.clock);
    throw err;
  }
  if (result.adopted) return adopt(result, `the answer to the upload was lost (${lostCode ?? 'connection lost'})`);
  const how: ConfirmedBy = result.replayed ? 'replay' : 'answer';
  journalMarkSent(o.store, entry.id, { receiptNo: result.receiptNo, sentAt: result.sentAt, status: result.status, statusText: result.statusText, institutionCode: session.institutionCode, confirmedBy: how }, o.clock);
  return summary(result, { replayed: result.replayed, adopted: false });

  function summary(s: { receiptNo: string; uploadDate: string; sentAt: string; status: SubmissionStatus; statusText: string }, how: { replayed: boolean; adopted: boolean }): UploadSummary {
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
      replayed: how.replayed,
      adopted: how.adopted,
      validation,
      report,
    };
  }
}

function brief(s: Submission): { receiptNo: string; sentAt: string; status: SubmissionStatus; statusText: string } {
  return { receiptNo: s.receiptNo, sentAt: s.sentAt, status: s.status, statusText: s.statusText };
}

/**
 * What the portal received of this ZIP for this 上傳日期 (ROC YYYMMDD): its first submission with
 * the ZIP's content hash, or undefined. Asked before anything is sent again after an unknown outcome.
 */
export async function findReceived(client: PortalClient, uploadDate: string, contentSha256: string): Promise<Submission | undefined> {
  const page = await client.listSubmissions({ uploadDateFrom: uploadDate, uploadDateTo: uploadDate, contentSha256, sort: 'sentAt', order: 'asc', pageSize: 100 });
  const sameDay = (d: string) => d.replace(/\//g, '') === uploadDate;
  return page.items.find((s) => s.contentSha256.toLowerCase() === contentSha256.toLowerCase() && sameDay(s.uploadDate));
}
