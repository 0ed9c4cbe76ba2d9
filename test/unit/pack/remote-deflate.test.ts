import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { ZipWriter } from '../../../src/archive/zip-writer.js';
import { readEntry, readZipDirectory } from '../../../src/archive/zip-reader.js';
import { DeflateService, isDeflateRequest, remoteDeflate, type DeflateReply } from '../../../src/archive/remote-deflate.js';

let dir: string;
let ports: MessagePort[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labup-rdeflate-'));
});
afterEach(() => {
  for (const p of ports) p.close();
  ports = [];
  rmSync(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** A producer's port, and the service answering at the other end (as pack's worker and its parent). */
function channel(): { port: MessagePort; service: DeflateService; requests: string[] } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const service = new DeflateService();
  const requests: string[] = [];
  port2.on('message', (m: object) => {
    if (!isDeflateRequest(m)) return;
    requests.push(m.deflate);
    service.handle(m, (r: DeflateReply) => port2.postMessage(r));
  });
  return { port: port1, service, requests };
}

describe('remoteDeflate / DeflateService', () => {
  it('compresses in the other thread into the same file: an archive every reader accepts, byte for byte the input', async () => {
    // given XML-like text handed over in shared memory and in ordinary buffers, in uneven pieces
    const { port, requests } = channel();
    const path = join(dir, 'TOTFA.zip');
    const text = Buffer.from('  <hdata>\n    <h1>1</h1>\n  </hdata>\n'.repeat(90_000));
    const zip = await ZipWriter.create(path, { compressor: remoteDeflate(port) });
    const entry = await zip.addEntry('TOTFA.xml');
    let released = 0;
    for (let i = 0, k = 0; i < text.length; i += 300_001, k++) {
      const piece = text.subarray(i, i + 300_001);
      const chunk = k % 2 === 0 ? Buffer.from(new SharedArrayBuffer(piece.length)) : Buffer.from(piece);
      piece.copy(chunk);
      await entry.write(chunk, () => released++);
    }
    const info = await entry.end();
    const size = await zip.close();
    // then the entry reads back exactly, with the CRC and sizes in both headers
    expect(info).toEqual({ name: 'TOTFA.xml', crc32: crc32(text) >>> 0, size: text.length, compressedSize: expect.any(Number) });
    expect(readFileSync(path).length).toBe(size);
    const d = await readZipDirectory(path);
    expect(d.entries[0]).toMatchObject({ name: 'TOTFA.xml', size: text.length, crc32: crc32(text) >>> 0 });
    expect((await collect(readEntry(d, d.entries[0]!))).equals(text)).toBe(true);
    expect(readFileSync(path).readUInt32LE(18)).toBe(info.compressedSize);
    // and every piece was given back, and the work went through the service
    expect(released).toBe(Math.ceil(text.length / 300_001));
    expect(requests[0]).toBe('open');
    expect(requests.at(-1)).toBe('end');
  });

  it('brings the service’s failure back as the same coded error', async () => {
    // given a compressed entry that may not pass 10,000 bytes of the file
    const { port } = channel();
    await (await ZipWriter.create(join(dir, 'big.zip'))).close();
    const compressor = remoteDeflate(port)({ path: join(dir, 'big.zip'), offset: 0, level: 6, limit: 10_000 });
    // when incompressible bytes go on past it
    const writing = (async () => {
      for (let i = 0; i < 8; i++) await compressor.write(randomBytes(256 * 1024));
      await compressor.end();
    })();
    // then the service's refusal arrives as the coded error the writer itself would raise
    await expect(writing).rejects.toMatchObject({ code: 'ZIP_TOO_LARGE', message: expect.stringMatching(/needs ZIP64/) });
  });

  it('abort() stops the other side and the archive is removed', async () => {
    const { port } = channel();
    const path = join(dir, 'gone.zip');
    const zip = await ZipWriter.create(path, { compressor: remoteDeflate(port) });
    const entry = await zip.addEntry('gone.xml');
    await entry.write(Buffer.from('<patient>\n'.repeat(10_000)));
    await zip.abort();
    expect(existsSync(path)).toBe(false);
  });

  it('names the archive when the service cannot open it', async () => {
    const { port } = channel();
    const compressor = remoteDeflate(port)({ path: join(dir, 'missing', 'x.zip'), offset: 0, level: 6, limit: 1 << 30 });
    await expect(compressor.write(Buffer.from('abc'))).rejects.toMatchObject({ message: expect.stringContaining('x.zip') });
  });
});
