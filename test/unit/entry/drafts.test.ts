import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { schemaVersion } from '../../../src/store/migrate.js';
import { openStore, STORE_MIGRATIONS, type Store } from '../../../src/store/store.js';
import {
  createDraft,
  discardUpload,
  findPendingUpload,
  getDraft,
  listDrafts,
  markUploadSent,
  recordUpload,
  recordUploadStatus,
  removeDrafts,
  updateDraft,
} from '../../../src/entry/drafts.js';
import { queryDrafts } from '../../../src/entry/listing.js';
import type { DailyRecord } from '../../../src/entry/record.js';

const PATIENT = completePersonId('F12671859');
const rec = (h7: string): DailyRecord => ({ header: { h1: '1', h2: '3501200000', h5: '1151125073005', h6: '01', h7, h9: PATIENT, h4: '11511', h15: '09005C' }, items: [{ r1: '1' }] });
const counts = { errorCount: 0, warningCount: 0 };

describe('the draft store (migration 3)', () => {
  let dir: string;
  let store: Store;
  const clock = fixedClock('2026-11-25T21:00:00+08:00');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-drafts-'));
    store = openStore({ file: join(dir, 'labup.db') });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds the drafts tables to a journal written by an earlier labup, in a file only the user reads', () => {
    // given a labup.db at schema version 2 holding a journal entry
    store.close();
    const file = join(dir, 'old.db');
    const db = openDatabase(file);
    for (const m of STORE_MIGRATIONS.slice(0, 2)) m.up(db);
    db.pragma('user_version = 2');
    db.prepare(`INSERT INTO submissions (portal, upload_date, file, file_name, size, content_sha256, idempotency_key, state, created_at, updated_at) VALUES ('p', '1151125', 'f', 'f', 1, 'c', 'k', 'sent', 'x', 'x')`).run();
    db.close();
    // when it is opened
    store = openStore({ file });
    // then it is migrated, the journal kept
    expect(schemaVersion(store.db)).toBe(STORE_MIGRATIONS.length);
    expect(STORE_MIGRATIONS[2]).toMatchObject({ version: 3, description: expect.stringMatching(/drafts/) });
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM submissions').get()).toEqual({ n: 1 });
    expect(createDraft(store, rec('0001'), counts, clock).id).toBe(1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('adds the drafts tables to a store that passed step 3 while it was an empty reservation', () => {
    // given a labup.db at version 4 whose step 3 added nothing (labup before entry)
    store.close();
    const file = join(dir, 'reserved.db');
    const db = openDatabase(file);
    for (const m of STORE_MIGRATIONS.slice(0, 4)) if (m.version !== 3) m.up(db);
    db.pragma('user_version = 4');
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'drafts'`).get()).toBeUndefined();
    db.close();
    // when it is opened, step 5 adds them
    store = openStore({ file });
    expect(createDraft(store, rec('0001'), counts, clock).status).toBe('draft');
    // and a store whose step 3 made them keeps its drafts through step 5
    store.close();
    const kept = join(dir, 'kept.db');
    const db3 = openDatabase(kept);
    for (const m of STORE_MIGRATIONS.slice(0, 3)) m.up(db3);
    db3.pragma('user_version = 3');
    db3.prepare(`INSERT INTO drafts (status, record, created_at, updated_at) VALUES ('draft', '{"header":{},"items":[]}', 'x', 'x')`).run();
    db3.close();
    store = openStore({ file: kept });
    expect(listDrafts(store).map((d) => d.id)).toEqual([1]);
    expect(schemaVersion(store.db)).toBe(STORE_MIGRATIONS.length);
  });

  it('keeps a draft 暫存 until it is uploaded; 檢核中 and 檢核正確 are read-only; 檢核錯誤 becomes 暫存 when corrected', () => {
    const d = createDraft(store, rec('0001'), counts, clock);
    expect(d).toMatchObject({ status: 'draft', statusText: '暫存', receiptNo: null, createdAt: '2026-11-25T21:00:00+08:00' });
    clock.advance(60_000);
    expect(updateDraft(store, d.id, rec('0002'), { errorCount: 1, warningCount: 2 }, clock)).toMatchObject({ errorCount: 1, warningCount: 2, updatedAt: '2026-11-25T21:01:00+08:00', record: rec('0002') });
    // uploaded
    const u = recordUpload(store, { portal: 'p', draftIds: [d.id], fingerprint: 'f1', h16: '1151125210100', uploadDate: '1151125', file: '/x.zip', fileName: 'x.zip', contentSha256: 'c' }, clock);
    expect(getDraft(store, d.id)).toMatchObject({ status: 'draft', uploadId: u.id, position: 1 });
    markUploadSent(store, u.id, { receiptNo: '1151125000007', sentAt: '2026-11-25T21:01:00+08:00', status: 'checking' }, clock);
    expect(getDraft(store, d.id)).toMatchObject({ status: 'checking', statusText: '檢核中', receiptNo: '1151125000007', h16: '1151125210100', portal: 'p' });
    expect(() => updateDraft(store, d.id, rec('0003'), counts, clock)).toThrow(expect.objectContaining({ code: 'ENTRY_READ_ONLY', exitCode: 2 }));
    expect(() => removeDrafts(store, [d.id])).toThrow(expect.objectContaining({ code: 'ENTRY_READ_ONLY' }));
    // the portal's answer, for every draft of the receipt
    expect(recordUploadStatus(store, 'p', { receiptNo: '1151125000007', status: 'failed', checkedAt: '2026-11-25T21:05:00+08:00', errorCount: 1 }, clock)).toBe(1);
    expect(recordUploadStatus(store, 'p', { receiptNo: '1151125000007', status: 'failed', checkedAt: '2026-11-25T21:05:00+08:00', errorCount: 1 }, clock)).toBe(0);
    expect(getDraft(store, d.id)).toMatchObject({ status: 'failed', statusText: '檢核錯誤', checkedAt: '2026-11-25T21:05:00+08:00' });
    // corrected: 暫存 again, ready for a new upload (its later h16 replaces the rejected record)
    expect(updateDraft(store, d.id, rec('0004'), counts, clock)).toMatchObject({ status: 'draft', receiptNo: null, h16: null, uploadId: null });
  });

  it('finds an unsent upload only for the same drafts with the same content; a discarded one frees its drafts', () => {
    const a = createDraft(store, rec('0001'), counts, clock).id;
    const b = createDraft(store, rec('0002'), counts, clock).id;
    const u = recordUpload(store, { portal: 'p', draftIds: [a, b], fingerprint: 'f', h16: '1151125210000', uploadDate: '1151125', file: '/x.zip', fileName: 'x.zip', contentSha256: 'c' }, clock);
    expect(findPendingUpload(store, 'p', [a, b], 'f')?.id).toBe(u.id);
    expect(findPendingUpload(store, 'p', [a], 'f')).toBeUndefined();
    expect(findPendingUpload(store, 'p', [a, b], 'other')).toBeUndefined();
    expect(findPendingUpload(store, 'q', [a, b], 'f')).toBeUndefined();
    discardUpload(store, u.id, clock);
    expect(findPendingUpload(store, 'p', [a, b], 'f')).toBeUndefined();
    expect(getDraft(store, a).uploadId).toBeNull();
  });

  it('removes drafts all or none, uploaded ones only with force', () => {
    const a = createDraft(store, rec('0001'), counts, clock).id;
    expect(() => removeDrafts(store, [a, 99])).toThrow(expect.objectContaining({ code: 'ENTRY_NOT_FOUND' }));
    expect(listDrafts(store)).toHaveLength(1);
    store.db.prepare(`UPDATE drafts SET status = 'passed'`).run();
    expect(removeDrafts(store, [a], { force: true }).map((d) => d.id)).toEqual([a]);
    expect(listDrafts(store)).toEqual([]);
  });
});

describe('entry query: by 資料建立日期 (last two days by default) and 資料處理狀態', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-drafts-'));
    store = openStore({ file: join(dir, 'labup.db') });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the last two days by default, masks IDs, pages and sorts like every labup listing', () => {
    // given drafts created on 11/22, 11/24, 11/25 (Taipei)
    for (const [at, h7] of [
      ['2026-11-22T10:00:00+08:00', '0001'],
      ['2026-11-24T00:30:00+08:00', '0002'],
      ['2026-11-25T23:59:00+08:00', '0003'],
    ] as const) {
      createDraft(store, rec(h7), counts, fixedClock(at));
    }
    const now = fixedClock('2026-11-25T23:59:30+08:00');
    const res = queryDrafts(store, {}, now);
    expect(res.from).toBe('115/11/24');
    expect(res.to).toBe('115/11/25');
    expect(res.page.items.map((s) => s.h7)).toEqual(['0003', '0002']); // newest first
    expect(res.page.items[0]!.h9).toBe(`${PATIENT.slice(0, 3)}****${PATIENT.slice(-3)}`);
    expect(queryDrafts(store, { showIds: true }, now).page.items[0]!.h9).toBe(PATIENT);
    // ROC and ISO dates, paging, sorting
    expect(queryDrafts(store, { from: '115/11/22', to: '2026-11-25', sort: '+id', pageSize: 2, page: 2 }, now).page).toMatchObject({ total: 3, pages: 2, page: 2, items: [expect.objectContaining({ h7: '0003' })] });
    // a bare field sorts ascending, as in every labup listing
    expect(queryDrafts(store, { from: '115/11/22', sort: 'id', pageSize: 1 }, now).page.items[0]!.id).toBe(1);
    expect(queryDrafts(store, { from: '1151122', sort: '-id' }, now).page.items.map((s) => s.id)).toEqual([3, 2, 1]);
    expect(() => queryDrafts(store, { sort: 'nope' }, now)).toThrow(expect.objectContaining({ code: 'BAD_SORT' }));
    // by status (English name or 資料處理狀態)
    store.db.prepare(`UPDATE drafts SET status = 'passed' WHERE id = 3`).run();
    expect(queryDrafts(store, { status: '檢核正確' }, now).page.items.map((s) => s.id)).toEqual([3]);
    expect(queryDrafts(store, { status: 'draft,passed', from: '115/11/01' }, now).page.total).toBe(3);
    expect(() => queryDrafts(store, { status: 'done' }, now)).toThrow(expect.objectContaining({ code: 'BAD_STATUS' }));
    // no window at all (entry list)
    expect(queryDrafts(store, { defaultDays: null }, now).page.total).toBe(3);
  });
});
