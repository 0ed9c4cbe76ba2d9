/**
 * Secrets (card PIN, p12 passphrase, the user's national ID for encrypted downloads) come from a
 * named source, never from the command line: `env:NAME`, `file:PATH` (e.g. a systemd credential
 * under /run/credentials), `cmd:COMMAND` (a password manager), or `prompt`. Their values are never
 * logged, printed, or put into JSON output or error messages.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { configError, usageError } from './errors.js';
import type { Prompter } from './prompts.js';
import type { IoHost } from './io-host.js';

export type SecretSource =
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  | { kind: 'cmd'; command: string }
  | { kind: 'prompt' };

export function parseSecretSource(text: string): SecretSource {
  const t = text.trim();
  if (t === 'prompt') return { kind: 'prompt' };
  const m = /^(env|file|cmd):(.+)$/s.exec(t);
  if (!m) {
    throw configError('BAD_SECRET_SOURCE', `“${t.slice(0, 40)}” is not a secret source`, {
      hint: 'Use env:NAME, file:PATH, cmd:COMMAND or prompt (e.g. pin-source=env:LABUP_CARD_PIN).',
    });
  }
  const [, kind, rest] = m;
  if (kind === 'env') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rest!)) throw configError('BAD_SECRET_SOURCE', `env:${rest} is not a valid variable name`);
    return { kind: 'env', name: rest! };
  }
  if (kind === 'file') return { kind: 'file', path: rest! };
  return { kind: 'cmd', command: rest! };
}

/** The source as it is written in config (`env:NAME`, `file:PATH`, `cmd:COMMAND`, `prompt`). */
export function secretSourceText(s: SecretSource): string {
  return s.kind === 'env' ? `env:${s.name}` : s.kind === 'file' ? `file:${s.path}` : s.kind === 'cmd' ? `cmd:${s.command}` : 'prompt';
}

/** The source for messages: a command line is never shown (it may hold a secret). */
export function describeSecretSource(s: SecretSource): string {
  switch (s.kind) {
    case 'env':
      return `env:${s.name}`;
    case 'file':
      return `file:${s.path}`;
    case 'cmd':
      return 'cmd:(command)';
    case 'prompt':
      return 'prompt';
  }
}

export interface ReadSecretOptions {
  /** What the secret is, for prompts and errors: e.g. `card PIN`. */
  what: string;
  env?: Record<string, string | undefined>;
  prompter?: Prompter;
  host?: IoHost;
  /** Timeout for `cmd:` sources (default 30 s). */
  timeoutMs?: number;
}

export async function readSecret(source: SecretSource, options: ReadSecretOptions): Promise<string> {
  const env = options.env ?? process.env;
  const what = options.what;
  switch (source.kind) {
    case 'env': {
      const v = env[source.name];
      if (v === undefined || v === '') {
        throw configError('SECRET_MISSING', `${what}: environment variable ${source.name} is not set`, {
          hint: `Set ${source.name} in the job's environment (or choose another source: file:, cmd:, prompt).`,
        });
      }
      return v;
    }
    case 'file': {
      let text: string;
      try {
        const st = await stat(source.path);
        if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
          options.host?.notify({ level: 'warn', code: 'SECRET_FILE_MODE', message: `${what}: ${source.path} is readable by other users; chmod 600 it` });
        }
        text = await readFile(source.path, 'utf8');
      } catch (err) {
        throw configError('SECRET_MISSING', `${what}: cannot read ${source.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
          hint: 'Check the path of the secret file and its permissions.',
        });
      }
      const v = text.replace(/\r?\n$/, '');
      if (!v) throw configError('SECRET_MISSING', `${what}: ${source.path} is empty`);
      return v;
    }
    case 'cmd':
      return runSecretCommand(source.command, what, options.timeoutMs ?? 30_000);
    case 'prompt': {
      if (!options.prompter || !options.prompter.interactive) {
        throw usageError('NO_TTY', `${what}: no terminal to ask on`, {
          hint: `Give the ${what} through env:NAME, file:PATH or cmd:COMMAND for unattended runs.`,
        });
      }
      const v = await options.prompter.password({ message: `${what}:` });
      if (!v) throw usageError('SECRET_MISSING', `${what}: nothing entered`);
      return v;
    }
  }
}

function runSecretCommand(command: string, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const shell = process.platform === 'win32' ? 'cmd.exe' : '/bin/sh';
    const args = process.platform === 'win32' ? ['/d', '/s', '/c', command] : ['-c', command];
    execFile(shell, args, { timeout: timeoutMs, maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        reject(
          configError('SECRET_COMMAND_FAILED', `${what}: the secret command ${e.killed ? 'timed out' : `failed (exit ${e.code ?? '?'})`}`, {
            hint: 'Run the command by hand to check it prints the secret on stdout.',
          }),
        );
        return;
      }
      const v = stdout.replace(/\r?\n$/, '');
      if (!v) reject(configError('SECRET_MISSING', `${what}: the secret command printed nothing`));
      else resolve(v);
    });
  });
}
