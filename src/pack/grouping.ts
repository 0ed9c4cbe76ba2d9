/**
 * Grouping input rows into hdata, in input order, with bounded memory.
 *
 * A row joins the open group with the same 表七 key (h1–h10, h15, h20). A group stays open for
 * `window` rows after its first row (rows of one order may be interleaved with other orders, as
 * exports sorted by time often are); then it is written, and a later row with the same key starts
 * a new hdata. Orders (nested JSON, daily XML) are complete groups as read. A key written twice is
 * caught by the validator (which remembers every key of the file) and reported by `pack` as
 * `PACK_KEY_REPEATED`: NHI keeps only the last record of a key, so the earlier items would be lost.
 *
 * Memory: at most `window` rows.
 */
import { CORRECTION_KEY, H_FIELDS, type HFieldId, type RFieldId } from '../format/fields.js';
import type { FieldPlaces, InputProblem, InputRecord, SourceLocation } from '../input/types.js';
import { shownValue } from './findings.js';

export interface Group {
  /** Sequence number of the first row (1-based, over all inputs). */
  seq: number;
  key: string;
  header: Partial<Record<HFieldId, string>>;
  items: Array<Partial<Record<RFieldId, string>>>;
  at: SourceLocation;
  itemsAt: SourceLocation[];
  headerPlaces: FieldPlaces;
  /** Header fields whose value came from a later row than the first. */
  headerFrom: Partial<Record<HFieldId, SourceLocation>>;
  itemPlaces: FieldPlaces[];
  sealed: boolean;
  previousH16?: string;
  /** Problems found while grouping, reported with the hdata index once it is known. */
  problems: Array<InputProblem & { rdata?: number }>;
  /** Header fields already reported as conflicting. */
  conflicted?: Set<string>;
}

export interface GrouperOptions {
  /** Rows a group stays open after its first row (default 10,000). */
  window?: number;
  /** Show national IDs unmasked in messages. */
  showIds?: boolean;
}

export const DEFAULT_GROUP_WINDOW = 10_000;

const KEY_SEP = '\u001f';

export function correctionKeyOf(header: Partial<Record<HFieldId, string>>): string {
  let k = '';
  for (const id of CORRECTION_KEY) k += (header[id] ?? '') + KEY_SEP;
  return k;
}

const KEY_FIELDS = new Set<string>(CORRECTION_KEY);

export class Grouper {
  /** Rows a group stays open after its first row. */
  readonly window: number;
  private readonly showIds: boolean;
  /** Open groups in order of first appearance. */
  private readonly fifo: Group[] = [];
  private head = 0;
  /** Open, unsealed groups by key. */
  private readonly open = new Map<string, Group>();

  constructor(options: GrouperOptions = {}) {
    this.window = Math.max(1, options.window ?? DEFAULT_GROUP_WINDOW);
    this.showIds = options.showIds ?? false;
  }

  /** Adds a record (row `seq`); returns the groups that are now complete, in input order. */
  add(rec: InputRecord, seq: number): Group[] {
    const key = correctionKeyOf(rec.header);
    if (rec.kind === 'row') {
      const g = this.open.get(key);
      if (g) this.join(g, rec);
      else this.start(rec, seq, key, false);
    } else {
      this.start(rec, seq, key, true);
    }
    return this.ready(seq);
  }

  /** Closes every open group (at the end of an input); returns them in input order. */
  flushAll(): Group[] {
    const out = this.fifo.slice(this.head);
    this.fifo.length = 0;
    this.head = 0;
    this.open.clear();
    return out;
  }

  private ready(seq: number): Group[] {
    const out: Group[] = [];
    while (this.head < this.fifo.length) {
      const g = this.fifo[this.head]!;
      if (!g.sealed && g.seq > seq - this.window) break;
      out.push(g);
      this.head++;
      if (!g.sealed && this.open.get(g.key) === g) this.open.delete(g.key);
    }
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  private start(rec: InputRecord, seq: number, key: string, sealed: boolean): void {
    const g: Group = {
      seq,
      key,
      header: rec.header,
      items: rec.items,
      at: rec.at,
      itemsAt: rec.itemsAt,
      headerPlaces: rec.headerPlaces,
      headerFrom: {},
      itemPlaces: rec.itemPlaces,
      sealed,
      problems: [],
      ...(rec.previousH16 !== undefined ? { previousH16: rec.previousH16 } : {}),
    };
    this.fifo.push(g);
    if (!sealed) this.open.set(key, g);
  }

  private join(g: Group, rec: InputRecord): void {
    const h = rec.header as Record<string, string | undefined>;
    const gh = g.header as Record<string, string | undefined>;
    for (const f of H_FIELDS) {
      const v = h[f.id];
      if (v === undefined) continue;
      const have = gh[f.id];
      if (have === undefined) {
        gh[f.id] = v;
        g.headerFrom[f.id as HFieldId] = { ...rec.at, ...rec.headerPlaces[f.id] };
      } else if (have !== v && !KEY_FIELDS.has(f.id) && f.id !== 'h16') {
        g.conflicted ??= new Set();
        if (g.conflicted.has(f.id)) continue;
        g.conflicted.add(f.id);
        const firstAt = g.headerFrom[f.id as HFieldId] ?? g.at;
        g.problems.push({
          code: 'PACK_HEADER_CONFLICT',
          severity: 'warning',
          message: `同一醫令各列之表頭欄位不一致 — rows of this order disagree: “${shownValue(f.id, have, this.showIds)}” at line ${firstAt.line}, “${shownValue(f.id, v, this.showIds)}” here; the first value is written`,
          hint: 'Give every row of one order the same header values, or check whether these rows belong to different orders.',
          source: { ...rec.at, ...rec.headerPlaces[f.id] },
          field: f.id as HFieldId,
          rdata: g.items.length + 1,
        });
      }
    }
    g.items.push(rec.items[0] ?? {});
    g.itemsAt.push(rec.at);
    g.itemPlaces.push(rec.itemPlaces[0] ?? {});
  }
}
