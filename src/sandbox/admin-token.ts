/**
 * The admin API's credential: a random bearer token kept in the data folder (`admin.token`, mode
 * 0600), created on first start. Whoever can read the folder administers the sandbox; the token is
 * never printed or logged (`labup sandbox` prints the file's path).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ApiError } from './api-error.js';
import type { SandboxLayout } from './layout.js';

/** Reads the admin token, creating it first if the folder has none (safe against a concurrent start). */
export function ensureAdminToken(layout: SandboxLayout): string {
  try {
    const t = readFileSync(layout.adminToken, 'utf8').trim();
    if (t) return t;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  const tmp = `${layout.adminToken}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, token + '\n', { mode: 0o600 });
  try {
    linkSync(tmp, layout.adminToken);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readFileSync(layout.adminToken, 'utf8').trim();
  } finally {
    rmSync(tmp, { force: true });
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Refuses a request that does not carry the admin token. */
export function requireAdmin(authorization: string | undefined, token: string): void {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) throw new ApiError(401, 'ADMIN_TOKEN_REQUIRED', 'the admin API needs Authorization: Bearer <admin token>', 'The token is in the sandbox data folder: admin.token.');
  if (!timingSafeEqual(digest(m[1]!), digest(token))) throw new ApiError(403, 'ADMIN_TOKEN_INVALID', 'the admin token is not this sandbox’s', 'Use the token in this sandbox’s data folder (admin.token); a user’s session does not administer the sandbox.');
}
