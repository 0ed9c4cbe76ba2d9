/**
 * Builds ZIP archives byte by byte, for tests that need archives no well-behaved tool would write:
 * names that climb out of a folder, symbolic links, sizes that lie, CRCs that do not match, and
 * ZipCrypto with a fixed header (so whether a wrong password passes the one-byte check is known).
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface RawEntry {
  name: string;
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default). */
  method?: 0 | 8;
  /** Unix mode stored in the external attributes (e.g. 0o120777 for a symbolic link). */
  unixMode?: number;
  /** Overrides the uncompressed size written in both headers. */
  declaredSize?: number;
  /** Overrides the CRC-32 written in both headers. */
  crc?: number;
  /** The entry's bytes as stored, already compressed by `method` (e.g. a hand-made deflate stream); `data` is then ignored. */
  stored?: Uint8Array;
  /** Encrypts with ZipCrypto; `header` fixes the 11 random bytes (default: zeros). */
  zipCrypto?: { password: string; header?: Uint8Array };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const crcByte = (crc: number, b: number) => (CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8)) >>> 0;

/** Traditional PKWARE encryption (APPNOTE 6.1), written out so tests control every byte. */
class ZipCryptoKeys {
  private k0 = 0x12345678;
  private k1 = 0x23456789;
  private k2 = 0x34567890;
  constructor(password: string) {
    for (const b of Buffer.from(password, 'utf8')) this.update(b);
  }
  private update(b: number): void {
    this.k0 = crcByte(this.k0, b);
    this.k1 = (Math.imul((this.k1 + (this.k0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    this.k2 = crcByte(this.k2, this.k1 >>> 24);
  }
  private streamByte(): number {
    const t = (this.k2 | 2) & 0xffff;
    return (Math.imul(t, t ^ 1) >>> 8) & 0xff;
  }
  encrypt(plain: Uint8Array): Buffer {
    const out = Buffer.alloc(plain.length);
    for (let i = 0; i < plain.length; i++) {
      out[i] = plain[i]! ^ this.streamByte();
      this.update(plain[i]!);
    }
    return out;
  }
  decrypt(cipher: Uint8Array): Buffer {
    const out = Buffer.alloc(cipher.length);
    for (let i = 0; i < cipher.length; i++) {
      out[i] = cipher[i]! ^ this.streamByte();
      this.update(out[i]!);
    }
    return out;
  }
}

/** True when `password` passes the one-byte check of an entry built with `zipCrypto: { password: right, header }`. */
export function zipCryptoCheckPasses(right: string, header: Uint8Array, crc: number, password: string): boolean {
  const plainHeader = Buffer.concat([Buffer.from(header.subarray(0, 11)), Buffer.from([crc >>> 24])]);
  const encrypted = new ZipCryptoKeys(right).encrypt(plainHeader);
  return new ZipCryptoKeys(password).decrypt(encrypted)[11] === crc >>> 24;
}

export function buildZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data ?? new Uint8Array());
    const method = e.method ?? 8;
    let body: Buffer = e.stored ? Buffer.from(e.stored) : method === 8 ? deflateRawSync(data) : data;
    const crc = e.crc ?? crc32(data);
    let flags = /[^\x20-\x7e]/.test(e.name) ? 0x800 : 0;
    if (e.zipCrypto) {
      flags |= 1;
      const header = Buffer.concat([Buffer.from(e.zipCrypto.header ?? new Uint8Array(11)).subarray(0, 11), Buffer.from([crc >>> 24])]);
      body = new ZipCryptoKeys(e.zipCrypto.password).encrypt(Buffer.concat([header, body]));
    }
    const size = e.declaredSize ?? data.length;
    const time = (12 << 11) | (0 << 5);
    const date = ((2026 - 1980) << 9) | (11 << 5) | 25;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.unixMode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : e.name.endsWith('/') ? 0x10 : 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
