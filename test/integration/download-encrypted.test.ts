import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { record, send, tempDir, testSandbox, uploadZip, type TestSandbox } from './sandbox-support.js';

// Info-ZIP unzip and 7-Zip are required (CI installs unzip and p7zip-full).

describe('downloads: plain, or encrypted with the user’s national ID', () => {
  let t: TestSandbox;
  const dir = tempDir('labup-dl-');
  let fileId: string;
  let name: string;
  beforeAll(async () => {
    t = await testSandbox();
    const r = await send(t.client, await uploadZip(dir.path, 'ENC.zip', [record(1)]));
    await t.processAll();
    const s = await t.client.getSubmission(r.receiptNo);
    fileId = s.files[0]!.id;
    name = s.files[0]!.name;
  });
  afterAll(async () => {
    await t.stop();
    dir.remove();
  });

  const save = async (encrypted: boolean, encryption?: 'zipcrypto' | 'aes256') => {
    const got = await t.client.download(fileId, { encrypted, ...(encryption ? { encryption } : {}) });
    expect(got.fileName).toBe(name.replace('.msg.txt', '.zip'));
    expect(got.contentType).toBe('application/zip');
    const path = join(dir.path, `${encryption ?? 'plain'}-${got.fileName}`);
    writeFileSync(path, got.data);
    return path;
  };

  it('Info-ZIP unzip -P opens the ZipCrypto download with the ID, first letter uppercase', async () => {
    const zip = await save(true);
    const out = join(dir.path, 'unzip-out');
    // wrong passwords fail: another ID, and the right one in lowercase
    expect(spawnSync('unzip', ['-P', 'B123456780', '-o', zip, '-d', out]).status).not.toBe(0);
    expect(spawnSync('unzip', ['-P', 'a123456789', '-o', zip, '-d', out]).status).not.toBe(0);
    execFileSync('unzip', ['-P', 'A123456789', '-o', zip, '-d', out]);
    const text = decodeCp950(readFileSync(join(out, name))).text;
    expect(text).toMatch(/^檢驗\(查\)結果每日上傳檢核結果\r\n收件序號: 1151125000001\r\n/);
  });

  it('7-Zip opens both the ZipCrypto and the AES-256 download', async () => {
    for (const method of ['zipcrypto', 'aes256'] as const) {
      const zip = await save(true, method);
      const out = join(dir.path, `7z-${method}`);
      const listing = execFileSync('7z', ['l', '-slt', '-pA123456789', zip], { encoding: 'utf8' });
      expect(listing).toContain(method === 'aes256' ? 'Method = AES-256' : 'ZipCrypto');
      expect(spawnSync('7z', ['x', '-pWRONG', `-o${out}-bad`, '-y', zip]).status).not.toBe(0);
      execFileSync('7z', ['x', '-pA123456789', `-o${out}`, '-y', zip]);
      expect(decodeCp950(readFileSync(join(out, name))).text).toContain('處理狀態: 檢核正確');
    }
  });

  it('a plain download is a ZIP without a password', async () => {
    const zip = await save(false);
    const out = join(dir.path, 'plain-out');
    execFileSync('unzip', ['-o', zip, '-d', out]);
    expect(decodeCp950(readFileSync(join(out, name))).text).toContain('檢核結果: 全部正確');
  });
});
