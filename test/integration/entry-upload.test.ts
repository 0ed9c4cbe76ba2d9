/**
 * 資料上傳 for drafts against the sandbox portal over HTTP: one ZIP for the chosen drafts, the
 * portal's 收件序號 on each, 資料上傳失敗 and an idempotent retry, refreshing 資料處理狀態.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readZipDirectory, readEntry } from '../../src/archive/zip-reader.js';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { completePersonId } from '../../src/format/national-id.js';
import { faultOnce } from '../../src/sandbox/faults.js';
import { openStore, type Store } from '../../src/store/store.js';
import { listJournal } from '../../src/store/journal.js';
import type { PortalConnection } from '../../src/transport/connect.js';
import type { PortalSession } from '../../src/transport/portal-client.js';
import { getDraft, listDrafts, listUploads } from '../../src/entry/drafts.js';
import { saveRecord } from '../../src/entry/entry.js';
import { refreshDrafts } from '../../src/entry/refresh.js';
import { uploadDrafts, UPLOAD_MESSAGES } from '../../src/entry/upload.js';
import type { DailyRecord } from '../../src/entry/record.js';
import { DEMO_USER, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

const STAFF = completePersonId('B12345678');

/** A complete outpatient lab order for patient `n` (09005C, one item). */
function order(n: number, o: { h2?: string; h7?: string } = {}): DailyRecord {
  return {
    header: {
      h1: '1', h2: o.h2 ?? '3501200000', h3: '12', h4: '11511', h5: '1151125073005', h6: '01', h7: o.h7 ?? String(n).padStart(4, '0'), h8: '1',
      h9: completePersonId(`F1267185${n % 10}`), h10: '0650315', h11: '1151125', h15: '09005C', h20: '1151125083005', h22: '血液', h26: '0',
    },
    items: [{ r1: '1', r2: '飯前血糖 Glucose AC', r3: '酵素法', r4: String(90 + n), r5: 'mg/dL', 'r6-1': '70', 'r6-2': '100', r9: STAFF, r10: '1151125093005' }],
  };
}

describe('entry upload against the sandbox portal', () => {
  let t: TestSandbox;
  const home = tempDir('labup-entry-home-');
  let store: Store;
  let portal: PortalConnection;
  beforeAll(async () => {
    t = await testSandbox();
  });
  afterAll(async () => {
    await t.stop();
    home.remove();
  });
  beforeEach(() => {
    store = openStore({ file: join(home.path, `labup-${Date.now()}-${Math.random()}.db`) });
    const client = t.newClient();
    let session: PortalSession | undefined;
    portal = {
      client,
      sandbox: t.sb,
      get institutionCode() {
        return session?.institutionCode ?? null;
      },
      signIn: async () => (session ??= await client.signIn({ card: t.card, userId: DEMO_USER })),
      close: () => client.close(),
    };
  });
  afterEach(async () => {
    t.sb.admin.setFaults(undefined);
    store.close();
  });

  const outbox = () => join(home.path, 'outbox');
  const upload = (o: { ids?: number[]; all?: boolean }) => uploadDrafts({ store, portal, clock: t.clock, outbox: outbox(), ...o });

  it('uploads the chosen drafts in one ZIP with h16 = now, and each takes the 收件序號; 檢核正確 after processing', async () => {
    // given three drafts, two of them chosen
    const ids = [order(1), order(2), order(3)].map((r) => saveRecord(store, null, r, { clock: t.clock }).draft.id);
    const before = t.sb.admin.counts().submissions;
    // when
    const r = await upload({ ids: [ids[2]!, ids[0]!] });
    // then
    expect(r).toMatchObject({ ok: true, message: '暫存資料已全數上傳成功', status: 'checking', statusText: '檢核中', drafts: [ids[0], ids[2]], h16: '1151125210000', uploadDate: '115/11/25', replayed: false, resent: false });
    if (!r.ok) throw new Error('not uploaded');
    expect(t.sb.admin.counts().submissions).toBe(before + 1);
    expect(r.fileName).toMatch(/^35012000001151125\d{3}\.zip$/);
    expect(statSync(r.file).mode & 0o777).toBe(0o600);
    // the ZIP holds one Big5 XML with both records, h16 stamped
    const dir = await readZipDirectory(r.file);
    expect(dir.entries.map((e) => e.name)).toEqual([r.fileName.replace('.zip', '.xml')]);
    const chunks: Buffer[] = [];
    for await (const c of readEntry(dir, dir.entries[0]!, { maxBytes: 1 << 20 })) chunks.push(c);
    const xml = decodeCp950(Buffer.concat(chunks)).text;
    expect(xml).toContain('encoding="Big5"');
    expect(xml.match(/<hdata>/g)).toHaveLength(2);
    expect(xml.match(/<h16>1151125210000<\/h16>/g)).toHaveLength(2);
    expect(xml).toContain('<r4>91</r4>');
    expect(xml).toContain('<r4>93</r4>');
    // the drafts carry the receipt; the one not chosen is still 暫存
    expect(getDraft(store, ids[0]!)).toMatchObject({ status: 'checking', receiptNo: r.receiptNo, h16: '1151125210000', position: 1 });
    expect(getDraft(store, ids[2]!)).toMatchObject({ status: 'checking', receiptNo: r.receiptNo, position: 2 });
    expect(getDraft(store, ids[1]!)).toMatchObject({ status: 'draft', receiptNo: null });
    // the journal has it, as for labup upload
    expect(listJournal(store).map((j) => [j.state, j.receiptNo])).toEqual([['sent', r.receiptNo]]);
    // when the portal has processed it and the drafts are refreshed
    await t.processAll();
    const report = await refreshDrafts({ store, client: portal.client, clock: t.clock });
    expect(report).toEqual({ asked: [r.receiptNo], changed: 2, unknown: [], explained: [] });
    expect(getDraft(store, ids[0]!).status).toBe('passed');
    expect(getDraft(store, ids[2]!).statusText).toBe('檢核正確');
    expect(listJournal(store)[0]!.status).toBe('passed');
    // a final upload's ZIP is no longer kept
    expect(existsSync(r.file)).toBe(false);
  });

  it('answers 無資料可上傳 when there is no 暫存 draft', async () => {
    const r = await upload({ all: true });
    expect(r).toEqual({ ok: false, reason: 'nothing', message: UPLOAD_MESSAGES.nothing, skipped: [] });
  });

  it('refuses chosen drafts with errors, and leaves them out with --all', async () => {
    const good = saveRecord(store, null, order(4), { clock: t.clock }).draft.id;
    const broken = order(5);
    broken.header.h9 = 'A123456788';
    const bad = saveRecord(store, null, broken, { clock: t.clock }).draft.id;
    const before = t.sb.admin.counts().submissions;
    const refused = await upload({ ids: [good, bad] });
    expect(refused).toMatchObject({ ok: false, reason: 'invalid', drafts: [{ id: bad, errors: [expect.objectContaining({ code: 'PERSON_ID_CHECKSUM', value: 'A12****788' })] }] });
    expect(t.sb.admin.counts().submissions).toBe(before);
    const all = await upload({ all: true });
    expect(all).toMatchObject({ ok: true, drafts: [good], skipped: [{ id: bad, errorCount: 1 }] });
  });

  it('refuses drafts of another institution than the card’s before sending', async () => {
    const other = saveRecord(store, null, order(6, { h2: '3501209999' }), { clock: t.clock }).draft.id;
    await expect(upload({ ids: [other] })).rejects.toMatchObject({ code: 'ENTRY_INSTITUTION_MISMATCH', exitCode: 1 });
    const mixed = saveRecord(store, null, order(7), { clock: t.clock }).draft.id;
    await expect(upload({ ids: [other, mixed] })).rejects.toMatchObject({ code: 'ENTRY_MIXED_INSTITUTIONS', exitCode: 2 });
  });

  it('資料上傳失敗 when the answer is lost; sending again goes out with the same file and gets the same 收件序號', async () => {
    // given a draft, and a portal that takes the upload but drops every answer
    const id = saveRecord(store, null, order(8), { clock: t.clock }).draft.id;
    const before = t.sb.admin.counts().submissions;
    t.sb.admin.setFaults(faultOnce((p) => p.phase === 'upload-committed', { kind: 'reset' }, 10));
    const err = await upload({ ids: [id] }).catch((e: unknown) => e);
    // then the upload failed (exit 5), the portal has it once, the draft is still 暫存 and tied to the built file
    expect(err).toMatchObject({ code: 'ENTRY_UPLOAD_FAILED', kind: 'portal', exitCode: 5 });
    expect((err as Error).message).toMatch(/^資料上傳失敗 — /);
    expect(t.sb.admin.counts().submissions).toBe(before + 1);
    const pending = listUploads(store, { states: ['built'] });
    expect(pending).toHaveLength(1);
    expect(getDraft(store, id)).toMatchObject({ status: 'draft', uploadId: pending[0]!.id });
    // when the network is back and the same drafts are sent again (a minute later)
    t.sb.admin.setFaults(undefined);
    t.clock.advance(60_000);
    const r = await upload({ ids: [id] });
    // then the same file went out and the portal answered with the submission it had
    expect(r).toMatchObject({ ok: true, resent: true, replayed: true, file: pending[0]!.file, h16: pending[0]!.h16 });
    expect(t.sb.admin.counts().submissions).toBe(before + 1);
    expect(getDraft(store, id)).toMatchObject({ status: 'checking', receiptNo: (r as { receiptNo: string }).receiptNo });
  });

  it('a changed draft gets a new file: the unsent one is dropped', async () => {
    const id = saveRecord(store, null, order(9), { clock: t.clock }).draft.id;
    t.sb.admin.setFaults(faultOnce((p) => p.phase === 'request' && p.path.endsWith('/submissions'), { kind: 'status', status: 503 }, 100));
    await expect(upload({ ids: [id] })).rejects.toMatchObject({ code: 'ENTRY_UPLOAD_FAILED' });
    const first = listUploads(store, { states: ['built'] })[0]!;
    t.sb.admin.setFaults(undefined);
    saveRecord(store, id, { ...order(9), items: [{ ...order(9).items[0]!, r4: '120' }] }, { clock: t.clock });
    const r = await upload({ ids: [id] });
    expect(r).toMatchObject({ ok: true, resent: false, replayed: false });
    const uploads = listUploads(store);
    expect(uploads.find((u) => u.id === first.id)!.state).toBe('discarded');
    const sent = uploads.find((u) => u.state === 'sent')!;
    expect(sent.contentSha256).not.toBe(first.contentSha256);
    expect(sent.h16).toBe(first.h16); // the same minute: the content differs, not the stamp
  });

  it('keeps drafts of the upload together: every draft takes the file’s 檢核錯誤', async () => {
    // given a record the portal already accepted with a later h16 (a duplicate key, NHIA 25)
    const a = saveRecord(store, null, order(1, { h7: '0077' }), { clock: t.clock }).draft.id;
    const first = await upload({ ids: [a] });
    expect(first.ok).toBe(true);
    await t.processAll();
    await refreshDrafts({ store, client: portal.client, clock: t.clock });
    expect(getDraft(store, a).status).toBe('passed');
    // the same record again, with another one, uploaded with an earlier clock's h16 → rejected file
    const again = saveRecord(store, null, order(1, { h7: '0077' }), { clock: t.clock }).draft.id;
    const other = saveRecord(store, null, order(2, { h7: '0078' }), { clock: t.clock }).draft.id;
    t.clock.advance(-3_600_000);
    const r = await upload({ ids: [again, other] });
    t.clock.advance(3_600_000);
    expect(r.ok).toBe(true);
    await t.processAll();
    const checks = join(home.path, 'checks');
    const rep = await refreshDrafts({ store, client: portal.client, clock: t.clock, checksDir: checks });
    expect(rep).toMatchObject({ changed: 2, explained: [(r as { receiptNo: string }).receiptNo] });
    expect(listDrafts(store, { ids: [again, other] }).map((d) => d.status)).toEqual(['failed', 'failed']);
    // the check file says which record was wrong, and why: it is kept on that draft
    expect(getDraft(store, again).portalErrors).toEqual([
      expect.objectContaining({ rdata: null, field: 'h16', code: '25', message: expect.stringContaining('資料重覆'), en: expect.any(String), fix: expect.any(String) }),
    ]);
    expect(getDraft(store, other).portalErrors).toEqual([]);
    expect(statSync(join(checks, `1300_${(r as { receiptNo: string }).receiptNo}.msg.txt`)).mode & 0o777).toBe(0o600);
    // corrected, the draft is 暫存 again and the portal's old reasons are gone
    expect(saveRecord(store, again, order(1, { h7: '0077' }), { clock: t.clock }).draft).toMatchObject({ status: 'draft', portalErrors: null });
  });
});
