/**
 * The fault spec language of `labup sandbox --faults`: what each rule means, how often it fires,
 * and a clear coded refusal for a rule that means nothing.
 */
import { describe, expect, it } from 'vitest';
import { faultsFromSpec, parseByteRate, parseFaultRule, parseFaultSpec, targetMatches, type FaultPoint } from '../../../src/sandbox/faults.js';

const req = (method: string, path: string, n = 1): FaultPoint => ({ phase: 'request', method, path, n });
const committed: FaultPoint = { phase: 'upload-committed', receiptNo: '1151125000001', replayed: false, n: 1 };

describe('fault spec', () => {
  it('reads the example of the help text, rule by rule', () => {
    // given the spec the help shows
    const rules = parseFaultSpec('upload:reset-after-commit:once,status:503:retry-after=2:times=3,slow:8s');
    // then three rules, each with its target, phase, action and count
    expect(rules.map((r) => [r.target, r.phase, r.fault, r.times, r.skip])).toEqual([
      ['upload', 'upload-committed', { kind: 'reset' }, 1, 0],
      ['status', 'request', { kind: 'status', status: 503, code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 }, 3, 0],
      ['any', 'request', { kind: 'delay', ms: 8000 }, Number.POSITIVE_INFINITY, 0],
    ]);
    expect(rules.map((r) => r.text)).toEqual(['upload:reset-after-commit:once', 'status:503:times=3:retry-after=2', 'any:slow:8s']);
  });

  it('knows every action, with its value written after a colon or an equals sign', () => {
    expect(parseFaultRule('upload:reset').fault).toEqual({ kind: 'reset' });
    expect(parseFaultRule('reset-mid-upload').fault).toEqual({ kind: 'reset', afterBodyBytes: 1024 });
    expect(parseFaultRule('upload:reset-mid-upload:after-bytes=10').fault).toEqual({ kind: 'reset', afterBodyBytes: 10 });
    expect(parseFaultRule('reset-after-commit')).toMatchObject({ target: 'upload', phase: 'upload-committed' });
    expect(parseFaultRule('download:reset-mid-response').fault).toEqual({ kind: 'cut-response' });
    expect(parseFaultRule('download:reset-mid-response:after-bytes=100').fault).toEqual({ kind: 'cut-response', afterBytes: 100 });
    expect(parseFaultRule('502:html').fault).toEqual({ kind: 'status', status: 502, code: 'BAD_GATEWAY', html: true });
    expect(parseFaultRule('*:500').fault).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(parseFaultRule('429:retry-after=0').fault).toMatchObject({ status: 429, retryAfterSeconds: 0 });
    expect(parseFaultRule('slow=1.5s').fault).toEqual({ kind: 'delay', ms: 1500 });
    expect(parseFaultRule('upload:slow-after-commit:3s')).toMatchObject({ phase: 'upload-committed', fault: { kind: 'delay', ms: 3000 } });
    expect(parseFaultRule('upload:expire-session:once').fault).toEqual({ kind: 'end-sessions' });
    expect(parseFaultRule('download:trickle:2k').fault).toEqual({ kind: 'trickle', bytesPerSecond: 2048 });
    expect(parseFaultRule('download:trickle=512/s:skip=1').fault).toEqual({ kind: 'trickle', bytesPerSecond: 512 });
    expect(parseFaultSpec('  ')).toEqual([]);
  });

  it('reads byte rates', () => {
    expect([parseByteRate('4096'), parseByteRate('4k'), parseByteRate('4KiB/s'), parseByteRate('1m'), parseByteRate('2 kb/s')]).toEqual([4096, 4096, 4096, 1048576, 2048]);
    expect([parseByteRate('0'), parseByteRate('fast'), parseByteRate('-1k')]).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a rule that means nothing with BAD_FAULT_SPEC, naming the rule', () => {
    const bad = [
      ['', 'is empty'],
      ['upload', 'names no action'],
      ['uplaod:reset', '“uplaod” is neither a target'],
      ['upload:explode', '“explode” is not an action'],
      ['status:reset-after-commit', 'applies to uploads only'],
      ['download:reset-mid-upload', 'applies to uploads only'],
      ['slow', 'needs a duration'],
      ['slow:soon', 'needs a duration'],
      ['trickle:fast', 'needs a rate'],
      ['reset:retry-after=2', 'retry-after and html go with a status action'],
      ['503:times=0', 'times needs a whole number ≥ 1'],
      ['503:times=two', 'times needs a whole number'],
      ['503:twice', 'unknown option “twice”'],
      ['reset:after-bytes=3', 'after-bytes goes with reset-mid-upload'],
      ['expire-session:5s', 'unknown option “5s”'],
    ] as const;
    for (const [spec, message] of bad) {
      expect(() => parseFaultRule(spec), spec).toThrow(expect.objectContaining({ code: 'BAD_FAULT_SPEC', exitCode: 2, message: expect.stringContaining(message) }));
    }
    // a bad rule anywhere in the spec is refused, naming it
    expect(() => parseFaultSpec('upload:reset:once,status:5O3')).toThrow(expect.objectContaining({ message: expect.stringContaining('fault “status:5O3”') }));
  });
});

describe('targets', () => {
  it('name the portal’s endpoints by what they do', () => {
    expect(targetMatches('upload', 'POST', '/api/v1/submissions')).toBe(true);
    expect(targetMatches('upload', 'GET', '/api/v1/submissions')).toBe(false);
    expect(targetMatches('status', 'GET', '/api/v1/submissions')).toBe(true);
    expect(targetMatches('status', 'GET', '/api/v1/submissions/1151125000001')).toBe(true);
    expect(targetMatches('files', 'GET', '/api/v1/files/ab12')).toBe(true);
    expect(targetMatches('files', 'GET', '/api/v1/files/ab12/content')).toBe(false);
    expect(targetMatches('download', 'GET', '/api/v1/files/ab12/content')).toBe(true);
    expect(targetMatches('challenge', 'POST', '/api/v1/session/challenge')).toBe(true);
    expect(targetMatches('signin', 'POST', '/api/v1/session')).toBe(true);
    expect(targetMatches('signin', 'DELETE', '/api/v1/session')).toBe(false);
    expect(targetMatches('info', 'GET', '/api/v1/')).toBe(true);
    expect(targetMatches('resend', 'POST', '/api/v1/resend-requests')).toBe(true);
    expect(targetMatches('any', 'GET', '/whatever')).toBe(true);
  });
});

describe('a hook from a spec', () => {
  it('lets `skip` requests through, then fires `times` times, counting each rule', () => {
    // given a 503 for the second and third status query, and a reset after every committed upload
    const hook = faultsFromSpec('status:503:skip=1:times=2,upload:reset-after-commit');
    const status = () => hook(req('GET', '/api/v1/submissions/1151125000001'));
    // then the first query passes, the next two fail, the rest pass
    expect([status(), status(), status(), status()].map((a) => (a && !Array.isArray(a) ? a.kind : a))).toEqual([undefined, 'status', 'status', undefined]);
    // and an upload is reset only once committed, every time
    expect(hook(req('POST', '/api/v1/submissions'))).toBeUndefined();
    expect(hook(committed)).toEqual({ kind: 'reset' });
    expect(hook(committed)).toEqual({ kind: 'reset' });
    expect(hook.fired).toEqual([2, 2]);
    expect(hook.matched).toEqual([4, 2]);
  });

  it('applies every rule that fires on a request, in order', () => {
    const hook = faultsFromSpec('slow:2s:once,upload:expire-session:once,upload:503');
    expect(hook(req('POST', '/api/v1/submissions'))).toEqual([{ kind: 'delay', ms: 2000 }, { kind: 'end-sessions' }, expect.objectContaining({ kind: 'status', status: 503 })]);
    expect(hook(req('POST', '/api/v1/submissions'))).toEqual(expect.objectContaining({ kind: 'status', status: 503 }));
    expect(hook(req('GET', '/api/v1'))).toBeUndefined();
  });
});
