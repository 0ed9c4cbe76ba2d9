/**
 * The sandbox's SQLite state. All instants are epoch milliseconds from the sandbox's injected
 * clock. Several processes may open the same folder (`labup sandbox` and a `--sandbox` command):
 * WAL mode, a busy timeout, IMMEDIATE write transactions and processing claims keep them apart.
 */
import { mkdirSync } from 'node:fs';
import { openDatabase, type SqliteDatabase } from '../store/sqlite.js';
import { migrate, type Migration } from '../store/migrate.js';

export type Db = SqliteDatabase;

/** The sandbox's schema, in order. Later features append steps; shipped steps never change. */
export const SANDBOX_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'institutions, users, sign-in, submissions, files, accepted records',
    up(db) {
      db.exec(`
        CREATE TABLE institutions (
          code TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE users (
          institution_code TEXT NOT NULL REFERENCES institutions (code),
          national_id TEXT NOT NULL,
          name TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (institution_code, national_id)
        );
        CREATE TABLE challenges (
          nonce TEXT PRIMARY KEY,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          used_at INTEGER
        );
        CREATE TABLE sessions (
          token_hash TEXT PRIMARY KEY,
          institution_code TEXT NOT NULL,
          user_id TEXT NOT NULL,
          cert_serial TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          last_seen_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          ended_at INTEGER
        );
        CREATE TABLE receipt_counters (
          day TEXT PRIMARY KEY,
          last INTEGER NOT NULL
        );
        CREATE TABLE submissions (
          id INTEGER PRIMARY KEY,
          receipt_no TEXT NOT NULL UNIQUE,
          institution_code TEXT NOT NULL,
          user_id TEXT NOT NULL,
          upload_date TEXT NOT NULL,
          file_name TEXT NOT NULL,
          zip_path TEXT NOT NULL,
          size INTEGER NOT NULL,
          content_sha256 TEXT NOT NULL,
          idempotency_key TEXT NOT NULL,
          sent_at INTEGER NOT NULL,
          due_at INTEGER NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('checking', 'passed', 'failed')),
          entry_name TEXT,
          hdata_count INTEGER,
          rdata_count INTEGER,
          error_count INTEGER,
          warning_count INTEGER,
          checked_at INTEGER,
          claim_instance TEXT,
          claim_pid INTEGER,
          claimed_at INTEGER,
          UNIQUE (institution_code, idempotency_key)
        );
        CREATE INDEX submissions_by_date ON submissions (institution_code, upload_date, content_sha256);
        CREATE INDEX submissions_by_sent ON submissions (institution_code, sent_at);
        CREATE INDEX submissions_due ON submissions (status, due_at);
        CREATE TABLE files (
          id TEXT PRIMARY KEY,
          submission_id INTEGER NOT NULL REFERENCES submissions (id),
          receipt_no TEXT NOT NULL,
          institution_code TEXT NOT NULL,
          upload_date TEXT NOT NULL,
          name TEXT NOT NULL,
          remark TEXT NOT NULL,
          path TEXT NOT NULL,
          size INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          provided_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          origin TEXT NOT NULL DEFAULT 'check',
          state TEXT NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'expired'))
        );
        CREATE INDEX files_by_institution ON files (institution_code, provided_at);
        CREATE INDEX files_by_receipt ON files (receipt_no);
        CREATE TABLE accepted_records (
          institution_code TEXT NOT NULL,
          correction_key TEXT NOT NULL,
          h16 TEXT NOT NULL,
          receipt_no TEXT NOT NULL,
          PRIMARY KEY (institution_code, correction_key)
        );
      `);
    },
  },
  {
    version: 2,
    description: '申請重送 (resend requests), 公告事項 (notices and attachments), 聯絡窗口 (contact window), sample seeding',
    up(db) {
      db.exec(`
        CREATE TABLE resend_requests (
          id INTEGER PRIMARY KEY,
          institution_code TEXT NOT NULL,
          user_id TEXT NOT NULL,
          submission_id INTEGER NOT NULL REFERENCES submissions (id),
          receipt_no TEXT NOT NULL,
          file_name TEXT NOT NULL,
          requested_at INTEGER NOT NULL,
          due_at INTEGER NOT NULL,
          state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
          completed_at INTEGER,
          file_id TEXT,
          failure TEXT
        );
        CREATE INDEX resend_due ON resend_requests (state, due_at);
        CREATE INDEX resend_by_institution ON resend_requests (institution_code, requested_at);
        CREATE UNIQUE INDEX resend_one_pending ON resend_requests (submission_id) WHERE state = 'pending';
        CREATE TABLE notices (
          id INTEGER PRIMARY KEY,
          title TEXT NOT NULL,
          body TEXT NOT NULL,
          published_at INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX notices_by_date ON notices (published_at);
        CREATE TABLE notice_attachments (
          notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
          name TEXT NOT NULL,
          content_type TEXT NOT NULL,
          data BLOB NOT NULL,
          size INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          added_at INTEGER NOT NULL,
          PRIMARY KEY (notice_id, name)
        );
        CREATE TABLE contact_window (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          document TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE TABLE sandbox_meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
    },
  },
];

export function openSandboxDb(file: string, options: { readonly?: boolean } = {}): Db {
  const db = openDatabase(file, options.readonly ? { readonly: true, fileMustExist: true } : {});
  db.pragma('busy_timeout = 15000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, SANDBOX_MIGRATIONS, file);
  }
  return db;
}

export function ensureDirs(dirs: string[]): void {
  for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
}

export interface SubmissionRow {
  id: number;
  receipt_no: string;
  institution_code: string;
  user_id: string;
  upload_date: string;
  file_name: string;
  zip_path: string;
  size: number;
  content_sha256: string;
  idempotency_key: string;
  sent_at: number;
  due_at: number;
  status: 'checking' | 'passed' | 'failed';
  entry_name: string | null;
  hdata_count: number | null;
  rdata_count: number | null;
  error_count: number | null;
  warning_count: number | null;
  checked_at: number | null;
  claim_instance: string | null;
  claim_pid: number | null;
  claimed_at: number | null;
}

export interface FileRow {
  id: string;
  submission_id: number;
  receipt_no: string;
  institution_code: string;
  upload_date: string;
  name: string;
  remark: string;
  path: string;
  size: number;
  sha256: string;
  provided_at: number;
  expires_at: number;
  origin: string;
  state: 'available' | 'expired';
}

export interface ResendRow {
  id: number;
  institution_code: string;
  user_id: string;
  submission_id: number;
  receipt_no: string;
  file_name: string;
  requested_at: number;
  due_at: number;
  state: 'pending' | 'done' | 'failed';
  completed_at: number | null;
  file_id: string | null;
  failure: string | null;
}
