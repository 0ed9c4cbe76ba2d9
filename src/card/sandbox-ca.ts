/**
 * The sandbox's certificate authority: a test CA that issues institution (and personnel)
 * certificates laid out like HCA cards — RSA 2048, the 10-character 醫事機構代碼 in the subject's
 * serialNumber, the card type in the Subject Directory Attributes extension — as software tokens
 * (PKCS#12), or for a public key generated on a PKCS#11 token.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { CardType } from './card.js';
import { cardTypeExtensionValue } from './certificate.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  /** SubjectPublicKeyInfo PEM of the key to certify (from a token, or a generated key). */
  publicKeyPem: string;
  institutionCode: string;
  /** Display name, e.g. `labup 示範醫院`. */
  name: string;
  cardType?: CardType;
  notBefore: Date;
  notAfter: Date;
}

function serialHex(): string {
  // Positive, 16 bytes.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** Creates a self-signed RSA 2048 CA valid for `years` from `now`. */
export function createCa(now: Date, options: { name?: string; years?: number } = {}): CaMaterial {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const priv = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serialHex();
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + (options.years ?? 10) * 365 * 86_400_000);
  const attrs = [
    { shortName: 'C', value: 'TW' },
    { shortName: 'O', value: 'labup sandbox' },
    { shortName: 'CN', value: options.name ?? 'labup sandbox CA' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(priv, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Issues a card certificate signed by the CA. */
export function issueCertificate(ca: CaMaterial, o: IssueOptions): string {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(o.publicKeyPem);
  cert.serialNumber = serialHex();
  cert.validity.notBefore = o.notBefore;
  cert.validity.notAfter = o.notAfter;
  cert.setSubject([
    { shortName: 'C', value: 'TW' },
    { shortName: 'O', value: 'labup sandbox' },
    { shortName: 'OU', value: o.cardType ?? '醫事機構卡', valueTagClass: forge.asn1.Type.UTF8 as unknown as number },
    { shortName: 'CN', value: o.name, valueTagClass: forge.asn1.Type.UTF8 as unknown as number },
    { name: 'serialNumber', value: o.institutionCode },
  ] as forge.pki.CertificateField[]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    { id: '2.5.29.9', value: cardTypeExtensionValue(o.cardType ?? '醫事機構卡').toString('binary') },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export interface SoftwareCardMaterial {
  certPem: string;
  keyPem: string;
}

/** Generates an RSA 2048 key and a certificate for it (a software card). */
export function issueSoftwareCard(ca: CaMaterial, o: Omit<IssueOptions, 'publicKeyPem'>): SoftwareCardMaterial {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certPem = issueCertificate(ca, { ...o, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string });
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A PKCS#12 file (3DES/SHA-1, readable by OpenSSL and Windows) holding the key, its certificate and the CA. */
export function toPkcs12(card: SoftwareCardMaterial, caCertPem: string, passphrase: string, friendlyName = 'labup card'): Buffer {
  const key = forge.pki.privateKeyFromPem(card.keyPem);
  const certs = [forge.pki.certificateFromPem(card.certPem), forge.pki.certificateFromPem(caCertPem)];
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, passphrase, { algorithm: '3des', friendlyName });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
