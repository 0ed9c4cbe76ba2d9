import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri, percentDecode, type Pkcs11Uri } from '../../../src/card/pkcs11-uri.js';

describe('RFC 7512 PKCS#11 URIs', () => {
  it('reads token, object, id and the module from the URI', () => {
    const u = parsePkcs11Uri('pkcs11:token=HCA;object=sign;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so');
    expect(u).toEqual({ token: 'HCA', object: 'sign', id: Buffer.from([1]), modulePath: '/usr/lib/softhsm/libsofthsm2.so' });
  });

  it('reads every path attribute and percent-decodes them (labels in UTF-8, ids as bytes)', () => {
    const u = parsePkcs11Uri(
      'pkcs11:token=%E9%86%AB%E4%BA%8B%E6%A9%9F%E6%A7%8B%E5%8D%A1;manufacturer=Chunghwa%20Telecom;serial=0000%2F123;model=HCA;slot-id=3;' +
        'slot-description=Reader%201;slot-manufacturer=Acme;library-manufacturer=HCA;library-description=HCA%20PKCS%2311;library-version=1.2;type=private;id=%00%FFab',
    );
    expect(u).toEqual({
      token: '醫事機構卡',
      manufacturer: 'Chunghwa Telecom',
      serial: '0000/123',
      model: 'HCA',
      slotId: '3',
      slotDescription: 'Reader 1',
      slotManufacturer: 'Acme',
      libraryManufacturer: 'HCA',
      libraryDescription: 'HCA PKCS#11',
      libraryVersion: '1.2',
      type: 'private',
      id: Buffer.from([0x00, 0xff, 0x61, 0x62]),
    });
  });

  it('takes the PIN source from the URI, but refuses a PIN in it (exit 2) without echoing it', () => {
    expect(parsePkcs11Uri('pkcs11:token=HCA?pin-source=env:LABUP_CARD_PIN').pinSource).toEqual({ kind: 'env', name: 'LABUP_CARD_PIN' });
    expect(parsePkcs11Uri('pkcs11:token=HCA?pin-source=prompt').pinSource).toEqual({ kind: 'prompt' });
    expect(parsePkcs11Uri('pkcs11:token=HCA?pin-source=cmd:pass%20show%20card').pinSource).toEqual({ kind: 'cmd', command: 'pass show card' });
    expect(parsePkcs11Uri('pkcs11:token=HCA?pin-source=file:///run/credentials/labup/pin').pinSource).toEqual({ kind: 'file', path: '/run/credentials/labup/pin' });
    expect(parsePkcs11Uri('pkcs11:token=HCA?pin-source=file:/etc/labup/pin&module-name=softhsm2')).toMatchObject({ pinSource: { kind: 'file', path: '/etc/labup/pin' }, moduleName: 'softhsm2' });
    let err: { code?: string; exitCode?: number; message?: string } = {};
    try {
      parsePkcs11Uri('pkcs11:token=HCA?pin-value=842913&module-path=/x.so');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err).toMatchObject({ code: 'CARD_URI_PIN_VALUE', exitCode: 2 });
    expect(err.message).not.toContain('842913');
  });

  it('refuses malformed URIs with a usage error naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['pkcs12:token=HCA', /must start with “pkcs11:”/],
      ['pkcs11:token=HCA;token=X', /given twice/],
      ['pkcs11:colour=blue', /unknown attribute “colour”/],
      ['pkcs11:token', /not name=value/],
      ['pkcs11:id=%0', /two hex digits/],
      ['pkcs11:id=%zz', /two hex digits/],
      ['pkcs11:token=%FF', /not UTF-8/],
      ['pkcs11:type=key', /type must be one of/],
      ['pkcs11:slot-id=0x3', /decimal/],
      ['pkcs11:token=HCA?module=/x.so', /unknown query attribute/],
      ['pkcs11:token=HCA?module-path=', /empty/],
      ['pkcs11:token=HCA#frag', /fragment/],
    ];
    for (const [uri, message] of cases) {
      expect(() => parsePkcs11Uri(uri), uri).toThrow(message);
      try {
        parsePkcs11Uri(uri);
      } catch (e) {
        expect(e).toMatchObject({ code: 'CARD_URI', exitCode: 2 });
      }
    }
    expect(() => parsePkcs11Uri('pkcs11:token=HCA?pin-source=https://x')).toThrow(/not a secret source/);
  });

  it('ignores vendor attributes (x-…) and empty parts', () => {
    expect(parsePkcs11Uri('PKCS11:;token=HCA;;x-vendor=1?x-opt=2&')).toEqual({ token: 'HCA' });
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
  });

  it('writes back what it reads (ids as %XX, labels percent-encoded)', () => {
    expect(formatPkcs11Uri({ token: 'HCA card', serial: '12', id: Buffer.from([1]), modulePath: 'C:\\Windows\\System32\\HCAPKCS11.dll' })).toBe(
      'pkcs11:token=HCA%20card;serial=12;id=%01?module-path=C:\\Windows\\System32\\HCAPKCS11.dll',
    );
    fc.assert(
      fc.property(
        fc.record({ token: fc.string({ unit: 'grapheme', maxLength: 32 }), object: fc.string({ maxLength: 16 }), id: fc.uint8Array({ maxLength: 8 }), slotId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }, { requiredKeys: [] }),
        (r) => {
          const u: Pkcs11Uri = {
            ...(r.token !== undefined ? { token: r.token } : {}),
            ...(r.object !== undefined ? { object: r.object } : {}),
            ...(r.id ? { id: Buffer.from(r.id) } : {}),
            ...(r.slotId !== undefined ? { slotId: r.slotId.toString() } : {}),
          };
          expect(parsePkcs11Uri(formatPkcs11Uri(u))).toEqual(u);
        },
      ),
    );
  });

  it('percent-decodes bytes, keeping literal characters', () => {
    expect(percentDecode('a%20b%2fc')).toEqual(Buffer.from('a b/c'));
    expect(percentDecode('%')).toBeUndefined();
  });
});
