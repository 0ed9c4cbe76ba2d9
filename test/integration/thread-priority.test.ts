/**
 * On Linux each thread has its own nice value. The CLI's large pack lowers every thread but its
 * pipeline's, and the rule worker lowers itself. These stories run in a child process of their
 * own (priorities, once lowered, stay lowered).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { ROOT } from '../helpers/cli.js';

const THREADS = pathToFileURL(join(ROOT, 'dist', 'threads.js')).href;

describe.skipIf(process.platform !== 'linux')('thread priorities', () => {
  it('lowers every thread of the process but the one named, and a thread can lower itself — once, whoever is first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labup-nice-'));
    try {
      const script = join(dir, 'nice.mjs');
      writeFileSync(
        script,
        `import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
import { currentThreadId, helperPriority, lowerAllThreadsBut, HELPER_NICE } from ${JSON.stringify(THREADS)};
const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
const start = (code) => new Promise((resolve) => {
  const w = new Worker(code, { eval: true });
  w.once('message', (tid) => resolve({ w, tid }));
});
const THREADS = ${JSON.stringify(THREADS)};
const worker = (lower) => "import(" + JSON.stringify(THREADS) + ").then((t) => { " + (lower !== null ? "t.lowerThisThread(" + lower + "); " : "") + "require('node:worker_threads').parentPort.postMessage(t.currentThreadId()); setInterval(() => {}, 1000); });";
const target = helperPriority();
const keep = await start(worker(null));
// a helper that lowers itself to this thread's helper priority, then is lowered again from outside
const self = await start(worker(target));
// a helper lowered from outside first, that then lowers itself
const late = await start("import(" + JSON.stringify(THREADS) + ").then((t) => { const p = require('node:worker_threads').parentPort; p.once('message', (nice) => { t.lowerThisThread(nice); p.postMessage('done'); }); p.postMessage(t.currentThreadId()); });");
const main = currentThreadId();
const before = nice(keep.tid);
lowerAllThreadsBut(keep.tid);
late.w.postMessage(target);
await new Promise((resolve) => late.w.once('message', resolve));
const others = readdirSync('/proc/self/task').map(Number).filter((t) => t !== keep.tid);
console.log(JSON.stringify({ main, kept: [before, nice(keep.tid)], self: nice(self.tid), late: nice(late.tid), lowest: Math.min(...others.map(nice)), step: HELPER_NICE }));
process.exit(0);
`,
      );
      // when a process lowers all its threads but one worker's, after another worker lowered itself
      const r = await execa('node', [script], { reject: false });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const out = JSON.parse(String(r.stdout)) as { main: number; kept: [number, number]; self: number; late: number; lowest: number; step: number };
      // then the kept thread is as it was, and every other thread is HELPER_NICE below it
      expect(out.main).toBeGreaterThan(0);
      expect(out.kept[1]).toBe(out.kept[0]);
      expect(out.self).toBe(Math.min(19, out.kept[0] + out.step));
      expect(out.late).toBe(Math.min(19, out.kept[0] + out.step));
      expect(out.lowest).toBe(Math.min(19, out.kept[0] + out.step));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
