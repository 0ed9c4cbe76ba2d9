/**
 * `explain`: from a check-result file (or the ZIP it was downloaded in) to the records to fix.
 *
 * The check file's errors are grouped by their code with a plain explanation in zh-TW and English
 * and what to do; with a source — the uploaded XML or ZIP, or the export `labup pack` built it from
 * — each error is traced to the line (and column, row or JSON pointer) of the value to change, with
 * the patient (masked), the 醫令代碼 and the value the source holds now. The result is data; the
 * command renders it.
 */
import { basename } from 'node:path';
import { systemClock, taipeiIso, type Clock } from '../clock.js';
import { usageError } from '../errors.js';
import { maskFieldValue, maskId, maskIdsInText } from '../format/national-id.js';
import type { IoHost } from '../io-host.js';
import type { UserIdAnswer } from '../archive/user-id.js';
import { fieldNameOf, parseCheckFile, type CheckFile, type CheckFileEncoding, type CheckRow, type UnparsedLine } from './check-file.js';
import { explainCode, fieldRule, findingForRow, type CodeExplanation } from './codes.js';
import { readCheckInput, type CheckArchiveInfo } from './read-check.js';
import { wantedHdata, type SourceFormat, type SourceIndex, type SourcePlace } from './source.js';
import { openSource, type SourceReadOptions } from './open-source.js';

export interface ExplainOptions {
  /** Resolves relative paths (default: the process's working folder). */
  cwd?: string;
  /** The uploaded XML or ZIP, or the CSV / NDJSON export it was packed from. */
  source?: string;
  /** How the export was packed (column map, --hosp …), so rows group into the same hdata. */
  sourceOptions?: SourceReadOptions;
  /** Gives the user's ID for an encrypted download (see `userIdAsker`); asked only when needed. */
  userId?: (retry: boolean) => Promise<UserIdAnswer>;
  /** Tries at a prompt before giving up on a wrong ID (default 3). */
  attempts?: number;
  /** The check file to read when a downloaded ZIP holds several. */
  entry?: string;
  /** Also save the check file read from a ZIP into this folder (atomically, mode 0600). */
  saveTo?: string;
  /** National IDs unmasked in the result. */
  showIds?: boolean;
  clock?: Clock;
  host?: IoHost;
}

/** One error of the check file, explained and (with a source) traced to its record. */
export interface ExplainedError {
  /** 序號 */
  seq: number;
  /** Line of the row in the check file. */
  line: number;
  hdata: number | null;
  rdata: number | null;
  field: string | null;
  /** The field's Chinese name (資料名稱). */
  fieldName: string | null;
  code: string;
  /** 錯誤說明, IDs masked unless shown. */
  message: string;
  /** 欄位內容 as the check file gives it, IDs masked unless shown. */
  value: string;
  /** The labup finding the 錯誤說明 names (e.g. `PERSON_ID_CHECKSUM`), when it names one. */
  finding: string | null;
  /** What to do about this error (the finding's own hint when known, else the code's). */
  fix: string;
  /** What 表一 allows in the field: its codes, or its format. */
  rule: string | null;
  /** Where to fix it; null without a source, or for an error on the file as a whole. */
  source: SourcePlace | null;
  /** h9 of the record, masked unless shown. */
  patient: string | null;
  /** h15 醫令代碼 of the record. */
  orderCode: string | null;
  /** The value the source holds now (masked unless shown); null when absent or without a source. */
  current: string | null;
  /** The source's value is not the one the check file saw (already corrected, or another file); null when not comparable. */
  changed: boolean | null;
}

export interface ExplainGroup extends CodeExplanation {
  count: number;
  errors: ExplainedError[];
}

export type ExplainStatus = 'correct' | 'error' | 'unknown';

export interface ExplainResult {
  /** The check file says 檢核正確 and lists no error. */
  ok: boolean;
  /** The file given (a check file or a downloaded ZIP). */
  file: string;
  /** The check file's name (inside the ZIP when one was given). */
  checkFile: string;
  archive: CheckArchiveInfo | null;
  encoding: CheckFileEncoding;
  /** 收件序號 */
  receiptNo: string | null;
  /** 上傳日期 (ROC, as written) */
  uploadDate: string | null;
  /** 醫事機構代碼 */
  institution: string | null;
  /** 檔案名稱: the uploaded file. */
  fileName: string | null;
  /** 檢核時間 (as written) */
  checkedAt: string | null;
  /** `correct` (檢核正確), `error` (檢核錯誤, or errors listed), `unknown` (neither can be told). */
  status: ExplainStatus;
  /** 處理狀態 as written. */
  statusText: string | null;
  /** The header's counts (null where absent), and the rows listed. */
  counts: { hdata: number | null; rdata: number | null; errors: number | null; listed: number };
  /** The source read, with what it holds. */
  source: { file: string; format: SourceFormat; entry: string | null; hdata: number; rdata: number } | null;
  /** The errors by code, in order of first appearance. */
  groups: ExplainGroup[];
  /** Lines the parser did not understand, as they are (IDs masked unless shown). */
  unparsed: UnparsedLine[];
  /** Things worth knowing about the file (counts that disagree, undecodable bytes …). */
  notices: string[];
  /** When this explanation was made (Asia/Taipei). */
  explainedAt: string;
}

/** An ID-bearing value, masked unless IDs are shown. */
function shownValue(field: string | null, value: string, showIds: boolean): string {
  if (showIds || value === '') return value;
  const masked = maskFieldValue(field, value);
  return masked !== value ? masked : maskIdsInText(value);
}

/** Does the source's value match what the check file shows (which may be masked or cut short)? */
export function sameValue(checkValue: string, current: string | null): boolean | null {
  if (checkValue === '') return null;
  if (current === null) return false;
  const flat = current.replace(/[\t\r\n]/g, ' ');
  if (flat === checkValue || flat.trim() === checkValue.trim()) return true;
  if (checkValue.includes('*') && maskId(flat) === checkValue) return true;
  if (checkValue.endsWith('…') && flat.startsWith(checkValue.slice(0, -1))) return true;
  return flat.includes(checkValue);
}

function statusOf(check: CheckFile, notices: string[]): ExplainStatus {
  const listed = check.rows.length;
  if (check.status === 'error') return 'error';
  if (check.status === 'correct') {
    if (listed > 0) {
      notices.push(`處理狀態 says “${check.statusText}”, yet ${listed} error row${listed === 1 ? ' is' : 's are'} listed; they are explained below`);
      return 'error';
    }
    return 'correct';
  }
  if (listed > 0) return 'error';
  if (check.allCorrect) return 'correct';
  return 'unknown';
}

function receiptFromName(name: string): string | null {
  const m = /^\d+_(\d+)\.msg\.txt$/i.exec(basename(name));
  return m ? m[1]! : null;
}

function mismatch(source: SourceIndex, checkName: string, what: string, receiptNo: string | null): never {
  const stopped = source.stoppedAt ? ` (it stops being readable at line ${source.stoppedAt.line}: ${source.stoppedAt.message})` : '';
  throw usageError('EXPLAIN_SOURCE_MISMATCH', `${source.file} does not match ${checkName}: ${what}${stopped}`, {
    hint: `Give the file that was uploaded${receiptNo ? ` under 收件序號 ${receiptNo}` : ''} — or the export it was packed from, unchanged since and with the same pack options (--map, --hosp).`,
  });
}

function checkCounts(check: CheckFile, source: SourceIndex, checkName: string): void {
  if (source.stoppedAt) return;
  const h = check.counts.hdata ?? check.allCorrect?.hdata ?? null;
  const r = check.counts.rdata ?? check.allCorrect?.rdata ?? null;
  // A file the portal could not read at all reports 0 records: there is nothing to compare.
  if (!h) return;
  const what = source.format === 'xml' ? 'holds' : 'packs into';
  if (h !== source.counts.hdata) {
    mismatch(source, checkName, `the check file counts ${h} hdata (醫令筆數), the source ${what} ${source.counts.hdata}`, check.receiptNo);
  }
  if (r !== null && r > 0 && r !== source.counts.rdata) {
    mismatch(source, checkName, `the check file counts ${r} rdata (報告筆數), the source ${what} ${source.counts.rdata}`, check.receiptNo);
  }
}

/** Explains a check file (or the check file inside a downloaded ZIP, decrypted in memory). */
export async function explain(checkFile: string, options: ExplainOptions = {}): Promise<ExplainResult> {
  const clock = options.clock ?? systemClock;
  const showIds = options.showIds ?? false;
  const input = await readCheckInput(checkFile, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.userId ? { userId: options.userId } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.entry !== undefined ? { entry: options.entry } : {}),
    ...(options.saveTo !== undefined ? { saveTo: options.saveTo } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  const check = parseCheckFile(input.bytes);
  const checkName = input.archive ? `${checkFile} (${input.name})` : checkFile;
  const notices: string[] = [];
  const status = statusOf(check, notices);
  if (check.badBytes > 0) notices.push(`${check.badBytes} byte${check.badBytes === 1 ? '' : 's'} could not be decoded as ${check.encoding === 'big5' ? 'Big5' : 'UTF-8'} and show${check.badBytes === 1 ? 's' : ''} as �`);
  if (check.counts.errors !== null && check.counts.errors !== check.rows.length) {
    notices.push(`the header counts ${check.counts.errors} errors (錯誤筆數), ${check.rows.length} row${check.rows.length === 1 ? ' is' : 's are'} listed${check.counts.errors > check.rows.length ? ' (file cut short?)' : ''}`);
  }
  const named = receiptFromName(input.name);
  if (named && check.receiptNo && named !== check.receiptNo) notices.push(`the file is named for 收件序號 ${named}, its header says ${check.receiptNo}`);

  let source: SourceIndex | null = null;
  if (options.source !== undefined) {
    source = await openSource(options.source, wantedHdata(check.rows), {
      ...options.sourceOptions,
      clock,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
    checkCounts(check, source, checkName);
  }

  const groups = new Map<string, ExplainGroup>();
  let compared = 0;
  let differing = 0;
  const missing: CheckRow[] = [];
  for (const row of check.rows) {
    let group = groups.get(row.code);
    if (!group) {
      group = { ...explainCode(row.code, row.message), count: 0, errors: [] };
      groups.set(row.code, group);
    }
    const specific = findingForRow(row.code, row.message);
    const hit = source ? source.locate(row) : null;
    if (source && hit === undefined) {
      missing.push(row);
      continue;
    }
    const changed = hit && row.field !== null && row.hdata !== null ? sameValue(row.value, hit.value) : null;
    const isChanged = changed === null ? null : !changed;
    if (isChanged !== null) {
      compared++;
      if (isChanged) differing++;
    }
    group.count++;
    group.errors.push({
      seq: row.seq,
      line: row.line,
      hdata: row.hdata,
      rdata: row.rdata,
      field: row.field,
      fieldName: fieldNameOf(row.field),
      code: row.code,
      message: showIds ? row.message : maskIdsInText(row.message),
      value: shownValue(row.field, row.value, showIds),
      finding: specific?.finding ?? group.finding,
      fix: specific?.fix ?? group.fix,
      rule: fieldRule(row.field),
      source: hit?.place ?? null,
      patient: hit?.patient ? shownValue('h9', hit.patient, showIds) : null,
      orderCode: hit?.orderCode ?? null,
      current: hit?.value != null ? shownValue(row.field, hit.value, showIds) : null,
      changed: isChanged,
    });
  }
  if (source && missing.length) {
    const first = missing[0]!;
    const where = first.rdata !== null ? `hdata ${first.hdata} rdata ${first.rdata}` : `hdata ${first.hdata}`;
    const have =
      first.hdata! > source.counts.hdata
        ? `${source.format === 'xml' ? 'holds' : 'packs into'} ${source.counts.hdata} hdata`
        : `has ${source.rdataOf(first.hdata!) ?? 0} rdata in hdata ${first.hdata}`;
    mismatch(source, checkName, `the check file refers to ${where} (line ${first.line}${missing.length > 1 ? ` and ${missing.length - 1} more row${missing.length > 2 ? 's' : ''}` : ''}), the source ${have}`, check.receiptNo);
  }
  if (differing > 0) {
    notices.push(
      differing === compared
        ? `none of the ${compared} values the check file shows is in the source any more: already corrected, or not the file that was uploaded?`
        : `${differing} of ${compared} values differ from what the check file shows (already corrected?)`,
    );
  }

  return {
    ok: status === 'correct',
    file: checkFile,
    checkFile: input.name,
    archive: input.archive,
    encoding: check.encoding,
    receiptNo: check.receiptNo ?? named,
    uploadDate: check.uploadDate,
    institution: check.institution,
    fileName: check.fileName,
    checkedAt: check.checkedAt,
    status,
    statusText: check.statusText,
    counts: {
      hdata: check.counts.hdata ?? check.allCorrect?.hdata ?? null,
      rdata: check.counts.rdata ?? check.allCorrect?.rdata ?? null,
      errors: check.counts.errors,
      listed: check.rows.length,
    },
    source: source ? { file: source.file, format: source.format, entry: source.entry, hdata: source.counts.hdata, rdata: source.counts.rdata } : null,
    groups: [...groups.values()],
    unparsed: check.unparsed.map((u) => (showIds ? u : { ...u, text: maskIdsInText(u.text) })),
    notices,
    explainedAt: taipeiIso(clock.now()),
  };
}
