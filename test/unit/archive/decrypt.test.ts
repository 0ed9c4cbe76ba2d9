import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { LabupError } from '../../../src/errors.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { recordingHost } from '../../../src/io-host.js';
import { nonInteractivePrompter, scriptedPrompter } from '../../../src/prompts.js';
import { createZip } from '../../../src/archive/encrypted-zip.js';
import { decryptArchive } from '../../../src/archive/decrypt.js';
import { userIdAsker } from '../../../src/archive/user-id.js';
import { buildZip } from './zip-bytes.js';
import { scratch, type Scratch } from './scratch.js';

const USER_ID = 'A123456789';
const OTHER_ID = completePersonId('B12345678');
const CHECK_FILE = '1300_1151125000001.msg.txt';
const CONTENT = new TextEncoder().encode('1300_1151125000001 檢核錯誤 hdata 1 h9 02\n');

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.remove());

/** Three entries: a wrong ID passes all three one-byte ZipCrypto checks once in 16 million tries. */
async function encryptedDownload(encryption: 'zipcrypto' | 'aes256' = 'zipcrypto'): Promise<string> {
  const bytes = await createZip(
    [
      { name: CHECK_FILE, data: CONTENT },
      { name: 'summary.txt', data: new TextEncoder().encode('1 error\n') },
      { name: 'readme.txt', data: new TextEncoder().encode('labup\n') },
    ],
    { password: USER_ID, encryption },
  );
  return s.write('download.zip', bytes);
}

describe('decryptArchive', () => {
  it.each(['zipcrypto', 'aes256'] as const)('opens a %s download with an ID typed in lowercase at the prompt', async (encryption) => {
    // given an encrypted download and a person who types their ID in lowercase
    const zip = await encryptedDownload(encryption);
    const prompter = scriptedPrompter(['a123456789']);
    // when it is decrypted
    const result = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: {}, prompter }) });
    // then the files are there, 0600, and the result says how it was opened
    expect(prompter.asked).toHaveLength(1);
    expect(result).toMatchObject({ ok: true, encryption, passwordSource: 'prompt', outDir: s.path('out') });
    expect(result.files.map((f) => f.name)).toEqual([CHECK_FILE, 'summary.txt', 'readme.txt']);
    expect(readFileSync(s.path('out', CHECK_FILE))).toEqual(Buffer.from(CONTENT));
    expect(statSync(s.path('out', CHECK_FILE)).mode & 0o777).toBe(0o600);
  });

  it('asks again after a wrong ID at the prompt, and succeeds', async () => {
    const zip = await encryptedDownload();
    const host = recordingHost();
    const prompter = scriptedPrompter([OTHER_ID.toLowerCase(), 'a123456789']);
    const result = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: {}, prompter }), host });
    expect(prompter.asked).toEqual(['National ID of the user who downloaded it (the password):', 'That ID does not open it. National ID of the user who downloaded it:']);
    expect(result.files).toHaveLength(3);
    // the log names the IDs masked only
    const log = JSON.stringify(host.messages);
    expect(log).toContain('B12****');
    expect(log).not.toContain(OTHER_ID);
    expect(log).not.toContain(USER_ID);
  });

  it('gives up after three wrong IDs with "wrong password" (exit 4), writing nothing', async () => {
    const zip = await encryptedDownload();
    const prompter = scriptedPrompter([OTHER_ID, OTHER_ID, OTHER_ID]);
    const err = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: {}, prompter }) }).catch((e: LabupError) => e);
    expect(err).toMatchObject({ code: 'DECRYPT_WRONG_PASSWORD', exitCode: 4 });
    expect((err as LabupError).message).toContain('B12****');
    expect(prompter.asked).toHaveLength(3);
    expect(s.tree()).toEqual(['download.zip']);
  });

  it('does not ask twice when the ID came from LABUP_USER_ID', async () => {
    const zip = await encryptedDownload('aes256');
    const prompter = scriptedPrompter([]);
    const err = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: { LABUP_USER_ID: OTHER_ID.toLowerCase() }, prompter }) }).catch((e: LabupError) => e);
    expect(err).toMatchObject({ code: 'DECRYPT_WRONG_PASSWORD' });
    expect((err as LabupError).message).toContain('from LABUP_USER_ID');
    expect(prompter.asked).toEqual([]);
  });

  it('does not ask for an ID when nothing is encrypted, and extracts beside the ZIP by default', async () => {
    const zip = s.write('plain.zip', buildZip([{ name: CHECK_FILE, data: CONTENT }]));
    const result = await decryptArchive(zip, { userId: userIdAsker({ env: {}, prompter: nonInteractivePrompter }) });
    expect(result).toMatchObject({ encryption: 'none', passwordSource: null, outDir: s.root });
    expect(s.tree()).toEqual([CHECK_FILE, 'plain.zip']);
  });

  it('refuses a hostile archive before asking anyone for their ID', async () => {
    const zip = s.write('hostile.zip', buildZip([{ name: '../evil.txt', data: 'x', zipCrypto: { password: USER_ID } }]));
    const prompter = scriptedPrompter([]);
    const err = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: {}, prompter }) }).catch((e: LabupError) => e);
    expect(err).toMatchObject({ code: 'ZIP_UNSAFE_ENTRY' });
    expect(prompter.asked).toEqual([]);
    expect(s.tree()).toEqual(['hostile.zip']);
  });

  it('without a terminal or an ID source, fails at once with exit 2', async () => {
    const zip = await encryptedDownload();
    const err = await decryptArchive(zip, { outDir: s.path('out'), userId: userIdAsker({ env: {}, prompter: nonInteractivePrompter }) }).catch((e: LabupError) => e);
    expect(err).toBeInstanceOf(LabupError);
    expect(err).toMatchObject({ code: 'USER_ID_MISSING', exitCode: 2 });
  });

  it('resolves a relative file and folder against cwd', async () => {
    await encryptedDownload();
    const result = await decryptArchive('download.zip', { cwd: s.root, outDir: 'out', userId: userIdAsker({ env: { LABUP_USER_ID: USER_ID }, prompter: nonInteractivePrompter }) });
    expect(result.file).toBe('download.zip');
    expect(result.files[0]!.path).toBe(s.path('out', CHECK_FILE));
  });
});
