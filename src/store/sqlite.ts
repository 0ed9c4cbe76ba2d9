/**
 * The SQLite binding, chosen by the Node.js version.
 *
 * better-sqlite3 12 is a classic addon built for the running Node.js; from Node 24, whose
 * `node::ObjectWrap` asks for the JavaScript environment when an object is freed, its statements
 * abort the process when the garbage collector frees them outside JavaScript (an idle collection,
 * a worker's teardown). better-sqlite3 13 (installed as `better-sqlite3-napi`) is built on
 * Node-API and does not, but it does not run on Node 20. So: 13 from Node 24, 12 before. Both have
 * the same API; the types are 12's.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteOptions = BetterSqlite3.Options;

/** The package the binding is loaded from on this Node.js. */
const SQLITE_BINDING = Number(process.versions.node.split('.')[0]) >= 24 ? 'better-sqlite3-napi' : 'better-sqlite3';

let binding: typeof BetterSqlite3 | undefined;

/** Opens (or creates) a database file, as `new Database(file, options)` of better-sqlite3. */
export function openDatabase(file: string, options?: SqliteOptions): SqliteDatabase {
  binding ??= createRequire(import.meta.url)(SQLITE_BINDING) as typeof BetterSqlite3;
  return new binding(file, options);
}
