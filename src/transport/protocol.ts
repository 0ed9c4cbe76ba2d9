/**
 * Facts of the portal protocol (docs/portal-protocol.md) shared by the HTTP client and the sandbox.
 */
import { createHash } from 'node:crypto';

export const PROTOCOL_VERSION = '1';
export const API_PREFIX = '/api/v1';

/** Headers of the upload request. */
export const HEADER = {
  idempotencyKey: 'idempotency-key',
  /** RFC 9530 `Content-Digest: sha-256=:<base64>:` of the ZIP. */
  contentDigest: 'content-digest',
  /** The portal's answer when an upload with the same key was already received. */
  replayed: 'idempotent-replayed',
} as const;

/** What the card signs to sign in: binds the server's nonce to the user named in the request. */
export function signInPayload(nonce: string, userId: string): Buffer {
  return Buffer.from(`labup-portal-signin/${PROTOCOL_VERSION}\nnonce=${nonce}\nuser=${userId.toUpperCase()}\n`, 'utf8');
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The upload's idempotency key: SHA-256 (hex) of the ZIP's SHA-256 (hex), a newline and the
 * 上傳日期 as ROC YYYMMDD. The same ZIP for the same day always has the same key.
 */
export function idempotencyKey(contentSha256: string, uploadDate: string): string {
  return sha256Hex(`${contentSha256.toLowerCase()}\n${uploadDate}`);
}

export function contentDigestHeader(contentSha256: string): string {
  return `sha-256=:${Buffer.from(contentSha256, 'hex').toString('base64')}:`;
}

/** The SHA-256 (hex) in a `Content-Digest` header, if it carries one. */
export function parseContentDigest(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(header);
  if (!m) return undefined;
  const b = Buffer.from(m[1]!, 'base64');
  return b.length === 32 ? b.toString('hex') : undefined;
}

/** The name of the ZIP a file is delivered in: `1300_1151125000001.msg.txt` → `1300_1151125000001.zip`. */
export function deliveryZipName(fileName: string): string {
  return fileName.replace(/\.msg\.txt$/i, '').replace(/\.[^.]+$/, '') + '.zip';
}
