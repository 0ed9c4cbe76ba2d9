/**
 * A smart card (or HSM) through its PKCS#11 module. The certificate is read without a PIN; the PIN
 * is asked for once, at the first signature; the private key with the certificate's CKA_ID signs on
 * the token and never leaves it.
 *
 * HCA layout (醫事機構卡 / 醫事人員卡): CKA_ID 0 = CA certificate, 1 = signing certificate and key,
 * 2 = encryption. Without `id=`/`object=` in the URI labup takes the certificate with CKA_ID 1.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { authError, isLabupError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Card, CardCertificate, Signature, SignatureAlgorithm } from './card.js';
import { parseCertificate } from './certificate.js';
import {
  CKA_ALWAYS_AUTHENTICATE,
  CKA_CLASS,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKF_SERIAL_SESSION,
  CKK_EC,
  CKK_RSA,
  CKM_ECDSA,
  CKM_RSA_PKCS,
  CKM_SHA1_RSA_PKCS,
  CKM_SHA256_RSA_PKCS,
  CKO_PRIVATE_KEY,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_INVALID,
  CKU_CONTEXT_SPECIFIC,
  ckrName,
  ckrOf,
} from './pkcs11-constants.js';
import { acquireModule, isHcaModule, resolveModulePath, type ModuleLease, type ModuleLoader, type Pkcs11Api } from './pkcs11-module.js';
import {
  attribute,
  boolAttribute,
  certificateObjects,
  checkLibrary,
  findObjects,
  listSlots,
  loginUser,
  pkcs11Error,
  selectToken,
  tokenGoneError,
  ulongAttribute,
  type CertificateObject,
  type TokenSummary,
} from './pkcs11-token.js';
import { formatPkcs11Uri, parsePkcs11Uri, percentEncode, type Pkcs11Uri } from './pkcs11-uri.js';
import type { Env } from '../paths.js';

/** The HCA signing certificate and key's CKA_ID. */
export const HCA_SIGNING_ID = Buffer.from([0x01]);

export interface OpenPkcs11Options {
  /** Gives the PIN; called once, at the first signature, after the token and certificate were found. */
  pin: () => Promise<string>;
  /** A person types the PIN now (prompt). Unattended runs never spend a token's final PIN try. */
  interactive?: boolean;
  /** Module file, overriding the URI's module-path (`--module`). */
  modulePath?: string;
  env?: Env;
  host?: IoHost;
  /** Loads the module (default: pkcs11js). */
  loader?: ModuleLoader;
  platform?: NodeJS.Platform;
}

/** DigestInfo prefixes (RFC 8017 §9.2) for signing with plain CKM_RSA_PKCS. */
const DIGEST_INFO: Record<'sha256' | 'sha1', Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
};

function derInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let v = bytes.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** ECDSA r||s (as PKCS#11 returns it) → DER SEQUENCE { r INTEGER, s INTEGER } (as X.509 verifiers expect). */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length % 2 !== 0 || raw.length === 0) throw authError('CARD_SIGN_FAILED', `the card returned an ECDSA signature of odd length ${raw.length}`);
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

function hexId(id: Buffer): string {
  return id.toString('hex').toUpperCase();
}

/** Picks the certificate the URI means; HCA layout (CKA_ID 1) when it names none. */
function chooseCertificate(certs: CertificateObject[], uri: Pkcs11Uri, where: string): CertificateObject {
  const named = uri.id !== undefined || uri.object !== undefined;
  if (certs.length === 0) {
    throw authError(
      'CARD_CERT_NOT_FOUND',
      named ? `${where}: no certificate with ${[uri.id !== undefined ? `id=${percentEncode(uri.id, true)}` : '', uri.object !== undefined ? `object=${uri.object}` : ''].filter(Boolean).join(';')} on the card` : `${where}: the card holds no certificate`,
      { hint: 'Run `labup card list` to see the certificates on the card and their IDs, and fix id=/object= in the card URI.' },
    );
  }
  let pool = certs;
  if (!named) {
    const users = certs.filter((c) => {
      try {
        return !new X509Certificate(c.der).ca;
      } catch {
        return false;
      }
    });
    const signing = users.filter((c) => c.id.equals(HCA_SIGNING_ID));
    pool = signing.length > 0 ? signing : users;
    if (pool.length === 0) throw authError('CARD_CERT_NOT_FOUND', `${where}: the card holds only CA certificates`, { hint: 'Run `labup card list` to see the certificates on the card.' });
  }
  if (pool.length > 1) {
    throw authError('CARD_CERT_AMBIGUOUS', `${where}: ${pool.length} certificates fit (${pool.map((c) => `id ${hexId(c.id)} “${c.label}”`).join(', ')})`, {
      hint: 'Name one in the card URI with id=%XX (labup card list shows each certificate’s URI).',
    });
  }
  return pool[0]!;
}

export class Pkcs11Card implements Card {
  readonly label: string;
  private closed = false;
  private loggedIn = false;
  private keyHandle: Buffer | undefined;
  private keyAlwaysAuthenticate = false;
  private mechanisms: Set<number> | undefined;
  private readonly cert: CardCertificate;

  /** @internal use {@link openPkcs11Card}. */
  constructor(
    private readonly lease: ModuleLease,
    private readonly session: Buffer,
    private readonly slot: Buffer,
    readonly token: TokenSummary,
    private readonly certObject: CertificateObject,
    readonly uri: Pkcs11Uri,
    private readonly options: OpenPkcs11Options,
  ) {
    this.cert = parseCertificate(certObject.der);
    this.label = formatPkcs11Uri(
      {
        token: token.label,
        ...(token.serial ? { serial: token.serial } : {}),
        ...(certObject.id.length ? { id: certObject.id } : { object: certObject.label }),
        modulePath: lease.path,
      },
      { module: false },
    );
  }

  private get api(): Pkcs11Api {
    return this.lease.api;
  }

  private get hca(): boolean {
    return isHcaModule(this.lease.path);
  }

  /** The module file in use. */
  get modulePath(): string {
    return this.lease.path;
  }

  /** CKA_ID of the certificate (and key), hex. */
  get objectId(): string {
    return hexId(this.certObject.id);
  }

  async certificate(): Promise<CardCertificate> {
    return this.cert;
  }

  /** Logs in (once) and finds the private key with the certificate's CKA_ID. */
  async login(): Promise<void> {
    if (this.closed) throw authError('CARD_CLOSED', `${this.label}: the card was closed`);
    if (!this.loggedIn) {
      await loginUser(this.api, this.session, this.slot, {
        pin: this.options.pin,
        interactive: this.options.interactive === true,
        where: this.label,
        hca: this.hca,
        ...(this.options.host ? { host: this.options.host } : {}),
      });
      this.loggedIn = true;
    }
    if (!this.keyHandle) this.keyHandle = this.findKey();
  }

  private findKey(): Buffer {
    const c = this.certObject;
    let keys: Buffer[];
    try {
      keys = findObjects(this.api, this.session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, c.id.length ? { type: CKA_ID, value: c.id } : { type: CKA_LABEL, value: c.label }]);
    } catch (err) {
      throw pkcs11Error(err, `${this.label}: looking for the private key`);
    }
    const wantType = this.cert.keyType === 'EC' ? CKK_EC : CKK_RSA;
    const certModulus = this.cert.keyType === 'RSA' ? modulusOf(this.cert.pem) : undefined;
    const fitting = keys.filter((k) => {
      const t = ulongAttribute(this.api, this.session, k, CKA_KEY_TYPE);
      if (t !== undefined && t !== wantType) return false;
      if (certModulus) {
        const m = attribute(this.api, this.session, k, CKA_MODULUS);
        if (m && m.length > 0 && !stripZeros(m).equals(certModulus)) return false;
      }
      return true;
    });
    if (fitting.length === 0) {
      throw authError(
        'CARD_NO_KEY',
        keys.length === 0
          ? `${this.label}: no private key with the certificate’s ${c.id.length ? `CKA_ID ${hexId(c.id)}` : `label “${c.label}”`} on the card`
          : `${this.label}: the private key with CKA_ID ${hexId(c.id)} does not belong to the certificate`,
        { hint: 'The certificate and its key must share one CKA_ID (HCA cards: 01). Use the card the certificate was issued on, or load the key onto the token.' },
      );
    }
    const key = fitting[0]!;
    this.keyAlwaysAuthenticate = boolAttribute(this.api, this.session, key, CKA_ALWAYS_AUTHENTICATE) === true;
    return key;
  }

  private supported(mechanism: number): boolean {
    if (!this.mechanisms) {
      try {
        this.mechanisms = new Set(this.api.C_GetMechanismList(this.slot));
      } catch {
        this.mechanisms = new Set();
      }
    }
    // A module that lists nothing gets the benefit of the doubt.
    return this.mechanisms.size === 0 || this.mechanisms.has(mechanism);
  }

  private async rawSign(mechanism: number, input: Buffer): Promise<Buffer> {
    const key = this.keyHandle!;
    this.api.C_SignInit(this.session, { mechanism }, key);
    if (this.keyAlwaysAuthenticate) {
      // Keys that want the PIN for each signature (CKA_ALWAYS_AUTHENTICATE): a context-specific login,
      // with the same one-try rules as the first.
      await loginUser(this.api, this.session, this.slot, {
        pin: this.options.pin,
        interactive: this.options.interactive === true,
        where: this.label,
        hca: this.hca,
        userType: CKU_CONTEXT_SPECIFIC,
        ...(this.options.host ? { host: this.options.host } : {}),
      });
    }
    return Buffer.from(this.api.C_Sign(this.session, input, Buffer.alloc(1024)));
  }

  async sign(data: Buffer, algorithm?: SignatureAlgorithm): Promise<Signature> {
    if (this.closed) throw authError('CARD_CLOSED', `${this.label}: the card was closed`);
    const alg: SignatureAlgorithm = algorithm ?? (this.cert.keyType === 'EC' ? 'ECDSA-SHA256' : 'RSA-SHA256');
    if ((alg === 'ECDSA-SHA256') !== (this.cert.keyType === 'EC')) {
      throw usageError('CARD_ALGORITHM', `${this.label}: ${alg} does not fit the card’s ${this.cert.keyType} key`);
    }
    await this.login();
    try {
      let signature: Buffer;
      if (alg === 'ECDSA-SHA256') {
        signature = ecdsaRawToDer(await this.rawSign(CKM_ECDSA, createHash('sha256').update(data).digest()));
      } else {
        const hash = alg === 'RSA-SHA1' ? 'sha1' : 'sha256';
        const combined = hash === 'sha1' ? CKM_SHA1_RSA_PKCS : CKM_SHA256_RSA_PKCS;
        if (this.supported(combined)) {
          try {
            signature = await this.rawSign(combined, data);
          } catch (err) {
            if (ckrOf(err) !== CKR_MECHANISM_INVALID || !this.supported(CKM_RSA_PKCS)) throw err;
            signature = await this.rawSign(CKM_RSA_PKCS, Buffer.concat([DIGEST_INFO[hash], createHash(hash).update(data).digest()]));
          }
        } else {
          // Cards that only do raw PKCS#1 v1.5: labup hashes and wraps the digest itself.
          signature = await this.rawSign(CKM_RSA_PKCS, Buffer.concat([DIGEST_INFO[hash], createHash(hash).update(data).digest()]));
        }
      }
      return { signature, algorithm: alg };
    } catch (err) {
      if (isLabupError(err)) throw err;
      const gone = tokenGoneError(err, this.label);
      if (gone) throw gone;
      if (ckrOf(err) === CKR_KEY_FUNCTION_NOT_PERMITTED) {
        throw authError('CARD_SIGN_FAILED', `${this.label}: the key with CKA_ID ${this.objectId} may not sign (CKA_SIGN is false)`, { hint: 'Use the signing key of the card (HCA: CKA_ID 01).', cause: err });
      }
      throw authError('CARD_SIGN_FAILED', `${this.label}: signing failed (${ckrName(err)})`, { hint: 'Run `labup card test --debug` to see the module’s answer.', cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSession(this.api, this.session, this.loggedIn);
    this.lease.release();
  }
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function modulusOf(pem: string): Buffer | undefined {
  const jwk = new X509Certificate(pem).publicKey.export({ format: 'jwk' }) as { n?: string };
  return jwk.n ? stripZeros(Buffer.from(jwk.n, 'base64url')) : undefined;
}

/** Logs out (when logged in) and closes; errors here never hide the error that got us here. */
export function closeSession(api: Pkcs11Api, session: Buffer, loggedIn: boolean): void {
  if (loggedIn) {
    try {
      api.C_Logout(session);
    } catch {
      // already logged out, or the card was pulled
    }
  }
  try {
    api.C_CloseSession(session);
  } catch {
    // the session is gone with the card
  }
}

/**
 * Opens the card a `pkcs11:` URI names: loads the module, finds the token and the certificate (no PIN
 * needed). Everything opened is released again when this fails.
 */
export async function openPkcs11Card(uriText: string | Pkcs11Uri, options: OpenPkcs11Options): Promise<Pkcs11Card> {
  const uri = typeof uriText === 'string' ? parsePkcs11Uri(uriText) : uriText;
  const location = resolveModulePath({
    ...(options.modulePath ? { modulePath: options.modulePath } : {}),
    ...(uri.modulePath ? { uriModulePath: uri.modulePath } : {}),
    ...(uri.moduleName ? { uriModuleName: uri.moduleName } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
  });
  const lease = await acquireModule(location.path, options.loader ? { loader: options.loader } : {});
  let session: Buffer | undefined;
  try {
    const api = lease.api;
    checkLibrary(api, uri, location.path);
    const slot = selectToken(listSlots(api, { hca: isHcaModule(location.path) }), uri, location.path);
    try {
      session = api.C_OpenSession(slot.slot, CKF_SERIAL_SESSION);
    } catch (err) {
      throw pkcs11Error(err, `opening a session with “${slot.token.label}” (C_OpenSession)`);
    }
    const where = `pkcs11:token=${percentEncode(slot.token.label)}`;
    let certs: CertificateObject[];
    try {
      certs = certificateObjects(api, session, { ...(uri.id !== undefined ? { id: uri.id } : {}), ...(uri.object !== undefined ? { label: uri.object } : {}) });
    } catch (err) {
      throw pkcs11Error(err, `${where}: reading the certificates`);
    }
    const cert = chooseCertificate(certs, uri, where);
    const card = new Pkcs11Card(lease, session, slot.slot, slot.token, cert, uri, options);
    return card;
  } catch (err) {
    if (session) closeSession(lease.api, session, false);
    lease.release();
    throw err;
  }
}
