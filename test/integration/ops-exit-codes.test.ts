/**
 * Exit codes a scheduler acts on. 6 means "nothing to do" — no input rows, nothing new — and is
 * never confused with 0 (done) by any command; `daily --deadline` ends with 3 and the state
 * journaled, and the next run continues from it. The real binary against the built-in sandbox.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { taipeiIso } from '../../src/clock.js';
import { FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { cliPlaces } from './sandbox-support.js';

const places = cliPlaces('labup-exit-', '300ms');
afterAll(() => places.remove());
function place() {
  const { home, cwd, env } = places.next();
  return { home, cwd, run: (args: string[], extra: Record<string, string> = {}) => labup(args, { cwd, env: { ...env, ...extra } }) };
}
const last = (stderr: string) => stderr.trimEnd().split('\n').at(-1) ?? '';

describe('exit 6: nothing to do, distinct from 0', () => {
  it('every command that can find nothing to do says so with 6, and with 0 once there is something', async () => {
    const p = place();
    // a fresh home: nothing uploaded, nothing offered
    const nothing: Array<[string[], RegExp]> = [
      [['history'], /nothing|no uploads|0 entries|no entries/i],
      [['pack', fixture('daily/header-only.csv'), '--out', 'EMPTY.zip'], /nothing to pack/],
      [['daily', fixture('daily/header-only.csv'), '--sandbox'], /no data rows/],
      [['status', '--sandbox'], /no uploads/i],
      [['download', '--sandbox'], /no files offered/],
      [['download', '--sandbox', '--dry-run'], /0 file\(s\) would be written/],
    ];
    for (const [args, says] of nothing) {
      const r = await p.run(args);
      expect({ args: args.join(' '), code: r.code }).toEqual({ args: args.join(' '), code: 6 });
      expect(r.stdout + r.stderr, args.join(' ')).toMatch(says);
    }
    // once there is something, the same commands exit 0
    expect((await p.run(['daily', fixture('daily/lab-results.csv'), '--sandbox'])).code).toBe(0);
    expect((await p.run(['status', '--sandbox'])).code).toBe(0);
    expect((await p.run(['history'])).code).toBe(0);
    // and what is already done is nothing to do again: the check file is here, the inputs were sent
    expect((await p.run(['download', '--sandbox', '--out', 'downloads'])).code).toBe(6);
    const tomorrow = await p.run(['daily', fixture('daily/lab-results.csv'), '--sandbox'], { LABUP_NOW: taipeiIso(new Date(new Date(FIXTURE_NOW).getTime() + 86_400_000)) });
    expect(tomorrow.code).toBe(6);
    expect(last(tomorrow.stderr)).toContain('already uploaded');
  });

  it('an XML without records is not "nothing to do" but invalid (exit 1): NHI refuses a file without hdata', async () => {
    const p = place();
    const empty = join(p.cwd, 'EMPTY.xml');
    writeFileSync(empty, '<?xml version="1.0" encoding="Big5"?>\n<patient>\n</patient>\n');
    const r = await p.run(['validate', empty, '--upload-date', '115/11/25']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('XML_NO_HDATA');
  });
});

describe('daily --deadline', () => {
  it('bounds the whole run: exit 3 with the state journaled, and the next run continues on the same 收件序號', async () => {
    const p = place();
    // given a portal that takes a minute to check an upload, and a run allowed two seconds
    const slow = { LABUP_SANDBOX_DELAY: '60s' };
    const t0 = performance.now();
    const r = await p.run(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--deadline', '2s', '--poll-interval', '1s', '--json'], slow);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ outcome: 'pending', failure: { code: 'DEADLINE_PASSED', exitCode: 3 }, receipts: [{ receiptNo: '1151125000001', statusText: '檢核中' }] });
    // the journal holds the run, stopped, with its 收件序號
    const db = openDatabase(join(p.home, 'labup.db'), { readonly: true });
    expect(db.prepare('SELECT state, outcome, receipt_no, exit_code FROM runs').all()).toEqual([{ state: 'stopped', outcome: 'pending', receipt_no: '1151125000001', exit_code: 3 }]);
    db.close();
    // when the same command runs two minutes later, it waits on that 收件序號 and uploads nothing
    const later = { ...slow, LABUP_NOW: taipeiIso(new Date(new Date(FIXTURE_NOW).getTime() + 120_000)) };
    const again = await p.run(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--deadline', '30s', '--poll-interval', '1s', '--json'], later);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'passed', resumed: true, receipts: [{ receiptNo: '1151125000001', statusText: '檢核正確' }] });
    const sb = openDatabase(join(p.home, 'sandbox', 'sandbox.db'), { readonly: true });
    expect((sb.prepare('SELECT COUNT(*) AS n FROM submissions').get() as { n: number }).n).toBe(1);
    sb.close();
  });
});
