import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ZipWriter } from '../../../src/archive/zip-writer.js';
import { readEntry, readZipDirectory } from '../../../src/archive/zip-reader.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-zipw-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('ZipWriter', () => {
  it('writes a deflate entry whose local header is patched with the CRC and sizes', async () => {
    // given 3 MB of text written in uneven chunks
    const path = join(dir, 'TOTFA.zip');
    const text = Buffer.from('<hdata><h1>1</h1></hdata>\n'.repeat(120_000));
    const zip = await ZipWriter.create(path);
    const entry = await zip.addEntry('TOTFA.xml', { mtime: { year: 2026, month: 11, day: 25, hour: 21, minute: 0, second: 6 } });
    for (let i = 0; i < text.length; i += 70_001) await entry.write(text.subarray(i, i + 70_001));
    const info = await entry.end();
    const size = await zip.close();
    // then the archive is exactly that size, mode 0600, and reads back with labup's strict reader
    expect(statSync(path).size).toBe(size);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(info).toEqual({ name: 'TOTFA.xml', crc32: crc32(text) >>> 0, size: text.length, compressedSize: expect.any(Number) });
    const d = await readZipDirectory(path);
    expect(d.entries).toHaveLength(1);
    expect(d.entries[0]).toMatchObject({ name: 'TOTFA.xml', method: 8, encrypted: false, size: text.length, crc32: crc32(text) >>> 0 });
    expect(d.entries[0]!.lastModified.getFullYear()).toBe(2026);
    expect((await collect(readEntry(d, d.entries[0]!))).equals(text)).toBe(true);
    // and the local header carries the same CRC and sizes as the central directory (no data descriptor)
    const raw = readFileSync(path);
    expect(raw.readUInt16LE(6) & 0x08).toBe(0);
    expect(raw.readUInt32LE(14)).toBe(crc32(text) >>> 0);
    expect(raw.readUInt32LE(18)).toBe(info.compressedSize);
    expect(raw.readUInt32LE(22)).toBe(text.length);
  });

  it('writes several entries and incompressible data', async () => {
    const path = join(dir, 'two.zip');
    const a = randomBytes(300_000);
    const b = Buffer.from('second');
    const zip = await ZipWriter.create(path);
    for (const [name, data] of [['a.bin', a], ['b.txt', b]] as const) {
      const e = await zip.addEntry(name);
      await e.write(data);
      await e.end();
    }
    await zip.close();
    const d = await readZipDirectory(path);
    expect(d.entries.map((e) => e.name)).toEqual(['a.bin', 'b.txt']);
    expect((await collect(readEntry(d, d.entries[0]!))).equals(a)).toBe(true);
    expect(await collect(readEntry(d, d.entries[1]!))).toEqual(b);
  });

  it('refuses to overwrite an existing file (it writes fresh temp files)', async () => {
    const path = join(dir, 'x.zip');
    await (await ZipWriter.create(path)).close();
    await expect(ZipWriter.create(path)).rejects.toThrow(/cannot create/);
  });

  it('refuses clearly what would need ZIP64, and abort() leaves no file', async () => {
    // given a writer whose limit stands in for 4 GiB
    const path = join(dir, 'big.zip');
    const zip = await ZipWriter.create(path, { limit: 10_000 });
    const e = await zip.addEntry('big.xml');
    // when more than the limit is written
    const writing = (async () => {
      for (let i = 0; i < 20; i++) await e.write(randomBytes(1000));
      await e.end();
    })();
    // then a coded usage error says why, and abort removes the partial file
    await expect(writing).rejects.toMatchObject({ code: 'ZIP_TOO_LARGE', message: expect.stringMatching(/4 GiB, which needs ZIP64/) });
    await zip.abort();
    expect(existsSync(path)).toBe(false);
  });
});
