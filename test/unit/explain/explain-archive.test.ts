/**
 * explain on the ZIP downloaded from the portal: plain or encrypted with the downloading user's
 * ID (asked for the same way as by `labup decrypt`), read in memory — nothing decrypted is written
 * unless `saveTo` asks for it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createZip } from '../../../src/archive/encrypted-zip.js';
import { userIdAsker } from '../../../src/archive/user-id.js';
import { explain } from '../../../src/explain/explain.js';
import { isLabupError } from '../../../src/errors.js';
import { encodeCp950 } from '../../../src/encoding/cp950.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { recordingHost } from '../../../src/io-host.js';
import { nonInteractivePrompter, scriptedPrompter } from '../../../src/prompts.js';
import { scratch, type Scratch } from '../archive/scratch.js';

const USER_ID = 'A123456789';
const OTHER_ID = completePersonId('B12345678');
const NAME = '1300_1151125000001.msg.txt';
const CHECK = encodeCp950(
  [
    '檢驗(查)結果每日上傳檢核結果',
    '收件序號: 1151125000001',
    '處理狀態: 檢核錯誤',
    '錯誤筆數: 1',
    '',
    '序號\thdata\trdata\t欄位\t錯誤代碼\t錯誤說明\t欄位內容',
    '1\t1\t\th9\t02\t身分證號或居留證號檢查碼錯誤\tA123456788',
  ].join('\r\n') + '\r\n',
);

let s: Scratch;
beforeEach(() => {
  s = scratch('labup-explain-');
});
afterEach(() => s.remove());

async function download(options: { password?: string; encryption?: 'zipcrypto' | 'aes256'; extra?: boolean } = {}): Promise<void> {
  const entries: Array<{ name: string; data: Uint8Array }> = [{ name: NAME, data: CHECK }];
  if (options.extra) entries.push({ name: 'readme.txt', data: new TextEncoder().encode('labup\n') });
  s.write('download.zip', await createZip(entries, { ...(options.password ? { password: options.password } : {}), ...(options.encryption ? { encryption: options.encryption } : {}) }));
}

describe('explain on a downloaded ZIP', () => {
  it.each(['zipcrypto', 'aes256'] as const)('decrypts a %s download in memory with the ID from LABUP_USER_ID, in lowercase', async (encryption) => {
    // given an encrypted download beside a readme
    await download({ password: USER_ID, encryption, extra: true });
    const before = s.tree();
    // when explained with the ID in the environment
    const r = await explain('download.zip', { cwd: s.root, userId: userIdAsker({ env: { LABUP_USER_ID: 'a123456789' }, prompter: nonInteractivePrompter }) });
    // then the check file inside is explained, and nothing was written
    expect(r).toMatchObject({ file: 'download.zip', checkFile: NAME, receiptNo: '1151125000001', status: 'error', archive: { entry: NAME, entries: [NAME, 'readme.txt'], encryption, passwordSource: 'LABUP_USER_ID', saved: null } });
    expect(r.groups[0]!.errors[0]).toMatchObject({ field: 'h9', value: 'A12****788', code: '02' });
    expect(s.tree()).toEqual(before);
  });

  it('asks at the prompt, again after a wrong ID, as decrypt does', async () => {
    await download({ password: USER_ID });
    const prompter = scriptedPrompter([OTHER_ID, 'a123456789']);
    const host = recordingHost();
    const r = await explain('download.zip', { cwd: s.root, userId: userIdAsker({ env: {}, prompter }), host });
    expect(prompter.asked).toHaveLength(2);
    expect(r.archive?.passwordSource).toBe('prompt');
    expect(JSON.stringify(host.messages)).not.toContain(OTHER_ID);
  });

  it('fails with DECRYPT_WRONG_PASSWORD (exit 4) on a wrong ID from the environment', async () => {
    await download({ password: USER_ID });
    const err = await explain('download.zip', { cwd: s.root, userId: userIdAsker({ env: { LABUP_USER_ID: OTHER_ID }, prompter: nonInteractivePrompter }) }).catch((e: unknown) => e);
    expect(isLabupError(err) && [err.code, err.exitCode]).toEqual(['DECRYPT_WRONG_PASSWORD', 4]);
    expect((err as Error).message).not.toContain(OTHER_ID);
  });

  it('fails at once with USER_ID_MISSING when there is no ID and no terminal', async () => {
    await download({ password: USER_ID });
    const err = await explain('download.zip', { cwd: s.root, userId: userIdAsker({ env: {}, prompter: nonInteractivePrompter }) }).catch((e: unknown) => e);
    expect(isLabupError(err) && [err.code, err.exitCode]).toEqual(['USER_ID_MISSING', 2]);
  });

  it('reads a plain download without asking for anything', async () => {
    await download();
    const r = await explain('download.zip', { cwd: s.root });
    expect(r.archive).toMatchObject({ encryption: 'none', passwordSource: null });
    expect(r.counts.listed).toBe(1);
  });

  it('saves the check file when asked, atomically and mode 0600', async () => {
    await download({ password: USER_ID });
    const r = await explain('download.zip', { cwd: s.root, saveTo: 'checks', userId: userIdAsker({ env: { LABUP_USER_ID: USER_ID }, prompter: nonInteractivePrompter }) });
    expect(r.archive?.saved).toBe(s.path('checks', NAME));
    expect(readFileSync(s.path('checks', NAME))).toEqual(Buffer.from(CHECK));
    expect(statSync(s.path('checks', NAME)).mode & 0o777).toBe(0o600);
    expect(s.tree()).toEqual(['checks/', `checks/${NAME}`, 'download.zip']);
  });

  it('names the files when the archive holds no check file, or several', async () => {
    s.write('other.zip', await createZip([{ name: 'a.csv', data: new Uint8Array([1]) }, { name: 'b.csv', data: new Uint8Array([2]) }]));
    const none = await explain('other.zip', { cwd: s.root }).catch((e: unknown) => e);
    expect(isLabupError(none) && none.code).toBe('EXPLAIN_NO_CHECK_FILE');
    expect((none as Error).message).toContain('no check file (*.msg.txt)');
    s.write('two.zip', await createZip([{ name: NAME, data: CHECK }, { name: '1300_1151125000002.msg.txt', data: CHECK }]));
    const two = await explain('two.zip', { cwd: s.root }).catch((e: unknown) => e);
    expect(isLabupError(two) && two.code).toBe('EXPLAIN_ENTRY_AMBIGUOUS');
    const chosen = await explain('two.zip', { cwd: s.root, entry: '1300_1151125000002.msg.txt' });
    expect(chosen.checkFile).toBe('1300_1151125000002.msg.txt');
  });

  it('refuses a hostile download before asking for the ID', async () => {
    // given an archive whose entry climbs out of the folder (written byte by byte: createZip refuses such names)
    const { buildZip } = await import('../archive/zip-bytes.js');
    s.write('evil.zip', buildZip([{ name: '../1300_1.msg.txt', data: CHECK }]));
    const prompter = scriptedPrompter([]);
    const err = await explain('evil.zip', { cwd: s.root, userId: userIdAsker({ env: {}, prompter }) }).catch((e: unknown) => e);
    expect(isLabupError(err) && err.code).toBe('ZIP_UNSAFE_ENTRY');
    expect(prompter.asked).toEqual([]);
  });

  it('gives a coded error, naming the file, for what is not a check file or its download', async () => {
    // given a “ZIP” that is not one, a folder, and a file far larger than any check file (sparse)
    s.write('broken.zip', 'not a zip at all');
    mkdirSync(s.path('folder'));
    writeFileSync(s.path('huge.msg.txt'), '');
    truncateSync(s.path('huge.msg.txt'), 65 * 1024 ** 2);
    const codes = [];
    for (const f of ['broken.zip', 'folder', 'huge.msg.txt', 'missing.msg.txt']) {
      const err = await explain(f, { cwd: s.root }).catch((e: unknown) => e);
      expect(isLabupError(err) && err.exitCode).toBe(2);
      expect((err as Error).message).toContain(f);
      codes.push((err as { code: string }).code);
    }
    expect(codes).toEqual(['ZIP_DAMAGED', 'FILE_IS_DIRECTORY', 'EXPLAIN_CHECK_TOO_LARGE', 'FILE_NOT_FOUND']);
  });
});
