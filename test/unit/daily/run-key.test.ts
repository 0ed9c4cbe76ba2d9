import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashInputs, inputsKey, runKey } from '../../../src/daily/run-key.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-runkey-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a run’s identity', () => {
  it('is the inputs’ content, not their names', async () => {
    writeFileSync(join(dir, 'a.csv'), 'h1,h2\n1,3501200000\n');
    writeFileSync(join(dir, 'b.csv'), 'h1,h2\n1,3501200000\n');
    writeFileSync(join(dir, 'c.csv'), 'h1,h2\n2,3501200000\n');
    const [a] = await hashInputs(['a.csv'], dir);
    const [b] = await hashInputs([join(dir, 'b.csv')], dir);
    const [c] = await hashInputs(['c.csv'], dir);
    expect(a).toMatchObject({ given: 'a.csv', path: join(dir, 'a.csv'), size: 19 });
    expect(inputsKey([a!], {})).toBe(inputsKey([b!], {}));
    expect(inputsKey([a!], {})).not.toBe(inputsKey([c!], {}));
    // the order of several inputs is part of it (it is the order of the hdata)
    expect(inputsKey([a!, c!], {})).not.toBe(inputsKey([c!, a!], {}));
  });

  it('changes with the options that change the ZIP, and with the portal and the 上傳日期', async () => {
    writeFileSync(join(dir, 'a.csv'), 'x\n');
    const inputs = await hashInputs(['a.csv'], dir);
    const base = inputsKey(inputs, { hosp: '3501200000', encoding: 'big5' });
    expect(inputsKey(inputs, { encoding: 'big5', hosp: '3501200000' })).toBe(base);
    expect(inputsKey(inputs, { hosp: '3501200000', encoding: 'utf-8' })).not.toBe(base);
    expect(inputsKey(inputs, { hosp: '3501200000', encoding: 'big5', mapSha256: 'ab' })).not.toBe(base);
    // unset options are the same as absent ones
    expect(inputsKey(inputs, { hosp: '3501200000', encoding: 'big5', groupWindow: null })).toBe(base);
    expect(runKey('sandbox:x', base, '1151125')).not.toBe(runKey('sandbox:x', base, '1151126'));
    expect(runKey('sandbox:x', base, '1151125')).not.toBe(runKey('https://portal', base, '1151125'));
  });

  it('names a missing input, refuses a folder and standard input', async () => {
    await expect(hashInputs(['nope.csv'], dir)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', exitCode: 2, message: 'nope.csv: no such file' });
    await expect(hashInputs(['.'], dir)).rejects.toMatchObject({ code: 'FILE_IS_DIRECTORY', exitCode: 2 });
    await expect(hashInputs(['-'], dir)).rejects.toMatchObject({ code: 'DAILY_STDIN', exitCode: 2 });
  });
});
