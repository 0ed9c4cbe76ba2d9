/**
 * A small, strict ZIP reader: the central directory, and a stream of one entry's bytes, inflated
 * with Node's zlib as they are read (never extracted to disk). Encrypted entries are opened by
 * `encrypted-zip.ts`; this reader only reports that they are encrypted.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { Readable } from 'node:stream';
import { fileError, usageError, LabupError } from '../errors.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate, 99 WinZip AES. */
  method: number;
  encrypted: boolean;
  /** AES-encrypted (method 99). */
  aes: boolean;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
  isDirectory: boolean;
  isSymlink: boolean;
  /** The name as stored was flagged UTF-8. */
  utf8: boolean;
  lastModified: Date;
}

export interface ZipDirectory {
  file: string;
  size: number;
  entries: ZipEntry[];
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;

function damaged(file: string, what: string): LabupError {
  return usageError('ZIP_DAMAGED', `${file}: not a readable ZIP archive (${what})`, {
    hint: 'The file is damaged or not a ZIP; download or pack it again.',
  });
}

/** Reads the central directory. Throws a coded usage error for anything that is not a sound ZIP. */
export async function readZipDirectory(file: string): Promise<ZipDirectory> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw fileError(err, file);
  }
  try {
    const { size } = await fh.stat();
    if (size < 22) throw damaged(file, 'too short');
    const tailLen = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw damaged(file, 'no end-of-central-directory record');
    const diskEntries = tail.readUInt16LE(eocd + 8);
    const total = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw usageError('ZIP_UNSUPPORTED', `${file}: ZIP64 archives are not supported`, { hint: 'Daily uploads are far below 4 GB; repack without ZIP64.' });
    }
    if (diskEntries !== total) throw damaged(file, 'multi-disk archive');
    if (cdOffset + cdSize > size) throw damaged(file, 'central directory outside the file');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let k = 0; k < total; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH_SIG) throw damaged(file, 'bad central directory entry');
      const madeBy = cd.readUInt16LE(p + 4);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const time = cd.readUInt16LE(p + 12);
      const date = cd.readUInt16LE(p + 14);
      const crc = cd.readUInt32LE(p + 16);
      const compressedSize = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const externalAttrs = cd.readUInt32LE(p + 38);
      const localHeaderOffset = cd.readUInt32LE(p + 42);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw damaged(file, 'truncated central directory');
      const utf8 = (flags & 0x800) !== 0;
      const rawName = cd.subarray(p + 46, p + 46 + nameLen);
      const name = utf8 ? rawName.toString('utf8') : decodeCp437(rawName);
      const unixMode = madeBy >> 8 === 3 ? externalAttrs >>> 16 : 0;
      const isSymlink = (unixMode & 0o170000) === 0o120000;
      entries.push({
        name,
        method,
        encrypted: (flags & 1) !== 0,
        aes: method === 99,
        compressedSize,
        size: uncompressed,
        crc32: crc,
        localHeaderOffset,
        isDirectory: name.endsWith('/') || (unixMode & 0o170000) === 0o040000,
        isSymlink,
        utf8,
        lastModified: new Date(((date >> 9) & 0x7f) + 1980, ((date >> 5) & 0x0f) - 1, date & 0x1f, (time >> 11) & 0x1f, (time >> 5) & 0x3f, (time & 0x1f) * 2),
      });
      if (localHeaderOffset >= size) throw damaged(file, `entry ${name} points outside the file`);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return { file, size, entries };
  } finally {
    await fh.close();
  }
}

const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑ¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeCp437(buf: Buffer): string {
  let s = '';
  for (const b of buf) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

export interface EntryStreamOptions {
  /** Refuse to inflate more than this many bytes (zip bomb guard). */
  maxBytes?: number;
  /** Refuse when inflated / compressed exceeds this ratio (after the first MiB). */
  maxRatio?: number;
  chunkSize?: number;
}

/**
 * Streams the (decompressed) bytes of an unencrypted entry. Verifies the size and CRC-32 the
 * directory declares, and stops at `maxBytes` or `maxRatio`, so that a lying header or a bomb is
 * caught while reading.
 */
export async function* readEntry(dir: ZipDirectory, entry: ZipEntry, options: EntryStreamOptions = {}): AsyncGenerator<Buffer> {
  if (entry.encrypted) throw usageError('ZIP_ENCRYPTED', `${dir.file}: ${entry.name} is encrypted`, { hint: 'Use labup decrypt for encrypted archives.' });
  if (entry.method !== 0 && entry.method !== 8) {
    throw usageError('ZIP_UNSUPPORTED', `${dir.file}: ${entry.name} uses compression method ${entry.method}`, { hint: 'Repack with standard deflate compression.' });
  }
  const fh = await open(dir.file, 'r').catch((err) => {
    throw fileError(err, dir.file);
  });
  try {
    const lfh = Buffer.alloc(30);
    await fh.read(lfh, 0, 30, entry.localHeaderOffset);
    if (lfh.readUInt32LE(0) !== LFH_SIG) throw damaged(dir.file, `bad local header for ${entry.name}`);
    const dataStart = entry.localHeaderOffset + 30 + lfh.readUInt16LE(26) + lfh.readUInt16LE(28);
    if (dataStart + entry.compressedSize > dir.size) throw damaged(dir.file, `${entry.name} is truncated`);
    const chunkSize = options.chunkSize ?? 1 << 20;
    const raw = rawChunks(fh, dataStart, entry.compressedSize, chunkSize);
    const source = entry.method === 0 ? Readable.from(raw) : Readable.from(raw).pipe(createInflateRaw({ chunkSize: 1 << 18 }));
    let total = 0;
    let crc = 0;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const maxRatio = options.maxRatio ?? Number.POSITIVE_INFINITY;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > entry.size) throw damaged(dir.file, `${entry.name} expands beyond the size its header declares (${entry.size} bytes)`);
        if (total > maxBytes) {
          throw usageError('ZIP_TOO_LARGE', `${dir.file}: ${entry.name} expands past ${maxBytes} bytes`, { hint: 'The archive would expand too far (a zip bomb?); it is refused.' });
        }
        if (total > 1 << 20 && total / Math.max(1, entry.compressedSize) > maxRatio) {
          throw usageError('ZIP_TOO_LARGE', `${dir.file}: ${entry.name} expands more than ${maxRatio}× (a zip bomb?)`, { hint: 'The archive is refused.' });
        }
        crc = crc32(chunk, crc);
        yield chunk;
      }
    } catch (err) {
      if (err instanceof LabupError) throw err;
      throw damaged(dir.file, `${entry.name}: ${(err as Error).message}`);
    } finally {
      source.destroy();
    }
    if (total !== entry.size) throw damaged(dir.file, `${entry.name} holds ${total} bytes, its header says ${entry.size}`);
    if (crc >>> 0 !== entry.crc32 >>> 0) throw damaged(dir.file, `${entry.name} fails its CRC-32 check`);
  } finally {
    await fh.close();
  }
}

async function* rawChunks(fh: FileHandle, start: number, length: number, chunkSize: number): AsyncGenerator<Buffer> {
  let pos = start;
  const end = start + length;
  while (pos < end) {
    const n = Math.min(chunkSize, end - pos);
    const buf = Buffer.allocUnsafe(n);
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
  }
}

/** NHI's naming rule: letters and digits only, for the base name and the extension. */
export function isNhiFileName(name: string): boolean {
  return /^[A-Za-z0-9]+\.[A-Za-z0-9]+$/.test(name);
}
