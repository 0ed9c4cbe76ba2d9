/**
 * What the input readers (CSV, JSON, daily XML) hand to `pack`: records with their values keyed by
 * field id, and where every value came from, so that a finding on the built XML can name the
 * line and column of the export that support staff must fix.
 */
import type { HFieldId, RFieldId, FieldId } from '../format/fields.js';

/** A place in an input file. */
export interface SourceLocation {
  /** The input file as given (or `-` for standard input). */
  file: string;
  /** 1-based line where the row, object or element starts. */
  line: number;
  /** CSV: 1-based column number of the value; XML: 1-based character column. */
  column?: number;
  /** CSV: the header of the column; JSON: the key. */
  columnName?: string;
  /** CSV: 1-based data row (the header row not counted). */
  row?: number;
  /** JSON: RFC 6901 pointer to the value, from the document's root. */
  pointer?: string;
  /** Set when the value did not come from the input: `--hosp`, `map defaults`, `derived from h20`, `numbered`, `h16 stamp`. */
  from?: string;
}

/** Where each field's value sits inside a row (shared between the rows of a CSV). */
export type FieldPlaces = Partial<Record<FieldId, Partial<SourceLocation>>>;

/**
 * One unit of input. A `row` is one result item with its order's header values (CSV rows, flat
 * JSON objects): consecutive rows of one order are grouped into one hdata. An `order` is a whole
 * hdata with its items (nested JSON, daily XML).
 */
export interface InputRecord {
  kind: 'row' | 'order';
  header: Partial<Record<HFieldId, string>>;
  items: Array<Partial<Record<RFieldId, string>>>;
  /** Where the row, object or hdata starts. */
  at: SourceLocation;
  /** Where each item starts (for a row: the row itself). */
  itemsAt: SourceLocation[];
  /** Where the header values sit, relative to `at`. */
  headerPlaces: FieldPlaces;
  /** Where each item's values sit, relative to its `itemsAt`. */
  itemPlaces: FieldPlaces[];
  /** The h16 an existing daily XML carried (re-stamping must move it forward). */
  previousH16?: string;
}

/** A problem in the input itself, reported by a reader. */
export interface InputProblem {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint: string;
  source: SourceLocation;
  field?: FieldId | null;
  value?: string;
}

export type ReportProblem = (p: InputProblem) => void;

export type InputEncoding = 'utf-8' | 'big5';
export type InputEncodingOption = InputEncoding | 'auto';

export type InputFormat = 'csv' | 'json' | 'xml';

/** What `pack` learnt about one input, for the report. */
export interface InputInfo {
  file: string;
  format: InputFormat;
  /** The input encoding and how it was chosen, e.g. `Big5 (CP950), detected`. */
  encoding: string | null;
  /** CSV: the header's columns and what each became. */
  columns?: Array<{ name: string; field: FieldId | null; via: 'map' | 'name' | 'ignored' | 'unknown' }>;
  /** Input records read (CSV data rows, JSON objects, XML hdata). */
  records: number;
}
