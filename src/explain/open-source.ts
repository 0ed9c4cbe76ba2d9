/**
 * Opening `--source`: the uploaded daily XML or upload ZIP, or the export (CSV, TSV, NDJSON/JSON)
 * `labup pack` built the upload from. The format comes from `format`, else the extension, else the
 * first bytes.
 */
import { open } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileError, isLabupError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Clock } from '../clock.js';
import type { SourceIndex } from './source.js';
import { indexXmlSource } from './source-xml.js';
import { indexPackedSource } from './source-input.js';

export type SourceFormatOption = 'auto' | 'xml' | 'csv' | 'tsv' | 'json';

/** How the export was packed: give the same as to `labup pack`, so rows group into the same hdata. */
export interface SourceReadOptions {
  cwd?: string;
  host?: IoHost;
  clock?: Clock;
  format?: SourceFormatOption;
  /** Column map (pack's --map). */
  map?: string;
  /** 醫事機構代碼 for records without h2 (pack's --hosp). */
  hosp?: string;
  /** CSV delimiter (pack's --delimiter). */
  delimiter?: string;
  /** CSV/JSON encoding (pack's --input-encoding). */
  inputEncoding?: 'auto' | 'utf-8' | 'big5';
  /** Rows an order stays open for more of its rows (pack's --group-window). */
  groupWindow?: number;
}

const EXT: Record<string, Exclude<SourceFormatOption, 'auto'>> = {
  '.xml': 'xml',
  '.zip': 'xml',
  '.csv': 'csv',
  '.txt': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.json': 'json',
  '.ndjson': 'json',
  '.jsonl': 'json',
};

async function sniff(path: string, shown: string): Promise<'xml' | 'csv' | 'json'> {
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${shown}: is a folder, expected the uploaded .xml or .zip, or the export it was packed from`);
    const b = Buffer.alloc(256);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    if (bytesRead >= 4 && b.readUInt32LE(0) === 0x04034b50) return 'xml';
    const text = b.subarray(0, bytesRead).toString('latin1').replace(/^\xef\xbb\xbf/, '').trimStart();
    if (text.startsWith('<')) return 'xml';
    if (text.startsWith('{') || text.startsWith('[')) return 'json';
    return 'csv';
  } catch (err) {
    if (isLabupError(err)) throw err;
    throw fileError(err, shown);
  } finally {
    await fh?.close();
  }
}

/** Reads `file` for the hdata positions in `wanted`. */
export async function openSource(file: string, wanted: ReadonlySet<number>, options: SourceReadOptions = {}): Promise<SourceIndex> {
  const path = resolve(options.cwd ?? process.cwd(), file);
  const given = options.format ?? 'auto';
  const format = given !== 'auto' ? given : (EXT[extname(file).toLowerCase()] ?? (await sniff(path, file)));
  if (format === 'xml') return indexXmlSource(path, wanted, file);
  const { format: _f, ...packOptions } = options;
  return indexPackedSource(file, wanted, { ...packOptions, format });
}
