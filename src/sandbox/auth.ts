/**
 * Sign-in as the portal does it with a card, as challenge–response: the server hands out a
 * single-use nonce; the card signs {@link signInPayload} (the nonce and the user's national ID);
 * the server checks the certificate against the sandbox CA (issuer, signature, validity at the
 * sandbox's clock), the signature, the institution in the certificate's subject serialNumber and
 * that the user is registered for that institution, then opens a session with an idle timeout.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { parseCertificate, validity, verifySignature } from '../card/certificate.js';
import type { SignatureAlgorithm } from '../card/card.js';
import { checkPersonId, maskId } from '../format/national-id.js';
import { signInPayload } from '../transport/protocol.js';
import { ApiError, badRequest, forbidden, unauthorized } from './api-error.js';
import type { Db } from './state.js';

export const CHALLENGE_TTL_MS = 5 * 60_000;
const ALGORITHMS: SignatureAlgorithm[] = ['RSA-SHA256', 'RSA-SHA1', 'ECDSA-SHA256'];

export interface Session {
  institutionCode: string;
  institutionName: string;
  userId: string;
  expiresAt: number;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function createChallenge(db: Db, clock: Clock): { nonce: string; expiresAt: number } {
  const now = clock.now().getTime();
  const nonce = randomBytes(32).toString('base64url');
  db.prepare('DELETE FROM challenges WHERE expires_at < ?').run(now - CHALLENGE_TTL_MS);
  db.prepare('INSERT INTO challenges (nonce, created_at, expires_at) VALUES (?, ?, ?)').run(nonce, now, now + CHALLENGE_TTL_MS);
  return { nonce, expiresAt: now + CHALLENGE_TTL_MS };
}

export interface SignInBody {
  nonce?: unknown;
  userId?: unknown;
  certificate?: unknown;
  signature?: unknown;
  algorithm?: unknown;
}

export function signIn(db: Db, caCertPem: string, body: SignInBody, clock: Clock, idleMs: number): { token: string; session: Session } {
  const now = clock.now();
  const t = now.getTime();
  if (typeof body.nonce !== 'string' || typeof body.userId !== 'string' || typeof body.certificate !== 'string' || typeof body.signature !== 'string') {
    throw badRequest('BAD_REQUEST', 'sign-in needs nonce, userId, certificate (PEM) and signature (base64)');
  }
  const algorithm = (body.algorithm ?? 'RSA-SHA256') as SignatureAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) throw badRequest('BAD_REQUEST', `unsupported signature algorithm ${String(body.algorithm)}`, `Use one of ${ALGORITHMS.join(', ')}.`);
  const userId = body.userId.trim().toUpperCase();
  // The nonce is used up whatever happens next: a failed attempt needs a new challenge.
  const used = db.prepare('UPDATE challenges SET used_at = ? WHERE nonce = ? AND used_at IS NULL AND expires_at >= ?').run(t, body.nonce, t);
  if (used.changes !== 1) throw unauthorized('CHALLENGE_INVALID', 'the sign-in challenge is unknown, used or expired', 'Ask for a new challenge and sign again.');

  let cert;
  let x: X509Certificate;
  try {
    cert = parseCertificate(body.certificate);
    x = new X509Certificate(body.certificate);
  } catch {
    throw unauthorized('CERT_INVALID', 'the certificate cannot be read', 'Send the card’s signing certificate as PEM.');
  }
  const ca = new X509Certificate(caCertPem);
  if (!x.checkIssued(ca) || !x.verify(ca.publicKey)) {
    throw unauthorized('CERT_UNTRUSTED', `the certificate (${cert.subject.replace(/\n/g, ', ')}) was not issued by this portal’s CA`, 'Use a card issued for this portal (labup sandbox init issues one).');
  }
  if (x.ca) throw unauthorized('CERT_UNTRUSTED', 'a CA certificate cannot sign in', 'Use the card’s signing certificate.');
  const v = validity(cert, now);
  if (v.state === 'expired') throw unauthorized('CERT_EXPIRED', `the card’s certificate expired on ${cert.notAfter.toISOString()}`, 'Renew the card (a new certificate) and sign in again.');
  if (v.state === 'not-yet-valid') throw unauthorized('CERT_NOT_YET_VALID', `the card’s certificate is valid only from ${cert.notBefore.toISOString()}`, 'Check the computer’s clock.');
  let ok = false;
  try {
    ok = verifySignature(cert.pem, signInPayload(body.nonce, userId), Buffer.from(body.signature, 'base64'), algorithm);
  } catch {
    ok = false;
  }
  if (!ok) throw unauthorized('SIGNATURE_INVALID', 'the signature does not verify with the certificate', 'Sign the challenge with the key of this certificate.');
  const code = cert.institutionCode;
  const inst = code ? (db.prepare('SELECT code, name FROM institutions WHERE code = ?').get(code) as { code: string; name: string } | undefined) : undefined;
  if (!code || !inst) throw forbidden('INSTITUTION_UNKNOWN', `institution ${code ?? '(none in the certificate)'} is not registered with this portal`, 'Register the institution (labup sandbox init, or the admin API).');
  if (checkPersonId(userId).ok !== true) throw forbidden('USER_NOT_REGISTERED', `user ${maskId(userId)} is not a valid national ID`, 'Give the national ID of a registered user of the institution.');
  const user = db.prepare('SELECT national_id FROM users WHERE institution_code = ? AND national_id = ?').get(code, userId);
  if (!user) throw forbidden('USER_NOT_REGISTERED', `user ${maskId(userId)} is not registered for institution ${code}`, 'Sign in as a user registered for this institution (the demo user is A123456789).');

  const token = randomBytes(32).toString('base64url');
  db.prepare('INSERT INTO sessions (token_hash, institution_code, user_id, cert_serial, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    hashToken(token),
    code,
    userId,
    cert.serial,
    t,
    t,
    t + idleMs,
  );
  return { token, session: { institutionCode: code, institutionName: inst.name, userId, expiresAt: t + idleMs } };
}

/** The session of a bearer token; each use extends the idle timeout. */
export function authenticate(db: Db, authorization: string | undefined, clock: Clock, idleMs: number): Session {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) throw new ApiError(401, 'SESSION_REQUIRED', 'sign in first (Authorization: Bearer <token>)', 'POST /api/v1/session/challenge, then POST /api/v1/session.');
  const t = clock.now().getTime();
  const row = db
    .prepare('SELECT s.institution_code, s.user_id, s.expires_at, s.ended_at, i.name FROM sessions s JOIN institutions i ON i.code = s.institution_code WHERE s.token_hash = ?')
    .get(hashToken(m[1]!)) as { institution_code: string; user_id: string; expires_at: number; ended_at: number | null; name: string } | undefined;
  if (!row || row.ended_at !== null || row.expires_at < t) {
    throw unauthorized('SESSION_EXPIRED', 'the session has ended (idle too long, signed out, or unknown)', 'Sign in again.');
  }
  db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?').run(t, t + idleMs, hashToken(m[1]!));
  return { institutionCode: row.institution_code, institutionName: row.name, userId: row.user_id, expiresAt: t + idleMs };
}

export function signOut(db: Db, authorization: string | undefined, clock: Clock): void {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return;
  db.prepare('UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL').run(clock.now().getTime(), hashToken(m[1]!));
}
