import { describe, expect, it } from 'vitest';
import { backoffDelay, isTlsError, isTransientNetworkError, networkErrorCode, parseRetryAfter } from '../../../src/transport/retry.js';
import { contentDigestHeader, deliveryZipName, idempotencyKey, parseContentDigest, sha256Hex, signInPayload } from '../../../src/transport/protocol.js';

describe('retry policy', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('backs off exponentially with bounded jitter', () => {
    const policy = { baseMs: 500, maxMs: 4000, maxRetryAfterMs: 60_000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, () => 0.5))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(backoffDelay(1, policy, () => 0)).toBe(375);
    expect(backoffDelay(1, policy, () => 1)).toBe(625);
  });

  it('retries connection failures but never TLS verification failures', () => {
    expect(isTransientNetworkError(networkErrorCode(Object.assign(new Error('x'), { cause: { code: 'ECONNRESET' } })))).toBe(true);
    expect(isTransientNetworkError('UND_ERR_SOCKET')).toBe(true);
    expect(isTransientNetworkError('ENOTFOUND')).toBe(false);
    expect(isTlsError(networkErrorCode({ code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toBe(true);
    expect(isTransientNetworkError('SELF_SIGNED_CERT_IN_CHAIN')).toBe(false);
  });
});

describe('protocol facts', () => {
  it('derives the idempotency key from the ZIP and the 上傳日期 only', () => {
    const sha = sha256Hex('zip bytes');
    expect(idempotencyKey(sha, '1151125')).toBe(sha256Hex(`${sha}\n1151125`));
    expect(idempotencyKey(sha, '1151125')).not.toBe(idempotencyKey(sha, '1151124'));
    expect(idempotencyKey(sha.toUpperCase(), '1151125')).toBe(idempotencyKey(sha, '1151125'));
  });

  it('writes and reads an RFC 9530 Content-Digest', () => {
    const sha = sha256Hex('abc');
    expect(contentDigestHeader(sha)).toBe('sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:');
    expect(parseContentDigest(contentDigestHeader(sha))).toBe(sha);
    expect(parseContentDigest('md5=:abc:')).toBeUndefined();
  });

  it('binds the sign-in signature to the nonce and the user', () => {
    expect(signInPayload('n0nce', 'a123456789').toString()).toBe('labup-portal-signin/1\nnonce=n0nce\nuser=A123456789\n');
  });

  it('names the delivered ZIP after the file', () => {
    expect(deliveryZipName('1300_1151125000001.msg.txt')).toBe('1300_1151125000001.zip');
  });
});
