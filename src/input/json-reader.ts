/**
 * Reads NDJSON or JSON exports for `pack`, streaming:
 *
 * - NDJSON (or any sequence of JSON objects separated by white space, one per line or pretty-
 *   printed), or a JSON array of objects, read element by element — never the whole file.
 * - An object with an `items` array is one order (hdata) with its result items; an object
 *   without is one flat row, like a CSV row. Keys are field ids, 資料名稱, or names the column map
 *   translates; r-fields on an order apply to each of its items that lacks them.
 *
 * Findings name the JSON line and an RFC 6901 pointer (`/items/2/r4`; `/12/items/0/r4` inside an
 * array document).
 */
import { usageError } from '../errors.js';
import { FIELD_BY_ID, type FieldId, type HFieldId, type RFieldId } from '../format/fields.js';
import { applyTarget, cleanValue, resolveColumn, type ColumnMap, type ColumnResolution } from './column-map.js';
import { InputDecoder } from './decode.js';
import { JsonSyntaxError, parseJson, pointerToken, type JsonNode } from './json-parse.js';
import type { FieldPlaces, InputEncodingOption, InputInfo, InputRecord, ReportProblem, SourceLocation } from './types.js';

export interface JsonReadOptions {
  file: string;
  encoding: InputEncodingOption;
  map: ColumnMap;
  report: ReportProblem;
  info: InputInfo;
  /** Longest single value accepted (default 16 MiB). */
  maxValueChars?: number;
}

interface Pending {
  line: number;
  column: number;
  /** Index in the top-level array, or null for a sequence. */
  index: number | null;
}

/** Splits decoded lines into top-level JSON values. */
class ValueSplitter {
  private mode: 'start' | 'seq' | 'array' | 'done' = 'start';
  /** In an array: a value was just read, a comma or `]` must follow. */
  private afterValue = false;
  private index = 0;
  private collecting: Pending | null = null;
  private parts: string[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private scalar = false;

  constructor(
    private readonly emit: (text: string, at: Pending) => void,
    private readonly problem: (message: string, line: number, column: number) => void,
    private readonly max: number,
    private readonly file: string,
  ) {}

  line(text: string, lineNo: number): void {
    let i = 0;
    let segStart = 0;
    const n = text.length;
    while (i < n) {
      const c = text[i]!;
      if (!this.collecting) {
        if (c === ' ' || c === '\t' || c === '\r' || c === '\ufeff') {
          i++;
          continue;
        }
        if (this.mode === 'start') {
          if (c === '[') {
            this.mode = 'array';
            i++;
            continue;
          }
          this.mode = 'seq';
        }
        if (this.mode === 'done') {
          this.problem(`unexpected ${JSON.stringify(c)} after the closing ] of the array`, lineNo, i + 1);
          return;
        }
        if (this.mode === 'array') {
          if (c === ']' && (this.afterValue || this.index === 0)) {
            this.mode = 'done';
            i++;
            continue;
          }
          if (this.afterValue) {
            if (c === ',') {
              this.afterValue = false;
              i++;
              continue;
            }
            this.problem(`expected "," or "]" between the array's elements, found ${JSON.stringify(c)}`, lineNo, i + 1);
            // A stray "}" is skipped; taken as the start of an (empty) element it would be met again, forever.
            if (c === '}') {
              i++;
              continue;
            }
            this.afterValue = false;
          }
          if (c === '}' || c === ']') {
            this.problem(c === ']' ? 'a "," before "]" with no element after it' : 'unexpected "}" where an element should start', lineNo, i + 1);
            if (c === ']') this.mode = 'done';
            i++;
            continue;
          }
        } else if (c === ',' || c === ']' || c === '}') {
          this.problem(`unexpected ${JSON.stringify(c)} between objects (NDJSON has one object per line, no commas; a JSON document is one [ … ] array)`, lineNo, i + 1);
          i++;
          continue;
        }
        this.collecting = { line: lineNo, column: i + 1, index: this.mode === 'array' ? this.index : null };
        this.depth = 0;
        this.inString = false;
        this.escape = false;
        this.scalar = c !== '{' && c !== '[' && c !== '"';
        this.parts = [];
        this.size = 0;
        segStart = i;
      }
      // Inside a value.
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === '\\') this.escape = true;
        else if (c === '"') {
          this.inString = false;
          if (this.depth === 0) {
            this.complete(text.slice(segStart, i + 1));
            i++;
            continue;
          }
        }
        i++;
        continue;
      }
      if (this.scalar) {
        if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === ']' || c === '}') {
          this.complete(text.slice(segStart, i));
          continue;
        }
        i++;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          this.complete(text.slice(segStart, i + 1));
          i++;
          continue;
        }
      }
      i++;
    }
    if (this.collecting) {
      if (this.scalar) {
        this.complete(text.slice(segStart));
        return;
      }
      this.parts.push(text.slice(segStart));
      this.size += n - segStart + 1;
      if (this.size > this.max) {
        throw usageError('JSON_VALUE_TOO_LONG', `${this.file}:${this.collecting.line}: a JSON value starting here is longer than ${Math.round(this.max / 1048576)} MiB`, {
          hint: 'Probably a bracket or quote is never closed; otherwise split the export into one object per order.',
        });
      }
    }
  }

  private complete(lastPart: string): void {
    const at = this.collecting!;
    this.parts.push(lastPart);
    const text = this.parts.join('\n');
    this.collecting = null;
    this.parts = [];
    this.size = 0;
    if (this.mode === 'array') {
      this.index++;
      this.afterValue = true;
    }
    this.emit(text, at);
  }

  end(lastLine: number): void {
    if (this.collecting) {
      throw usageError('JSON_UNCLOSED', `${this.file}:${this.collecting.line}: the JSON value starting here is not closed by the end of the file`, {
        hint: 'Close every { [ and " — each NDJSON line must be a complete object.',
      });
    }
    if (this.mode === 'array') {
      this.problem('the array is not closed with ]', lastLine, 1);
    }
  }
}

/** Streams the records of an NDJSON or JSON export. */
export async function* readJson(chunks: AsyncIterable<Buffer>, o: JsonReadOptions): AsyncGenerator<InputRecord> {
  const decoder = new InputDecoder(o.encoding, o.file);
  const out: InputRecord[] = [];
  const warnedKeys = new Set<string>();
  const resolutions = new Map<string, ColumnResolution>();
  const resolve = (key: string): ColumnResolution => {
    let r = resolutions.get(key);
    if (!r) {
      r = resolveColumn(key, o.map);
      resolutions.set(key, r);
    }
    return r;
  };
  const syntax = (message: string, line: number, column: number) =>
    o.report({ code: 'PACK_JSON_SYNTAX', severity: 'error', message: `JSON 格式錯誤 — not valid JSON: ${message}`, hint: 'Fix the JSON at this line; each NDJSON line must be one complete object.', source: { file: o.file, line, column } });
  const splitter = new ValueSplitter(
    (text, at) => {
      let node: JsonNode;
      o.info.records++;
      try {
        node = parseJson(text, at.line, at.column);
      } catch (err) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        syntax(err.message, err.line, err.column);
        return;
      }
      const rec = toRecord(node, at.index === null ? '' : `/${at.index}`, o, resolve, warnedKeys);
      if (rec) out.push(rec);
    },
    syntax,
    o.maxValueChars ?? 16 * 1024 * 1024,
    o.file,
  );

  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  const feedLines = (buf: Buffer, final: boolean): Buffer => {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      feed(buf, start, nl);
      start = nl + 1;
    }
    if (final && start < buf.length) {
      feed(buf, start, buf.length);
      start = buf.length;
    }
    return buf.subarray(start);
  };
  const feed = (buf: Buffer, start: number, end: number) => {
    lineNo++;
    if (end > start && buf[end - 1] === 0x0d) end--;
    const d = decoder.decode(buf, start, end);
    if (d.badAt >= 0) {
      o.report({
        code: 'PACK_INPUT_BYTES',
        severity: 'error',
        message: `無法解碼的位元組 — bytes ${d.badBytes} that ${decoder.encoding === 'big5' ? 'Big5 (CP950)' : 'UTF-8'} cannot decode`,
        hint: decoder.badBytesHint(buf, start + d.badAt),
        source: { file: o.file, line: lineNo, column: d.badAt + 1 },
      });
    }
    splitter.line(d.text, lineNo);
  };
  for await (const chunk of chunks) {
    const c = decoder.look(chunk);
    carry = feedLines(carry.length ? Buffer.concat([carry, c]) : c, false);
    if (carry.length > (o.maxValueChars ?? 16 * 1024 * 1024) * 4) {
      throw usageError('JSON_LINE_TOO_LONG', `${o.file}:${lineNo + 1}: a line longer than ${Math.round((o.maxValueChars ?? 16 * 1024 * 1024) / 1048576)} MiB`, { hint: 'Write one object per line (NDJSON), or split the export.' });
    }
    if (out.length) yield* out.splice(0);
  }
  feedLines(carry, true);
  splitter.end(lineNo);
  o.info.encoding = decoder.label;
  if (out.length) yield* out.splice(0);
}

type Resolve = (key: string) => ColumnResolution;

function toRecord(node: JsonNode, base: string, o: JsonReadOptions, resolve: Resolve, warnedKeys: Set<string>): InputRecord | null {
  const at: SourceLocation = { file: o.file, line: node.line, ...(base ? { pointer: base } : {}) };
  if (node.type !== 'object') {
    shape(o, at, `expected an object (one order with "items", or one row), found ${describe(node)}`);
    return null;
  }
  const itemsEntry = node.entries.find((e) => e.key === 'items');
  const header: Partial<Record<HFieldId, string>> = {};
  const headerPlaces: FieldPlaces = {};
  const orderItemValues: Partial<Record<RFieldId, string>> = {};
  const orderItemPlaces: FieldPlaces = {};
  const put = (key: string, v: JsonNode, pointer: string, sink: 'order' | 'item', item?: { values: Partial<Record<RFieldId, string>>; places: FieldPlaces }) => {
    const res = resolve(key);
    if (res.kind === 'ignore') return;
    const place: Partial<SourceLocation> = { line: v.line, pointer, columnName: key };
    if (res.kind === 'unknown') {
      if (!warnedKeys.has(key)) {
        warnedKeys.add(key);
        o.report({
          code: 'PACK_COLUMN_UNKNOWN',
          severity: 'warning',
          message: `欄位名稱不在表一 — key “${key}” is not a field of 表一 nor in the map; it is ignored (reported once)`,
          hint: 'Map it to a field (--map: { "columns": { "KEY": "h9" } }), or to null to ignore it without this warning.',
          source: { ...at, ...place },
        });
      }
      return;
    }
    const field = res.target.field;
    const def = FIELD_BY_ID.get(field)!;
    const raw = scalar(v);
    if (raw === undefined) {
      shape(o, { ...at, ...place }, `${field} ${def.zh}: expected a string or a number, found ${describe(v)}`, field);
      return;
    }
    if (raw === null) return;
    const value = cleanValue(raw);
    if (value === '') return;
    const c = applyTarget(value, res.target);
    if (!c.ok) {
      o.report({ code: 'PACK_DATE_CONVERT', severity: 'error', message: `日期轉換失敗 — ${c.message}`, hint: c.hint, source: { ...at, ...place }, field, value });
      return;
    }
    if (def.section === 'h') {
      if (sink === 'item') {
        shape(o, { ...at, ...place }, `${field} ${def.zh} is a header field: put it on the order, not inside "items"`, field);
        return;
      }
      header[field as HFieldId] = c.value;
      headerPlaces[field] = place;
    } else if (sink === 'item') {
      item!.values[field as RFieldId] = c.value;
      item!.places[field] = place;
    } else {
      orderItemValues[field as RFieldId] = c.value;
      orderItemPlaces[field] = place;
    }
  };
  for (const e of node.entries) {
    if (e === itemsEntry) continue;
    put(e.key, e.value, `${base}/${pointerToken(e.key)}`, 'order');
  }
  if (!itemsEntry) {
    if (Object.keys(header).length === 0 && Object.keys(orderItemValues).length === 0) return null;
    return { kind: 'row', header, items: [orderItemValues], at, itemsAt: [at], headerPlaces, itemPlaces: [orderItemPlaces] };
  }
  const list = itemsEntry.value;
  if (list.type !== 'array') {
    shape(o, { ...at, line: list.line, pointer: `${base}/items` }, `"items" must be an array of result items, found ${describe(list)}`);
    return null;
  }
  const items: Array<Partial<Record<RFieldId, string>>> = [];
  const itemsAt: SourceLocation[] = [];
  const itemPlaces: FieldPlaces[] = [];
  list.items.forEach((itemNode, i) => {
    const ptr = `${base}/items/${i}`;
    const itemAt: SourceLocation = { file: o.file, line: itemNode.line, pointer: ptr };
    if (itemNode.type !== 'object') {
      shape(o, itemAt, `each item must be an object, found ${describe(itemNode)}`);
      return;
    }
    const item = { values: { ...orderItemValues } as Partial<Record<RFieldId, string>>, places: { ...orderItemPlaces } as FieldPlaces };
    for (const e of itemNode.entries) put(e.key, e.value, `${ptr}/${pointerToken(e.key)}`, 'item', item);
    items.push(item.values);
    itemsAt.push(itemAt);
    itemPlaces.push(item.places);
  });
  return { kind: 'order', header, items, at, itemsAt, headerPlaces, itemPlaces };
}

/** A JSON scalar as text; null for JSON null; undefined for anything that is not a scalar. */
function scalar(v: JsonNode): string | null | undefined {
  if (v.type === 'string' || v.type === 'number') return v.value;
  if (v.type === 'null') return null;
  return undefined;
}

function describe(v: JsonNode): string {
  return v.type === 'object' ? 'an object' : v.type === 'array' ? 'an array' : v.type === 'null' ? 'null' : `${v.type} ${JSON.stringify(v.value)}`;
}

function shape(o: JsonReadOptions, source: SourceLocation, message: string, field?: FieldId): void {
  o.report({ code: 'PACK_JSON_SHAPE', severity: 'error', message: `JSON 結構不符 — ${message}`, hint: 'Give one object per order with an "items" array of result items, or one flat object per result item.', source, ...(field ? { field } : {}) });
}
