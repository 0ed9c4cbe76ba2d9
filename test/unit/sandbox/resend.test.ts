import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { completeDueResends, fileResendRequest, listResendRequests } from '../../../src/sandbox/resend.js';
import { openDatabase } from '../../../src/store/sqlite.js';
import { migrate } from '../../../src/store/migrate.js';
import { SANDBOX_MIGRATIONS, openSandboxDb, type Db } from '../../../src/sandbox/state.js';
import type { Session } from '../../../src/sandbox/auth.js';

const DAY = 86_400_000;
const RETENTION = 14 * DAY;

/** A sandbox database with one checked submission whose check file was offered at `providedAt`. */
function seed(db: Db, dir: string, o: { receiptNo: string; institution: string; providedAt: number; status?: 'checking' | 'passed' }): string {
  const path = join(dir, `1300_${o.receiptNo}.msg.txt`);
  writeFileSync(path, `check file of ${o.receiptNo}\r\n`);
  const id = db
    .prepare(
      `INSERT INTO submissions (receipt_no, institution_code, user_id, upload_date, file_name, zip_path, size, content_sha256, idempotency_key, sent_at, due_at, status)
       VALUES (?, ?, 'A123456789', '1151125', 'TOTFA.zip', '/dev/null', 1, ?, ?, ?, ?, ?)`,
    )
    .run(o.receiptNo, o.institution, 'a'.repeat(64), o.receiptNo.padEnd(64, '0'), o.providedAt, o.providedAt, o.status ?? 'passed').lastInsertRowid;
  if ((o.status ?? 'passed') !== 'checking') {
    db.prepare(
      `INSERT INTO files (id, submission_id, receipt_no, institution_code, upload_date, name, remark, path, size, sha256, provided_at, expires_at)
       VALUES (?, ?, ?, ?, '1151125', ?, '檢驗(查)結果每日上傳 資料檢核正確', ?, 1, 'x', ?, ?)`,
    ).run(`f${o.receiptNo}`, id, o.receiptNo, o.institution, `1300_${o.receiptNo}.msg.txt`, path, o.providedAt, o.providedAt + RETENTION);
  }
  return path;
}

describe('申請重送 in the sandbox state', () => {
  let dir: string;
  let db: Db;
  const t0 = new Date('2026-11-25T21:00:00+08:00').getTime();
  const clock = fixedClock(t0 + 20 * DAY);
  const me: Session = { institutionCode: '3501200000', institutionName: 'x', userId: 'A123456789', expiresAt: Infinity };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-resend-'));
    db = openSandboxDb(join(dir, 'sandbox.db'));
    clock.set(t0 + 20 * DAY);
    db.prepare("INSERT INTO institutions (code, name, created_at) VALUES ('3501200000', 'x', 0), ('1101010012', 'y', 0)").run();
    seed(db, dir, { receiptNo: '1151125000001', institution: '3501200000', providedAt: t0 });
    seed(db, dir, { receiptNo: '1151125000002', institution: '1101010012', providedAt: t0 });
    seed(db, dir, { receiptNo: '1151205000001', institution: '3501200000', providedAt: t0 + 10 * DAY });
    seed(db, dir, { receiptNo: '1151215000001', institution: '3501200000', providedAt: t0 + 20 * DAY, status: 'checking' });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses, with distinct codes, an unknown receipt, another institution’s, a file still offered, and one still 檢核中', () => {
    const codeOf = (r: string) => {
      try {
        fileResendRequest(db, me, r, clock, 5000);
        return 'filed';
      } catch (err) {
        return `${(err as { status: number }).status} ${(err as { code: string }).code}`;
      }
    };
    expect(codeOf('1151125999999')).toBe('404 RECEIPT_NOT_FOUND');
    expect(codeOf('1151125000002')).toBe('403 RECEIPT_OTHER_INSTITUTION');
    expect(codeOf('1151205000001')).toBe('409 FILE_STILL_AVAILABLE');
    expect(codeOf('1151215000001')).toBe('409 CHECK_FILE_NOT_READY');
    expect(codeOf('115112500000')).toBe('400 BAD_REQUEST');
    expect(codeOf('1151125000001')).toBe('filed');
  });

  it('answers a second request for the same receipt with the pending one', () => {
    const first = fileResendRequest(db, me, '1151125000001', clock, 5000);
    const again = fileResendRequest(db, me, '1151125000001', clock, 5000);
    expect(first.existing).toBe(false);
    expect(again).toMatchObject({ existing: true, row: { id: first.row.id } });
    expect(listResendRequests(db, me.institutionCode, new URLSearchParams()).total).toBe(1);
  });

  it('offers the file again only once the delay has passed, for another two weeks', () => {
    // given a request filed now with a 5 s delay
    const { row } = fileResendRequest(db, me, '1151125000001', clock, 5000);
    // when 4 s pass, nothing changes
    clock.advance(4000);
    expect(completeDueResends(db, clock, RETENTION)).toBe(0);
    // when the delay has passed, the file is offered under a new id
    clock.advance(1000);
    expect(completeDueResends(db, clock, RETENTION)).toBe(1);
    const done = listResendRequests(db, me.institutionCode, new URLSearchParams({ status: 'done' })).items;
    expect(done).toEqual([expect.objectContaining({ id: row.id, status: 'done', statusText: '已重送', receiptNo: '1151125000001', uploadDate: '115/11/25', fileId: expect.stringMatching(/^[0-9a-f]{16}$/) })]);
    const file = db.prepare('SELECT * FROM files WHERE id = ?').get(done[0]!.fileId) as { provided_at: number; expires_at: number; origin: string; name: string; sha256: string };
    expect(file).toMatchObject({ provided_at: clock.now().getTime(), expires_at: clock.now().getTime() + RETENTION, origin: 'resend', name: '1300_1151125000001.msg.txt' });
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    // and a new request for it is refused while it is offered
    expect(() => fileResendRequest(db, me, '1151125000001', clock, 5000)).toThrow(expect.objectContaining({ code: 'FILE_STILL_AVAILABLE' }));
  });

  it('completes a request once when two processes share the folder, and after a restart', () => {
    fileResendRequest(db, me, '1151125000001', clock, 5000);
    db.close();
    // a restart: another handle on the same file, later
    db = openSandboxDb(join(dir, 'sandbox.db'));
    const other = openSandboxDb(join(dir, 'sandbox.db'));
    try {
      clock.advance(60_000);
      expect(completeDueResends(db, clock, RETENTION) + completeDueResends(other, clock, RETENTION)).toBe(1);
      expect(db.prepare("SELECT COUNT(*) AS n FROM files WHERE origin = 'resend'").get()).toEqual({ n: 1 });
    } finally {
      other.close();
    }
  });

  it('fails a request whose check file is no longer kept, saying so', () => {
    fileResendRequest(db, me, '1151125000001', clock, 5000);
    rmSync(join(dir, '1300_1151125000001.msg.txt'));
    clock.advance(6000);
    completeDueResends(db, clock, RETENTION);
    expect(listResendRequests(db, me.institutionCode, new URLSearchParams()).items[0]).toMatchObject({ status: 'failed', statusText: '重送失敗', failure: 'the check file is no longer kept', fileId: null });
  });
});

describe('upgrading a sandbox made before 申請重送 (schema version 1)', () => {
  it('is safe when two processes open the folder at once: the second sees the step applied and skips it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'labup-upgrade-'));
    const file = join(dir, 'sandbox.db');
    try {
      // given a version-1 sandbox
      const v1 = openDatabase(file);
      migrate(v1, SANDBOX_MIGRATIONS.slice(0, 1), file);
      v1.close();
      // and a process that read version 1 just before another upgraded the file
      const late = openDatabase(file);
      let reads = 0;
      const stale = new Proxy(late, {
        get(target, key) {
          if (key === 'pragma') return (sql: string, o?: { simple?: boolean }) => (sql === 'user_version' && reads++ === 0 ? 1 : target.pragma(sql, o));
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const first = openSandboxDb(file);
      first.close();
      // when the late one migrates, it neither fails nor applies the step twice
      expect(migrate(stale, SANDBOX_MIGRATIONS, file)).toEqual({ from: 1, to: 2 });
      expect(late.pragma('user_version', { simple: true })).toBe(2);
      expect(late.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'resend_requests'").get()).toEqual({ n: 1 });
      late.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
