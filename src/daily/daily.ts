/**
 * `labup daily`: the unattended nightly job. One call does the day:
 *
 *     preflight → pack → upload → wait for 處理狀態 → download → decrypt → explain → report
 *
 * Every step is written to the run's record in the client store before the next one starts, and
 * the run is known by its inputs' content and its 上傳日期. The same command run again after an
 * interruption — a crash, SIGKILL, a reboot, the deadline — continues where the last one stopped:
 * for the ZIP it already packed it asks the portal what it received and adopts that submission, or
 * sends it again (the same idempotency key: never a second submission), or waits on the 收件序號
 * it already has, and does not fetch files already here. A lock file in
 * LABUP_HOME keeps two runs apart. The result is data (also written as the JSON report); the CLI
 * renders it and turns it into an exit code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Clock, fromTaipei, taipeiDisplay, taipeiIso } from '../clock.js';
import { ExitCode, isLabupError, usageError, type LabupError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Env } from '../paths.js';
import type { LabupConfig } from '../config/config.js';
import { formatRocDate, formatRocSlashed, parseRocDate, rocSlashed, taipeiToday, type CalendarDate } from '../format/roc.js';
import { maskIdsInText } from '../format/national-id.js';
import { resolveUploadDate, uploadDateAllowed } from '../validate.js';
import { pack, resolveUploadTime, type PackOptions } from '../pack/pack.js';
import type { OutputEncoding } from '../xml/builder.js';
import type { InputEncodingOption } from '../input/types.js';
import type { FormatOption } from '../input/open.js';
import type { Store } from '../store/store.js';
import { findJournalByReceipt } from '../store/journal.js';
import type { PortalConnection } from '../transport/connect.js';
import type { SubmissionStatus, ZipEncryption } from '../transport/portal-client.js';
import { STATUS_TEXT } from '../transport/portal-client.js';
import { sha256File, uploadZip } from '../transport/upload.js';
import { checkStatus } from '../transport/status.js';
import { downloadFiles, writeFileAtomic } from '../transport/download.js';
import { decryptArchive } from '../archive/decrypt.js';
import type { UserIdAnswer } from '../archive/user-id.js';
import { fromFinding, fromPackFinding, groupErrors, type DailyError, type DailyErrorGroup } from './daily-errors.js';
import { acquireLock, inspectLock, LOCK_FILE } from './lock.js';
import { DAILY_CHECKS, runPreflight, type DailyPreflightContext, type PreflightCheck, type PreflightOutcome } from './preflight.js';
import { inputsKey, runKey, type ShapingOptions } from './run-key.js';
import {
  createRun,
  findRunByKey,
  findRunsByInputs,
  getRun,
  recordStep,
  restartRun,
  updateRun,
  type RunFailure,
  type RunFile,
  type RunOutcome,
  type RunRecord,
  type RunStep,
  type RunStepRecord,
} from './run-store.js';

/** How the inputs are packed: the options of `labup pack` that apply. */
export interface DailyPackOptions {
  /** Column map (path, resolved against `cwd`). */
  map?: string;
  format?: FormatOption;
  inputEncoding?: InputEncodingOption;
  delimiter?: string;
  encoding?: OutputEncoding;
  replaceUnencodable?: boolean;
  /** 醫事機構代碼 for records without h2. */
  hosp?: string;
  groupWindow?: number;
  apiName?: boolean;
}

/** What {@link DailyOptions.explain} is asked: a check file, and where its records came from. */
export interface ExplainRequest {
  checkFile: string;
  receiptNo: string;
  /** The export the upload was packed from (with the pack options), or the packed ZIP; null when neither is at hand. */
  source: { file: string; options: DailyPackOptions; packed: boolean } | null;
  cwd: string;
  showIds: boolean;
  clock: Clock;
  host?: IoHost;
}

export interface ExplainAnswer {
  errors: DailyError[];
  /** Errors the check file counts (it may list fewer). */
  errorCount: number;
  notices: string[];
}

/** Explains a check file (`labup explain`'s core, adapted by the caller). */
export type DailyExplainer = (req: ExplainRequest) => Promise<ExplainAnswer>;

export interface DailyOptions {
  /** Exports (CSV/TSV, NDJSON/JSON) or daily XML/ZIP files, as given. */
  inputs: string[];
  cwd: string;
  clock: Clock;
  host?: IoHost;
  /** LABUP_HOME: the lock and the runs' ZIPs live here. */
  home: string;
  /** Opens the journal (once, during the preflight). */
  openStore: () => Store;
  /** Opens the portal (once, during the preflight); the caller closes it. */
  connect: () => Promise<PortalConnection>;
  pack?: DailyPackOptions;
  /** 上傳日期 (today or yesterday; default today, Asia/Taipei). */
  uploadDate?: string;
  /** h16 (default: now; with a past `uploadDate`, 23:59:59 of that day). */
  uploadTime?: string;
  /** Pack and send even when labup finds errors NHI would reject. */
  force?: boolean;
  /**
   * Run a large pack's helper threads below its pipeline (Linux; for a process that ends with the
   * run — see PackOptions.lowerHelpers).
   */
  lowerHelpers?: boolean;
  /** Check and pack in memory, then report what would be sent; nothing is sent or written. */
  dryRun?: boolean;
  /** Start a new run even when these inputs were already uploaded (a correction upload, with a new h16). */
  newRun?: boolean;
  waitTimeoutMs: number;
  pollIntervalMs: number;
  /** First pause between polls (default 1 s, growing to `pollIntervalMs`). */
  firstPollMs?: number;
  /** The whole run stops (exit 3, state journaled) when this much time has passed. */
  deadlineMs?: number;
  /** Where check files and the report go (absolute). */
  downloadDir: string;
  /** 加密下載. */
  encrypted?: boolean;
  encryption?: ZipEncryption;
  /** The national ID that opens encrypted downloads (asked only when one is encrypted). */
  userId: (retry: boolean) => Promise<UserIdAnswer>;
  explain?: DailyExplainer;
  /** Checks the timing settings for the preflight (throws a config error); default: nothing to check. */
  checkSettings?: () => string;
  /** The resolved settings: the preflight's card checks read `card` (default: none, the card checks are skipped). */
  config?: LabupConfig;
  /** The built-in sandbox is the portal (its demo card needs no module). */
  sandbox?: boolean;
  /** Environment for the card module's search (LABUP_PKCS11_MODULE). */
  env?: Env;
  /** Further preflight checks, run after the daily ones. */
  extraChecks?: ReadonlyArray<PreflightCheck<DailyPreflightContext>>;
  showIds?: boolean;
  /** Days a finished run's packed ZIP is kept (default 14, as long as the portal keeps check files). */
  keepDays?: number;
  sleep?: (ms: number) => Promise<void>;
  monotonicNow?: () => number;
}

export interface DailyReceiptFile {
  name: string;
  path: string;
  encrypted: boolean;
  /** The check file decrypted from the encrypted ZIP. */
  decrypted: string | null;
  /** Already on disk: not fetched again. */
  skipped: boolean;
  remark: string;
}

export interface DailyReceipt {
  /** 收件序號. */
  receiptNo: string;
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string;
  status: SubmissionStatus | null;
  statusText: string | null;
  /** 傳送時間 (ISO 8601, +08:00). */
  sentAt: string | null;
  checkedAt: string | null;
  errorCount: number | null;
  fileName: string | null;
  files: DailyReceiptFile[];
}

export type DailyOutcome = RunOutcome | 'dry-run' | 'already-uploaded';

export interface DailyResult {
  ok: boolean;
  exitCode: number;
  outcome: DailyOutcome;
  runId: number | null;
  /** This start continued an earlier, unfinished start of the run. */
  resumed: boolean;
  /** The run had already finished: nothing was done now. */
  alreadyDone: boolean;
  dryRun: boolean;
  /** 上傳日期, `YYY/MM/DD`. */
  uploadDate: string | null;
  inputs: Array<{ file: string; sha256: string; size: number }>;
  counts: { rows: number; hdata: number; rdata: number } | null;
  /** The packed ZIP (kept under LABUP_HOME/runs). */
  zip: { path: string; name: string; sha256: string | null; h16: string | null } | null;
  receipts: DailyReceipt[];
  /** Errors to fix, each with its input row where known (IDs masked unless shown). */
  errors: DailyError[];
  /** Errors counted (more than listed when a file has very many). */
  errorCount: number;
  warningCount: number;
  /** The errors by NHIA code (or labup code), in order of first appearance. */
  errorGroups: DailyErrorGroup[];
  preflight: PreflightOutcome[];
  steps: RunStepRecord[];
  failure: RunFailure | null;
  /** Things the operator should know (a recovered lock, a continued run …). */
  notices: string[];
  /** The JSON report written (null on a dry run, or when nothing could be written). */
  report: string | null;
  startedAt: string;
  finishedAt: string;
}

interface Stop {
  outcome: RunOutcome;
  exitCode: number;
  failure?: Omit<RunFailure, 'step'>;
}

/** Raised inside the step sequence to end the run early with an outcome. */
class StopRun extends Error {
  constructor(readonly stop: Stop) {
    super(stop.failure?.message ?? stop.outcome);
  }
}

const TIME_OF_LATE_UPLOAD = { hour: 23, minute: 59, second: 59 };

/** 上傳日期 and the h16 to stamp: from `uploadTime`, or `uploadDate`, or now. */
export function planUploadDate(o: Pick<DailyOptions, 'uploadDate' | 'uploadTime' | 'clock'>): { date: CalendarDate; uploadTime: Date | undefined } {
  let date: CalendarDate;
  let uploadTime: Date | undefined;
  if (o.uploadTime !== undefined) {
    const t = resolveUploadTime(o.uploadTime, o.clock);
    date = t.date;
    uploadTime = t.instant;
    if (o.uploadDate !== undefined && formatRocDate(resolveUploadDate(o.uploadDate, o.clock)) !== formatRocDate(date)) {
      throw usageError('DAILY_UPLOAD_DATE_CONFLICT', `--upload-time ${o.uploadTime} is not on --upload-date ${o.uploadDate}`, { hint: 'h16’s date is the 上傳日期: give one of the two, or make them agree.' });
    }
  } else {
    date = resolveUploadDate(o.uploadDate, o.clock);
    const today = taipeiToday(o.clock.now());
    if (formatRocDate(date) !== formatRocDate(today)) uploadTime = fromTaipei(date.year, date.month, date.day, TIME_OF_LATE_UPLOAD.hour, TIME_OF_LATE_UPLOAD.minute, TIME_OF_LATE_UPLOAD.second);
  }
  if (!uploadDateAllowed(date, o.clock)) {
    throw usageError('UPLOAD_DATE_NOT_ALLOWED', `上傳日期 ${formatRocSlashed(date)} is neither today nor yesterday (${formatRocSlashed(taipeiToday(o.clock.now()))}, Asia/Taipei)`, {
      hint: 'NHI accepts only today’s date, or yesterday’s for a late upload.',
    });
  }
  return { date, uploadTime };
}

/** Library messages at info level go to the log (and --verbose); waiting becomes terminal progress. */
function dailyHost(host: IoHost | undefined, waitStarted: () => number | null, mono: () => number): IoHost {
  return {
    notify(m) {
      if (!host) return;
      if (m.code === 'STATUS_WAITING') {
        const t = waitStarted();
        if (t !== null) host.progress?.({ label: '檢核中, waiting', done: Math.round((mono() - t) / 1000), unit: 's' });
      }
      host.notify(m.level === 'info' ? { ...m, level: 'verbose' } : m);
    },
    ...(host?.progress ? { progress: (p) => host.progress!(p) } : {}),
  };
}

function shaping(p: DailyPackOptions, mapSha256: string | null): ShapingOptions {
  return {
    mapSha256,
    hosp: p.hosp ?? null,
    format: p.format ?? 'auto',
    inputEncoding: p.inputEncoding ?? 'auto',
    delimiter: p.delimiter ?? null,
    encoding: p.encoding ?? 'big5',
    replaceUnencodable: p.replaceUnencodable === true,
    groupWindow: p.groupWindow ?? null,
    apiName: p.apiName === true,
  };
}

function reportName(run: { uploadDate: string; id: number | null }): string {
  return `labup-daily-${run.uploadDate}-${run.id === null ? 'preflight' : `run${run.id}`}.json`;
}

type ResultBase = Pick<DailyResult, 'dryRun' | 'uploadDate' | 'inputs' | 'preflight' | 'notices' | 'startedAt'>;

/** A result with nothing uploaded (a failed preflight, a dry run): no ZIP, no receipts, no errors, no report yet. */
function resultBeforeUpload(base: ResultBase, r: Pick<DailyResult, 'ok' | 'exitCode' | 'outcome' | 'runId' | 'resumed' | 'counts' | 'steps' | 'failure' | 'finishedAt'>): DailyResult {
  const { ok, exitCode, outcome, runId, resumed, counts, steps, failure, finishedAt } = r;
  return { ...base, ok, exitCode, outcome, runId, resumed, alreadyDone: false, counts, zip: null, receipts: [], errors: [], errorCount: 0, warningCount: 0, errorGroups: [], steps, failure, report: null, finishedAt };
}

/** The result's fields in the order a reader looks for them: outcome first, then receipts, errors and the report. */
function ordered(r: DailyResult): DailyResult {
  const { ok, exitCode, outcome, receipts, errors, errorCount, errorGroups, report, ...rest } = r;
  return { ok, exitCode, outcome, receipts, errors, errorCount, errorGroups, report, ...rest };
}

/** Runs the daily job (see the module's comment). Throws only for usage errors found before the preflight, and for defects. */
export async function runDaily(o: DailyOptions): Promise<DailyResult> {
  return ordered(await dailyRun(o));
}

async function dailyRun(o: DailyOptions): Promise<DailyResult> {
  const clock = o.clock;
  const mono = o.monotonicNow ?? (() => performance.now());
  const t0 = mono();
  const deadlineAt = o.deadlineMs !== undefined ? t0 + o.deadlineMs : Infinity;
  let waitStart: number | null = null;
  const host = dailyHost(o.host, () => waitStart, mono);
  const startedAt = taipeiIso(clock.now());
  const showIds = o.showIds === true;
  const packOpts = o.pack ?? {};
  const dryRun = o.dryRun === true;
  if (o.inputs.length === 0) throw usageError('DAILY_NO_INPUT', 'no input given', { hint: 'Name the day’s export: labup daily export.csv' });
  const plan = planUploadDate(o);
  const notices: string[] = [];

  mkdirSync(o.home, { recursive: true, mode: 0o700 });
  const lockPath = join(o.home, LOCK_FILE);
  let lock: ReturnType<typeof acquireLock> | null = null;
  if (dryRun) {
    const seen = inspectLock(lockPath);
    if (seen.exists && !seen.stale && seen.info) notices.push(`another labup daily is running (process ${seen.info.pid}, started ${seen.info.startedAt}); a real run would be refused now`);
  } else {
    lock = acquireLock(lockPath, { clock });
    if (lock.recovered) {
      const r = lock.recovered;
      const text = `recovered a stale lock left by process ${r.pid}${r.startedAt ? ` (started ${r.startedAt})` : ''}, which is no longer running; continuing`;
      notices.push(text);
      host.notify({ level: 'warn', code: 'DAILY_LOCK_RECOVERED', message: text, data: { lock: lockPath, previous: r } });
    }
  }

  try {
    // ---- preflight -------------------------------------------------------------------------
    const pctx: DailyPreflightContext = {
      inputs: o.inputs,
      cwd: o.cwd,
      downloadDir: o.downloadDir,
      dryRun,
      create: !dryRun,
      clock,
      env: o.env ?? {},
      host,
      home: o.home,
      sandbox: o.sandbox === true,
      config: o.config ?? {},
      checkSettings: o.checkSettings ?? (() => 'settings read'),
      openStore: o.openStore,
      connect: o.connect,
      // The card the sign-in will use, opened early for the certificate check.
      card: async () => (pctx.connection ??= await o.connect()).card?.(),
    };
    const pre = await runPreflight([...DAILY_CHECKS, ...(o.extraChecks ?? [])], pctx, host);
    const base = {
      dryRun,
      uploadDate: formatRocSlashed(plan.date),
      inputs: (pctx.hashed ?? []).map((i) => ({ file: i.given, sha256: i.sha256, size: i.size })),
      preflight: pre.checks,
      notices,
      startedAt,
    };
    if (!pre.ok) {
      const f = pre.failure!;
      const failure: RunFailure = { step: 'preflight', code: f.code, message: f.message, ...(f.hint ? { hint: f.hint } : {}), exitCode: f.exitCode };
      const result = resultBeforeUpload(base, { ok: false, exitCode: f.exitCode, outcome: 'error', runId: null, resumed: false, counts: null, steps: [], failure, finishedAt: taipeiIso(clock.now()) });
      // The report goes where the check files go, when that folder is usable.
      if (!dryRun && pre.checks.find((c) => c.id === 'download-dir')?.status === 'ok') {
        result.report = await writeReport(o.downloadDir, reportName({ uploadDate: formatRocDate(plan.date), id: null }), result, host);
      }
      return result;
    }
    const store = pctx.store!;
    const conn = pctx.connection!;
    const portalId = conn.client.id;
    const hashed = pctx.hashed!;

    // ---- which run is this? -----------------------------------------------------------------
    let mapSha: string | null = null;
    if (packOpts.map) mapSha = (await sha256File(resolve(o.cwd, packOpts.map))).sha256;
    const ik = inputsKey(hashed, shaping(packOpts, mapSha));
    const roc = formatRocDate(plan.date);
    const key = runKey(portalId, ik, roc);
    let run: RunRecord | undefined = o.newRun ? undefined : findRunByKey(store, key);
    if (!run && !o.newRun) {
      const others = findRunsByInputs(store, portalId, ik).filter((r) => r.runKey !== key);
      const unfinished = others.find((r) => r.receiptNo !== null && r.state !== 'done');
      const uploaded = others.find((r) => r.receiptNo !== null && r.state === 'done');
      if (unfinished) {
        run = unfinished;
        notices.push(`these inputs were already sent for 上傳日期 ${rocSlashed(unfinished.uploadDate)} (收件序號 ${unfinished.receiptNo}); continuing that run instead of sending them again`);
      } else if (uploaded) {
        const text = `these inputs were already uploaded for 上傳日期 ${rocSlashed(uploaded.uploadDate)} (收件序號 ${uploaded.receiptNo}, ${uploaded.statusText ?? '?'}); nothing to do`;
        notices.push(text);
        const r = await resultFromRun(o, store, uploaded, { ...base, notices }, { exitCode: ExitCode.NOTHING_TO_DO, outcome: 'already-uploaded', alreadyDone: true, resumed: false });
        return { ...r, report: uploaded.reportPath, notices: [...notices, 'to send them again as a correction (a new h16), run with --new-run'] };
      }
    }
    if (run && run.state === 'done') {
      notices.push(`run ${run.id} of these inputs for 上傳日期 ${rocSlashed(run.uploadDate)} already finished${run.finishedAt ? ` at ${taipeiDisplay(new Date(run.finishedAt))}` : ''}: nothing sent or fetched again`);
      return await resultFromRun(o, store, run, { ...base, notices }, { exitCode: run.exitCode ?? ExitCode.OK, outcome: run.outcome ?? 'passed', alreadyDone: true, resumed: false });
    }
    if (dryRun) return await dryRunResult(o, run, plan, packOpts, host, base);

    let resumed = false;
    if (run) {
      run = restartRun(store, run.id, clock);
      resumed = true;
      const where = run.receiptNo ? `收件序號 ${run.receiptNo}, ${run.statusText ?? '檢核中'}` : run.zipPath ? 'packed, not yet confirmed as sent' : 'not yet packed';
      notices.push(`continuing run ${run.id} (start ${run.starts}; it stopped after ${run.step ?? 'the preflight'}: ${where})`);
      host.notify({ level: 'info', code: 'DAILY_RESUMED', message: `continuing run ${run.id} from the journal (${where})`, data: { runId: run.id } });
    } else {
      if (o.newRun) {
        for (const old of findRunsByInputs(store, portalId, ik).filter((r) => r.state !== 'done')) updateRun(store, old.id, { state: 'abandoned' }, clock);
      }
      run = createRun(
        store,
        {
          runKey: key,
          inputsKey: ik,
          portal: portalId,
          uploadDate: roc,
          inputs: hashed,
          options: { ...packOpts, ...(o.force ? { force: true } : {}), ...(o.uploadTime ? { uploadTime: o.uploadTime } : {}) },
        },
        clock,
      );
    }
    pruneRunFolders(o.home, store, clock, o.keepDays ?? 14, run.id);
    const runId = run.id;
    const runDate = parseRocDate(run.uploadDate);
    const uploadDate = runDate.ok ? runDate.value : plan.date;
    let errors: DailyError[] = [];
    let errorCount = 0;
    let warningCount = 0;
    let current: RunStep = 'pack';
    const step = (s: RunStep, state: RunStepRecord['state'], note: string) => {
      run = recordStep(store, runId, { step: s, state, start: run!.starts, note }, clock);
      host.notify({ level: 'verbose', code: 'DAILY_STEP', message: `run ${runId} ${s}: ${note}`, data: { runId, step: s, state } });
    };
    const checkDeadline = () => {
      if (mono() < deadlineAt) return;
      throw new StopRun({
        outcome: run!.receiptNo ? 'pending' : 'error',
        exitCode: ExitCode.PENDING,
        failure: {
          code: 'DEADLINE_PASSED',
          message: `the deadline passed before ${current}${run!.receiptNo ? ` (收件序號 ${run!.receiptNo} ${run!.statusText ?? '檢核中'})` : ''}`,
          hint: 'The state is journaled: run the same command again to continue.',
          exitCode: ExitCode.PENDING,
        },
      });
    };
    step('preflight', 'done', pre.checks.map((c) => `${c.id} ${c.status}`).join(', '));

    const finish = async (stop: Stop): Promise<DailyResult> => {
      const failure: RunFailure | null = stop.failure ? { step: current, ...stop.failure } : null;
      const finalState = stop.outcome === 'passed' || stop.outcome === 'failed' ? 'done' : 'stopped';
      if (failure) step(current, stop.outcome === 'pending' || stop.outcome === 'refused' || stop.outcome === 'empty' ? 'stopped' : 'failed', `[${failure.code}] ${failure.message}`);
      run = updateRun(store, runId, { state: finalState, outcome: stop.outcome, exitCode: stop.exitCode, failure, errorCount: run!.errorCount ?? (errorCount || null), finishedAt: taipeiIso(clock.now()) }, clock);
      const result = await resultFromRun(o, store, run!, { ...base, notices }, { exitCode: stop.exitCode, outcome: stop.outcome, alreadyDone: false, resumed, errors, errorCount, warningCount });
      const name = reportName({ uploadDate: run.uploadDate, id: runId });
      result.report = await writeReport(o.downloadDir, name, result, host);
      if (result.report) {
        run = updateRun(store, runId, { reportPath: result.report }, clock);
        // The report holds the run's final record (steps included).
        result.steps = run.steps;
      }
      return result;
    };

    try {
      // ---- pack --------------------------------------------------------------------------------
      current = 'pack';
      checkDeadline();
      if (run.receiptNo) {
        step('pack', 'skipped', `already sent (收件序號 ${run.receiptNo})`);
      } else if (run.zipPath && existsSync(run.zipPath) && run.zipSha256 && (await sha256File(run.zipPath)).sha256 === run.zipSha256) {
        step('pack', 'skipped', `packed by an earlier start: ${run.zipPath}`);
      } else {
        const runDir = join(o.home, 'runs', String(runId));
        rmSync(runDir, { recursive: true, force: true });
        mkdirSync(runDir, { recursive: true, mode: 0o700 });
        const p = await pack(
          hashed.map((i) => i.path),
          {
            cwd: o.cwd,
            clock,
            host,
            out: runDir,
            ...packOptions(packOpts),
            ...(o.lowerHelpers ? { lowerHelpers: true } : {}),
            ...(plan.uploadTime ? { uploadTime: plan.uploadTime } : {}),
            force: o.force === true,
            showIds,
          },
        );
        warningCount = p.warningCount;
        run = updateRun(store, runId, { counts: p.counts, h16: p.h16 }, clock);
        if (p.refused === 'empty') {
          throw new StopRun({ outcome: 'empty', exitCode: ExitCode.NOTHING_TO_DO, failure: { code: 'NOTHING_TO_DO', message: 'the input holds no data rows: nothing to upload', hint: 'Nothing to do unless data was expected today: check the export.', exitCode: ExitCode.NOTHING_TO_DO } });
        }
        if (p.refused === 'invalid') {
          errors = p.errors.map(fromPackFinding);
          errorCount = p.errorCount;
          run = updateRun(store, runId, { errorCount: p.errorCount }, clock);
          throw new StopRun({
            outcome: 'refused',
            exitCode: ExitCode.INVALID,
            failure: {
              code: 'DAILY_REFUSED',
              message: `${p.errorCount} error${p.errorCount === 1 ? '' : 's'} NHI would reject: nothing was sent`,
              hint: 'Fix the rows named in the report and run again (or send it anyway with --force, to get the same errors from NHI).',
              exitCode: ExitCode.INVALID,
            },
          });
        }
        if (p.forced) {
          errors = p.errors.map(fromPackFinding);
          errorCount = p.errorCount;
          notices.push(`packed with ${p.errorCount} error(s) (--force): expect 檢核錯誤`);
        }
        const zipSha = (await sha256File(p.output!)).sha256;
        run = updateRun(store, runId, { zipPath: p.output, zipSha256: zipSha }, clock);
        step('pack', 'done', `${p.counts.rows} row${p.counts.rows === 1 ? '' : 's'} → ${p.counts.hdata} hdata, ${p.counts.rdata} rdata, h16 ${p.h16}: ${p.output}`);
      }

      // ---- upload ------------------------------------------------------------------------------
      current = 'upload';
      if (run.receiptNo) {
        step('upload', 'skipped', `收件序號 ${run.receiptNo} from an earlier start`);
      } else {
        checkDeadline();
        const up = await uploadZip({ file: run.zipPath!, uploadDate, force: o.force === true, portal: conn, store, clock, host, showIds });
        if (!up.ok) {
          errors = up.report.errors.map((f) => fromFinding(f, up.file, up.report.entry));
          errorCount = up.report.errorCount;
          throw new StopRun({
            outcome: 'refused',
            exitCode: ExitCode.INVALID,
            failure: { code: 'DAILY_REFUSED', message: `${up.report.errorCount} error(s) in the packed ZIP: nothing was sent`, hint: 'Fix the rows named in the report and run again.', exitCode: ExitCode.INVALID },
          });
        }
        run = updateRun(store, runId, { receiptNo: up.receiptNo, status: up.status, statusText: up.statusText }, clock);
        if (up.adopted) notices.push(`the answer to the upload was lost; the portal had received this ZIP for 上傳日期 ${up.uploadDate} (收件序號 ${up.receiptNo}, found by its content hash): adopted, nothing sent twice`);
        else if (up.replayed) notices.push(`the portal already had this ZIP for 上傳日期 ${up.uploadDate}: same 收件序號 ${up.receiptNo}, nothing sent twice`);
        step('upload', 'done', `收件序號 ${up.receiptNo}${up.adopted ? ' (adopted: the answer was lost, the portal had it)' : up.replayed ? ' (the portal already had it)' : ''}, ${up.statusText}`);
      }
      const receiptNo = run.receiptNo!;

      // ---- wait --------------------------------------------------------------------------------
      current = 'wait';
      if (run.status === 'passed' || run.status === 'failed') {
        step('wait', 'skipped', `${run.statusText} known from an earlier start`);
      } else {
        checkDeadline();
        const left = deadlineAt - mono();
        const byDeadline = left < o.waitTimeoutMs;
        waitStart = mono();
        const st = await checkStatus({
          client: conn.client,
          receipts: [receiptNo],
          wait: true,
          timeoutMs: Math.max(0, Math.min(o.waitTimeoutMs, left)),
          pollIntervalMs: o.pollIntervalMs,
          ...(o.firstPollMs !== undefined ? { firstPollMs: o.firstPollMs } : {}),
          store,
          clock,
          host,
          ...(o.sleep ? { sleep: o.sleep } : {}),
          monotonicNow: mono,
        });
        waitStart = null;
        const r = st.receipts[0]!;
        run = updateRun(store, runId, { status: r.status, statusText: r.statusText, errorCount: r.errorCount }, clock);
        if (st.timedOut) {
          const waited = Math.round((mono() - t0) / 1000);
          throw new StopRun({
            outcome: 'pending',
            exitCode: ExitCode.PENDING,
            failure: {
              code: byDeadline ? 'DEADLINE_PASSED' : 'WAIT_TIMEOUT',
              message: `收件序號 ${receiptNo} still 檢核中 when the ${byDeadline ? 'deadline' : 'wait timeout'} passed (${waited} s into the run)`,
              hint: 'The state is journaled: run the same command again later; it waits on this 收件序號 without uploading again.',
              exitCode: ExitCode.PENDING,
            },
          });
        }
        step('wait', 'done', `${r.statusText}${r.errorCount ? `, ${r.errorCount} error(s)` : ''}`);
      }

      // ---- download ----------------------------------------------------------------------------
      current = 'download';
      checkDeadline();
      const dl = await downloadFiles({
        client: conn.client,
        receiptNo,
        withinDays: 14,
        encrypted: o.encrypted === true,
        ...(o.encryption ? { encryption: o.encryption } : {}),
        outDir: o.downloadDir,
        store,
        clock,
        host,
      });
      const merged = mergeFiles(run.files, dl.files);
      run = updateRun(store, runId, { files: merged }, clock);
      if (dl.failures.length) {
        const f = dl.failures[0]!;
        throw new StopRun({ outcome: 'error', exitCode: f.exitCode, failure: { code: f.code, message: `${f.name}: ${f.message}`, ...(f.hint ? { hint: f.hint } : {}), exitCode: f.exitCode } });
      }
      if (dl.files.length === 0) {
        throw new StopRun({
          outcome: 'error',
          exitCode: ExitCode.PORTAL,
          failure: {
            code: 'CHECK_FILE_MISSING',
            message: `the portal offers no check file for 收件序號 ${receiptNo} (${run.statusText})`,
            hint: 'The portal may offer it a little later: run the same command again.',
            exitCode: ExitCode.PORTAL,
          },
        });
      }
      const fetched = dl.files.filter((f) => !f.skipped).length;
      step('download', fetched ? 'done' : 'skipped', `${fetched} fetched, ${dl.files.length - fetched} already here: ${dl.files.map((f) => f.path).join(', ')}`);

      // ---- decrypt -----------------------------------------------------------------------------
      current = 'decrypt';
      const encryptedFiles = run.files.filter((f) => f.encrypted);
      if (encryptedFiles.length === 0) {
        step('decrypt', 'skipped', 'plain download');
      } else {
        let opened = 0;
        const files: RunFile[] = [];
        for (const f of run.files) {
          if (!f.encrypted) {
            files.push(f);
            continue;
          }
          const target = join(o.downloadDir, f.name);
          if (existsSync(target) && (await sha256File(target)).sha256 === f.sha256) {
            files.push({ ...f, decrypted: target });
            continue;
          }
          const d = await decryptArchive(f.path, { outDir: o.downloadDir, userId: o.userId, attempts: 1, host, cwd: o.cwd });
          const got = d.files.find((x) => basename(x.name) === f.name) ?? d.files[0];
          files.push({ ...f, decrypted: got?.path ?? null });
          opened++;
        }
        run = updateRun(store, runId, { files }, clock);
        step('decrypt', opened ? 'done' : 'skipped', `${opened} opened, ${encryptedFiles.length - opened} already decrypted`);
      }

      // ---- explain -----------------------------------------------------------------------------
      current = 'explain';
      if (run.status === 'failed') {
        const check = run.files.find((f) => (f.encrypted ? f.decrypted : f.path) && /\.msg\.txt$/i.test(f.name));
        const checkFile = check ? (check.encrypted ? check.decrypted! : check.path) : null;
        if (!checkFile) {
          notices.push('no check file to explain the errors with');
          step('explain', 'skipped', 'no check file');
        } else if (!o.explain) {
          notices.push(`labup explain ${checkFile} lists the errors`);
          step('explain', 'skipped', 'no explainer');
        } else {
          try {
            const answer = await explainWithSource(o, run, checkFile, receiptNo, packOpts, showIds, host);
            errors = answer.errors;
            errorCount = answer.errorCount;
            notices.push(...answer.notices);
            step('explain', 'done', `${answer.errorCount} error(s) in ${checkFile}`);
          } catch (err) {
            // The upload's outcome stands whether or not its check file can be explained.
            if (!isLabupError(err)) throw err;
            notices.push(`the check file could not be explained: [${err.code}] ${err.message}`);
            step('explain', 'failed', `[${err.code}] ${err.message}`);
          }
        }
      } else {
        if (errors.length && run.status === 'passed') {
          errors = [];
          errorCount = 0;
        }
        step('explain', 'skipped', run.statusText ?? '');
      }

      // ---- report ------------------------------------------------------------------------------
      current = 'report';
      const passed = run.status === 'passed';
      if (!passed) errorCount = errorCount || run.errorCount || 0;
      step('report', 'done', passed ? '檢核正確' : `檢核錯誤, ${errorCount} error(s)`);
      return await finish({ outcome: passed ? 'passed' : 'failed', exitCode: passed ? ExitCode.OK : ExitCode.INVALID });
    } catch (err) {
      if (err instanceof StopRun) return await finish(err.stop);
      if (isLabupError(err)) {
        const outcome: RunOutcome = err.kind === 'pending' ? 'pending' : 'error';
        return await finish({ outcome, exitCode: err.exitCode, failure: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode } });
      }
      const e = err as Error;
      updateRun(store, runId, { state: 'stopped', outcome: 'error', exitCode: ExitCode.INTERNAL, failure: { step: current, code: 'INTERNAL', message: e?.message ?? String(err), exitCode: ExitCode.INTERNAL } }, clock);
      throw err;
    }
  } finally {
    lock?.release();
  }
}

function packOptions(p: DailyPackOptions): Partial<PackOptions> {
  return {
    ...(p.map !== undefined ? { map: p.map } : {}),
    ...(p.format !== undefined ? { format: p.format } : {}),
    ...(p.inputEncoding !== undefined ? { inputEncoding: p.inputEncoding } : {}),
    ...(p.delimiter !== undefined ? { delimiter: p.delimiter } : {}),
    ...(p.encoding !== undefined ? { encoding: p.encoding } : {}),
    ...(p.replaceUnencodable !== undefined ? { replaceUnencodable: p.replaceUnencodable } : {}),
    ...(p.hosp !== undefined ? { hosp: p.hosp } : {}),
    ...(p.groupWindow !== undefined ? { groupWindow: p.groupWindow } : {}),
    ...(p.apiName !== undefined ? { apiName: p.apiName } : {}),
  };
}

/** Files already known keep what they learned (decrypted paths); fresh listings update the rest. */
function mergeFiles(known: RunFile[], fresh: Array<{ name: string; path: string; encrypted: boolean; sha256: string; skipped: boolean; remark: string }>): RunFile[] {
  const out = new Map(known.map((f) => [`${f.name}|${f.encrypted}`, f]));
  for (const f of fresh) {
    const prior = out.get(`${f.name}|${f.encrypted}`);
    out.set(`${f.name}|${f.encrypted}`, { name: f.name, path: f.path, encrypted: f.encrypted, sha256: f.sha256, skipped: f.skipped, remark: f.remark, decrypted: prior && prior.sha256 === f.sha256 ? prior.decrypted : null });
  }
  return [...out.values()];
}

/** The export (one input) or the packed ZIP as the source of the explanation; without the source when it does not match. */
async function explainWithSource(o: DailyOptions, run: RunRecord, checkFile: string, receiptNo: string, packOpts: DailyPackOptions, showIds: boolean, host: IoHost): Promise<ExplainAnswer> {
  const req = (source: ExplainRequest['source']): ExplainRequest => ({ checkFile, receiptNo, source, cwd: o.cwd, showIds, clock: o.clock, host });
  const sources: Array<ExplainRequest['source']> = [];
  const unchanged = run.inputs.length === 1 && existsSync(run.inputs[0]!.path) && (await sha256File(run.inputs[0]!.path)).sha256 === run.inputs[0]!.sha256;
  if (unchanged) sources.push({ file: run.inputs[0]!.given, options: packOpts, packed: false });
  if (run.zipPath && existsSync(run.zipPath)) sources.push({ file: run.zipPath, options: {}, packed: true });
  sources.push(null);
  let lastProblem: LabupError | null = null;
  for (const s of sources) {
    try {
      const a = await o.explain!(req(s));
      if (lastProblem) a.notices.unshift(`explained without the input rows: ${lastProblem.message}`);
      return a;
    } catch (err) {
      if (!isLabupError(err) || s === null) throw err;
      lastProblem = err;
      host.notify({ level: 'verbose', code: 'DAILY_EXPLAIN_SOURCE', message: `explaining with ${s.file} failed: [${err.code}] ${err.message}` });
    }
  }
  throw lastProblem!;
}

/** What a dry run would do: pack in memory, and say what would be sent (or continued). */
async function dryRunResult(
  o: DailyOptions,
  run: RunRecord | undefined,
  plan: { date: CalendarDate; uploadTime: Date | undefined },
  packOpts: DailyPackOptions,
  host: IoHost,
  base: ResultBase,
): Promise<DailyResult> {
  const result = resultBeforeUpload(base, {
    ok: true,
    exitCode: ExitCode.OK,
    outcome: 'dry-run',
    runId: run?.id ?? null,
    resumed: run !== undefined,
    counts: run?.counts ?? null,
    steps: run?.steps ?? [],
    failure: null,
    finishedAt: '',
  });
  if (run?.receiptNo) {
    result.notices.push(`would continue run ${run.id}: wait on 收件序號 ${run.receiptNo} (${run.statusText ?? '檢核中'}), then download into ${o.downloadDir}; nothing would be uploaded`);
    result.receipts = [receiptOf(run, null)];
  } else if (run?.zipPath && existsSync(run.zipPath)) {
    result.notices.push(`would continue run ${run.id}: ask the portal what it received of ${run.zipPath} for 上傳日期 ${rocSlashed(run.uploadDate)} and adopt it, or send it again with the same idempotency key`);
    result.zip = { path: run.zipPath, name: basename(run.zipPath), sha256: run.zipSha256, h16: run.h16 };
  } else {
    const p = await pack(
      o.inputs.map((i) => resolve(o.cwd, i)),
      { cwd: o.cwd, clock: o.clock, host, out: o.home, ...packOptions(packOpts), ...(plan.uploadTime ? { uploadTime: plan.uploadTime } : {}), force: o.force === true, dryRun: true, showIds: o.showIds === true },
    );
    result.counts = p.counts;
    result.warningCount = p.warningCount;
    result.zip = p.target ? { path: p.target, name: basename(p.target), sha256: null, h16: p.h16 } : null;
    if (p.refused === 'empty') {
      Object.assign(result, { ok: false, exitCode: ExitCode.NOTHING_TO_DO, outcome: 'empty' });
      result.notices.push('the input holds no data rows: nothing would be uploaded');
    } else if (p.refused === 'invalid') {
      result.errors = p.errors.map(fromPackFinding);
      result.errorCount = p.errorCount;
      Object.assign(result, { ok: false, exitCode: ExitCode.INVALID, outcome: 'refused' });
      result.notices.push(`${p.errorCount} error(s) NHI would reject: nothing would be sent`);
    } else {
      result.notices.push(`would upload ${p.counts.hdata} hdata, ${p.counts.rdata} rdata (h16 ${p.h16}) for 上傳日期 ${formatRocSlashed(plan.date)}, wait for 處理狀態, and download the check file${o.encrypted ? ' (encrypted)' : ''} into ${o.downloadDir}`);
    }
  }
  result.errorGroups = groupErrors(result.errors);
  result.finishedAt = taipeiIso(o.clock.now());
  return result;
}

function receiptOf(run: RunRecord, journal: { sentAt: string | null; checkedAt: string | null; fileName: string } | null): DailyReceipt {
  return {
    receiptNo: run.receiptNo!,
    uploadDate: rocSlashed(run.uploadDate),
    status: run.status,
    statusText: run.statusText ?? (run.status ? STATUS_TEXT[run.status] : null),
    sentAt: journal?.sentAt ?? null,
    checkedAt: journal?.checkedAt ?? null,
    errorCount: run.errorCount,
    fileName: journal?.fileName ?? (run.zipPath ? basename(run.zipPath) : null),
    files: run.files.map((f) => ({ name: f.name, path: f.path, encrypted: f.encrypted, decrypted: f.decrypted, skipped: f.skipped, remark: f.remark })),
  };
}

/** The result document of a run as recorded (for a run that ended now, or one that had finished). */
async function resultFromRun(
  o: DailyOptions,
  store: Store,
  run: RunRecord,
  base: Pick<DailyResult, 'dryRun' | 'inputs' | 'preflight' | 'notices' | 'startedAt'>,
  how: { exitCode: number; outcome: DailyOutcome; alreadyDone: boolean; resumed: boolean; errors?: DailyError[]; errorCount?: number; warningCount?: number },
): Promise<DailyResult> {
  let errors = how.errors ?? [];
  let errorCount = how.errorCount ?? 0;
  let groups: DailyErrorGroup[] | null = null;
  if (how.alreadyDone && run.reportPath) {
    // The errors of a finished run are in its report.
    try {
      const earlier = JSON.parse(readFileSync(run.reportPath, 'utf8')) as Partial<DailyResult>;
      errors = earlier.errors ?? [];
      errorCount = earlier.errorCount ?? errors.length;
      groups = earlier.errorGroups ?? null;
    } catch {
      base.notices.push(`the report ${run.reportPath} of that run cannot be read any more`);
    }
  }
  const j = run.receiptNo ? findJournalByReceipt(store, run.portal, run.receiptNo) : undefined;
  return {
    ...base,
    ok: how.exitCode === ExitCode.OK,
    exitCode: how.exitCode,
    outcome: how.outcome,
    runId: run.id,
    resumed: how.resumed,
    alreadyDone: how.alreadyDone,
    uploadDate: rocSlashed(run.uploadDate),
    inputs: run.inputs.map((i) => ({ file: i.given, sha256: i.sha256, size: i.size })),
    counts: run.counts,
    zip: run.zipPath ? { path: run.zipPath, name: basename(run.zipPath), sha256: run.zipSha256, h16: run.h16 } : null,
    receipts: run.receiptNo ? [receiptOf(run, j ? { sentAt: j.sentAt, checkedAt: j.checkedAt, fileName: j.fileName } : null)] : [],
    errors,
    errorCount: Math.max(errorCount, errors.length),
    warningCount: how.warningCount ?? 0,
    errorGroups: groups ?? groupErrors(errors),
    steps: run.steps,
    failure: run.failure,
    report: run.reportPath,
    finishedAt: taipeiIso(o.clock.now()),
  };
}

/** Writes the report atomically, mode 0600 (it names patients' rows); null when it cannot be written. */
async function writeReport(downloadDir: string, name: string, result: DailyResult, host: IoHost): Promise<string | null> {
  const dir = join(downloadDir, 'reports');
  const path = join(dir, name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Kept on disk and read back by reruns: national IDs masked whatever --show-ids asked of stdout.
    await writeFileAtomic(path, Buffer.from(maskIdsInText(JSON.stringify({ ...result, report: path }, null, 2)) + '\n', 'utf8'));
    host.notify({ level: 'verbose', code: 'DAILY_REPORT', message: `report written: ${path}` });
    return path;
  } catch (err) {
    host.notify({ level: 'warn', code: 'DAILY_REPORT_FAILED', message: `cannot write the report ${path}: ${(err as Error).message}` });
    return null;
  }
}

/** Removes the packed ZIPs of runs that finished more than `keepDays` ago (they hold patient data). */
function pruneRunFolders(home: string, store: Store, clock: Clock, keepDays: number, current: number): void {
  const dir = join(home, 'runs');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const cutoff = clock.now().getTime() - keepDays * 86_400_000;
  for (const n of names) {
    const id = Number(n);
    if (!Number.isInteger(id) || id === current) continue;
    const run = getRun(store, id);
    const finished = run?.finishedAt ? new Date(run.finishedAt).getTime() : NaN;
    if (!run || (run.state === 'done' && finished < cutoff) || run.state === 'abandoned') rmSync(join(dir, n), { recursive: true, force: true });
  }
}

