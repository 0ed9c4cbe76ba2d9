/**
 * Getting a check file's bytes: from the `.msg.txt` itself, or from the ZIP the portal offers for
 * download — plain or encrypted with the downloading user's national ID. An archive goes through
 * `decryptArchive` (the same hostile-archive checks, ID sources and prompt as `labup decrypt`) into
 * memory; nothing decrypted touches the disk unless `saveTo` asks for it.
 */
import { mkdir, open } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { fileError, isLabupError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { decryptArchive } from '../archive/decrypt.js';
import type { ArchiveLimits, Encryption } from '../archive/extract.js';
import type { UserIdAnswer } from '../archive/user-id.js';
import { writeFileAtomic } from '../transport/download.js';

/** The largest check file labup reads (a file listing every record of a large upload stays far below). */
export const MAX_CHECK_FILE_BYTES = 64 * 1024 ** 2;

/** Archive limits for a check download: a few small text files, read into memory. */
const CHECK_ARCHIVE_LIMITS: Partial<ArchiveLimits> = { maxEntryBytes: MAX_CHECK_FILE_BYTES, maxTotalBytes: 2 * MAX_CHECK_FILE_BYTES, maxEntries: 100 };

export interface CheckArchiveInfo {
  /** The ZIP as given. */
  file: string;
  /** The check file read from it. */
  entry: string;
  /** Every file the archive holds. */
  entries: string[];
  encryption: Encryption | 'mixed';
  /** Where the user ID came from (`LABUP_USER_ID`, `userIdSource …`, `prompt`); null when not encrypted. */
  passwordSource: string | null;
  /** Where the check file was saved, with `saveTo`. */
  saved: string | null;
}

export interface CheckInput {
  bytes: Uint8Array;
  /** The check file's name: the file given, or the entry inside the ZIP. */
  name: string;
  archive: CheckArchiveInfo | null;
}

export interface ReadCheckOptions {
  cwd?: string;
  /** Gives the user's ID for an encrypted download (see `userIdAsker`); asked only when needed. */
  userId?: (retry: boolean) => Promise<UserIdAnswer>;
  /** Tries at a prompt before giving up on a wrong ID (default 3). */
  attempts?: number;
  /** The entry to read when the archive holds several check files. */
  entry?: string;
  /** Also write the check file read from an archive into this folder (atomically, mode 0600). */
  saveTo?: string;
  host?: IoHost;
}

async function head(path: string, shown: string): Promise<{ bytes: Buffer; size: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${shown}: is a folder, expected a check file (1300_….msg.txt) or the ZIP downloaded with it`);
    const bytes = Buffer.alloc(Math.min(st.size, 64));
    await fh.read(bytes, 0, bytes.length, 0);
    return { bytes, size: st.size };
  } catch (err) {
    if (isLabupError(err)) throw err;
    throw fileError(err, shown);
  } finally {
    await fh?.close();
  }
}

function tooLarge(shown: string, size: number): never {
  throw usageError('EXPLAIN_CHECK_TOO_LARGE', `${shown}: ${Math.round(size / 1024 ** 2)} MiB is far larger than a check file`, {
    hint: 'Give the check file (1300_<收件序號>.msg.txt) or the ZIP downloaded with it; the uploaded data goes to --source.',
  });
}

/** A daily XML or an export given where the check file belongs: say which argument it is for. */
function notACheckFile(shown: string, bytes: Buffer): void {
  const text = bytes.toString('latin1').replace(/^\xef\xbb\xbf/, '').trimStart();
  if (text.startsWith('<?xml') || text.startsWith('<patient')) {
    throw usageError('EXPLAIN_NOT_CHECK_FILE', `${shown}: is a daily XML, not a check file`, {
      hint: 'Give the check file (1300_<收件序號>.msg.txt, or its download ZIP) first, and this XML with --source: labup explain 1300_….msg.txt --source TOTFA.xml',
    });
  }
}

/** Reads the check file, or the check file inside a downloaded ZIP (decrypting it in memory). */
export async function readCheckInput(file: string, options: ReadCheckOptions = {}): Promise<CheckInput> {
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, file);
  const { bytes: first, size } = await head(path, file);
  const zip = (first.length >= 4 && first.readUInt32LE(0) === 0x04034b50) || (first.length >= 4 && first.readUInt32LE(0) === 0x06054b50) || extname(file).toLowerCase() === '.zip';
  if (!zip) {
    notACheckFile(file, first);
    if (size > MAX_CHECK_FILE_BYTES) tooLarge(file, size);
    let fh;
    try {
      fh = await open(path, 'r');
      const bytes = await fh.readFile();
      return { bytes, name: basename(file), archive: null };
    } catch (err) {
      throw fileError(err, file);
    } finally {
      await fh?.close();
    }
  }
  return readFromArchive(file, options);
}

async function readFromArchive(file: string, options: ReadCheckOptions): Promise<CheckInput> {
  const cwd = options.cwd ?? process.cwd();
  const parts: Uint8Array[] = [];
  // A plain download is no news here: drop decrypt's “not encrypted; extracting” notice.
  const host: IoHost | undefined = options.host && {
    notify: (m) => {
      if (m.code !== 'DECRYPT_NOT_ENCRYPTED') options.host!.notify(m);
    },
  };
  const result = await decryptArchive(file, {
    cwd,
    toStdout: (chunk) => void parts.push(Uint8Array.from(chunk)),
    userId:
      options.userId ??
      (async () => {
        throw usageError('USER_ID_MISSING', `${file}: the download is encrypted and no national ID was given to open it`, {
          hint: 'Set LABUP_USER_ID, or userIdSource in the config, or run it in a terminal.',
        });
      }),
    limits: CHECK_ARCHIVE_LIMITS,
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(host ? { host } : {}),
  });
  // The sink received every file's bytes in order; cut them apart by the sizes reported.
  const all = Buffer.concat(parts);
  const files: Array<{ name: string; bytes: Uint8Array }> = [];
  let at = 0;
  for (const f of result.files) {
    files.push({ name: f.name, bytes: all.subarray(at, at + f.bytes) });
    at += f.bytes;
  }
  const names = files.map((f) => f.name);
  const listed = names.length ? names.slice(0, 10).join(', ') + (names.length > 10 ? ', …' : '') : '(no files)';
  let chosen: { name: string; bytes: Uint8Array } | undefined;
  if (options.entry !== undefined) {
    chosen = files.find((f) => f.name === options.entry) ?? files.find((f) => basename(f.name) === options.entry);
    if (!chosen) throw usageError('EXPLAIN_NO_CHECK_FILE', `${file}: no file named “${options.entry}” in the archive`, { hint: `It holds: ${listed}.` });
  } else {
    const checks = files.filter((f) => /\.msg\.txt$/i.test(f.name));
    const texts = files.filter((f) => /\.txt$/i.test(f.name));
    if (checks.length > 1) {
      throw usageError('EXPLAIN_ENTRY_AMBIGUOUS', `${file}: holds ${checks.length} check files (${checks.map((f) => f.name).join(', ')})`, {
        hint: 'Choose one with --entry NAME.',
      });
    }
    chosen = checks[0] ?? (texts.length === 1 ? texts[0] : files.length === 1 ? files[0] : undefined);
    if (!chosen) {
      throw usageError('EXPLAIN_NO_CHECK_FILE', `${file}: no check file (*.msg.txt) in the archive`, {
        hint: `It holds: ${listed}. Choose the file with --entry NAME, or check that this is the check-result download.`,
      });
    }
  }
  let saved: string | null = null;
  if (options.saveTo !== undefined) {
    const dir = resolve(cwd, options.saveTo);
    const target = resolve(dir, basename(chosen.name));
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fileError(err, options.saveTo, 'create the folder');
    }
    await writeFileAtomic(target, chosen.bytes);
    saved = target;
  }
  return {
    bytes: chosen.bytes,
    name: chosen.name,
    archive: { file, entry: chosen.name, entries: names, encryption: result.encryption, passwordSource: result.passwordSource, saved },
  };
}
