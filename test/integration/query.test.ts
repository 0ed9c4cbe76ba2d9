import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labup } from '../helpers/cli.js';
import { NOW, record, send, tempDir, testSandbox, uploadZip, type TestSandbox } from './sandbox-support.js';

/**
 * The portal's query conventions in status and download listings, with the real binary against a
 * sandbox at a URL: default windows (status: created in the last two days; downloads: 提供下載日期
 * within 7 days, newest first), paging done by the portal, --sort [-]FIELD, dates in ROC or ISO.
 */
describe('query conventions: labup status and labup download listings', () => {
  let t: TestSandbox;
  const home = tempDir('labup-home-');
  const work = tempDir('labup-work-');
  const zips = tempDir('labup-zips-');
  let env: Record<string, string>;
  let old: string;
  const recent: string[] = [];
  beforeAll(async () => {
    // one upload on 115/11/16 (nine days before the fixtures' evening) …
    t = await testSandbox({ at: '2026-11-16T10:00:00+08:00' });
    old = (await send(t.client, await uploadZip(zips.path, 'OLD.zip', [record(40, { uploadedAt: { year: 2026, month: 11, day: 16, hour: 9, minute: 0, second: 0 } })]), '1151116')).receiptNo;
    await t.processAll();
    // … and five on 115/11/25, a minute apart, each checked 6 s after it was sent
    t.clock.set(NOW);
    for (let i = 1; i <= 5; i++) {
      recent.push((await send(t.client, await uploadZip(zips.path, `Q${i}.zip`, [record(40 + i)]))).receiptNo);
      await t.processAll();
      t.clock.advance(60_000);
    }
    env = { ...t.env(home.path), LABUP_NOW: '2026-11-25T21:10:00+08:00' };
  });
  afterAll(async () => {
    await t.stop();
    home.remove();
    work.remove();
    zips.remove();
  });
  const run = (args: string[]) => labup(args, { env, cwd: work.path });
  const json = async (args: string[]) => {
    const r = await run([...args, '--json']);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: expect.any(Number) });
    return JSON.parse(r.stdout);
  };

  it('status: by default the uploads created in the last two days, newest first, with the paging', async () => {
    const doc = await json(['status']);
    expect(doc.receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual([...recent].reverse());
    expect(doc.paging).toEqual({ page: 1, pageSize: 20, total: 5, totalPages: 1, sort: 'sentAt', order: 'desc' });
    expect(doc.criteria).toEqual({ sentSince: '2026-11-24T00:00:00+08:00' });
    const human = await run(['status']);
    expect(human.stderr).toContain("page 1 of 1 (total 5) · 資料建立日期 115/11/24 ~ 115/11/25 (the portal's default: the last two days)");
  });

  it('status: --page and --page-size page on the portal; the summary says where more is', async () => {
    const doc = await json(['status', '--page-size', '2', '--page', '2']);
    expect(doc.receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual([recent[2], recent[1]]);
    expect(doc.paging).toMatchObject({ page: 2, pageSize: 2, total: 5, totalPages: 3 });
    const human = await run(['status', '--page-size', '2', '--page', '2']);
    expect(human.stdout.trim().split('\n')).toHaveLength(3);
    expect(human.stderr).toContain('page 2 of 3 (total 5)');
    expect(human.stderr).toContain('labup status: 2 檢核正確 — page 2 of 3 (total 5), --page 3 for more');
    const past = await run(['status', '--page', '9']);
    expect(past.code).toBe(6);
    expect(past.stderr).toContain('nothing on page 9');
  });

  it('status: --sort FIELD ascending, -FIELD descending, under English or the portal’s column names', async () => {
    expect((await json(['status', '--sort', 'receiptNo', '--page-size', '2'])).receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual(recent.slice(0, 2));
    expect((await json(['status', '--sort', '-收件序號', '--page-size', '1'])).receipts[0].receiptNo).toBe(recent[4]);
    // given 收件序號 are shown as given, or sorted when asked
    expect((await json(['status', recent[0]!, recent[3]!])).receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual([recent[0], recent[3]]);
    expect((await json(['status', recent[0]!, recent[3]!, '--sort', '-receiptNo'])).receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual([recent[3], recent[0]]);
  });

  it('status: 上傳日期 as ROC YYY/MM/DD, YYYMMDD or ISO reach the older upload outside the default window', async () => {
    for (const [from, to] of [
      ['115/11/16', '115/11/16'],
      ['1151116', '1151116'],
      ['2026-11-16', '2026-11-16'],
    ]) {
      const doc = await json(['status', '--from', from!, '--to', to!]);
      expect(doc.receipts.map((r: { receiptNo: string }) => r.receiptNo)).toEqual([old]);
      expect(doc.criteria).toEqual({ uploadDateFrom: '115/11/16', uploadDateTo: '115/11/16' });
    }
    expect((await json(['status', '--from', '115/11/16'])).paging.total).toBe(6);
  });

  it('download --list: 提供下載日期 within 7 days, newest first, paged, dates in ROC like the portal', async () => {
    const doc = await json(['download', '--list']);
    expect(doc.files.map((f: { receiptNo: string }) => f.receiptNo)).toEqual([...recent].reverse());
    expect(doc.paging).toEqual({ page: 1, pageSize: 20, total: 5, totalPages: 1, sort: 'providedAt', order: 'desc' });
    expect(doc.criteria).toEqual({ withinDays: 7 });
    expect(doc.files[0]).toMatchObject({ listed: true, skipped: false, providedAtText: '115/11/25 21:04', uploadDate: '115/11/25' });
    const human = await run(['download', '--list', '--page-size', '2']);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^上傳日期\s+檔案名稱\s+備註\s+提供下載日期\s+本機$/);
    expect(lines[1]).toMatch(new RegExp(`^115/11/25\\s+1300_${recent[4]}\\.msg\\.txt\\s+檢驗\\(查\\)結果每日上傳 資料檢核正確\\s+115/11/25 21:04\\s+未下載$`));
    expect(lines).toHaveLength(3);
    expect(human.stderr).toContain('page 1 of 3 (total 5) — --page 2 for more');
    // the older file is inside two weeks but outside the default window
    expect((await json(['download', '--list', '--within', '14d'])).paging.total).toBe(6);
    expect((await json(['download', '--list', '--within', '14d', '--sort', 'uploadDate', '--page-size', '1'])).files[0].receiptNo).toBe(old);
    expect((await json(['download', '--list', '--from', '2026-11-16', '--to', '1151116', '--within', '14d'])).files.map((f: { receiptNo: string }) => f.receiptNo)).toEqual([old]);
    expect((await json(['download', '--list', '--sort', '檔案名稱', '--page', '2', '--page-size', '2'])).files.map((f: { receiptNo: string }) => f.receiptNo)).toEqual([recent[2], recent[3]]);
  });

  it('download --page N fetches that page only; without it, every page', async () => {
    const one = await json(['download', '--page', '2', '--page-size', '2', '--out', 'p2']);
    expect(one.paging).toMatchObject({ page: 2, pageSize: 2, total: 5, totalPages: 3 });
    expect(readdirSync(join(work.path, 'p2')).sort()).toEqual([`1300_${recent[1]}.msg.txt`, `1300_${recent[2]}.msg.txt`]);
    const all = await json(['download', '--page-size', '2', '--out', 'all']);
    expect(all.paging).toMatchObject({ page: null, pageSize: 2, total: 5, totalPages: 3 });
    expect(readdirSync(join(work.path, 'all'))).toHaveLength(5);
    const listed = await json(['download', '--list', '--out', 'all']);
    expect(listed.files.every((f: { skipped: boolean }) => f.skipped)).toBe(true);
  });

  it('refuses bad pages, sizes, fields and ranges with a usage error naming the flag', async () => {
    const cases: Array<[string[], string]> = [
      [['status', '--page', '0'], 'BAD_PAGE'],
      [['status', '--page-size', '101'], 'BAD_PAGE'],
      [['download', '--list', '--sort', 'size'], 'BAD_SORT'],
      [['download', '--list', '--from', '115/11/30', '--to', '115/11/01'], 'BAD_DATE_RANGE'],
      [['status', '--from', '115/02/30'], 'BAD_DATE'],
    ];
    for (const [args, code] of cases) {
      const r = await run(args);
      expect({ args, code: r.code, err: r.stderr.includes(`[${code}]`) }).toEqual({ args, code: 2, err: true });
    }
  });
});
