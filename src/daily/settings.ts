/**
 * The settings `labup daily` takes from the layered configuration — timeouts, deadline, portal,
 * card and secret sources — read once, and checked by the preflight's `config` step so that a bad
 * value is reported like every other preflight failure: naming the setting and where it came from.
 */
import { parseDuration } from '../clock.js';
import { configError, type LabupError } from '../errors.js';
import type { ConfigKey, LabupConfig } from '../config/config.js';
import { parseSecretSource } from '../secrets.js';
import { DEFAULT_POLL_MS, DEFAULT_WAIT_MS } from '../transport/poll.js';

export interface DailySettings {
  waitTimeoutMs: number;
  pollIntervalMs: number;
  /** Bound on the whole run; undefined: none. */
  deadlineMs: number | undefined;
  /** Throws the first problem found (a config error, exit 2); else describes the settings. */
  check(): string;
}


function source(sources: Partial<Record<ConfigKey, string>>, key: ConfigKey): string {
  return sources[key] ? ` (from ${sources[key]})` : '';
}

export function dailySettings(cfg: LabupConfig, sources: Partial<Record<ConfigKey, string>>, sandbox: boolean): DailySettings {
  const problems: LabupError[] = [];
  const duration = (key: 'waitTimeout' | 'pollInterval' | 'deadline' | 'requestTimeout', dflt: number | undefined): number | undefined => {
    const v = cfg[key];
    if (v === undefined) return dflt;
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      problems.push(configError('BAD_DURATION', `${key} “${v}”${source(sources, key)} is not a duration`, { hint: 'Write e.g. 30s, 45m, 3h or 1h30m.' }));
      return dflt;
    }
    return ms;
  };
  const waitTimeoutMs = duration('waitTimeout', DEFAULT_WAIT_MS)!;
  const pollIntervalMs = duration('pollInterval', DEFAULT_POLL_MS)!;
  const deadlineMs = duration('deadline', undefined);
  duration('requestTimeout', undefined);
  if (!sandbox) {
    if (!cfg.portal) {
      problems.push(
        configError('PORTAL_NOT_CONFIGURED', 'no portal to talk to', {
          hint: 'Give --portal URL (or LABUP_PORTAL, or "portal" in the config), or try the whole job against the built-in sandbox with --sandbox.',
        }),
      );
    }
    if (!cfg.card) {
      problems.push(configError('CARD_NOT_CONFIGURED', 'no card to sign in with', { hint: 'Give --card URI, LABUP_CARD, or "card" in the config (pkcs11:…, p12:PATH or pem:KEY,CERT).' }));
    }
    for (const key of ['pinSource', 'userIdSource'] as const) {
      const v = cfg[key];
      if (v === undefined) continue;
      try {
        parseSecretSource(v);
      } catch (err) {
        problems.push(configError('BAD_SECRET_SOURCE', `${key}${source(sources, key)}: ${(err as Error).message}`, { hint: 'Use env:NAME, file:PATH, cmd:COMMAND or prompt.' }));
      }
    }
  }
  return {
    waitTimeoutMs,
    pollIntervalMs,
    deadlineMs,
    check() {
      if (problems.length) throw problems[0]!;
      const wait = cfg.waitTimeout ?? '45m';
      return `wait up to ${wait}, poll every ≤ ${cfg.pollInterval ?? '30s'}${cfg.deadline ? `, deadline ${cfg.deadline}` : ''}${sandbox ? ', built-in sandbox' : `, portal ${cfg.portal}`}`;
    },
  };
}
