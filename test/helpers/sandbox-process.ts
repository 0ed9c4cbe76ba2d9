/**
 * A real `labup sandbox` process (the binary, as an operator starts it), on 127.0.0.1 with a free
 * port, and the environment other `labup` processes need to sign in to it with the demo card.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { BIN, FIXTURE_NOW } from './cli.js';

export interface SandboxProcess {
  url: string;
  dataDir: string;
  /** What `labup sandbox --json` printed when it started. */
  started: Record<string, unknown>;
  child: ChildProcessWithoutNullStreams;
  /** The sandbox's stderr so far (its request log, injected faults). */
  stderr(): string;
  /** Environment for `labup` commands against it (portal, demo card, PIN and user-ID sources). */
  env(home: string): Record<string, string>;
  /** Resolves when `text` appears on stderr (or rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  stop(): Promise<number | null>;
}

export async function startSandboxProcess(dataDir: string, args: string[] = [], env: Record<string, string> = {}): Promise<SandboxProcess> {
  const child = spawn('node', [BIN, 'sandbox', '--data', dataDir, '--port', '0', '--json', ...args], {
    env: { ...process.env, LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => {
    stderr += c;
    for (const w of [...watchers]) w();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox did not start; stderr: ${stderr}`)), 30_000);
    const tryParse = () => {
      try {
        const doc = JSON.parse(stdout) as Record<string, unknown>;
        clearTimeout(timer);
        resolve(doc);
      } catch {
        // not complete yet
      }
    };
    child.stdout.on('data', tryParse);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox exited (${code}): ${stderr}`));
    });
  });
  const url = String(started.url);
  return {
    url,
    dataDir,
    started,
    child,
    stderr: () => stderr,
    env: (home) => ({
      LABUP_HOME: home,
      LABUP_PORTAL: url,
      LABUP_CARD: `p12:${join(dataDir, 'cards', '3501200000.p12')}`,
      LABUP_PIN_SOURCE: `file:${join(dataDir, 'cards', '3501200000.pass')}`,
      LABUP_USER_ID_SOURCE: 'env:DEMO_USER_ID',
      DEMO_USER_ID: 'A123456789',
      NO_PROXY: '127.0.0.1',
    }),
    waitFor: (text, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const seen = () => (typeof text === 'string' ? stderr.includes(text) : text.test(stderr));
        if (seen()) return resolve();
        const timer = setTimeout(() => {
          watchers.splice(watchers.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${String(text)} on the sandbox's stderr:\n${stderr}`));
        }, ms);
        const check = () => {
          if (!seen()) return;
          clearTimeout(timer);
          watchers.splice(watchers.indexOf(check), 1);
          resolve();
        };
        watchers.push(check);
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
