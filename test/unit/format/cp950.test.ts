import { describe, expect, it } from 'vitest';
import { canEncodeCp950, decodeCp950, encodeCp950 } from '../../../src/encoding/cp950.js';
import { toFullWidth } from '../../../src/xml/builder.js';

describe('CP950 (Big5 as NHI reads it)', () => {
  it('round-trips common text byte for byte', () => {
    const bytes = encodeCp950('檢驗 ABC 血液');
    expect(bytes.toString('hex')).toBe('c0cbc5e72041424320a6e5b247');
    expect(decodeCp950(bytes)).toEqual({ text: '檢驗 ABC 血液', badAt: -1 });
  });

  it('refuses byte pairs CP950 does not define (HKSCS, user-defined area)', () => {
    expect(decodeCp950(Buffer.from([0x41, 0x88, 0x40])).badAt).toBe(1);
    expect(decodeCp950(Buffer.from([0xfa, 0x40])).badAt).toBe(0);
    expect(decodeCp950(Buffer.from([0xa4])).badAt).toBe(0);
  });

  it('has no full-width quotation mark, so Big5 output uses ” (A1A8) for "', () => {
    expect(canEncodeCp950('＂')).toBe(false);
    const text = toFullWidth(`a<b>&'"＂`, 'big5');
    expect(text).toBe('a＜b＞＆’””');
    expect(encodeCp950(text).toString('hex')).toBe('61a1d562a1d6a1aea1a6a1a8a1a8');
    expect(toFullWidth(`"`, 'utf-8')).toBe('＂');
  });

  it('reports characters it cannot carry', () => {
    const problems: Array<{ index: number; char: string }> = [];
    encodeCp950('ok 😀 ＂', problems);
    expect(problems.map((p) => p.char)).toEqual(['😀', '＂']);
  });
});
