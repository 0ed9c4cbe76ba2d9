/**
 * Processing one received upload, as the portal does after its delay: the validation core with
 * 上傳日期 as the upload date, plus the checks only the portal can make — h2 must be the signed-in
 * institution (NHIA 28), and a 表七 correction key already accepted with the same or a later h16 is
 * a duplicate (NHIA 25; a later h16 is a correction and replaces it). Then the check file, and one
 * transaction that sets 檢核正確/檢核錯誤, offers the file and, for an accepted file, records its keys.
 *
 * Runs in a worker thread (`process-worker.ts`) so the API stays responsive while a large file is
 * read; the same function runs inline where no compiled worker is available.
 */
import { randomBytes, createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixedClock } from '../clock.js';
import { LabupError } from '../errors.js';
import { H_INDEX } from '../format/fields.js';
import { parseRocDate } from '../format/roc.js';
import { correctionKey, type Emit } from '../format/rules.js';
import { validateFile, type FileReport } from '../validate.js';
import type { HdataRecord } from '../xml/daily-reader.js';
import { checkFileBytes, checkFileRemark, rowsFromFindings, unreadableRow, type CheckRow } from './check-file.js';
import { checkFileName } from './layout.js';
import { openSandboxDb, type SubmissionRow } from './state.js';

export interface ProcessJob {
  dbFile: string;
  resultsDir: string;
  submissionId: number;
  /** The claim this job holds; the result is committed only if the claim is still ours. */
  claimInstance: string;
  /** The sandbox clock when the job started; the check time adds the time the job took. */
  startedAtMs: number;
  retentionMs: number;
  /** Errors listed in the check file at most (all are counted). */
  maxRows?: number;
}

export interface ProcessOutcome {
  receiptNo: string;
  status: 'passed' | 'failed';
  errorCount: number;
  /** False when the claim was lost (another process finished it): nothing was written. */
  committed: boolean;
  fileId: string | null;
}

const H2 = H_INDEX.get('h2')!;
const H16 = H_INDEX.get('h16')!;

export async function processSubmission(job: ProcessJob): Promise<ProcessOutcome> {
  const t0 = performance.now();
  const db = openSandboxDb(job.dbFile);
  try {
    const row = db.prepare('SELECT * FROM submissions WHERE id = ?').get(job.submissionId) as SubmissionRow | undefined;
    if (!row) throw new Error(`submission ${job.submissionId} not found`);
    const uploadDate = parseRocDate(row.upload_date);
    if (!uploadDate.ok) throw new Error(`submission ${row.receipt_no} has a bad upload date ${row.upload_date}`);
    const accepted = db.prepare('SELECT h16, receipt_no FROM accepted_records WHERE institution_code = ? AND correction_key = ?');
    // An institution's first accepted upload has nothing to compare with: skip the lookups.
    const anyAccepted = db.prepare('SELECT 1 FROM accepted_records WHERE institution_code = ? LIMIT 1').get(row.institution_code) !== undefined;
    /** Keys this file would make accepted (correction key → h16). */
    const keys = new Map<string, string>();
    const extraChecks = (rec: HdataRecord, emit: Emit) => {
      const h2 = rec.fields[H2];
      if (h2 && h2.value !== row.institution_code) {
        emit({ code: 'INSTITUTION_MISMATCH', field: 'h2', hdata: rec.index, rdata: null, line: h2.line, column: h2.column, value: h2.value, detail: `signed in as ${row.institution_code}` });
      }
      const h16 = rec.fields[H16]?.value;
      if (!h16) return;
      const key = correctionKey(rec);
      const prior = anyAccepted ? (accepted.get(row.institution_code, key) as { h16: string; receipt_no: string } | undefined) : undefined;
      if (prior && h16 <= prior.h16) {
        const at = rec.fields[H16]!;
        emit({ code: 'ALREADY_ACCEPTED', field: 'h16', hdata: rec.index, rdata: null, line: at.line, column: at.column, value: h16, detail: `accepted in 收件序號 ${prior.receipt_no} with h16 ${prior.h16}` });
        return;
      }
      const seen = keys.get(key);
      if (seen === undefined || h16 > seen) keys.set(key, h16);
    };

    let report: FileReport | undefined;
    let rows: CheckRow[];
    let unreadable = false;
    try {
      report = await validateFile(row.zip_path, {
        uploadDate: uploadDate.value,
        clock: fixedClock(job.startedAtMs),
        skipUploadDateWindow: true,
        showIds: true,
        maxStoredFindings: job.maxRows ?? 100_000,
        extraChecks,
      });
      rows = rowsFromFindings(report.errors);
    } catch (err) {
      if (!(err instanceof LabupError)) throw err;
      unreadable = true;
      rows = [unreadableRow(err.code, err.message.replace(row.zip_path, row.file_name))];
    }
    const errorCount = report ? report.errorCount : 1;
    const status: 'passed' | 'failed' = errorCount === 0 ? 'passed' : 'failed';
    const checkedAt = Math.round(job.startedAtMs + (performance.now() - t0));
    const name = checkFileName(row.receipt_no);
    const bytes = checkFileBytes({
      receiptNo: row.receipt_no,
      uploadDate: uploadDate.value,
      institutionCode: row.institution_code,
      fileName: report?.entry ?? row.file_name,
      checkedAt: new Date(checkedAt),
      status,
      counts: report?.counts ?? { hdata: 0, rdata: 0 },
      errorCount,
      rows,
    });
    const path = join(job.resultsDir, name);
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, path);
    const fileId = randomBytes(8).toString('hex');
    const committed = db
      .transaction(() => {
        const now = db.prepare('SELECT status, claim_instance FROM submissions WHERE id = ?').get(row.id) as { status: string; claim_instance: string | null };
        if (now.status !== 'checking' || now.claim_instance !== job.claimInstance) return false;
        db.prepare(
          `UPDATE submissions SET status = ?, entry_name = ?, hdata_count = ?, rdata_count = ?, error_count = ?, warning_count = ?, checked_at = ?,
             claim_instance = NULL, claim_pid = NULL, claimed_at = NULL WHERE id = ?`,
        ).run(status, report?.entry ?? null, report?.counts.hdata ?? 0, report?.counts.rdata ?? 0, errorCount, report?.warningCount ?? 0, checkedAt, row.id);
        db.prepare(
          `INSERT INTO files (id, submission_id, receipt_no, institution_code, upload_date, name, remark, path, size, sha256, provided_at, expires_at, origin)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'check')`,
        ).run(fileId, row.id, row.receipt_no, row.institution_code, row.upload_date, name, checkFileRemark(status, unreadable), path, bytes.length, createHash('sha256').update(bytes).digest('hex'), checkedAt, checkedAt + job.retentionMs);
        if (status === 'passed') {
          // One statement for all the keys (a large day has hundreds of thousands), handed over as
          // JSON and sorted by SQLite so that the key index is filled in order.
          const pairs: Array<[string, string]> = [];
          for (const [key, h16] of keys) pairs.push([key, h16]);
          db.prepare(
            `INSERT INTO accepted_records (institution_code, correction_key, h16, receipt_no)
             SELECT ?, value ->> 0, value ->> 1, ? FROM json_each(?) WHERE true ORDER BY 2
             ON CONFLICT (institution_code, correction_key) DO UPDATE SET h16 = excluded.h16, receipt_no = excluded.receipt_no WHERE excluded.h16 > accepted_records.h16`,
          ).run(row.institution_code, row.receipt_no, JSON.stringify(pairs));
        }
        return true;
      })
      .immediate();
    return { receiptNo: row.receipt_no, status, errorCount, committed, fileId: committed ? fileId : null };
  } finally {
    db.close();
  }
}
