import { describe, expect, it } from 'vitest';
import { checkPersonId, completePersonId, maskId, maskIdsInText } from '../../../src/format/national-id.js';

describe('national IDs and resident permits', () => {
  it('accepts checksum-valid national IDs', () => {
    expect(checkPersonId('A123456789')).toEqual({ ok: true, kind: 'national' });
    expect(checkPersonId(completePersonId('F22222222'))).toEqual({ ok: true, kind: 'national' });
  });

  it('rejects a wrong checksum and tells it from a wrong format', () => {
    expect(checkPersonId('A123456788')).toMatchObject({ ok: false, reason: 'checksum' });
    expect(checkPersonId('A12345678')).toMatchObject({ ok: false, reason: 'format' });
    expect(checkPersonId('A323456789')).toMatchObject({ ok: false, reason: 'format' });
    expect(checkPersonId('a123456789')).toMatchObject({ ok: false, reason: 'lowercase' });
  });

  it('accepts the 2021 and the old resident permit formats', () => {
    const newer = completePersonId('A80000000');
    expect(checkPersonId(newer)).toEqual({ ok: true, kind: 'resident-new' });
    const older = completePersonId('AB1234567');
    expect(checkPersonId(older)).toEqual({ ok: true, kind: 'resident-old' });
    expect(checkPersonId(older.slice(0, 9) + String((Number(older[9]) + 1) % 10))).toMatchObject({ ok: false, reason: 'checksum' });
  });

  it('masks IDs as A12****789, also inside text', () => {
    expect(maskId('A123456789')).toBe('A12****789');
    expect(maskIdsInText('patient A123456789 and B123456780, institution 3501200000')).toBe('patient A12****789 and B12****780, institution 3501200000');
  });
});
