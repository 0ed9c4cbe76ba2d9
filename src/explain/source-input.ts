/**
 * Finding a check file's positions in the export an upload was packed from (CSV, TSV, NDJSON or
 * JSON). The positions are those of the XML `labup pack` wrote, so the export is run through pack
 * itself — its readers, its column map, its grouping of rows into hdata — without writing anything,
 * and each hdata the check file names is kept with the input rows it came from.
 */
import { FIELD_BY_ID, type HFieldId, type RFieldId } from '../format/fields.js';
import type { Clock } from '../clock.js';
import type { IoHost } from '../io-host.js';
import type { SourceLocation } from '../input/types.js';
import type { Group } from '../pack/grouping.js';
import { pack } from '../pack/pack.js';
import type { CheckRow } from './check-file.js';
import type { SourceHit, SourceIndex, SourcePlace, SourceRow } from './source.js';

/** The options `labup pack` was run with that decide which rows become which hdata. */
export interface PackedSourceOptions {
  cwd?: string;
  host?: IoHost;
  clock?: Clock;
  format?: 'csv' | 'tsv' | 'json';
  /** Column map: a path to map.json (as given to pack). */
  map?: string;
  /** 醫事機構代碼 for records without h2 (pack's --hosp). */
  hosp?: string;
  delimiter?: string;
  inputEncoding?: 'auto' | 'utf-8' | 'big5';
  groupWindow?: number;
}

interface Kept {
  header: Partial<Record<HFieldId, string>>;
  items: Array<Partial<Record<RFieldId, string>>>;
  /** Rows of an order exported one row per item (not a nested order). */
  rows: SourceRow[] | null;
  locate: (field: string | null, rdata: number | null) => SourceLocation;
}

/** A spreadsheet row counts the header as row 1; pack counts data rows from 1. */
function sheetRow(loc: Partial<SourceLocation>): number | undefined {
  return loc.row !== undefined ? loc.row + 1 : undefined;
}

function toPlace(loc: SourceLocation, at: SourcePlace['at'], rows: SourceRow[] | null): SourcePlace {
  const row = sheetRow(loc);
  return {
    file: loc.file,
    line: loc.line,
    ...(loc.column !== undefined ? { column: loc.column } : {}),
    ...(row !== undefined ? { row } : {}),
    ...(loc.columnName !== undefined ? { columnName: loc.columnName } : {}),
    ...(loc.pointer !== undefined ? { pointer: loc.pointer } : {}),
    ...(loc.from !== undefined ? { from: loc.from } : {}),
    at,
    // Every row of the order carries a header value, unless labup supplied it (--hosp, map defaults).
    ...(rows && rows.length > 1 && loc.from === undefined ? { rows } : {}),
  };
}

/**
 * A field's place is the field itself when it has a value, or an empty CSV cell in its column;
 * otherwise the row (or JSON object) that lacks it.
 *
 * Runs the export through `pack` (nothing written) and keeps the hdata at the `wanted` positions. */
export async function indexPackedSource(file: string, wanted: ReadonlySet<number>, options: PackedSourceOptions = {}): Promise<SourceIndex> {
  const kept = new Map<number, Kept>();
  const result = await pack([file], {
    dryRun: true,
    force: true,
    maxStoredFindings: 0,
    showIds: true,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.host ? { host: { notify: () => {}, progress: (p) => options.host!.progress?.({ ...p, label: 'explain' }) } } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.format ? { format: options.format } : {}),
    ...(options.map !== undefined ? { map: options.map } : {}),
    ...(options.hosp !== undefined ? { hosp: options.hosp } : {}),
    ...(options.delimiter !== undefined ? { delimiter: options.delimiter } : {}),
    ...(options.inputEncoding !== undefined ? { inputEncoding: options.inputEncoding } : {}),
    ...(options.groupWindow !== undefined ? { groupWindow: options.groupWindow } : {}),
    onHdata: (hdata: number, group: () => Group, locate) => {
      if (!wanted.has(hdata)) return;
      const g = group();
      const rows = g.sealed ? null : g.itemsAt.map((at) => ({ line: at.line, ...(at.row !== undefined ? { row: at.row + 1 } : {}) }));
      kept.set(hdata, { header: { ...g.header }, items: g.items.map((it) => ({ ...it })), rows, locate });
    },
  });
  const format = result.inputs[0]?.format === 'json' ? 'json' : 'csv';

  return {
    file,
    format,
    entry: null,
    counts: { hdata: result.counts.hdata, rdata: result.counts.rdata },
    stoppedAt: null,
    rdataOf: (h) => kept.get(h)?.items.length,
    locate(row: CheckRow): SourceHit | undefined {
      if (row.hdata === null) return { place: null, patient: null, orderCode: null, value: null };
      const k = kept.get(row.hdata);
      if (!k) return undefined;
      if (row.rdata !== null && row.rdata > k.items.length) return undefined;
      const def = row.field ? FIELD_BY_ID.get(row.field) : undefined;
      const patient = k.header.h9 ?? null;
      const orderCode = k.header.h15 ?? null;
      if (def?.section === 'r' && row.rdata !== null) {
        const value = (k.items[row.rdata - 1] as Record<string, string | undefined>)[def.id] ?? null;
        const loc = k.locate(def.id, row.rdata);
        return { place: toPlace(loc, value !== null || loc.columnName !== undefined ? 'field' : 'rdata', null), patient, orderCode, value };
      }
      if (def?.section === 'h') {
        const value = (k.header as Record<string, string | undefined>)[def.id] ?? null;
        const loc = k.locate(def.id, null);
        return { place: toPlace(loc, value !== null || loc.columnName !== undefined ? 'field' : 'hdata', k.rows), patient, orderCode, value };
      }
      if (row.rdata !== null) return { place: toPlace(k.locate(null, row.rdata), 'rdata', null), patient, orderCode, value: null };
      return { place: toPlace(k.locate(null, null), 'hdata', k.rows), patient, orderCode, value: null };
    },
  };
}
