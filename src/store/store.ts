/**
 * The client's SQLite file (`LABUP_HOME/labup.db`): the submission journal now, drafts and history
 * later. Every feature adds its tables as a new step in {@link STORE_MIGRATIONS}.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openDatabase, type SqliteDatabase } from './sqlite.js';
import { configError } from '../errors.js';
import { storeFile, type Env } from '../paths.js';
import { migrate, type Migration } from './migrate.js';

export interface Store {
  readonly db: SqliteDatabase;
  readonly file: string;
  close(): void;
}

/**
 * The tables of `labup entry` (step 3). A draft is one order (hdata) with its items, as JSON; its
 * status follows the portal: 暫存 (draft) → uploaded in a batch (收件序號) → 檢核中 / 檢核正確 /
 * 檢核錯誤. Draft numbers are never reused (AUTOINCREMENT): a script holding one never reaches another
 * record. Harmless when run twice: step 5 repeats it for stores created while step 3 was still an
 * empty reservation.
 */
function entryTables(db: SqliteDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS entry_uploads (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      portal TEXT NOT NULL,
      draft_ids TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      h16 TEXT NOT NULL,
      upload_date TEXT NOT NULL,
      file TEXT NOT NULL,
      file_name TEXT NOT NULL,
      content_sha256 TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('built', 'sent', 'discarded')),
      receipt_no TEXT,
      status TEXT CHECK (status IN ('checking', 'passed', 'failed')),
      error_count INTEGER,
      checked_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS drafts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      status TEXT NOT NULL CHECK (status IN ('draft', 'checking', 'passed', 'failed')),
      record TEXT NOT NULL,
      error_count INTEGER NOT NULL DEFAULT 0,
      warning_count INTEGER NOT NULL DEFAULT 0,
      upload_id INTEGER REFERENCES entry_uploads (id) ON DELETE SET NULL,
      position INTEGER,
      portal TEXT,
      receipt_no TEXT,
      h16 TEXT,
      uploaded_at TEXT,
      checked_at TEXT,
      portal_errors TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS drafts_created ON drafts (created_at);
    CREATE INDEX IF NOT EXISTS drafts_status ON drafts (status);
    CREATE INDEX IF NOT EXISTS drafts_receipt ON drafts (portal, receipt_no);
  `);
}

/** The schema of labup.db, in order. Append new steps; never change one that has shipped. */
export const STORE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'submission journal',
    up(db) {
      db.exec(`
        CREATE TABLE submissions (
          id INTEGER PRIMARY KEY,
          portal TEXT NOT NULL,
          institution_code TEXT,
          upload_date TEXT NOT NULL,
          file TEXT NOT NULL,
          file_name TEXT NOT NULL,
          size INTEGER NOT NULL,
          content_sha256 TEXT NOT NULL,
          idempotency_key TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'refused')),
          receipt_no TEXT,
          sent_at TEXT,
          status TEXT CHECK (status IN ('checking', 'passed', 'failed')),
          status_text TEXT,
          checked_at TEXT,
          error_count INTEGER,
          last_error TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          UNIQUE (portal, idempotency_key)
        );
        CREATE INDEX submissions_receipt ON submissions (portal, receipt_no);
        CREATE INDEX submissions_upload_date ON submissions (portal, upload_date);
      `);
    },
  },
  {
    version: 2,
    description: 'downloaded portal files',
    up(db) {
      db.exec(`
        CREATE TABLE downloads (
          id INTEGER PRIMARY KEY,
          portal TEXT NOT NULL,
          file_id TEXT NOT NULL,
          name TEXT NOT NULL,
          receipt_no TEXT,
          content_sha256 TEXT,
          encrypted INTEGER NOT NULL,
          path TEXT NOT NULL,
          downloaded_at TEXT NOT NULL,
          UNIQUE (portal, file_id, encrypted)
        );
      `);
    },
  },
  {
    version: 3,
    description: 'single-record entry: drafts and their uploads',
    up: entryTables,
  },
  {
    version: 4,
    description: 'daily runs (labup daily): steps, outcome, reports; the history',
    up(db) {
      db.exec(`
        CREATE TABLE runs (
          id INTEGER PRIMARY KEY,
          run_key TEXT NOT NULL,
          inputs_key TEXT NOT NULL,
          portal TEXT NOT NULL,
          upload_date TEXT NOT NULL,
          inputs TEXT NOT NULL,
          options TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('running', 'stopped', 'done', 'abandoned')),
          step TEXT,
          outcome TEXT,
          zip_path TEXT,
          zip_sha256 TEXT,
          h16 TEXT,
          counts TEXT,
          receipt_no TEXT,
          status TEXT CHECK (status IN ('checking', 'passed', 'failed')),
          status_text TEXT,
          error_count INTEGER,
          files TEXT NOT NULL DEFAULT '[]',
          steps TEXT NOT NULL DEFAULT '[]',
          exit_code INTEGER,
          failure TEXT,
          report_path TEXT,
          starts INTEGER NOT NULL DEFAULT 0,
          pid INTEGER,
          started_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          finished_at TEXT
        );
        CREATE INDEX runs_key ON runs (run_key);
        CREATE INDEX runs_inputs ON runs (inputs_key);
        CREATE INDEX runs_upload_date ON runs (upload_date);
        CREATE INDEX runs_receipt ON runs (portal, receipt_no);
      `);
    },
  },
  {
    version: 5,
    description: 'single-record entry tables, for stores that passed step 3 while it was still reserved',
    up: entryTables,
  },
  {
    version: 6,
    description: 'how each submission was confirmed (the portal’s answer, a replay, or adopted after a lost answer)',
    up(db) {
      db.exec(`ALTER TABLE submissions ADD COLUMN confirmed_by TEXT CHECK (confirmed_by IN ('answer', 'replay', 'adopted'))`);
    },
  },
];

export interface OpenStoreOptions {
  /** The SQLite file (default `LABUP_HOME/labup.db`). */
  file?: string;
  env?: Env;
}

/** Opens (creating and migrating) the store. The folder is private to the user (0700), the file 0600. */
export function openStore(options: OpenStoreOptions = {}): Store {
  const file = options.file ?? storeFile(options.env);
  let db: SqliteDatabase;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    db = openDatabase(file);
    if (process.platform !== 'win32') chmodSync(file, 0o600);
  } catch (err) {
    throw configError('STORE_UNREADABLE', `cannot open the journal ${file} (${(err as Error).message})`, {
      hint: 'Check that LABUP_HOME (or the data folder) is writable by this user.',
      cause: err,
    });
  }
  try {
    // The wait first: switching a new file to WAL takes a lock that another process opening the
    // same journal at that moment may hold.
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db, STORE_MIGRATIONS, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    db,
    file,
    close: () => {
      if (db.open) db.close();
    },
  };
}
