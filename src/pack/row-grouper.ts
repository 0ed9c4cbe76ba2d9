/**
 * Grouping CSV rows into hdata, exactly as {@link Grouper} does for records, but on the rows of a
 * {@link RowStore}: a group is a few numbers in typed arrays (its rows, which row gives each header
 * field), so holding `window` rows costs no objects and memory stays flat.
 *
 * A row joins the open group with the same 表七 key (h1–h10, h15, h20). A group stays open for
 * `window` rows after its first row; then it is ready to be written. A header field empty in the
 * group's first row is taken from the first later row that has it; rows that disagree on a header
 * field are reported once per field (PACK_HEADER_CONFLICT).
 */
import { CORRECTION_KEY, H_FIELDS, type HFieldId } from '../format/fields.js';
import { FIELD_SLOT, RawFlag, Slot, type RowStore } from '../input/row-store.js';
import type { FieldPlaces, InputProblem } from '../input/types.js';
import { shownValue } from './findings.js';
import { DEFAULT_GROUP_WINDOW } from './grouping.js';

const H_COUNT = H_FIELDS.length;
const KEY_SLOTS: readonly number[] = CORRECTION_KEY.map((id) => FIELD_SLOT.get(id)!);
/** Header fields whose values must agree between rows of one order: all but the key and h16. */
const COMPARED = H_FIELDS.reduce((m, f, s) => (CORRECTION_KEY.includes(f.id as HFieldId) || f.id === 'h16' ? m : m | (1 << s)), 0);
/** Items kept inline per group; larger orders keep the rest in a list. */
const INLINE = 8;

export class RowGrouper {
  readonly window: number;
  /** Where the current input's columns are (for conflict reports). */
  places: FieldPlaces = {};
  private readonly showIds: boolean;
  private mask = 0;
  /** Groups `[low, next)` are alive; `[head, next)` not yet handed out. */
  private low = 0;
  private head = 0;
  private next = 0;
  /** Rows below this id have been added to a group. */
  private grouped = 0;
  /** The group the last row went to (-1: none). */
  private last = -1;
  private seqs = new Int32Array(0);
  private firsts = new Int32Array(0);
  private counts = new Int32Array(0);
  private hashes = new Int32Array(0);
  private chain = new Int32Array(0);
  private conflicted = new Int32Array(0);
  /** Header fields the group has (bit per H field). */
  private present = new Int32Array(0);
  private header = new Int32Array(0);
  private inline = new Int32Array(0);
  private more: Array<number[] | undefined> = [];
  private problemsOf: Array<Array<InputProblem & { rdata?: number }> | undefined> = [];
  private readonly readyList: number[] = [];
  /** Open groups by key hash (then chained through `chain`). */
  private readonly open = new GroupIndex();

  constructor(
    private readonly store: RowStore,
    options: { window?: number; showIds?: boolean } = {},
  ) {
    this.window = Math.max(1, options.window ?? DEFAULT_GROUP_WINDOW);
    this.showIds = options.showIds ?? false;
    this.resize(1 << 12);
  }

  /**
   * Adds a row (`seq` over all inputs); returns how many groups are now complete: {@link completed}
   * gives them, in input order, until the next `add`.
   */
  add(row: number, seq: number): number {
    this.grouped = row + 1;
    // Rows of one order usually follow each other: try the group of the row before first.
    const last = this.last;
    if (last >= this.head && this.sameKey(this.firsts[last & this.mask]!, row)) {
      this.join(last, row);
      return this.ready(seq);
    }
    const h = this.keyHash(row);
    let g = this.open.get(h);
    while (g >= 0 && !this.sameKey(this.firsts[g & this.mask]!, row)) g = this.chain[g & this.mask]!;
    if (g >= 0) this.join(g, row);
    else g = this.start(row, seq, h);
    this.last = g;
    return this.ready(seq);
  }

  /** Closes every open group (at the end of an input); returns them in input order. */
  flushAll(): number[] {
    const out: number[] = [];
    for (; this.head < this.next; this.head++) out.push(this.head);
    this.open.clear();
    return out;
  }

  /** The groups below `g` are written: the values of the rows that only they held can go. */
  written(g: number): void {
    this.store.releaseValues(this.rowsBelow(g));
  }

  /** Frees the groups below `g` (written and checked), and where their rows were. */
  release(g: number): void {
    for (let k = this.low; k < g; k++) {
      const i = k & this.mask;
      this.more[i] = undefined;
      this.problemsOf[i] = undefined;
    }
    if (g > this.low) this.low = g;
    this.store.releaseLocations(this.rowsBelow(g));
  }

  /**
   * The rows below the first row of group `g` belong to groups before it; with no group left,
   * every row added to a group so far does.
   */
  private rowsBelow(g: number): number {
    return g < this.next ? this.firsts[g & this.mask]! : this.grouped;
  }

  firstRow(g: number): number {
    return this.firsts[g & this.mask]!;
  }

  itemCount(g: number): number {
    return this.counts[g & this.mask]!;
  }

  /** The row of item `k` (0-based). */
  item(g: number, k: number): number {
    const i = g & this.mask;
    return k < INLINE ? this.inline[i * INLINE + k]! : this.more[i]![k - INLINE]!;
  }

  /** The header fields the group has (bit per H_FIELDS position). */
  headerFields(g: number): number {
    return this.present[g & this.mask]!;
  }

  /** The row that gives header field `slot` (H_FIELDS position), or -1. */
  headerRow(g: number, slot: number): number {
    return this.header[(g & this.mask) * H_COUNT + slot]!;
  }

  problems(g: number): Array<InputProblem & { rdata?: number }> | undefined {
    return this.problemsOf[g & this.mask];
  }

  private keyHash(row: number): number {
    const store = this.store;
    const meta = store.meta;
    const range = store.range;
    const base = store.base(row);
    const buf = store.buffer(row);
    let h = 0x811c9dc5;
    for (let k = 0; k < KEY_SLOTS.length; k++) {
      const slot = base + KEY_SLOTS[k]!;
      const m = meta[slot]!;
      if ((m & 3) === Slot.Raw && (m & RawFlag.Big5) === 0) {
        const e = range[2 * slot + 1]!;
        for (let i = range[2 * slot]!; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
      } else if ((m & 3) !== Slot.Empty) h = store.hash(row, KEY_SLOTS[k]!, h);
      h = Math.imul(h ^ 0x1f, 0x01000193);
    }
    // 30 bits, non-negative: a small integer to V8, and -1 is free to mark an empty slot of the
    // table of open groups.
    return (h ^ (h >>> 30)) & 0x3fffffff;
  }

  private sameKey(a: number, b: number): boolean {
    const store = this.store;
    const meta = store.meta;
    const range = store.range;
    const ba = store.base(a);
    const bb = store.base(b);
    const bufA = store.buffer(a);
    const bufB = store.buffer(b);
    for (let k = 0; k < KEY_SLOTS.length; k++) {
      const sa = ba + KEY_SLOTS[k]!;
      const sb = bb + KEY_SLOTS[k]!;
      const ma = meta[sa]!;
      if (ma === meta[sb] && (ma & 3) === Slot.Raw && (ma & RawFlag.Big5) === 0) {
        // Plain ASCII on both sides: the bytes decide.
        const s0 = range[2 * sa]!;
        const n = range[2 * sa + 1]! - s0;
        const t0 = range[2 * sb]!;
        if (n !== range[2 * sb + 1]! - t0) return false;
        for (let i = 0; i < n; i++) if (bufA[s0 + i] !== bufB[t0 + i]) return false;
        continue;
      }
      if (!store.same(a, KEY_SLOTS[k]!, b, KEY_SLOTS[k]!)) return false;
    }
    return true;
  }

  /** `store.same` for a header field, the common case (equal plain bytes) first. */
  private sameValue(a: number, b: number, s: number): boolean {
    const store = this.store;
    const meta = store.meta;
    const sa = store.base(a) + s;
    const sb = store.base(b) + s;
    const ma = meta[sa]!;
    if (ma === meta[sb] && (ma & 3) === Slot.Raw) {
      const range = store.range;
      const s0 = range[2 * sa]!;
      const n = range[2 * sa + 1]! - s0;
      const t0 = range[2 * sb]!;
      if (n === range[2 * sb + 1]! - t0) {
        const bufA = store.buffer(a);
        const bufB = store.buffer(b);
        let k = 0;
        while (k < n && bufA[s0 + k] === bufB[t0 + k]) k++;
        if (k === n) return true;
      }
    }
    return store.same(a, s, b, s);
  }

  private start(row: number, seq: number, h: number): number {
    if (this.next - this.low > this.mask) this.resize((this.mask + 1) * 2);
    const g = this.next++;
    const i = g & this.mask;
    this.seqs[i] = seq;
    this.firsts[i] = row;
    this.counts[i] = 1;
    this.inline[i * INLINE] = row;
    this.hashes[i] = h;
    this.conflicted[i] = 0;
    const base = i * H_COUNT;
    const present = this.store.masks[this.store.maskAt(row)]!;
    this.present[i] = present;
    for (let s = 0; s < H_COUNT; s++) this.header[base + s] = present & (1 << s) ? row : -1;
    this.chain[i] = this.open.get(h);
    this.open.set(h, g);
    return g;
  }

  private join(g: number, row: number): void {
    const i = g & this.mask;
    const base = i * H_COUNT;
    const store = this.store;
    const rowH = store.masks[store.maskAt(row)]!;
    const had = this.present[i]!;
    // Fields the group lacks are taken from this row; fields both have must agree.
    let fill = rowH & ~had;
    while (fill !== 0) {
      const low = fill & -fill;
      fill ^= low;
      this.header[base + (31 - Math.clz32(low))] = row;
    }
    this.present[i] = had | rowH;
    let both = rowH & had & COMPARED & ~this.conflicted[i]!;
    while (both !== 0) {
      const low = both & -both;
      both ^= low;
      const s = 31 - Math.clz32(low);
      const have = this.header[base + s]!;
      if (!this.sameValue(have, row, s)) {
        this.conflicted[i]! |= 1 << s;
        const f = H_FIELDS[s]!;
        const place = this.places[f.id];
        (this.problemsOf[i] ??= []).push({
          code: 'PACK_HEADER_CONFLICT',
          severity: 'warning',
          message: `同一醫令各列之表頭欄位不一致 — rows of this order disagree: “${shownValue(f.id, store.text(have, s)!, this.showIds)}” at line ${store.line(have)}, “${shownValue(f.id, store.text(row, s)!, this.showIds)}” here; the first value is written`,
          hint: 'Give every row of one order the same header values, or check whether these rows belong to different orders.',
          source: { file: store.file(row), line: store.line(row), row: store.rowNo(row), ...place },
          field: f.id as HFieldId,
          rdata: this.counts[i]! + 1,
        });
      }
    }
    const k = this.counts[i]!++;
    if (k < INLINE) this.inline[i * INLINE + k] = row;
    else (this.more[i] ??= []).push(row);
  }

  /** The k-th group completed by the last {@link add}. */
  completed(k: number): number {
    return this.readyList[k]!;
  }

  private ready(seq: number): number {
    if (this.head >= this.next || this.seqs[this.head & this.mask]! > seq - this.window) return 0;
    // One list, reused (and never emptied, which would give its memory back): the caller is done
    // with the groups before it adds the next row.
    const out = this.readyList;
    let n = 0;
    while (this.head < this.next) {
      const g = this.head;
      const i = g & this.mask;
      if (this.seqs[i]! > seq - this.window) break;
      out[n++] = g;
      this.head++;
      this.unlink(g, i);
    }
    return n;
  }

  /** Takes an open group out of the key table. */
  private unlink(g: number, i: number): void {
    const h = this.hashes[i]!;
    const first = this.open.get(h);
    if (first === g) {
      const nextG = this.chain[i]!;
      if (nextG >= 0) this.open.set(h, nextG);
      else this.open.delete(h);
      return;
    }
    for (let p = first; p >= 0; p = this.chain[p & this.mask]!) {
      if (this.chain[p & this.mask] === g) {
        this.chain[p & this.mask] = this.chain[i]!;
        return;
      }
    }
  }

  private resize(capacity: number): void {
    const old = { mask: this.mask, seqs: this.seqs, firsts: this.firsts, counts: this.counts, hashes: this.hashes, chain: this.chain, conflicted: this.conflicted, present: this.present, header: this.header, inline: this.inline, more: this.more, problemsOf: this.problemsOf };
    const mask = capacity - 1;
    this.seqs = new Int32Array(capacity);
    this.firsts = new Int32Array(capacity);
    this.counts = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.chain = new Int32Array(capacity);
    this.conflicted = new Int32Array(capacity);
    this.present = new Int32Array(capacity);
    this.header = new Int32Array(capacity * H_COUNT);
    this.inline = new Int32Array(capacity * INLINE);
    this.more = new Array(capacity).fill(undefined);
    this.problemsOf = new Array(capacity).fill(undefined);
    for (let g = this.low; g < this.next; g++) {
      const o = g & old.mask;
      const n = g & mask;
      this.seqs[n] = old.seqs[o]!;
      this.firsts[n] = old.firsts[o]!;
      this.counts[n] = old.counts[o]!;
      this.hashes[n] = old.hashes[o]!;
      this.chain[n] = old.chain[o]!;
      this.conflicted[n] = old.conflicted[o]!;
      this.present[n] = old.present[o]!;
      this.header.set(old.header.subarray(o * H_COUNT, (o + 1) * H_COUNT), n * H_COUNT);
      this.inline.set(old.inline.subarray(o * INLINE, (o + 1) * INLINE), n * INLINE);
      this.more[n] = old.more[o];
      this.problemsOf[n] = old.problemsOf[o];
    }
    this.mask = mask;
  }
}

/**
 * Key hash (30 bits, non-negative) → the newest open group with it: open addressing with linear
 * probing over two typed arrays, at most half full, deletion by shifting back. (A Map here, with
 * a group in and one out for every order, rebuilt its table every few thousand orders — tables
 * large enough to be kept until a full garbage collection.)
 */
export class GroupIndex {
  private keys = new Int32Array(1 << 13).fill(-1);
  private groups = new Int32Array(1 << 13);
  private count = 0;

  /** The group stored for `h`, or -1. */
  get(h: number): number {
    const mask = this.keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.keys[i]!;
      if (k === h) return this.groups[i]!;
      if (k === -1) return -1;
    }
  }

  set(h: number, g: number): void {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.keys[i]!;
      if (k === h || k === -1) {
        if (k === -1) this.count++;
        this.keys[i] = h;
        this.groups[i] = g;
        return;
      }
    }
  }

  delete(h: number): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = h & mask;
    while (keys[i] !== h) {
      if (keys[i] === -1) return;
      i = (i + 1) & mask;
    }
    // Shift back the entries after it that would no longer be found past the gap.
    for (let j = (i + 1) & mask; keys[j] !== -1; j = (j + 1) & mask) {
      const home = keys[j]! & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        keys[i] = keys[j]!;
        this.groups[i] = this.groups[j]!;
        i = j;
      }
    }
    keys[i] = -1;
    this.count--;
  }

  clear(): void {
    this.keys.fill(-1);
    this.count = 0;
  }

  private grow(): void {
    const keys = this.keys;
    const groups = this.groups;
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.groups = new Int32Array(keys.length * 2);
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== -1) this.set(keys[i]!, groups[i]!);
  }
}
