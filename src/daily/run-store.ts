/**
 * Daily runs in the client store (`runs`, store migration 4). A run is one `labup daily` job: its
 * inputs (by content hash), its 上傳日期, the ZIP it packed, the 收件序號 it got, the files it
 * fetched, and how far it came. It is written after every step, so that the same command run again
 * after an interruption continues where the last one stopped, and `labup history` can say what was
 * uploaded when.
 */
import type { Clock } from '../clock.js';
import { taipeiIso } from '../clock.js';
import type { Store } from '../store/store.js';
import type { SubmissionStatus } from '../transport/portal-client.js';

/** The steps of a run, in order. */
export const RUN_STEPS = ['preflight', 'pack', 'upload', 'wait', 'download', 'decrypt', 'explain', 'report'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/**
 * `running` while a process works on it (or was killed doing so), `stopped` when it ended before the
 * end (refused, pending at the timeout, a failure), `done` when every step finished, `abandoned`
 * when `--new-run` replaced it.
 */
export type RunState = 'running' | 'stopped' | 'done' | 'abandoned';

/**
 * How a run ended: `passed` (檢核正確), `failed` (檢核錯誤), `refused` (invalid locally, not sent),
 * `empty` (no data rows), `pending` (檢核中 at the timeout or deadline), `error` (a failure with its
 * exit code).
 */
export type RunOutcome = 'passed' | 'failed' | 'refused' | 'empty' | 'pending' | 'error';

export interface RunInput {
  /** Absolute path. */
  path: string;
  /** As given on the command line. */
  given: string;
  sha256: string;
  size: number;
}

/** A file of the run on disk: a check file (plain or as the portal's encrypted ZIP). */
export interface RunFile {
  /** The file's name on the portal (`1300_<收件序號>.msg.txt`). */
  name: string;
  /** Where it is: the check file, or the encrypted ZIP. */
  path: string;
  encrypted: boolean;
  /** The check file extracted from the encrypted ZIP, once decrypted. */
  decrypted: string | null;
  sha256: string;
  /** Already on disk before this start of the run: not fetched again. */
  skipped: boolean;
  remark: string;
}

export interface RunStepRecord {
  step: RunStep;
  /** `done`, `skipped` (already done by an earlier start), `failed`, `stopped` (pending, refused). */
  state: 'done' | 'skipped' | 'failed' | 'stopped';
  at: string;
  /** Start of the run (1-based) that recorded it. */
  start: number;
  note?: string;
}

export interface RunFailure {
  step: RunStep;
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export interface RunRecord {
  id: number;
  /** SHA-256 of the portal, the inputs key and the 上傳日期: the run's identity. */
  runKey: string;
  /** SHA-256 of the inputs' content and the options that shape the ZIP. */
  inputsKey: string;
  portal: string;
  /** 上傳日期, ROC YYYMMDD. */
  uploadDate: string;
  inputs: RunInput[];
  /** The pack options the run was started with (no secrets). */
  options: Record<string, unknown>;
  state: RunState;
  /** The last step completed. */
  step: RunStep | null;
  outcome: RunOutcome | null;
  /** The packed ZIP (kept for a resumed upload and as the source of explanations). */
  zipPath: string | null;
  zipSha256: string | null;
  h16: string | null;
  counts: { rows: number; hdata: number; rdata: number } | null;
  /** 收件序號. */
  receiptNo: string | null;
  status: SubmissionStatus | null;
  statusText: string | null;
  errorCount: number | null;
  files: RunFile[];
  steps: RunStepRecord[];
  exitCode: number | null;
  failure: RunFailure | null;
  reportPath: string | null;
  /** How many times the run was started (1 = never resumed). */
  starts: number;
  pid: number | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface Row {
  id: number;
  run_key: string;
  inputs_key: string;
  portal: string;
  upload_date: string;
  inputs: string;
  options: string;
  state: RunState;
  step: RunStep | null;
  outcome: RunOutcome | null;
  zip_path: string | null;
  zip_sha256: string | null;
  h16: string | null;
  counts: string | null;
  receipt_no: string | null;
  status: SubmissionStatus | null;
  status_text: string | null;
  error_count: number | null;
  files: string;
  steps: string;
  exit_code: number | null;
  failure: string | null;
  report_path: string | null;
  starts: number;
  pid: number | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

function toRecord(r: Row): RunRecord {
  return {
    id: r.id,
    runKey: r.run_key,
    inputsKey: r.inputs_key,
    portal: r.portal,
    uploadDate: r.upload_date,
    inputs: JSON.parse(r.inputs) as RunInput[],
    options: JSON.parse(r.options) as Record<string, unknown>,
    state: r.state,
    step: r.step,
    outcome: r.outcome,
    zipPath: r.zip_path,
    zipSha256: r.zip_sha256,
    h16: r.h16,
    counts: r.counts ? (JSON.parse(r.counts) as RunRecord['counts']) : null,
    receiptNo: r.receipt_no,
    status: r.status,
    statusText: r.status_text,
    errorCount: r.error_count,
    files: JSON.parse(r.files) as RunFile[],
    steps: JSON.parse(r.steps) as RunStepRecord[],
    exitCode: r.exit_code,
    failure: r.failure ? (JSON.parse(r.failure) as RunFailure) : null,
    reportPath: r.report_path,
    starts: r.starts,
    pid: r.pid,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

export interface NewRun {
  runKey: string;
  inputsKey: string;
  portal: string;
  uploadDate: string;
  inputs: RunInput[];
  options: Record<string, unknown>;
}

/** Creates a run in state `running`, started once by this process. */
export function createRun(store: Store, run: NewRun, clock: Clock): RunRecord {
  const now = taipeiIso(clock.now());
  const info = store.db
    .prepare(
      `INSERT INTO runs (run_key, inputs_key, portal, upload_date, inputs, options, state, starts, pid, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?)`,
    )
    .run(run.runKey, run.inputsKey, run.portal, run.uploadDate, JSON.stringify(run.inputs), JSON.stringify(run.options), process.pid, now, now);
  return getRun(store, Number(info.lastInsertRowid))!;
}

export function getRun(store: Store, id: number): RunRecord | undefined {
  const r = store.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
  return r ? toRecord(r) : undefined;
}

/** The latest run (not abandoned) with this identity. */
export function findRunByKey(store: Store, runKey: string): RunRecord | undefined {
  const r = store.db.prepare(`SELECT * FROM runs WHERE run_key = ? AND state != 'abandoned' ORDER BY id DESC LIMIT 1`).get(runKey) as Row | undefined;
  return r ? toRecord(r) : undefined;
}

/** Runs of the same inputs (any 上傳日期) on this portal, newest first. */
export function findRunsByInputs(store: Store, portal: string, inputsKey: string): RunRecord[] {
  return (store.db.prepare(`SELECT * FROM runs WHERE portal = ? AND inputs_key = ? AND state != 'abandoned' ORDER BY id DESC`).all(portal, inputsKey) as Row[]).map(toRecord);
}

/** Marks a run started again by this process. */
export function restartRun(store: Store, id: number, clock: Clock): RunRecord {
  store.db
    .prepare(`UPDATE runs SET state = 'running', starts = starts + 1, pid = ?, exit_code = NULL, failure = NULL, finished_at = NULL, updated_at = ? WHERE id = ?`)
    .run(process.pid, taipeiIso(clock.now()), id);
  return getRun(store, id)!;
}

export type RunUpdate = Partial<
  Pick<
    RunRecord,
    'state' | 'step' | 'outcome' | 'zipPath' | 'zipSha256' | 'h16' | 'counts' | 'receiptNo' | 'status' | 'statusText' | 'errorCount' | 'files' | 'exitCode' | 'failure' | 'reportPath' | 'finishedAt'
  >
>;

const COLUMNS: Record<keyof RunUpdate, { column: string; json?: boolean }> = {
  state: { column: 'state' },
  step: { column: 'step' },
  outcome: { column: 'outcome' },
  zipPath: { column: 'zip_path' },
  zipSha256: { column: 'zip_sha256' },
  h16: { column: 'h16' },
  counts: { column: 'counts', json: true },
  receiptNo: { column: 'receipt_no' },
  status: { column: 'status' },
  statusText: { column: 'status_text' },
  errorCount: { column: 'error_count' },
  files: { column: 'files', json: true },
  exitCode: { column: 'exit_code' },
  failure: { column: 'failure', json: true },
  reportPath: { column: 'report_path' },
  finishedAt: { column: 'finished_at' },
};

export function updateRun(store: Store, id: number, update: RunUpdate, clock: Clock): RunRecord {
  const sets: string[] = [];
  const args: unknown[] = [];
  for (const [k, v] of Object.entries(update) as Array<[keyof RunUpdate, unknown]>) {
    if (v === undefined) continue;
    const c = COLUMNS[k];
    sets.push(`${c.column} = ?`);
    args.push(c.json && v !== null ? JSON.stringify(v) : v);
  }
  sets.push('updated_at = ?');
  args.push(taipeiIso(clock.now()), id);
  store.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...args);
  return getRun(store, id)!;
}

/** Appends a step's record (what was done, skipped or failed, and when). */
export function recordStep(store: Store, id: number, step: Omit<RunStepRecord, 'at'>, clock: Clock): RunRecord {
  const db = store.db;
  return db
    .transaction(() => {
      const run = getRun(store, id)!;
      const steps = [...run.steps, { ...step, at: taipeiIso(clock.now()) }];
      const done = step.state === 'done' || step.state === 'skipped';
      db.prepare(`UPDATE runs SET steps = ?, step = CASE WHEN ? THEN ? ELSE step END, updated_at = ? WHERE id = ?`).run(
        JSON.stringify(steps),
        done ? 1 : 0,
        step.step,
        taipeiIso(clock.now()),
        id,
      );
      return getRun(store, id)!;
    })
    .immediate();
}

export interface RunQuery {
  /** 上傳日期 from / to (ROC YYYMMDD, inclusive). */
  uploadDateFrom?: string;
  uploadDateTo?: string;
}

/** Runs (not abandoned), newest first. */
export function listRuns(store: Store, q: RunQuery = {}): RunRecord[] {
  const where = [`state != 'abandoned'`];
  const args: unknown[] = [];
  if (q.uploadDateFrom) {
    where.push('upload_date >= ?');
    args.push(q.uploadDateFrom);
  }
  if (q.uploadDateTo) {
    where.push('upload_date <= ?');
    args.push(q.uploadDateTo);
  }
  return (store.db.prepare(`SELECT * FROM runs WHERE ${where.join(' AND ')} ORDER BY id DESC`).all(...args) as Row[]).map(toRecord);
}
