/**
 * Where an error of the check file sits in the data support staff can edit: the uploaded XML (or
 * its ZIP), or the HIS export `labup pack` built it from (CSV, NDJSON/JSON).
 */
import type { CheckRow } from './check-file.js';

export type SourceFormat = 'xml' | 'csv' | 'json';

/** One row (or object) of an export, for errors that concern every row of an order. */
export interface SourceRow {
  line: number;
  /** CSV: the spreadsheet row number (the header is row 1). */
  row?: number;
  /** JSON: pointer to the object. */
  pointer?: string;
}

/** A place in the source. */
export interface SourcePlace {
  /** The source file as given. */
  file: string;
  /** For a ZIP source: the XML entry inside it, which `line`/`column` refer to. */
  entry?: string;
  /** 1-based physical line: the field's element (XML), the row's first line (CSV), the object's line (NDJSON). */
  line: number;
  /** XML: character column of the element; CSV: column number of the value. */
  column?: number;
  /** CSV: the spreadsheet row number, counting the header as row 1 (a row may span lines). */
  row?: number;
  /** CSV: the column's header. */
  columnName?: string;
  /** NDJSON/JSON: RFC 6901 pointer to the value, from the root of its document. */
  pointer?: string;
  /** The value did not come from the input: `--hosp`, `map defaults`, `derived from h20`, `numbered`, `h16 stamp`. */
  from?: string;
  /** What the place is: the field itself, its rdata or hdata (the field is absent), or a spot in the file. */
  at: 'field' | 'rdata' | 'hdata' | 'file';
  /** A header field of an order exported as several rows: every row that carries it (all need the fix). */
  rows?: SourceRow[];
}

/** What the source says about one error. */
export interface SourceHit {
  place: SourcePlace | null;
  /** h9 of the record, unmasked (mask before showing). */
  patient: string | null;
  /** h15 醫令代碼 of the record. */
  orderCode: string | null;
  /** The field's current value in the source, unmasked; null when absent or not a field error. */
  value: string | null;
}

/** A source read for the positions a check file names. */
export interface SourceIndex {
  file: string;
  format: SourceFormat;
  /** The XML entry of a ZIP source. */
  entry: string | null;
  /** hdata and rdata the source holds (as uploaded: CSV rows grouped as `labup pack` groups them). */
  counts: { hdata: number; rdata: number };
  /** rdata per hdata for the positions asked for. */
  rdataOf(hdata: number): number | undefined;
  /** Set when the source could not be read to its end (an XML syntax error): where it stopped. */
  stoppedAt: { line: number; message: string } | null;
  /** Finds an error's record; undefined when the source has no such position. */
  locate(row: CheckRow): SourceHit | undefined;
}

/** The hdata positions a check file refers to. */
export function wantedHdata(rows: readonly CheckRow[]): Set<number> {
  const wanted = new Set<number>();
  for (const r of rows) if (r.hdata !== null) wanted.add(r.hdata);
  return wanted;
}
