/**
 * Layered configuration: defaults < user file (~/.config/labup/config.json) < project file
 * (./labup.config.json) < LABUP_* environment < command-line flags, with named profiles inside each
 * file. Checked against a JSON Schema; every value remembers where it came from. Secrets are never
 * stored here — only the *names* of their sources (env:NAME, file:PATH, cmd:…, prompt).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { configError } from '../errors.js';
import { userConfigFile, type Env } from '../paths.js';
import { CONFIG_KEYS, configSchema, type ConfigKey, type LabupConfig } from './schema.js';

export type { LabupConfig, ConfigKey };

export const PROJECT_CONFIG_FILE = 'labup.config.json';

export const DEFAULTS: Required<Pick<LabupConfig, 'requestTimeout' | 'waitTimeout' | 'pollInterval' | 'retries' | 'downloadDir' | 'encryptedDownload'>> = {
  requestTimeout: '60s',
  waitTimeout: '45m',
  pollInterval: '30s',
  retries: 4,
  downloadDir: 'downloads',
  encryptedDownload: false,
};

/** Environment variables mapped to config keys. */
export const ENV_KEYS: Record<string, ConfigKey> = {
  LABUP_PORTAL: 'portal',
  LABUP_INSTITUTION: 'institution',
  LABUP_CARD: 'card',
  LABUP_PIN_SOURCE: 'pinSource',
  LABUP_USER_ID_SOURCE: 'userIdSource',
  LABUP_DOWNLOAD_DIR: 'downloadDir',
  LABUP_CA_FILE: 'caFile',
  LABUP_REQUEST_TIMEOUT: 'requestTimeout',
  LABUP_WAIT_TIMEOUT: 'waitTimeout',
  LABUP_POLL_INTERVAL: 'pollInterval',
  LABUP_DEADLINE: 'deadline',
  LABUP_RETRIES: 'retries',
  LABUP_LOG_FILE: 'logFile',
};

export interface ResolvedConfig {
  values: LabupConfig;
  /** Where each value came from: `default`, `user file …`, `project file …`, `env LABUP_…`, `flag --…`. */
  sources: Partial<Record<ConfigKey, string>>;
  profile: string | null;
  files: { user: string; project: string; userExists: boolean; projectExists: boolean };
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: Env;
  /** Values from command-line flags (undefined = not given). */
  flags?: Partial<LabupConfig>;
  /** Flag names for the sources report, by key. */
  flagNames?: Partial<Record<ConfigKey, string>>;
  profile?: string;
  /** Use this file instead of ./labup.config.json. */
  projectFile?: string;
}

/** The schema's validator, loaded and compiled when a config file is first read (not at all without one). */
let compiled: ValidateFunction | undefined;
function validateSchema(): ValidateFunction {
  if (!compiled) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    compiled = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(configSchema);
  }
  return compiled;
}

function readJson(file: string): { exists: boolean; data?: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { exists: false };
    throw configError('CONFIG_UNREADABLE', `${file}: cannot read (${code})`);
  }
  try {
    return { exists: true, data: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      where = ` at line ${before.split('\n').length}`;
    }
    throw configError('CONFIG_INVALID', `${file}: not valid JSON${where} (${msg})`, { hint: 'Fix the JSON syntax (labup config init writes a valid file).' });
  }
}

function describeAjvError(file: string, e: ErrorObject): string {
  const path = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  if (e.keyword === 'additionalProperties') return `${file}: unknown setting “${path === '(top level)' ? '' : path + '.'}${(e.params as { additionalProperty: string }).additionalProperty}”`;
  if (e.keyword === 'pattern') {
    // Say what the setting should be (its description), not the pattern.
    const what = (e.parentSchema as { description?: string } | undefined)?.description;
    const value = typeof e.data === 'string' ? ` “${e.data.length > 60 ? `${e.data.slice(0, 60)}…` : e.data}”` : '';
    return `${file}: ${path}${value} has the wrong format${what ? ` — expected ${what}` : ''}`;
  }
  return `${file}: ${path} ${e.message ?? 'is invalid'}`;
}

/** Checks a config document; throws a coded error naming the file, the key and the problem. */
export function checkConfigDocument(file: string, data: unknown): LabupConfig {
  const validate = validateSchema();
  if (!validate(data)) {
    const errs = (validate.errors ?? []).slice(0, 5).map((e) => describeAjvError(file, e));
    throw configError('CONFIG_INVALID', errs.join('; '), { hint: 'See docs/operations.md for the settings and their formats.' });
  }
  return data as LabupConfig;
}

function layer(file: string, data: LabupConfig, profile: string | null, label: string, values: LabupConfig, sources: ResolvedConfig['sources']): void {
  const base = { ...data };
  delete base.profiles;
  for (const k of Object.keys(base) as ConfigKey[]) {
    (values as Record<string, unknown>)[k] = base[k];
    sources[k] = `${label} ${file}`;
  }
  if (profile && data.profiles?.[profile]) {
    for (const [k, v] of Object.entries(data.profiles[profile]!)) {
      (values as Record<string, unknown>)[k] = v;
      sources[k as ConfigKey] = `${label} ${file} (profile ${profile})`;
    }
  }
}

export function loadConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const profile = options.profile ?? env.LABUP_PROFILE ?? null;
  const values: LabupConfig = {};
  const sources: ResolvedConfig['sources'] = {};
  for (const [k, v] of Object.entries(DEFAULTS)) {
    (values as Record<string, unknown>)[k] = v;
    sources[k as ConfigKey] = 'default';
  }
  const userFile = userConfigFile(env);
  const projectFile = options.projectFile ?? join(cwd, PROJECT_CONFIG_FILE);
  const user = readJson(userFile);
  const project = readJson(projectFile);
  const known = new Set<string>();
  for (const [file, doc, label] of [
    [userFile, user, 'user file'],
    [projectFile, project, 'project file'],
  ] as const) {
    if (!doc.exists) continue;
    const data = checkConfigDocument(file, doc.data);
    for (const p of Object.keys(data.profiles ?? {})) known.add(p);
    layer(file, data, profile, label, values, sources);
  }
  if (profile && !known.has(profile)) {
    throw configError('CONFIG_PROFILE', `profile “${profile}” is not defined in ${[user.exists ? userFile : '', project.exists ? projectFile : ''].filter(Boolean).join(' or ') || 'any config file'}`, {
      hint: 'Define it under "profiles" in labup.config.json (labup config init), or drop --profile.',
    });
  }
  const envDoc: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    envDoc[key] = key === 'retries' ? Number(v) : v;
    sources[key] = `env ${name}`;
  }
  if (Object.keys(envDoc).length) {
    checkConfigDocument('environment', envDoc);
    Object.assign(values, envDoc);
  }
  for (const [k, v] of Object.entries(options.flags ?? {})) {
    if (v === undefined) continue;
    (values as Record<string, unknown>)[k] = v;
    sources[k as ConfigKey] = `flag ${options.flagNames?.[k as ConfigKey] ?? '--' + k}`;
  }
  const flagDoc = Object.fromEntries(Object.entries(options.flags ?? {}).filter(([, v]) => v !== undefined));
  if (Object.keys(flagDoc).length) checkConfigDocument('command line', flagDoc);
  return { values, sources, profile, files: { user: userFile, project: projectFile, userExists: user.exists, projectExists: project.exists } };
}

/** Keys whose values may point at secrets: shown as sources, never read here. */
export const SECRET_SOURCE_KEYS: readonly ConfigKey[] = ['pinSource', 'userIdSource'];

export { CONFIG_KEYS };
