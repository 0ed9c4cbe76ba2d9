/**
 * `validate`: every rule NHI checks, run locally on a daily XML or its upload ZIP, streaming.
 */
import { open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { addDays, systemClock, type Clock } from './clock.js';
import { LabupError, fileError, usageError } from './errors.js';
import { ISOLATE_FROM_BYTES, isolatedScript, runIsolated } from './isolated.js';
import { FINDINGS, makeFinding, maskFindingValue, type Finding, type FindingInput } from './format/findings.js';
import { formatRocDate, parseUserDate, taipeiToday, type CalendarDate } from './format/roc.js';
import { checkRecord, KeyTable, type Emit } from './format/rules.js';
import { isNhiFileName, readEntry, readZipDirectory, type ZipEntry } from './archive/zip-reader.js';
import { DailyXmlReader, type HdataRecord, type XmlEncoding } from './xml/daily-reader.js';

export interface ValidateOptions {
  /** 上傳日期 (default: today in Asia/Taipei). h16 must start with it; it must be today or yesterday. */
  uploadDate?: CalendarDate | string;
  clock?: Clock;
  /** How many findings to keep per file (all are counted). Default 50,000. */
  maxStoredFindings?: number;
  /** Keep person IDs unmasked in finding values. */
  showIds?: boolean;
  /** Extra per-record checks (the portal's own, in the sandbox). */
  extraChecks?: (rec: HdataRecord, emit: Emit) => void;
  /** Called with each completed record (after its checks). */
  onRecord?: (rec: HdataRecord) => void;
  /** Progress: bytes of XML read so far. */
  onProgress?: (bytes: number) => void;
  /** Skip the rule that the upload date is today or yesterday (the sandbox checks it at upload time). */
  skipUploadDateWindow?: boolean;
  /** Skip every upload-date rule (h16 vs 上傳日期 too): for checking an old file's content. */
  anyUploadDate?: boolean;
}

export interface FileReport {
  file: string;
  /** `xml`, or `zip` with the XML entry it holds. */
  kind: 'xml' | 'zip';
  entry: string | null;
  encoding: 'big5' | 'utf-8' | null;
  bytes: number;
  counts: { hdata: number; rdata: number };
  ok: boolean;
  errorCount: number;
  warningCount: number;
  /** Findings kept (up to `maxStoredFindings`); `truncated` says when more were counted. */
  errors: Finding[];
  warnings: Finding[];
  truncated: boolean;
  /** Number of findings per labup code, complete. */
  byCode: Record<string, number>;
  /** Set when the file could not be read at all (missing, unreadable ZIP): a usage error. */
  failure?: { code: string; message: string; hint?: string };
}

export interface ValidationResult {
  ok: boolean;
  /** 上傳日期 checked against, ROC YYYMMDD; null with `anyUploadDate`. */
  uploadDate: string | null;
  files: FileReport[];
}

/** A validator fed with XML bytes; used by validate, pack (on what it builds) and the sandbox. */
export class StreamingValidator {
  private readonly reader: DailyXmlReader;
  private readonly report: FileReport;
  /** 表七 keys seen (hash → hdata), 12 bytes a key. */
  private readonly keys = new KeyTable();
  private readonly max: number;
  private readonly emitRule: Emit;
  private bytes = 0;

  constructor(
    file: string,
    private readonly options: ValidateOptions & { uploadDateResolved?: CalendarDate } = {},
  ) {
    this.max = options.maxStoredFindings ?? 50_000;
    this.report = {
      file,
      kind: 'xml',
      entry: null,
      encoding: null,
      bytes: 0,
      counts: { hdata: 0, rdata: 0 },
      ok: true,
      errorCount: 0,
      warningCount: 0,
      errors: [],
      warnings: [],
      truncated: false,
      byCode: {},
    };
    this.emitRule = (f) => this.add(f);
    const uploadDate = options.uploadDateResolved;
    const ruleOptions = { ...(uploadDate ? { uploadDate } : {}), keys: this.keys };
    this.reader = new DailyXmlReader({
      finding: (f) => this.add(f),
      hdata: (rec) => {
        checkRecord(rec, this.emitRule, ruleOptions);
        options.extraChecks?.(rec, this.emitRule);
        options.onRecord?.(rec);
      },
    });
  }

  /** Adds a finding (also for file-level findings found outside the XML). */
  add(input: FindingInput): void {
    const f = makeFinding(input);
    if (!this.options.showIds) maskFindingValue(f);
    const r = this.report;
    r.byCode[f.code] = (r.byCode[f.code] ?? 0) + 1;
    const list = f.severity === 'error' ? r.errors : r.warnings;
    if (f.severity === 'error') r.errorCount++;
    else r.warningCount++;
    if (r.errors.length + r.warnings.length < this.max) list.push(f);
    else r.truncated = true;
  }

  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.reader.write(chunk);
    this.options.onProgress?.(this.bytes);
  }

  end(): FileReport {
    this.reader.end();
    const r = this.report;
    r.bytes = this.bytes;
    r.counts = this.reader.counts;
    r.encoding = this.encodingLabel(this.reader.encoding);
    r.ok = r.errorCount === 0;
    return r;
  }

  get fileReport(): FileReport {
    return this.report;
  }

  private encodingLabel(e: XmlEncoding): 'big5' | 'utf-8' {
    return e === 'cp950' ? 'big5' : 'utf-8';
  }
}

/** Resolves and checks 上傳日期: only today or yesterday (Asia/Taipei). */
export function resolveUploadDate(value: CalendarDate | string | undefined, clock: Clock): CalendarDate {
  if (value === undefined) return taipeiToday(clock.now());
  if (typeof value !== 'string') return value;
  const d = parseUserDate(value);
  if (!d) {
    throw usageError('BAD_UPLOAD_DATE', `upload date “${value}” is not a date`, { hint: 'Write it as ROC YYY/MM/DD or YYYMMDD (e.g. 114/11/25), or ISO YYYY-MM-DD.' });
  }
  return d;
}

export function uploadDateAllowed(date: CalendarDate, clock: Clock): boolean {
  const today = formatRocDate(taipeiToday(clock.now()));
  const yesterday = formatRocDate(addDays(taipeiToday(clock.now()), -1));
  const d = formatRocDate(date);
  return d === today || d === yesterday;
}

/** Validates one file (XML or ZIP). Never throws for bad data; throws LabupError for unreadable input. */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<FileReport> {
  const clock = options.clock ?? systemClock;
  const uploadDate = resolveUploadDate(options.uploadDate, clock);
  const v = new StreamingValidator(path, { ...options, ...(options.anyUploadDate ? {} : { uploadDateResolved: uploadDate }) });
  if (!options.skipUploadDateWindow && !options.anyUploadDate && !uploadDateAllowed(uploadDate, clock)) {
    v.add({ code: 'UPLOAD_DATE_NOT_ALLOWED', detail: `${formatRocDate(uploadDate)}; today is ${formatRocDate(taipeiToday(clock.now()))}` });
  }
  const head = await readHead(path);
  const isZip = head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
  if (isZip || extname(path).toLowerCase() === '.zip') {
    const dir = await readZipDirectory(path);
    const report = v.fileReport;
    report.kind = 'zip';
    const name = basename(path);
    if (!isNhiFileName(name)) v.add({ code: 'ZIP_ENTRY_NAME', detail: `the ZIP is named “${name}”` });
    const files = dir.entries.filter((e) => !e.isDirectory);
    const xmls = files.filter((e) => e.name.toLowerCase().endsWith('.xml'));
    if (files.length !== 1 || dir.entries.length !== 1) {
      v.add({ code: 'ZIP_ENTRY_COUNT', detail: `it holds ${dir.entries.length} entr${dir.entries.length === 1 ? 'y' : 'ies'}${dir.entries.length ? ': ' + dir.entries.slice(0, 5).map((e) => e.name).join(', ') : ''}` });
    }
    const entry: ZipEntry | undefined = xmls[0] ?? files[0];
    if (!entry) return v.end();
    report.entry = entry.name;
    if (!entry.name.toLowerCase().endsWith('.xml')) v.add({ code: 'ZIP_ENTRY_TYPE', detail: entry.name });
    if (entry.name.includes('/') || entry.name.includes('\\') || !isNhiFileName(entry.name)) v.add({ code: 'ZIP_ENTRY_NAME', detail: `the entry is named “${entry.name}”` });
    if (entry.isSymlink) v.add({ code: 'ZIP_ENTRY_TYPE', detail: `${entry.name} is a symbolic link` });
    if (entry.encrypted) {
      v.add({ code: 'ZIP_ENCRYPTED', detail: entry.name });
      return v.end();
    }
    for await (const chunk of readEntry(dir, entry, { maxBytes: 4 * 1024 ** 3, maxRatio: 1000 })) v.write(chunk);
    return v.end();
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fileError(err, path);
  }
  try {
    // One read buffer for the whole file: the validator copies what it keeps.
    const size = 1 << 20;
    const buf = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, size, null);
      if (bytesRead === 0) break;
      v.write(bytesRead === size ? buf : buf.subarray(0, bytesRead));
    }
  } catch (err) {
    throw fileError(err, path);
  } finally {
    await fh.close();
  }
  return v.end();
}

async function readHead(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fileError(err, path);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${path}: is a directory, expected a .xml or .zip file`);
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return b.subarray(0, bytesRead);
  } catch (err) {
    if (err instanceof LabupError) throw err;
    throw fileError(err, path);
  } finally {
    await fh.close();
  }
}

/** What a worker validating one file is given (see {@link validateIsolated}). */
export interface IsolatedRequest {
  path: string;
  nowMs: number;
  progress: boolean;
  options: Omit<ValidateOptions, 'clock' | 'extraChecks' | 'onRecord' | 'onProgress'>;
}

/** What a worker validating one file sends before its ending. */
export type IsolatedProgress = { progress: number };

const VALIDATE_WORKER = (): URL | null => isolatedScript(import.meta.url, './validate-worker.js', '../dist/validate-worker.js');

/**
 * {@link validateFile}, for a large file in a worker thread whose heap is kept small, so that memory
 * stays flat whatever the size; the report is the same. Inline where the options carry record
 * callbacks (which cannot cross threads), for small files, and without a compiled worker.
 */
async function validateIsolated(path: string, options: ValidateOptions): Promise<FileReport> {
  const script = VALIDATE_WORKER();
  if (!script || options.extraChecks || options.onRecord) return validateFile(path, options);
  let size = 0;
  try {
    size = (await stat(path)).size;
  } catch {
    return validateFile(path, options);
  }
  if (size < ISOLATE_FROM_BYTES) return validateFile(path, options);
  const { clock, onProgress, extraChecks: _e, onRecord: _r, ...rest } = options;
  const req: IsolatedRequest = { path, nowMs: (clock ?? systemClock).now().getTime(), progress: onProgress !== undefined, options: rest };
  return runIsolated<FileReport, IsolatedProgress>(script, req, 'validation', (m) => onProgress?.(m.progress));
}

/**
 * Validates several files; a file that cannot be read is reported with `failure` and the others
 * are still validated.
 */
export async function validate(paths: string[], options: ValidateOptions = {}): Promise<ValidationResult> {
  const clock = options.clock ?? systemClock;
  const uploadDate = resolveUploadDate(options.uploadDate, clock);
  const files: FileReport[] = [];
  for (const path of paths) {
    try {
      files.push(await validateIsolated(path, { ...options, uploadDate }));
    } catch (err) {
      if (!(err instanceof LabupError) || err.kind === 'internal') throw err;
      files.push(failedReport(path, err));
    }
  }
  return { ok: files.every((f) => f.ok), uploadDate: options.anyUploadDate ? null : formatRocDate(uploadDate), files };
}

function failedReport(file: string, err: LabupError): FileReport {
  return {
    file,
    kind: extname(file).toLowerCase() === '.zip' ? 'zip' : 'xml',
    entry: null,
    encoding: null,
    bytes: 0,
    counts: { hdata: 0, rdata: 0 },
    ok: false,
    errorCount: 0,
    warningCount: 0,
    errors: [],
    warnings: [],
    truncated: false,
    byCode: {},
    failure: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) },
  };
}

/** Whether an XML Schema can detect this finding code (used by the xmllint cross-checks). */
export function isSchemaDetectable(code: string): boolean {
  return (FINDINGS as Record<string, { xsd: boolean }>)[code]?.xsd === true;
}
