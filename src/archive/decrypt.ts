/**
 * `labup decrypt` as a library call: open a downloaded ZIP, refuse it if it is hostile, get the
 * user's ID only when something is encrypted, and extract it safely.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { IoHost } from '../io-host.js';
import { maskId } from '../format/national-id.js';
import {
  DEFAULT_LIMITS,
  checkArchive,
  checkArchivePassword,
  extractArchive,
  openArchive,
  type ArchiveLimits,
  type ByteSink,
  type ExtractResult,
} from './extract.js';
import { wrongPassword } from './zipjs.js';
import type { UserIdAnswer } from './user-id.js';

export interface DecryptOptions {
  /** Folder to extract into; default: the folder holding the ZIP. Ignored with `toStdout`. */
  outDir?: string;
  /** Write the files' content, in order, here instead of to files. */
  toStdout?: ByteSink;
  /** Gives the user's ID (see `userIdAsker`); asked only when an entry is encrypted. */
  userId: (retry: boolean) => Promise<UserIdAnswer>;
  /** Tries at an interactive prompt before giving up on a wrong ID (default 3). */
  attempts?: number;
  limits?: Partial<ArchiveLimits>;
  host?: IoHost;
  /** Resolves a relative `outDir` / `file` (default: the process's). */
  cwd?: string;
}

export interface DecryptResult extends ExtractResult {
  /** Where the ID came from (`LABUP_USER_ID`, `userIdSource env:…`, `prompt`), null when not encrypted. */
  passwordSource: string | null;
}

export async function decryptArchive(file: string, options: DecryptOptions): Promise<DecryptResult> {
  const cwd = options.cwd ?? process.cwd();
  // Messages name the file as the user gave it whenever that path means the same thing here.
  const path = isAbsolute(file) || resolve(cwd) === process.cwd() ? file : resolve(cwd, file);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const listing = await openArchive(path, { limits });
  // Refuse a hostile archive before asking anyone for their ID.
  checkArchive(listing, limits);
  let password: string | undefined;
  let passwordSource: string | null = null;
  if (listing.encrypted) {
    const attempts = Math.max(1, options.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      const answer = await options.userId(attempt > 1);
      if (await checkArchivePassword(path, answer.id)) {
        password = answer.id;
        passwordSource = answer.source;
        options.host?.notify({ level: 'verbose', code: 'DECRYPT_PASSWORD_OK', message: `${file}: opened with the ID ${maskId(answer.id)} (from ${answer.source})` });
        break;
      }
      options.host?.notify({ level: 'verbose', code: 'DECRYPT_WRONG_PASSWORD', message: `${file}: the ID ${maskId(answer.id)} (from ${answer.source}) does not open it` });
      if (!answer.canAskAgain || attempt >= attempts) throw wrongPassword(file, { maskedId: maskId(answer.id), source: answer.source });
    }
  } else {
    options.host?.notify({ level: 'info', code: 'DECRYPT_NOT_ENCRYPTED', message: `${file}: not encrypted; extracting as it is` });
  }
  const common = { ...(password !== undefined ? { password } : {}), limits };
  const result = options.toStdout
    ? await extractArchive(path, { ...common, toStdout: options.toStdout })
    : await extractArchive(path, { ...common, outDir: resolve(cwd, options.outDir ?? dirname(path)) });
  return { ...result, file, passwordSource };
}
