/**
 * Reading and extracting archives that may be hostile: a downloaded ZIP can carry names that climb
 * out of the output folder, symbolic links, a zip bomb, or headers that lie about sizes.
 *
 * Everything is refused before a byte is written: names, links, entry count and the sizes the
 * central directory declares are checked first; the password is checked on every encrypted entry;
 * then the content is inflated while its actual bytes are counted, so a lying header is caught
 * too. Files are written to temporary files beside their final names (mode 0600) and renamed only
 * once every entry has been read in full, so a refusal or a crash leaves nothing under a final name.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, realpath, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type * as zip from '@zip.js/zip.js';
import { LabupError, authError, fileError, internalError, usageError } from '../errors.js';
import { checkEntryName, collisionKey, describeUnsafeName } from './entry-name.js';
import { damaged, openZip, wrongPassword, zipError, zipjs, type OpenedZip } from './zipjs.js';

export type Encryption = 'none' | 'zipcrypto' | 'aes128' | 'aes192' | 'aes256' | 'other';

export interface ArchiveEntry {
  /** The name as stored (directories end with `/`). */
  name: string;
  /** Uncompressed size the archive declares. */
  size: number;
  compressedSize: number;
  encrypted: boolean;
  encryption: Encryption;
  /** Compression method: 0 stored, 8 deflate (the real one under AES). */
  method: number;
  symlink: boolean;
  directory: boolean;
  lastModified: Date;
}

export interface ArchiveListing {
  file: string;
  /** Size of the archive file in bytes. */
  size: number;
  entries: ArchiveEntry[];
  /** True when any entry is encrypted. */
  encrypted: boolean;
  /** The encryption of the encrypted entries (`none` when there are none, `mixed` when they differ). */
  encryption: Encryption | 'mixed';
}

export interface ArchiveLimits {
  /** Total bytes all entries may expand to. */
  maxTotalBytes: number;
  /** Bytes one entry may expand to. */
  maxEntryBytes: number;
  /** Expansion ratio (uncompressed ÷ compressed) an entry may reach once past {@link RATIO_FLOOR_BYTES}. */
  maxRatio: number;
  /** Entries (files, folders, links) the archive may hold. */
  maxEntries: number;
}

/**
 * Generous for daily uploads (a 300 MB XML compresses 10–30×) and check files (kilobytes), tight
 * enough that a bomb is stopped long before it fills a disk.
 */
export const DEFAULT_LIMITS: ArchiveLimits = {
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntryBytes: 1024 ** 3,
  maxRatio: 200,
  maxEntries: 1000,
};

/** Entries smaller than this are never refused for their ratio: a small file of blanks is no bomb. */
export const RATIO_FLOOR_BYTES = 1024 ** 2;

/** Receives the bytes of extracted entries in order (e.g. standard output). */
export type ByteSink = (chunk: Uint8Array) => void | Promise<void>;

interface EntryContext {
  file: string;
  password?: string | undefined;
  limits: ArchiveLimits;
  /** Bytes produced so far by the whole operation. */
  budget: { total: number };
}

interface Inspected {
  zip: OpenedZip;
  raw: zip.Entry[];
  listing: ArchiveListing;
}

function encryptionOf(e: zip.Entry): Encryption {
  if (!e.encrypted) return 'none';
  if (e.zipCrypto) return 'zipcrypto';
  const strength = (e as { extraFieldAES?: { strength?: number } }).extraFieldAES?.strength;
  if (strength === 1) return 'aes128';
  if (strength === 2) return 'aes192';
  if (strength === 3) return 'aes256';
  return 'other';
}

function toEntry(e: zip.Entry): ArchiveEntry {
  return {
    name: e.filename,
    size: e.uncompressedSize,
    compressedSize: e.compressedSize,
    encrypted: e.encrypted,
    encryption: encryptionOf(e),
    method: e.compressionMethod,
    symlink: e.symlink === true,
    directory: e.directory,
    lastModified: e.lastModDate,
  };
}

function summarise(entries: ArchiveEntry[]): Pick<ArchiveListing, 'encrypted' | 'encryption'> {
  const kinds = new Set(entries.filter((e) => e.encrypted && !e.directory).map((e) => e.encryption));
  if (kinds.size === 0) return { encrypted: entries.some((e) => e.encrypted), encryption: 'none' };
  return { encrypted: true, encryption: kinds.size === 1 ? [...kinds][0]! : 'mixed' };
}

async function inspect(file: string, limits: ArchiveLimits): Promise<Inspected> {
  const opened = await openZip(file);
  const raw: zip.Entry[] = [];
  try {
    for await (const e of opened.reader.getEntriesGenerator()) {
      raw.push(e);
      if (raw.length > limits.maxEntries) {
        throw usageError('ZIP_TOO_MANY_ENTRIES', `${file}: holds more than ${limits.maxEntries} entries; refused`, {
          hint: 'A download holds a few files; an archive this crowded is refused as a likely attack.',
        });
      }
    }
  } catch (err) {
    await opened.close().catch(() => {});
    throw zipError(err, { file });
  }
  const entries = raw.map(toEntry);
  return { zip: opened, raw, listing: { file, size: opened.size, entries, ...summarise(entries) } };
}

/**
 * Lists an archive's entries without extracting anything. Hostile names are listed as they are;
 * use {@link checkArchive} (or {@link extractArchive}, which calls it) to refuse them.
 */
export async function openArchive(file: string, options: { limits?: Partial<ArchiveLimits> } = {}): Promise<ArchiveListing> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { zip: opened, listing } = await inspect(file, limits);
  await opened.close();
  return listing;
}

const mib = (n: number) => (n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(n >= 10 * 1024 ** 2 ? 0 : 1)} MiB` : `${n} bytes`);

function tooLarge(file: string, what: string): LabupError {
  return usageError('ZIP_TOO_LARGE', `${file}: ${what}; refused (a zip bomb?)`, {
    hint: 'Nothing was written. If the archive is genuine, raise the limit (labup decrypt --max-size).',
  });
}

/**
 * Refuses an archive by what it declares: unsafe names, symbolic links, duplicate names, too many
 * entries, and sizes or ratios past the limits. Throws the first problem as a coded error (exit 2).
 */
export function checkArchive(listing: ArchiveListing, limits: ArchiveLimits = DEFAULT_LIMITS): void {
  const { file, entries } = listing;
  if (entries.length > limits.maxEntries) {
    throw usageError('ZIP_TOO_MANY_ENTRIES', `${file}: holds ${entries.length} entries, more than ${limits.maxEntries}; refused`, {
      hint: 'A download holds a few files; an archive this crowded is refused as a likely attack.',
    });
  }
  const files = new Map<string, string>();
  const folders = new Set<string>();
  let total = 0;
  for (const e of entries) {
    const check = checkEntryName(e.name);
    if (!check.ok) {
      throw usageError('ZIP_UNSAFE_ENTRY', `${file}: entry “${printable(e.name)}” refused: ${describeUnsafeName(check.reason)}`, {
        hint: 'The archive tries to write outside the output folder, or is broken; nothing was written. Do not extract it with other tools either.',
        details: { entry: printable(e.name), reason: check.reason },
      });
    }
    if (e.symlink) {
      throw usageError('ZIP_SYMLINK', `${file}: entry “${printable(e.name)}” is a symbolic link; refused`, {
        hint: 'Downloads hold plain files only; a link could point anywhere on this computer. Nothing was written.',
        details: { entry: printable(e.name) },
      });
    }
    const key = collisionKey(check.segments);
    for (let i = 1; i < check.segments.length; i++) {
      const parent = collisionKey(check.segments.slice(0, i));
      const clash = files.get(parent);
      if (clash !== undefined) throw conflict(file, `“${printable(clash)}” is both a file and the folder of “${printable(e.name)}”`);
      folders.add(parent);
    }
    const sameName = files.get(key);
    if (e.directory) {
      if (sameName !== undefined) throw conflict(file, `“${printable(sameName)}” is both a file and a folder`);
      folders.add(key);
      continue;
    }
    if (sameName !== undefined) throw conflict(file, `entries “${printable(sameName)}” and “${printable(e.name)}” would be the same file`);
    if (folders.has(key)) throw conflict(file, `“${printable(e.name)}” is both a file and a folder`);
    files.set(key, e.name);
    if (e.size > limits.maxEntryBytes) throw tooLarge(file, `entry “${printable(e.name)}” declares ${mib(e.size)}, more than ${mib(limits.maxEntryBytes)}`);
    total += e.size;
    if (total > limits.maxTotalBytes) throw tooLarge(file, `its entries declare more than ${mib(limits.maxTotalBytes)} in total`);
    if (e.size > RATIO_FLOOR_BYTES && e.size / Math.max(1, e.compressedSize) > limits.maxRatio) {
      throw tooLarge(file, `entry “${printable(e.name)}” would expand ${Math.round(e.size / Math.max(1, e.compressedSize))}× (limit ${limits.maxRatio}×)`);
    }
  }
}

function conflict(file: string, what: string): LabupError {
  return usageError('ZIP_DUPLICATE_ENTRY', `${file}: ${what}; refused`, {
    hint: 'Names that differ only in letter case collide on Windows and macOS; repack the archive with distinct names. Nothing was written.',
  });
}

/** Control characters shown as escapes, so a hostile name cannot rewrite the terminal. */
function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Checks `password` against every encrypted entry (each entry carries its own check value, so a
 * wrong password is caught with near certainty even for ZipCrypto's one-byte check). True when
 * all accept it, or when nothing is encrypted.
 */
export async function checkArchivePassword(file: string, password: string): Promise<boolean> {
  const inspected = await inspect(file, DEFAULT_LIMITS);
  try {
    return await passwordOpens(inspected, password);
  } finally {
    await inspected.zip.close();
  }
}

async function passwordOpens({ raw, listing }: Inspected, password: string): Promise<boolean> {
  const z = zipjs();
  for (const e of raw) {
    if (e.directory || !e.encrypted || e.compressedSize === 0) continue;
    try {
      await e.getData(new z.Uint8ArrayWriter(), { password, checkPasswordOnly: true });
    } catch (err) {
      const msg = (err as Error)?.message;
      if (msg === z.ERR_INVALID_PASSWORD) return false;
      throw zipError(err, { file: listing.file, entry: e.filename });
    }
  }
  // ZipCrypto checks a password against one byte, which a wrong one passes once in 256 tries: the
  // smallest ZipCrypto entry is decrypted in full and its CRC-32 checked, which no wrong password
  // passes. (A damaged entry fails that too; the wrong-password hint says so.)
  let probe: zip.FileEntry | undefined;
  for (const e of raw) {
    if (e.directory || !e.encrypted || !e.zipCrypto || e.compressedSize === 0 || e.uncompressedSize > PROBE_MAX_BYTES) continue;
    if (!probe || e.compressedSize < probe.compressedSize) probe = e;
  }
  if (probe) {
    try {
      for await (const _chunk of entryChunks(probe, { file: listing.file, password, limits: DEFAULT_LIMITS, budget: { total: 0 } })) {
        // discarded: only whether the entry decrypts to its CRC-32 matters
      }
    } catch {
      return false;
    }
  }
  return true;
}

/** Entries up to this size may be decrypted in full to confirm a ZipCrypto password. */
const PROBE_MAX_BYTES = 64 * 1024 * 1024;

/** Counts an entry's actual bytes against its header and the limits. */
class Meter {
  private written = 0;
  constructor(
    private readonly entry: zip.Entry,
    private readonly ctx: EntryContext,
  ) {}

  add(n: number): void {
    const { entry, ctx } = this;
    this.written += n;
    ctx.budget.total += n;
    const name = printable(entry.filename);
    if (this.written > entry.uncompressedSize) {
      throw damaged(`${ctx.file}: ${name}`, `content is longer than the ${entry.uncompressedSize} bytes its header declares — crafted or damaged`);
    }
    if (this.written > ctx.limits.maxEntryBytes) throw tooLarge(ctx.file, `entry “${name}” expands past ${mib(ctx.limits.maxEntryBytes)}`);
    if (ctx.budget.total > ctx.limits.maxTotalBytes) throw tooLarge(ctx.file, `its entries expand past ${mib(ctx.limits.maxTotalBytes)} in total`);
    if (this.written > RATIO_FLOOR_BYTES && this.written / Math.max(1, entry.compressedSize) > ctx.limits.maxRatio) {
      throw tooLarge(ctx.file, `entry “${name}” expands more than ${ctx.limits.maxRatio}×`);
    }
  }

  finish(): number {
    if (this.written !== this.entry.uncompressedSize) {
      throw damaged(`${this.ctx.file}: ${printable(this.entry.filename)}`, `holds ${this.written} bytes, its header says ${this.entry.uncompressedSize}`);
    }
    return this.written;
  }
}

/**
 * The decrypted, inflated bytes of one entry, as they are produced. Stops with a coded error as
 * soon as the content runs past its declared size or a limit, or fails its CRC-32 / AES
 * authentication code at the end.
 */
async function* entryChunks(entry: zip.Entry, ctx: EntryContext): AsyncGenerator<Uint8Array> {
  if (entry.directory) return;
  if (entry.encrypted && ctx.password === undefined) {
    throw authError('DECRYPT_PASSWORD_REQUIRED', `${ctx.file}: ${printable(entry.filename)} is encrypted and no password was given`, {
      hint: 'Use labup decrypt, which asks for the national ID the portal used as the password.',
    });
  }
  const meter = new Meter(entry, ctx);
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const reader = pipe.readable.getReader();
  const pending = entry
    .getData(pipe.writable as unknown as WritableStream, {
      ...(ctx.password !== undefined && entry.encrypted ? { password: ctx.password } : {}),
      checkCrc32: true,
      checkOverlappingEntry: true,
    })
    .then(
      () => null,
      (err: unknown) => ({ err }),
    );
  // zip.js can fail before it touches the stream (e.g. overlapping entries): unblock the reader then.
  void pending.then((outcome) => {
    if (outcome) reader.cancel().catch(() => {});
  });
  let finished = false;
  const errorContext = { file: ctx.file, entry: printable(entry.filename), decrypting: entry.encrypted, declaredSize: entry.uncompressedSize };
  try {
    while (true) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (err) {
        const outcome = await pending;
        throw zipError(outcome?.err ?? err, errorContext);
      }
      if (step.done) break;
      meter.add(step.value.length);
      yield step.value;
    }
    const outcome = await pending;
    if (outcome) throw zipError(outcome.err, errorContext);
    meter.finish();
    finished = true;
  } finally {
    if (!finished) {
      await reader.cancel().catch(() => {});
      await pending;
    }
  }
}

async function findEntry(inspected: Inspected, name: string): Promise<zip.Entry> {
  const e = inspected.raw.find((x) => x.filename === name);
  if (!e || e.directory || e.symlink) {
    const names = inspected.raw.filter((x) => !x.directory && !x.symlink).map((x) => printable(x.filename));
    throw usageError('ZIP_ENTRY_NOT_FOUND', `${inspected.listing.file}: no file named “${printable(name)}” in the archive`, {
      hint: names.length ? `It holds: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}.` : 'The archive holds no files.',
    });
  }
  return e;
}

export interface ReadEntryOptions {
  password?: string;
  limits?: Partial<ArchiveLimits>;
}

/**
 * Streams the decrypted bytes of one entry (e.g. a check file inside a downloaded ZIP), checked
 * against its declared size, the limits and its CRC-32 / authentication code.
 */
export async function* archiveEntryChunks(file: string, name: string, options: ReadEntryOptions = {}): AsyncGenerator<Uint8Array> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const inspected = await inspect(file, limits);
  try {
    const entry = await findEntry(inspected, name);
    yield* entryChunks(entry, { file, password: options.password, limits, budget: { total: 0 } });
  } finally {
    await inspected.zip.close();
  }
}

/** The decrypted bytes of one entry, whole. See {@link archiveEntryChunks} for large entries. */
export async function readArchiveEntry(file: string, name: string, options: ReadEntryOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of archiveEntryChunks(file, name, options)) {
    parts.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(parts, length);
}

export interface ExtractedFile {
  /** The entry name as stored. */
  name: string;
  /** Where it was written (absolute), or null when written to a sink. */
  path: string | null;
  bytes: number;
  /** A file of that name was there before and has been replaced. */
  replaced: boolean;
}

export interface ExtractResult {
  ok: true;
  file: string;
  encryption: Encryption | 'mixed';
  /** The output folder (absolute), or null when written to a sink. */
  outDir: string | null;
  files: ExtractedFile[];
  /** Folder entries created (absolute paths). */
  folders: string[];
  totalBytes: number;
}

interface ExtractCommon {
  /** Needed when any entry is encrypted. */
  password?: string;
  limits?: Partial<ArchiveLimits>;
}

export type ExtractOptions = ExtractCommon & ({ outDir: string; toStdout?: undefined } | { toStdout: ByteSink; outDir?: undefined });

/**
 * Extracts an archive into `outDir`, or writes the content of its files, in order, to `toStdout`.
 * Refuses (with a coded error, nothing written) anything {@link checkArchive} refuses, a wrong
 * password, content that is damaged or longer than declared, and anything past the limits. With a
 * sink, every entry is read and checked in full once before its first byte is written.
 */
export async function extractArchive(file: string, options: ExtractOptions): Promise<ExtractResult> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const inspected = await inspect(file, limits);
  try {
    const { listing, raw } = inspected;
    checkArchive(listing, limits);
    const encrypted = raw.some((e) => e.encrypted && !e.directory && e.compressedSize > 0);
    if (encrypted) {
      if (options.password === undefined) {
        throw authError('DECRYPT_PASSWORD_REQUIRED', `${file} is encrypted and no password was given`, {
          hint: 'Use labup decrypt, which asks for the national ID the portal used as the password.',
        });
      }
      if (!(await passwordOpens(inspected, options.password))) throw wrongPassword(file);
    }
    const ctx = (): EntryContext => ({ file, password: options.password, limits, budget: { total: 0 } });
    const fileEntries = raw.filter((e) => !e.directory);
    if (options.toStdout) {
      // First pass: read everything, write nothing, so a refusal leaves the sink untouched.
      const check = ctx();
      for (const e of fileEntries) {
        for await (const _chunk of entryChunks(e, check)) {
          // discarded: this pass only proves the content sound
        }
      }
      const write = ctx();
      const files: ExtractedFile[] = [];
      for (const e of fileEntries) {
        let bytes = 0;
        for await (const chunk of entryChunks(e, write)) {
          bytes += chunk.length;
          await options.toStdout(chunk);
        }
        files.push({ name: e.filename, path: null, bytes, replaced: false });
      }
      return { ok: true, file, encryption: listing.encryption, outDir: null, files, folders: [], totalBytes: write.budget.total };
    }
    if (options.outDir === undefined) throw internalError('EXTRACT_NO_TARGET', 'extractArchive needs outDir or toStdout');
    return await extractToFolder(inspected, resolve(options.outDir), ctx());
  } finally {
    await inspected.zip.close();
  }
}

/** Undo log for one extraction: what to remove if it does not complete. */
class Transaction {
  readonly temps = new Set<string>();
  readonly placed: string[] = [];
  readonly createdDirs: string[] = [];

  async mkdirs(root: string, realRoot: string, segments: readonly string[]): Promise<string> {
    let dir = root;
    for (const s of segments) {
      dir = join(dir, s);
      try {
        await mkdir(dir, { mode: 0o700 });
        this.createdDirs.push(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(err, dir, 'create the folder');
        const st = await lstat(dir);
        if (!st.isDirectory()) {
          throw usageError('OUTPUT_CONFLICT', `${dir}: exists and is not a folder (${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}); nothing was extracted`, {
            hint: 'Choose an empty output folder with --out.',
          });
        }
      }
    }
    const real = await realpath(dir);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw usageError('OUTPUT_CONFLICT', `${dir}: leads outside the output folder; nothing was extracted`, { hint: 'Choose an empty output folder with --out.' });
    }
    return dir;
  }

  async rollback(): Promise<void> {
    for (const t of this.temps) await unlink(t).catch(() => {});
    for (const p of this.placed) await unlink(p).catch(() => {});
    for (const d of [...this.createdDirs].reverse()) await rmdir(d).catch(() => {});
  }
}

function tempNameFor(target: string): string {
  const base = basename(target).slice(0, 80);
  return join(dirname(target), `.${base}.${randomBytes(6).toString('hex')}.labup-tmp`);
}

async function extractToFolder(inspected: Inspected, outDir: string, ctx: EntryContext): Promise<ExtractResult> {
  const { listing, raw } = inspected;
  const tx = new Transaction();
  const files: ExtractedFile[] = [];
  const folders: string[] = [];
  const staged: Array<{ temp: string; target: string }> = [];
  try {
    await mkdirChain(outDir, tx);
    const realRoot = await realpath(outDir);
    for (const e of raw) {
      const check = checkEntryName(e.filename);
      if (!check.ok) throw internalError('EXTRACT_UNCHECKED', `entry ${printable(e.filename)} passed the checks unexpectedly`);
      if (e.directory) {
        folders.push(await tx.mkdirs(outDir, realRoot, check.segments));
        continue;
      }
      const parent = await tx.mkdirs(outDir, realRoot, check.segments.slice(0, -1));
      const target = join(parent, check.segments[check.segments.length - 1]!);
      const existing = await lstat(target).catch(() => null);
      if (existing?.isDirectory()) {
        throw usageError('OUTPUT_CONFLICT', `${target}: a folder is in the way; nothing was extracted`, { hint: 'Move it away or choose another folder with --out.' });
      }
      const temp = tempNameFor(target);
      let fh: FileHandle;
      try {
        fh = await open(temp, 'wx', 0o600);
      } catch (err) {
        throw fileError(err, temp, 'write');
      }
      tx.temps.add(temp);
      let bytes = 0;
      try {
        await fh.chmod(0o600);
        for await (const chunk of entryChunks(e, ctx)) {
          await fh.write(chunk);
          bytes += chunk.length;
        }
        await fh.sync();
      } catch (err) {
        if (err instanceof LabupError) throw err;
        throw fileError(err, target, 'write');
      } finally {
        await fh.close();
      }
      staged.push({ temp, target });
      files.push({ name: e.filename, path: target, bytes, replaced: existing !== null });
    }
    for (const { temp, target } of staged) {
      try {
        await rename(temp, target);
      } catch (err) {
        throw fileError(err, target, 'write');
      }
      tx.temps.delete(temp);
      tx.placed.push(target);
    }
  } catch (err) {
    await tx.rollback();
    throw err;
  }
  return { ok: true, file: listing.file, encryption: listing.encryption, outDir, files, folders, totalBytes: ctx.budget.total };
}

/** Creates the output folder (and missing parents), recording what it created. */
async function mkdirChain(dir: string, tx: Transaction): Promise<void> {
  const missing: string[] = [];
  let d = dir;
  while (true) {
    const st = await stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw fileError(err, d);
    });
    if (st) {
      if (!st.isDirectory()) throw usageError('OUTPUT_CONFLICT', `${d}: is not a folder`, { hint: 'Give an output folder with --out.' });
      break;
    }
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing) {
    try {
      await mkdir(m, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(err, m, 'create the folder');
      continue;
    }
    tx.createdDirs.push(m);
  }
}
