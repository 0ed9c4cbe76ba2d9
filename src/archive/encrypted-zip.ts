/**
 * Small in-memory ZIP archives, plain or password-protected, such as the portal's check-result
 * downloads. ZipCrypto is the default because every archiver opens it (Windows Explorer, Info-ZIP
 * `unzip -P`, 7-Zip); AES-256 (WinZip AE-2) is stronger but needs 7-Zip or a recent archiver —
 * Info-ZIP `unzip` 6.0 cannot open it.
 */
import { usageError } from '../errors.js';
import { checkEntryName, collisionKey, describeUnsafeName } from './entry-name.js';
import { zipjs } from './zipjs.js';

export type ZipEncryption = 'zipcrypto' | 'aes256';

export interface ZipInputEntry {
  /** Path inside the archive, `/`-separated, relative; no `..`, no drive letters. */
  name: string;
  data: Uint8Array;
}

export interface CreateZipOptions {
  /** Encrypts every entry with this password (ASCII recommended: archivers disagree on others). */
  password?: string;
  /** Default `zipcrypto` when a password is given. */
  encryption?: ZipEncryption;
  /** Deflate level 0 (store) – 9; default 6. */
  level?: number;
  /** Modification time recorded for every entry; pass the injected clock's `now()`. Default: the current time. */
  lastModified?: Date;
}

/**
 * Builds a ZIP archive in memory. Entry names are checked with the same rules `extractArchive`
 * applies, so labup never produces an archive it would refuse to open.
 */
export async function createZip(entries: Array<{ name: string; data: Uint8Array }>, options: CreateZipOptions = {}): Promise<Uint8Array> {
  const seen = new Set<string>();
  for (const e of entries) {
    const check = checkEntryName(e.name);
    if (!check.ok) throw usageError('ZIP_BAD_ENTRY_NAME', `cannot add “${e.name}” to an archive: ${describeUnsafeName(check.reason)}`);
    if (e.name.endsWith('/')) throw usageError('ZIP_BAD_ENTRY_NAME', `cannot add “${e.name}”: a name ending in / is a folder, not a file`);
    const key = collisionKey(check.segments);
    if (seen.has(key)) throw usageError('ZIP_BAD_ENTRY_NAME', `cannot add “${e.name}” twice to an archive`);
    seen.add(key);
  }
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw usageError('ZIP_BAD_OPTION', `compression level ${level} is not 0–9`);
  const encryption = options.encryption ?? 'zipcrypto';
  if (encryption !== 'zipcrypto' && encryption !== 'aes256') throw usageError('ZIP_BAD_OPTION', `encryption “${String(encryption)}” is not zipcrypto or aes256`);
  if (options.password !== undefined && options.password.length === 0) throw usageError('ZIP_BAD_OPTION', 'an empty password encrypts nothing');

  const z = zipjs();
  const writer = new z.ZipWriter(new z.Uint8ArrayWriter(), {
    level,
    ...(options.lastModified ? { lastModDate: options.lastModified } : {}),
    ...(options.password !== undefined
      ? encryption === 'zipcrypto'
        ? { password: options.password, zipCrypto: true }
        : { password: options.password, encryptionStrength: 3 as const }
      : {}),
  });
  for (const e of entries) {
    await writer.add(e.name, new z.Uint8ArrayReader(e.data));
  }
  return writer.close();
}
