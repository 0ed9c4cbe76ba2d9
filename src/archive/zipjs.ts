/**
 * The one place labup talks to zip.js: configuration for Node (no web workers), opening a file as a
 * lazily read Blob (the archive is never loaded whole), Big5 entry names, and the translation of
 * zip.js's error strings into labup's coded errors.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as zip from '@zip.js/zip.js';
import { authError, fileError, isLabupError, usageError, type LabupError } from '../errors.js';
import { decodeCp950 } from '../encoding/cp950.js';

let configured = false;

/** zip.js, configured for Node: codecs run on the main thread, with native streams. */
export function zipjs(): typeof zip {
  if (!configured) {
    zip.configure({ useWebWorkers: false });
    configured = true;
  }
  return zip;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Names without the UTF-8 flag: valid UTF-8 stays UTF-8 (many tools omit the flag), otherwise they
 * are read as Big5/CP950, which is what archivers on zh-TW Windows write, rather than zip.js's
 * default of IBM code page 437.
 */
function decodeLegacyText(value: Uint8Array): string | undefined {
  if (value.every((b) => b < 0x80)) return undefined;
  try {
    utf8.decode(value);
    return undefined;
  } catch {
    const r = decodeCp950(value);
    return r.badAt < 0 ? r.text : undefined;
  }
}

export interface OpenedZip {
  reader: zip.ZipReader<unknown>;
  size: number;
  close(): Promise<void>;
}

/** Opens `file` for reading with zip.js. Names are validated by labup (entry-name.ts), not here. */
export async function openZip(file: string): Promise<OpenedZip> {
  let size: number;
  let blob: Blob;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = st.size;
    blob = (await openAsBlob(file)) as unknown as Blob;
  } catch (err) {
    throw fileError(err, file);
  }
  const z = zipjs();
  const reader = new z.ZipReader(new z.BlobReader(blob), {
    filenameValidation: 'tolerant',
    decodeText: (value: Uint8Array) => decodeLegacyText(value),
  });
  return { reader, size, close: () => reader.close() };
}

export function damaged(file: string, what: string, cause?: unknown): LabupError {
  return usageError('ZIP_DAMAGED', `${file}: not a readable ZIP archive (${what})`, {
    hint: 'The file is damaged or is not a ZIP; download or pack it again.',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Human words for zip.js's error strings. */
function describe(message: string, ctx: ZipErrorContext): string {
  const z = zipjs();
  switch (message) {
    case z.ERR_EOCDR_NOT_FOUND:
    case z.ERR_BAD_FORMAT:
      return 'no ZIP directory found: truncated, or not a ZIP at all';
    case z.ERR_CENTRAL_DIRECTORY_NOT_FOUND:
      return 'its central directory is missing';
    case z.ERR_LOCAL_FILE_HEADER_NOT_FOUND:
      return 'an entry’s local header is missing';
    case z.ERR_INVALID_CRC32:
      return 'content fails its CRC-32 check';
    case z.ERR_INVALID_AUTHENTICATION_CODE:
      return 'encrypted content fails its authentication code';
    case z.ERR_INVALID_COMPRESSED_DATA:
      return 'compressed data is corrupt';
    case z.ERR_INVALID_UNCOMPRESSED_SIZE:
      return ctx.declaredSize === undefined ? 'content is longer than its header declares' : `content is longer than the ${ctx.declaredSize} bytes its header declares — crafted or damaged`;
    case z.ERR_OVERLAPPING_ENTRY:
      return 'entries overlap each other (a crafted archive)';
    case z.ERR_AMBIGUOUS_ARCHIVE:
      return 'headers disagree with each other (a crafted or damaged archive)';
    case z.ERR_ENTRY_DATA_OUT_OF_BOUNDS:
      return 'an entry points outside the file';
    default:
      return message;
  }
}

export interface ZipErrorContext {
  file: string;
  entry?: string;
  /** The entry was encrypted and its password check passed. */
  decrypting?: boolean;
  /** The entry's declared uncompressed size. */
  declaredSize?: number;
}

/** Translates whatever zip.js threw into a coded LabupError (LabupErrors pass through). */
export function zipError(err: unknown, ctx: ZipErrorContext): LabupError {
  if (isLabupError(err)) return err;
  const z = zipjs();
  const message = (err as Error)?.message ?? String(err);
  const where = ctx.entry !== undefined ? `${ctx.file}: ${ctx.entry}` : ctx.file;
  switch (message) {
    case z.ERR_INVALID_PASSWORD:
      return wrongPassword(ctx.file);
    case z.ERR_ENCRYPTED:
      return authError('DECRYPT_PASSWORD_REQUIRED', `${where} is encrypted and no password was given`, {
        hint: 'Use labup decrypt, which asks for the national ID the portal used as the password.',
      });
    case z.ERR_UNSUPPORTED_COMPRESSION:
      return usageError('ZIP_UNSUPPORTED', `${where}: compression method not supported`, {
        hint: 'Repack it with standard deflate compression (zip, or 7z a -tzip -mm=Deflate).',
        cause: err,
      });
    case z.ERR_UNSUPPORTED_ENCRYPTION:
    case z.ERR_ENCRYPTED_CENTRAL_DIRECTORY:
      return usageError('ZIP_UNSUPPORTED', `${where}: encryption method not supported (only ZipCrypto and WinZip AES are)`, {
        hint: 'Repack it with ZipCrypto or AES-256 encryption.',
        cause: err,
      });
    case z.ERR_INVALID_CRC32:
    case z.ERR_INVALID_AUTHENTICATION_CODE:
      if (ctx.decrypting) {
        return usageError('ZIP_DAMAGED', `${where}: ${describe(message, ctx)} after decryption`, {
          hint: 'The file is damaged: download it again.',
          cause: err,
        });
      }
      return damaged(where, describe(message, ctx), err);
    default:
      return damaged(where, describe(message, ctx), err);
  }
}

export function wrongPassword(file: string, tried?: { maskedId: string; source: string }): LabupError {
  const which = tried ? `the ID ${tried.maskedId} (from ${tried.source})` : 'the password given';
  return authError('DECRYPT_WRONG_PASSWORD', `${file}: wrong password — ${which} does not open it`, {
    hint: 'The portal encrypts a download with the national ID of the user who downloaded it; give that user’s ID. If it was that ID, the file is damaged: download it again.',
  });
}
