/**
 * The password of the portal's encrypted downloads: the national ID (身分證統一編號, or 居留證號) of
 * the user who downloaded the file, with its first letter uppercase. People type it lowercase, with
 * spaces, or in full-width characters from a Chinese input method; all of that is normalised, and the
 * ID's checksum is checked before any attempt, so a typo is named as a typo rather than as a wrong
 * password. The ID never appears unmasked in a message.
 */
import { configError, usageError } from '../errors.js';
import { checkPersonId, maskId } from '../format/national-id.js';
import type { IoHost } from '../io-host.js';
import type { Prompter } from '../prompts.js';
import { parseSecretSource, readSecret } from '../secrets.js';

/** `  a123456789 ` → `A123456789`; full-width `ａ１２３…` → half-width. Does not check the checksum. */
export function normalizeUserId(raw: string): string {
  return raw.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
}

/** Why a typed ID is not one, in words, or null when it is a valid ID. */
export function userIdProblem(normalized: string): string | null {
  const check = checkPersonId(normalized);
  if (check.ok) return null;
  if (normalized.length !== 10) return `has ${normalized.length} characters, an ID has 10 (a letter and 9 digits)`;
  if (check.reason === 'checksum') return 'fails its checksum (a digit is mistyped)';
  return 'is not shaped like a national ID or resident permit number (a letter, then 1, 2, 8, 9 or A–D, then digits)';
}

/**
 * The download password for a typed ID: normalised, checked, first letter uppercase. Throws
 * USER_ID_INVALID (exit 2) naming the masked value and where it came from.
 */
export function downloadPassword(rawId: string, source = 'the ID given'): string {
  const id = normalizeUserId(rawId);
  const problem = userIdProblem(id);
  if (problem) {
    throw configError('USER_ID_INVALID', `${source}: “${maskId(id)}” ${problem}`, {
      hint: 'Give the national ID of the user who downloaded the file (the portal’s password for it); check it against the ID card.',
    });
  }
  return id;
}

export interface UserIdAnswer {
  /** The ID, normalised and checked. */
  id: string;
  /** Where it came from, for messages: `LABUP_USER_ID`, `userIdSource env:…`, `prompt`. Never the value. */
  source: string;
  /** True when asking again may give another answer (an interactive prompt). */
  canAskAgain: boolean;
}

export interface UserIdSourceOptions {
  env: Record<string, string | undefined>;
  /** The config's `userIdSource` (env:NAME, file:PATH, cmd:COMMAND or prompt), if any. */
  userIdSource?: string | undefined;
  prompter: Prompter;
  host?: IoHost;
}

/**
 * Where the ID comes from, in order: the `LABUP_USER_ID` environment variable, the config's
 * `userIdSource`, then a masked prompt on a terminal. With none of them, fails at once with
 * USER_ID_MISSING (exit 2) rather than waiting for input. Never from the command line.
 */
export function userIdAsker(options: UserIdSourceOptions): (retry: boolean) => Promise<UserIdAnswer> {
  const { env, prompter } = options;
  return async (retry) => {
    const direct = env.LABUP_USER_ID;
    if (direct !== undefined && direct !== '' && !retry) {
      return { id: downloadPassword(direct, 'LABUP_USER_ID'), source: 'LABUP_USER_ID', canAskAgain: false };
    }
    const configured = options.userIdSource ? parseSecretSource(options.userIdSource) : undefined;
    if (configured && configured.kind !== 'prompt' && !retry) {
      const label = `userIdSource ${configured.kind === 'cmd' ? 'cmd:(command)' : options.userIdSource}`;
      const value = await readSecret(configured, { what: 'national ID (download password)', env, prompter, ...(options.host ? { host: options.host } : {}) });
      return { id: downloadPassword(value, label), source: label, canAskAgain: false };
    }
    if (!prompter.interactive) {
      throw usageError('USER_ID_MISSING', 'the archive is encrypted and no national ID was given to open it (no terminal to ask on)', {
        hint: 'Set LABUP_USER_ID, or userIdSource (env:NAME, file:PATH or cmd:COMMAND) in the config, or run it in a terminal.',
      });
    }
    const typed = await prompter.password({
      message: retry ? 'That ID does not open it. National ID of the user who downloaded it:' : 'National ID of the user who downloaded it (the password):',
      validate: (value) => {
        const problem = userIdProblem(normalizeUserId(value));
        return problem === null ? true : `That ${problem}.`;
      },
    });
    return { id: downloadPassword(typed, 'the ID typed'), source: 'prompt', canAskAgain: true };
  };
}
