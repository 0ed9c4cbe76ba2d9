/**
 * `labup decrypt`, the real binary, on archives made by the tools people really use (Info-ZIP zip,
 * 7-Zip) and by labup's own createZip, and on hostile archives built with Python's zipfile.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFileSync, statSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { completePersonId } from '../../src/format/national-id.js';
import { encodeCp950 } from '../../src/encoding/cp950.js';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { BIN, labup } from '../helpers/cli.js';
import { scratch, type Scratch } from '../unit/archive/scratch.js';

const USER_ID = 'A123456789';
const OTHER_ID = completePersonId('B12345678');
const CHECK_FILE = '1300_1151125000001.msg.txt';
/** A check file as the portal writes it: Big5 text. */
const CHECK_BYTES = encodeCp950('收件序號 1151125000001 檢核錯誤\r\nhdata 1 rdata 1 h9 02 身分證號檢查碼錯誤\r\n');

let s: Scratch;
beforeEach(() => {
  s = scratch('labup-decrypt-');
});
afterEach(() => s.remove());

/** Runs labup in the scratch folder, with no user config and no ID unless given. */
function run(args: string[], env: Record<string, string> = {}) {
  return labup(args, { cwd: s.root, env: { LABUP_USER_ID: '', XDG_CONFIG_HOME: s.path('.config'), LABUP_HOME: s.path('.labup'), ...env } });
}

/** Writes the check file and two companions into src/, returns their names. */
function sources(): string[] {
  mkdirSync(s.path('src'), { recursive: true });
  writeFileSync(s.path('src', CHECK_FILE), CHECK_BYTES);
  writeFileSync(s.path('src', 'summary.txt'), '1 error\n');
  writeFileSync(s.path('src', 'readme.txt'), 'labup test\n');
  return [CHECK_FILE, 'summary.txt', 'readme.txt'];
}

const makers: Record<string, (zip: string, files: string[]) => Promise<unknown>> = {
  'Info-ZIP zip -P': (zip, files) => execa('zip', ['-q', '-j', '-P', USER_ID, zip, ...files.map((f) => s.path('src', f))]),
  '7z a -mem=ZipCrypto': (zip, files) => execa('7z', ['a', '-tzip', `-p${USER_ID}`, '-mem=ZipCrypto', zip, ...files], { cwd: s.path('src') }),
  '7z a -mem=AES256': (zip, files) => execa('7z', ['a', '-tzip', `-p${USER_ID}`, '-mem=AES256', zip, ...files], { cwd: s.path('src') }),
  'createZip zipcrypto': async (zip, files) =>
    writeFileSync(zip, await createZip(files.map((f) => ({ name: f, data: readFileSync(s.path('src', f)) })), { password: USER_ID })),
  'createZip aes256': async (zip, files) =>
    writeFileSync(zip, await createZip(files.map((f) => ({ name: f, data: readFileSync(s.path('src', f)) })), { password: USER_ID, encryption: 'aes256' })),
};

describe('labup decrypt opens what zip, 7-Zip and createZip encrypt', () => {
  it.each(Object.keys(makers))('%s, with the ID typed in lowercase in LABUP_USER_ID', async (maker) => {
    // given an encrypted download holding a Big5 check file
    const files = sources();
    await makers[maker]!(s.path('download.zip'), files);
    // when it is decrypted with the ID in lowercase
    const r = await run(['decrypt', 'download.zip', '--out', 'out'], { LABUP_USER_ID: USER_ID.toLowerCase() });
    // then every file is there, byte for byte, mode 0600, and the output says so without the ID
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(readFileSync(s.path('out', CHECK_FILE))).toEqual(CHECK_BYTES);
    expect(readFileSync(s.path('out', 'summary.txt'), 'utf8')).toBe('1 error\n');
    expect(statSync(s.path('out', CHECK_FILE)).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`✓ ${CHECK_FILE} → out/${CHECK_FILE} (${CHECK_BYTES.length} bytes)`);
    expect(r.stderr).toMatch(/\((ZipCrypto|AES-256)\): 3 file\(s\)/);
    expect(r.stdout + r.stderr).not.toMatch(/A123456789/i);
  });

  it('prints the JSON result with --json', async () => {
    const files = sources();
    await makers['createZip aes256']!(s.path('download.zip'), files);
    const r = await run(['decrypt', 'download.zip', '--out', 'out', '--json'], { LABUP_USER_ID: USER_ID });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, file: 'download.zip', encryption: 'aes256', outDir: s.path('out'), passwordSource: 'LABUP_USER_ID', totalBytes: expect.any(Number) });
    expect(doc.files[0]).toEqual({ name: CHECK_FILE, path: s.path('out', CHECK_FILE), bytes: CHECK_BYTES.length, replaced: false });
    expect(r.stdout).not.toContain(USER_ID);
  });

  it('writes only the content with --stdout, byte for byte', async () => {
    mkdirSync(s.path('src'));
    writeFileSync(s.path('src', CHECK_FILE), CHECK_BYTES);
    await makers['7z a -mem=AES256']!(s.path('download.zip'), [CHECK_FILE]);
    const r = await execa('node', [BIN, 'decrypt', 'download.zip', '--stdout'], {
      cwd: s.root,
      env: { LABUP_USER_ID: 'a123456789', NO_COLOR: '1' },
      encoding: 'buffer',
      stripFinalNewline: false,
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(Buffer.from(r.stdout)).toEqual(CHECK_BYTES);
    expect(readdirSync(s.root).sort()).toEqual(['download.zip', 'src']);
  });

  it('takes the ID from the profile’s userIdSource', async () => {
    const files = sources();
    await makers['Info-ZIP zip -P']!(s.path('download.zip'), files);
    writeFileSync(s.path('labup.config.json'), JSON.stringify({ profiles: { clinic: { userIdSource: 'env:CLINIC_USER_ID' } } }));
    const r = await run(['--profile', 'clinic', 'decrypt', 'download.zip', '--out', 'out', '--json'], { CLINIC_USER_ID: ' a123456789\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).passwordSource).toBe('userIdSource env:CLINIC_USER_ID');
  });
});

describe('what others open: createZip output in unzip and 7-Zip', () => {
  it('unzip -P and 7z x -p open the ZipCrypto archive; 7z opens the AES-256 one', async () => {
    const files = sources();
    await makers['createZip zipcrypto']!(s.path('zc.zip'), files);
    await makers['createZip aes256']!(s.path('aes.zip'), files);
    await execa('unzip', ['-q', '-P', USER_ID, s.path('zc.zip'), '-d', s.path('unzip')]);
    await execa('7z', ['x', `-p${USER_ID}`, `-o${s.path('7z-zc')}`, s.path('zc.zip')]);
    await execa('7z', ['x', `-p${USER_ID}`, `-o${s.path('7z-aes')}`, s.path('aes.zip')]);
    for (const dir of ['unzip', '7z-zc', '7z-aes']) {
      expect(readFileSync(s.path(dir, CHECK_FILE))).toEqual(CHECK_BYTES);
    }
    // and a wrong password fails in those tools too
    const wrong = await execa('7z', ['t', `-p${OTHER_ID}`, s.path('aes.zip')], { reject: false });
    expect(wrong.exitCode).not.toBe(0);
  });
});

describe('wrong ID, invalid ID, damaged file, no ID', () => {
  it('a valid but wrong ID is "wrong password", exit 4, masked, nothing written', async () => {
    // given a three-file archive (a wrong ID passes all three ZipCrypto one-byte checks once in 16 million)
    const files = sources();
    await makers['Info-ZIP zip -P']!(s.path('download.zip'), files);
    const r = await run(['decrypt', 'download.zip', '--out', 'out'], { LABUP_USER_ID: OTHER_ID.toLowerCase() });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('[DECRYPT_WRONG_PASSWORD]');
    expect(r.stderr).toContain('B12****');
    expect(r.stderr + r.stdout).not.toMatch(new RegExp(OTHER_ID, 'i'));
    expect(readdirSync(s.root)).not.toContain('out');
  });

  it('an ID failing its checksum is named as such (exit 2), before any attempt', async () => {
    const files = sources();
    await makers['7z a -mem=AES256']!(s.path('download.zip'), files);
    const r = await run(['decrypt', 'download.zip', '--out', 'out', '--json'], { LABUP_USER_ID: 'a123456788' });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'USER_ID_INVALID', message: 'LABUP_USER_ID: “A12****788” fails its checksum (a digit is mistyped)' });
    expect(r.stdout + r.stderr).not.toMatch(/A123456788/i);
  });

  it('a damaged or non-ZIP file is "damaged" (exit 2), not "wrong password"', async () => {
    const files = sources();
    await makers['7z a -mem=AES256']!(s.path('download.zip'), files);
    const bytes = readFileSync(s.path('download.zip'));
    writeFileSync(s.path('truncated.zip'), bytes.subarray(0, bytes.length - 40));
    writeFileSync(s.path('text.zip'), 'not a zip\n');
    const flipped = Buffer.from(bytes);
    const dataStart = 30 + flipped.readUInt16LE(26) + flipped.readUInt16LE(28);
    flipped[dataStart + 16 + 2 + 3]! ^= 0x55;
    writeFileSync(s.path('flipped.zip'), flipped);
    for (const f of ['truncated.zip', 'text.zip', 'flipped.zip']) {
      const r = await run(['decrypt', f, '--out', 'out'], { LABUP_USER_ID: USER_ID });
      expect({ f, code: r.code }).toEqual({ f, code: 2 });
      expect(r.stderr).toContain('[ZIP_DAMAGED]');
      expect(r.stderr).toContain(f);
    }
    expect(readdirSync(s.root)).not.toContain('out');
  });

  it('without a terminal and without an ID source, fails at once (exit 2), no hang', async () => {
    const files = sources();
    await makers['createZip zipcrypto']!(s.path('download.zip'), files);
    const started = Date.now();
    const r = await run(['decrypt', 'download.zip']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[USER_ID_MISSING]');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses conflicting flags, a bad size, and says when the archive holds no files (exit 6)', async () => {
    await makers['createZip zipcrypto']!(s.path('download.zip'), sources());
    expect((await run(['decrypt', 'download.zip', '--stdout', '--json'])).stderr).toContain('--stdout and --json cannot be used together');
    expect((await run(['decrypt', 'download.zip', '--stdout', '--out', 'x'])).code).toBe(2);
    const badSize = await run(['decrypt', 'download.zip', '--max-size', 'lots']);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toMatch(/a size such as 500M/);
    const empty = await pyZip('empty.zip', 'pass');
    const r = await run(['decrypt', empty, '--out', 'out']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('holds no files');
  });

  it('--max-size lowers (or raises) the limit on what the archive expands to', async () => {
    const zip = await pyZip('big.zip', "import os\nz.writestr(zipfile.ZipInfo('noise.bin'), os.urandom(3 * 1024 * 1024))");
    const refused = await run(['decrypt', zip, '--out', 'out', '--max-size', '1M']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\[ZIP_TOO_LARGE\].*noise\.bin.*more than 1\.0 MiB/);
    expect(readdirSync(s.root)).not.toContain('out');
    expect((await run(['decrypt', zip, '--out', 'out', '--max-size', '4M'])).code).toBe(0);
  });

  it('never takes the ID from the command line', async () => {
    const r = await run(['decrypt', 'download.zip', '--password', USER_ID]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--password'/);
  });
});

/** Builds a hostile archive with Python's zipfile; `body` is Python working on `z` (a ZipFile) and `out`. */
async function pyZip(name: string, body: string): Promise<string> {
  const out = s.path(name);
  const script = ['import sys, zipfile', 'out = sys.argv[1]', "z = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED)", body, 'z.close()'].join('\n');
  await execa('python3', ['-c', script, out]);
  return out;
}

describe('hostile archives are refused with nothing written anywhere', () => {
  const cases: Array<[string, string, string]> = [
    ['a ../ entry', "z.writestr('fine.txt', 'ok')\nz.writestr('../evil.txt', 'owned')", 'ZIP_UNSAFE_ENTRY'],
    ['an absolute path', "z.writestr('fine.txt', 'ok')\nz.writestr(zipfile.ZipInfo('/tmp/labup-evil.txt'), 'owned')", 'ZIP_UNSAFE_ENTRY'],
    ['a backslash path', "z.writestr('..\\\\evil.txt', 'owned')", 'ZIP_UNSAFE_ENTRY'],
    [
      'a symbolic link',
      "i = zipfile.ZipInfo('passwd')\ni.create_system = 3\ni.external_attr = (0o120777 << 16)\nz.writestr(i, '/etc/passwd')",
      'ZIP_SYMLINK',
    ],
    ['a zip bomb (honest headers)', "z.writestr('zeros.xml', bytes(100 * 1024 * 1024))", 'ZIP_TOO_LARGE'],
    ['1001 entries', "for i in range(1001): z.writestr('f%d.txt' % i, 'x')", 'ZIP_TOO_MANY_ENTRIES'],
  ];
  it.each(cases)('%s', async (_label, body, code) => {
    // given a hostile archive in a folder of its own
    mkdirSync(s.path('in'));
    const zip = await pyZip('in/hostile.zip', body);
    // when it is decrypted into in/out
    const r = await run(['decrypt', zip, '--out', s.path('in', 'out')], { LABUP_USER_ID: USER_ID });
    // then it is refused with its code, and the file system holds exactly what it held before
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`[${code}]`);
    expect(s.tree().filter((p) => !p.startsWith('.'))).toEqual(['in/', 'in/hostile.zip']);
    expect(() => statSync('/tmp/labup-evil.txt')).toThrow();
  });

  it('a size header that lies is caught while inflating, and what was written is removed', async () => {
    // given a 20 MiB entry whose local and central headers both claim 1,000 bytes
    mkdirSync(s.path('in'));
    const zip = await pyZip('in/liar.zip', "z.writestr('first.txt', 'sound')\nz.writestr('small.txt', bytes(20 * 1024 * 1024))");
    const bytes = readFileSync(zip);
    const header = (signature: number, nameAt: number) => {
      for (let i = 0; i < bytes.length - 4; i++) {
        if (bytes.readUInt32LE(i) === signature && bytes.toString('latin1', i + nameAt, i + nameAt + 9) === 'small.txt') return i;
      }
      throw new Error('header not found');
    };
    bytes.writeUInt32LE(1000, header(0x04034b50, 30) + 22);
    bytes.writeUInt32LE(1000, header(0x02014b50, 46) + 24);
    writeFileSync(zip, bytes);
    // when decrypted
    const r = await run(['decrypt', zip, '--out', s.path('in', 'out')], { LABUP_USER_ID: USER_ID });
    // then it is refused as damaged, naming the lie, and no file, temporary file or folder remains
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[ZIP_DAMAGED\].*small\.txt.*longer than the 1000 bytes its header declares/);
    expect(s.tree().filter((p) => !p.startsWith('.'))).toEqual(['in/', 'in/liar.zip']);
  });
});

describe('crash safety', () => {
  it('kill -9 while a large file is being written leaves nothing under its final name', async () => {
    // given an archive with one 120 MB entry
    mkdirSync(s.path('in'));
    const zip = await pyZip('in/big.zip', "import random\nr = random.Random(1)\nz.writestr('big.xml', ''.join('<r><v>%d</v></r>\\n' % r.randrange(10**9) for _ in range(6_000_000)))");
    // when labup is killed as soon as its temporary file appears
    const child = execa('node', [BIN, 'decrypt', zip, '--out', s.path('in')], { reject: false, env: { LABUP_USER_ID: '' } });
    let sawTemp = false;
    for (let i = 0; i < 2000 && !sawTemp; i++) {
      sawTemp = readdirSync(s.path('in')).some((n) => n.endsWith('.labup-tmp'));
      if (!sawTemp) await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await child;
    // then the final name does not exist; at most the temporary file does
    expect(sawTemp).toBe(true);
    expect(readdirSync(s.path('in'))).not.toContain('big.xml');
    // and a rerun completes
    const again = await run(['decrypt', zip, '--out', s.path('in')]);
    expect(again.code).toBe(0);
    expect(statSync(s.path('in', 'big.xml')).size).toBeGreaterThan(100_000_000);
  });
});
