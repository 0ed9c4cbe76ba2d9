/**
 * `notices`: the job's 公告事項, newest first, paged; and their attachments (the user manual and
 * other documents) fetched into a folder. Attachments are public documents: written atomically
 * (a temporary file in the same folder, then renamed), mode 0644; one already there with the same
 * content is skipped, one that changed on the portal is replaced.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LabupError, fileError, portalError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { formatRocDate } from '../format/roc.js';
import { parseDateArg, type PageRequest } from '../query.js';
import { writeFileAtomic } from './download.js';
import { pagingOf, type PortalClient } from './portal-client.js';
import { sha256Hex } from './protocol.js';
import { isSafeAttachmentName, type Notice } from './portal-manual.js';

export interface ListNoticesOptions {
  client: PortalClient;
  /** Published on or after this date (ROC `YYY/MM/DD`, `YYYMMDD` or ISO). */
  since?: string;
  page?: Partial<PageRequest>;
}

export interface NoticesReport {
  notices: Notice[];
  paging: { page: number; pageSize: number; total: number; totalPages: number; sort: string; order: 'asc' | 'desc' };
  criteria: Record<string, unknown>;
}

export async function listNotices(o: ListNoticesOptions): Promise<NoticesReport> {
  const since = o.since === undefined ? undefined : formatRocDate(parseDateArg('--since', o.since));
  const sort = (o.page?.sort ?? 'publishedAt') as 'publishedAt' | 'title' | 'id';
  const order = o.page?.order ?? 'desc';
  const p = await o.client.listNotices({ ...(since ? { since } : {}), sort, order, page: o.page?.page ?? 1, pageSize: o.page?.pageSize ?? 20 });
  return { notices: p.items, paging: pagingOf(p, sort, order), criteria: p.criteria ?? {} };
}

export interface FetchAttachmentsOptions {
  client: PortalClient;
  noticeId: number;
  /** Only this attachment (by name); default all of the notice's. */
  attachment?: string;
  outDir: string;
  host?: IoHost;
}

export interface FetchedAttachment {
  name: string;
  path: string;
  size: number;
  sha256: string;
  contentType: string;
  /** Already there with the same content: not written. */
  skipped: boolean;
  /** A different file of that name was there and has been replaced. */
  replaced: boolean;
}

export interface AttachmentFailure {
  name: string;
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export interface AttachmentsReport {
  notice: { id: number; title: string; publishedDate: string };
  files: FetchedAttachment[];
  failures: AttachmentFailure[];
}

export async function fetchAttachments(o: FetchAttachmentsOptions): Promise<AttachmentsReport> {
  if (!Number.isInteger(o.noticeId) || o.noticeId < 1) throw usageError('BAD_NOTICE_ID', `“${o.noticeId}” is not a notice number`, { hint: 'labup notices lists them with their numbers.' });
  const notice = await o.client.getNotice(o.noticeId);
  let wanted = notice.attachments;
  if (o.attachment !== undefined) {
    wanted = notice.attachments.filter((a) => a.name === o.attachment);
    if (wanted.length === 0) {
      throw usageError('ATTACHMENT_NOT_FOUND', `notice ${notice.id} has no attachment “${o.attachment}”`, {
        hint: notice.attachments.length ? `Its attachments: ${notice.attachments.map((a) => a.name).join(', ')}.` : 'It has no attachments.',
      });
    }
  }
  const outDir = resolve(o.outDir);
  const files: FetchedAttachment[] = [];
  const failures: AttachmentFailure[] = [];
  if (wanted.length) {
    try {
      await mkdir(outDir, { recursive: true });
    } catch (err) {
      throw fileError(err, outDir, 'create');
    }
  }
  for (const a of wanted) {
    try {
      if (!isSafeAttachmentName(a.name)) throw portalError('ATTACHMENT_NAME_UNSAFE', `the portal names an attachment “${a.name.slice(0, 120)}”, which cannot be a file name`, { hint: 'Nothing was written; tell the portal’s contact window (labup contact).' });
      const path = join(outDir, a.name);
      const here = await readFile(path).catch(() => undefined);
      if (here && sha256Hex(here) === a.sha256) {
        files.push({ name: a.name, path, size: a.size, sha256: a.sha256, contentType: a.contentType, skipped: true, replaced: false });
        continue;
      }
      const got = await o.client.downloadAttachment(notice.id, a.name);
      const sum = sha256Hex(got.data);
      if (sum !== a.sha256) throw portalError('DOWNLOAD_CORRUPT', `${a.name}: the content does not match the portal's SHA-256`, { hint: 'Download it again.' });
      await writeFileAtomic(path, got.data, 0o644);
      o.host?.notify({ level: 'verbose', code: 'ATTACHMENT_SAVED', message: `${a.name} → ${path}` });
      files.push({ name: a.name, path, size: got.data.length, sha256: sum, contentType: a.contentType, skipped: false, replaced: here !== undefined });
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      failures.push({ name: a.name, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode });
    }
  }
  return { notice: { id: notice.id, title: notice.title, publishedDate: notice.publishedDate }, files, failures };
}
