import { describe, expect, it } from 'vitest';
import { fixture, labup } from '../helpers/cli.js';

describe('labup validate (the real binary)', () => {
  it('exits 0 on each valid fixture, Big5 and UTF-8, XML and ZIP', async () => {
    for (const f of ['valid/lab.xml', 'valid/imaging.xml', 'valid/pathology.xml', 'valid/joint.xml', 'valid/all-types-utf8.xml', 'valid/TOTFA.zip']) {
      const r = await labup(['validate', fixture(f), '--upload-date', '115/11/25']);
      expect({ f, code: r.code, stderr: r.stderr }).toEqual({ f, code: 0, stderr: '' });
      expect(r.stdout).toMatch(/✓ .* valid/);
    }
  });

  it('exits 1 with located, bilingual findings and masked IDs', async () => {
    const r = await labup(['validate', fixture('invalid/field-values.xml'), '--upload-date', '1151125']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/field-values\.xml:12:5: error PERSON_ID_CHECKSUM \(NHI 02\) hdata 1: h9 身分證統一編號: .*A12\*\*\*\*788/);
    expect(r.stdout).not.toContain('A123456788');
  });

  it('prints one JSON document with every finding located', async () => {
    const r = await labup(['validate', fixture('invalid/conditional.xml'), '--upload-date', '1151125', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.files[0].counts).toEqual({ hdata: 4, rdata: 4 });
    expect(doc.files[0].errors[0]).toEqual({
      code: 'REFERENCE_RANGE_REQUIRED',
      severity: 'error',
      nhiCode: '14',
      field: 'r6-1',
      fieldName: '參考值下限',
      hdata: 1,
      rdata: 1,
      line: expect.any(Number),
      column: expect.any(Number),
      message: expect.stringContaining('參考值下限、參考值上限至少需擇一填寫'),
      hint: expect.any(String),
    });
  });

  it('limits what it prints with --max-errors, not what it counts', async () => {
    const r = await labup(['validate', fixture('invalid/structure.xml'), '--upload-date', '1151125', '--max-errors', '1', '--json']);
    const f = JSON.parse(r.stdout).files[0];
    expect(f.errors).toHaveLength(1);
    expect(f.errorCount).toBeGreaterThan(1);
  });

  it('exits 2 for a missing file or a file that is not a ZIP, naming it', async () => {
    const missing = await labup(['validate', 'nope.xml']);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('nope.xml: no such file');
    const notZip = await labup(['validate', fixture('../package.json').replace('package.json', 'README.md') + '.zip']);
    expect(notZip.code).toBe(2);
    const usage = await labup(['validate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument/);
  });

  it('refuses an upload date that is neither today nor yesterday', async () => {
    const r = await labup(['validate', fixture('valid/lab.xml'), '--upload-date', '115/11/20', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).files[0].errors.map((e: { code: string }) => e.code)).toContain('UPLOAD_DATE_NOT_ALLOWED');
  });
});
