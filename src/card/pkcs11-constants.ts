/**
 * The PKCS#11 (Cryptoki 2.40) numbers labup uses. They are fixed by the standard, so labup keeps its
 * own copy: the code that reasons about tokens (and the tests that fake one) need no native addon.
 * A unit test checks each value against pkcs11js.
 */

/** Session flags (CK_SESSION_INFO). */
export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;

/** User types for C_Login. */
export const CKU_SO = 0;
export const CKU_USER = 1;
export const CKU_CONTEXT_SPECIFIC = 2;

/** Slot flags (CK_SLOT_INFO). */
export const CKF_TOKEN_PRESENT = 0x1;
export const CKF_REMOVABLE_DEVICE = 0x2;
export const CKF_HW_SLOT = 0x4;

/** Token flags (CK_TOKEN_INFO). */
export const CKF_RNG = 0x1;
export const CKF_WRITE_PROTECTED = 0x2;
export const CKF_LOGIN_REQUIRED = 0x4;
export const CKF_USER_PIN_INITIALIZED = 0x8;
export const CKF_PROTECTED_AUTHENTICATION_PATH = 0x100;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;
export const CKF_USER_PIN_TO_BE_CHANGED = 0x80000;
export const CKF_SO_PIN_COUNT_LOW = 0x100000;
export const CKF_SO_PIN_FINAL_TRY = 0x200000;
export const CKF_SO_PIN_LOCKED = 0x400000;
export const CKF_SO_PIN_TO_BE_CHANGED = 0x800000;

/** Names of the token flags, in the order `card list` shows them. */
export const TOKEN_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [CKF_TOKEN_INITIALIZED, 'TOKEN_INITIALIZED'],
  [CKF_LOGIN_REQUIRED, 'LOGIN_REQUIRED'],
  [CKF_USER_PIN_INITIALIZED, 'USER_PIN_INITIALIZED'],
  [CKF_PROTECTED_AUTHENTICATION_PATH, 'PROTECTED_AUTHENTICATION_PATH'],
  [CKF_WRITE_PROTECTED, 'WRITE_PROTECTED'],
  [CKF_RNG, 'RNG'],
  [CKF_USER_PIN_COUNT_LOW, 'USER_PIN_COUNT_LOW'],
  [CKF_USER_PIN_FINAL_TRY, 'USER_PIN_FINAL_TRY'],
  [CKF_USER_PIN_LOCKED, 'USER_PIN_LOCKED'],
  [CKF_USER_PIN_TO_BE_CHANGED, 'USER_PIN_TO_BE_CHANGED'],
  [CKF_SO_PIN_COUNT_LOW, 'SO_PIN_COUNT_LOW'],
  [CKF_SO_PIN_FINAL_TRY, 'SO_PIN_FINAL_TRY'],
  [CKF_SO_PIN_LOCKED, 'SO_PIN_LOCKED'],
  [CKF_SO_PIN_TO_BE_CHANGED, 'SO_PIN_TO_BE_CHANGED'],
];

/** Object classes. */
export const CKO_DATA = 0;
export const CKO_CERTIFICATE = 1;
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
export const CKO_SECRET_KEY = 4;

/** Attributes. */
export const CKA_CLASS = 0x0;
export const CKA_TOKEN = 0x1;
export const CKA_PRIVATE = 0x2;
export const CKA_LABEL = 0x3;
export const CKA_VALUE = 0x11;
export const CKA_CERTIFICATE_TYPE = 0x80;
export const CKA_ISSUER = 0x81;
export const CKA_SERIAL_NUMBER = 0x82;
export const CKA_TRUSTED = 0x86;
export const CKA_CERTIFICATE_CATEGORY = 0x87;
export const CKA_KEY_TYPE = 0x100;
export const CKA_SUBJECT = 0x101;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_ENCRYPT = 0x104;
export const CKA_DECRYPT = 0x105;
export const CKA_WRAP = 0x106;
export const CKA_UNWRAP = 0x107;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_DERIVE = 0x10c;
export const CKA_MODULUS = 0x120;
export const CKA_MODULUS_BITS = 0x121;
export const CKA_PUBLIC_EXPONENT = 0x122;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_NEVER_EXTRACTABLE = 0x164;
export const CKA_ALWAYS_SENSITIVE = 0x165;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKA_ALWAYS_AUTHENTICATE = 0x202;

/** Certificate and key types. */
export const CKC_X_509 = 0;
export const CKK_RSA = 0;
export const CKK_EC = 3;

/** Mechanisms. */
export const CKM_RSA_PKCS_KEY_PAIR_GEN = 0x0;
export const CKM_RSA_PKCS = 0x1;
export const CKM_SHA1_RSA_PKCS = 0x6;
export const CKM_SHA256_RSA_PKCS = 0x40;
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;

/** Return values labup tells apart. */
export const CKR_SLOT_ID_INVALID = 0x3;
export const CKR_GENERAL_ERROR = 0x5;
export const CKR_DEVICE_ERROR = 0x30;
export const CKR_DEVICE_MEMORY = 0x31;
export const CKR_DEVICE_REMOVED = 0x32;
export const CKR_FUNCTION_CANCELED = 0x50;
export const CKR_KEY_TYPE_INCONSISTENT = 0x63;
export const CKR_KEY_FUNCTION_NOT_PERMITTED = 0x68;
export const CKR_MECHANISM_INVALID = 0x70;
export const CKR_OBJECT_HANDLE_INVALID = 0x82;
export const CKR_PIN_INCORRECT = 0xa0;
export const CKR_PIN_INVALID = 0xa1;
export const CKR_PIN_LEN_RANGE = 0xa2;
export const CKR_PIN_EXPIRED = 0xa3;
export const CKR_PIN_LOCKED = 0xa4;
export const CKR_SESSION_HANDLE_INVALID = 0xb3;
export const CKR_TOKEN_NOT_PRESENT = 0xe0;
export const CKR_TOKEN_NOT_RECOGNIZED = 0xe1;
export const CKR_TOKEN_WRITE_PROTECTED = 0xe2;
export const CKR_USER_ALREADY_LOGGED_IN = 0x100;
export const CKR_USER_NOT_LOGGED_IN = 0x101;
export const CKR_USER_PIN_NOT_INITIALIZED = 0x102;
export const CKR_USER_TYPE_INVALID = 0x103;
export const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;
export const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
export const CKR_FUNCTION_REJECTED = 0x200;

/**
 * The CKR_* return value carried by an error thrown from a PKCS#11 call (pkcs11js throws a
 * `Pkcs11Error` whose `code` is the CK_RV and whose message is its name), or undefined.
 */
export function ckrOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e.code !== 'number') return undefined;
  if (typeof e.message === 'string' && !/^CKR_/.test(e.message)) return undefined;
  return e.code;
}

/** The CKR_* name of an error, for messages (`CKR_PIN_INCORRECT`), or the error's text. */
export function ckrName(err: unknown): string {
  const msg = (err as { message?: unknown } | null)?.message;
  return typeof msg === 'string' && msg ? msg.split('\n')[0]! : String(err);
}

/** An error shaped like pkcs11js's `Pkcs11Error`, for modules implemented in JavaScript (tests). */
export function pkcs11Failure(code: number, name: string, method = ''): Error & { code: number; method: string } {
  const e = new Error(name) as Error & { code: number; method: string };
  e.name = 'Pkcs11Error';
  e.code = code;
  e.method = method;
  return e;
}
