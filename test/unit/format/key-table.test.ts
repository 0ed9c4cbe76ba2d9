import { describe, expect, it } from 'vitest';
import { KeyTable } from '../../../src/format/rules.js';

describe('KeyTable (the 表七 keys a file has shown, by hash)', () => {
  it('finds every key again, across its growth, and knows the ones it never saw', () => {
    // given 100,000 keys of up to 52 bits, 0 among them
    const table = new KeyTable();
    const key = (i: number) => (i === 0 ? 0 : ((i * 2654435761) % 2 ** 32) * 2 ** 20 + (i % 2 ** 20));
    for (let i = 0; i < 100_000; i++) table.set(key(i), i + 1);
    // when each is looked up
    let found = 0;
    for (let i = 0; i < 100_000; i++) if (table.get(key(i)) === i + 1) found++;
    // then all are there, and others are not
    expect(found).toBe(100_000);
    expect(table.get(key(100_001))).toBeUndefined();
    expect(table.get(1)).toBeUndefined();
  });

  it('carries on from its state in another thread', () => {
    const a = new KeyTable();
    a.set(12345, 1);
    const b = new KeyTable(structuredClone(a.state));
    b.set(678, 2);
    expect([b.get(12345), b.get(678), a.get(678)]).toEqual([1, 2, undefined]);
  });
});
