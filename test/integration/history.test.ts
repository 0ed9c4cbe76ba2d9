/** `labup history` with the real binary, after a few days' work against the sandbox. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, labup } from '../helpers/cli.js';
import { tempDir } from './sandbox-support.js';

describe('labup history', () => {
  const d = tempDir('labup-history-cli-');
  let env: Record<string, string>;
  let cwd: string;
  beforeAll(async () => {
    cwd = join(d.path, 'work');
    mkdirSync(cwd, { recursive: true });
    env = { LABUP_HOME: join(d.path, 'home'), XDG_CONFIG_HOME: join(d.path, 'config'), LABUP_SANDBOX_DELAY: '1s' };
    // given: a daily run that passed, one with nothing to send, and a manual upload
    expect((await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '-q'], { cwd, env })).code).toBe(0);
    expect((await labup(['daily', fixture('daily/header-only.csv'), '--sandbox', '-q'], { cwd, env })).code).toBe(6);
    // (half an hour later: the listing's order by 傳送時間 must not depend on how fast the machine is)
    expect((await labup(['upload', fixture('valid/TOTFA.zip'), '--sandbox', '-q'], { cwd, env: { ...env, LABUP_NOW: '2026-11-25T21:30:00+08:00' } })).code).toBe(0);
  });
  afterAll(() => d.remove());

  it('shows what was uploaded when, with 收件序號 and 處理狀態, as the portal writes dates', async () => {
    const r = await labup(['history'], { cwd, env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^上傳日期 +傳送時間 +收件序號 +處理狀態 +錯誤筆數 +檔案 +來源$/);
    // The in-process sandbox's clock runs on from LABUP_NOW in real time: a loaded machine may take seconds.
    const sentAt = expect.stringMatching(/^2026-11-25 21:0\d:\d\d$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      ['115/11/25', expect.stringMatching(/^2026-11-25 21:3\d:\d\d$/), '1151125000002', '檢核中', 'TOTFA.zip', 'labup upload'],
      ['115/11/25', sentAt, '1151125000001', '檢核正確', '0', 'TOTFA.zip', `daily run 1: ${fixture('daily/lab-results.csv')}`],
      ['115/11/25', sentAt, '—', '未上傳 (no data rows)', `daily run 2: ${fixture('daily/header-only.csv')}`],
    ]);
    expect(r.stderr.trim()).toBe('labup history: 3 entries for 上傳日期 115/10/27–115/11/25');
  });

  it('--json gives the page with each entry and its run', async () => {
    const r = await labup(['history', '--json', '--from', '115/11/25', '--to', '2026-11-25', '--page-size', '2'], { cwd, env });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ from: '115/11/25', to: '115/11/25', total: 3, pages: 2, page: 1, pageSize: 2 });
    expect(doc.items[1]).toMatchObject({ receiptNo: '1151125000001', status: 'passed', statusText: '檢核正確', uploadDate: '115/11/25', run: { id: 1, outcome: 'passed', state: 'done' } });
    expect(doc.items[1].run.report).toBe(join(cwd, 'downloads', 'reports', 'labup-daily-1151125-run1.json'));
  });

  it('exits 6 for a window with nothing, 2 for a bad flag', async () => {
    const empty = await labup(['history', '--from', '115/11/26', '--to', '115/11/30'], { cwd, env });
    expect(empty.code).toBe(6);
    expect(empty.stderr).toContain('nothing uploaded for 上傳日期 115/11/26–115/11/30');
    const bad = await labup(['history', '--sort', 'colour'], { cwd, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[BAD_SORT]');
  });
});
