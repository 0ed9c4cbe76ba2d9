/**
 * Rows of a CSV export held for grouping, without an object per row or per value.
 *
 * A row's values stay where the CSV parser found them — byte ranges of the buffer the row was read
 * from — unless cleaning or converting changed them, in which case the value is a string. Rows are
 * numbered from 0 up and live in a ring that grows when more rows are alive at once; `release`
 * frees every row below an id. `pack` keeps rows only while their order may still grow (its group
 * window) and until the order is written and checked, so memory does not grow with the file.
 */
import { cp950DecodeTable } from '../encoding/cp950.js';
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
  /** A string (cleaned, converted, filled in). */
  Text = 2,
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
  private mask: number;
  /** Next row id. */
  private next = 0;
  /** Rows below this id are released. */
  private low = 0;
  private bufs: Array<Buffer | undefined>;
  private texts: Array<string | undefined>;
  /** Per slot (row position × SLOTS + slot): kind and flags. */
  meta: Int32Array;
  /** Per slot: start and end of a raw value. */
  range: Int32Array;
  /**
   * Per row: which slots hold a value, and which of those a string — H fields, then R fields, one
   * bit per slot (`masks[4 * row + 0…3]`: H present, R present, H text, R text).
   */
  masks: Int32Array;
  private lines: Int32Array;
  private rowNos: Int32Array;
  private files: Int32Array;
  private readonly fileNames: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  private readonly big5: Uint16Array;

  constructor(capacity = 1 << 14) {
    let c = 1;
    while (c < capacity) c *= 2;
    this.mask = c - 1;
    this.bufs = new Array(c).fill(undefined);
    this.texts = new Array(c * SLOTS).fill(undefined);
    this.meta = new Int32Array(c * SLOTS);
    this.range = new Int32Array(c * SLOTS * 2);
    this.masks = new Int32Array(c * 4);
    this.lines = new Int32Array(c);
    this.rowNos = new Int32Array(c);
    this.files = new Int32Array(c);
    this.big5 = cp950DecodeTable();
  }

  /** Starts a row read from `buf` (line and data row number in `file`); returns its id. */
  add(buf: Buffer, file: string, line: number, rowNo: number): number {
    if (this.next - this.low > this.mask) this.grow();
    const id = this.next++;
    const r = id & this.mask;
    this.bufs[r] = buf;
    let fi = this.fileIndex.get(file);
    if (fi === undefined) {
      fi = this.fileNames.length;
      this.fileNames.push(file);
      this.fileIndex.set(file, fi);
    }
    this.files[r] = fi;
    this.lines[r] = line;
    this.rowNos[r] = rowNo;
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
    this.next--;
    const r = this.next & this.mask;
    this.bufs[r] = undefined;
    this.texts.fill(undefined, r * SLOTS, (r + 1) * SLOTS);
  }

  /** Releases every row below `id`. */
  release(id: number): void {
    for (let k = this.low; k < id; k++) {
      const r = k & this.mask;
      this.bufs[r] = undefined;
      this.texts.fill(undefined, r * SLOTS, (r + 1) * SLOTS);
    }
    if (id > this.low) this.low = id;
  }

  /** Where a row's slots start in `meta` (and, doubled, in `range`). */
  base(id: number): number {
    return (id & this.mask) * SLOTS;
  }

  /** Where a row's masks are in `masks`. */
  maskAt(id: number): number {
    return (id & this.mask) * 4;
  }

  setRaw(id: number, slot: number, start: number, end: number, flags: number): void {
    const r = id & this.mask;
    const k = r * SLOTS + slot;
    this.meta[k] = Slot.Raw | flags;
    this.range[2 * k] = start;
    this.range[2 * k + 1] = end;
    if (slot < R_SLOT0) {
      this.masks[4 * r] |= 1 << slot;
      this.masks[4 * r + 2] &= ~(1 << slot);
    } else {
      this.masks[4 * r + 1] |= 1 << (slot - R_SLOT0);
      this.masks[4 * r + 3] &= ~(1 << (slot - R_SLOT0));
    }
  }

  setText(id: number, slot: number, value: string): void {
    const r = id & this.mask;
    const k = r * SLOTS + slot;
    this.meta[k] = Slot.Text;
    this.texts[k] = value;
    if (slot < R_SLOT0) {
      this.masks[4 * r] |= 1 << slot;
      this.masks[4 * r + 2] |= 1 << slot;
    } else {
      this.masks[4 * r + 1] |= 1 << (slot - R_SLOT0);
      this.masks[4 * r + 3] |= 1 << (slot - R_SLOT0);
    }
  }

  kind(id: number, slot: number): Slot {
    return (this.meta[(id & this.mask) * SLOTS + slot]! & 3) as Slot;
  }

  /** Raw flags of a slot (with the kind in bits 0–1). */
  flags(id: number, slot: number): number {
    return this.meta[(id & this.mask) * SLOTS + slot]!;
  }

  start(id: number, slot: number): number {
    return this.range[2 * ((id & this.mask) * SLOTS + slot)]!;
  }

  end(id: number, slot: number): number {
    return this.range[2 * ((id & this.mask) * SLOTS + slot) + 1]!;
  }

  buffer(id: number): Buffer {
    return this.bufs[id & this.mask]!;
  }

  line(id: number): number {
    return this.lines[id & this.mask]!;
  }

  rowNo(id: number): number {
    return this.rowNos[id & this.mask]!;
  }

  file(id: number): string {
    return this.fileNames[this.files[id & this.mask]!]!;
  }

  /** The value of a slot as a string, or undefined when empty. */
  text(id: number, slot: number): string | undefined {
    const k = (id & this.mask) * SLOTS + slot;
    const m = this.meta[k]!;
    const kind = m & 3;
    if (kind === Slot.Empty) return undefined;
    if (kind === Slot.Text) return this.texts[k]!;
    const buf = this.bufs[id & this.mask]!;
    const s = this.range[2 * k]!;
    const e = this.range[2 * k + 1]!;
    return m & RawFlag.Big5 ? decodePairs(this.big5, buf, s, e) : buf.toString('latin1', s, e);
  }

  /** Whether two slots hold the same value (both empty counts as equal). */
  same(a: number, slotA: number, b: number, slotB: number): boolean {
    const ka = (a & this.mask) * SLOTS + slotA;
    const kb = (b & this.mask) * SLOTS + slotB;
    const ma = this.meta[ka]!;
    const mb = this.meta[kb]!;
    const kindA = ma & 3;
    const kindB = mb & 3;
    if (kindA === Slot.Empty || kindB === Slot.Empty) return kindA === kindB;
    if (kindA === Slot.Raw && kindB === Slot.Raw && (ma & RawFlag.Big5) === (mb & RawFlag.Big5)) {
      const sa = this.range[2 * ka]!;
      const ea = this.range[2 * ka + 1]!;
      const sb = this.range[2 * kb]!;
      if (ea - sa !== this.range[2 * kb + 1]! - sb) return false;
      const ba = this.bufs[a & this.mask]!;
      const bb = this.bufs[b & this.mask]!;
      let i = 0;
      while (i < ea - sa && ba[sa + i] === bb[sb + i]) i++;
      if (i === ea - sa) return true;
      // Different ASCII is a different value; two CP950 pairs may stand for one character.
      if ((ma & RawFlag.Big5) === 0) return false;
    }
    if (kindA === Slot.Text && kindB === Slot.Text) return this.texts[ka] === this.texts[kb];
    return this.text(a, slotA) === this.text(b, slotB);
  }

  /** Feeds a slot's value (as UTF-16 code units; empty = nothing) into an FNV-1a hash. */
  hash(id: number, slot: number, h: number): number {
    const k = (id & this.mask) * SLOTS + slot;
    const m = this.meta[k]!;
    const kind = m & 3;
    if (kind === Slot.Raw && (m & RawFlag.Big5) === 0) {
      const buf = this.bufs[id & this.mask]!;
      const e = this.range[2 * k + 1]!;
      for (let i = this.range[2 * k]!; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
      return h;
    }
    if (kind === Slot.Empty) return h;
    const t = this.text(id, slot)!;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    return h;
  }

  private grow(): void {
    const oldMask = this.mask;
    const c = (oldMask + 1) * 2;
    const bufs = new Array<Buffer | undefined>(c).fill(undefined);
    const texts = new Array<string | undefined>(c * SLOTS).fill(undefined);
    const meta = new Int32Array(c * SLOTS);
    const range = new Int32Array(c * SLOTS * 2);
    const masks = new Int32Array(c * 4);
    const lines = new Int32Array(c);
    const rowNos = new Int32Array(c);
    const files = new Int32Array(c);
    const mask = c - 1;
    for (let id = this.low; id < this.next; id++) {
      const o = id & oldMask;
      const n = id & mask;
      bufs[n] = this.bufs[o];
      lines[n] = this.lines[o]!;
      rowNos[n] = this.rowNos[o]!;
      files[n] = this.files[o]!;
      for (let q = 0; q < 4; q++) masks[4 * n + q] = this.masks[4 * o + q]!;
      for (let s = 0; s < SLOTS; s++) {
        meta[n * SLOTS + s] = this.meta[o * SLOTS + s]!;
        texts[n * SLOTS + s] = this.texts[o * SLOTS + s];
        range[2 * (n * SLOTS + s)] = this.range[2 * (o * SLOTS + s)]!;
        range[2 * (n * SLOTS + s) + 1] = this.range[2 * (o * SLOTS + s) + 1]!;
      }
    }
    this.mask = mask;
    this.bufs = bufs;
    this.texts = texts;
    this.meta = meta;
    this.range = range;
    this.masks = masks;
    this.lines = lines;
    this.rowNos = rowNos;
    this.files = files;
  }
}

/** Decodes valid CP950 bytes (ASCII and defined pairs). */
export function decodePairs(table: Uint16Array, buf: Uint8Array, start: number, end: number): string {
  const codes: number[] = [];
  let s = '';
  for (let i = start; i < end; ) {
    const b = buf[i]!;
    if (b < 0x80) {
      codes.push(b);
      i++;
    } else {
      codes.push(table[(b << 8) | buf[i + 1]!]!);
      i += 2;
    }
    if (codes.length >= 2048) {
      s += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  return s + String.fromCharCode(...codes);
}
