/**
 * A small schema-migration mechanism for labup's SQLite files (the client's store and the
 * sandbox's state): an ordered list of steps, applied in one transaction each, with the schema
 * version kept in `PRAGMA user_version`. Later features append steps; they never edit old ones.
 */
import type { SqliteDatabase as Database } from './sqlite.js';
import { configError } from '../errors.js';

export interface Migration {
  /** 1-based, consecutive: step N brings the schema from version N-1 to N. */
  version: number;
  /** What the step adds, for `doctor` and error messages. */
  description: string;
  up(db: Database): void;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies the steps the database has not seen yet. A database written by a newer labup (a version
 * above the last step) is refused rather than silently misread.
 */
export function migrate(db: Database, migrations: readonly Migration[], label: string): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${label}: migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw configError('STORE_TOO_NEW', `${label} has schema version ${from}; this labup knows up to ${latest}`, {
      hint: 'Upgrade labup, or point LABUP_HOME at another folder.',
    });
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      // Another process opening the same file may have applied the step since `from` was read.
      if (schemaVersion(db) >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: latest };
}
