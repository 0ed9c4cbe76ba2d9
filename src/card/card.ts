/**
 * A card signs for the institution: the NHI portal signs users in with the certificate of the
 * 醫事機構卡 / 醫事人員卡 (RSA 2048 on a smart card). labup talks to cards through this interface;
 * implementations are PKCS#11 (`pkcs11.ts`) and software tokens (`software.ts`: PKCS#12 or PEM).
 */

export type CardType = '醫事人員卡' | '醫事機構卡';

export interface CardCertificate {
  /** PEM text of the signing certificate. */
  pem: string;
  der: Buffer;
  subject: string;
  issuer: string;
  /** Hex serial number. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  keyType: 'RSA' | 'EC';
  keyBits: number | null;
  /** 10-character 醫事機構代碼 carried in the subject, when present. */
  institutionCode: string | null;
  /** From the Subject Directory Attributes extension (2.5.29.9), attribute 2.16.886.1.100.2.1. */
  cardType: CardType | null;
}

export type SignatureAlgorithm = 'RSA-SHA256' | 'RSA-SHA1' | 'ECDSA-SHA256';

export interface Signature {
  signature: Buffer;
  algorithm: SignatureAlgorithm;
}

export interface Card {
  /** How the card was chosen, without secrets (e.g. `pkcs11:token=HCA;object=sign`, `p12:/path`). */
  readonly label: string;
  certificate(): Promise<CardCertificate>;
  /** Signs `data` (the card hashes it: SHA-256 by default) with the key matching the certificate. */
  sign(data: Buffer, algorithm?: SignatureAlgorithm): Promise<Signature>;
  /** Logs out and releases the token; safe to call twice. */
  close(): Promise<void>;
}
