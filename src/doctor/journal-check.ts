/**
 * Looks at the journal (`LABUP_HOME/labup.db`) without changing it: it opens, its pages are sound,
 * this labup knows its schema, and this user may write it. A journal not made yet is fine when its
 * folder can be created.
 */
import { access, constants } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../store/sqlite.js';
import { configError, fileError } from '../errors.js';
import { nearestExisting } from '../paths.js';
import { STORE_MIGRATIONS } from '../store/store.js';

export interface JournalInspection {
  file: string;
  exists: boolean;
  /** Schema version (SQLite user_version). */
  version: number | null;
  submissions: number | null;
  runs: number | null;
  message: string;
}

async function writableAncestor(dir: string): Promise<string> {
  const d = await nearestExisting(dir);
  try {
    await access(d, constants.W_OK);
  } catch (err) {
    throw fileError(err, d, 'create the journal in');
  }
  return d;
}

export async function inspectJournal(file: string): Promise<JournalInspection> {
  if (!existsSync(file)) {
    await writableAncestor(dirname(file));
    return { file, exists: false, version: null, submissions: null, runs: null, message: `${file} does not exist yet; the first upload creates it (its folder is writable)` };
  }
  try {
    await access(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw fileError(err, file, 'read and write');
  }
  let db: SqliteDatabase | undefined;
  try {
    db = openDatabase(file, { readonly: true, fileMustExist: true });
    const version = Number(db.pragma('user_version', { simple: true }));
    const known = Math.max(...STORE_MIGRATIONS.map((m) => m.version));
    if (version > known) {
      throw configError('STORE_TOO_NEW', `${file} was written by a newer labup (schema ${version}; this one knows ${known})`, { hint: 'Run the newer labup, or upgrade this one (npm install -g labup).' });
    }
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw configError('STORE_DAMAGED', `${file} is damaged (${String(check).slice(0, 120)})`, { hint: 'Restore it from a backup, or move it away (labup then starts a new journal and forgets what it sent).' });
    const count = (table: string): number | null => {
      try {
        return (db!.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      } catch {
        return null;
      }
    };
    const submissions = count('submissions');
    const runs = count('runs');
    const upgrade = version < known ? `; schema ${version}, upgraded to ${known} by the next run` : '';
    return { file, exists: true, version, submissions, runs, message: `${file}: ${submissions ?? 0} submission(s), ${runs ?? 0} daily run(s)${upgrade}` };
  } catch (err) {
    if ((err as { code?: string }).code === 'STORE_TOO_NEW' || (err as { code?: string }).code === 'STORE_DAMAGED') throw err;
    throw configError('STORE_UNREADABLE', `cannot read the journal ${file} (${(err as Error).message})`, {
      hint: 'Check that LABUP_HOME holds a labup journal this user may read and write.',
      cause: err,
    });
  } finally {
    db?.close();
  }
}
