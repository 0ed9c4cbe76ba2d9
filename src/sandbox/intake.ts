/**
 * Receiving an upload: 上傳日期 (today or yesterday, Asia/Taipei) and the ZIP. The body is streamed
 * to disk while hashed; a ZIP that breaks NHI's rules (exactly one XML, letters-and-digits names,
 * not encrypted) is refused at once. Then one IMMEDIATE transaction either finds the submission
 * made earlier with the same idempotency key (a replay: same 收件序號, nothing created) or allocates
 * the next 收件序號 of the day and records the submission, due for processing after the delay.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Clock } from '../clock.js';
import { LabupError } from '../errors.js';
import { FINDINGS } from '../format/findings.js';
import { formatRocDate, formatRocSlashed, parseUserDate, taipeiToday } from '../format/roc.js';
import { isNhiFileName, readZipDirectory } from '../archive/zip-reader.js';
import { uploadDateAllowed } from '../validate.js';
import { HEADER, idempotencyKey, parseContentDigest } from '../transport/protocol.js';
import { ApiError, badRequest, unprocessable } from './api-error.js';
import type { Session } from './auth.js';
import type { SandboxLayout } from './layout.js';
import type { Db, SubmissionRow } from './state.js';

export interface IntakeOptions {
  db: Db;
  layout: SandboxLayout;
  clock: Clock;
  processingDelayMs: number;
  maxUploadBytes: number;
}

export interface IntakeResult {
  row: SubmissionRow;
  replayed: boolean;
}

/** 上傳日期 as the portal takes it: `YYY/MM/DD` or `YYYMMDD`. */
export function parseUploadDateParam(value: string | null): { year: number; month: number; day: number } {
  if (!value) throw badRequest('UPLOAD_DATE_REQUIRED', '上傳日期 is required (uploadDate=YYY/MM/DD or YYYMMDD)');
  const v = value.trim();
  const d = /^\d{3}\/\d{2}\/\d{2}$/.test(v) || /^\d{7}$/.test(v) ? parseUserDate(v) : undefined;
  if (!d) throw badRequest('BAD_UPLOAD_DATE', `上傳日期 “${v.slice(0, 20)}” is not a date written YYY/MM/DD or YYYMMDD`, 'Write the ROC date, e.g. 115/11/25.');
  return d;
}

function zipRefusal(code: keyof typeof FINDINGS, detail: string): ApiError {
  const def = FINDINGS[code];
  return unprocessable(code, `${def.zh} — ${def.en}: ${detail}`, def.hint);
}

/** NHI's rules for the archive itself; throws a 422 naming the rule broken. */
async function checkZip(path: string, fileName: string): Promise<{ entry: string }> {
  if (!/\.zip$/i.test(fileName) || !isNhiFileName(fileName)) throw zipRefusal('ZIP_ENTRY_NAME', `the ZIP is named “${fileName}” (letters and digits, ending .zip)`);
  let dir;
  try {
    dir = await readZipDirectory(path);
  } catch (err) {
    if (err instanceof LabupError) throw unprocessable(err.code, err.message.replace(path, fileName), 'Send a ZIP archive made by a standard tool (labup pack makes one).');
    throw err;
  }
  const entries = dir.entries;
  if (entries.length !== 1 || entries[0]!.isDirectory) {
    throw zipRefusal('ZIP_ENTRY_COUNT', `it holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${entries.length ? ': ' + entries.slice(0, 5).map((e) => e.name).join(', ') : ''}`);
  }
  const e = entries[0]!;
  if (!e.name.toLowerCase().endsWith('.xml')) throw zipRefusal('ZIP_ENTRY_TYPE', e.name);
  if (e.isSymlink) throw zipRefusal('ZIP_ENTRY_TYPE', `${e.name} is a symbolic link`);
  if (!isNhiFileName(e.name)) throw zipRefusal('ZIP_ENTRY_NAME', `the entry is named “${e.name}”`);
  if (e.encrypted) throw zipRefusal('ZIP_ENCRYPTED', e.name);
  if (e.method !== 0 && e.method !== 8) throw unprocessable('ZIP_UNSUPPORTED', `${e.name} uses compression method ${e.method}`, 'Repack with standard deflate compression.');
  return { entry: e.name };
}

/** Streams the request body to `path`, returning its size and SHA-256. */
async function receiveBody(req: IncomingMessage, path: string, max: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > max) {
        cb(new ApiError(413, 'UPLOAD_TOO_LARGE', `the upload is larger than ${max} bytes`, 'Split the day’s data into smaller files.'));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(req, meter, createWriteStream(path, { mode: 0o600 }));
  return { size, sha256: hash.digest('hex') };
}

export async function receiveUpload(o: IntakeOptions, req: IncomingMessage, url: URL, session: Session): Promise<IntakeResult> {
  const uploadDate = parseUploadDateParam(url.searchParams.get('uploadDate'));
  const fileName = (url.searchParams.get('fileName') ?? '').trim();
  if (!fileName) throw badRequest('FILE_NAME_REQUIRED', 'the ZIP’s name is required (fileName=TOTFA.zip)');
  if (!uploadDateAllowed(uploadDate, o.clock)) {
    const today = taipeiToday(o.clock.now());
    throw unprocessable('UPLOAD_DATE_NOT_ALLOWED', `上傳日期 ${formatRocSlashed(uploadDate)} is neither today (${formatRocSlashed(today)}) nor yesterday`, FINDINGS.UPLOAD_DATE_NOT_ALLOWED.hint, {
      uploadDate: formatRocSlashed(uploadDate),
      today: formatRocSlashed(today),
    });
  }
  const key = req.headers[HEADER.idempotencyKey];
  if (key !== undefined && (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key))) {
    throw badRequest('BAD_IDEMPOTENCY_KEY', 'Idempotency-Key must be 64 lowercase hex digits', 'See docs/portal-protocol.md: SHA-256 of the ZIP’s SHA-256 and the 上傳日期.');
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > o.maxUploadBytes) {
    throw new ApiError(413, 'UPLOAD_TOO_LARGE', `the upload (${declared} bytes) is larger than ${o.maxUploadBytes} bytes`, 'Split the day’s data into smaller files.');
  }
  const digestHeader = req.headers[HEADER.contentDigest];
  const declaredSha = typeof digestHeader === 'string' ? parseContentDigest(digestHeader) : undefined;
  if (typeof digestHeader === 'string' && declaredSha === undefined) throw badRequest('BAD_CONTENT_DIGEST', 'Content-Digest must carry sha-256=:<base64>:');

  const temp = join(o.layout.incoming, `${randomBytes(12).toString('hex')}.part`);
  let kept: string | undefined;
  try {
    const body = await receiveBody(req, temp, o.maxUploadBytes);
    if (body.size === 0) throw badRequest('EMPTY_UPLOAD', 'the request carried no ZIP');
    if (declaredSha && declaredSha !== body.sha256) {
      throw badRequest('CONTENT_DIGEST_MISMATCH', 'the ZIP received does not match its Content-Digest (damaged or cut short in transit)', 'Send it again.');
    }
    const roc = formatRocDate(uploadDate);
    const expectedKey = idempotencyKey(body.sha256, roc);
    if (typeof key === 'string' && key !== expectedKey) {
      throw badRequest('IDEMPOTENCY_KEY_MISMATCH', 'Idempotency-Key does not match this ZIP and 上傳日期', 'Compute it as SHA-256 of the ZIP’s SHA-256 (hex), a newline and the 上傳日期 (YYYMMDD).');
    }
    await checkZip(temp, fileName);
    kept = join(o.layout.submissions, `${randomBytes(16).toString('hex')}.zip`);
    await rename(temp, kept);
    const now = o.clock.now();
    const t = now.getTime();
    const result = o.db
      .transaction((): IntakeResult => {
        if (typeof key === 'string') {
          const prior = o.db.prepare('SELECT * FROM submissions WHERE institution_code = ? AND idempotency_key = ?').get(session.institutionCode, key) as SubmissionRow | undefined;
          if (prior) return { row: prior, replayed: true };
        }
        const day = formatRocDate(taipeiToday(now));
        const seq = (o.db.prepare('INSERT INTO receipt_counters (day, last) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last').get(day) as { last: number }).last;
        if (seq > 999_999) throw new ApiError(503, 'RECEIPTS_EXHAUSTED', 'no 收件序號 left today', 'Send it again tomorrow.');
        const receiptNo = `${day}${String(seq).padStart(6, '0')}`;
        const info = o.db
          .prepare(
            `INSERT INTO submissions (receipt_no, institution_code, user_id, upload_date, file_name, zip_path, size, content_sha256, idempotency_key, sent_at, due_at, status)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'checking')`,
          )
          .run(receiptNo, session.institutionCode, session.userId, roc, fileName, kept!, body.size, body.sha256, typeof key === 'string' ? key : `none:${randomBytes(16).toString('hex')}`, t, t + o.processingDelayMs);
        return { row: o.db.prepare('SELECT * FROM submissions WHERE id = ?').get(info.lastInsertRowid) as SubmissionRow, replayed: false };
      })
      .immediate();
    if (result.replayed) await rm(kept, { force: true });
    return result;
  } catch (err) {
    await rm(temp, { force: true });
    if (kept) await rm(kept, { force: true });
    throw err;
  }
}
