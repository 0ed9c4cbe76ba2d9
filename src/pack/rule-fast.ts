/**
 * Records the rules certainly pass, recognised from their bytes, for `pack`'s rule checker: a day
 * repeats the same kinds of orders over and over, and most records are clean.
 *
 * A record is recognised as clean, without a string made or a rule run, when
 *  - a record that the rules found clean had the same *signature*: which fields are present in
 *    the header and in each item, in order, and the values every other rule reads — the fields of
 *    READ_ACROSS — except those whose rules are repeated here from the bytes: the dates (h4 vs
 *    h20, h16 vs the upload date, h20 not after h16, h10 not after h20) and an item's result
 *    value r4 where it only has to be a number (see itemValueUse);
 *  - every other value certainly passes its field's check (the bytes of a value of that field
 *    that passed before, or a byte check: see value-bytes.ts) — those of the signature are the
 *    values of a clean record;
 *  - its correction key is new (a repeated one is left to the rules, which report it).
 * Anything else — a value not known to pass, a newborn (h23/h24), an item whose r4 or r7 the
 * tables read otherwise, a signature not seen clean — goes to the rules, which alone report.
 * So this may only ever skip a record the rules would have passed: it never decides a finding.
 */
import { H_FIELDS, H_INDEX, R_FIELDS, CORRECTION_KEY, type FieldDef } from '../format/fields.js';
import { checkValue, itemValueUse, READ_ACROSS, type Emit, type KeyTable } from '../format/rules.js';
import type { HdataRecord } from '../xml/daily-reader.js';
import { ByteCheck, byteCheckOf, numberInBytes, passesInBytes } from './value-bytes.js';
import { IndexTag, R_FIELD_BASE } from './xml-batch.js';

/** Field numbers in the index go up to R_FIELD_BASE + R_FIELDS.length. */
export const FIELD_NUMBERS = R_FIELD_BASE + R_FIELDS.length;

/** Each field's definition and byte check, by field number as in the index. */
const FIELD_DEFS: Array<FieldDef | undefined> = new Array<FieldDef | undefined>(FIELD_NUMBERS).fill(undefined);
H_FIELDS.forEach((f, i) => (FIELD_DEFS[i] = f));
R_FIELDS.forEach((f, i) => (FIELD_DEFS[R_FIELD_BASE + i] = f));
const FIELD_BYTE_CHECK: Uint8Array = new Uint8Array(FIELD_NUMBERS);
FIELD_DEFS.forEach((def, n) => def && (FIELD_BYTE_CHECK[n] = byteCheckOf(def)));

const h = (id: string): number => H_INDEX.get(id)!;
const R_OF = (id: string): number => R_FIELDS.findIndex((f) => f.id === id);
const H4 = h('h4');
const H10 = h('h10');
const H15 = h('h15');
const H16 = h('h16');
const H20 = h('h20');
const R1 = R_OF('r1');
const R4 = R_OF('r4');
/** Header fields whose rules are repeated here from the bytes, or that send a record to the rules. */
const BY_BYTES = new Set(['h4', 'h10', 'h11', 'h13', 'h16', 'h20', 'h23', 'h24']);
/** Fields (by field number) whose values the signature holds. */
const SIGNED = new Uint8Array(FIELD_NUMBERS);
/** A newborn's fields: such a record goes to the rules. */
const NEWBORN = (1 << h('h23')) | (1 << h('h24'));
/** Header and item fields whose values are part of the signature. */
const SIG_H: readonly number[] = H_FIELDS.map((f, i) => (READ_ACROSS.has(f.id) && !BY_BYTES.has(f.id) ? i : -1)).filter((i) => i >= 0);
const SIG_R: readonly number[] = R_FIELDS.map((f, i) => (READ_ACROSS.has(f.id) && f.id !== 'r4' && f.id !== 'r7' ? i : -1)).filter((i) => i >= 0);
/** Position of an item field in SIG_R, or -1. */
const SIG_R_SLOT: Int8Array = new Int8Array(R_FIELDS.length).fill(-1);
SIG_R.forEach((f, k) => (SIG_R_SLOT[f] = k));
SIG_H.forEach((f) => (SIGNED[f] = 1));
SIG_R.forEach((f) => (SIGNED[R_FIELD_BASE + f] = 1));
/** The fields of the 表七 correction key (header positions). */
const KEY_FIELDS: readonly number[] = CORRECTION_KEY.map((id) => h(id));

/** Records with more items than this go to the rules (their signature would be long). */
const MAX_ITEMS = 64;
/** Passed values remembered per field, and their length at most. */
const SLOTS = 64;
const WIDTH = 32;
/** Signatures remembered (then forgotten all at once). */
const MAX_SIGNATURES = 4096;
/** An item's r4: no rule reads it (−2), or a number with at most this many decimals (−1: any). */
const R4_FREE = -2;

const NO_EMIT: Emit = () => {};
const NOWHERE = { hdata: 0, rdata: null };

interface Verdict {
  signature: Uint8Array;
  /** Per item: R4_FREE, or the decimals its r4 may have as a number (−1: any). */
  r4: Int8Array;
}

/**
 * The correction key of a record as a 52-bit number, from the bytes of its key fields (`start` −1:
 * absent). A line end is read as the reader reads it (CR LF or CR as LF): equal values have equal
 * bytes in what the writer writes. A collision would report a repeated key that is not one; with
 * 52 bits, a day of 250,000 orders meets one about once in 150,000 days.
 */
function keyHashOf(buf: Uint8Array, start: Int32Array, end: Int32Array): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let k = 0; k < KEY_FIELDS.length; k++) {
    const f = KEY_FIELDS[k]!;
    const s = start[f]!;
    if (s >= 0) {
      const e = end[f]!;
      for (let i = s; i < e; i++) {
        let c = buf[i]!;
        if (c === 0x0d) {
          if (i + 1 < e && buf[i + 1] === 0x0a) continue;
          c = 0x0a;
        }
        h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
        h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
      }
    }
    h1 = Math.imul(h1 ^ 0x1f, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ 0x1f, 0x5bd1e995) >>> 0;
  }
  return (h2 & 0xfffff) * 0x100000000 + h1;
}

/** Digits of `buf[start, start + n)` as a number (the caller knows they are digits). */
function digitsValue(buf: Uint8Array, start: number, n: number): number {
  let v = 0;
  for (let i = start; i < start + n; i++) v = v * 10 + buf[i]! - 48;
  return v;
}

export class CleanRecords {
  /** Per field, values that passed their check: FNV-1a hash, length (−1: empty slot), bytes. */
  private readonly passHash = new Int32Array(FIELD_NUMBERS * SLOTS);
  private readonly passLength = new Int8Array(FIELD_NUMBERS * SLOTS).fill(-1);
  private readonly passBytes = new Uint8Array(FIELD_NUMBERS * SLOTS * WIDTH);
  /** Per field, the slot of its last value that passed (−1: none). */
  private readonly lastSlot = new Int32Array(FIELD_NUMBERS).fill(-1);
  /** The record being looked at: header value ranges (start −1: absent), items' masks and ranges. */
  private readonly hStart = new Int32Array(H_FIELDS.length).fill(-1);
  private readonly hEnd = new Int32Array(H_FIELDS.length);
  private readonly rMask = new Int32Array(MAX_ITEMS);
  private readonly rRange = new Int32Array(MAX_ITEMS * (SIG_R.length + 1) * 2);
  private signature = new Uint8Array(1024);
  private signatureLength = 0;
  /** FNV-1a over the signature as it is written (its values' bytes, its numbers whole). */
  private signatureHash = 0;
  private items = 0;
  private readonly verdicts = new Map<number, Verdict[]>();
  private verdictCount = 0;
  /** The last record looked at went to the rules with a complete signature (see {@link learn}). */
  private learnable = false;

  /**
   * `decode` is the value of a byte range as the reader decodes it; `uploadDay` the ROC upload
   * date's seven ASCII digits (null: not checked).
   */
  constructor(
    private readonly decode: (start: number, end: number) => string,
    private readonly keys: KeyTable,
    private readonly uploadDay: Uint8Array | null,
  ) {}

  /**
   * Whether the hdata whose index entries start at `at` (its Record entry) is certainly clean:
   * the position after its End entry, its key now among the keys seen; or −1, nothing changed
   * (its header is remembered all the same: see {@link lastKey}).
   */
  attempt(buf: Uint8Array, index: Int32Array, at: number): number {
    this.learnable = false;
    const hStart = this.hStart;
    const hEnd = this.hEnd;
    hStart.fill(-1);
    let hMask = 0;
    let items = 0;
    let rMask = 0;
    const width = (SIG_R.length + 1) * 2;
    let i = at + 3;
    for (;;) {
      const tag = index[i]!;
      if (tag >= 0) {
        const start = index[i + 1]!;
        const end = index[i + 2]!;
        if (tag < R_FIELD_BASE) {
          hMask |= 1 << tag;
          hStart[tag] = start;
          hEnd[tag] = end;
        } else {
          const f = tag - R_FIELD_BASE;
          rMask |= 1 << f;
          const slot = f === R4 ? SIG_R.length : SIG_R_SLOT[f]!;
          if (slot >= 0) {
            const o = (items - 1) * width + slot * 2;
            this.rRange[o] = start;
            this.rRange[o + 1] = end;
          }
        }
        i += 4;
      } else if (tag === IndexTag.Rdata) {
        if (items > 0) this.rMask[items - 1] = rMask;
        if (++items > MAX_ITEMS) return -1;
        rMask = 0;
        i += 2;
      } else if (tag === IndexTag.End) {
        if (items > 0) this.rMask[items - 1] = rMask;
        i += 2;
        break;
      } else return -1;
    }
    if (items === 0 || (hMask & NEWBORN) !== 0) return -1;
    this.items = items;
    if (!this.sign(buf, hMask)) return -1;
    const verdict = this.find();
    if (verdict === undefined) {
      this.learnable = true;
      return -1;
    }
    // Every value certainly passes its check: those of the signature are a clean record's.
    for (let j = at + 3; j < i; ) {
      const tag = index[j]!;
      if (tag < 0) j += tag === IndexTag.Record ? 3 : 2;
      else {
        if (SIGNED[tag] === 0 && !this.passes(tag, buf, index[j + 1]!, index[j + 2]!)) return -1;
        j += 4;
      }
    }
    // An item's r4 where it has to be a number.
    for (let k = 0; k < items; k++) {
      const d = verdict.r4[k]!;
      if (d === R4_FREE || (this.rMask[k]! & (1 << R4)) === 0) continue;
      const o = k * width + SIG_R.length * 2;
      if (!numberInBytes(buf, this.rRange[o]!, this.rRange[o + 1]!, d)) return -1;
    }
    if (!this.datesInOrder(buf)) return -1;
    // Last: the key (a repeat is the rules' to report, with the key left as it was).
    if (this.keys.getOrAdd(keyHashOf(buf, hStart, hEnd), index[at + 1]!) !== undefined) return -1;
    return i;
  }

  /**
   * The correction key of the record last looked at (its header's bytes in `buf`), for the rules
   * when they check that record: one key table, one hash, whichever way a record goes.
   */
  lastKey(buf: Uint8Array): number {
    return keyHashOf(buf, this.hStart, this.hEnd);
  }

  /**
   * After the rules found the record last looked at clean: remember its signature, with what its
   * items' r4 must be (`rec` is that record, as the rules read it). Items whose r4 or r7 the tables
   * read otherwise are not remembered.
   */
  learn(rec: HdataRecord): void {
    if (!this.learnable) return;
    this.learnable = false;
    const h15 = rec.fields[H15]?.value;
    const r4 = new Int8Array(this.items);
    for (let k = 0; k < this.items; k++) {
      const use = itemValueUse(h15, rec.rdata[k]?.fields[R1]?.value);
      if (use === 'more') return;
      r4[k] = use === 'none' ? R4_FREE : use.decimals;
    }
    if (this.verdictCount >= MAX_SIGNATURES) {
      this.verdicts.clear();
      this.verdictCount = 0;
    }
    const entry: Verdict = { signature: this.signature.slice(0, this.signatureLength), r4 };
    const list = this.verdicts.get(this.signatureHash);
    if (list) list.push(entry);
    else this.verdicts.set(this.signatureHash, [entry]);
    this.verdictCount++;
  }

  /**
   * Whether a value certainly passes its field's check: by its byte check, as the field's last
   * value that passed, or as one of the field's values that passed before; a value checked the
   * long way is remembered.
   */
  private passes(field: number, buf: Uint8Array, start: number, end: number): boolean {
    const def = FIELD_DEFS[field]!;
    const check = FIELD_BYTE_CHECK[field] as ByteCheck;
    if (check !== ByteCheck.None && passesInBytes(check, def, buf, start, end)) return true;
    const n = end - start;
    let slot = -1;
    let hash = 0;
    if (n <= WIDTH) {
      const last = this.lastSlot[field]!;
      if (last >= 0 && this.passLength[last] === n && this.sameAt(last, buf, start, n)) return true;
      hash = 0x811c9dc5;
      for (let k = start; k < end; k++) hash = Math.imul(hash ^ buf[k]!, 0x01000193);
      slot = field * SLOTS + (hash & (SLOTS - 1));
      if (this.passLength[slot] === n && this.passHash[slot] === hash && this.sameAt(slot, buf, start, n)) {
        this.lastSlot[field] = slot;
        return true;
      }
    }
    if (!checkValue(def, { value: this.decode(start, end), line: 0, column: 0 }, NO_EMIT, NOWHERE)) return false;
    if (slot >= 0) {
      this.passHash[slot] = hash;
      this.passLength[slot] = n;
      const at = slot * WIDTH;
      for (let k = 0; k < n; k++) this.passBytes[at + k] = buf[start + k]!;
      this.lastSlot[field] = slot;
    }
    return true;
  }

  private sameAt(slot: number, buf: Uint8Array, start: number, n: number): boolean {
    const at = slot * WIDTH;
    for (let k = 0; k < n; k++) if (this.passBytes[at + k] !== buf[start + k]) return false;
    return true;
  }

  /** Writes the record's signature and its hash (false: too long to keep). */
  private sign(buf: Uint8Array, hMask: number): boolean {
    this.signatureHash = 0x811c9dc5;
    let at = this.put32(0, hMask);
    for (let j = 0; j < SIG_H.length; j++) {
      const f = SIG_H[j]!;
      at = this.putValue(at, buf, this.hStart[f]!, this.hEnd[f]!);
      if (at < 0) return false;
    }
    at = this.put32(at, this.items);
    const width = (SIG_R.length + 1) * 2;
    for (let k = 0; k < this.items; k++) {
      const mask = this.rMask[k]!;
      at = this.put32(at, mask);
      for (let j = 0; j < SIG_R.length; j++) {
        const o = k * width + j * 2;
        at = this.putValue(at, buf, (mask & (1 << SIG_R[j]!)) !== 0 ? this.rRange[o]! : -1, this.rRange[o + 1]!);
        if (at < 0) return false;
      }
    }
    this.signatureLength = at;
    return true;
  }

  private put32(at: number, v: number): number {
    this.room(at + 4);
    const s = this.signature;
    s[at] = v & 0xff;
    s[at + 1] = (v >>> 8) & 0xff;
    s[at + 2] = (v >>> 16) & 0xff;
    s[at + 3] = v >>> 24;
    this.signatureHash = Math.imul(this.signatureHash ^ v, 0x01000193);
    return at + 4;
  }

  /** A value: its length in two bytes (0xffff: absent), then its bytes; −1 when too long. */
  private putValue(at: number, buf: Uint8Array, start: number, end: number): number {
    if (start < 0) {
      this.room(at + 2);
      this.signature[at] = 0xff;
      this.signature[at + 1] = 0xff;
      this.signatureHash = Math.imul(this.signatureHash ^ 0xffff, 0x01000193);
      return at + 2;
    }
    const n = end - start;
    if (n >= 0xffff) return -1;
    this.room(at + 2 + n);
    const s = this.signature;
    s[at] = n & 0xff;
    s[at + 1] = n >>> 8;
    at += 2;
    let hash = Math.imul(this.signatureHash ^ n, 0x01000193);
    for (let k = 0; k < n; k++) {
      const b = buf[start + k]!;
      s[at + k] = b;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    this.signatureHash = hash;
    return at + n;
  }

  private room(n: number): void {
    if (n <= this.signature.length) return;
    const grown = new Uint8Array(Math.max(n, this.signature.length * 2));
    grown.set(this.signature);
    this.signature = grown;
  }

  /** The verdict remembered for the current signature. */
  private find(): Verdict | undefined {
    const list = this.verdicts.get(this.signatureHash);
    if (list === undefined) return undefined;
    const n = this.signatureLength;
    const s = this.signature;
    outer: for (const v of list) {
      if (v.signature.length !== n) continue;
      for (let k = 0; k < n; k++) if (v.signature[k] !== s[k]) continue outer;
      return v;
    }
    return undefined;
  }

  /**
   * The date rules, from the bytes of values that passed their checks: h4 is h20's year and month,
   * h16 is on the upload date, h20 is not after h16, h10 not after h20. A date before 民國 (−YY)
   * is left to the rules.
   */
  private datesInOrder(buf: Uint8Array): boolean {
    const s = this.hStart;
    const e = this.hEnd;
    const h4 = s[H4]!;
    const h10 = s[H10]!;
    const h16 = s[H16]!;
    const h20 = s[H20]!;
    if ((h10 >= 0 && buf[h10] === 45) || (h16 >= 0 && buf[h16] === 45) || (h20 >= 0 && buf[h20] === 45)) return false;
    if (h4 >= 0 && h20 >= 0) {
      for (let k = 0; k < 5; k++) if (buf[h4 + k] !== buf[h20 + k]) return false;
    }
    if (this.uploadDay && h16 >= 0) {
      for (let k = 0; k < 7; k++) if (buf[h16 + k] !== this.uploadDay[k]) return false;
    }
    if (h16 >= 0 && h20 >= 0) {
      const n16 = e[H16]! - h16;
      const n20 = e[H20]! - h20;
      const v16 = digitsValue(buf, h16, n16) * (n16 === 11 ? 100 : 1);
      const v20 = digitsValue(buf, h20, n20) * (n20 === 11 ? 100 : 1);
      if (v20 > v16) return false;
    }
    if (h10 >= 0 && h20 >= 0 && digitsValue(buf, h10, 7) > digitsValue(buf, h20, 7)) return false;
    return true;
  }
}
