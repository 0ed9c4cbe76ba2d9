/**
 * Writes the daily XML: elements in spec order (from the 表一 table), empty fields omitted, the
 * five XML specials written full-width, encoded as CP950 (Big5) or UTF-8.
 */
import { encodeCp950, type EncodeProblem } from '../encoding/cp950.js';
import { H_FIELDS, R_FIELDS, ROOT_ELEMENT, HDATA_ELEMENT, RDATA_ELEMENT, type HFieldId, type RFieldId } from '../format/fields.js';

export type OutputEncoding = 'big5' | 'utf-8';

/** One order (hdata) with its items (rdata), values keyed by field id. */
export interface DailyRecord {
  header: Partial<Record<HFieldId, string>>;
  items: Array<Partial<Record<RFieldId, string>>>;
}

/**
 * Full-width replacements NHI asks for. CP950 has no ＂ (U+FF02): in Big5 output a double quote
 * becomes ” (U+201D, CP950 A1A8) instead — see docs/format.md.
 */
export const FULL_WIDTH: Record<OutputEncoding, Record<string, string>> = {
  'utf-8': { '<': '＜', '>': '＞', '&': '＆', "'": '’', '"': '＂' },
  big5: { '<': '＜', '>': '＞', '&': '＆', "'": '’', '"': '”', '＂': '”' },
};

const SPECIALS_UTF8 = /[<>&'"]/g;
const SPECIALS_BIG5 = /[<>&'"＂]/g;

export function toFullWidth(value: string, encoding: OutputEncoding): string {
  const map = FULL_WIDTH[encoding];
  return value.replace(encoding === 'big5' ? SPECIALS_BIG5 : SPECIALS_UTF8, (c) => map[c]!);
}


export interface EncodingProblem {
  field: string;
  /** 0-based index of the item for r-fields; null for header fields. */
  item: number | null;
  char: string;
}

export interface WriterOptions {
  encoding?: OutputEncoding;
  /** Two-space indentation (default true); the file stays readable at little cost. */
  indent?: boolean;
}

/**
 * Serialises records. `record()` returns the bytes of one hdata and reports characters the
 * encoding cannot carry in `problems` (written as `?`): the caller refuses or warns.
 */
export class DailyXmlWriter {
  readonly encoding: OutputEncoding;
  private readonly i1: string;
  private readonly i2: string;
  private readonly i3: string;

  constructor(options: WriterOptions = {}) {
    this.encoding = options.encoding ?? 'big5';
    const indent = options.indent ?? true;
    this.i1 = indent ? '  ' : '';
    this.i2 = indent ? '    ' : '';
    this.i3 = indent ? '      ' : '';
  }

  head(): Buffer {
    const decl = this.encoding === 'big5' ? 'Big5' : 'UTF-8';
    return Buffer.from(`<?xml version="1.0" encoding="${decl}"?>\n<${ROOT_ELEMENT}>\n`, 'latin1');
  }

  tail(): Buffer {
    return Buffer.from(`</${ROOT_ELEMENT}>\n`, 'latin1');
  }

  /** The text of one hdata (not yet encoded). */
  recordText(rec: DailyRecord): string {
    let s = `${this.i1}<${HDATA_ELEMENT}>\n`;
    const h = rec.header as Record<string, string | undefined>;
    for (const f of H_FIELDS) {
      const v = h[f.id];
      if (v !== undefined && v !== '') s += `${this.i2}<${f.id}>${toFullWidth(v, this.encoding)}</${f.id}>\n`;
    }
    for (const item of rec.items) {
      s += `${this.i2}<${RDATA_ELEMENT}>\n`;
      const r = item as Record<string, string | undefined>;
      for (const f of R_FIELDS) {
        const v = r[f.id];
        if (v !== undefined && v !== '') s += `${this.i3}<${f.id}>${toFullWidth(v, this.encoding)}</${f.id}>\n`;
      }
      s += `${this.i2}</${RDATA_ELEMENT}>\n`;
    }
    s += `${this.i1}</${HDATA_ELEMENT}>\n`;
    return s;
  }

  /** Encodes one hdata; unencodable characters are pushed to `problems` with their field. */
  record(rec: DailyRecord, problems?: EncodingProblem[]): Buffer {
    const text = this.recordText(rec);
    if (this.encoding === 'utf-8') return Buffer.from(text, 'utf8');
    const raw: EncodeProblem[] = [];
    const out = encodeCp950(text, raw);
    if (raw.length && problems) for (const p of raw) problems.push(locate(rec, p.char, this.encoding));
    return out;
  }

  /** Encodes any text in the writer's encoding. */
  encodeText(text: string): Buffer {
    return this.encoding === 'utf-8' ? Buffer.from(text, 'utf8') : encodeCp950(text);
  }
}

/** Finds which field holds an unencodable character, for an actionable message. */
function locate(rec: DailyRecord, char: string, encoding: OutputEncoding): EncodingProblem {
  for (const [id, v] of Object.entries(rec.header)) if (v && toFullWidth(v, encoding).includes(char)) return { field: id, item: null, char };
  for (let i = 0; i < rec.items.length; i++) {
    for (const [id, v] of Object.entries(rec.items[i]!)) if (v && toFullWidth(v, encoding).includes(char)) return { field: id, item: i, char };
  }
  return { field: '?', item: null, char };
}
