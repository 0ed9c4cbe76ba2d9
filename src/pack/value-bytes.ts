/**
 * Field checks on a value's bytes, for `pack`'s rule checker: whether a value *certainly* passes
 * its field's check (`checkValue` in format/rules.ts), decided without making a string of it.
 *
 * One-sided on purpose: `true` means the decoded value passes; `false` only means "not decided
 * here" — the caller then decodes the value and runs the real check, which alone reports
 * findings. Only the common forms are recognised (13- or 11-digit date-times, a national ID or
 * 2021 resident permit with its checksum, a four-character 就醫序號, digits, text within its
 * length, a 7-digit date); anything else goes the long way.
 */
import type { FieldDef } from '../format/fields.js';
import { LETTER_CODE_AT } from '../format/national-id.js';
import { daysInMonth, rocToGregorianYear } from '../format/roc.js';

/** Which byte check a field has (0: none). */
export const enum ByteCheck {
  None = 0,
  Text = 1,
  DateTime = 2,
  PersonId = 3,
  VisitSeq = 4,
  Digits = 5,
  Date = 6,
}

export function byteCheckOf(def: FieldDef): ByteCheck {
  switch (def.kind.type) {
    case 'text':
      return ByteCheck.Text;
    case 'rocDateTime':
      return ByteCheck.DateTime;
    case 'rocDate':
      return ByteCheck.Date;
    case 'personId':
      return def.type === 'X' ? ByteCheck.PersonId : ByteCheck.None;
    case 'visitSeq':
      return def.type === 'X' ? ByteCheck.VisitSeq : ByteCheck.None;
    case 'digits':
      return ByteCheck.Digits;
    default:
      return ByteCheck.None;
  }
}

/** Whether `buf[start, end)`, decoded, certainly passes the check of `def` (see the module's note). */
export function passesInBytes(check: ByteCheck, def: FieldDef, buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  switch (check) {
    case ByteCheck.Text:
      return textFits(def.maxLength, buf, start, end);
    case ByteCheck.DateTime:
      return (n === 13 || (n === 11 && def.kind.type === 'rocDateTime' && def.kind.short)) && dateTimeOk(buf, start, n);
    case ByteCheck.Date:
      return n === 7 && dateOk(buf, start, 7);
    case ByteCheck.PersonId:
      return n === 10 && personIdOk(buf, start);
    case ByteCheck.VisitSeq:
      return n === 4 && upperOrDigit(buf[start]!) && upperOrDigit(buf[start + 1]!) && upperOrDigit(buf[start + 2]!) && upperOrDigit(buf[start + 3]!);
    case ByteCheck.Digits:
      return n >= 1 && n <= def.maxLength && digitsAt(buf, start, n);
    default:
      return false;
  }
}

/**
 * NHI's length counts an ASCII character 1 and any other 4. A value decodes to at most as many
 * characters as it has bytes, an ASCII byte to one ASCII character, and every other character
 * takes at least one non-ASCII byte: so ASCII bytes + 4 × other bytes bounds the length.
 */
function textFits(max: number, buf: Uint8Array, start: number, end: number): boolean {
  if ((end - start) * 4 <= max) return true;
  let length = 0;
  for (let i = start; i < end; i++) length += buf[i]! < 0x80 ? 1 : 4;
  return length <= max;
}

const upperOrDigit = (b: number): boolean => (b >= 48 && b <= 57) || (b >= 65 && b <= 90);

function digitsAt(buf: Uint8Array, start: number, n: number): boolean {
  for (let i = start; i < start + n; i++) {
    const b = buf[i]!;
    if (b < 48 || b > 57) return false;
  }
  return true;
}

const two = (buf: Uint8Array, i: number): number => (buf[i]! - 48) * 10 + buf[i + 1]! - 48;

/** YYYMMDD, all digits, a year after 民國元年 and a real calendar date. */
function dateOk(buf: Uint8Array, at: number, n: number): boolean {
  if (!digitsAt(buf, at, n)) return false;
  const roc = (buf[at]! - 48) * 100 + two(buf, at + 1);
  const month = two(buf, at + 3);
  const day = two(buf, at + 5);
  return roc !== 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(rocToGregorianYear(roc), month);
}

/** YYYMMDDHHMM[SS]: a date as above, then a real time of day. */
function dateTimeOk(buf: Uint8Array, at: number, n: number): boolean {
  return dateOk(buf, at, n) && two(buf, at + 7) <= 23 && two(buf, at + 9) <= 59 && (n === 11 || two(buf, at + 11) <= 59);
}

/**
 * Whether `buf[start, end)` is a number as the item tables read one (optional sign, digits, an
 * optional decimal point) with at most `decimals` decimals (-1: any). ASCII bytes are the same
 * characters in every output encoding, so this is exact.
 */
export function numberInBytes(buf: Uint8Array, start: number, end: number, decimals: number): boolean {
  let i = start;
  if (i < end && (buf[i] === 43 || buf[i] === 45)) i++;
  let before = 0;
  for (; i < end && buf[i]! >= 48 && buf[i]! <= 57; i++) before++;
  let after = 0;
  if (i < end && buf[i] === 46) {
    i++;
    for (; i < end && buf[i]! >= 48 && buf[i]! <= 57; i++) after++;
  }
  if (i !== end || before + after === 0) return false;
  return decimals < 0 || after <= decimals;
}

/** A national ID (letter, 1 or 2) or 2021 resident permit (letter, 8 or 9), eight digits, checksum right. */
function personIdOk(buf: Uint8Array, at: number): boolean {
  const letter = buf[at]!;
  const first = letter < 128 ? LETTER_CODE_AT[letter]! : 0;
  const second = buf[at + 1]! - 48;
  if (first === 0 || !(second === 1 || second === 2 || second === 8 || second === 9)) return false;
  let sum = Math.floor(first / 10) + (first % 10) * 9 + second * 8;
  for (let i = 2; i < 10; i++) {
    const c = buf[at + i]! - 48;
    if (c < 0 || c > 9) return false;
    sum += c * (i === 9 ? 1 : 9 - i);
  }
  return sum % 10 === 0;
}
