/** Runs the real `bin/labup.js` (built by the test script) and captures its output. */
import { execa, type Options } from 'execa';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/labup.js', import.meta.url));
/** The fixtures' time: uploaded 115/11/25 20:00 (Asia/Taipei). */
export const FIXTURE_NOW = '2026-11-25T21:00:00+08:00';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function labup(args: string[], options: Options & { env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    reject: false,
    cwd: options.cwd ?? ROOT,
    env: { LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', ...options.env },
    extendEnv: true,
    timeout: 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function fixture(path: string): string {
  return fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
}
