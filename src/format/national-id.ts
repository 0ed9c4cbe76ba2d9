/**
 * 身分證統一編號 and 居留證號 (resident permit) checksums, and masking for output.
 *
 * Formats accepted (all ten characters, uppercase):
 *  - national ID: letter + 1|2 + 8 digits;
 *  - resident permit, 2021 format: letter + 8|9 + 8 digits (same checksum as the national ID);
 *  - resident permit, old format: letter + A–D + 8 digits (second letter counts as its code's last digit).
 */

/** Letter → two-digit code used by the checksum (I, O, W, Z are out of alphabetical order). */
const LETTER_CODES: Record<string, number> = {
  A: 10, B: 11, C: 12, D: 13, E: 14, F: 15, G: 16, H: 17, I: 34, J: 18, K: 19, L: 20, M: 21,
  N: 22, O: 35, P: 23, Q: 24, R: 25, S: 26, T: 27, U: 28, V: 29, W: 32, X: 30, Y: 31, Z: 33,
};

/** {@link LETTER_CODES} by character code (0 for anything but A–Z), for checks on bytes. */
export const LETTER_CODE_AT: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const [letter, code] of Object.entries(LETTER_CODES)) t[letter.charCodeAt(0)] = code;
  return t;
})();

export type PersonIdKind = 'national' | 'resident-new' | 'resident-old';

export type PersonIdCheck =
  | { ok: true; kind: PersonIdKind }
  | { ok: false; reason: 'format' | 'checksum' | 'lowercase'; kind?: PersonIdKind };

export function checkPersonId(id: string): PersonIdCheck {
  if (id.length !== 10) return { ok: false, reason: 'format' };
  if (/^[a-z]/.test(id) && checkPersonId(id[0]!.toUpperCase() + id.slice(1).toUpperCase()).ok) return { ok: false, reason: 'lowercase' };
  const first = LETTER_CODES[id[0]!];
  if (first === undefined) return { ok: false, reason: 'format' };
  const second = id[1]!;
  let kind: PersonIdKind;
  let secondDigit: number;
  if (second === '1' || second === '2') {
    kind = 'national';
    secondDigit = second.charCodeAt(0) - 48;
  } else if (second === '8' || second === '9') {
    kind = 'resident-new';
    secondDigit = second.charCodeAt(0) - 48;
  } else if (second >= 'A' && second <= 'D') {
    kind = 'resident-old';
    secondDigit = LETTER_CODES[second]! % 10;
  } else {
    return { ok: false, reason: 'format' };
  }
  let sum = Math.floor(first / 10) + (first % 10) * 9 + secondDigit * 8;
  for (let i = 2; i < 10; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return { ok: false, reason: 'format' };
    sum += c * (i === 9 ? 1 : 9 - i);
  }
  return sum % 10 === 0 ? { ok: true, kind } : { ok: false, reason: 'checksum', kind };
}

export function isValidPersonId(id: string): boolean {
  return checkPersonId(id).ok;
}

/** The checksum digit that makes `prefix` (letter + 8 digits/letter) a valid ID; for synthetic fixtures. */
export function completePersonId(prefix9: string): string {
  for (let d = 0; d <= 9; d++) {
    const id = prefix9 + String(d);
    if (checkPersonId(id).ok) return id;
  }
  throw new Error(`no checksum digit completes ${prefix9}`);
}

/** 醫事機構代碼: ten characters, as used in place of a person ID in h17, h18 and r9. */
export function isInstitutionCode(value: string): boolean {
  return /^[0-9A-Z]{10}$/.test(value) && /^[0-9]/.test(value);
}

/** `A123456789` → `A12****789`. Anything else of length ≥ 7 keeps 3 + 3 characters; shorter is fully masked. */
export function maskId(id: string): string {
  if (id.length >= 7) return id.slice(0, 3) + '****' + id.slice(-3);
  return '*'.repeat(id.length);
}

const ID_IN_TEXT = /\b([A-Za-z][1289A-Da-d]\d{8})\b/g;

/** Masks every person-ID-shaped token in free text (log lines, messages). */
export function maskIdsInText(text: string): string {
  return text.replace(ID_IN_TEXT, (m) => maskId(m));
}

/** Fields that hold a person's ID (or, for h17/h18/r9, possibly an institution code). */
export const PERSON_ID_FIELDS = new Set(['h9', 'h17', 'h18', 'r9']);

/** A field's value as shown: masked when the field holds a person's ID and the value is one (starts with a letter). */
export function maskFieldValue(field: string | null | undefined, value: string): string {
  return field && PERSON_ID_FIELDS.has(field) && /^[A-Za-z]/.test(value) ? maskId(value) : value;
}
