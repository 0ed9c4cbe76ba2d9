/**
 * Opening an input for `pack`: a file (CSV, TSV, NDJSON/JSON, daily XML, or an upload ZIP holding
 * one), or a stream such as standard input. The format comes from `--format`, else the file
 * extension, else the first bytes.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileError, isLabupError, usageError } from '../errors.js';
import { readEntry, readZipDirectory } from '../archive/zip-reader.js';
import { ChunkPool } from './chunk-pool.js';
import type { InputFormat } from './types.js';

/** A file path, or a named stream (`-` for standard input). */
export type PackInput = string | { name: string; stream: AsyncIterable<Buffer | string> };

export type FormatOption = InputFormat | 'tsv' | 'auto';

export interface OpenedInput {
  /** The name findings use. */
  name: string;
  format: InputFormat;
  /** The delimiter the format implies (tab for .tsv / --format tsv). */
  delimiter?: string;
  /** For a ZIP input: the XML entry read. */
  entry?: string;
  chunks: AsyncIterable<Buffer>;
}

const EXT: Record<string, FormatOption> = {
  '.csv': 'csv',
  '.txt': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.json': 'json',
  '.ndjson': 'json',
  '.jsonl': 'json',
  '.xml': 'xml',
};

/** `pool`: where a file's chunks are read into (default: a new buffer for each). */
export async function openInput(input: PackInput, format: FormatOption = 'auto', cwdResolve: (p: string) => string = (p) => p, pool?: ChunkPool): Promise<OpenedInput> {
  if (typeof input !== 'string') {
    const chunks = bytes(input.stream);
    return withFormat(input.name, format, chunks, undefined);
  }
  const path = cwdResolve(input);
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${input}: is a folder, expected an export file (.csv, .json, .xml)`);
    size = st.size;
  } catch (err) {
    if (isLabupError(err)) throw err;
    throw fileError(err, input);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.zip' && (format === 'auto' || format === 'xml')) return openZip(input, path);
  const chunks = fileChunks(path, input, pool ?? new ChunkPool());
  if (format === 'auto' && EXT[ext]) format = EXT[ext]!;
  if (format === 'auto' && size >= 4) {
    const head = await peekFile(path, input);
    if (head.readUInt32LE(0) === 0x04034b50) return openZip(input, path);
  }
  return withFormat(input, format, chunks, undefined);
}

async function openZip(name: string, path: string): Promise<OpenedInput> {
  const dir = await readZipDirectory(path);
  const xmls = dir.entries.filter((e) => !e.isDirectory && e.name.toLowerCase().endsWith('.xml'));
  if (xmls.length !== 1) {
    throw usageError('PACK_ZIP_INPUT', `${name}: the ZIP holds ${xmls.length} XML files; labup pack re-stamps a ZIP holding exactly one daily XML`, {
      hint: 'Extract the daily XML you want to re-stamp and pass it on its own.',
    });
  }
  const entry = xmls[0]!;
  return { name, format: 'xml', entry: entry.name, chunks: readEntry(dir, entry, { maxBytes: 4 * 1024 ** 3, maxRatio: 1000 }) };
}

async function withFormat(name: string, format: FormatOption, chunks: AsyncIterable<Buffer>, entry: string | undefined): Promise<OpenedInput> {
  if (format === 'tsv') return { name, format: 'csv', delimiter: '\t', chunks, ...(entry ? { entry } : {}) };
  if (format !== 'auto') return { name, format, chunks };
  // Sniff: the first character that is not white space or a byte-order mark.
  const peeked = await peek(chunks);
  const first = firstSignificant(peeked.head);
  const sniffed: InputFormat = first === 0x3c ? 'xml' : first === 0x7b || first === 0x5b ? 'json' : 'csv';
  return { name, format: sniffed, chunks: peeked.chunks };
}

function firstSignificant(buf: Buffer): number | undefined {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  }
  return undefined;
}

/** Reads the first chunk and gives back a stream that still starts with it. */
async function peek(chunks: AsyncIterable<Buffer>): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield first.value;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { head, chunks: rest() };
}

async function* bytes(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  for await (const c of stream) yield typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
}

/** A file's bytes in chunks of pooled memory, the next chunk read while the last one is handled. */
async function* fileChunks(path: string, name: string, pool: ChunkPool): AsyncGenerator<Buffer> {
  let fh: FileHandle | undefined;
  let pending: Promise<{ buf: Buffer; n: number }> | undefined;
  const readInto = (f: FileHandle, buf: Buffer) => f.read(buf, 0, buf.length, null).then((r) => ({ buf, n: r.bytesRead }));
  try {
    fh = await open(path, 'r');
    pending = readInto(fh, pool.take());
    for (;;) {
      const { buf, n } = await pending;
      pending = undefined;
      if (n === 0) {
        pool.give(buf);
        return;
      }
      pending = readInto(fh, pool.take());
      yield buf.subarray(0, n);
    }
  } catch (err) {
    throw fileError(err, name);
  } finally {
    // A read still under way when the reader stops: let it end before the file is closed.
    await pending?.catch(() => undefined);
    await fh?.close();
  }
}

async function peekFile(path: string, name: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b;
  } catch (err) {
    throw fileError(err, name);
  } finally {
    await fh?.close();
  }
}
