/**
 * `labup card test`: proves that a card can sign for the institution — its certificate is valid now,
 * and a fresh random nonce signed by the card verifies with the certificate's public key.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { authError } from '../errors.js';
import type { Card, SignatureAlgorithm } from './card.js';
import { verifySignature } from './certificate.js';
import { EXPIRY_WARNING_DAYS, expiryWarnings, summarizeCertificate, type CardWarning, type CertificateSummary } from './summary.js';

export interface CardTestOptions {
  clock: Clock;
  /** Default: the card's usual algorithm (RSA-SHA256, or ECDSA-SHA256 for EC keys). */
  algorithm?: SignatureAlgorithm;
  /** The nonce to sign (default: 32 random bytes). */
  nonce?: Buffer;
  warnDays?: number;
}

export interface CardTestResult {
  ok: true;
  /** The card, as a URI without secrets. */
  card: string;
  certificate: CertificateSummary;
  algorithm: SignatureAlgorithm;
  nonceBytes: number;
  signatureBytes: number;
  /** The signature verified with the certificate's public key. */
  verified: true;
  warnings: CardWarning[];
}

/**
 * Checks the certificate's validity first (an expired card is reported without spending a PIN try),
 * then signs a fresh nonce and verifies it. Throws coded errors (exit 4).
 */
export async function testCard(card: Card, options: CardTestOptions): Promise<CardTestResult> {
  const now = options.clock.now();
  const cert = await card.certificate();
  const summary = summarizeCertificate(cert, now);
  const who = summary.name ?? summary.subject;
  if (summary.state === 'expired') {
    throw authError('CARD_CERT_EXPIRED', `${card.label}: the certificate of ${who} expired on ${summary.notAfter.slice(0, 10)} (${-summary.daysLeft} day(s) ago)`, {
      hint: 'Renew the card (for HCA cards: apply for a new card or certificate at the HCA); the portal refuses an expired certificate. Check also that this computer’s clock is right.',
      details: { notAfter: summary.notAfter },
    });
  }
  if (summary.state === 'not-yet-valid') {
    throw authError('CARD_CERT_NOT_YET_VALID', `${card.label}: the certificate of ${who} is valid only from ${summary.notBefore.slice(0, 16).replace('T', ' ')} (Asia/Taipei)`, {
      hint: 'Check this computer’s clock and time zone; a newly issued card is valid from the date on its certificate.',
      details: { notBefore: summary.notBefore },
    });
  }
  const nonce = options.nonce ?? randomBytes(32);
  const sig = await card.sign(nonce, options.algorithm);
  if (!verifySignature(cert.pem, nonce, sig.signature, sig.algorithm)) {
    throw authError('CARD_SIGNATURE_INVALID', `${card.label}: the card’s signature does not verify with its certificate`, {
      hint: 'The key that signed is not the certificate’s key: the certificate and key on the card do not belong together (same CKA_ID, different key).',
    });
  }
  return {
    ok: true,
    card: card.label,
    certificate: summary,
    algorithm: sig.algorithm,
    nonceBytes: nonce.length,
    signatureBytes: sig.signature.length,
    verified: true,
    warnings: expiryWarnings(summary, card.label, options.warnDays ?? EXPIRY_WARNING_DAYS),
  };
}
