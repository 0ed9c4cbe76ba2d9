/**
 * Rows of a CSV export held for grouping, without an object per row or per value.
 *
 * A row's values stay where the CSV parser found them — byte ranges of the buffer the row was read
 * from — unless cleaning or converting changed them, in which case the value is a string. Rows are
 * numbered from 0 up and live in a ring that grows when more rows are alive at once; `release`
 * frees every row below an id. `pack` keeps rows only while their order may still grow (its group
 * window) and until the order is written and checked, so memory does not grow with the file.
 */
import { cp950DecodeTable, decodePairs } from '../encoding/cp950.js';
import { FIELDS, type FieldId } from '../format/fields.js';

/** Position of each field in a row: H fields, then R fields (the order of FIELDS). */
export const FIELD_SLOT: ReadonlyMap<FieldId, number> = new Map(FIELDS.map((f, i) => [f.id, i]));
export const SLOTS = FIELDS.length;
/** Slots below this are H fields (bit `slot` of a row's H masks), the rest R fields (bit `slot - R_SLOT0`). */
export const R_SLOT0 = FIELDS.findIndex((f) => f.section === 'r');

/** What a slot holds. */
export const enum Slot {
  Empty = 0,
  /** Bytes `[start, end)` of the row's buffer; the value needs no cleaning (see {@link RawFlag}). */
  Raw = 1,
  /** A string (cleaned or converted). */
  Text = 2,
  /** A string many rows share (see {@link RowStore.setConstant}). */
  Constant = 3,
}

/** Flags of a raw value, above the kind (bits 0–1). */
export const enum RawFlag {
  /** Holds CP950 pairs (Big5 input); otherwise ASCII. */
  Big5 = 4,
  /** Holds one of & < > ' ". */
  Special = 8,
  /** Holds a line feed. */
  LineFeed = 16,
}

export class RowStore {
  /** Next row id. */
  private next = 0;
  // Values: `[valLow, next)` alive, in a ring of `valMask + 1` rows.
  private valMask: number;
  private valLow = 0;
  private bufs: Array<Buffer | undefined>;
  /** A DataView of each row's buffer (for copying four bytes at a time). */
  private views: Array<DataView | undefined>;
  private lastBuf: Buffer | undefined;
  private lastView: DataView | undefined;
  /** Buffers no longer read into, with the last row read from each (the oldest first). */
  private readonly retired: Array<Buffer | undefined> = [];
  private readonly retiredAfter: number[] = [];
  private retiredHead = 0;
  /**
   * Called with a buffer rows were read from once every row read from it is released (and a newer
   * buffer has been read from): its memory may be used again.
   */
  onRetired: ((buf: Buffer) => void) | undefined;
  /** Per slot (ring position × SLOTS + slot): kind and flags; a constant's index above bit 8. */
  meta: Int32Array;
  /** Per slot: start and end of a raw value. */
  range: Int32Array;
  /**
   * Per row: which slots hold a value, and which of those a string — H fields, then R fields, one
   * bit per slot (`masks[4 * ring position + 0…3]`: H present, R present, H text, R text).
   */
  masks: Int32Array;
  /** Strings by `id * 64 + slot` (cleaned or converted values: few), in the order set. */
  private readonly texts = new Map<number, string>();
  private readonly textKeys: number[] = [];
  private textHead = 0;
  /** Strings many rows share (an h16 stamp, --hosp, map defaults). */
  private readonly constants: string[] = [];
  private readonly constantIndex = new Map<string, number>();
  // Where each row is: `[locLow, next)` alive, in a ring of `locMask + 1` rows.
  private locMask: number;
  private locLow = 0;
  private lines: Int32Array;
  private rowNos: Int32Array;
  private files: Int32Array;
  private readonly fileNames: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  private readonly big5: Uint16Array;

  constructor(capacity = 1 << 14) {
    let c = 1;
    while (c < capacity) c *= 2;
    this.valMask = c - 1;
    this.bufs = new Array(c).fill(undefined);
    this.views = new Array(c).fill(undefined);
    this.meta = new Int32Array(c * SLOTS);
    this.range = new Int32Array(c * SLOTS * 2);
    this.masks = new Int32Array(c * 4);
    this.locMask = c - 1;
    this.lines = new Int32Array(c);
    this.rowNos = new Int32Array(c);
    this.files = new Int32Array(c);
    this.big5 = cp950DecodeTable();
  }

  /** Starts a row read from `buf` (line and data row number in `file`); returns its id. */
  add(buf: Buffer, file: string, line: number, rowNo: number): number {
    if (this.next - this.valLow > this.valMask) this.growValues();
    if (this.next - this.locLow > this.locMask) this.growLocations();
    const id = this.next++;
    const r = id & this.valMask;
    this.bufs[r] = buf;
    if (buf !== this.lastBuf) {
      if (this.lastBuf !== undefined && this.onRetired !== undefined) {
        this.retired.push(this.lastBuf);
        this.retiredAfter.push(id - 1);
      }
      this.lastBuf = buf;
      this.lastView = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    this.views[r] = this.lastView;
    let fi = this.fileIndex.get(file);
    if (fi === undefined) {
      fi = this.fileNames.length;
      this.fileNames.push(file);
      this.fileIndex.set(file, fi);
    }
    const l = id & this.locMask;
    this.files[l] = fi;
    this.lines[l] = line;
    this.rowNos[l] = rowNo;
    const base = r * SLOTS;
    this.meta.fill(0, base, base + SLOTS);
    this.masks[4 * r] = this.masks[4 * r + 1] = this.masks[4 * r + 2] = this.masks[4 * r + 3] = 0;
    return id;
  }

  /** Rows added so far (the next row's id). */
  get size(): number {
    return this.next;
  }

  /** Forgets the last row added (a row that turned out to hold nothing). */
  dropLast(): void {
    const id = --this.next;
    this.bufs[id & this.valMask] = undefined;
    this.views[id & this.valMask] = undefined;
    while (this.textKeys.length > this.textHead && Math.floor(this.textKeys[this.textKeys.length - 1]! / 64) >= id) this.texts.delete(this.textKeys.pop()!);
  }

  /** Releases the values of every row below `id` (where the rows are is kept: {@link releaseLocations}). */
  releaseValues(id: number): void {
    for (let k = this.valLow; k < id; k++) {
      this.bufs[k & this.valMask] = undefined;
      this.views[k & this.valMask] = undefined;
    }
    if (id > this.valLow) this.valLow = id;
    this.retire(id);
    const keys = this.textKeys;
    while (this.textHead < keys.length && Math.floor(keys[this.textHead]! / 64) < id) this.texts.delete(keys[this.textHead++]!);
    if (this.textHead > 1024 && this.textHead * 2 > keys.length) {
      keys.splice(0, this.textHead);
      this.textHead = 0;
    }
  }

  /** Hands back the retired buffers whose rows are all below `id`. */
  private retire(id: number): void {
    const bufs = this.retired;
    let head = this.retiredHead;
    while (head < bufs.length && this.retiredAfter[head]! < id) {
      const b = bufs[head]!;
      bufs[head++] = undefined;
      this.onRetired?.(b);
    }
    if (head > 64 && head * 2 > bufs.length) {
      bufs.splice(0, head);
      this.retiredAfter.splice(0, head);
      head = 0;
    }
    this.retiredHead = head;
  }

  /** Forgets where the rows below `id` were (their values must be released already). */
  releaseLocations(id: number): void {
    if (id > this.locLow) this.locLow = Math.min(id, this.valLow);
  }

  /** Where a row's slots start in `meta` (and, doubled, in `range`). */
  base(id: number): number {
    return (id & this.valMask) * SLOTS;
  }

  /** Where a row's masks are in `masks`. */
  maskAt(id: number): number {
    return (id & this.valMask) * 4;
  }

  setRaw(id: number, slot: number, start: number, end: number, flags: number): void {
    const r = id & this.valMask;
    const k = r * SLOTS + slot;
    this.meta[k] = Slot.Raw | flags;
    this.range[2 * k] = start;
    this.range[2 * k + 1] = end;
    this.mark(r, slot, false);
  }

  setText(id: number, slot: number, value: string): void {
    const r = id & this.valMask;
    this.meta[r * SLOTS + slot] = Slot.Text;
    const key = id * 64 + slot;
    if (!this.texts.has(key)) this.textKeys.push(key);
    this.texts.set(key, value);
    this.mark(r, slot, true);
  }

  /** A string many rows share: stored once. */
  setConstant(id: number, slot: number, value: string): void {
    let c = this.constantIndex.get(value);
    if (c === undefined) {
      c = this.constants.length;
      this.constants.push(value);
      this.constantIndex.set(value, c);
    }
    const r = id & this.valMask;
    this.meta[r * SLOTS + slot] = Slot.Constant | (c << 8);
    this.mark(r, slot, true);
  }

  private mark(r: number, slot: number, text: boolean): void {
    const m = this.masks;
    if (slot < R_SLOT0) {
      m[4 * r] |= 1 << slot;
      if (text) m[4 * r + 2] |= 1 << slot;
      else m[4 * r + 2] &= ~(1 << slot);
    } else {
      const bit = 1 << (slot - R_SLOT0);
      m[4 * r + 1] |= bit;
      if (text) m[4 * r + 3] |= bit;
      else m[4 * r + 3] &= ~bit;
    }
  }

  kind(id: number, slot: number): Slot {
    return (this.meta[(id & this.valMask) * SLOTS + slot]! & 3) as Slot;
  }

  /** Raw flags of a slot (with the kind in bits 0–1). */
  flags(id: number, slot: number): number {
    return this.meta[(id & this.valMask) * SLOTS + slot]!;
  }

  start(id: number, slot: number): number {
    return this.range[2 * ((id & this.valMask) * SLOTS + slot)]!;
  }

  end(id: number, slot: number): number {
    return this.range[2 * ((id & this.valMask) * SLOTS + slot) + 1]!;
  }

  buffer(id: number): Buffer {
    return this.bufs[id & this.valMask]!;
  }

  /** A DataView of the row's buffer. */
  view(id: number): DataView {
    return this.views[id & this.valMask]!;
  }

  line(id: number): number {
    return this.lines[id & this.locMask]!;
  }

  rowNo(id: number): number {
    return this.rowNos[id & this.locMask]!;
  }

  file(id: number): string {
    return this.fileNames[this.files[id & this.locMask]!]!;
  }

  /** The value of a slot as a string, or undefined when empty. */
  text(id: number, slot: number): string | undefined {
    const k = (id & this.valMask) * SLOTS + slot;
    const m = this.meta[k]!;
    const kind = m & 3;
    if (kind === Slot.Empty) return undefined;
    if (kind === Slot.Text) return this.texts.get(id * 64 + slot)!;
    if (kind === Slot.Constant) return this.constants[m >> 8]!;
    const buf = this.bufs[id & this.valMask]!;
    const s = this.range[2 * k]!;
    const e = this.range[2 * k + 1]!;
    return m & RawFlag.Big5 ? decodePairs(this.big5, buf, s, e) : buf.toString('latin1', s, e);
  }

  /** Whether two slots hold the same value (both empty counts as equal). */
  same(a: number, slotA: number, b: number, slotB: number): boolean {
    const ka = (a & this.valMask) * SLOTS + slotA;
    const kb = (b & this.valMask) * SLOTS + slotB;
    const ma = this.meta[ka]!;
    const mb = this.meta[kb]!;
    const kindA = ma & 3;
    const kindB = mb & 3;
    if (kindA === Slot.Empty || kindB === Slot.Empty) return kindA === kindB;
    if (kindA === Slot.Constant && ma === mb) return true;
    if (kindA === Slot.Raw && kindB === Slot.Raw && (ma & RawFlag.Big5) === (mb & RawFlag.Big5)) {
      const sa = this.range[2 * ka]!;
      const ea = this.range[2 * ka + 1]!;
      const sb = this.range[2 * kb]!;
      if (ea - sa !== this.range[2 * kb + 1]! - sb) return false;
      const ba = this.bufs[a & this.valMask]!;
      const bb = this.bufs[b & this.valMask]!;
      let i = 0;
      while (i < ea - sa && ba[sa + i] === bb[sb + i]) i++;
      if (i === ea - sa) return true;
      // Different ASCII is a different value; two CP950 pairs may stand for one character.
      if ((ma & RawFlag.Big5) === 0) return false;
    }
    return this.text(a, slotA) === this.text(b, slotB);
  }

  /** Feeds a slot's value (as UTF-16 code units; empty = nothing) into an FNV-1a hash. */
  hash(id: number, slot: number, h: number): number {
    const k = (id & this.valMask) * SLOTS + slot;
    const m = this.meta[k]!;
    const kind = m & 3;
    if (kind === Slot.Raw && (m & RawFlag.Big5) === 0) {
      const buf = this.bufs[id & this.valMask]!;
      const e = this.range[2 * k + 1]!;
      for (let i = this.range[2 * k]!; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
      return h;
    }
    if (kind === Slot.Empty) return h;
    const t = this.text(id, slot)!;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    return h;
  }

  private growValues(): void {
    const oldMask = this.valMask;
    const c = (oldMask + 1) * 2;
    const mask = c - 1;
    const bufs = new Array<Buffer | undefined>(c).fill(undefined);
    const views = new Array<DataView | undefined>(c).fill(undefined);
    const meta = new Int32Array(c * SLOTS);
    const range = new Int32Array(c * SLOTS * 2);
    const masks = new Int32Array(c * 4);
    for (let id = this.valLow; id < this.next; id++) {
      const o = id & oldMask;
      const n = id & mask;
      bufs[n] = this.bufs[o];
      views[n] = this.views[o];
      masks.set(this.masks.subarray(4 * o, 4 * o + 4), 4 * n);
      meta.set(this.meta.subarray(o * SLOTS, (o + 1) * SLOTS), n * SLOTS);
      range.set(this.range.subarray(2 * o * SLOTS, 2 * (o + 1) * SLOTS), 2 * n * SLOTS);
    }
    this.valMask = mask;
    this.bufs = bufs;
    this.views = views;
    this.meta = meta;
    this.range = range;
    this.masks = masks;
  }

  private growLocations(): void {
    const oldMask = this.locMask;
    const c = (oldMask + 1) * 2;
    const mask = c - 1;
    const lines = new Int32Array(c);
    const rowNos = new Int32Array(c);
    const files = new Int32Array(c);
    for (let id = this.locLow; id < this.next; id++) {
      lines[id & mask] = this.lines[id & oldMask]!;
      rowNos[id & mask] = this.rowNos[id & oldMask]!;
      files[id & mask] = this.files[id & oldMask]!;
    }
    this.locMask = mask;
    this.lines = lines;
    this.rowNos = rowNos;
    this.files = files;
  }
}
