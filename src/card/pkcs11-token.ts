/**
 * Reading a PKCS#11 module: slots, tokens and their PIN state, certificate objects, and logging in
 * without ever spending more than one PIN try.
 *
 * The HCA card (醫事機構卡 / 醫事人員卡) locks after 3 wrong PINs. labup therefore never retries a
 * PIN by itself, checks the token's PIN flags before it tries, refuses a PIN whose length the token
 * cannot accept (nothing is sent to the card), and, when the token reports that the next wrong PIN
 * locks it, refuses to spend that last try without a person at the keyboard.
 */
import { authError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import {
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_ID,
  CKA_LABEL,
  CKA_VALUE,
  CKC_X_509,
  CKF_LOGIN_REQUIRED,
  CKF_PROTECTED_AUTHENTICATION_PATH,
  CKF_REMOVABLE_DEVICE,
  CKF_HW_SLOT,
  CKF_TOKEN_INITIALIZED,
  CKF_TOKEN_PRESENT,
  CKF_USER_PIN_COUNT_LOW,
  CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_INITIALIZED,
  CKF_USER_PIN_LOCKED,
  CKF_USER_PIN_TO_BE_CHANGED,
  CKO_CERTIFICATE,
  CKR_DEVICE_REMOVED,
  CKR_FUNCTION_CANCELED,
  CKR_FUNCTION_REJECTED,
  CKR_PIN_EXPIRED,
  CKR_PIN_INCORRECT,
  CKR_PIN_INVALID,
  CKR_PIN_LEN_RANGE,
  CKR_PIN_LOCKED,
  CKR_TOKEN_NOT_PRESENT,
  CKR_TOKEN_NOT_RECOGNIZED,
  CKR_USER_ALREADY_LOGGED_IN,
  CKR_USER_PIN_NOT_INITIALIZED,
  CKU_USER,
  TOKEN_FLAG_NAMES,
  ckrName,
  ckrOf,
} from './pkcs11-constants.js';
import type { Attribute, Pkcs11Api, TokenInfo } from './pkcs11-module.js';
import type { Pkcs11Uri } from './pkcs11-uri.js';

/** PKCS#11 pads its strings with blanks (and some modules with NULs). */
export function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/u, '');
}

/** A slot handle as the decimal CK_SLOT_ID (what `slot-id=` in a URI means). */
export function slotIdOf(slot: Buffer): string {
  if (slot.length >= 8) return slot.readBigUInt64LE(0).toString();
  if (slot.length >= 4) return String(slot.readUInt32LE(0));
  return String(slot.readUIntLE(0, slot.length || 1));
}

export interface PinState {
  /** The user PIN has been set. */
  initialized: boolean;
  loginRequired: boolean;
  /** A PIN pad or biometric reader: the PIN is entered on the reader, not given by labup. */
  protectedPath: boolean;
  /** A wrong PIN was entered since the last successful login. */
  countLow: boolean;
  /** The next wrong PIN locks the token. */
  finalTry: boolean;
  locked: boolean;
  toBeChanged: boolean;
  /** Tries left when the token tells (1 on the final try, 0 when locked), else null. */
  triesLeft: number | null;
  /** The PIN lengths the token accepts. */
  minLength: number | null;
  maxLength: number | null;
}

export interface TokenSummary {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** CK_TOKEN_INFO.flags as names (`LOGIN_REQUIRED`, `USER_PIN_COUNT_LOW`, …). */
  flags: string[];
  pin: PinState;
}

export interface SlotView {
  slot: Buffer;
  slotId: string;
  description: string;
  manufacturer: string;
  tokenPresent: boolean;
  removable: boolean;
  hardware: boolean;
  /** The token, when one is present and initialized. */
  token: TokenSummary | null;
  /** Why a present token is not usable (not initialized, unreadable). */
  problem?: string;
}

/** PIN rules of the HCA card: 6–8 characters. */
export const HCA_PIN_LENGTH = { min: 6, max: 8 } as const;

export function pinStateOf(info: Pick<TokenInfo, 'flags' | 'minPinLen' | 'maxPinLen'>, hca = false): PinState {
  const f = info.flags;
  const locked = (f & CKF_USER_PIN_LOCKED) !== 0;
  const finalTry = (f & CKF_USER_PIN_FINAL_TRY) !== 0;
  const sane = (n: number) => Number.isFinite(n) && n > 0 && n < 0x7fffffff;
  const min = hca ? HCA_PIN_LENGTH.min : sane(info.minPinLen) ? info.minPinLen : null;
  const max = hca ? HCA_PIN_LENGTH.max : sane(info.maxPinLen) && (min === null || info.maxPinLen >= min) ? info.maxPinLen : null;
  return {
    initialized: (f & CKF_USER_PIN_INITIALIZED) !== 0,
    loginRequired: (f & CKF_LOGIN_REQUIRED) !== 0,
    protectedPath: (f & CKF_PROTECTED_AUTHENTICATION_PATH) !== 0,
    countLow: (f & CKF_USER_PIN_COUNT_LOW) !== 0,
    finalTry,
    locked,
    toBeChanged: (f & CKF_USER_PIN_TO_BE_CHANGED) !== 0,
    triesLeft: locked ? 0 : finalTry ? 1 : null,
    minLength: min,
    maxLength: max,
  };
}

export function tokenSummaryOf(info: TokenInfo, hca = false): TokenSummary {
  return {
    label: trimPadded(info.label),
    manufacturer: trimPadded(info.manufacturerID),
    model: trimPadded(info.model),
    serial: trimPadded(info.serialNumber),
    flags: TOKEN_FLAG_NAMES.filter(([bit]) => (info.flags & bit) !== 0).map(([, name]) => name),
    pin: pinStateOf(info, hca),
  };
}

/** Maps errors that mean "the card went away" (or never was) to a coded error; else undefined. */
export function tokenGoneError(err: unknown, where: string) {
  const rv = ckrOf(err);
  if (rv === CKR_TOKEN_NOT_PRESENT || rv === CKR_DEVICE_REMOVED) {
    return authError('CARD_TOKEN_REMOVED', `${where}: the card was removed (${ckrName(err)})`, { hint: 'Put the card back into the reader and run again.', cause: err });
  }
  if (rv === CKR_TOKEN_NOT_RECOGNIZED) {
    return authError('CARD_TOKEN_NOT_RECOGNIZED', `${where}: the module does not recognize the card in the reader`, { hint: 'Check that this is the right card for this module (an HCA card needs HCAPKCS11.dll).', cause: err });
  }
  return undefined;
}

export function pkcs11Error(err: unknown, where: string) {
  return (
    tokenGoneError(err, where) ??
    authError('CARD_PKCS11_ERROR', `${where} failed: ${ckrName(err)}`, { hint: 'Run `labup card list` to see what the module reports; run again with --debug for details.', cause: err })
  );
}

/** Every slot the module reports, with its token when one is present. */
export function listSlots(api: Pkcs11Api, options: { hca?: boolean } = {}): SlotView[] {
  let slots: Buffer[];
  try {
    slots = api.C_GetSlotList(false);
  } catch (err) {
    throw pkcs11Error(err, 'listing the card reader slots (C_GetSlotList)');
  }
  return slots.map((slot) => {
    const slotId = slotIdOf(slot);
    let description = '';
    let manufacturer = '';
    let flags = 0;
    try {
      const si = api.C_GetSlotInfo(slot);
      description = trimPadded(si.slotDescription);
      manufacturer = trimPadded(si.manufacturerID);
      flags = si.flags;
    } catch {
      // A slot that cannot describe itself is still listed.
      flags = CKF_TOKEN_PRESENT;
    }
    const view: SlotView = {
      slot,
      slotId,
      description,
      manufacturer,
      tokenPresent: (flags & CKF_TOKEN_PRESENT) !== 0,
      removable: (flags & CKF_REMOVABLE_DEVICE) !== 0,
      hardware: (flags & CKF_HW_SLOT) !== 0,
      token: null,
    };
    if (!view.tokenPresent) return view;
    try {
      const info = api.C_GetTokenInfo(slot);
      if ((info.flags & CKF_TOKEN_INITIALIZED) === 0) {
        view.problem = 'the token is not initialized';
      } else {
        view.token = tokenSummaryOf(info, options.hca);
      }
    } catch (err) {
      const rv = ckrOf(err);
      if (rv === CKR_TOKEN_NOT_PRESENT || rv === CKR_DEVICE_REMOVED) view.tokenPresent = false;
      else view.problem = `the token cannot be read (${ckrName(err)})`;
    }
    return view;
  });
}

function matches(uri: Pkcs11Uri, s: SlotView): boolean {
  const t = s.token!;
  if (uri.slotId !== undefined && uri.slotId !== s.slotId) return false;
  if (uri.slotDescription !== undefined && uri.slotDescription !== s.description) return false;
  if (uri.slotManufacturer !== undefined && uri.slotManufacturer !== s.manufacturer) return false;
  if (uri.token !== undefined && uri.token !== t.label) return false;
  if (uri.manufacturer !== undefined && uri.manufacturer !== t.manufacturer) return false;
  if (uri.serial !== undefined && uri.serial !== t.serial) return false;
  if (uri.model !== undefined && uri.model !== t.model) return false;
  return true;
}

/** What in a URI chooses the token, for messages. */
export function describeTokenChoice(uri: Pkcs11Uri): string {
  const parts: string[] = [];
  if (uri.token !== undefined) parts.push(`token=${uri.token}`);
  if (uri.serial !== undefined) parts.push(`serial=${uri.serial}`);
  if (uri.manufacturer !== undefined) parts.push(`manufacturer=${uri.manufacturer}`);
  if (uri.model !== undefined) parts.push(`model=${uri.model}`);
  if (uri.slotId !== undefined) parts.push(`slot-id=${uri.slotId}`);
  if (uri.slotDescription !== undefined) parts.push(`slot-description=${uri.slotDescription}`);
  if (uri.slotManufacturer !== undefined) parts.push(`slot-manufacturer=${uri.slotManufacturer}`);
  return parts.join(';') || 'any token';
}

/** Checks the module attributes of a URI (library-manufacturer, -description, -version). */
export function checkLibrary(api: Pkcs11Api, uri: Pkcs11Uri, modulePath: string): void {
  if (uri.libraryManufacturer === undefined && uri.libraryDescription === undefined && uri.libraryVersion === undefined) return;
  const info = api.C_GetInfo();
  const manufacturer = trimPadded(info.manufacturerID);
  const description = trimPadded(info.libraryDescription);
  const version = `${info.libraryVersion.major}.${info.libraryVersion.minor}`;
  const wrong =
    (uri.libraryManufacturer !== undefined && uri.libraryManufacturer !== manufacturer) ||
    (uri.libraryDescription !== undefined && uri.libraryDescription !== description) ||
    (uri.libraryVersion !== undefined && !(uri.libraryVersion.includes('.') ? version === uri.libraryVersion : String(info.libraryVersion.major) === uri.libraryVersion));
  if (wrong) {
    throw authError('CARD_MODULE_MISMATCH', `the module ${modulePath} is “${description}” by “${manufacturer}”, version ${version}, not what the card URI asks for`, {
      hint: 'Point module-path at the library the URI describes, or drop the library-… attributes from the URI.',
    });
  }
}

/** Finds the one token a URI names. Distinct errors for no token at all, none matching, several. */
export function selectToken(slots: SlotView[], uri: Pkcs11Uri, modulePath: string): SlotView & { token: TokenSummary } {
  const choice = describeTokenChoice(uri);
  if (uri.slotId !== undefined) {
    const slot = slots.find((s) => s.slotId === uri.slotId);
    if (slot && !slot.tokenPresent) {
      throw authError('CARD_TOKEN_NOT_PRESENT', `no card in slot ${uri.slotId}${slot.description ? ` (${slot.description})` : ''}`, {
        hint: 'Put the card into the reader (chip first, contacts up) and run again.',
      });
    }
  }
  const usable = slots.filter((s): s is SlotView & { token: TokenSummary } => s.token !== null);
  if (usable.length === 0) {
    const present = slots.filter((s) => s.tokenPresent);
    throw authError(
      'CARD_NO_TOKEN',
      present.length === 0
        ? `no card in any reader of ${modulePath} (${slots.length} slot${slots.length === 1 ? '' : 's'})`
        : `no usable card in ${modulePath}: ${present.map((s) => `slot ${s.slotId}: ${s.problem ?? 'unreadable'}`).join('; ')}`,
      {
        hint: 'Put the card into the reader and check that the reader is connected (labup card list shows what the module sees).',
        details: { slots: slots.length },
      },
    );
  }
  const found = usable.filter((s) => matches(uri, s));
  if (found.length === 0) {
    throw authError('CARD_TOKEN_NOT_FOUND', `no card matches ${choice}; present: ${usable.map((s) => `“${s.token.label}” (serial ${s.token.serial || '—'})`).join(', ')}`, {
      hint: 'Put the right card into the reader, or fix token=/serial= in the card URI (labup card list shows each token’s URI).',
      details: { present: usable.map((s) => ({ label: s.token.label, serial: s.token.serial, slotId: s.slotId })) },
    });
  }
  if (found.length > 1) {
    throw authError('CARD_TOKEN_AMBIGUOUS', `${found.length} cards match ${choice}: ${found.map((s) => `“${s.token.label}” (serial ${s.token.serial || '—'})`).join(', ')}`, {
      hint: 'Name one in the card URI with token=… and serial=… (labup card list shows each token’s URI).',
    });
  }
  return found[0]!;
}

// ---------------------------------------------------------------------------------------------
// Objects

export function findObjects(api: Pkcs11Api, session: Buffer, template: Attribute[]): Buffer[] {
  const out: Buffer[] = [];
  api.C_FindObjectsInit(session, template);
  try {
    for (;;) {
      const batch = api.C_FindObjects(session, 32);
      if (!batch || batch.length === 0) break;
      out.push(...batch);
      if (out.length > 4096) break;
    }
  } finally {
    api.C_FindObjectsFinal(session);
  }
  return out;
}

/** One attribute's bytes, or undefined when the object does not have it (or hides it). */
export function attribute(api: Pkcs11Api, session: Buffer, object: Buffer, type: number): Buffer | undefined {
  try {
    const [a] = api.C_GetAttributeValue(session, object, [{ type }]);
    const v = a?.value;
    if (v === undefined || v === null) return undefined;
    if (Buffer.isBuffer(v)) return v;
    if (typeof v === 'string') return Buffer.from(v, 'utf8');
    if (typeof v === 'number') {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    }
    if (typeof v === 'boolean') return Buffer.from([v ? 1 : 0]);
    return undefined;
  } catch {
    return undefined;
  }
}

/** A CK_ULONG attribute (little-endian, 4 or 8 bytes), or undefined. */
export function ulongAttribute(api: Pkcs11Api, session: Buffer, object: Buffer, type: number): number | undefined {
  const b = attribute(api, session, object, type);
  if (!b || b.length === 0) return undefined;
  if (b.length >= 8) return Number(b.readBigUInt64LE(0));
  if (b.length >= 4) return b.readUInt32LE(0);
  return b.readUIntLE(0, b.length);
}

export function boolAttribute(api: Pkcs11Api, session: Buffer, object: Buffer, type: number): boolean | undefined {
  const b = attribute(api, session, object, type);
  if (!b || b.length === 0) return undefined;
  return b[0] !== 0;
}

export interface CertificateObject {
  handle: Buffer;
  /** CKA_ID bytes (may be empty). */
  id: Buffer;
  label: string;
  der: Buffer;
}

/** X.509 certificate objects, optionally filtered by CKA_ID and CKA_LABEL (public: no login needed). */
export function certificateObjects(api: Pkcs11Api, session: Buffer, filter: { id?: Buffer; label?: string } = {}): CertificateObject[] {
  const template: Attribute[] = [{ type: CKA_CLASS, value: CKO_CERTIFICATE }];
  if (filter.id !== undefined) template.push({ type: CKA_ID, value: filter.id });
  if (filter.label !== undefined) template.push({ type: CKA_LABEL, value: filter.label });
  const out: CertificateObject[] = [];
  for (const handle of findObjects(api, session, template)) {
    const type = ulongAttribute(api, session, handle, CKA_CERTIFICATE_TYPE);
    if (type !== undefined && type !== CKC_X_509) continue;
    const der = attribute(api, session, handle, CKA_VALUE);
    if (!der || der.length === 0) continue;
    out.push({ handle, id: attribute(api, session, handle, CKA_ID) ?? Buffer.alloc(0), label: (attribute(api, session, handle, CKA_LABEL) ?? Buffer.alloc(0)).toString('utf8'), der });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Logging in

export interface LoginOptions {
  /** Gives the PIN; called at most once, only after the token was found and checked. */
  pin: () => Promise<string>;
  /** True when a person types the PIN now (a prompt): only then may the final try be spent. */
  interactive: boolean;
  /** Where the card is, for messages (never the PIN). */
  where: string;
  host?: IoHost;
  /** Warn through the host when a wrong PIN was entered since the last login (default true). */
  warnCountLow?: boolean;
}

/** Current PIN state, read again from the token (it changes after a wrong PIN). */
export function readPinState(api: Pkcs11Api, slot: Buffer, hca = false): PinState | undefined {
  try {
    return pinStateOf(api.C_GetTokenInfo(slot), hca);
  } catch {
    return undefined;
  }
}

function wrongPinError(where: string, after: PinState | undefined) {
  const locked = after?.locked === true;
  if (locked) {
    return authError('CARD_PIN_LOCKED', `${where}: wrong PIN — the card is now locked`, {
      hint: 'The card must be unlocked with its PUK/SO-PIN or by the issuer (for HCA cards: the HCA service). labup tried the PIN once and will not try again.',
      details: { triesLeft: 0 },
    });
  }
  const tries = after?.finalTry ? 'one try left before the card locks' : after?.countLow ? 'the card reports a low PIN try count' : 'the card did not say how many tries are left';
  return authError('CARD_WRONG_PIN', `${where}: wrong PIN (${tries})`, {
    hint:
      'labup tried the PIN once and stopped. Check the PIN source (pin-source / pinSource) before the next run: an HCA card locks after 3 wrong PINs' +
      (after?.finalTry ? ' — the next wrong PIN locks this card.' : '.'),
    details: { triesLeft: after?.triesLeft ?? null, countLow: after?.countLow ?? null, finalTry: after?.finalTry ?? null },
  });
}

/**
 * Logs the user in on `session`. Checks the PIN state first (locked: no try; final try: only with a
 * person at the prompt), checks the PIN's length against the token's limits (a wrong length is refused
 * without sending it), then calls C_Login exactly once. Never retries.
 */
export async function loginUser(api: Pkcs11Api, session: Buffer, slot: Buffer, o: LoginOptions & { hca?: boolean; userType?: number }): Promise<void> {
  const before = readPinState(api, slot, o.hca);
  if (before?.locked) {
    throw authError('CARD_PIN_LOCKED', `${o.where}: the card’s PIN is locked`, {
      hint: 'The card must be unlocked with its PUK/SO-PIN or by the issuer (for HCA cards: the HCA service). labup did not try a PIN.',
      details: { triesLeft: 0 },
    });
  }
  if (before && !before.initialized) {
    throw authError('CARD_PIN_NOT_INITIALIZED', `${o.where}: the card has no user PIN set`, { hint: 'Set the user PIN with the card’s own tools first.' });
  }
  if (before?.finalTry && !o.interactive) {
    throw authError('CARD_PIN_FINAL_TRY', `${o.where}: the card reports that the next wrong PIN locks it; labup will not spend that try unattended`, {
      hint: 'Run `labup card test` on a terminal and type the PIN at the prompt; after one correct PIN the unattended runs work again.',
      details: { triesLeft: 1 },
    });
  }
  if (before?.countLow && o.warnCountLow !== false) {
    o.host?.notify({ level: 'warn', code: 'CARD_PIN_COUNT_LOW', message: `${o.where}: the card saw a wrong PIN since its last successful login` });
  }
  let pin: string | undefined;
  if (!before?.protectedPath) {
    pin = await o.pin();
    const len = [...pin].length;
    const min = before?.minLength ?? null;
    const max = before?.maxLength ?? null;
    if ((min !== null && len < min) || (max !== null && len > max)) {
      throw authError('CARD_PIN_FORMAT', `${o.where}: the PIN given has ${len} characters; this card takes ${min ?? 1}–${max ?? '…'} — it was not sent to the card`, {
        hint: 'Check the PIN source (pin-source / pinSource): a stray character or the wrong secret. No PIN try was used.',
      });
    }
  } else {
    o.host?.notify({ level: 'info', code: 'CARD_PIN_PAD', message: `${o.where}: enter the PIN on the card reader’s keypad` });
  }
  try {
    api.C_Login(session, o.userType ?? CKU_USER, pin);
  } catch (err) {
    const rv = ckrOf(err);
    if (rv === CKR_USER_ALREADY_LOGGED_IN) return;
    if (rv === CKR_PIN_INCORRECT) throw wrongPinError(o.where, readPinState(api, slot, o.hca));
    if (rv === CKR_PIN_LOCKED) {
      throw authError('CARD_PIN_LOCKED', `${o.where}: the card’s PIN is locked`, {
        hint: 'The card must be unlocked with its PUK/SO-PIN or by the issuer (for HCA cards: the HCA service).',
        details: { triesLeft: 0 },
      });
    }
    if (rv === CKR_PIN_LEN_RANGE || rv === CKR_PIN_INVALID) {
      throw authError('CARD_PIN_FORMAT', `${o.where}: the card refused the PIN’s format (${ckrName(err)})`, { hint: 'Check the PIN source: the PIN has the wrong length or characters.' });
    }
    if (rv === CKR_PIN_EXPIRED) throw authError('CARD_PIN_EXPIRED', `${o.where}: the PIN has expired`, { hint: 'Change the PIN with the card’s own tools, then run again.' });
    if (rv === CKR_USER_PIN_NOT_INITIALIZED) throw authError('CARD_PIN_NOT_INITIALIZED', `${o.where}: the card has no user PIN set`, { hint: 'Set the user PIN with the card’s own tools first.' });
    if (rv === CKR_FUNCTION_CANCELED || rv === CKR_FUNCTION_REJECTED) throw authError('CARD_LOGIN_CANCELLED', `${o.where}: the PIN entry was cancelled on the reader`);
    throw pkcs11Error(err, `${o.where}: logging in (C_Login)`);
  } finally {
    pin = undefined;
  }
}
