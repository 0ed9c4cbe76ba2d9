import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as K from '../../../src/card/pkcs11-constants.js';
import { defaultModuleCandidates, isHcaModule, resolveModulePath } from '../../../src/card/pkcs11-module.js';

const existing = (...paths: string[]) => (p: string) => paths.includes(p);

describe('finding the PKCS#11 module', () => {
  it('on Windows looks for the HCA module in System32, then SysWOW64', () => {
    // given only the 32-bit HCA components installed
    const env = { SystemRoot: 'C:\\Windows' };
    const loc = resolveModulePath({ platform: 'win32', env, exists: existing('C:\\Windows\\SysWOW64\\HCAPKCS11.dll') });
    // then labup finds it there, having looked in System32 first
    expect(loc).toEqual({ path: 'C:\\Windows\\SysWOW64\\HCAPKCS11.dll', from: 'default', searched: ['C:\\Windows\\System32\\HCAPKCS11.dll', 'C:\\Windows\\SysWOW64\\HCAPKCS11.dll'] });
    expect(resolveModulePath({ platform: 'win32', env, exists: existing('C:\\Windows\\System32\\HCAPKCS11.dll', 'C:\\Windows\\SysWOW64\\HCAPKCS11.dll') }).path).toBe('C:\\Windows\\System32\\HCAPKCS11.dll');
    expect(isHcaModule('C:\\Windows\\System32\\HCAPKCS11.dll')).toBe(true);
    expect(isHcaModule('/usr/lib/softhsm/libsofthsm2.so')).toBe(false);
  });

  it('reports every place it looked when no module is found (exit 4)', () => {
    let err: { code?: string; exitCode?: number; message?: string; hint?: string; details?: { searched: string[] } } = {};
    try {
      resolveModulePath({ platform: 'win32', env: { SystemRoot: 'D:\\Win' }, exists: existing() });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err).toMatchObject({ code: 'CARD_MODULE_NOT_FOUND', exitCode: 4 });
    expect(err.details!.searched).toEqual(['D:\\Win\\System32\\HCAPKCS11.dll', 'D:\\Win\\SysWOW64\\HCAPKCS11.dll']);
    expect(err.hint).toMatch(/HCA card components/);
  });

  it('takes --module over the URI, the URI over LABUP_PKCS11_MODULE, that over the defaults', () => {
    const all = existing('/flag.so', '/uri.so', '/env.so', '/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so');
    const env = { LABUP_PKCS11_MODULE: '/env.so' };
    expect(resolveModulePath({ platform: 'linux', env, exists: all, modulePath: '/flag.so', uriModulePath: '/uri.so' })).toMatchObject({ path: '/flag.so', from: '--module' });
    expect(resolveModulePath({ platform: 'linux', env, exists: all, uriModulePath: '/uri.so' })).toMatchObject({ path: '/uri.so', from: 'module-path' });
    expect(resolveModulePath({ platform: 'linux', env, exists: all })).toMatchObject({ path: '/env.so', from: 'LABUP_PKCS11_MODULE' });
    // OpenSC (a reader) before SoftHSM (a development token)
    expect(resolveModulePath({ platform: 'linux', env: {}, exists: all })).toMatchObject({ path: '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', from: 'default' });
    expect(resolveModulePath({ platform: 'linux', env: {}, exists: existing('/usr/lib/softhsm/libsofthsm2.so') }).path).toBe('/usr/lib/softhsm/libsofthsm2.so');
    expect(defaultModuleCandidates('darwin', {})[0]).toBe('/Library/OpenSC/lib/opensc-pkcs11.so');
  });

  it('a named module that is not there is an error naming it, not a silent fallback', () => {
    expect(() => resolveModulePath({ platform: 'linux', env: {}, exists: existing('/usr/lib/softhsm/libsofthsm2.so'), uriModulePath: '/opt/missing.so' })).toThrow(/\/opt\/missing\.so \(module-path\) does not exist/);
    expect(() => resolveModulePath({ platform: 'linux', env: { LABUP_PKCS11_MODULE: '/nope.so' }, exists: existing() })).toThrow(/LABUP_PKCS11_MODULE/);
  });

  it('finds module-name in the usual folders', () => {
    expect(resolveModulePath({ platform: 'linux', env: {}, exists: existing('/usr/lib/softhsm/libsofthsm2.so'), uriModuleName: 'softhsm2' })).toMatchObject({ path: '/usr/lib/softhsm/libsofthsm2.so', from: 'module-name' });
    expect(resolveModulePath({ platform: 'win32', env: {}, exists: existing('C:\\Windows\\System32\\HCAPKCS11.dll'), uriModuleName: 'HCAPKCS11' })).toMatchObject({ path: 'C:\\Windows\\System32\\HCAPKCS11.dll' });
    expect(() => resolveModulePath({ platform: 'linux', env: {}, exists: existing(), uriModuleName: 'nothing' })).toThrow(/no module named “nothing”/);
  });
});

describe('PKCS#11 numbers', () => {
  it('labup’s constants are the standard’s (checked against pkcs11js)', () => {
    const p11 = createRequire(import.meta.url)('pkcs11js') as Record<string, unknown>;
    const ours = Object.entries(K).filter(([name, v]) => /^CK[AFKMORUC]_/.test(name) && typeof v === 'number');
    expect(ours.length).toBeGreaterThan(80);
    for (const [name, value] of ours) expect({ name, value }).toEqual({ name, value: p11[name] });
  });
});
