import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, statSync, symlinkSync, mkdirSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { LabupError } from '../../../src/errors.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { createZip } from '../../../src/archive/encrypted-zip.js';
import { extractArchive, openArchive, readArchiveEntry, archiveEntryChunks, checkArchivePassword } from '../../../src/archive/extract.js';
import { buildZip, zipCryptoCheckPasses } from './zip-bytes.js';
import { scratch, type Scratch } from './scratch.js';

const USER_ID = 'A123456789';
const OTHER_ID = completePersonId('B12345678');
const CHECK_FILE = '1300_1151125000001.msg.txt';
const CHECK_TEXT = 'hdata 1 rdata 1 h9 02 身分證號檢查碼錯誤\n';

async function refusal(p: Promise<unknown>): Promise<LabupError> {
  const err = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabupError);
  return err as LabupError;
}

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.remove());

describe('openArchive lists without extracting', () => {
  it('reports names, sizes, encryption, method, folders and links', async () => {
    // given an archive with a folder, a deflated file, a stored file and a symbolic link
    const zip = s.write(
      'mixed.zip',
      buildZip([
        { name: 'reports/' , method: 0 },
        { name: 'reports/a.txt', data: 'x'.repeat(1000) },
        { name: 'b.txt', data: 'hello', method: 0 },
        { name: 'link', data: '/etc/passwd', method: 0, unixMode: 0o120777 },
      ]),
    );
    // when it is listed
    const listing = await openArchive(zip);
    // then every entry is described, and nothing was written
    expect(listing.encrypted).toBe(false);
    expect(listing.encryption).toBe('none');
    expect(listing.entries.map((e) => [e.name, e.size, e.method, e.directory, e.symlink, e.encryption])).toEqual([
      ['reports/', 0, 0, true, false, 'none'],
      ['reports/a.txt', 1000, 8, false, false, 'none'],
      ['b.txt', 5, 0, false, false, 'none'],
      ['link', 11, 0, false, true, 'none'],
    ]);
    expect(listing.entries[1]!.compressedSize).toBeLessThan(100);
    expect(s.tree()).toEqual(['mixed.zip']);
  });

  it('tells ZipCrypto from AES-256', async () => {
    const data = new TextEncoder().encode(CHECK_TEXT);
    const zc = s.write('zc.zip', await createZip([{ name: CHECK_FILE, data }], { password: USER_ID }));
    const aes = s.write('aes.zip', await createZip([{ name: CHECK_FILE, data }], { password: USER_ID, encryption: 'aes256' }));
    expect((await openArchive(zc)).encryption).toBe('zipcrypto');
    expect((await openArchive(aes)).encryption).toBe('aes256');
    expect((await openArchive(aes)).entries[0]).toMatchObject({ name: CHECK_FILE, encrypted: true, method: 8, size: data.length });
  });

  it('names a file that is not a ZIP, a truncated one and a missing one with distinct codes', async () => {
    const good = buildZip([{ name: 'a.txt', data: 'hello world' }]);
    const notZip = s.write('report.zip', 'this is a text file with a .zip name\n');
    const truncated = s.write('cut.zip', good.subarray(0, good.length - 10));
    expect((await refusal(openArchive(notZip))).code).toBe('ZIP_DAMAGED');
    const cut = await refusal(openArchive(truncated));
    expect(cut.code).toBe('ZIP_DAMAGED');
    expect(cut.exitCode).toBe(2);
    expect(cut.message).toContain('cut.zip');
    expect((await refusal(openArchive(s.path('absent.zip')))).code).toBe('FILE_NOT_FOUND');
  });
});

describe('extractArchive refuses hostile archives and writes nothing', () => {
  const escaping: Array<[string, string]> = [
    ['../evil.txt', 'parent-segment'],
    ['reports/../../evil.txt', 'parent-segment'],
    ['/tmp/labup-evil.txt', 'absolute'],
    ['C:/evil.txt', 'drive-letter'],
    ['C:evil.txt', 'drive-letter'],
    ['..\\evil.txt', 'backslash'],
    ['\\evil.txt', 'absolute'],
  ];
  it.each(escaping)('refuses the entry %s (%s)', async (name, reason) => {
    // given an archive whose second entry tries to leave the output folder
    const zip = s.write('hostile.zip', buildZip([{ name: 'fine.txt', data: 'fine' }, { name, data: 'owned' }]));
    // when it is extracted into out/
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    // then it is refused by name and reason, and not even the harmless file or the folder exists
    expect(err.code).toBe('ZIP_UNSAFE_ENTRY');
    expect(err.exitCode).toBe(2);
    expect(err.details).toMatchObject({ reason });
    expect(s.tree()).toEqual(['hostile.zip']);
  });

  it('refuses a symbolic link entry', async () => {
    const zip = s.write('link.zip', buildZip([{ name: 'passwd', data: '/etc/passwd', method: 0, unixMode: 0o120777 }, { name: 'passwd2', data: 'x' }]));
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('ZIP_SYMLINK');
    expect(err.message).toContain('passwd');
    expect(s.tree()).toEqual(['link.zip']);
  });

  it('refuses a zip bomb by the sizes it declares, before inflating anything', async () => {
    // given 64 MiB of zeros deflated to about 64 KiB (a 1000× expansion)
    const zip = s.write('bomb.zip', buildZip([{ name: 'zeros.xml', data: new Uint8Array(64 * 1024 ** 2) }]));
    expect(statSync(zip).size).toBeLessThan(200_000);
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('ZIP_TOO_LARGE');
    expect(err.message).toMatch(/would expand \d+× \(limit 200×\)/);
    expect(s.tree()).toEqual(['bomb.zip']);
  });

  it('refuses content past the size limits even at a harmless ratio', async () => {
    const zip = s.write('big.zip', buildZip([{ name: 'a.bin', data: new Uint8Array(5000), method: 0 }, { name: 'b.bin', data: new Uint8Array(5000), method: 0 }]));
    expect((await refusal(extractArchive(zip, { outDir: s.path('out'), limits: { maxEntryBytes: 4096 } }))).code).toBe('ZIP_TOO_LARGE');
    expect((await refusal(extractArchive(zip, { outDir: s.path('out'), limits: { maxTotalBytes: 8000 } }))).message).toMatch(/in total/);
    expect(s.tree()).toEqual(['big.zip']);
  });

  it('catches a header that lies about the size while inflating, and removes what it wrote', async () => {
    // given a bomb whose headers declare 1,000 bytes for 32 MiB of content
    const zip = s.write('liar.zip', buildZip([{ name: 'ok.txt', data: 'fine' }, { name: 'small.txt', data: new Uint8Array(32 * 1024 ** 2), declaredSize: 1000 }]));
    // when extracted
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    // then the lie is named, and neither the first file, its temporary file nor the folder remains
    expect(err.code).toBe('ZIP_DAMAGED');
    expect(err.message).toMatch(/small\.txt.*longer than the 1000 bytes its header declares/);
    expect(s.tree()).toEqual(['liar.zip']);
  });

  it('catches content shorter than its header declares', async () => {
    const zip = s.write('short.zip', buildZip([{ name: 'a.txt', data: 'only this', declaredSize: 500 }]));
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('ZIP_DAMAGED');
    expect(err.message).toContain('a.txt');
    expect(s.tree()).toEqual(['short.zip']);
  });

  it('refuses an archive with more entries than the limit', async () => {
    const entries = Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}.txt`, data: 'x', method: 0 as const }));
    const zip = s.write('crowd.zip', buildZip(entries));
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('ZIP_TOO_MANY_ENTRIES');
    expect(err.message).toContain('more than 1000');
    expect((await refusal(extractArchive(zip, { outDir: s.path('out'), limits: { maxEntries: 10 } }))).message).toContain('more than 10');
    expect(s.tree()).toEqual(['crowd.zip']);
  });

  it('refuses entries that share their data (an overlapping-entry bomb)', async () => {
    // given two directory records pointing at the same local header and data
    const one = buildZip([{ name: 'a.txt', data: 'x'.repeat(5000) }]);
    const cdStart = one.readUInt32LE(one.length - 6);
    const cdRecord = one.subarray(cdStart, one.length - 22);
    const second = Buffer.from(cdRecord);
    second.write('b', 46, 'latin1');
    const eocd = Buffer.from(one.subarray(one.length - 22));
    eocd.writeUInt16LE(2, 8);
    eocd.writeUInt16LE(2, 10);
    eocd.writeUInt32LE(cdRecord.length * 2, 12);
    const zip = s.write('overlap.zip', Buffer.concat([one.subarray(0, cdStart), cdRecord, second, eocd]));
    // when extracted, then refused as crafted, with nothing written
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('ZIP_DAMAGED');
    expect(err.message).toMatch(/overlap/);
    expect(s.tree()).toEqual(['overlap.zip']);
  });

  it('refuses names that would be the same file on Windows or macOS', async () => {
    const zip = s.write('case.zip', buildZip([{ name: 'Report.txt', data: 'a' }, { name: 'report.TXT', data: 'b' }]));
    expect((await refusal(extractArchive(zip, { outDir: s.path('out') }))).code).toBe('ZIP_DUPLICATE_ENTRY');
    const both = s.write('both.zip', buildZip([{ name: 'a', data: 'file' }, { name: 'a/b.txt', data: 'inside' }]));
    expect((await refusal(extractArchive(both, { outDir: s.path('out') }))).code).toBe('ZIP_DUPLICATE_ENTRY');
    expect(s.tree()).toEqual(['both.zip', 'case.zip']);
  });

  it('does not follow a link already in the output folder out of it', async () => {
    // given an output folder holding a link to a folder elsewhere
    mkdirSync(s.path('elsewhere'));
    mkdirSync(s.path('out'));
    symlinkSync(s.path('elsewhere'), s.path('out', 'sub'));
    const zip = s.write('via-link.zip', buildZip([{ name: 'sub/planted.txt', data: 'owned' }]));
    // when an entry is extracted through it
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    // then it is refused and nothing lands in the link's target
    expect(err.code).toBe('OUTPUT_CONFLICT');
    expect(s.tree()).toEqual(['elsewhere/', 'out/', 'out/sub@', 'via-link.zip']);
  });
});

describe('extractArchive writes atomically, mode 0600', () => {
  it('extracts files and folders, each file 0600, and reports what it wrote', async () => {
    const zip = s.write('ok.zip', buildZip([{ name: 'a.txt', data: 'alpha' }, { name: 'sub/', method: 0 }, { name: 'sub/b.txt', data: 'beta' }]));
    const result = await extractArchive(zip, { outDir: s.path('out') });
    expect(result.files).toEqual([
      { name: 'a.txt', path: s.path('out', 'a.txt'), bytes: 5, replaced: false },
      { name: 'sub/b.txt', path: s.path('out', 'sub', 'b.txt'), bytes: 4, replaced: false },
    ]);
    expect(result.totalBytes).toBe(9);
    expect(result.encryption).toBe('none');
    expect(readFileSync(s.path('out', 'sub', 'b.txt'), 'utf8')).toBe('beta');
    expect(statSync(s.path('out', 'a.txt')).mode & 0o777).toBe(0o600);
    expect(statSync(s.path('out', 'sub', 'b.txt')).mode & 0o777).toBe(0o600);
    expect(s.tree()).toEqual(['ok.zip', 'out/', 'out/a.txt', 'out/sub/', 'out/sub/b.txt']);
  });

  it('replaces an older file of the same name, and tightens its mode', async () => {
    mkdirSync(s.path('out'));
    s.write('out/a.txt', 'old content');
    chmodSync(s.path('out', 'a.txt'), 0o644);
    const zip = s.write('ok.zip', buildZip([{ name: 'a.txt', data: 'new' }]));
    const result = await extractArchive(zip, { outDir: s.path('out') });
    expect(result.files[0]).toMatchObject({ replaced: true, bytes: 3 });
    expect(readFileSync(s.path('out', 'a.txt'), 'utf8')).toBe('new');
    expect(statSync(s.path('out', 'a.txt')).mode & 0o777).toBe(0o600);
  });

  it('leaves nothing under a final name when a later entry is damaged', async () => {
    // given an archive whose first entry is sound and whose second (3 MiB, stored) fails its CRC-32 at the very end
    const big = new Uint8Array(3 * 1024 ** 2).map((_, i) => (i * 7) & 0xff);
    const zip = s.write('bad-crc.zip', buildZip([{ name: 'first.txt', data: 'sound' }, { name: 'second.bin', data: big, method: 0, crc: (crc32(big) ^ 1) >>> 0 }]));
    mkdirSync(s.path('out'));
    // when extracted into an existing folder
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    // then it is damaged, and the folder is as it was: no final file, no temporary file
    expect(err.code).toBe('ZIP_DAMAGED');
    expect(err.message).toMatch(/second\.bin.*CRC-32/);
    expect(s.tree()).toEqual(['bad-crc.zip', 'out/']);
  });

  it('writes only the content to a sink, and nothing at all when a later entry is refused', async () => {
    const chunks: Uint8Array[] = [];
    const sink = (c: Uint8Array) => void chunks.push(c);
    const ok = s.write('ok.zip', buildZip([{ name: 'a.txt', data: 'alpha\n' }, { name: 'b.txt', data: 'beta\n' }]));
    const result = await extractArchive(ok, { toStdout: sink });
    expect(Buffer.concat(chunks).toString()).toBe('alpha\nbeta\n');
    expect(result.files.map((f) => [f.name, f.path, f.bytes])).toEqual([
      ['a.txt', null, 6],
      ['b.txt', null, 5],
    ]);
    chunks.length = 0;
    const bad = s.write('bad.zip', buildZip([{ name: 'a.txt', data: 'alpha\n' }, { name: 'b.txt', data: 'beta\n', crc: 1 }]));
    expect((await refusal(extractArchive(bad, { toStdout: sink }))).code).toBe('ZIP_DAMAGED');
    expect(chunks).toEqual([]);
  });
});

describe('encrypted archives', () => {
  const data = new TextEncoder().encode(CHECK_TEXT.repeat(20));

  it.each(['zipcrypto', 'aes256'] as const)('opens what createZip encrypts with %s', async (encryption) => {
    const zip = s.write('check.zip', await createZip([{ name: CHECK_FILE, data }], { password: USER_ID, encryption }));
    const result = await extractArchive(zip, { outDir: s.path('out'), password: USER_ID });
    expect(result.encryption).toBe(encryption);
    expect(readFileSync(s.path('out', CHECK_FILE))).toEqual(Buffer.from(data));
    expect(await readArchiveEntry(zip, CHECK_FILE, { password: USER_ID })).toEqual(Buffer.from(data));
  });

  it('says "wrong password" (exit 4) when the ID fails the password check', async () => {
    // given a ZipCrypto entry with a fixed header, and an ID known to fail its one-byte check
    const header = Buffer.from('labup-test!');
    const crc = crc32(data);
    expect(zipCryptoCheckPasses(USER_ID, header, crc, OTHER_ID)).toBe(false);
    const zip = s.write('check.zip', buildZip([{ name: CHECK_FILE, data, zipCrypto: { password: USER_ID, header } }]));
    // when extracted with the other ID
    const err = await refusal(extractArchive(zip, { outDir: s.path('out'), password: OTHER_ID }));
    // then it is a wrong password, not a damaged file, and the password is nowhere in the message
    expect(err.code).toBe('DECRYPT_WRONG_PASSWORD');
    expect(err.exitCode).toBe(4);
    expect(JSON.stringify(err.toJSON())).not.toContain(OTHER_ID);
    expect(await checkArchivePassword(zip, OTHER_ID)).toBe(false);
    expect(await checkArchivePassword(zip, USER_ID)).toBe(true);
    expect(s.tree()).toEqual(['check.zip']);
  });

  it('catches a wrong ID that slips past one entry’s check with the next entry’s check', async () => {
    // given two entries; the wrong ID passes the first one's one-byte check but not the second's
    const crc = crc32(data);
    let header1: Buffer | undefined;
    for (let i = 0; !header1; i++) {
      const h = Buffer.from(`hdr-${String(i).padStart(7, '0')}`);
      if (zipCryptoCheckPasses(USER_ID, h, crc, OTHER_ID)) header1 = h;
    }
    const header2 = Buffer.from('labup-test!');
    expect(zipCryptoCheckPasses(USER_ID, header2, crc, OTHER_ID)).toBe(false);
    const zip = s.write('two.zip', buildZip([
      { name: 'a.txt', data, zipCrypto: { password: USER_ID, header: header1 } },
      { name: 'b.txt', data, zipCrypto: { password: USER_ID, header: header2 } },
    ]));
    expect((await refusal(extractArchive(zip, { outDir: s.path('out'), password: OTHER_ID }))).code).toBe('DECRYPT_WRONG_PASSWORD');
  });

  it('finds a wrong ID that passes ZipCrypto’s one-byte check (1 in 256): the entry decrypted in full fails its CRC-32', async () => {
    // given a single entry whose one-byte check the wrong ID happens to pass
    const crc = crc32(data);
    let header: Buffer | undefined;
    for (let i = 0; !header; i++) {
      const h = Buffer.from(`hdr-${String(i).padStart(7, '0')}`);
      if (zipCryptoCheckPasses(USER_ID, h, crc, OTHER_ID)) header = h;
    }
    const zip = s.write('one.zip', buildZip([{ name: CHECK_FILE, data, zipCrypto: { password: USER_ID, header } }]));
    // then the wrong ID is refused as such, the right one opens it, and nothing was written on the way
    expect(await checkArchivePassword(zip, OTHER_ID)).toBe(false);
    expect(await checkArchivePassword(zip, USER_ID)).toBe(true);
    const err = await refusal(extractArchive(zip, { outDir: s.path('out'), password: OTHER_ID }));
    expect(err.code).toBe('DECRYPT_WRONG_PASSWORD');
    expect(s.tree()).toEqual(['one.zip']);
    await extractArchive(zip, { outDir: s.path('out'), password: USER_ID });
    expect(readFileSync(s.path('out', CHECK_FILE))).toEqual(Buffer.from(data));
  });

  it('cannot tell a damaged ZipCrypto entry from a wrong ID, and says so: download it again', async () => {
    // given an entry whose content no longer matches its CRC-32 (the check byte, taken from the CRC, still passes)
    const zip = s.write('bad.zip', buildZip([{ name: CHECK_FILE, data, crc: (crc32(data) ^ 0x5a5a) >>> 0, zipCrypto: { password: USER_ID } }]));
    // when it is opened with the right ID
    const err = await refusal(extractArchive(zip, { outDir: s.path('out'), password: USER_ID }));
    // then it is refused with the hint that covers both
    expect(err.code).toBe('DECRYPT_WRONG_PASSWORD');
    expect(err.hint).toMatch(/damaged: download it again/);
    expect(s.tree()).toEqual(['bad.zip']);
  });

  it('calls a damaged AES entry damaged, not a wrong password', async () => {
    const bytes = Buffer.from(await createZip([{ name: CHECK_FILE, data }], { password: USER_ID, encryption: 'aes256' }));
    // a byte inside the encrypted content: after the local header, the salt (16) and the password check value (2)
    const dataStart = 30 + bytes.readUInt16LE(26) + bytes.readUInt16LE(28);
    bytes[dataStart + 16 + 2 + 5]! ^= 0xff;
    const zip = s.write('aes.zip', bytes);
    const err = await refusal(extractArchive(zip, { outDir: s.path('out'), password: USER_ID }));
    expect(err.code).toBe('ZIP_DAMAGED');
    expect(err.message).toMatch(/authentication code/);
    expect(s.tree()).toEqual(['aes.zip']);
  });

  it('asks for a password when one is needed and none was given', async () => {
    const zip = s.write('check.zip', await createZip([{ name: CHECK_FILE, data }], { password: USER_ID }));
    const err = await refusal(extractArchive(zip, { outDir: s.path('out') }));
    expect(err.code).toBe('DECRYPT_PASSWORD_REQUIRED');
    expect((await refusal(readArchiveEntry(zip, CHECK_FILE))).code).toBe('DECRYPT_PASSWORD_REQUIRED');
  });
});

describe('readArchiveEntry', () => {
  it('streams one entry in chunks and checks it whole', async () => {
    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    const zip = s.write('two.zip', await createZip([{ name: 'small.txt', data: new TextEncoder().encode('s') }, { name: 'big.bin', data: big }], { password: USER_ID, encryption: 'aes256' }));
    let chunks = 0;
    let length = 0;
    for await (const c of archiveEntryChunks(zip, 'big.bin', { password: USER_ID })) {
      chunks++;
      length += c.length;
    }
    expect(length).toBe(big.length);
    expect(chunks).toBeGreaterThan(1);
    expect(await readArchiveEntry(zip, 'big.bin', { password: USER_ID })).toEqual(Buffer.from(big));
  });

  it('lets a reader stop early without hanging', async () => {
    const big = new Uint8Array(1_000_000).map((_, i) => i % 253);
    const zip = s.write('big.zip', await createZip([{ name: 'big.bin', data: big }], { password: USER_ID }));
    let seen = 0;
    for await (const c of archiveEntryChunks(zip, 'big.bin', { password: USER_ID })) {
      seen += c.length;
      break;
    }
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(big.length);
    // and the archive reads whole again afterwards
    expect((await readArchiveEntry(zip, 'big.bin', { password: USER_ID })).length).toBe(big.length);
  });

  it('names the files it holds when asked for one it does not', async () => {
    const zip = s.write('a.zip', buildZip([{ name: 'a.txt', data: 'a' }, { name: 'b.txt', data: 'b' }]));
    const err = await refusal(readArchiveEntry(zip, 'c.txt'));
    expect(err.code).toBe('ZIP_ENTRY_NOT_FOUND');
    expect(err.hint).toBe('It holds: a.txt, b.txt.');
  });

  it('stops at the limits while reading', async () => {
    const zip = s.write('a.zip', buildZip([{ name: 'a.bin', data: new Uint8Array(10_000), declaredSize: 100 }]));
    expect((await refusal(readArchiveEntry(zip, 'a.bin'))).code).toBe('ZIP_DAMAGED');
  });
});
