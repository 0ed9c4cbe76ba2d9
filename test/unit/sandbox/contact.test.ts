import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { getContactWindow, setContactWindow } from '../../../src/sandbox/contact.js';
import { SAMPLE_CONTACTS } from '../../../src/sandbox/samples.js';
import { openSandboxDb, type Db } from '../../../src/sandbox/state.js';

describe('聯絡窗口 in the sandbox state', () => {
  let dir: string;
  let db: Db;
  const clock = fixedClock('2026-11-25T21:00:00+08:00');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-contact-'));
    db = openSandboxDb(join(dir, 'sandbox.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is empty until set, then names the job and its contacts', () => {
    expect(getContactWindow(db)).toEqual({ job: { name: '檢驗(查)結果每日上傳作業', code: '1300' }, contacts: [], updatedAt: null });
    setContactWindow(db, { contacts: SAMPLE_CONTACTS }, clock, true);
    expect(getContactWindow(db)).toMatchObject({ contacts: SAMPLE_CONTACTS, updatedAt: '2026-11-25T21:00:00+08:00' });
  });

  it('PUT replaces the list; PATCH merges field by field at the same position', () => {
    setContactWindow(db, { contacts: SAMPLE_CONTACTS }, clock, true);
    setContactWindow(db, { contacts: [{ phone: '(02) 0000-9999' }] }, clock, false);
    const merged = getContactWindow(db).contacts;
    expect(merged).toHaveLength(2);
    expect(merged[0]).toEqual({ ...SAMPLE_CONTACTS[0], phone: '(02) 0000-9999' });
    expect(merged[1]).toEqual(SAMPLE_CONTACTS[1]);
    setContactWindow(db, { contacts: [{ role: '窗口', unit: 'u', name: 'n', phone: 'p', email: 'e@x.invalid', hours: 'h' }] }, clock, true);
    expect(getContactWindow(db).contacts).toEqual([{ role: '窗口', unit: 'u', name: 'n', phone: 'p', email: 'e@x.invalid', hours: 'h' }]);
  });

  it('refuses incomplete contacts, unknown fields and addresses that are not e-mail', () => {
    const base = { role: 'r', unit: 'u', name: 'n', phone: 'p', email: 'e@x.invalid', hours: 'h' };
    expect(() => setContactWindow(db, { contacts: [{ ...base, hours: undefined }] }, clock, true)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('hours is required') }));
    expect(() => setContactWindow(db, { contacts: [{ ...base, fax: '1' }] }, clock, true)).toThrow(expect.objectContaining({ message: expect.stringContaining('fax is not a contact field') }));
    expect(() => setContactWindow(db, { contacts: [{ ...base, email: 'nobody' }] }, clock, true)).toThrow(expect.objectContaining({ message: expect.stringContaining('not an e-mail address') }));
    expect(() => setContactWindow(db, { contacts: 'x' }, clock, true)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(getContactWindow(db).contacts).toEqual([]);
  });
});
