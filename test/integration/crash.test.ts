/**
 * Crash safety: the real binary killed with SIGKILL in the middle of `pack`, `download` and the
 * download step of `labup daily` (decrypt and daily's wait have their own kill tests in
 * decrypt.test.ts and daily.test.ts). The operation is made slow enough to be caught mid-way —
 * a large generated export, a sandbox that trickles the check file at 64 bytes a second — and the
 * kill waits for a sign that the work has begun (the temporary ZIP, the sandbox's fault log).
 *
 * After each kill: no file under a final name, partial or not; the journal passes SQLite's
 * integrity_check and holds only valid states; and the same command run again completes.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPersonId } from '../../src/format/synthetic.js';
import { BIN, FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { startSandboxProcess, type SandboxProcess } from '../helpers/sandbox-process.js';
import { tempDir } from './sandbox-support.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const running: SandboxProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
  for (const d of dirs) d.remove();
});

function place(): string {
  const d = tempDir('labup-crash-');
  dirs.push(d);
  return d.path;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Polls until `test` holds; fails after `ms`. */
async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function start(args: string[], cwd: string, env: Record<string, string>): ResultPromise {
  return execa('node', [BIN, ...args], { cwd, env: { LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', ...env }, reject: false });
}

async function kill9(child: ResultPromise): Promise<void> {
  child.kill('SIGKILL');
  const r = await child;
  // the process was killed mid-way, not finished before the signal
  expect(r.signal).toBe('SIGKILL');
}

/** SQLite's own check, and the states the journal allows. */
function expectJournalSound(file: string): void {
  const db = openDatabase(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const states = db.prepare('SELECT DISTINCT state FROM submissions').all() as Array<{ state: string }>;
    expect(states.every((s) => ['sending', 'sent', 'refused'].includes(s.state))).toBe(true);
    // a `sent` entry always has its 收件序號
    expect(db.prepare("SELECT COUNT(*) AS n FROM submissions WHERE state = 'sent' AND receipt_no IS NULL").get()).toEqual({ n: 0 });
  } finally {
    db.close();
  }
}

/** A CSV export of `rows` result items, one patient each (about 190 bytes a row). */
function bigExport(path: string, rows: number): void {
  const parts = ['h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h15,h17,h20,h22,h26,r2,r3,r4,r5,r6-1,r6-2,r9,r10,r12\n'];
  for (let i = 0; i < rows; i++) {
    parts.push(
      `1,3501200000,12,11511,1151125073005,01,${String(i % 10000).padStart(4, '0')},1,${syntheticPersonId(i)},0600315,1151125,09005C,A123456789,1151125083005,血清,0,飯前血糖 Glucose AC,酵素法,${90 + (i % 20)},mg/dL,70,100,B123456780,1151125093005,0\n`,
    );
  }
  writeFileSync(path, parts.join(''));
}

describe('kill -9', () => {
  it('during pack: nothing under the ZIP’s name, the temporary file private; the rerun writes a ZIP labup validate accepts', async () => {
    // given a 30,000-row export
    const dir = place();
    bigExport(join(dir, 'export.csv'), 30_000);
    mkdirSync(join(dir, 'out'));
    // when pack is killed as soon as its temporary ZIP appears
    const child = start(['pack', 'export.csv', '-o', 'out/TOTFA.zip'], dir, {});
    const temp = () => readdirSync(join(dir, 'out')).filter((n) => n.startsWith('.labup-pack-'));
    await until(() => temp().length > 0, 60_000, 'the temporary ZIP');
    await kill9(child);
    // then no ZIP is under its final name; what is left is the temporary file, readable by the user only
    expect(readdirSync(join(dir, 'out'))).not.toContain('TOTFA.zip');
    for (const t of temp()) expect(mode(join(dir, 'out', t))).toBe(0o600);
    // when the same command runs again
    const again = await labup(['pack', 'export.csv', '-o', 'out/TOTFA.zip'], { cwd: dir });
    // then it completes, and the ZIP is whole
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('30,000 rows → 30,000 hdata');
    expect(mode(join(dir, 'out', 'TOTFA.zip'))).toBe(0o600);
    const check = await labup(['validate', join(dir, 'out', 'TOTFA.zip'), '--json'], { cwd: dir });
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse(check.stdout).files[0]).toMatchObject({ ok: true, counts: { hdata: 30_000, rdata: 30_000 } });
  });

  it('during download: no check file, partial or temporary; the journal sound; the rerun fetches it whole', async () => {
    // given an upload the sandbox has checked, and a sandbox that trickles the first download at 64 B/s
    const dir = place();
    const sb = await startSandboxProcess(join(dir, 'sandbox'), ['--processing-delay', '1s', '--faults', 'download:trickle:64:once']);
    running.push(sb);
    const env = sb.env(join(dir, 'home'));
    const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--json'], { env });
    expect(up.code, up.stderr).toBe(0);
    const receipt = JSON.parse(up.stdout).receiptNo as string;
    expect((await labup(['status', receipt, '--wait'], { env })).code).toBe(0);
    // when the download is killed while the file trickles in
    const child = start(['download', '--receipt', receipt, '--out', 'dl'], dir, env);
    await sb.waitFor(/fault injected: GET \/api\/v1\/files\/[0-9a-f]+\/content: answer trickled/);
    await new Promise((r) => setTimeout(r, 300));
    await kill9(child);
    // then nothing is in the download folder: no check file, no temporary file
    expect(existsSync(join(dir, 'dl')) ? readdirSync(join(dir, 'dl')) : []).toEqual([]);
    // and the journal is sound, with the submission sent and no download recorded
    const journal = join(dir, 'home', 'labup.db');
    expectJournalSound(journal);
    const db = openDatabase(journal, { readonly: true });
    expect(db.prepare('SELECT state, receipt_no FROM submissions').all()).toEqual([{ state: 'sent', receipt_no: receipt }]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM downloads').get()).toEqual({ n: 0 });
    db.close();
    // when the same command runs again
    const again = await labup(['download', '--receipt', receipt, '--out', 'dl', '--json'], { cwd: dir, env });
    // then it fetches the file whole, private, and records it
    expect(again.code, again.stderr).toBe(0);
    const name = `1300_${receipt}.msg.txt`;
    expect(readdirSync(join(dir, 'dl'))).toEqual([name]);
    expect(mode(join(dir, 'dl', name))).toBe(0o600);
    expect(JSON.parse(again.stdout).files).toEqual([expect.objectContaining({ name, skipped: false })]);
    expectJournalSound(journal);
  });

  it('during the download step of labup daily: the run continues on the same 收件序號 and ends 檢核正確, one submission', async () => {
    // given the nightly job against a sandbox that trickles the first check file at 64 B/s
    const dir = place();
    const sb = await startSandboxProcess(join(dir, 'sandbox'), ['--processing-delay', '1s', '--faults', 'download:trickle:64:once']);
    running.push(sb);
    const env = { ...sb.env(join(dir, 'home')), XDG_CONFIG_HOME: join(dir, 'config') };
    mkdirSync(join(dir, 'work'));
    const child = start(['daily', fixture('daily/lab-results.csv')], join(dir, 'work'), env);
    // when it is killed while the check file trickles in
    await sb.waitFor(/fault injected: GET \/api\/v1\/files\/[0-9a-f]+\/content: answer trickled/, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    await kill9(child);
    // then the download folder holds no check file (the report comes at the end; there is none yet)
    const downloads = join(dir, 'work', 'downloads');
    expect(existsSync(downloads) ? readdirSync(downloads).filter((n) => n !== 'reports') : []).toEqual([]);
    // and the journal is sound: the submission sent, the run stopped after its status
    const journal = join(dir, 'home', 'labup.db');
    expectJournalSound(journal);
    const db = openDatabase(journal, { readonly: true });
    expect(db.prepare('SELECT state, receipt_no FROM submissions').all()).toEqual([{ state: 'sent', receipt_no: '1151125000001' }]);
    const runs = db.prepare('SELECT * FROM runs').all() as Array<Record<string, unknown>>;
    db.close();
    expect(runs).toHaveLength(1);
    // a run killed mid-step is still `running` (its process gone); it knows its 收件序號 and 處理狀態
    expect(runs[0]).toMatchObject({ state: 'running', receipt_no: '1151125000001', status: 'passed' });
    expect(['download', 'wait']).toContain(runs[0]!.step);
    // when the job runs again
    const again = await labup(['daily', fixture('daily/lab-results.csv')], { cwd: join(dir, 'work'), env });
    // then it continues that run, downloads the file and ends 檢核正確, with still one submission
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('note      continuing run 1');
    expect(again.stderr.trimEnd().split('\n').at(-1)).toMatch(/收件序號 1151125000001, downloads\/1300_1151125000001\.msg\.txt — 檢核正確$/);
    expect(readdirSync(downloads).sort()).toEqual(['1300_1151125000001.msg.txt', 'reports']);
    expect(mode(join(downloads, '1300_1151125000001.msg.txt'))).toBe(0o600);
    const sdb = openDatabase(join(dir, 'sandbox', 'sandbox.db'), { readonly: true });
    expect(sdb.prepare('SELECT receipt_no, status FROM submissions').all()).toEqual([{ receipt_no: '1151125000001', status: 'passed' }]);
    sdb.close();
    expectJournalSound(journal);
  });
});
