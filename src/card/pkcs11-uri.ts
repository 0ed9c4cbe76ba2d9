/**
 * RFC 7512 PKCS#11 URIs: which module, token and objects a card is, e.g.
 * `pkcs11:token=HCA;object=sign;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so`.
 *
 * Path attributes (`;`-separated) choose the token and the objects; query attributes (`&`-separated)
 * name the module and where the PIN comes from. Values are percent-decoded (`id` as bytes, the others
 * as UTF-8). A PIN inside the URI (`pin-value`) is refused: a URI ends up on command lines, in shell
 * history and in config files, and a PIN must never be there.
 */
import { usageError } from '../errors.js';
import { parseSecretSource, type SecretSource } from '../secrets.js';

export type Pkcs11ObjectType = 'cert' | 'private' | 'public' | 'secret-key' | 'data';

export interface Pkcs11Uri {
  /** Token label (CK_TOKEN_INFO.label). */
  token?: string;
  /** Token manufacturer ID. */
  manufacturer?: string;
  /** Token serial number. */
  serial?: string;
  /** Token model. */
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  /** `major` or `major.minor`. */
  libraryVersion?: string;
  slotDescription?: string;
  slotManufacturer?: string;
  /** Decimal slot ID. */
  slotId?: string;
  /** Object label (CKA_LABEL). */
  object?: string;
  /** Object ID (CKA_ID) as bytes. */
  id?: Buffer;
  type?: Pkcs11ObjectType;
  /** Query `module-path`: the PKCS#11 library file. */
  modulePath?: string;
  /** Query `module-name`: a library looked up in the usual module folders. */
  moduleName?: string;
  /** Query `pin-source`: env:NAME, file:PATH, cmd:COMMAND or prompt (labup's secret sources). */
  pinSource?: SecretSource;
}

const PATH_ATTRS: Record<string, keyof Pkcs11Uri> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'slot-id': 'slotId',
  object: 'object',
  id: 'id',
  type: 'type',
};

const QUERY_ATTRS = ['module-path', 'module-name', 'pin-source', 'pin-value'] as const;
const TYPES: readonly Pkcs11ObjectType[] = ['cert', 'private', 'public', 'secret-key', 'data'];

function bad(uri: string, what: string) {
  // A URI may carry a pin-value; never echo it whole.
  const shown = uri.replace(/pin-value=[^&]*/gi, 'pin-value=…');
  return usageError('CARD_URI', `“${shown.slice(0, 120)}” is not a valid PKCS#11 URI: ${what}`, {
    hint: 'Write it as pkcs11:token=LABEL;id=%01?module-path=/path/to/module (RFC 7512; quote it in the shell because of “;”).',
  });
}

/** Percent-decodes to bytes; a `%` not followed by two hex digits is an error. */
export function percentDecode(text: string): Buffer | undefined {
  const out: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b !== 0x25) {
      out.push(b);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a `pkcs11:` URI. Throws a usage error (exit 2) naming what is wrong. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  const uri = text.trim();
  if (!/^pkcs11:/i.test(uri)) throw bad(uri, 'it must start with “pkcs11:”');
  const rest = uri.slice(7);
  const q = rest.indexOf('?');
  const pathPart = q < 0 ? rest : rest.slice(0, q);
  const queryPart = q < 0 ? '' : rest.slice(q + 1);
  if (/#/.test(rest)) throw bad(uri, 'a fragment (“#…”) is not allowed');
  const result: Pkcs11Uri = {};
  const seen = new Set<string>();

  const decode = (name: string, value: string, asBytes = false): string | Buffer => {
    const bytes = percentDecode(value);
    if (!bytes) throw bad(uri, `the value of “${name}” has a “%” that is not followed by two hex digits`);
    if (asBytes) return bytes;
    try {
      return utf8.decode(bytes);
    } catch {
      throw bad(uri, `the value of “${name}” is not UTF-8 after percent-decoding`);
    }
  };

  for (const part of pathPart.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `“${part.slice(0, 30)}” is not name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const value = part.slice(eq + 1);
    if (name.startsWith('x-')) continue; // vendor-specific: not ours to interpret
    const key = PATH_ATTRS[name];
    if (!key) throw bad(uri, `unknown attribute “${name}” (known: ${Object.keys(PATH_ATTRS).join(', ')})`);
    if (seen.has(name)) throw bad(uri, `“${name}” is given twice`);
    seen.add(name);
    if (key === 'id') {
      result.id = decode(name, value, true) as Buffer;
      continue;
    }
    const v = decode(name, value) as string;
    if (key === 'type') {
      if (!TYPES.includes(v as Pkcs11ObjectType)) throw bad(uri, `type must be one of ${TYPES.join(', ')}`);
      result.type = v as Pkcs11ObjectType;
    } else if (key === 'slotId') {
      if (!/^\d+$/.test(v)) throw bad(uri, 'slot-id must be a decimal number');
      result.slotId = BigInt(v).toString();
    } else if (key === 'libraryVersion') {
      if (!/^\d+(\.\d+)?$/.test(v)) throw bad(uri, 'library-version must be M or M.N');
      result.libraryVersion = v;
    } else {
      (result as Record<string, unknown>)[key] = v;
    }
  }

  for (const part of queryPart.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `query “${part.slice(0, 30)}” is not name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const value = part.slice(eq + 1);
    if (name.startsWith('x-')) continue;
    if (!(QUERY_ATTRS as readonly string[]).includes(name)) throw bad(uri, `unknown query attribute “${name}” (known: module-path, module-name, pin-source)`);
    if (name === 'pin-value') {
      throw usageError('CARD_URI_PIN_VALUE', 'the card URI carries a PIN (pin-value); labup never takes a PIN from a URI or the command line', {
        hint: 'Remove pin-value from the URI and give the PIN through pin-source=env:NAME, file:PATH or cmd:COMMAND, or type it at the prompt.',
      });
    }
    if (seen.has(name)) throw bad(uri, `“${name}” is given twice`);
    seen.add(name);
    const v = decode(name, value) as string;
    if (!v) throw bad(uri, `“${name}” is empty`);
    if (name === 'module-path') result.modulePath = v;
    else if (name === 'module-name') result.moduleName = v;
    else {
      // RFC 7512 writes files as URIs (file:///run/…); labup's own form is file:/run/….
      const fileUrl = /^file:\/\/(\/.*)$/i.exec(v);
      result.pinSource = parseSecretSource(fileUrl ? `file:${fileUrl[1]}` : v);
    }
  }
  return result;
}

/** Percent-encodes a value for a URI: everything but unreserved characters. */
export function percentEncode(value: string | Buffer, all = false): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += !all && /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Writes a URI back (ids always as `%XX` bytes). `pin-source` is written only as its kind and name,
 * never a value; modules only when asked.
 */
export function formatPkcs11Uri(u: Pkcs11Uri, options: { module?: boolean } = {}): string {
  const path: string[] = [];
  const add = (name: string, v: string | undefined) => {
    if (v !== undefined) path.push(`${name}=${percentEncode(v)}`);
  };
  add('token', u.token);
  add('manufacturer', u.manufacturer);
  add('serial', u.serial);
  add('model', u.model);
  add('library-manufacturer', u.libraryManufacturer);
  add('library-description', u.libraryDescription);
  add('library-version', u.libraryVersion);
  add('slot-description', u.slotDescription);
  add('slot-manufacturer', u.slotManufacturer);
  add('slot-id', u.slotId);
  add('object', u.object);
  if (u.id !== undefined) path.push(`id=${percentEncode(u.id, true)}`);
  add('type', u.type);
  const query: string[] = [];
  if (options.module !== false) {
    if (u.modulePath !== undefined) query.push(`module-path=${percentEncode(u.modulePath).replace(/%2F/g, '/').replace(/%5C/g, '\\').replace(/%3A/g, ':')}`);
    if (u.moduleName !== undefined) query.push(`module-name=${percentEncode(u.moduleName)}`);
  }
  if (u.pinSource && u.pinSource.kind === 'env') query.push(`pin-source=env:${u.pinSource.name}`);
  if (u.pinSource && u.pinSource.kind === 'file') query.push(`pin-source=file:${percentEncode(u.pinSource.path).replace(/%2F/g, '/')}`);
  return `pkcs11:${path.join(';')}${query.length ? '?' + query.join('&') : ''}`;
}
