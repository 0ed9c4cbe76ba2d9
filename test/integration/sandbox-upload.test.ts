import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { faultOnce } from '../../src/sandbox/faults.js';
import { dailyXml, record, send, tempDir, testSandbox, uploadZip, type TestSandbox } from './sandbox-support.js';

describe('sandbox portal: uploads over HTTP', () => {
  let t: TestSandbox;
  const files = tempDir('labup-zips-');
  beforeAll(async () => {
    t = await testSandbox();
  });
  afterAll(async () => {
    await t.stop();
    files.remove();
  });

  it('answers an upload with 傳送時間, 收件序號, 上傳日期 and 檢核中', async () => {
    // given a valid ZIP for today
    const zip = await uploadZip(files.path, 'TOTFA.zip', [record(1)]);
    // when it is sent
    const r = await send(t.client, zip, '115/11/25');
    // then the portal numbers it with the ROC date and the day's sequence, still 檢核中
    expect(r).toMatchObject({ receiptNo: '1151125000001', uploadDate: '115/11/25', sentAt: '2026-11-25T21:00:00+08:00', status: 'checking', statusText: '檢核中', fileName: 'TOTFA.zip', replayed: false });
  });

  it('takes 上傳日期 today or yesterday only (Asia/Taipei), written YYY/MM/DD or YYYMMDD', async () => {
    const zip = await uploadZip(files.path, 'DATES.zip', [record(2)]);
    await expect(send(t.client, zip, '1151123')).rejects.toMatchObject({ code: 'UPLOAD_DATE_NOT_ALLOWED', exitCode: 1 });
    await expect(send(t.client, zip, '1151126')).rejects.toMatchObject({ code: 'UPLOAD_DATE_NOT_ALLOWED' });
    await expect(send(t.client, zip, '2026-11-25')).rejects.toMatchObject({ code: 'BAD_UPLOAD_DATE', exitCode: 2 });
    expect(await send(t.client, zip, '115/11/24')).toMatchObject({ uploadDate: '115/11/24', status: 'checking' });
  });

  it('refuses at once a ZIP that breaks NHI’s rules, with a coded error and no submission', async () => {
    const before = t.sb.admin.counts().submissions;
    const xml = dailyXml([record(3)]);
    const cases: Array<[string, Uint8Array, string]> = [
      ['TWO.zip', await createZip([{ name: 'A.xml', data: xml }, { name: 'B.xml', data: xml }]), 'ZIP_ENTRY_COUNT'],
      ['SPACE.zip', await createZip([{ name: 'lab data.xml', data: xml }]), 'ZIP_ENTRY_NAME'],
      ['my-file.zip', await createZip([{ name: 'TOTFA.xml', data: xml }]), 'ZIP_ENTRY_NAME'],
      ['TEXT.zip', await createZip([{ name: 'TOTFA.txt', data: xml }]), 'ZIP_ENTRY_TYPE'],
      ['LOCKED.zip', await createZip([{ name: 'TOTFA.xml', data: xml }], { password: 'secret' }), 'ZIP_ENCRYPTED'],
      ['NOTZIP.zip', Buffer.from('this is not a zip archive at all, just text'), 'ZIP_DAMAGED'],
    ];
    for (const [name, bytes, code] of cases) {
      writeFileSync(join(files.path, name), bytes);
      await expect(send(t.client, join(files.path, name)), name).rejects.toMatchObject({ code, exitCode: 1, details: expect.objectContaining({ status: 422 }) });
    }
    expect(t.sb.admin.counts().submissions).toBe(before);
  });

  it('gives 50 concurrent uploads 50 distinct, increasing 收件序號', async () => {
    // given 50 different ZIPs sent at the same time
    const zips = await Promise.all(Array.from({ length: 50 }, (_, i) => uploadZip(files.path, `C${i}.zip`, [record(100 + i)])));
    const before = t.sb.admin.counts().submissions;
    const results = await Promise.all(zips.map((z) => send(t.client, z)));
    // then every one has its own number, and the numbers run on without a gap in the order given
    const receipts = results.map((r) => r.receiptNo);
    expect(new Set(receipts).size).toBe(50);
    const sorted = [...receipts].sort();
    const first = Number(sorted[0]!.slice(7));
    expect(sorted.map((r) => Number(r.slice(7)))).toEqual(Array.from({ length: 50 }, (_, i) => first + i));
    expect(sorted.every((r) => r.startsWith('1151125'))).toBe(true);
    const rows = t.sb.admin.submissions().slice(before);
    expect(rows.map((r) => r.receiptNo)).toEqual(sorted);
    expect(t.sb.admin.counts().submissions).toBe(before + 50);
  });

  it('returns the same 收件序號 for a replayed idempotency key and creates nothing', async () => {
    const zip = await uploadZip(files.path, 'AGAIN.zip', [record(4)]);
    const first = await send(t.client, zip);
    const before = t.sb.admin.counts().submissions;
    const second = await send(t.client, zip);
    expect(second).toMatchObject({ receiptNo: first.receiptNo, replayed: true, sentAt: first.sentAt });
    expect(t.sb.admin.counts().submissions).toBe(before);
    // the same ZIP for the other allowed day is another submission
    const otherDay = await send(t.client, zip, '1151124');
    expect(otherDay.receiptNo).not.toBe(first.receiptNo);
  });

  it('retries an upload whose answer was lost, and ends with one submission', async () => {
    // given a portal that commits the upload and then drops the connection before answering
    const zip = await uploadZip(files.path, 'LOST.zip', [record(5)]);
    const before = t.sb.admin.counts().submissions;
    const fault = faultOnce((p) => p.phase === 'upload-committed', { kind: 'reset' });
    t.sb.admin.setFaults(fault);
    try {
      // when the client sends it (and, not knowing, sends it again)
      const r = await send(t.client, zip);
      // then it learns the 收件序號 of the first try: one submission only
      expect(fault.fired).toBe(1);
      expect(r.replayed).toBe(true);
      expect(t.sb.admin.counts().submissions).toBe(before + 1);
      expect(t.sb.admin.submissions().at(-1)!.receiptNo).toBe(r.receiptNo);
    } finally {
      t.sb.admin.setFaults(undefined);
    }
  });

  it('honours Retry-After on 503 and gives up after --retries tries in total', async () => {
    const waits: number[] = [];
    const client = t.newClient({ sleep: async (ms) => void waits.push(ms), retries: 3 });
    await client.signIn({ card: t.card, userId: 'A123456789' });
    const zip = await uploadZip(files.path, 'BUSY.zip', [record(6)]);
    // a portal busy twice, then well
    t.sb.admin.setFaults(faultOnce((p) => p.phase === 'request' && p.path === '/api/v1/submissions', { kind: 'status', status: 503, retryAfterSeconds: 7 }, 2));
    const r = await send(client, zip);
    expect(r.status).toBe('checking');
    expect(waits.filter((w) => w >= 7000)).toHaveLength(2);
    // a portal busy for longer than the tries allow
    waits.length = 0;
    t.sb.admin.setFaults(faultOnce((p) => p.phase === 'request' && p.path === '/api/v1/submissions', { kind: 'status', status: 502 }, 10));
    await expect(send(client, await uploadZip(files.path, 'DOWN.zip', [record(7)]))).rejects.toMatchObject({ code: 'PORTAL_UNAVAILABLE', exitCode: 5 });
    expect(waits).toHaveLength(2);
    t.sb.admin.setFaults(undefined);
  });
});
