/**
 * Records for `entry add FILE`: the JSON `labup pack` reads (an order object with `items`, flat
 * rows, NDJSON or an array of them; keys are field ids or 資料名稱; numbers keep their digits), read
 * by pack's own reader and grouped by pack's own grouper. The output of `entry show --json` (an
 * object whose `order` member is the order) is accepted as well, to copy a draft.
 */
import { usageError } from '../errors.js';
import { EMPTY_MAP } from '../input/column-map.js';
import { JsonSyntaxError, parseJson, type JsonNode } from '../input/json-parse.js';
import { readJson } from '../input/json-reader.js';
import type { InputInfo, InputProblem } from '../input/types.js';
import { formatSource } from '../pack/findings.js';
import { Grouper } from '../pack/grouping.js';
import { maskIdsInText } from '../format/national-id.js';
import type { DailyRecord } from './record.js';

export interface JsonOrdersResult {
  records: DailyRecord[];
  /** Warnings about the input (unknown keys, rows of one order disagreeing). */
  warnings: string[];
}

/** A node written back as JSON text, numbers exactly as they were written. */
function toText(n: JsonNode): string {
  switch (n.type) {
    case 'string':
      return JSON.stringify(n.value);
    case 'number':
      return n.value;
    case 'boolean':
      return String(n.value);
    case 'null':
      return 'null';
    case 'array':
      return `[${n.items.map(toText).join(',')}]`;
    case 'object':
      return `{${n.entries.map((e) => `${JSON.stringify(e.key)}:${toText(e.value)}`).join(',')}}`;
  }
}

/** `{ "order": {…} }` (the output of `entry show --json`) → the order itself; arrays of such too. */
function unwrapShown(text: string): string {
  let node: JsonNode;
  try {
    node = parseJson(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof JsonSyntaxError) return text;
    throw err;
  }
  const inner = (n: JsonNode): JsonNode | undefined => (n.type === 'object' ? n.entries.find((e) => e.key === 'order' && e.value.type === 'object')?.value : undefined);
  if (node.type === 'object') {
    const o = inner(node);
    return o ? toText(o) : text;
  }
  if (node.type === 'array' && node.items.some((i) => inner(i))) return `[${node.items.map((i) => toText(inner(i) ?? i)).join(',')}]`;
  return text;
}

/** Reads the orders of a JSON text; input errors stop with one usage error naming line and key. */
export async function readJsonOrders(text: string, name: string, o: { showIds?: boolean } = {}): Promise<JsonOrdersResult> {
  const problems: InputProblem[] = [];
  const info: InputInfo = { file: name, format: 'json', encoding: null, records: 0 };
  const source = unwrapShown(text);
  async function* chunks() {
    yield Buffer.from(source, 'utf8');
  }
  const grouper = new Grouper({ showIds: o.showIds === true });
  const groups = [];
  let seq = 0;
  for await (const rec of readJson(chunks(), { file: name, encoding: 'utf-8', map: EMPTY_MAP, report: (p) => problems.push(p), info })) {
    groups.push(...grouper.add(rec, ++seq));
  }
  groups.push(...grouper.flushAll());
  for (const g of groups) problems.push(...g.problems);
  const show = (p: InputProblem) => {
    const text = `${formatSource(p.source)}: ${p.message}`;
    return o.showIds ? text : maskIdsInText(text);
  };
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length) {
    throw usageError('ENTRY_JSON_INPUT', `${name}: ${errors.length} problem(s) in the JSON: ${errors.slice(0, 5).map(show).join('; ')}`, {
      hint: 'Give an order object ({"h1": "1", …, "items": [{"r1": "1", …}]}), flat rows, NDJSON or an array of them; keys are field ids or 資料名稱.',
    });
  }
  if (groups.length === 0) throw usageError('ENTRY_JSON_EMPTY', `${name}: no record in the JSON`, { hint: 'Give at least one order object with its items.' });
  return { records: groups.map((g) => ({ header: g.header, items: g.items })), warnings: problems.map(show) };
}
