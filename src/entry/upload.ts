/**
 * 資料上傳 for drafts: the chosen 暫存 drafts become one daily XML (DailyXmlWriter, Big5) in one ZIP
 * (ZipWriter, named `(醫事機構代碼)(上傳日期)(流水號).zip` like `pack --api-name`) with h16 = now
 * (Asia/Taipei), checked with the validation core, and sent through the same workflow as
 * `labup upload` (`uploadZip`: local validation, journal, idempotency key).
 *
 * The ZIP is kept (and recorded) until the portal has it: a retry after 資料上傳失敗 sends the very
 * same file, so the portal recognises it by its idempotency key and never takes it twice.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { taipeiParts, type Clock } from '../clock.js';
import { LabupError, dataError, fileError, portalError, usageError } from '../errors.js';
import type { Finding } from '../format/findings.js';
import { maskIdsInText } from '../format/national-id.js';
import { parseRocDate, rocTimestamp } from '../format/roc.js';
import type { IoHost } from '../io-host.js';
import { ZipWriter } from '../archive/zip-writer.js';
import { entryNameFor, nextApiName, placeFile } from '../pack/output-name.js';
import { dataHome, type Env } from '../paths.js';
import type { Store } from '../store/store.js';
import type { PortalConnection } from '../transport/connect.js';
import { STATUS_TEXT, type SubmissionStatus } from '../transport/portal-client.js';
import { sha256File, uploadZip } from '../transport/upload.js';
import { DailyXmlWriter, type EncodingProblem } from '../xml/builder.js';
import { discardUpload, findPendingUpload, getDraft, listDrafts, listUploads, markUploadSent, recordUpload, type Draft, type EntryUpload } from './drafts.js';
import { isoDate, uploadWindowStart } from './listing.js';
import { checkEntry, completeRecord, type DailyRecord } from './record.js';
import { uploadDateAllowed } from '../validate.js';

/** The portal's answers, word for word. */
export const UPLOAD_MESSAGES = {
  done: '暫存資料已全數上傳成功',
  nothing: '無資料可上傳',
  failed: '資料上傳失敗',
} as const;

/** Where entry uploads are built: `LABUP_HOME/entry/outbox`. */
export function entryOutbox(env: Env): string {
  return join(dataHome(env), 'entry', 'outbox');
}

/** Where the check files of 檢核錯誤 uploads of drafts are kept: `LABUP_HOME/entry/checks`. */
export function entryChecksDir(env: Env): string {
  return join(dataHome(env), 'entry', 'checks');
}

/** The 暫存 drafts the upload list offers: created within the last year (近一年內), oldest first. */
export function uploadCandidates(store: Store, clock: Clock): Draft[] {
  return listDrafts(store, { statuses: ['draft'], createdFrom: isoDate(uploadWindowStart(clock)) });
}

export interface UploadDraftsOptions {
  store: Store;
  /** The portal, or how to open it: opened only when there is something to send. */
  portal: PortalConnection | (() => Promise<PortalConnection>);
  clock: Clock;
  /** Where the ZIP is built (default `LABUP_HOME/entry/outbox`). */
  outbox: string;
  /** The drafts chosen (暫存 only). */
  ids?: number[];
  /** Every 暫存 draft of the last year that has no errors (those with errors are skipped). */
  all?: boolean;
  host?: IoHost;
  showIds?: boolean;
}

export interface SkippedDraft {
  id: number;
  errorCount: number;
}

export interface InvalidDraft {
  id: number;
  errors: Finding[];
}

export type EntryUploadOutcome =
  | {
      ok: true;
      /** 暫存資料已全數上傳成功 */
      message: string;
      /** 收件序號 */
      receiptNo: string;
      /** 上傳日期, `YYY/MM/DD`. */
      uploadDate: string;
      /** 傳送時間, ISO 8601 (+08:00). */
      sentAt: string;
      /** The h16 every uploaded record carries. */
      h16: string;
      status: SubmissionStatus;
      statusText: string;
      file: string;
      fileName: string;
      /** Draft ids in hdata order. */
      drafts: number[];
      /** With `all`: drafts left out because they have errors. */
      skipped: SkippedDraft[];
      /** The portal already had this ZIP (a retry): same 收件序號, nothing sent twice. */
      replayed: boolean;
      /** The ZIP of an earlier, unfinished try was sent again. */
      resent: boolean;
    }
  | { ok: false; reason: 'nothing'; message: string; skipped: SkippedDraft[] }
  | { ok: false; reason: 'invalid'; message: string; drafts: InvalidDraft[] };

/** The records as they go out: defaults applied, h16 stamped. */
function outgoing(d: Draft, h16: string): DailyRecord {
  const rec = completeRecord(d.record);
  rec.header.h16 = h16;
  return rec;
}

/** Identifies the drafts' content (h16 aside): a retry may reuse the ZIP only if it is the same. */
function fingerprintOf(drafts: Draft[]): string {
  const content = drafts.map((d) => [d.id, completeRecord(d.record)]);
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

async function buildZip(drafts: Draft[], h16: string, outbox: string, clock: Clock): Promise<{ file: string; fileName: string }> {
  const writer = new DailyXmlWriter({ encoding: 'big5' });
  const parts: Buffer[] = [writer.head()];
  for (const d of drafts) {
    const problems: EncodingProblem[] = [];
    parts.push(writer.record(outgoing(d, h16), problems));
    if (problems.length) {
      const p = problems[0]!;
      throw dataError('ENTRY_UNENCODABLE', `draft #${d.id}: “${p.char}” in ${p.field}${p.item !== null ? ` of item ${p.item + 1}` : ''} cannot be written in Big5 (code page 950)`, {
        hint: `Edit the draft (labup entry edit ${d.id}) and use a character Big5 has.`,
      });
    }
  }
  parts.push(writer.tail());
  const xml = Buffer.concat(parts);
  try {
    await mkdir(outbox, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fileError(err, outbox, 'create');
  }
  const institution = drafts[0]!.record.header.h2 ?? '';
  const fileName = await nextApiName(outbox, institution, h16.slice(0, 7));
  const temp = join(outbox, `.labup-entry-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const zip = await ZipWriter.create(temp, { mode: 0o600 });
  try {
    const entry = await zip.addEntry(entryNameFor(fileName), { mtime: taipeiParts(clock.now()), mode: 0o600 });
    await entry.write(xml);
    await entry.end();
    await zip.close();
    return { file: await placeFile(temp, outbox, fileName, false), fileName };
  } catch (err) {
    await zip.abort();
    throw err;
  }
}

/** Removes a built upload that will not be sent, and its ZIP. */
async function discard(store: Store, u: EntryUpload, clock: Clock): Promise<void> {
  discardUpload(store, u.id, clock);
  await rm(u.file, { force: true });
}

export async function uploadDrafts(o: UploadDraftsOptions): Promise<EntryUploadOutcome> {
  const { store, clock } = o;
  if (!o.ids?.length && !o.all) throw usageError('ENTRY_UPLOAD_WHICH', 'no drafts chosen to upload', { hint: 'Give --ids 3,4 or --all (every 暫存 draft of the last year).' });
  let drafts: Draft[];
  const skipped: SkippedDraft[] = [];
  const now = rocTimestamp(clock.now());
  if (o.ids?.length) {
    drafts = [...new Set(o.ids)].sort((a, b) => a - b).map((id) => getDraft(store, id));
    const notDraft = drafts.filter((d) => d.status !== 'draft');
    if (notDraft.length) {
      const d = notDraft[0]!;
      throw usageError('ENTRY_NOT_DRAFT', `draft #${d.id} is ${d.statusText}${d.receiptNo ? ` (收件序號 ${d.receiptNo})` : ''}; only 暫存 drafts are uploaded`, {
        hint: d.status === 'failed' ? `Correct it first (labup entry edit ${d.id} …): it then becomes 暫存 again.` : 'Choose 暫存 drafts (labup entry list --status draft).',
      });
    }
    const invalid: InvalidDraft[] = [];
    for (const d of drafts) {
      const check = checkEntry(d.record, { h16: now, showIds: o.showIds === true });
      if (!check.ok) invalid.push({ id: d.id, errors: check.errors });
    }
    if (invalid.length) {
      return { ok: false, reason: 'invalid', message: `${invalid.length} draft(s) have errors; nothing was uploaded`, drafts: invalid };
    }
  } else {
    drafts = [];
    for (const d of uploadCandidates(store, clock)) {
      const check = checkEntry(d.record, { h16: now });
      if (check.ok) drafts.push(d);
      else skipped.push({ id: d.id, errorCount: check.errors.length });
    }
    if (skipped.length) o.host?.notify({ level: 'warn', code: 'ENTRY_SKIPPED', message: `${skipped.length} draft(s) with errors left out: #${skipped.map((s) => s.id).join(', #')} (labup entry show ID lists them)` });
  }
  if (drafts.length === 0) return { ok: false, reason: 'nothing', message: UPLOAD_MESSAGES.nothing, skipped };

  const institutions = [...new Set(drafts.map((d) => d.record.header.h2 ?? ''))];
  if (institutions.length > 1) {
    throw usageError('ENTRY_MIXED_INSTITUTIONS', `the chosen drafts carry different h2 醫事機構代碼 (${institutions.join(', ')}); one upload is for one institution`, {
      hint: 'Upload each institution’s drafts separately with --ids, signing in with that institution’s card.',
    });
  }

  const portal = typeof o.portal === 'function' ? await o.portal() : o.portal;
  const session = await failedAs(() => portal.signIn(), drafts.map((d) => d.id));
  const h2 = institutions[0]!;
  if (h2 !== session.institutionCode) {
    throw dataError('ENTRY_INSTITUTION_MISMATCH', `the drafts carry h2 ${h2 || '(empty)'}, but the card signs in as ${session.institutionCode}: the portal would reject them (檢核錯誤, NHIA 28)`, {
      hint: `Correct h2 (labup entry edit ID --set h2=${session.institutionCode}), or sign in with the card of ${h2}.`,
    });
  }

  // A ZIP built earlier for exactly these drafts, not yet answered by the portal, is sent again as it is.
  const portalId = portal.client.id;
  const ids = drafts.map((d) => d.id);
  const fingerprint = fingerprintOf(drafts);
  let upload = findPendingUpload(store, portalId, ids, fingerprint);
  const builtFor = upload ? parseRocDate(upload.uploadDate) : undefined;
  if (upload && (!builtFor?.ok || !uploadDateAllowed(builtFor.value, clock) || !existsSync(upload.file))) upload = undefined;
  // Other unsent builds holding any of these drafts are stale now.
  for (const u of listUploads(store, { states: ['built'] })) {
    if (u.id !== upload?.id && u.draftIds.some((id) => ids.includes(id))) await discard(store, u, clock);
  }
  const resent = upload !== undefined;
  if (!upload) {
    const built = await buildZip(drafts, now, o.outbox, clock);
    const { sha256 } = await sha256File(built.file);
    upload = recordUpload(store, { portal: portalId, draftIds: ids, fingerprint, h16: now, uploadDate: now.slice(0, 7), file: built.file, fileName: built.fileName, contentSha256: sha256 }, clock);
  } else {
    o.host?.notify({ level: 'info', code: 'ENTRY_UPLOAD_RESEND', message: `${upload.fileName}: an earlier try did not finish; sending the same file again` });
  }

  const file = upload;
  const outcome = await failedAs(() => uploadZip({ file: file.file, uploadDate: file.uploadDate, portal, store, clock, ...(o.host ? { host: o.host } : {}), showIds: o.showIds === true }), ids, file.fileName);
  if (!outcome.ok) {
    // The drafts were checked one by one; a file-level finding is left (e.g. the upload date).
    const errors = outcome.report.errors;
    const byDraft = new Map<number, Finding[]>();
    for (const f of errors) {
      const id = f.hdata !== null ? ids[f.hdata - 1] : undefined;
      const key = id ?? ids[0]!;
      byDraft.set(key, [...(byDraft.get(key) ?? []), f]);
    }
    await discard(store, upload, clock);
    return { ok: false, reason: 'invalid', message: `the file built from the drafts has ${outcome.report.errorCount} error(s); nothing was uploaded`, drafts: [...byDraft].map(([id, errs]) => ({ id, errors: errs })) };
  }
  markUploadSent(store, upload.id, { receiptNo: outcome.receiptNo, sentAt: outcome.sentAt, status: outcome.status }, clock);
  return {
    ok: true,
    message: UPLOAD_MESSAGES.done,
    receiptNo: outcome.receiptNo,
    uploadDate: outcome.uploadDate,
    sentAt: outcome.sentAt,
    h16: upload.h16,
    status: outcome.status,
    statusText: STATUS_TEXT[outcome.status],
    file: upload.file,
    fileName: upload.fileName,
    drafts: ids,
    skipped,
    replayed: outcome.replayed,
    resent,
  };
}

/** A portal or network failure (after the client's retries) is the portal's 資料上傳失敗 (exit 5). */
async function failedAs<T>(step: () => Promise<T>, drafts: number[], fileName?: string): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof LabupError && err.kind === 'portal') {
      throw portalError('ENTRY_UPLOAD_FAILED', `${UPLOAD_MESSAGES.failed} — ${maskIdsInText(err.message)}`, {
        hint: 'Send again (labup entry upload with the same drafts): the same file goes out, and the portal never takes it twice.',
        details: { cause: err.code, drafts, ...(fileName ? { file: fileName } : {}) },
        cause: err,
      });
    }
    throw err;
  }
}
