/**
 * What a cron mail and a log file receive. Every command a job runs unattended ends with one
 * summary line on stderr (with --quiet that is all there is on stderr, also with --json), writes
 * JSON lines to --log-file, and never draws progress when stderr is not a terminal.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { main } from '../../src/cli/main.js';
import { FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { tempDir } from './sandbox-support.js';

const dir = tempDir('labup-ops-logs-');
/** The escape character that starts terminal control sequences. */
const ESC = String.fromCharCode(27);

describe('one summary line, JSON-lines logs, no progress without a terminal (the real binary)', () => {
  it('each unattended command: with --quiet, stderr is exactly its summary line; the log has it as SUMMARY', async () => {
    const home = join(dir.path, 'home');
    const cwd = join(dir.path, 'work');
    mkdirSync(cwd, { recursive: true });
    const env = { LABUP_HOME: home, XDG_CONFIG_HOME: join(dir.path, 'config'), LABUP_SANDBOX_DELAY: '300ms', LABUP_USER_ID: 'A123456789' };
    const jobs: Array<[string, string[], number]> = [
      ['validate', ['validate', fixture('valid/TOTFA.zip')], 0],
      ['pack', ['pack', fixture('daily/lab-results.csv'), '--out', 'PACKED.zip'], 0],
      ['upload', ['upload', fixture('valid/TOTFA.zip'), '--sandbox'], 0],
      ['status', ['status', '--wait', '--sandbox'], 0],
      ['download', ['download', '--sandbox', '--encrypted', '--out', 'enc'], 0],
      ['decrypt', ['decrypt', join('enc', '1300_1151125000001.zip'), '--out', 'plain'], 0],
      ['download', ['download', '--sandbox', '--encrypted', '--out', 'enc'], 6],
      ['daily', ['daily', fixture('daily/other-institution.csv'), '--sandbox'], 1],
      ['history', ['history'], 0],
      ['notices', ['notices', '--sandbox'], 0],
      ['doctor', ['doctor', '--sandbox'], 0],
    ];
    for (const [name, args, code] of jobs) {
      const log = join(dir.path, `${name}-${code}.jsonl`);
      const r = await labup([...args, '--quiet', '--log-file', log], { cwd, env });
      expect(r.code, `${name}: ${r.stderr}`).toBe(code);
      // then stderr holds one line, the summary, and no terminal control (no \r, no escape sequences)
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, name).toHaveLength(1);
      expect(lines[0]!, name).toMatch(new RegExp(`^labup ${name}: `));
      expect(r.stderr.includes('\r') || r.stderr.includes(ESC), name).toBe(false);
      // and the log file is JSON lines, the summary among them
      const entries = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { time: string; level: string; code: string; message: string });
      for (const e of entries) expect(e, name).toMatchObject({ time: expect.stringMatching(/^2026-11-2\dT\d\d:\d\d:\d\d\+08:00$/), level: expect.any(String), code: expect.any(String), message: expect.any(String) });
      expect(entries.filter((e) => e.code === 'SUMMARY').map((e) => e.message), name).toEqual([lines[0]]);
    }
  });

  it('with --json the result is on stdout and the summary line still ends stderr', async () => {
    const home = join(dir.path, 'home-json');
    const cwd = join(dir.path, 'work-json');
    mkdirSync(cwd, { recursive: true });
    const env = { LABUP_HOME: home, XDG_CONFIG_HOME: join(dir.path, 'config'), LABUP_SANDBOX_DELAY: '300ms' };
    for (const args of [
      ['validate', fixture('valid/TOTFA.zip')],
      ['pack', fixture('daily/lab-results.csv'), '--out', 'J.zip'],
      ['upload', fixture('valid/TOTFA.zip'), '--sandbox'],
      ['daily', fixture('daily/lab-results.csv'), '--sandbox'],
      ['doctor', '--sandbox'],
    ]) {
      const r = await labup([...args, '--json'], { cwd, env });
      expect(() => JSON.parse(r.stdout), args[0]).not.toThrow();
      expect(r.stderr.trimEnd().split('\n').at(-1), args[0]).toMatch(new RegExp(`^labup ${args[0]}: `));
    }
  });
});

describe('progress is drawn on a terminal only', () => {
  /** A stream that remembers what was written; `tty` says whether it is a terminal. */
  const stream = (tty: boolean) => {
    const chunks: string[] = [];
    return { isTTY: tty, columns: 80, chunks, write: (c: string | Uint8Array) => chunks.push(String(c)) };
  };

  it('pack draws its row count on a terminal, and nothing of it without one', async () => {
    const cwd = join(dir.path, 'progress');
    mkdirSync(cwd, { recursive: true });
    for (const tty of [true, false]) {
      const out = stream(false);
      const err = stream(tty);
      const code = await main(['pack', fixture('daily/lab-results.csv'), '--out', `P${tty ? 1 : 0}.zip`], {
        stdout: out,
        stderr: err,
        cwd,
        env: { LABUP_HOME: join(dir.path, 'progress-home'), XDG_CONFIG_HOME: join(dir.path, 'config'), NO_COLOR: '1' },
        clock: fixedClock(FIXTURE_NOW),
      });
      expect(code).toBe(0);
      const text = err.chunks.join('');
      if (tty) expect(text).toContain(`\r${ESC}[Kpack 3`);
      else expect(text.includes('\r') || text.includes(ESC)).toBe(false);
    }
  });
});
