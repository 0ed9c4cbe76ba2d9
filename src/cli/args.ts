/** Parsers for flag values shared by the commands (commander `argParser`s and post-parse checks). */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../clock.js';
import { usageError } from '../errors.js';

export function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

export function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

/** `--input-encoding`: `utf-8`/`utf8`, `big5`/`cp950`, anything else is `auto`. */
export function normaliseEncoding(v: string | undefined): 'auto' | 'utf-8' | 'big5' {
  if (v === 'utf8' || v === 'utf-8') return 'utf-8';
  if (v === 'big5' || v === 'cp950') return 'big5';
  return 'auto';
}

/** `--delimiter`: `\t` or `tab` for a tab. */
export function delimiter(v: string): string {
  if (v === '\\t' || v.toLowerCase() === 'tab') return '\t';
  return v;
}

/** A duration flag (`45m`, `90s`, `1h30m`) in milliseconds; undefined when not given. */
export function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw usageError('BAD_DURATION', `${flag} “${value}” is not a duration`, { hint: 'Write e.g. 45m, 90s, 1h30m.' });
  return ms;
}
