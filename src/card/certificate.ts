/**
 * Reading card certificates: subject, validity, key, the 10-character 醫事機構代碼, and the HCA card
 * type from the Subject Directory Attributes extension (2.5.29.9, attribute 2.16.886.1.100.2.1).
 */
import { X509Certificate, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { CardCertificate, CardType, SignatureAlgorithm } from './card.js';
import { authError } from '../errors.js';

/** HCA OIDs: the card-type attribute and its two values. */
export const HCA_OID = {
  subjectDirectoryAttributes: '2.5.29.9',
  cardTypeAttribute: '2.16.886.1.100.2.1',
  personnelCard: '2.16.886.1.100.3.1.7',
  institutionCard: '2.16.886.1.100.3.2.21',
} as const;

const CARD_TYPES: Record<string, CardType> = {
  [HCA_OID.personnelCard]: '醫事人員卡',
  [HCA_OID.institutionCard]: '醫事機構卡',
};

export interface Tlv {
  tag: number;
  start: number;
  /** Offset of the content. */
  content: number;
  end: number;
}

export function readTlv(buf: Uint8Array, pos: number): Tlv {
  const tag = buf[pos]!;
  let len = buf[pos + 1]!;
  let content = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[content + i]!;
    content += n;
  }
  return { tag, start: pos, content, end: content + len };
}

export function children(buf: Uint8Array, tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = tlv.content; p < tlv.end; ) {
    const c = readTlv(buf, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export function encodeOid(oid: string): Buffer {
  const nums = oid.split('.').map(Number);
  const out = [nums[0]! * 40 + nums[1]!];
  for (const n of nums.slice(2)) {
    const stack = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      stack.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...stack);
  }
  return Buffer.from(out);
}

/** The extnValue (DER inside the OCTET STRING) of an extension, or undefined. */
export function findExtension(der: Uint8Array, oid: string): Uint8Array | undefined {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0]!;
  for (const part of children(der, tbs)) {
    if (part.tag !== 0xa3) continue; // [3] extensions
    const seq = children(der, part)[0]!;
    for (const ext of children(der, seq)) {
      const fields = children(der, ext);
      const id = fields[0]!;
      if (decodeOid(der.subarray(id.content, id.end)) !== oid) continue;
      const value = fields[fields.length - 1]!;
      return der.subarray(value.content, value.end);
    }
  }
  return undefined;
}

/** Reads the HCA card type from the Subject Directory Attributes extension. */
export function cardTypeOf(der: Uint8Array): CardType | null {
  const ext = findExtension(der, HCA_OID.subjectDirectoryAttributes);
  if (!ext) return null;
  try {
    const outer = readTlv(ext, 0);
    for (const attr of children(ext, outer)) {
      const [type, values] = children(ext, attr);
      if (!type || !values || decodeOid(ext.subarray(type.content, type.end)) !== HCA_OID.cardTypeAttribute) continue;
      for (const v of children(ext, values)) {
        if (v.tag === 0x06) {
          const t = CARD_TYPES[decodeOid(ext.subarray(v.content, v.end))];
          if (t) return t;
        }
      }
    }
  } catch {
    return null;
  }
  return null;
}

/** The DER of the Subject Directory Attributes extension value for an HCA card type. */
export function cardTypeExtensionValue(type: CardType): Buffer {
  const valueOid = type === '醫事人員卡' ? HCA_OID.personnelCard : HCA_OID.institutionCard;
  const tlv = (tag: number, body: Buffer) => {
    const len = body.length;
    const head = len < 128 ? Buffer.from([tag, len]) : len < 256 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
    return Buffer.concat([head, body]);
  };
  const oid = (o: string) => tlv(0x06, encodeOid(o));
  return tlv(0x30, tlv(0x30, Buffer.concat([oid(HCA_OID.cardTypeAttribute), tlv(0x31, oid(valueOid))])));
}

/** 醫事機構代碼 from the subject: the serialNumber attribute, else a 10-character code in a name. */
export function institutionCodeOf(subject: string): string | null {
  const serial = /(?:^|\n)serialNumber=([0-9A-Za-z]{10})(?:\n|$)/.exec(subject);
  if (serial) return serial[1]!;
  const any = /\b(\d[0-9A-Z]{9})\b/.exec(subject);
  return any ? any[1]! : null;
}

/** Parses a PEM or DER certificate into the facts labup shows and checks. */
export function parseCertificate(input: string | Buffer): CardCertificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(input);
  } catch (err) {
    throw authError('CARD_CERT_INVALID', `the certificate cannot be read (${(err as Error).message})`, { hint: 'Check that the file or token holds an X.509 certificate.' });
  }
  const key = x.publicKey;
  const keyType = key.asymmetricKeyType === 'ec' ? 'EC' : 'RSA';
  const details = key.asymmetricKeyDetails;
  const keyBits = keyType === 'RSA' ? (details?.modulusLength ?? null) : details?.namedCurve === 'prime256v1' ? 256 : details?.namedCurve === 'secp384r1' ? 384 : null;
  return {
    pem: x.toString(),
    der: x.raw,
    subject: x.subject,
    issuer: x.issuer,
    serial: x.serialNumber.toUpperCase(),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    keyType,
    keyBits,
    institutionCode: institutionCodeOf(x.subject),
    cardType: cardTypeOf(x.raw),
  };
}

const NODE_ALGORITHM: Record<SignatureAlgorithm, string> = {
  'RSA-SHA256': 'sha256',
  'RSA-SHA1': 'sha1',
  'ECDSA-SHA256': 'sha256',
};

/** Verifies a signature made by a card with the certificate's public key. */
export function verifySignature(certPem: string, data: Buffer, signature: Buffer, algorithm: SignatureAlgorithm): boolean {
  const key = createPublicKey(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }));
  return cryptoVerify(NODE_ALGORITHM[algorithm], data, key, signature);
}

/** Whether `now` lies within the certificate's validity, and days left. */
export function validity(cert: CardCertificate, now: Date): { state: 'valid' | 'expired' | 'not-yet-valid'; daysLeft: number } {
  const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (now < cert.notBefore) return { state: 'not-yet-valid', daysLeft };
  if (now > cert.notAfter) return { state: 'expired', daysLeft };
  return { state: 'valid', daysLeft };
}
