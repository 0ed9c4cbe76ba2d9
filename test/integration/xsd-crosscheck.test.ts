import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { buildXsd } from '../../src/format/xsd.js';
import { isSchemaDetectable, validateFile } from '../../src/validate.js';
import { fixture, FIXTURE_NOW, ROOT } from '../helpers/cli.js';

const XSD = `${ROOT}schema/lab-daily.xsd`;

function xmllintValid(file: string): boolean {
  try {
    execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('schema/lab-daily.xsd', () => {
  it('is exactly what the 表一 table generates (regenerate with npm run gen)', () => {
    expect(readFileSync(XSD, 'utf8')).toBe(buildXsd());
  });

  const files = ['valid', 'invalid'].flatMap((d) => readdirSync(fixture(d)).filter((f) => f.endsWith('.xml')).map((f) => `${d}/${f}`));
  it.each(files)('xmllint and labup agree on the structure of %s', async (name) => {
    const report = await validateFile(fixture(name), { uploadDate: '1151125', clock: fixedClock(FIXTURE_NOW) });
    // A DOCTYPE is refused by labup on security grounds before any schema question arises.
    if (report.byCode.XML_DOCTYPE) {
      expect(report.ok).toBe(false);
      return;
    }
    const structural = report.errors.filter((e) => isSchemaDetectable(e.code)).map((e) => e.code);
    expect({ file: name, xmllintValid: xmllintValid(fixture(name)) }).toEqual({ file: name, xmllintValid: structural.length === 0 });
  });
});
