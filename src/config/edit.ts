/**
 * Writing configuration files: one key at a time (`labup config set`) or a whole profile
 * (`labup config init`), checked against the schema, written atomically.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { configError } from '../errors.js';
import { checkConfigDocument } from './config.js';
import { CONFIG_KEYS, type ConfigKey, type LabupConfig, type ProfileSettings } from './schema.js';

function readDoc(file: string): LabupConfig {
  try {
    return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as LabupConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw configError('CONFIG_INVALID', `${file}: cannot read or parse (${(err as Error).message})`);
  }
}

/** Converts text from the command line to the key's type. */
export function parseConfigValue(key: string, text: string): unknown {
  if (!(CONFIG_KEYS as string[]).includes(key)) {
    throw configError('CONFIG_UNKNOWN_KEY', `unknown setting “${key}”`, { hint: `Settings: ${CONFIG_KEYS.join(', ')}.` });
  }
  if (key === 'retries') return Number(text);
  if (key === 'encryptedDownload') {
    if (!/^(true|false)$/.test(text)) throw configError('CONFIG_INVALID', `encryptedDownload must be true or false`);
    return text === 'true';
  }
  return text;
}

/** Sets (or with `undefined`, removes) keys in a config file, at top level or in a profile. */
export function updateConfigFile(file: string, values: Partial<Record<ConfigKey, unknown>>, profile?: string): LabupConfig {
  const doc = readDoc(file);
  const target: ProfileSettings = profile ? ((doc.profiles ??= {})[profile] ??= {}) : doc;
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete (target as Record<string, unknown>)[k];
    else (target as Record<string, unknown>)[k] = v;
  }
  checkConfigDocument(file, doc);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return doc;
}
