/**
 * A PKCS#11 module written in JavaScript that behaves like an HCA card where SoftHSM cannot: it
 * counts PIN tries down from 3 and raises USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED, can lack the
 * hashing RSA mechanisms, can have a PIN pad, and records every call.
 */
import { createHash, constants, privateEncrypt, sign as cryptoSign, type KeyObject } from 'node:crypto';
import {
  CKA_ALWAYS_AUTHENTICATE,
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_VALUE,
  CKF_LOGIN_REQUIRED,
  CKF_PROTECTED_AUTHENTICATION_PATH,
  CKF_TOKEN_INITIALIZED,
  CKF_TOKEN_PRESENT,
  CKF_USER_PIN_COUNT_LOW,
  CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_INITIALIZED,
  CKF_USER_PIN_LOCKED,
  CKK_RSA,
  CKM_RSA_PKCS,
  CKM_SHA1_RSA_PKCS,
  CKM_SHA256_RSA_PKCS,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_MECHANISM_INVALID,
  CKR_PIN_INCORRECT,
  CKR_PIN_LOCKED,
  CKR_SESSION_HANDLE_INVALID,
  CKR_USER_ALREADY_LOGGED_IN,
  CKR_USER_NOT_LOGGED_IN,
  CKU_CONTEXT_SPECIFIC,
  pkcs11Failure,
} from '../../../src/card/pkcs11-constants.js';
import type { Attribute, ModuleLoader, Pkcs11Api } from '../../../src/card/pkcs11-module.js';

export interface FakeObject {
  class: number;
  id: Buffer;
  label: string;
  /** Certificate DER. */
  value?: Buffer;
  /** Private key material (it stays inside the fake). */
  key?: KeyObject;
  alwaysAuthenticate?: boolean;
}

export interface FakeToken {
  label: string;
  serial: string;
  pin: string;
  objects: FakeObject[];
  /** PIN tries left (an HCA card starts with 3). */
  triesLeft?: number;
  maxTries?: number;
  protectedPath?: boolean;
  minPinLen?: number;
  maxPinLen?: number;
  /** Mechanisms the token offers (default: SHA-256/SHA-1 RSA and raw RSA). */
  mechanisms?: number[];
  loggedIn?: boolean;
}

const ERR: Record<number, string> = {
  [CKR_PIN_INCORRECT]: 'CKR_PIN_INCORRECT',
  [CKR_PIN_LOCKED]: 'CKR_PIN_LOCKED',
  [CKR_MECHANISM_INVALID]: 'CKR_MECHANISM_INVALID',
  [CKR_USER_NOT_LOGGED_IN]: 'CKR_USER_NOT_LOGGED_IN',
  [CKR_USER_ALREADY_LOGGED_IN]: 'CKR_USER_ALREADY_LOGGED_IN',
  [CKR_CRYPTOKI_NOT_INITIALIZED]: 'CKR_CRYPTOKI_NOT_INITIALIZED',
  [CKR_CRYPTOKI_ALREADY_INITIALIZED]: 'CKR_CRYPTOKI_ALREADY_INITIALIZED',
  [CKR_SESSION_HANDLE_INVALID]: 'CKR_SESSION_HANDLE_INVALID',
  0x12: 'CKR_ATTRIBUTE_TYPE_INVALID',
};

function fail(code: number, method: string): never {
  throw pkcs11Failure(code, ERR[code] ?? `CKR_0x${code.toString(16)}`, method);
}

function ulong(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function slotHandle(i: number): Buffer {
  return ulong(i);
}

interface Session {
  slot: number;
  find?: Buffer[];
  signing?: { mechanism: number; key: FakeObject; contextLoggedIn: boolean };
}

export class FakeModule implements Pkcs11Api {
  calls: string[] = [];
  /** Every PIN given to C_Login, in order (tests check how often labup tried). */
  pinsTried: Array<string | undefined> = [];
  initialized = false;
  private sessions = new Map<number, Session>();
  private nextSession = 1;
  private handles: FakeObject[] = [];

  /** `slots[i]` is a token, or null for an empty reader. */
  constructor(readonly slots: Array<FakeToken | null>) {}

  count(fn: string): number {
    return this.calls.filter((c) => c === fn).length;
  }

  private token(slot: Buffer): FakeToken {
    const t = this.slots[Number(slot.readBigUInt64LE(0))];
    if (!t) fail(0xe0, 'C_GetTokenInfo');
    return t;
  }

  private session(h: Buffer, method: string): Session {
    const s = this.sessions.get(Number(h.readBigUInt64LE(0)));
    if (!s) fail(CKR_SESSION_HANDLE_INVALID, method);
    return s;
  }

  private handleOf(o: FakeObject): Buffer {
    let i = this.handles.indexOf(o);
    if (i < 0) i = this.handles.push(o) - 1;
    return ulong(i + 1);
  }

  private object(h: Buffer): FakeObject {
    return this.handles[Number(h.readBigUInt64LE(0)) - 1]!;
  }

  load(): void {
    this.calls.push('load');
  }
  close(): void {
    this.calls.push('close');
  }
  C_Initialize(): void {
    this.calls.push('C_Initialize');
    if (this.initialized) fail(CKR_CRYPTOKI_ALREADY_INITIALIZED, 'C_Initialize');
    this.initialized = true;
  }
  C_Finalize(): void {
    this.calls.push('C_Finalize');
    if (!this.initialized) fail(CKR_CRYPTOKI_NOT_INITIALIZED, 'C_Finalize');
    this.initialized = false;
    this.sessions.clear();
    for (const t of this.slots) if (t) t.loggedIn = false;
  }
  C_GetInfo() {
    return { cryptokiVersion: { major: 2, minor: 40 }, manufacturerID: 'labup test'.padEnd(32), flags: 0, libraryDescription: 'fake HCA module'.padEnd(32), libraryVersion: { major: 1, minor: 0 } };
  }
  C_GetSlotList(tokenPresent?: boolean): Buffer[] {
    this.calls.push('C_GetSlotList');
    return this.slots.map((t, i) => (tokenPresent && !t ? null : slotHandle(i))).filter((b): b is Buffer => b !== null);
  }
  C_GetSlotInfo(slot: Buffer) {
    const t = this.slots[Number(slot.readBigUInt64LE(0))];
    return { slotDescription: 'fake reader'.padEnd(64), manufacturerID: 'labup test'.padEnd(32), flags: t ? CKF_TOKEN_PRESENT | 0x2 : 0x2, hardwareVersion: { major: 1, minor: 0 }, firmwareVersion: { major: 1, minor: 0 } };
  }
  C_GetTokenInfo(slot: Buffer) {
    this.calls.push('C_GetTokenInfo');
    const t = this.token(slot);
    const max = t.maxTries ?? 3;
    const left = t.triesLeft ?? max;
    let flags = CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
    if (t.protectedPath) flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
    if (left < max && left > 0) flags |= CKF_USER_PIN_COUNT_LOW;
    if (left === 1) flags |= CKF_USER_PIN_FINAL_TRY;
    if (left === 0) flags |= CKF_USER_PIN_LOCKED;
    return { label: t.label.padEnd(32), manufacturerID: 'labup test'.padEnd(32), model: 'HCA-like'.padEnd(16), serialNumber: t.serial.padEnd(16), flags, maxPinLen: t.maxPinLen ?? 8, minPinLen: t.minPinLen ?? 6 };
  }
  C_GetMechanismList(slot: Buffer): number[] {
    return this.token(slot).mechanisms ?? [CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS];
  }
  C_OpenSession(slot: Buffer): Buffer {
    this.calls.push('C_OpenSession');
    if (!this.initialized) fail(CKR_CRYPTOKI_NOT_INITIALIZED, 'C_OpenSession');
    this.token(slot);
    const h = this.nextSession++;
    this.sessions.set(h, { slot: Number(slot.readBigUInt64LE(0)) });
    return ulong(h);
  }
  C_CloseSession(session: Buffer): void {
    this.calls.push('C_CloseSession');
    this.sessions.delete(Number(session.readBigUInt64LE(0)));
  }
  C_Login(session: Buffer, userType: number, pin?: string): void {
    this.calls.push('C_Login');
    this.pinsTried.push(pin);
    const s = this.session(session, 'C_Login');
    const t = this.slots[s.slot]!;
    const max = t.maxTries ?? 3;
    const left = t.triesLeft ?? max;
    if (left === 0) fail(CKR_PIN_LOCKED, 'C_Login');
    if (userType !== CKU_CONTEXT_SPECIFIC && t.loggedIn) fail(CKR_USER_ALREADY_LOGGED_IN, 'C_Login');
    if (!t.protectedPath && pin !== t.pin) {
      t.triesLeft = left - 1;
      fail(CKR_PIN_INCORRECT, 'C_Login');
    }
    t.triesLeft = max;
    if (userType === CKU_CONTEXT_SPECIFIC) {
      if (s.signing) s.signing.contextLoggedIn = true;
    } else t.loggedIn = true;
  }
  C_Logout(session: Buffer): void {
    this.calls.push('C_Logout');
    const s = this.session(session, 'C_Logout');
    this.slots[s.slot]!.loggedIn = false;
  }
  C_FindObjectsInit(session: Buffer, template: Attribute[]): void {
    const s = this.session(session, 'C_FindObjectsInit');
    const t = this.slots[s.slot]!;
    s.find = t.objects
      .filter((o) => o.class !== CKO_PRIVATE_KEY || t.loggedIn)
      .filter((o) =>
        template.every((a) => {
          if (a.type === CKA_CLASS) return o.class === a.value;
          if (a.type === CKA_ID) return Buffer.isBuffer(a.value) && o.id.equals(a.value);
          if (a.type === CKA_LABEL) return o.label === a.value;
          return false;
        }),
      )
      .map((o) => this.handleOf(o));
  }
  C_FindObjects(session: Buffer, max: number): Buffer[] {
    const s = this.session(session, 'C_FindObjects');
    return (s.find ?? []).splice(0, max);
  }
  C_FindObjectsFinal(session: Buffer): void {
    this.session(session, 'C_FindObjectsFinal').find = undefined;
  }
  C_GetAttributeValue(_session: Buffer, object: Buffer, template: Attribute[]) {
    const o = this.object(object);
    return template.map((a) => {
      switch (a.type) {
        case CKA_CLASS:
          return { type: a.type, value: ulong(o.class) };
        case CKA_ID:
          return { type: a.type, value: o.id };
        case CKA_LABEL:
          return { type: a.type, value: Buffer.from(o.label) };
        case CKA_VALUE:
          if (!o.value) fail(0x12, 'C_GetAttributeValue');
          return { type: a.type, value: o.value };
        case CKA_CERTIFICATE_TYPE:
          if (o.class !== CKO_CERTIFICATE) fail(0x12, 'C_GetAttributeValue');
          return { type: a.type, value: ulong(0) };
        case CKA_KEY_TYPE:
          if (!o.key) fail(0x12, 'C_GetAttributeValue');
          return { type: a.type, value: ulong(CKK_RSA) };
        case CKA_MODULUS: {
          if (!o.key) fail(0x12, 'C_GetAttributeValue');
          const jwk = o.key.export({ format: 'jwk' }) as { n: string };
          return { type: a.type, value: Buffer.from(jwk.n, 'base64url') };
        }
        case CKA_ALWAYS_AUTHENTICATE:
          return { type: a.type, value: Buffer.from([o.alwaysAuthenticate ? 1 : 0]) };
        default:
          fail(0x12, 'C_GetAttributeValue');
      }
    });
  }
  C_SignInit(session: Buffer, mechanism: { mechanism: number }, key: Buffer): void {
    this.calls.push('C_SignInit');
    const s = this.session(session, 'C_SignInit');
    const t = this.slots[s.slot]!;
    if (!t.loggedIn) fail(CKR_USER_NOT_LOGGED_IN, 'C_SignInit');
    if (!this.C_GetMechanismList(slotHandle(s.slot)).includes(mechanism.mechanism)) fail(CKR_MECHANISM_INVALID, 'C_SignInit');
    s.signing = { mechanism: mechanism.mechanism, key: this.object(key), contextLoggedIn: false };
  }
  C_Sign(session: Buffer, data: Buffer, out: Buffer): Buffer {
    this.calls.push('C_Sign');
    const s = this.session(session, 'C_Sign');
    const op = s.signing!;
    s.signing = undefined;
    if (op.key.alwaysAuthenticate && !op.contextLoggedIn) fail(CKR_USER_NOT_LOGGED_IN, 'C_Sign');
    const key = op.key.key!;
    let sig: Buffer;
    if (op.mechanism === CKM_SHA256_RSA_PKCS) sig = cryptoSign('sha256', data, key);
    else if (op.mechanism === CKM_SHA1_RSA_PKCS) sig = cryptoSign('sha1', data, key);
    else sig = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data);
    sig.copy(out);
    return out.subarray(0, sig.length);
  }
  C_GenerateKeyPair(): never {
    throw new Error('not in the fake');
  }
  C_CreateObject(): never {
    throw new Error('not in the fake');
  }
  C_DestroyObject(): never {
    throw new Error('not in the fake');
  }
}

/** A loader that hands out the fake (whatever the path). */
export function fakeLoader(mod: FakeModule): ModuleLoader {
  return async (path) => {
    mod.load();
    void path;
    return mod;
  };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
