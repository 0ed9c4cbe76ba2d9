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
import { makeFinding, type FindingInput } from '../format/findings.js';
import { maskId, PERSON_ID_FIELDS } from '../format/national-id.js';
import { formatRocDate, parseUserDateTime, rocTimestamp, taipeiToday, type CalendarDate } from '../format/roc.js';
import { silentHost, type IoHost } from '../io-host.js';
import { StreamingValidator } from '../validate.js';
import { DailyXmlWriter, toFullWidth, type OutputEncoding } from '../xml/builder.js';
import { ZipWriter, type ZipEntryWriter } from '../archive/zip-writer.js';
import { EMPTY_MAP, loadColumnMap, type ColumnMap } from '../input/column-map.js';
import { readCsv } from '../input/csv-reader.js';
import { readJson } from '../input/json-reader.js';
import { openInput, type FormatOption, type PackInput } from '../input/open.js';
import type { InputEncodingOption, InputInfo, InputProblem, InputRecord, SourceLocation } from '../input/types.js';
import { readDailyXml } from '../input/xml-input.js';
import { fromProblem, packFinding, type PackFinding } from './findings.js';
import { Grouper, type Group } from './grouping.js';
import { entryNameFor, nextApiName, placeFile, planOutput } from './output-name.js';

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
   * Called with each hdata as it is written: its 1-based position, the input rows it was grouped
   * from, and where each of its values came from (how `labup explain` maps a check file back to the
   * export).
   */
  onHdata?: (hdata: number, group: Group, locate: (field: string | null, rdata: number | null) => SourceLocation) => void;
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

/** The validator of `labup validate`, its findings handed to `pack` as they are found. */
class ForwardingValidator extends StreamingValidator {
  sink: (f: FindingInput) => void = () => {};
  override add(input: FindingInput): void {
    this.sink(input);
  }
}

const SUSPECT = /[^\t\n\x20-\x7e]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

function hex(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}

/** Packs `inputs` into one upload ZIP. Bad data is reported in the result; bad usage throws a LabupError. */
export async function pack(inputs: PackInput[], options: PackOptions = {}): Promise<PackResult> {
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
  const add = (f: PackFinding) => findings.add(f);

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
  const locate = (g: Group, field: string | null, rdata: number | null): SourceLocation => {
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

  // Completing a record: h2 from --hosp, map defaults, h4 from h20, the h16 stamp.
  const h2Warned = new Set<string>();
  const complete = (rec: InputRecord) => {
    const h = rec.header;
    if (hosp) {
      if (h.h2 === undefined) h.h2 = hosp;
      else if (h.h2 !== hosp && h2Warned.size < 10 && !h2Warned.has(h.h2)) {
        h2Warned.add(h.h2);
        add(
          packFinding({
            code: 'PACK_H2_DIFFERS',
            severity: 'warning',
            field: 'h2',
            message: `醫事機構代碼與 --hosp 不同 — the input gives h2 “${h.h2}”, --hosp is ${hosp}; the input’s value is written (reported once per value)`,
            hint: 'Check that the export belongs to this institution; --hosp only fills records without h2.',
            source: { ...rec.at, ...rec.headerPlaces.h2 },
          }),
        );
      }
    }
    for (const [f, v] of defaultsH) if (h[f] === undefined) h[f] = v;
    if (defaultsR.length) for (const item of rec.items) for (const [f, v] of defaultsR) if (item[f] === undefined) item[f] = v;
    if (h.h4 === undefined && h.h20 !== undefined && /^\d{11}(\d{2})?$/.test(h.h20)) h.h4 = h.h20.slice(0, 5);
    h.h16 = stamp.h16;
  };

  // Characters the XML (or CP950) cannot carry: an error naming row and field, or replaced.
  const checkChars = (value: string, field: string, g: Group, hdata: number, rdata: number | null): string => {
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
  const writer = new DailyXmlWriter({ encoding });
  const validator = new ForwardingValidator('pack', { uploadDateResolved: stamp.date, showIds });
  const live = new Map<number, Group>();
  // Where each hdata started (6 bytes per hdata), to name the earlier record when a key repeats.
  let startLine = new Uint32Array(4096);
  let startFile = new Uint16Array(4096);
  const fileNames: string[] = [];
  const fileIndex = new Map<string, number>();
  const remember = (hdata: number, at: SourceLocation) => {
    if (hdata >= startLine.length) {
      const line = new Uint32Array(startLine.length * 2);
      line.set(startLine);
      startLine = line;
      const file = new Uint16Array(startFile.length * 2);
      file.set(startFile);
      startFile = file;
    }
    let fi = fileIndex.get(at.file);
    if (fi === undefined) {
      fi = fileNames.length;
      fileNames.push(at.file);
      fileIndex.set(at.file, fi);
    }
    startLine[hdata] = Math.min(at.line, 0xffffffff);
    startFile[hdata] = Math.min(fi, 0xffff);
  };
  validator.sink = (input) => {
    const g = input.hdata != null ? live.get(input.hdata) : undefined;
    if (input.code === 'DUPLICATE_KEY') {
      // The validator remembers every key of the file; for pack a repeat loses data, so it is an error.
      const first = Number(/hdata (\d+)/.exec(input.detail ?? '')?.[1] ?? 0);
      const file = first ? fileNames[startFile[first]!]! : '';
      const line = startLine[first];
      const earlier = first ? `hdata ${first}, from ${g && file === g.at.file ? `line ${line}` : `${file}:${line}`}` : 'an earlier hdata';
      add(
        packFinding({
          code: 'PACK_KEY_REPEATED',
          severity: 'error',
          nhiCode: '25',
          hdata: input.hdata ?? null,
          message: `同一醫令之資料重複 — this order’s key (h1–h10, h15, h20) was already written as ${earlier}; NHI would keep only the last of the two records`,
          hint:
            g && !g.sealed
              ? `Sort the export so that the rows of one order are together (they may be up to ${grouper.window.toLocaleString('en')} rows apart; --group-window raises that), or correct the key fields.`
              : 'Merge the two records into one order with all their items, or correct the key fields if they are different orders.',
          source: g ? g.at : null,
        }),
      );
      return;
    }
    const f = makeFinding(input);
    if (!showIds && f.value !== undefined && f.field && PERSON_ID_FIELDS.has(f.field) && /^[A-Za-z]/.test(f.value)) {
      const masked = maskId(f.value);
      f.value = masked;
      f.message = f.message.replace(/\("([^"]*)"\)$/, () => `(${JSON.stringify(masked)})`);
    }
    add({ ...f, source: g ? locate(g, f.field, f.rdata) : null });
  };

  let zip: ZipWriter | undefined;
  let entry: ZipEntryWriter | undefined;
  let zipName: string | undefined = plan.name;
  let entryName: string | undefined = plan.name ? entryNameFor(plan.name) : undefined;
  const institutions = new Set<string>();
  const counts: PackCounts = { rows: 0, hdata: 0, rdata: 0 };
  let xmlBytes = 0;
  let batch: Buffer[] = [];
  let batchSize = 0;
  const batchBytes = options.batchBytes ?? 256 * 1024;
  const tempPath = join(plan.dir, `.labup-pack-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);

  const start = async (first: Group) => {
    if (plan.mode === 'api') {
      const institution = hosp ?? first.header.h2 ?? '';
      zipName = await nextApiName(plan.dir, institution, h16Date);
      entryName = entryNameFor(zipName);
    }
    if (!options.dryRun) {
      try {
        zip = await ZipWriter.create(tempPath, { mode: 0o600 });
      } catch (err) {
        // Name the folder, not the temp file the user never asked for.
        throw fileError((err as { cause?: unknown }).cause ?? err, plan.dir, 'write into');
      }
      const p = taipeiParts(clock.now());
      entry = await zip.addEntry(entryName!, { mtime: p, mode: 0o600 });
    }
  };

  const flushBatch = async () => {
    if (batch.length === 0) return;
    const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchSize);
    batch = [];
    batchSize = 0;
    xmlBytes += buf.length;
    validator.write(buf);
    live.clear();
    if (entry) await entry.write(buf);
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
    if (hdata === 1) {
      await start(g);
      const head = writer.head();
      batch.push(head);
      batchSize += head.length;
    }
    const bytes = writer.record({ header: g.header, items: g.items });
    batch.push(bytes);
    batchSize += bytes.length;
    live.set(hdata, g);
    options.onHdata?.(hdata, g, (field, rdata) => locate(g, field, rdata));
    if (batchSize >= batchBytes) await flushBatch();
  };

  const infos: InputInfo[] = [];
  let seq = 0;
  let placed: string | null = null;
  try {
    for (const input of inputs) {
      const opened = await openInput(input, options.format ?? 'auto', (p) => resolve(cwd, p));
      const info: InputInfo = { file: opened.name, format: opened.format, encoding: null, records: 0 };
      infos.push(info);
      const report = (p: InputProblem) => add(fromProblem(p, showIds));
      const records =
        opened.format === 'csv'
          ? readCsv(opened.chunks, {
              file: opened.name,
              encoding: options.inputEncoding ?? 'auto',
              delimiter: options.delimiter ?? opened.delimiter ?? ',',
              map,
              supplied,
              report,
              info,
            })
          : opened.format === 'json'
            ? readJson(opened.chunks, { file: opened.name, encoding: options.inputEncoding ?? 'auto', map, report, info })
            : readDailyXml(opened.chunks, { file: opened.name, report, info });
      for await (const rec of records) {
        seq++;
        complete(rec);
        for (const g of grouper.add(rec, seq)) await emit(g);
        if (seq % 1000 === 0) host.progress?.({ label: 'pack', done: seq, unit: 'rows' });
      }
      counts.rows += info.records;
      for (const g of grouper.flushAll()) await emit(g);
      host.notify({
        level: 'verbose',
        code: 'PACK_INPUT',
        message: `${opened.name}${opened.entry ? ` (${opened.entry})` : ''}: ${opened.format.toUpperCase()}, ${info.encoding ?? 'no data'}, ${info.records} record${info.records === 1 ? '' : 's'}`,
      });
    }
    host.progress?.({ label: 'pack', done: seq, unit: 'rows' });
    if (counts.hdata > 0) {
      await flushBatch();
      const tail = writer.tail();
      xmlBytes += tail.length;
      validator.write(tail);
      if (entry) await entry.write(tail);
    }
    if (counts.hdata > 0) validator.end();

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
    if (zip && placed === null) await zip.abort();
  }
}

/** Findings in input order: by input file, then line; findings on the whole file first. */
function sortFindings(list: PackFinding[], infos: InputInfo[]): void {
  const order = new Map(infos.map((i, k) => [i.file, k]));
  const key = (f: PackFinding) => (f.source ? (order.get(f.source.file) ?? 0) * 1e10 + f.source.line : -1);
  list.sort((a, b) => key(a) - key(b) || (a.hdata ?? 0) - (b.hdata ?? 0) || (a.rdata ?? 0) - (b.rdata ?? 0));
}

