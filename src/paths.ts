/**
 * Where labup keeps things. `LABUP_HOME` overrides the data folder (journal, drafts, demo card,
 * sandbox state); config follows XDG (or %APPDATA% on Windows).
 */
import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';

export type Env = Record<string, string | undefined>;

export function dataHome(env: Env = process.env): string {
  if (env.LABUP_HOME) return env.LABUP_HOME;
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'labup');
  return join(env.XDG_DATA_HOME ?? join(env.HOME ?? homedir(), '.local', 'share'), 'labup');
}

export function configHome(env: Env = process.env): string {
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'labup');
  return join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config'), 'labup');
}

/** The user-level config file (`~/.config/labup/config.json`). */
export function userConfigFile(env: Env = process.env): string {
  return join(configHome(env), 'config.json');
}

/** The SQLite file holding the journal, drafts and history. */
export function storeFile(env: Env = process.env): string {
  return join(dataHome(env), 'labup.db');
}

/** A path as shown to the user: relative to `cwd` when it lies below it, else as given. */
export function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** `dir`, or the nearest folder above it that exists (where it would be created). */
export async function nearestExisting(dir: string): Promise<string> {
  let d = dir;
  for (;;) {
    try {
      await access(d, constants.F_OK);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}
