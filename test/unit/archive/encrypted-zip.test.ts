import { describe, expect, it } from 'vitest';
import { LabupError } from '../../../src/errors.js';
import { createZip } from '../../../src/archive/encrypted-zip.js';
import { readZipDirectory } from '../../../src/archive/zip-reader.js';
import { scratch } from './scratch.js';

const data = new TextEncoder().encode('檢核正確\n'.repeat(50));

describe('createZip', () => {
  it('writes a plain archive the strict reader accepts, with the given time', async () => {
    // given a check file and a fixed clock
    const at = new Date('2026-11-25T12:00:00Z');
    const s = scratch();
    try {
      // when it is zipped without a password
      const zip = s.write('plain.zip', await createZip([{ name: '1300_1151125000001.msg.txt', data }], { lastModified: at }));
      // then labup's own strict reader sees one deflated, unencrypted entry of the right size
      const dir = await readZipDirectory(zip);
      expect(dir.entries.map((e) => [e.name, e.method, e.encrypted, e.size])).toEqual([['1300_1151125000001.msg.txt', 8, false, data.length]]);
    } finally {
      s.remove();
    }
  });

  it('encrypts with ZipCrypto by default and with AES on request; level 0 stores', async () => {
    const s = scratch();
    try {
      const zc = s.write('zc.zip', await createZip([{ name: 'a.txt', data }], { password: 'A123456789' }));
      const aes = s.write('aes.zip', await createZip([{ name: 'a.txt', data }], { password: 'A123456789', encryption: 'aes256' }));
      const stored = s.write('stored.zip', await createZip([{ name: 'a.txt', data }], { level: 0 }));
      expect((await readZipDirectory(zc)).entries[0]).toMatchObject({ encrypted: true, aes: false, method: 8 });
      expect((await readZipDirectory(aes)).entries[0]).toMatchObject({ encrypted: true, aes: true, method: 99 });
      expect((await readZipDirectory(stored)).entries[0]).toMatchObject({ encrypted: false, method: 0, compressedSize: data.length });
    } finally {
      s.remove();
    }
  });

  it.each([['../a.txt'], ['/a.txt'], ['C:/a.txt'], ['a\\b.txt'], ['dir/']])('refuses the entry name %j', async (name) => {
    await expect(createZip([{ name, data }])).rejects.toBeInstanceOf(LabupError);
  });

  it('refuses two entries that would be one file, a bad level and an empty password', async () => {
    await expect(createZip([{ name: 'A.txt', data }, { name: 'a.txt', data }])).rejects.toMatchObject({ code: 'ZIP_BAD_ENTRY_NAME' });
    await expect(createZip([{ name: 'a.txt', data }], { level: 12 })).rejects.toMatchObject({ code: 'ZIP_BAD_OPTION' });
    await expect(createZip([{ name: 'a.txt', data }], { password: '' })).rejects.toMatchObject({ code: 'ZIP_BAD_OPTION' });
  });
});
