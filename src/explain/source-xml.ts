/**
 * Finding a check file's positions in the uploaded daily XML, or in the upload ZIP holding it:
 * one streaming read with the same reader `labup validate` uses, keeping only the hdata the check
 * file names, so a 300 MB file costs a few megabytes.
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileError, isLabupError, usageError } from '../errors.js';
import { FIELD_BY_ID, H_INDEX, R_INDEX } from '../format/fields.js';
import { readEntry, readZipDirectory } from '../archive/zip-reader.js';
import { DailyXmlReader, type HdataRecord } from '../xml/daily-reader.js';
import type { FindingInput } from '../format/findings.js';
import type { CheckRow } from './check-file.js';
import type { SourceHit, SourceIndex, SourcePlace } from './source.js';

const H9 = H_INDEX.get('h9')!;
const H15 = H_INDEX.get('h15')!;

/** Reader findings kept to place `L:` rows (syntax and structure errors the check file lists). */
const MAX_READER_FINDINGS = 10_000;

async function* fileChunks(path: string, shown: string): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fileError(err, shown);
  }
  try {
    const size = 1 << 20;
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, size, null));
      } catch (err) {
        throw fileError(err, shown);
      }
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function isZip(path: string, shown: string): Promise<boolean> {
  if (extname(path).toLowerCase() === '.zip') return true;
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${shown}: is a folder, expected the uploaded .xml or .zip, or the export it was packed from`);
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return bytesRead === 4 && b.readUInt32LE(0) === 0x04034b50;
  } catch (err) {
    if (isLabupError(err)) throw err;
    throw fileError(err, shown);
  } finally {
    await fh?.close();
  }
}

/**
 * Reads the daily XML at `path` (or the one XML inside the upload ZIP at `path`), keeping the
 * records at the `wanted` hdata positions.
 */
export async function indexXmlSource(path: string, wanted: ReadonlySet<number>, shown = path): Promise<SourceIndex> {
  let chunks: AsyncIterable<Uint8Array>;
  let entry: string | null = null;
  if (await isZip(path, shown)) {
    const dir = await readZipDirectory(path);
    const xmls = dir.entries.filter((e) => !e.isDirectory && e.name.toLowerCase().endsWith('.xml'));
    if (xmls.length !== 1) {
      throw usageError('EXPLAIN_SOURCE_ZIP', `${shown}: holds ${xmls.length} XML files; --source takes the upload ZIP, which holds exactly one`, {
        hint: 'Give the ZIP that was uploaded (e.g. TOTFA.zip), the XML inside it, or the export it was packed from.',
      });
    }
    const x = xmls[0]!;
    if (x.encrypted) {
      throw usageError('EXPLAIN_SOURCE_ZIP', `${shown}: ${x.name} is encrypted; an upload ZIP is not`, {
        hint: 'Give the ZIP that was uploaded, or the XML or export it was made from.',
      });
    }
    entry = x.name;
    chunks = readEntry(dir, x, { maxBytes: 4 * 1024 ** 3, maxRatio: 1000 });
  } else {
    chunks = fileChunks(path, shown);
  }

  const records = new Map<number, HdataRecord>();
  const findings: FindingInput[] = [];
  let stoppedAt: SourceIndex['stoppedAt'] = null;
  const reader = new DailyXmlReader({
    // Memory: only the records the check file names are kept.
    hdata: (rec) => {
      if (wanted.has(rec.index)) records.set(rec.index, rec);
    },
    finding: (f) => {
      if ((f.code === 'XML_SYNTAX' || f.code === 'XML_DOCTYPE' || f.code === 'XML_ENCODING') && stoppedAt === null) {
        stoppedAt = { line: f.line ?? 1, message: f.detail ?? f.code };
      }
      if (findings.length < MAX_READER_FINDINGS) findings.push(f);
    },
  });
  for await (const chunk of chunks) {
    reader.write(chunk);
    if (reader.fatal) break;
  }
  reader.end();
  const counts = reader.counts;
  const place = (p: Omit<SourcePlace, 'file' | 'entry'>): SourcePlace => ({ file: shown, ...(entry ? { entry } : {}), ...p });

  const readerPlace = (row: CheckRow): SourcePlace | null => {
    if (!row.code.startsWith('L:')) return null;
    const code = row.code.slice(2);
    const same = (f: FindingInput) => f.code === code && f.line != null;
    const hit =
      findings.find((f) => same(f) && (f.hdata ?? null) === row.hdata && (f.rdata ?? null) === row.rdata && (row.field === null || f.field === row.field)) ??
      (row.hdata === null ? findings.find(same) : undefined);
    return hit ? place({ line: hit.line!, ...(hit.column != null ? { column: hit.column } : {}), at: row.field ? 'field' : 'file' }) : null;
  };

  return {
    file: shown,
    format: 'xml',
    entry,
    counts,
    stoppedAt,
    rdataOf: (h) => records.get(h)?.rdata.length,
    locate(row: CheckRow): SourceHit | undefined {
      const fromReader = readerPlace(row);
      if (row.hdata === null) return { place: fromReader, patient: null, orderCode: null, value: null };
      const rec = records.get(row.hdata);
      // A syntax error inside this hdata: the reader placed it, though the record never closed.
      if (!rec) return fromReader ? { place: fromReader, patient: null, orderCode: null, value: null } : undefined;
      const patient = rec.fields[H9]?.value ?? null;
      const orderCode = rec.fields[H15]?.value ?? null;
      const def = row.field ? FIELD_BY_ID.get(row.field) : undefined;
      const rd = row.rdata !== null ? rec.rdata[row.rdata - 1] : undefined;
      if (row.rdata !== null && !rd) return fromReader ? { place: fromReader, patient, orderCode, value: null } : undefined;
      let value: string | null = null;
      let p: SourcePlace;
      if (def?.section === 'r' && rd) {
        const fv = rd.fields[R_INDEX.get(def.id)!];
        value = fv?.value ?? null;
        p = fv ? place({ line: fv.line, column: fv.column, at: 'field' }) : place({ line: rd.line, column: rd.column, at: 'rdata' });
      } else if (def?.section === 'h') {
        const fv = rec.fields[H_INDEX.get(def.id)!];
        value = fv?.value ?? null;
        p = fv ? place({ line: fv.line, column: fv.column, at: 'field' }) : place({ line: rec.line, column: rec.column, at: 'hdata' });
      } else if (rd) {
        p = place({ line: rd.line, column: rd.column, at: 'rdata' });
      } else {
        p = place({ line: rec.line, column: rec.column, at: 'hdata' });
      }
      // A structure error the reader placed more precisely (an element out of order, a duplicate).
      if (fromReader && p.at !== 'field') p = fromReader;
      return { place: p, patient, orderCode, value };
    },
  };
}
