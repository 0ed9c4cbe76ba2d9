/**
 * A small streaming ZIP writer: standard deflate entries that Info-ZIP, 7-Zip, Windows Explorer
 * and NHI's portal all read.
 *
 * Entries are compressed with Node's zlib on its thread pool while the caller produces the next
 * bytes — by default driven from this thread, or by an {@link EntryCompressor} elsewhere (another
 * thread that writes the compressed bytes into the same file). The local header is written first
 * with zero CRC and sizes and patched in place when the entry ends (the writer owns a seekable
 * file, so no data descriptor is needed, which keeps the archive readable by the strictest tools). No ZIP64: anything that would need it (an entry or
 * the archive past 4 GiB − 1, more than 65,535 entries) is refused with a coded error.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createDeflateRaw, crc32 } from 'node:zlib';
import { fileError, usageError } from '../errors.js';

const LFH_SIG = 0x04034b50;
const CDH_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
/** Version 2.0: deflate. */
const VERSION_NEEDED = 20;
/** Made by Unix (3), spec version 2.0, so that the entry's mode travels with it. */
const VERSION_MADE_BY = (3 << 8) | 20;
const METHOD_DEFLATE = 8;
/** The largest value a 32-bit ZIP field holds. */
export const ZIP32_LIMIT = 0xffffffff;

/** A wall-clock time for the DOS date/time fields (ZIP has no time zone; pass local time). */
export interface ZipTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface ZipWriterOptions {
  /** File mode (default 0600: archives labup writes hold patient data). */
  mode?: number;
  /** Fail when the file exists (default true: write to a fresh temp file, then rename). */
  exclusive?: boolean;
  /** Deflate level 0–9 (default 6). */
  level?: number;
  /** Lower size limit than 4 GiB − 1, for tests. */
  limit?: number;
  /** Who compresses the entries (default: zlib, driven from this thread). */
  compressor?: CompressorFactory;
}

/** Where an entry's compressed bytes go: this file, from `offset` on. */
export interface CompressTarget {
  path: string;
  offset: number;
  level: number;
  /** The file may not grow past this size. */
  limit: number;
}

/** What an entry's compressor ends with. */
export interface Compressed {
  crc32: number;
  size: number;
  compressedSize: number;
}

/**
 * Compresses one entry's bytes into the file, from the target's offset on: raw deflate, with the
 * CRC-32 and sizes of what it was given.
 */
export interface EntryCompressor {
  /** Resolves when the compressor has taken `chunk` (its memory may then be used again, after `released`). */
  write(chunk: Buffer, released?: () => void): Promise<void>;
  /** Flushes; every compressed byte is in the file when it resolves. */
  end(): Promise<Compressed>;
  /** Stops at once (the archive is being thrown away). */
  abort(): void;
}

export type CompressorFactory = (target: CompressTarget) => EntryCompressor;

/**
 * An {@link EntryCompressor} on zlib's thread pool, driven from this thread, writing through
 * `writeAt` (a file handle of this thread).
 */
export function deflateInto(target: CompressTarget, writeAt: (buf: Buffer, position: number) => Promise<void>): EntryCompressor {
  let crc = 0;
  let size = 0;
  let pos = target.offset;
  // memLevel 9: a larger hash table, a little faster and smaller than the default 8 on daily XML.
  const deflate = createDeflateRaw({ level: target.level, memLevel: 9, chunkSize: 1 << 17 });
  const sink = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      if (pos + chunk.length > target.limit) {
        cb(tooLarge(target.path, 'the archive'));
        return;
      }
      writeAt(chunk, pos).then(() => {
        pos += chunk.length;
        cb();
      }, cb);
    },
  });
  const flowing = pipeline(deflate, sink);
  // Remember a failure (disk full, size limit) and keep it from going unhandled between writes.
  let failed: unknown;
  let drained: Promise<unknown> | undefined;
  flowing.catch((err) => {
    failed = err;
  });
  return {
    write: async (chunk, released) => {
      if (failed) throw failed;
      size += chunk.length;
      crc = crc32(chunk, crc);
      if (!deflate.write(chunk, released && (() => released()))) {
        // Writes that overlap wait for the same 'drain'.
        drained ??= Promise.race([once(deflate, 'drain'), flowing]).finally(() => {
          drained = undefined;
        });
        await drained;
        if (failed) throw failed;
      }
    },
    end: async () => {
      deflate.end();
      await flowing;
      return { crc32: crc >>> 0, size, compressedSize: pos - target.offset };
    },
    abort: () => deflate.destroy(),
  };
}

/** Writes all of `buf` at `position` of an open file; errors name the file. */
export async function writeFully(fh: FileHandle, path: string, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  try {
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
      done += bytesWritten;
    }
  } catch (err) {
    throw fileError(err, path, 'write');
  }
}

export interface EntryOptions {
  mtime?: ZipTime;
  /** Unix mode of the entry (default 0600). */
  mode?: number;
}

export interface EntryInfo extends Compressed {
  name: string;
}

export interface ZipEntryWriter {
  /**
   * Adds uncompressed bytes; resolves when zlib can take more (backpressure). `released` is called
   * once zlib is done with `chunk`, so that its memory can be used again.
   */
  write(chunk: Buffer, released?: () => void): Promise<void>;
  /** Flushes the compressor, patches the local header and returns the entry's figures. */
  end(): Promise<EntryInfo>;
}

interface Written extends EntryInfo {
  nameBytes: Buffer;
  offset: number;
  dosTime: number;
  dosDate: number;
  mode: number;
}

function dosDateTime(t: ZipTime | undefined): { dosTime: number; dosDate: number } {
  // The DOS epoch is 1980; clamp rather than wrap for clocks outside 1980–2107.
  const year = Math.min(2107, Math.max(1980, t?.year ?? 1980));
  const month = t?.month ?? 1;
  const day = t?.day ?? 1;
  return {
    dosTime: ((t?.hour ?? 0) << 11) | ((t?.minute ?? 0) << 5) | Math.floor((t?.second ?? 0) / 2),
    dosDate: ((year - 1980) << 9) | (month << 5) | day,
  };
}

function tooLarge(file: string, what: string): Error {
  return usageError('ZIP_TOO_LARGE', `${file}: ${what} would pass 4 GiB, which needs ZIP64; labup does not write ZIP64`, {
    hint: 'A daily upload is far smaller: split the input into several files and pack each one.',
  });
}

export class ZipWriter {
  private readonly entries: Written[] = [];
  private offset = 0;
  private open_: boolean = false;
  private current: EntryCompressor | undefined;
  private closed = false;
  private readonly level: number;
  private readonly limit: number;
  private readonly compressor: CompressorFactory;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    options: ZipWriterOptions,
  ) {
    this.level = options.level ?? 6;
    this.limit = options.limit ?? ZIP32_LIMIT;
    this.compressor = options.compressor ?? ((target) => deflateInto(target, (buf, position) => this.writeAt(buf, position)));
  }

  /** Creates the archive file (by default exclusively, mode 0600). */
  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, options.exclusive === false ? 'w' : 'wx', options.mode ?? 0o600);
    } catch (err) {
      throw fileError(err, path, 'create');
    }
    return new ZipWriter(path, fh, options);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  /** Starts an entry; only one entry can be open at a time. */
  async addEntry(name: string, options: EntryOptions = {}): Promise<ZipEntryWriter> {
    if (this.open_) throw new Error('ZipWriter: the previous entry is still open');
    if (this.closed) throw new Error('ZipWriter: already closed');
    if (this.entries.length >= 0xffff) throw tooLarge(this.path, 'the number of entries');
    const nameBytes = Buffer.from(name, 'utf8');
    const ascii = nameBytes.every((b) => b < 0x80);
    const { dosTime, dosDate } = dosDateTime(options.mtime);
    const headerOffset = this.offset;
    const lfh = Buffer.alloc(30 + nameBytes.length);
    lfh.writeUInt32LE(LFH_SIG, 0);
    lfh.writeUInt16LE(VERSION_NEEDED, 4);
    lfh.writeUInt16LE(ascii ? 0 : 0x0800, 6);
    lfh.writeUInt16LE(METHOD_DEFLATE, 8);
    lfh.writeUInt16LE(dosTime, 10);
    lfh.writeUInt16LE(dosDate, 12);
    // CRC-32 (14), compressed (18) and uncompressed (22) sizes are patched by end().
    lfh.writeUInt16LE(nameBytes.length, 26);
    lfh.writeUInt16LE(0, 28);
    nameBytes.copy(lfh, 30);
    await this.writeAt(lfh, headerOffset);
    const dataStart = headerOffset + lfh.length;
    this.offset = dataStart;
    this.open_ = true;

    let size = 0;
    const compressor = this.compressor({ path: this.path, offset: dataStart, level: this.level, limit: this.limit });
    this.current = compressor;

    return {
      write: async (chunk: Buffer, released?: () => void) => {
        size += chunk.length;
        if (size > this.limit) throw tooLarge(this.path, `entry ${name}`);
        await compressor.write(chunk, released);
      },
      end: async () => {
        const done = await compressor.end();
        const patch = Buffer.alloc(12);
        patch.writeUInt32LE(done.crc32, 0);
        patch.writeUInt32LE(done.compressedSize, 4);
        patch.writeUInt32LE(done.size, 8);
        await this.writeAt(patch, headerOffset + 14);
        this.offset = dataStart + done.compressedSize;
        this.open_ = false;
        this.current = undefined;
        const info: Written = { name, crc32: done.crc32, size: done.size, compressedSize: done.compressedSize, nameBytes, offset: headerOffset, dosTime, dosDate, mode: options.mode ?? 0o600 };
        this.entries.push(info);
        return { name, crc32: info.crc32, size: info.size, compressedSize: info.compressedSize };
      },
    };
  }

  /** Writes the central directory and closes the file (flushed to disk). Returns the archive size. */
  async close(): Promise<number> {
    if (this.open_) throw new Error('ZipWriter: an entry is still open');
    const cdStart = this.offset;
    const parts: Buffer[] = [];
    for (const e of this.entries) {
      const h = Buffer.alloc(46 + e.nameBytes.length);
      h.writeUInt32LE(CDH_SIG, 0);
      h.writeUInt16LE(VERSION_MADE_BY, 4);
      h.writeUInt16LE(VERSION_NEEDED, 6);
      h.writeUInt16LE(e.nameBytes.every((b) => b < 0x80) ? 0 : 0x0800, 8);
      h.writeUInt16LE(METHOD_DEFLATE, 10);
      h.writeUInt16LE(e.dosTime, 12);
      h.writeUInt16LE(e.dosDate, 14);
      h.writeUInt32LE(e.crc32, 16);
      h.writeUInt32LE(e.compressedSize, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.nameBytes.length, 28);
      // extra (30), comment (32), disk (34), internal attributes (36) stay 0.
      h.writeUInt32LE(((0o100000 | e.mode) << 16) >>> 0, 38);
      h.writeUInt32LE(e.offset, 42);
      e.nameBytes.copy(h, 46);
      parts.push(h);
    }
    const cd = Buffer.concat(parts);
    if (cdStart + cd.length + 22 > this.limit) throw tooLarge(this.path, 'the archive');
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(EOCD_SIG, 0);
    eocd.writeUInt16LE(this.entries.length, 8);
    eocd.writeUInt16LE(this.entries.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(cdStart, 16);
    await this.writeAt(Buffer.concat([cd, eocd]), cdStart);
    this.offset = cdStart + cd.length + 22;
    try {
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      throw fileError(err, this.path, 'write');
    }
    this.closed = true;
    return this.offset;
  }

  /** Closes and deletes the file (after an error or a refusal). */
  async abort(): Promise<void> {
    this.current?.abort();
    this.current = undefined;
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await rm(this.path, { force: true });
  }

  private writeAt(buf: Buffer, position: number): Promise<void> {
    return writeFully(this.fh, this.path, buf, position);
  }
}
