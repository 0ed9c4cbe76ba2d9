import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { readEntry, readZipDirectory } from '../../src/archive/zip-reader.js';
import { startSandbox } from '../../src/sandbox/server.js';
import type { PortalClient } from '../../src/transport/portal-client.js';
import { record, send, tempDir, testSandbox, uploadZip, type TestSandbox } from './sandbox-support.js';

/** The check file of a receipt, downloaded plain and read from the ZIP the portal delivers. */
async function checkFile(client: PortalClient, receiptNo: string, dir: string): Promise<string> {
  const s = await client.getSubmission(receiptNo);
  expect(s.files).toHaveLength(1);
  const got = await client.download(s.files[0]!.id);
  const zipPath = join(dir, `${receiptNo}.zip`);
  writeFileSync(zipPath, got.data);
  const d = await readZipDirectory(zipPath);
  expect(d.entries.map((e) => e.name)).toEqual([`1300_${receiptNo}.msg.txt`]);
  const chunks: Buffer[] = [];
  for await (const c of readEntry(d, d.entries[0]!)) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  const decoded = decodeCp950(bytes);
  expect(decoded.badAt).toBe(-1);
  return decoded.text;
}

describe('sandbox portal: processing after the delay', () => {
  let t: TestSandbox;
  const files = tempDir('labup-zips-');
  beforeAll(async () => {
    t = await testSandbox();
    t.sb.admin.addInstitution('1101010012', '另一醫院');
  });
  afterAll(async () => {
    await t.stop();
    files.remove();
  });

  it('stays 檢核中 until the delay has passed, then 檢核正確 with a check file', async () => {
    const zip = await uploadZip(files.path, 'GOOD.zip', [record(1), record(2)]);
    const r = await send(t.client, zip);
    // before the delay, nothing happens even when asked
    t.clock.advance(4000);
    await t.sb.admin.processDue();
    expect((await t.client.getSubmission(r.receiptNo)).status).toBe('checking');
    // after it, the file is checked
    await t.processAll();
    const s = await t.client.getSubmission(r.receiptNo);
    expect(s).toMatchObject({ status: 'passed', statusText: '檢核正確', errorCount: 0, counts: { hdata: 2, rdata: expect.any(Number) } });
    const text = await checkFile(t.client, r.receiptNo, files.path);
    expect(text).toMatch(new RegExp(`^檢驗\\(查\\)結果每日上傳檢核結果\\r\\n收件序號: ${r.receiptNo}\\r\\n上傳日期: 115/11/25\\r\\n醫事機構代碼: 3501200000\\r\\n檔案名稱: TOTFA.xml\\r\\n檢核時間: 115/11/25 21:00:(0[5-9]|1\\d)\\r\\n處理狀態: 檢核正確\\r\\n`));
    expect(text).toContain(`\r\n\r\n檢核結果: 全部正確，醫令 2 筆、報告 ${s.counts!.rdata} 筆。\r\n`);
  });

  it('finds h16 not matching 上傳日期: 檢核錯誤, NHIA 22 for each record', async () => {
    // given records stamped 115/11/25 sent with 上傳日期 115/11/24 (allowed: yesterday)
    const zip = await uploadZip(files.path, 'H16.zip', [record(3), record(4)]);
    const r = await send(t.client, zip, '1151124');
    await t.processAll();
    const s = await t.client.getSubmission(r.receiptNo);
    expect(s).toMatchObject({ status: 'failed', statusText: '檢核錯誤', errorCount: 2 });
    const text = await checkFile(t.client, r.receiptNo, files.path);
    expect(text).toContain('處理狀態: 檢核錯誤\r\n');
    expect(text).toContain('錯誤筆數: 2\r\n\r\n序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容\r\n');
    expect(text).toContain('1\t1\t\th16\t22\th16 前七碼與上傳日期不一致: upload date is 1151124\t1151125200000\r\n');
    expect(text).toContain('2\t2\t\th16\t22\th16 前七碼與上傳日期不一致: upload date is 1151124\t1151125200000\r\n');
  });

  it('finds h2 of another institution: 檢核錯誤, NHIA 28', async () => {
    const zip = await uploadZip(files.path, 'OTHER.zip', [record(5, { institution: '1101010012' })]);
    const r = await send(t.client, zip);
    await t.processAll();
    const text = await checkFile(t.client, r.receiptNo, files.path);
    expect(text).toContain('1\t1\t\th2\t28\t醫事機構代碼與登入機構不符: signed in as 3501200000\t1101010012\r\n');
  });

  it('refuses records already accepted with the same h16 (NHIA 25) and accepts a later h16 as a correction', async () => {
    // given a record accepted earlier
    const first = await send(t.client, await uploadZip(files.path, 'FIRST.zip', [record(20)]));
    await t.processAll();
    expect((await t.client.getSubmission(first.receiptNo)).status).toBe('passed');
    // when the same record comes again (another ZIP, same h16)
    const dup = await send(t.client, await uploadZip(files.path, 'DUP.zip', [record(20)], 'TOTFB.xml'));
    await t.processAll();
    const text = await checkFile(t.client, dup.receiptNo, files.path);
    expect(text).toContain(`1\t1\t\th16\t25\t資料重覆：相同主鍵值之資料已上傳: accepted in 收件序號 ${first.receiptNo} with h16 1151125200000\t1151125200000\r\n`);
    // and then as a correction, stamped later
    const fix = await send(t.client, await uploadZip(files.path, 'FIX.zip', [record(20, { uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 30, second: 0 } })]));
    await t.processAll();
    expect((await t.client.getSubmission(fix.receiptNo)).status).toBe('passed');
    // the correction now holds the key: the first version is refused again
    const old = await send(t.client, await uploadZip(files.path, 'OLD.zip', [record(20)], 'TOTFC.xml'));
    await t.processAll();
    expect(await checkFile(t.client, old.receiptNo, files.path)).toContain(`accepted in 收件序號 ${fix.receiptNo} with h16 1151125203000`);
  });

  it('answers status queries by 收件序號, by 上傳日期 range, and by default for the last two days, paged', async () => {
    const all = await t.client.listSubmissions({ pageSize: 100 });
    expect(all.total).toBe(7);
    expect(all.items[0]!.receiptNo > all.items.at(-1)!.receiptNo).toBe(true); // newest first
    const page2 = await t.client.listSubmissions({ pageSize: 3, page: 2, sort: 'receiptNo', order: 'asc' });
    expect(page2).toMatchObject({ page: 2, pageSize: 3, total: all.total, totalPages: Math.ceil(all.total / 3) });
    expect(page2.items.map((s) => s.receiptNo)).toEqual([...all.items].reverse().slice(3, 6).map((s) => s.receiptNo));
    const byDate = await t.client.listSubmissions({ uploadDateFrom: '115/11/24', uploadDateTo: '1151124', pageSize: 100 });
    expect(byDate.items.every((s) => s.uploadDate === '115/11/24')).toBe(true);
    expect(byDate.total).toBe(1);
    const failed = await t.client.listSubmissions({ status: 'failed', pageSize: 100 });
    expect(failed.items.every((s) => s.statusText === '檢核錯誤')).toBe(true);
    // and by content: what did the portal receive of this ZIP for this day?
    const one = all.items[0]!;
    const byHash = await t.client.listSubmissions({ contentSha256: one.contentSha256, uploadDateFrom: one.uploadDate, uploadDateTo: one.uploadDate });
    expect(byHash.items.map((s) => s.receiptNo)).toEqual([one.receiptNo]);
    await expect(t.client.getSubmission('1151125999999')).rejects.toMatchObject({ code: 'RECEIPT_NOT_FOUND', exitCode: 2 });
  });

  it('lists related files by 上傳日期 and a 提供下載日期 window, sortable; gone after 14 days', async () => {
    const list = await t.client.listFiles();
    expect(list.total).toBe(7);
    expect(list.items[0]).toMatchObject({ name: expect.stringMatching(/^1300_1151125\d{6}\.msg\.txt$/), uploadDate: expect.stringMatching(/^115\/11\/2[45]$/), remark: expect.stringContaining('檢驗(查)結果每日上傳 資料檢核') });
    const byName = await t.client.listFiles({ sort: 'name', order: 'asc', pageSize: 100 });
    expect(byName.items.map((f) => f.name)).toEqual([...byName.items.map((f) => f.name)].sort());
    const yesterday = await t.client.listFiles({ uploadDateFrom: '1151124', uploadDateTo: '1151124' });
    expect(yesterday.items).toHaveLength(1);
    const id = list.items[0]!.id;
    // eight days later: outside the default 7-day window, inside 14
    t.clock.advance(8 * 86_400_000);
    expect((await t.client.listFiles()).total).toBe(0);
    expect((await t.client.listFiles({ withinDays: 14 })).total).toBe(list.total);
    await expect(t.client.listFiles({ withinDays: 15 })).rejects.toMatchObject({ code: 'BAD_QUERY' });
    // fourteen days after they were provided: gone, with a pointer to 申請重送
    t.clock.advance(6 * 86_400_000 + 60_000);
    expect((await t.client.listFiles({ withinDays: 14 })).total).toBe(0);
    await expect(t.client.download(id)).rejects.toMatchObject({ code: 'FILE_EXPIRED', details: expect.objectContaining({ status: 410 }), hint: expect.stringContaining('--request-resend') });
  });
});

describe('sandbox portal: restarts', () => {
  it('completes after a restart a submission that was being processed when it stopped', async () => {
    const t = await testSandbox();
    const files = tempDir('labup-zips-');
    try {
      const r = await send(t.client, await uploadZip(files.path, 'RESTART.zip', [record(30), record(31)]));
      // the delay passes and processing starts …
      t.clock.advance(6000);
      void t.sb.admin.processDue();
      const claimed = t.sb.admin.db.prepare('SELECT claim_instance FROM submissions WHERE receipt_no = ?').get(r.receiptNo) as { claim_instance: string | null };
      expect(claimed.claim_instance).not.toBeNull();
      // … when the sandbox stops
      await t.sb.stop();
      // then a new sandbox on the same folder finishes it
      const again = await startSandbox({ dataDir: t.dir, port: 0, clock: t.clock, processingDelayMs: 5000 });
      try {
        await again.admin.processDue();
        expect(again.admin.submissions().find((s) => s.receiptNo === r.receiptNo)?.status).toBe('passed');
        expect(again.admin.counts()).toMatchObject({ submissions: 1, files: 1 });
      } finally {
        await again.stop();
      }
    } finally {
      await t.stop().catch(() => undefined);
      files.remove();
    }
  });

  it('takes over a claim left by a process that died', async () => {
    const t = await testSandbox();
    const files = tempDir('labup-zips-');
    try {
      const r = await send(t.client, await uploadZip(files.path, 'CRASH.zip', [record(32)]));
      // a process that no longer exists had claimed it
      t.sb.admin.db.prepare('UPDATE submissions SET claim_instance = ?, claim_pid = ?, claimed_at = ? WHERE receipt_no = ?').run('gone', 2 ** 22 + 12345, Date.now(), r.receiptNo);
      await t.processAll();
      expect((await t.client.getSubmission(r.receiptNo)).status).toBe('passed');
    } finally {
      await t.stop();
      files.remove();
    }
  });

  it('keeps the API responsive while a large file is processed off the event loop', async () => {
    const t = await testSandbox();
    const files = tempDir('labup-zips-');
    try {
      expect(t.sb.processing).toBe('worker');
      const many = Array.from({ length: 6000 }, (_, i) => record(1000 + i));
      const r = await send(t.client, await uploadZip(files.path, 'LARGE.zip', many));
      t.clock.advance(6000);
      let done = false;
      const processing = t.sb.admin.processDue().then(() => {
        done = true;
      });
      const latencies: number[] = [];
      while (!done && latencies.length < 200) {
        const t0 = performance.now();
        await t.client.info();
        latencies.push(performance.now() - t0);
      }
      await processing;
      expect(latencies.length).toBeGreaterThan(3);
      expect(Math.max(...latencies)).toBeLessThan(500);
      expect((await t.client.getSubmission(r.receiptNo)).counts?.hdata).toBe(6000);
    } finally {
      await t.stop();
      files.remove();
    }
  });
});

