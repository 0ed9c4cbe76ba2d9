/**
 * `download`: list the related files (by 收件序號, or by 上傳日期 range and a 提供下載日期 window) and
 * fetch each. A plain download arrives as a ZIP and is unpacked to the check file itself; an
 * encrypted one (加密下載) is kept as the ZIP the portal made, its password being the signed-in
 * user's national ID. Every file is written to a temporary name in the same folder and renamed,
 * mode 0600 (check files hold unmasked patient IDs); a file already downloaded with the same name
 * and content is skipped. Failures are collected per file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { LabupError, fileError, portalError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { formatRocDate, parseUserDate } from '../format/roc.js';
import { readEntry, readZipDirectory } from '../archive/zip-reader.js';
import type { Store } from '../store/store.js';
import { findDownload, recordDownload } from '../store/journal.js';
import { pagingOf, walkPages, type FileQuery, type PortalClient, type PortalFile, type ZipEncryption } from './portal-client.js';
import type { ResendRequest } from './portal-manual.js';
import { deliveryZipName } from './protocol.js';

export interface DownloadFilesOptions {
  client: PortalClient;
  receiptNo?: string;
  /** 上傳日期 range (ROC or ISO). */
  from?: string;
  to?: string;
  /** 提供下載日期 within this many days (1–14, default 7). */
  withinDays?: number;
  /** Only this page of the listing (1-based); without it, every page. */
  page?: number;
  /** Page size (default 20 for one page; 100 when taking every page). */
  pageSize?: number;
  /** The listing's order (default 提供下載日期, newest first, as the portal sorts it). */
  sort?: NonNullable<FileQuery['sort']>;
  order?: 'asc' | 'desc';
  /** List what is offered (and whether it is here already) without downloading. */
  listOnly?: boolean;
  encrypted?: boolean;
  encryption?: ZipEncryption;
  outDir: string;
  store?: Store;
  clock: Clock;
  host?: IoHost;
}

export interface DownloadedEntry {
  /** The file's name on the portal (`1300_<收件序號>.msg.txt`). */
  name: string;
  /** Where it is (or already was) on disk. */
  path: string;
  receiptNo: string;
  encrypted: boolean;
  /** Already downloaded with the same content: not fetched again. */
  skipped: boolean;
  fileId: string;
  size: number;
  sha256: string;
  uploadDate: string;
  providedAt: string;
  /** 提供下載日期 as the portal shows it (`115/11/25 20:31`). */
  providedAtText: string;
  remark: string;
  /** With `listOnly`: nothing was fetched (`skipped` then says whether it is here already). */
  listed?: boolean;
}

export interface DownloadFailure {
  name: string;
  receiptNo: string;
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

/** Which part of the listing this was: one page, or (`page: null`) every page. */
export interface ListingPaging {
  page: number | null;
  pageSize: number;
  total: number;
  totalPages: number;
  sort: string;
  order: 'asc' | 'desc';
}

export interface DownloadReport {
  files: DownloadedEntry[];
  failures: DownloadFailure[];
  paging: ListingPaging;
  /** The filters the portal applied (its defaults included: 提供下載日期 within 7 days). */
  criteria: Record<string, unknown>;
  /** 申請重送 still pending (申請重送中), of the receipt asked for or of all. */
  pendingResends: ResendRequest[];
}

function dateArg(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const d = parseUserDate(value);
  if (!d) throw usageError('BAD_DATE', `${what} “${value}” is not a date`, { hint: 'Write ROC YYY/MM/DD or YYYMMDD, or ISO YYYY-MM-DD.' });
  return formatRocDate(d);
}

/** Writes `data` to `path` through a temporary file in the same folder, mode 0600 unless told. */
export async function writeFileAtomic(path: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(resolve(path, '..'), `.${randomBytes(6).toString('hex')}.labup-tmp`);
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fileError(err, path, 'write');
  }
}

async function sha256Of(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/** The one file inside a delivered ZIP. */
async function unpackDelivery(zip: Uint8Array, dir: string, expectedName: string): Promise<Buffer> {
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.labup-zip`);
  await writeFile(tmp, zip, { mode: 0o600 });
  try {
    const d = await readZipDirectory(tmp);
    const entry = d.entries.find((e) => e.name === expectedName) ?? (d.entries.length === 1 ? d.entries[0] : undefined);
    if (!entry) throw portalError('DOWNLOAD_UNEXPECTED', `the portal's ZIP does not hold ${expectedName}`);
    const chunks: Buffer[] = [];
    for await (const c of readEntry(d, entry, { maxBytes: 512 * 1024 * 1024 })) chunks.push(c);
    return Buffer.concat(chunks);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function listOffered(o: DownloadFilesOptions): Promise<{ files: PortalFile[]; paging: ListingPaging; criteria: Record<string, unknown> }> {
  const from = dateArg(o.from, '--from');
  const to = dateArg(o.to, '--to');
  const sort = o.sort ?? 'providedAt';
  const order = o.order ?? 'desc';
  const query: FileQuery = {
    ...(o.receiptNo ? { receiptNo: o.receiptNo } : {}),
    ...(from ? { uploadDateFrom: from } : {}),
    ...(to ? { uploadDateTo: to } : {}),
    ...(o.withinDays ? { withinDays: o.withinDays } : {}),
    sort,
    order,
  };
  if (o.page !== undefined) {
    const p = await o.client.listFiles({ ...query, page: o.page, pageSize: o.pageSize ?? 20 });
    return { files: p.items, paging: pagingOf(p, sort, order), criteria: p.criteria ?? {} };
  }
  const pageSize = o.pageSize ?? 100;
  const { items, last } = await walkPages((page) => o.client.listFiles({ ...query, page, pageSize }));
  return { files: items, paging: { ...pagingOf(last, sort, order), page: null }, criteria: last.criteria ?? {} };
}

/** The 申請重送 still pending; a portal that does not know them leaves the list empty. */
async function pendingResends(o: DownloadFilesOptions): Promise<ResendRequest[]> {
  try {
    const query = { status: 'pending' as const, ...(o.receiptNo ? { receiptNos: [o.receiptNo] } : {}) };
    return (await walkPages((page) => o.client.listResendRequests({ ...query, page, pageSize: 100 }), 10)).items;
  } catch (err) {
    if (!(err instanceof LabupError) || err.kind === 'internal' || err.kind === 'auth') throw err;
    o.host?.notify({ level: 'verbose', code: 'RESEND_LIST_FAILED', message: `pending 申請重送 not listed: ${err.message}` });
    return [];
  }
}

export async function downloadFiles(o: DownloadFilesOptions): Promise<DownloadReport> {
  if (o.receiptNo !== undefined && !/^\d{13}$/.test(o.receiptNo)) throw usageError('BAD_RECEIPT', `“${o.receiptNo}” is not a 收件序號 (13 digits)`);
  if (o.withinDays !== undefined && (!Number.isInteger(o.withinDays) || o.withinDays < 1 || o.withinDays > 14)) {
    throw usageError('BAD_WITHIN', `--within must be 1 to 14 days (files are kept two weeks)`);
  }
  const outDir = resolve(o.outDir);
  const listing = await listOffered(o);
  const pending = await pendingResends(o);
  const listed = listing.files;
  if (!o.listOnly) {
    try {
      await mkdir(outDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fileError(err, outDir, 'create');
    }
  }
  const files: DownloadedEntry[] = [];
  const failures: DownloadFailure[] = [];
  const encrypted = o.encrypted === true;
  for (const f of listed) {
    const path = join(outDir, encrypted ? deliveryZipName(f.name) : f.name);
    const base = { name: f.name, path, receiptNo: f.receiptNo, encrypted, fileId: f.id, size: f.size, sha256: f.sha256, uploadDate: f.uploadDate, providedAt: f.providedAt, providedAtText: f.providedAtText, remark: f.remark };
    if (o.listOnly) {
      files.push({ ...base, skipped: await alreadyHere(o, f, path, encrypted), listed: true });
      continue;
    }
    try {
      if (await alreadyHere(o, f, path, encrypted)) {
        files.push({ ...base, skipped: true });
        continue;
      }
      const got = await o.client.download(f.id, { encrypted, ...(o.encryption ? { encryption: o.encryption } : {}) });
      let data: Uint8Array;
      if (encrypted) {
        data = got.data;
      } else {
        data = await unpackDelivery(got.data, outDir, f.name);
        const sha = createHash('sha256').update(data).digest('hex');
        if (sha !== f.sha256) throw portalError('DOWNLOAD_CORRUPT', `${f.name}: the content does not match the portal's SHA-256`, { hint: 'Download it again.' });
      }
      await writeFileAtomic(path, data);
      if (o.store) recordDownload(o.store, { portal: o.client.id, fileId: f.id, name: f.name, receiptNo: f.receiptNo, contentSha256: f.sha256, encrypted, path }, o.clock);
      o.host?.notify({ level: 'verbose', code: 'DOWNLOADED', message: `${f.name} → ${path}` });
      files.push({ ...base, skipped: false });
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      failures.push({ name: f.name, receiptNo: f.receiptNo, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode });
    }
  }
  return { files, failures, paging: listing.paging, criteria: listing.criteria, pendingResends: pending };
}

async function alreadyHere(o: DownloadFilesOptions, f: PortalFile, path: string, encrypted: boolean): Promise<boolean> {
  if (!encrypted) return (await sha256Of(path)) === f.sha256;
  // An encrypted ZIP differs at every download (random salt): trust the journal when the file is still there.
  if (!o.store) return false;
  const prior = findDownload(o.store, o.client.id, f.id, true);
  return prior !== undefined && prior.path === path && prior.contentSha256 === f.sha256 && (await sha256Of(path)) !== undefined;
}
