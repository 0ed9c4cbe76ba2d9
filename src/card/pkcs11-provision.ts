/**
 * Putting a sandbox card onto a PKCS#11 token, laid out like an HCA card: an RSA 2048 key pair
 * generated ON the token (CKA_ID 1, label "sign"; the private key sensitive and not extractable), the
 * certificate the sandbox CA issues for the token's public key (with the HCA card-type extension) at
 * CKA_ID 1, and the CA certificate at CKA_ID 0.
 */
import { createPublicKey } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { authError, usageError } from '../errors.js';
import type { CardType } from './card.js';
import { children, readTlv } from './certificate.js';
import {
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_ISSUER,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PRIVATE,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SERIAL_NUMBER,
  CKA_SIGN,
  CKA_SUBJECT,
  CKA_TOKEN,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VERIFY,
  CKA_WRAP,
  CKC_X_509,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKK_RSA,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  ckrName,
} from './pkcs11-constants.js';
import { acquireModule, type ModuleLoader, type Pkcs11Api } from './pkcs11-module.js';
import { closeSession } from './pkcs11.js';
import { attribute, findObjects, listSlots, loginUser, selectToken } from './pkcs11-token.js';
import { formatPkcs11Uri } from './pkcs11-uri.js';
import { issueCertificate, type CaMaterial } from './sandbox-ca.js';

/** HCA layout: CKA_ID of the CA certificate and of the signing certificate + key. */
export const HCA_CA_ID = 0;
export const HCA_SIGN_ID = 1;

export interface ProvisionTokenOptions {
  /** The PKCS#11 library file. */
  modulePath: string;
  /** Label of an initialized token with a user PIN. */
  tokenLabel: string;
  /** The token's user PIN (given by the caller: sandbox set-up, tests). */
  pin: string;
  /** The sandbox CA that issues the certificate. */
  ca: CaMaterial;
  /** 10-character 醫事機構代碼 for the subject. */
  institutionCode: string;
  /** Display name (CN), e.g. `labup 示範醫院`. */
  name: string;
  cardType?: CardType;
  notBefore: Date;
  notAfter: Date;
  /** Replace objects already at CKA_ID 0 and 1 (else that is an error). */
  replace?: boolean;
  loader?: ModuleLoader;
}

export interface ProvisionTokenResult {
  /** The certificate issued for the token's key. */
  certPem: string;
  caCertPem: string;
  tokenLabel: string;
  tokenSerial: string;
  slotId: string;
  /** `pkcs11:token=…;serial=…;id=%01?module-path=…`: the card URI to configure. */
  uri: string;
}

interface TokenSessionOptions {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  loader?: ModuleLoader;
}

async function withTokenSession<T>(o: TokenSessionOptions, fn: (api: Pkcs11Api, session: Buffer, token: { label: string; serial: string; slotId: string }) => Promise<T> | T): Promise<T> {
  const lease = await acquireModule(o.modulePath, o.loader ? { loader: o.loader } : {});
  try {
    const api = lease.api;
    const slot = selectToken(listSlots(api), { token: o.tokenLabel }, o.modulePath);
    let session: Buffer;
    try {
      session = api.C_OpenSession(slot.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    } catch (err) {
      throw authError('CARD_PKCS11_ERROR', `“${o.tokenLabel}”: cannot open a read-write session (${ckrName(err)})`, { cause: err });
    }
    let loggedIn = false;
    try {
      await loginUser(api, session, slot.slot, { pin: async () => o.pin, interactive: true, where: `pkcs11:token=${o.tokenLabel}` });
      loggedIn = true;
      return await fn(api, session, { label: slot.token.label, serial: slot.token.serial, slotId: slot.slotId });
    } finally {
      closeSession(api, session, loggedIn);
    }
  } finally {
    lease.release();
  }
}

function idBytes(id: number | Buffer): Buffer {
  return Buffer.isBuffer(id) ? id : Buffer.from([id]);
}

/** Subject, issuer and serial number of a certificate as their DER encodings (for CKA_SUBJECT …). */
export function certificateNames(der: Buffer): { subject: Buffer; issuer: Buffer; serial: Buffer } {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0]!;
  const kids = children(der, tbs);
  const i = kids[0]!.tag === 0xa0 ? 1 : 0;
  const raw = (k: number) => Buffer.from(der.subarray(kids[i + k]!.start, kids[i + k]!.end));
  return { serial: raw(0), issuer: raw(2), subject: raw(4) };
}

function certificateTemplate(der: Buffer, id: Buffer, label: string) {
  const names = certificateNames(der);
  return [
    { type: CKA_CLASS, value: CKO_CERTIFICATE },
    { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
    { type: CKA_TOKEN, value: true },
    { type: CKA_PRIVATE, value: false },
    { type: CKA_ID, value: id },
    { type: CKA_LABEL, value: label },
    { type: CKA_SUBJECT, value: names.subject },
    { type: CKA_ISSUER, value: names.issuer },
    { type: CKA_SERIAL_NUMBER, value: names.serial },
    { type: CKA_VALUE, value: der },
  ];
}

function objectsWithId(api: Pkcs11Api, session: Buffer, id: Buffer): Buffer[] {
  return findObjects(api, session, [{ type: CKA_ID, value: id }]);
}

function clearIds(api: Pkcs11Api, session: Buffer, ids: Buffer[], replace: boolean, tokenLabel: string): void {
  for (const id of ids) {
    const existing = objectsWithId(api, session, id);
    if (existing.length === 0) continue;
    if (!replace) {
      throw usageError('CARD_TOKEN_NOT_EMPTY', `“${tokenLabel}” already holds ${existing.length} object(s) with CKA_ID ${id.toString('hex').toUpperCase()}`, {
        hint: 'Use a fresh token, or replace what is there (the sandbox’s --replace).',
      });
    }
    for (const h of existing) api.C_DestroyObject(session, h);
  }
}

/** Stores a certificate object (public, on the token) with the given CKA_ID and label. */
export async function storeCertificate(o: TokenSessionOptions & { certPem: string; id: number | Buffer; label: string; replace?: boolean }): Promise<void> {
  const der = Buffer.from(new X509Certificate(o.certPem).raw);
  await withTokenSession(o, (api, session) => {
    const id = idBytes(o.id);
    const existing = findObjects(api, session, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: id }]);
    if (existing.length && !o.replace) {
      throw usageError('CARD_TOKEN_NOT_EMPTY', `“${o.tokenLabel}” already holds a certificate with CKA_ID ${id.toString('hex').toUpperCase()}`, { hint: 'Replace it, or use another CKA_ID.' });
    }
    for (const h of existing) api.C_DestroyObject(session, h);
    api.C_CreateObject(session, certificateTemplate(der, id, o.label));
  });
}

/**
 * Generates the signing key on the token, has the sandbox CA certify it, and stores the certificate
 * and the CA certificate — the HCA layout. The private key never leaves the token.
 */
export async function provisionToken(o: ProvisionTokenOptions): Promise<ProvisionTokenResult> {
  const signId = idBytes(HCA_SIGN_ID);
  const caId = idBytes(HCA_CA_ID);
  return withTokenSession(o, (api, session, token) => {
    clearIds(api, session, [signId, caId], o.replace === true, o.tokenLabel);
    let pair: { publicKey: Buffer; privateKey: Buffer };
    try {
      pair = api.C_GenerateKeyPair(
        session,
        { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
          { type: CKA_KEY_TYPE, value: CKK_RSA },
          { type: CKA_TOKEN, value: true },
          { type: CKA_PRIVATE, value: false },
          { type: CKA_ID, value: signId },
          { type: CKA_LABEL, value: 'sign' },
          { type: CKA_VERIFY, value: true },
          { type: CKA_ENCRYPT, value: false },
          { type: CKA_WRAP, value: false },
          { type: CKA_MODULUS_BITS, value: 2048 },
          { type: CKA_PUBLIC_EXPONENT, value: Buffer.from([0x01, 0x00, 0x01]) },
        ],
        [
          { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA_KEY_TYPE, value: CKK_RSA },
          { type: CKA_TOKEN, value: true },
          { type: CKA_PRIVATE, value: true },
          { type: CKA_SENSITIVE, value: true },
          { type: CKA_EXTRACTABLE, value: false },
          { type: CKA_ID, value: signId },
          { type: CKA_LABEL, value: 'sign' },
          { type: CKA_SIGN, value: true },
          { type: CKA_DECRYPT, value: false },
          { type: CKA_UNWRAP, value: false },
        ],
      );
    } catch (err) {
      throw authError('CARD_KEYGEN_FAILED', `“${o.tokenLabel}”: generating an RSA 2048 key pair on the token failed (${ckrName(err)})`, { cause: err });
    }
    const modulus = attribute(api, session, pair.publicKey, CKA_MODULUS);
    const exponent = attribute(api, session, pair.publicKey, CKA_PUBLIC_EXPONENT);
    if (!modulus || !exponent) throw authError('CARD_KEYGEN_FAILED', `“${o.tokenLabel}”: the token does not show the new public key`);
    const publicKeyPem = createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const certPem = issueCertificate(o.ca, {
      publicKeyPem,
      institutionCode: o.institutionCode,
      name: o.name,
      ...(o.cardType ? { cardType: o.cardType } : {}),
      notBefore: o.notBefore,
      notAfter: o.notAfter,
    });
    api.C_CreateObject(session, certificateTemplate(Buffer.from(new X509Certificate(certPem).raw), signId, 'sign'));
    api.C_CreateObject(session, certificateTemplate(Buffer.from(new X509Certificate(o.ca.certPem).raw), caId, 'CA'));
    return {
      certPem,
      caCertPem: o.ca.certPem,
      tokenLabel: token.label,
      tokenSerial: token.serial,
      slotId: token.slotId,
      uri: formatPkcs11Uri({ token: token.label, ...(token.serial ? { serial: token.serial } : {}), id: signId, modulePath: o.modulePath }),
    };
  });
}
