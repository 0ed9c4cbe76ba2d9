/**
 * The JSON Schema of labup's configuration (`labup.config.json`, `~/.config/labup/config.json`).
 * `schema/config.schema.json` is generated from it for editors.
 */

export interface ProfileSettings {
  /** Portal base URL (the embedded sandbox or another adapter's endpoint). */
  portal?: string;
  /** 醫事機構代碼 used for h2 when the input lacks it. */
  institution?: string;
  /** Card: an RFC 7512 PKCS#11 URI, `p12:PATH`, or `pem:KEY.pem,CERT.pem`. */
  card?: string;
  /** Where the card PIN (or p12 passphrase) comes from: env:NAME, file:PATH, cmd:COMMAND, prompt. */
  pinSource?: string;
  /** Where the user's national ID (download password) comes from. */
  userIdSource?: string;
  downloadDir?: string;
  /** Extra CA bundle (PEM) to trust for the portal. */
  caFile?: string;
  encryptedDownload?: boolean;
  requestTimeout?: string;
  waitTimeout?: string;
  pollInterval?: string;
  deadline?: string;
  /** Tries in total for a request that can succeed on retry. */
  retries?: number;
  logFile?: string;
}

export interface LabupConfig extends ProfileSettings {
  profiles?: Record<string, ProfileSettings>;
}

export type ConfigKey = keyof ProfileSettings;

const duration = { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$|^\\d+$', description: 'a duration such as 30s, 45m, 3h' } as const;
const secretSource = { type: 'string', pattern: '^(prompt|env:[A-Za-z_][A-Za-z0-9_]*|file:.+|cmd:.+)$', description: 'env:NAME, file:PATH, cmd:COMMAND or prompt' } as const;

const profileProperties = {
  portal: { type: 'string', pattern: '^https?://', description: 'portal base URL (http:// or https://)' },
  institution: { type: 'string', pattern: '^[0-9A-Za-z]{10}$', description: '10-character 醫事機構代碼' },
  card: { type: 'string', pattern: '^(pkcs11:|p12:|pem:)', description: 'pkcs11:… URI, p12:PATH or pem:KEY,CERT' },
  pinSource: secretSource,
  userIdSource: secretSource,
  downloadDir: { type: 'string', minLength: 1 },
  caFile: { type: 'string', minLength: 1 },
  encryptedDownload: { type: 'boolean' },
  requestTimeout: duration,
  waitTimeout: duration,
  pollInterval: duration,
  deadline: duration,
  retries: { type: 'integer', minimum: 1, maximum: 20 },
  logFile: { type: 'string', minLength: 1 },
} as const;

export const CONFIG_KEYS = Object.keys(profileProperties) as ConfigKey[];

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://labup.invalid/schema/config.schema.json',
  title: 'labup configuration',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    ...profileProperties,
    profiles: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: false, properties: profileProperties },
    },
  },
} as const;
