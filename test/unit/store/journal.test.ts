import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { openStore, STORE_MIGRATIONS } from '../../../src/store/store.js';
import { migrate, schemaVersion } from '../../../src/store/migrate.js';
import {
  findDownload,
  findJournalByReceipt,
  findJournalEntry,
  journalAttempt,
  journalBegin,
  journalMarkFailed,
  journalMarkSent,
  journalUpdateStatus,
  listJournal,
  recordDownload,
} from '../../../src/store/journal.js';

const dir = mkdtempSync(join(tmpdir(), 'labup-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const clock = fixedClock('2026-11-25T21:00:00+08:00');
const entry = {
  portal: 'http://portal.test',
  institutionCode: '3501200000',
  uploadDate: '1151125',
  file: '/data/TOTFA.zip',
  fileName: 'TOTFA.zip',
  size: 1234,
  contentSha256: 'a'.repeat(64),
  idempotencyKey: 'b'.repeat(64),
};

describe('the store and its migrations', () => {
  it('creates labup.db private to the user, at the latest schema version', () => {
    const store = openStore({ env: { LABUP_HOME: join(dir, 'home') } });
    expect(store.file).toBe(join(dir, 'home', 'labup.db'));
    expect(schemaVersion(store.db)).toBe(STORE_MIGRATIONS.length);
    if (process.platform !== 'win32') {
      expect(statSync(store.file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'home')).mode & 0o777).toBe(0o700);
    }
    store.close();
  });

  it('applies only the steps a database has not seen, and refuses one written by a newer labup', () => {
    const db = openDatabase(join(dir, 'm.db'));
    const steps = [
      { version: 1, description: 'a', up: (d: SqliteDatabase) => d.exec('CREATE TABLE a (x)') },
      { version: 2, description: 'b', up: (d: SqliteDatabase) => d.exec('CREATE TABLE b (x)') },
    ];
    expect(migrate(db, steps.slice(0, 1), 'm.db')).toEqual({ from: 0, to: 1 });
    expect(migrate(db, steps, 'm.db')).toEqual({ from: 1, to: 2 });
    expect(migrate(db, steps, 'm.db')).toEqual({ from: 2, to: 2 });
    expect(() => migrate(db, steps.slice(0, 1), 'm.db')).toThrow(expect.objectContaining({ code: 'STORE_TOO_NEW' }));
    db.close();
  });
});

describe('the submission journal', () => {
  it('records a submission before sending and its 收件序號 after', () => {
    const store = openStore({ file: join(dir, 'j1.db') });
    // given an upload about to be sent
    const e = journalBegin(store, entry, clock);
    journalAttempt(store, e.id, clock);
    expect(e).toMatchObject({ state: 'sending', receiptNo: null, attempts: 0 });
    // when the portal answers
    journalMarkSent(store, e.id, { receiptNo: '1151125000001', sentAt: '2026-11-25T21:00:00+08:00', status: 'checking', statusText: '檢核中' }, clock);
    journalUpdateStatus(store, entry.portal, { receiptNo: '1151125000001', status: 'failed', statusText: '檢核錯誤', checkedAt: '2026-11-25T21:00:05+08:00', errorCount: 3 }, clock);
    // then the entry holds everything learned, and is found by key and by receipt
    const found = findJournalEntry(store, entry.portal, entry.idempotencyKey)!;
    expect(found).toMatchObject({ state: 'sent', receiptNo: '1151125000001', status: 'failed', statusText: '檢核錯誤', errorCount: 3, attempts: 1 });
    expect(findJournalByReceipt(store, entry.portal, '1151125000001')?.id).toBe(e.id);
    expect(listJournal(store, { statuses: ['failed'] })).toHaveLength(1);
    store.close();
  });

  it('finds the entry of an interrupted run again instead of writing a second one', () => {
    const store = openStore({ file: join(dir, 'j2.db') });
    const first = journalBegin(store, entry, clock);
    // the process died while sending: the rerun begins the same upload again
    const again = journalBegin(store, { ...entry, file: '/elsewhere/TOTFA.zip' }, clock);
    expect(again.id).toBe(first.id);
    expect(again.file).toBe('/elsewhere/TOTFA.zip');
    expect(listJournal(store)).toHaveLength(1);
    store.close();
  });

  it('keeps an ambiguous failure as sending, and a definite refusal as refused until sent again', () => {
    const store = openStore({ file: join(dir, 'j3.db') });
    const e = journalBegin(store, entry, clock);
    journalMarkFailed(store, e.id, 'PORTAL_UNAVAILABLE', false, clock);
    expect(findJournalEntry(store, entry.portal, entry.idempotencyKey)).toMatchObject({ state: 'sending', lastError: 'PORTAL_UNAVAILABLE' });
    journalMarkFailed(store, e.id, 'ZIP_ENTRY_COUNT', true, clock);
    expect(findJournalEntry(store, entry.portal, entry.idempotencyKey)).toMatchObject({ state: 'refused', lastError: 'ZIP_ENTRY_COUNT' });
    expect(journalBegin(store, entry, clock).state).toBe('sending');
    store.close();
  });

  it('remembers downloaded files per portal, file and encryption', () => {
    const store = openStore({ file: join(dir, 'j4.db') });
    recordDownload(store, { portal: 'p', fileId: 'f1', name: '1300_1151125000001.msg.txt', receiptNo: '1151125000001', contentSha256: 'c'.repeat(64), encrypted: true, path: '/d/x.zip' }, clock);
    expect(findDownload(store, 'p', 'f1', true)).toMatchObject({ path: '/d/x.zip', encrypted: true });
    expect(findDownload(store, 'p', 'f1', false)).toBeUndefined();
    store.close();
  });
});
