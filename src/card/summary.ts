/**
 * What labup shows about a card certificate (`card list`, `card test`, `doctor`): plain data with
 * dates as Asia/Taipei ISO strings, and the expiry warnings.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { taipeiIso } from '../clock.js';
import type { CardCertificate, CardType } from './card.js';
import { validity } from './certificate.js';

/** Days before expiry from which labup warns. */
export const EXPIRY_WARNING_DAYS = 30;

export interface CertificateSummary {
  /** One line, e.g. `C=TW, O=…, CN=labup 示範醫院, serialNumber=3501200000`. */
  subject: string;
  /** The subject's CN. */
  name: string | null;
  issuer: string;
  /** Hex serial number. */
  serial: string;
  keyType: 'RSA' | 'EC';
  keyBits: number | null;
  /** Asia/Taipei ISO 8601. */
  notBefore: string;
  notAfter: string;
  state: 'valid' | 'expired' | 'not-yet-valid';
  /** Whole days until notAfter; once expired, minus the whole days since. */
  daysLeft: number;
  /** 10-character 醫事機構代碼 from the subject. */
  institutionCode: string | null;
  /** 醫事人員卡 / 醫事機構卡, from the HCA card-type extension (2.5.29.9). */
  cardType: CardType | null;
  /** A CA certificate (basicConstraints cA). */
  ca: boolean;
  /** SHA-256 of the DER, hex. */
  sha256: string;
}

export interface CardWarning {
  code: 'CARD_CERT_EXPIRING' | 'CARD_CERT_EXPIRED' | 'CARD_CERT_NOT_YET_VALID' | 'CARD_PIN_COUNT_LOW' | 'CARD_PIN_FINAL_TRY' | 'CARD_PIN_LOCKED' | 'CARD_TOKEN_UNUSABLE';
  message: string;
  /** Which card or certificate (a URI, without secrets). */
  where: string;
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

export function summarizeCertificate(cert: CardCertificate, now: Date): CertificateSummary {
  const v = validity(cert, now);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  let ca = false;
  try {
    ca = new X509Certificate(cert.der).ca;
  } catch {
    ca = false;
  }
  return {
    subject: oneLine(cert.subject),
    name: cn ? cn[1]! : null,
    issuer: oneLine(cert.issuer),
    serial: cert.serial,
    keyType: cert.keyType,
    keyBits: cert.keyBits,
    notBefore: taipeiIso(cert.notBefore),
    notAfter: taipeiIso(cert.notAfter),
    state: v.state,
    // Once expired, count whole days since expiry (expired 5.9 days ago is "5 days ago").
    daysLeft: v.state === 'expired' ? -Math.floor((now.getTime() - cert.notAfter.getTime()) / 86_400_000) : v.daysLeft,
    institutionCode: cert.institutionCode,
    cardType: cert.cardType,
    ca,
    sha256: createHash('sha256').update(cert.der).digest('hex'),
  };
}

/** Expired, not yet valid, or expiring within {@link EXPIRY_WARNING_DAYS} days. */
export function expiryWarnings(s: CertificateSummary, where: string, warnDays = EXPIRY_WARNING_DAYS): CardWarning[] {
  const who = s.name ?? s.subject;
  if (s.state === 'expired') return [{ code: 'CARD_CERT_EXPIRED', message: `certificate of ${who} expired on ${s.notAfter.slice(0, 10)}`, where }];
  if (s.state === 'not-yet-valid') return [{ code: 'CARD_CERT_NOT_YET_VALID', message: `certificate of ${who} is valid only from ${s.notBefore.slice(0, 10)}`, where }];
  if (s.daysLeft <= warnDays) {
    return [{ code: 'CARD_CERT_EXPIRING', message: `certificate of ${who} expires on ${s.notAfter.slice(0, 10)} (${s.daysLeft} day${s.daysLeft === 1 ? '' : 's'} left): renew the card in time`, where }];
  }
  return [];
}
