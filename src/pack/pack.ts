/**
 * `pack`: from a HIS/LIS export (CSV, NDJSON/JSON) or an existing daily XML to an upload-ready
 * ZIP — or a report naming the input rows to fix.
 *
 * One streaming pass, bounded memory at any size: input → rows → hdata (grouped by the 表七 key)
 * → XML bytes (CP950 or UTF-8, specials full-width) → in batches, both to the same validator
 * `labup validate` uses (synchronously, so each finding is mapped back to its input row while the
 * row is still at hand) and to deflate (on zlib's thread pool, overlapping the next batch) → a
 * temp file in the output folder → renamed into place only when the validator found nothing NHI
 * would reject (or with `force`). A refusal or an error removes the temp file: there is never a
 * partial ZIP under the final name.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { addDays, systemClock, taipeiParts, type Clock } from '../clock.js';
import { canEncodeCp950 } from '../encoding/cp950.js';
import { fileError, usageError } from '../errors.js';
import { FIELD_BY_ID, H_FIELDS, R_FIELDS, type FieldId, type HFieldId, type RFieldId } from '../format/fields.js';
import { makeFinding, maskFindingValue } from '../format/findings.js';
import { formatRocDate, parseUserDateTime, rocTimestamp, taipeiToday, type CalendarDate } from '../format/roc.js';
import { silentHost, type IoHost } from '../io-host.js';
import { toFullWidth, type OutputEncoding } from '../xml/builder.js';
import { ZipWriter, type CompressorFactory, type ZipEntryWriter } from '../archive/zip-writer.js';
import { EMPTY_MAP, loadColumnMap, type ColumnMap } from '../input/column-map.js';
import { readCsvRows } from '../input/csv-reader.js';
import { FIELD_SLOT, R_SLOT0, RawFlag, RowStore, Slot } from '../input/row-store.js';
import { readJson } from '../input/json-reader.js';
import { ChunkPool } from '../input/chunk-pool.js';
import { openInput, type FormatOption, type PackInput } from '../input/open.js';
import type { FieldPlaces, InputEncodingOption, InputInfo, InputProblem, InputRecord, SourceLocation } from '../input/types.js';
import { readDailyXml } from '../input/xml-input.js';
import { fromProblem, packFinding, type PackFinding } from './findings.js';
import { Grouper, type Group } from './grouping.js';
import { RowGrouper } from './row-grouper.js';
import { entryNameFor, nextApiName, placeFile, planOutput } from './output-name.js';
import type { RuleFinding } from './rule-check.js';
import { RuleRunner, type RulesWhere } from './rule-runner.js';
import { BatchBuffers, R_FIELD_BASE, XmlBatchWriter } from './xml-batch.js';

export type { PackInput } from '../input/open.js';

export interface PackOptions {
  /** Folder that relative paths (inputs, --out, --map) are resolved against. */
  cwd?: string;
  /** h16 and the upload-date checks are taken from this clock (Asia/Taipei). */
  clock?: Clock;
  /** Progress (`pack`, rows) and notices go here; the library never prints. */
  host?: IoHost;
  /** Input format; `auto` (default) goes by extension, then by the first bytes. */
  format?: FormatOption;
  /** Input encoding for CSV and JSON: `auto` (default: BOM, else detected), `utf-8` or `big5` (CP950). */
  inputEncoding?: InputEncodingOption;
  /** CSV delimiter (default `,`; tab for .tsv). */
  delimiter?: string;
  /** The column map: a path to map.json, or a loaded map. */
  map?: string | ColumnMap;
  /** Output encoding (default `big5`, i.e. code page 950). */
  encoding?: OutputEncoding;
  /** Replace characters the output encoding cannot carry (a warning each) instead of refusing. */
  replaceUnencodable?: boolean;
  /** h16: ISO 8601 or ROC YYYMMDDHHMMSS (default: now, Asia/Taipei). */
  uploadTime?: string | Date;
  /** 醫事機構代碼 for records without h2 (and for --api-name). */
  hosp?: string;
  /** The ZIP to write (letters and digits, .zip), or a folder (default ./TOTFA.zip). */
  out?: string;
  /** Name the ZIP `(醫事機構代碼)(上傳日期)(流水號).zip` with the next free serial. */
  apiName?: boolean;
  /** Write the ZIP even when the validator finds errors. */
  force?: boolean;
  /** Do everything but write the ZIP. */
  dryRun?: boolean;
  /** Rows an order's group stays open after its first row (default 10,000). */
  groupWindow?: number;
  /** National IDs unmasked in findings. */
  showIds?: boolean;
  /** Findings kept in the result (all are counted; default 50,000). */
  maxStoredFindings?: number;
  /** XML bytes per batch handed to the validator and the compressor (default 256 KiB). */
  batchBytes?: number;
  /**
   * On Linux, run the threads that help a large pack (rules, compression, zlib's and V8's
   * helpers) at a lower priority than its pipeline (see threads.ts). For a process that ends with
   * the pack (the CLI): the calling thread's priority is lowered too, for good.
   */
  lowerHelpers?: boolean;
  /**
   * Called with each hdata as it is written: its 1-based position, the input rows it was grouped
   * from, and where each of its values came from (how `labup explain` maps a check file back to the
   * export). `group` builds the group on demand (CSV rows are copied out of the row store); call
   * it during the callback for any hdata whose `locate` is kept.
   */
  onHdata?: (hdata: number, group: () => Group, locate: (field: string | null, rdata: number | null) => SourceLocation) => void;
}

export interface PackCounts {
  /** Input records read: CSV data rows, JSON objects, hdata of an input XML. */
  rows: number;
  hdata: number;
  rdata: number;
}

export interface PackResult {
  /** The ZIP was written (or, with `dryRun`, would be). With `force` it may still hold errors. */
  ok: boolean;
  /** Path of the ZIP written; null when refused, empty, or a dry run. */
  output: string | null;
  /** Path the ZIP is (or would be) written to. */
  target: string | null;
  /** Name of the XML inside. */
  entry: string | null;
  /** Why nothing was written: `invalid` (errors, no --force), `empty` (no data rows). */
  refused: 'invalid' | 'empty' | null;
  dryRun: boolean;
  /** Written despite errors (--force). */
  forced: boolean;
  counts: PackCounts;
  /** The h16 stamped on every record. */
  h16: string;
  encoding: OutputEncoding;
  bytes: { xml: number; zip: number };
  inputs: InputInfo[];
  errorCount: number;
  warningCount: number;
  byCode: Record<string, number>;
  /** More findings were counted than kept. */
  truncated: boolean;
  errors: PackFinding[];
  warnings: PackFinding[];
}

/** The h16 stamp: `uploadTime` or now, as ROC YYYMMDDHHMMSS in Asia/Taipei. */
export function resolveUploadTime(value: string | Date | undefined, clock: Clock): { instant: Date; h16: string; date: CalendarDate } {
  let instant: Date;
  if (value === undefined) instant = clock.now();
  else if (value instanceof Date) instant = value;
  else {
    const parsed = parseUserDateTime(value);
    if (!parsed) {
      throw usageError('PACK_UPLOAD_TIME', `--upload-time “${value}” is not a date and time`, {
        hint: 'Write ISO 8601 (2026-11-25T21:00:00+08:00, or without offset for Taipei time) or ROC YYYMMDDHHMMSS (1151125210000).',
      });
    }
    instant = parsed;
  }
  const p = taipeiParts(instant);
  return { instant, h16: rocTimestamp(instant), date: { year: p.year, month: p.month, day: p.day } };
}

class FindingList {
  errors: PackFinding[] = [];
  warnings: PackFinding[] = [];
  errorCount = 0;
  warningCount = 0;
  byCode: Record<string, number> = {};
  truncated = false;
  constructor(private readonly max: number) {}

  add(f: PackFinding): void {
    this.byCode[f.code] = (this.byCode[f.code] ?? 0) + 1;
    if (f.severity === 'error') this.errorCount++;
    else this.warningCount++;
    if (this.errors.length + this.warnings.length >= this.max) {
      this.truncated = true;
      return;
    }
    (f.severity === 'error' ? this.errors : this.warnings).push(f);
  }
}

const SUSPECT = /[^\t\n\x20-\x7e]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

const S_H2 = FIELD_SLOT.get('h2')!;
const S_H4 = FIELD_SLOT.get('h4')!;
const S_H16 = FIELD_SLOT.get('h16')!;
const S_H20 = FIELD_SLOT.get('h20')!;
const H_SLOT = new Map(H_FIELDS.map((f, i) => [f.id as string, i]));

function hex(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}

// `pack` itself (which decides the thread) lives in run.ts, light enough for the thread that only
// starts the pack worker and compresses for it.
export { pack, type IsolatedPackRequest, type IsolatedPackMessage } from './run.js';

/**
 * {@link pack}, choosing where the rules run: `thread` (this one), `worker` (a worker thread from
 * the first batch), `auto` (a worker once the XML passes a few megabytes) — and who compresses the
 * ZIP (default: zlib driven from this thread). The result is the same.
 */
export async function packWith(inputs: PackInput[], options: PackOptions, rulesWhere: RulesWhere, compressor?: CompressorFactory): Promise<PackResult> {
  const cwd = options.cwd ?? process.cwd();
  const clock = options.clock ?? systemClock;
  const host = options.host ?? silentHost;
  const encoding: OutputEncoding = options.encoding ?? 'big5';
  const showIds = options.showIds ?? false;
  const replace = options.replaceUnencodable ?? false;
  if (inputs.length === 0) throw usageError('PACK_NO_INPUT', 'no input given', { hint: 'Name the export to pack: labup pack export.csv' });
  if (options.hosp !== undefined && !/^[0-9A-Za-z]{10}$/.test(options.hosp)) {
    throw usageError('PACK_HOSP', `--hosp “${options.hosp}” is not a 醫事機構代碼 (10 letters or digits)`, { hint: 'Give the 10-character code, e.g. --hosp 3501200000.' });
  }
  const hosp = options.hosp;
  const map: ColumnMap = typeof options.map === 'string' ? loadColumnMap(resolve(cwd, options.map), options.map) : (options.map ?? EMPTY_MAP);
  const stamp = resolveUploadTime(options.uploadTime, clock);
  const plan = await planOutput(options.out, options.apiName ?? false, cwd);
  const findings = new FindingList(options.maxStoredFindings ?? 50_000);
  // While batches are with the rule worker, later findings wait behind them, so that findings are
  // kept in the order they would be found in one thread (which matters when there are too many).
  const BATCH = null;
  const waitingFindings: Array<PackFinding | null> = [];
  const add = (f: PackFinding) => {
    if (waitingFindings.length > 0) waitingFindings.push(f);
    else findings.add(f);
  };

  // h16's date must be one NHI still accepts as 上傳日期 (today or yesterday).
  const today = taipeiToday(clock.now());
  const h16Date = formatRocDate(stamp.date);
  if (h16Date < formatRocDate(addDays(today, -1))) {
    add({ ...makeFinding({ code: 'UPLOAD_DATE_NOT_ALLOWED', field: 'h16', detail: `h16 is ${stamp.h16}; today is ${formatRocDate(today)}` }), source: null });
  } else if (h16Date > formatRocDate(today)) {
    add(
      packFinding({
        code: 'PACK_UPLOAD_TIME_FUTURE',
        severity: 'warning',
        field: 'h16',
        message: `上傳時間在未來 — h16 ${stamp.h16} is after today (${formatRocDate(today)}); upload the file on that day`,
        hint: 'NHI accepts a file only when h16’s date is the upload date: upload it on that date, or pack again then.',
        source: null,
      }),
    );
  }

  const defaultSlots = Object.entries(map.defaults).map(([f, v]) => [FIELD_SLOT.get(f as FieldId)!, v] as [number, string]);
  const supplied = new Set<FieldId>(['h16', 'r1', ...(Object.keys(map.defaults) as FieldId[]), ...(hosp ? (['h2'] as const) : [])]);
  const defaultsH = Object.entries(map.defaults).filter(([f]) => FIELD_BY_ID.get(f)!.section === 'h') as Array<[HFieldId, string]>;
  const defaultsR = Object.entries(map.defaults).filter(([f]) => FIELD_BY_ID.get(f)!.section === 'r') as Array<[RFieldId, string]>;
  const origin = (field: string): Partial<SourceLocation> | undefined => {
    if (field === 'h16') return { from: 'h16 stamp' };
    if (field === 'r1') return { from: 'numbered' };
    if (field in map.defaults) return { from: 'map defaults' };
    if (field === 'h2' && hosp) return { from: '--hosp' };
    if (field === 'h4') return { from: 'derived from h20' };
    return undefined;
  };
  // CSV rows: where a row is, and where each field's column is (per input file).
  const rows = new RowStore();
  // Input chunks are read into memory used again once the rows read from them are released.
  const chunkPool = new ChunkPool();
  rows.onRetired = (buf) => chunkPool.give(buf);
  const rowGrouper = new RowGrouper(rows, { ...(options.groupWindow !== undefined ? { window: options.groupWindow } : {}), showIds });
  const placesByFile = new Map<string, FieldPlaces>();
  const rowAt = (id: number): SourceLocation => ({ file: rows.file(id), line: rows.line(id), row: rows.rowNo(id) });
  /** `locate` for a group of CSV rows (a RowGrouper group). */
  const locateRows = (g: number, field: string | null, rdata: number | null): SourceLocation => {
    const first = rowGrouper.firstRow(g);
    const places = (placesByFile.get(rows.file(first)) ?? {}) as Record<string, Partial<SourceLocation> | undefined>;
    if (rdata !== null && rdata >= 1 && rdata <= rowGrouper.itemCount(g)) {
      const at = rowAt(rowGrouper.item(g, rdata - 1));
      if (!field) return at;
      const pl = places[field] ?? origin(field);
      return pl ? { ...at, ...pl } : at;
    }
    const at = rowAt(first);
    if (field) {
      if (field === 'h16') return { ...at, ...origin('h16') };
      const slot = H_SLOT.get(field);
      const from = slot === undefined ? -1 : rowGrouper.headerRow(g, slot);
      if (from >= 0 && from !== first) return { ...rowAt(from), ...places[field] };
      const pl = places[field] ?? origin(field);
      return pl ? { ...at, ...pl } : at;
    }
    return at;
  };
  const locate = (g: Group | number, field: string | null, rdata: number | null): SourceLocation => {
    if (typeof g === 'number') return locateRows(g, field, rdata);
    if (rdata !== null && rdata >= 1 && rdata <= g.itemsAt.length) {
      const at = g.itemsAt[rdata - 1]!;
      if (!field) return at;
      const pl = (g.itemPlaces[rdata - 1] as Record<string, Partial<SourceLocation> | undefined>)[field] ?? origin(field);
      return pl ? { ...at, ...pl } : at;
    }
    if (field) {
      if (field === 'h16') return { ...g.at, ...origin('h16') };
      const from = g.headerFrom[field as HFieldId];
      if (from) return from;
      const pl = (g.headerPlaces as Record<string, Partial<SourceLocation> | undefined>)[field] ?? origin(field);
      return pl ? { ...g.at, ...pl } : g.at;
    }
    return g.at;
  };
  /**
   * A group of CSV rows as a {@link Group} that outlives the row store's window (for `onHdata`,
   * whose callers keep it): its values, and where each came from.
   */
  const snapshotRows = (g: number): Group => {
    const first = rowGrouper.firstRow(g);
    const placesOf = (row: number): FieldPlaces => placesByFile.get(rows.file(row)) ?? {};
    const header: Partial<Record<HFieldId, string>> = {};
    const headerFrom: Partial<Record<HFieldId, SourceLocation>> = {};
    for (let s = 0; s < H_FIELDS.length; s++) {
      const from = rowGrouper.headerRow(g, s);
      if (from < 0) continue;
      const id = H_FIELDS[s]!.id as HFieldId;
      const v = rows.text(from, s);
      if (v !== undefined) header[id] = v;
      if (from !== first) headerFrom[id] = { ...rowAt(from), ...(placesOf(from) as Record<string, Partial<SourceLocation> | undefined>)[id] };
    }
    const n = rowGrouper.itemCount(g);
    const items: Array<Partial<Record<RFieldId, string>>> = [];
    const itemsAt: SourceLocation[] = [];
    const itemPlaces: FieldPlaces[] = [];
    for (let k = 0; k < n; k++) {
      const row = rowGrouper.item(g, k);
      const item: Partial<Record<RFieldId, string>> = {};
      for (let s = 0; s < R_FIELDS.length; s++) {
        const v = rows.text(row, R_SLOT0 + s);
        if (v !== undefined) item[R_FIELDS[s]!.id as RFieldId] = v;
      }
      if (item.r1 === undefined) item.r1 = String(k + 1);
      items.push(item);
      itemsAt.push(rowAt(row));
      itemPlaces.push(placesOf(row));
    }
    return { seq: 0, key: '', header, items, at: rowAt(first), itemsAt, headerPlaces: placesOf(first), headerFrom, itemPlaces, sealed: false, problems: [] };
  };

  // Completing a record: h2 from --hosp, map defaults, h4 from h20, the h16 stamp.
  const h2Warned = new Set<string>();
  /** PACK_H2_DIFFERS, once for each of the first ten values of h2 that are not --hosp. */
  const warnH2Differs = (h2: string, source: () => SourceLocation) => {
    if (h2 === hosp || h2Warned.size >= 10 || h2Warned.has(h2)) return;
    h2Warned.add(h2);
    add(
      packFinding({
        code: 'PACK_H2_DIFFERS',
        severity: 'warning',
        field: 'h2',
        message: `醫事機構代碼與 --hosp 不同 — the input gives h2 “${h2}”, --hosp is ${hosp}; the input’s value is written (reported once per value)`,
        hint: 'Check that the export belongs to this institution; --hosp only fills records without h2.',
        source: source(),
      }),
    );
  };
  const complete = (rec: InputRecord) => {
    const h = rec.header;
    if (hosp) {
      if (h.h2 === undefined) h.h2 = hosp;
      else warnH2Differs(h.h2, () => ({ ...rec.at, ...rec.headerPlaces.h2 }));
    }
    for (const [f, v] of defaultsH) if (h[f] === undefined) h[f] = v;
    if (defaultsR.length) for (const item of rec.items) for (const [f, v] of defaultsR) if (item[f] === undefined) item[f] = v;
    if (h.h4 === undefined && h.h20 !== undefined && /^\d{11}(\d{2})?$/.test(h.h20)) h.h4 = h.h20.slice(0, 5);
    h.h16 = stamp.h16;
  };
  /** `complete` for a CSV row in the row store. */
  const completeRow = (id: number) => {
    if (hosp) {
      if (rows.kind(id, S_H2) === Slot.Empty) rows.setConstant(id, S_H2, hosp);
      // (the row's h2 is made a string only while a warning may still be given)
      else if (h2Warned.size < 10) warnH2Differs(rows.text(id, S_H2)!, () => ({ ...rowAt(id), ...placesByFile.get(rows.file(id))?.h2 }));
    }
    for (let k = 0; k < defaultSlots.length; k++) {
      const [slot, v] = defaultSlots[k]!;
      if (rows.kind(id, slot) === Slot.Empty) rows.setConstant(id, slot, v);
    }
    if (rows.kind(id, S_H4) === Slot.Empty) {
      const k = rows.kind(id, S_H20);
      if (k === Slot.Raw && (rows.flags(id, S_H20) & RawFlag.Big5) === 0) {
        const buf = rows.buffer(id);
        const s0 = rows.start(id, S_H20);
        const n = rows.end(id, S_H20) - s0;
        let digits = n === 11 || n === 13;
        for (let i = 0; digits && i < n; i++) digits = buf[s0 + i]! >= 0x30 && buf[s0 + i]! <= 0x39;
        if (digits) rows.setRaw(id, S_H4, s0, s0 + 5, 0);
      } else if (k !== Slot.Empty) {
        const h20 = rows.text(id, S_H20)!;
        if (/^\d{11}(\d{2})?$/.test(h20)) rows.setText(id, S_H4, h20.slice(0, 5));
      }
    }
    rows.setConstant(id, S_H16, stamp.h16);
  };

  // Characters the XML (or CP950) cannot carry: an error naming row and field, or replaced.
  const checkChars = (value: string, field: string, g: Group | number, hdata: number, rdata: number | null): string => {
    if (!SUSPECT.test(value)) return value;
    const control = CONTROL.test(value) || /[\ud800-\udfff]/.test(value);
    if (!control && (encoding === 'utf-8' || canEncodeCp950(toFullWidth(value, 'big5')))) return value;
    let out = '';
    let changed = false;
    for (const ch of value) {
      const cp = ch.codePointAt(0)!;
      const isControl = (cp < 0x20 && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) || cp === 0xfffe || cp === 0xffff;
      const lone = cp >= 0xd800 && cp <= 0xdfff;
      const unencodable = !isControl && (lone || (encoding === 'big5' && cp >= 0x80 && !canEncodeCp950(toFullWidth(ch, 'big5'))));
      if (!isControl && !unencodable) {
        out += ch;
        continue;
      }
      const source = locate(g, field, rdata);
      const what = isControl ? `control character ${hex(cp)}` : lone ? `a broken character (lone surrogate ${hex(cp)})` : `“${ch}” (${hex(cp)})`;
      if (!replace) {
        add(
          packFinding(
            {
              code: isControl ? 'PACK_CONTROL_CHAR' : 'PACK_UNENCODABLE',
              severity: 'error',
              field,
              hdata,
              rdata,
              message: isControl
                ? `XML 不允許的控制字元 — ${what} cannot be written in XML`
                : `Big5 無法表示的字元 — ${what} cannot be written in ${encoding === 'big5' ? 'Big5 (code page 950)' : 'UTF-8'}`,
              hint: isControl
                ? 'Remove the control character from the export, or run with --replace-unencodable (it becomes a space).'
                : 'Replace it in the export with a character Big5 has, pack with --encoding utf-8, or run with --replace-unencodable (it becomes “?” or its compatibility form).',
              source,
            },
            showIds,
          ),
        );
        // Even a forced file stays well-formed: what XML cannot hold is never written.
        out += isControl || lone ? (isControl ? ' ' : '?') : ch;
        changed ||= isControl || lone;
        continue;
      }
      let by = isControl ? ' ' : '?';
      if (!isControl && !lone) {
        const nfkc = ch.normalize('NFKC');
        if (nfkc !== ch && nfkc !== '' && (encoding === 'utf-8' || canEncodeCp950(toFullWidth(nfkc, 'big5'))) && !CONTROL.test(nfkc)) by = nfkc;
      }
      add(
        packFinding(
          {
            code: isControl ? 'PACK_CONTROL_CHAR' : 'PACK_CHAR_REPLACED',
            severity: 'warning',
            field,
            hdata,
            rdata,
            message: `已替換字元 — ${what} replaced by “${by}” (--replace-unencodable)`,
            hint: 'Check the replaced text; fix the export to keep the original character.',
            source,
          },
          showIds,
        ),
      );
      out += by;
      changed = true;
    }
    return changed ? out : value;
  };

  const grouper = new Grouper({ ...(options.groupWindow !== undefined ? { window: options.groupWindow } : {}), showIds });
  const batchBytes = options.batchBytes ?? 256 * 1024;
  const writer = new XmlBatchWriter(encoding, batchBytes);
  // A batch's bytes and its index (up to a number a value, 16 bytes, for values of a few bytes);
  // batches are held by the rules and by deflate at once, and go back to the pool when both are done.
  const batchMemory = new BatchBuffers(2 * (batchBytes + 64 * 1024), 32);
  // Compressed in another thread: the batches go there in shared memory.
  const sharedBatches = compressor !== undefined;
  /** For each batch handed to the rules: the row groups written up to it (released once it is checked). */
  const batchGroups: number[] = [];
  // The rules of `labup validate`, on the records as written (upload date = h16's date).
  const rules = new RuleRunner(writer.layout, { uploadDate: stamp.date }, rulesWhere, options.lowerHelpers === true, (batch, found) => {
    if (waitingFindings[0] === BATCH) waitingFindings.shift();
    for (const f of found) ruleFinding(f);
    if (batch.lastHdata > 0) live.dropThrough(batch.lastHdata);
    // Every row group written up to this batch is done with: its rows can go.
    rowGrouper.release(batchGroups.shift()!);
    while (waitingFindings.length > 0 && waitingFindings[0] !== BATCH) findings.add(waitingFindings.shift()!);
  });
  /** The groups of the batch being written (hdata → group), to map findings back to the input. */
  const live = new LiveGroups<Group | number>();
  const atOf = (g: Group | number) => (typeof g === 'number' ? rowAt(rowGrouper.firstRow(g)) : g.at);
  // Where each hdata started (6 bytes per hdata), to name the earlier record when a key repeats.
  let startLine = new Uint32Array(4096);
  let startFile = new Uint16Array(4096);
  const fileNames: string[] = [];
  const fileIndex = new Map<string, number>();
  const remember = (hdata: number, at: SourceLocation) => rememberAt(hdata, at.file, at.line);
  const rememberAt = (hdata: number, file: string, line: number) => {
    if (hdata >= startLine.length) {
      const line = new Uint32Array(startLine.length * 2);
      line.set(startLine);
      startLine = line;
      const file = new Uint16Array(startFile.length * 2);
      file.set(startFile);
      startFile = file;
    }
    let fi = fileIndex.get(file);
    if (fi === undefined) {
      fi = fileNames.length;
      fileNames.push(file);
      fileIndex.set(file, fi);
    }
    startLine[hdata] = Math.min(line, 0xffffffff);
    startFile[hdata] = Math.min(fi, 0xffff);
  };
  const ruleFinding = (input: RuleFinding) => {
    const g = input.hdata != null ? live.get(input.hdata) : undefined;
    if (input.code === 'DUPLICATE_KEY') {
      // The rules remember every key of the file; for pack a repeat loses data, so it is an error.
      const first = input.first ?? 0;
      const file = first ? fileNames[startFile[first]!]! : '';
      const line = startLine[first];
      const at = g !== undefined ? atOf(g) : undefined;
      const earlier = first ? `hdata ${first}, from ${at && file === at.file ? `line ${line}` : `${file}:${line}`}` : 'an earlier hdata';
      findings.add(
        packFinding({
          code: 'PACK_KEY_REPEATED',
          severity: 'error',
          nhiCode: '25',
          hdata: input.hdata ?? null,
          message: `同一醫令之資料重複 — this order’s key (h1–h10, h15, h20) was already written as ${earlier}; NHI would keep only the last of the two records`,
          hint:
            g !== undefined && (typeof g === 'number' || !g.sealed)
              ? `Sort the export so that the rows of one order are together (they may be up to ${grouper.window.toLocaleString('en')} rows apart; --group-window raises that), or correct the key fields.`
              : 'Merge the two records into one order with all their items, or correct the key fields if they are different orders.',
          source: at ?? null,
        }),
      );
      return;
    }
    const { first: _first, ...rest } = input;
    const f = makeFinding(rest);
    if (!showIds) maskFindingValue(f);
    findings.add({ ...f, source: g !== undefined ? locate(g, f.field, f.rdata) : null });
  };

  let zip: ZipWriter | undefined;
  let entry: ZipEntryWriter | undefined;
  let zipName: string | undefined = plan.name;
  let entryName: string | undefined = plan.name ? entryNameFor(plan.name) : undefined;
  const institutions = new Set<string>();
  const counts: PackCounts = { rows: 0, hdata: 0, rdata: 0 };
  let xmlBytes = 0;
  const tempPath = join(plan.dir, `.labup-pack-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);

  /** Before the first hdata, of whichever input: the output is opened (its name may take that record's h2) and the XML begun. */
  let begun = false;
  const start = async (firstH2: string | undefined) => {
    begun = true;
    if (plan.mode === 'api') {
      const institution = hosp ?? firstH2 ?? '';
      zipName = await nextApiName(plan.dir, institution, h16Date);
      entryName = entryNameFor(zipName);
    }
    if (!options.dryRun) {
      try {
        zip = await ZipWriter.create(tempPath, { mode: 0o600, ...(compressor ? { compressor } : {}) });
      } catch (err) {
        // Name the folder, not the temp file the user never asked for.
        throw fileError((err as { cause?: unknown }).cause ?? err, plan.dir, 'write into');
      }
      const p = taipeiParts(clock.now());
      entry = await zip.addEntry(entryName!, { mtime: p, mode: 0o600 });
    }
    writer.head();
  };

  const flushBatch = async () => {
    if (writer.size === 0) return;
    const mem = batchMemory.take(writer.takeBytes, rules.wantsShared || sharedBatches);
    const batch = writer.take(mem);
    xmlBytes += batch.bytes.length;
    batchGroups.push(rowGroupsWritten);
    if (rules.goesToWorker(batch)) waitingFindings.push(BATCH);
    // Deflate and the rules (this thread or the worker) work on the batch's memory together.
    let holders = entry ? 2 : 1;
    const released = () => {
      if (--holders === 0) batchMemory.release(mem);
    };
    const zipped = entry ? deflate(batch.bytes, released) : undefined;
    await rules.submit(batch, released);
    await zipped;
  };

  // Batches may wait for zlib (each write resolves only once zlib has taken everything): writing
  // runs ahead instead of waiting for each batch to be compressed.
  const DEFLATE_AHEAD = 16;
  const deflating: Array<Promise<void>> = [];
  const deflate = async (bytes: Buffer, released?: () => void) => {
    const written = entry!.write(bytes, released);
    // (a failure shows when the promise is awaited; none goes unhandled meanwhile)
    written.catch(() => {});
    deflating.push(written);
    while (deflating.length > DEFLATE_AHEAD) await deflating.shift();
  };

  const emit = async (g: Group) => {
    const hdata = ++counts.hdata;
    remember(hdata, g.at);
    // r1 numbered 1..n where the input has none.
    g.items.forEach((it, i) => {
      if (it.r1 === undefined) it.r1 = String(i + 1);
    });
    if (g.previousH16 !== undefined && /^\d{13}$/.test(g.previousH16) && stamp.h16 <= g.previousH16) {
      add(
        packFinding({
          code: 'PACK_H16_NOT_LATER',
          severity: 'error',
          field: 'h16',
          hdata,
          message: `補正上傳之 h16 未晚於原上傳 — the new h16 ${stamp.h16} is not later than the record’s h16 ${g.previousH16}; by 表七 the latest h16 wins, so this upload would not replace it`,
          hint: 'Re-stamp with the current time (omit --upload-time) or a later --upload-time.',
          source: { ...g.at, ...g.headerPlaces.h16 },
        }),
      );
    }
    for (const p of g.problems) add(fromProblem(p, showIds, hdata, p.rdata ?? null));
    const hd = g.header as Record<string, string | undefined>;
    for (const f of H_FIELDS) {
      const v = hd[f.id];
      if (v !== undefined) hd[f.id] = checkChars(v, f.id, g, hdata, null);
    }
    g.items.forEach((it, i) => {
      const rd = it as Record<string, string | undefined>;
      for (const f of R_FIELDS) {
        const v = rd[f.id];
        if (v !== undefined) rd[f.id] = checkChars(v, f.id, g, hdata, i + 1);
      }
    });
    if (g.header.h2 !== undefined && institutions.size < 16) institutions.add(g.header.h2);
    counts.rdata += g.items.length;
    if (!begun) await start(g.header.h2);
    writer.beginHdata(hdata);
    for (let i = 0; i < H_FIELDS.length; i++) {
      const v = hd[H_FIELDS[i]!.id];
      if (v !== undefined && v !== '') writer.text(i, v);
    }
    for (const item of g.items) {
      writer.beginRdata();
      const rd = item as Record<string, string | undefined>;
      for (let i = 0; i < R_FIELDS.length; i++) {
        const v = rd[R_FIELDS[i]!.id];
        if (v !== undefined && v !== '') writer.text(R_FIELD_BASE + i, v);
      }
      writer.endRdata();
    }
    writer.endHdata();
    live.set(hdata, g);
    options.onHdata?.(hdata, () => g, (field, rdata) => locate(g, field, rdata));
    if (writer.size >= batchBytes) await flushBatch();
  };

  // Checked text values of the CSV group being written (raw byte values need no check).
  const hText: Array<string | undefined> = new Array(H_FIELDS.length);
  const rText: Array<string | undefined> = [];
  const big5Out = encoding === 'big5';
  let rowGroupsWritten = 0;
  /** Writes one value of a CSV row: its bytes where they can be copied, else its text. */
  const writeRaw = (field: number, row: number, slot: number) => {
    const k = rows.base(row) + slot;
    const flags = rows.meta[k]!;
    if (big5Out || (flags & RawFlag.Big5) === 0) writer.raw(field, rows.buffer(row), rows.range[2 * k]!, rows.range[2 * k + 1]!, flags, rows.view(row));
    else writer.text(field, rows.text(row, slot)!);
  };

  /**
   * `emit` for a group of CSV rows: values are copied from the input where they can be. Returns a
   * promise only when there is something to wait for (the output opened, a batch handed on): a
   * quarter of a million groups need no promise each.
   */
  const emitRows = (g: number): Promise<void> | undefined => {
    if (!begun) {
      const h2From = rowGrouper.headerRow(g, S_H2);
      return start(h2From < 0 ? undefined : rows.text(h2From, S_H2)).then(() => emitRows(g));
    }
    const hdata = ++counts.hdata;
    const first = rowGrouper.firstRow(g);
    rememberAt(hdata, rows.file(first), rows.line(first));
    const problems = rowGrouper.problems(g);
    if (problems) for (const p of problems) add(fromProblem(p, showIds, hdata, p.rdata ?? null));
    const masks = rows.masks;
    const hFields = rowGrouper.headerFields(g);
    // Text values are checked, in the order emit checks them; raw bytes need no check (and the
    // numbers given to r1 are digits).
    let textH = 0;
    for (let m = hFields; m !== 0; ) {
      const low = m & -m;
      m ^= low;
      const s = 31 - Math.clz32(low);
      const from = rowGrouper.headerRow(g, s);
      if (masks[rows.maskAt(from) + 2]! & low) {
        hText[s] = checkChars(rows.text(from, s)!, H_FIELDS[s]!.id, g, hdata, null);
        textH |= low;
      }
    }
    const n = rowGrouper.itemCount(g);
    const R = R_FIELDS.length;
    for (let k = 0; k < n; k++) {
      const row = rowGrouper.item(g, k);
      for (let m = masks[rows.maskAt(row) + 3]!; m !== 0; ) {
        const low = m & -m;
        m ^= low;
        const s = 31 - Math.clz32(low);
        rText[k * R + s] = checkChars(rows.text(row, R_SLOT0 + s)!, R_FIELDS[s]!.id, g, hdata, k + 1);
      }
    }
    const h2From = rowGrouper.headerRow(g, S_H2);
    const h2 = h2From < 0 ? undefined : textH & (1 << S_H2) ? hText[S_H2] : institutions.size < 16 || hdata === 1 ? rows.text(h2From, S_H2) : undefined;
    if (h2 !== undefined && institutions.size < 16) institutions.add(h2);
    counts.rdata += n;
    writer.beginHdata(hdata);
    for (let m = hFields; m !== 0; ) {
      const low = m & -m;
      m ^= low;
      const s = 31 - Math.clz32(low);
      if (textH & low) {
        const t = hText[s]!;
        if (t !== '') writer.text(s, t);
      } else writeRaw(s, rowGrouper.headerRow(g, s), s);
    }
    for (let k = 0; k < n; k++) {
      const row = rowGrouper.item(g, k);
      const mk = rows.maskAt(row);
      const present = masks[mk + 1]!;
      const text = masks[mk + 3]!;
      writer.beginRdata();
      // r1 numbered 1..n where the input has none.
      if ((present & 1) === 0) writer.text(R_FIELD_BASE, String(k + 1));
      for (let m = present; m !== 0; ) {
        const low = m & -m;
        m ^= low;
        const s = 31 - Math.clz32(low);
        if (text & low) {
          const t = rText[k * R + s]!;
          if (t !== '') writer.text(R_FIELD_BASE + s, t);
        } else writeRaw(R_FIELD_BASE + s, row, R_SLOT0 + s);
      }
      writer.endRdata();
    }
    writer.endHdata();
    live.set(hdata, g);
    if (options.onHdata) {
      let snap: Group | undefined;
      const group = () => (snap ??= snapshotRows(g));
      options.onHdata(hdata, group, (field, rdata) => locate(group(), field, rdata));
    }
    rowGroupsWritten = g + 1;
    // Its rows' values are written: only where they were is kept, for findings.
    rowGrouper.written(rowGroupsWritten);
    return writer.size >= batchBytes ? flushBatch() : undefined;
  };

  const infos: InputInfo[] = [];
  let seq = 0;
  let placed: string | null = null;
  try {
    for (const input of inputs) {
      const opened = await openInput(input, options.format ?? 'auto', (p) => resolve(cwd, p), chunkPool);
      const info: InputInfo = { file: opened.name, format: opened.format, encoding: null, records: 0 };
      infos.push(info);
      const report = (p: InputProblem) => add(fromProblem(p, showIds));
      if (opened.format === 'csv') {
        const csvRows = readCsvRows(opened.chunks, {
          file: opened.name,
          encoding: options.inputEncoding ?? 'auto',
          delimiter: options.delimiter ?? opened.delimiter ?? ',',
          map,
          supplied,
          info,
          store: rows,
          onPlaces: (places) => {
            placesByFile.set(opened.name, places);
            rowGrouper.places = places;
          },
        });
        for await (const { events, count } of csvRows) {
          // (indexed loops: an iterator's result for each of a million rows would be garbage)
          for (let e = 0; e < count; e++) {
            const ev = events[e]!;
            if (typeof ev !== 'number') {
              report(ev);
              continue;
            }
            seq++;
            completeRow(ev);
            const ready = rowGrouper.add(ev, seq);
            for (let k = 0; k < ready; k++) {
              const waiting = emitRows(rowGrouper.completed(k));
              if (waiting) await waiting;
            }
            if (seq % 1000 === 0) host.progress?.({ label: 'pack', done: seq, unit: 'rows' });
          }
        }
        counts.rows += info.records;
        for (const g of rowGrouper.flushAll()) await emitRows(g);
      } else {
        const records = opened.format === 'json' ? readJson(opened.chunks, { file: opened.name, encoding: options.inputEncoding ?? 'auto', map, report, info }) : readDailyXml(opened.chunks, { file: opened.name, report, info });
        for await (const rec of records) {
          seq++;
          complete(rec);
          for (const g of grouper.add(rec, seq)) await emit(g);
          if (seq % 1000 === 0) host.progress?.({ label: 'pack', done: seq, unit: 'rows' });
        }
        counts.rows += info.records;
        for (const g of grouper.flushAll()) await emit(g);
      }
      host.notify({
        level: 'verbose',
        code: 'PACK_INPUT',
        message: `${opened.name}${opened.entry ? ` (${opened.entry})` : ''}: ${opened.format.toUpperCase()}, ${info.encoding ?? 'no data'}, ${info.records} record${info.records === 1 ? '' : 's'}`,
      });
    }
    host.progress?.({ label: 'pack', done: seq, unit: 'rows' });
    if (counts.hdata > 0) {
      await flushBatch();
      writer.tail();
      const tail = writer.take().bytes;
      xmlBytes += tail.length;
      if (entry) {
        await deflate(tail);
        while (deflating.length > 0) await deflating.shift();
      }
    }
    await rules.drain();

    if (plan.mode === 'api' && counts.hdata > 0) {
      const named = zipName!.slice(0, 10);
      const others = [...institutions].filter((h) => h !== named);
      if (others.length) {
        add(
          packFinding({
            code: 'PACK_API_INSTITUTION',
            severity: 'error',
            field: 'h2',
            message: `檔名之醫事機構代碼與資料不符 — the file is named for ${named}, but records carry h2 ${others.slice(0, 3).join(', ')}`,
            hint: 'Pack each institution’s records separately, or correct h2.',
            source: null,
          }),
        );
      }
    }

    const target = zipName ? join(plan.dir, zipName) : null;
    let refused: PackResult['refused'] = null;
    if (counts.hdata === 0) refused = findings.errorCount > 0 ? 'invalid' : 'empty';
    else if (findings.errorCount > 0 && !options.force) refused = 'invalid';
    let zipBytes = 0;
    if (zip && entry && refused === null && !options.dryRun) {
      await entry.end();
      zipBytes = await zip.close();
      placed = await placeFile(tempPath, plan.dir, zipName!, plan.mode === 'name');
    }
    sortFindings(findings.errors, infos);
    sortFindings(findings.warnings, infos);
    return {
      ok: refused === null,
      output: placed,
      target,
      entry: entryName ?? null,
      refused,
      dryRun: options.dryRun ?? false,
      forced: refused === null && findings.errorCount > 0,
      counts,
      h16: stamp.h16,
      encoding,
      bytes: { xml: xmlBytes, zip: zipBytes },
      inputs: infos,
      errorCount: findings.errorCount,
      warningCount: findings.warningCount,
      byCode: findings.byCode,
      truncated: findings.truncated,
      errors: findings.errors,
      warnings: findings.warnings,
    };
  } finally {
    await rules.close();
    if (zip && placed === null) await zip.abort();
  }
}

/**
 * hdata → its group, for the hdata written and not yet checked: set in hdata order, dropped from the
 * front as batches are checked (a Map would churn through a quarter of a million entries).
 */
class LiveGroups<T> {
  /** A ring: hdata `first + k` at `(head + k) & mask`, `size` of them. */
  private items: Array<T | undefined> = new Array<T | undefined>(1024).fill(undefined);
  private mask = 1023;
  private head = 0;
  private size = 0;
  /** hdata of the oldest one held. */
  private first = 1;

  /** `hdata` is the next one: one more than the last set. */
  set(hdata: number, g: T): void {
    if (hdata !== this.first + this.size) throw new Error(`hdata ${hdata} set out of order`);
    if (this.size > this.mask) this.grow();
    this.items[(this.head + this.size) & this.mask] = g;
    this.size++;
  }

  get(hdata: number): T | undefined {
    const k = hdata - this.first;
    return k >= 0 && k < this.size ? this.items[(this.head + k) & this.mask] : undefined;
  }

  /** Forgets the hdata up to and including `hdata` (all of them set). */
  dropThrough(hdata: number): void {
    while (this.size > 0 && this.first <= hdata) {
      this.items[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
      this.size--;
      this.first++;
    }
  }

  /** Twice the room, the held ones from the start (a ring that has filled up). */
  private grow(): void {
    const items = new Array<T | undefined>(2 * (this.mask + 1)).fill(undefined);
    for (let k = 0; k < this.size; k++) items[k] = this.items[(this.head + k) & this.mask];
    this.items = items;
    this.mask = items.length - 1;
    this.head = 0;
  }
}

/** Findings in input order: by input file, then line; findings on the whole file first. */
function sortFindings(list: PackFinding[], infos: InputInfo[]): void {
  const order = new Map(infos.map((i, k) => [i.file, k]));
  const key = (f: PackFinding) => (f.source ? (order.get(f.source.file) ?? 0) * 1e10 + f.source.line : -1);
  list.sort((a, b) => key(a) - key(b) || (a.hdata ?? 0) - (b.hdata ?? 0) || (a.rdata ?? 0) - (b.rdata ?? 0));
}

