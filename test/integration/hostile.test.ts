/**
 * Hostile files — a partner lab's ZIP, a doctored export — through every door they can come in:
 * `labup validate`, `labup upload` (which validates before sending), `labup pack` for XML input,
 * and the portal side (the sandbox's intake, which refuses a bad archive at once, and its
 * processing, which answers everything else with 檢核錯誤 and a check file). Decrypt's own hostile
 * archives are in decrypt.test.ts and the archive unit tests.
 *
 * Every one ends in a coded refusal: no stack trace, nothing sent (the sandbox's own count), no
 * file written outside the test's folder, no entity expanded, no URL fetched, no file read.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCp950 } from '../../src/encoding/cp950.js';
import { execa } from 'execa';
import { BIN, FIXTURE_NOW, labup } from '../helpers/cli.js';
import { buildZip } from '../unit/archive/zip-bytes.js';
import { dailyXml, record, send, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

const dir = tempDir('labup-hostile-');
let t: TestSandbox;
let home: string;
let work: string;
/** Requests the “attacker's” server received (an external entity would fetch from it). */
let fetched = 0;
let server: Server;
let serverUrl: string;
/** A file an external entity points at; its content must never surface anywhere. */
const MARKER = 'LABUP-SECRET-7f3a9c';
let secretFile: string;

beforeAll(async () => {
  t = await testSandbox();
  home = join(dir.path, 'home');
  work = join(dir.path, 'work');
  mkdirSync(work, { recursive: true });
  secretFile = join(dir.path, 'secret.txt');
  writeFileSync(secretFile, `${MARKER}\n`);
  server = createServer((_req, res) => {
    fetched++;
    res.end(MARKER);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x.dtd`;
});
afterAll(async () => {
  server.close();
  await t.stop();
  dir.remove();
});

const MiB = 1 << 20;

/** `n` MiB of spaces as a deflate stream of ~1 KB blocks (about 1000:1), built without inflating anything. */
function spaceBomb(n: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(MiB, 0x20), { finishFlush: constants.Z_FULL_FLUSH, level: 9 });
  return Buffer.concat([...Array<Buffer>(n).fill(block), Buffer.from([0x03, 0x00])]);
}

/** A valid daily XML (Big5) with `edit` applied to its text. */
function xmlWith(edit: (text: string) => string): Buffer {
  const text = dailyXml([record(1)]).toString('latin1');
  return Buffer.from(edit(text), 'latin1');
}

const DECL = /^(<\?xml[^>]*\?>)/;
const withDoctype = (doctype: string, reference: string) => xmlWith((x) => x.replace(DECL, `$1\n${doctype}`).replace(/<h26>[^<]*<\/h26>/, `<h26>${reference}</h26>`));

interface Hostile {
  name: string;
  what: string;
  zip: () => Buffer;
  /** `labup validate`: exit code and the code it names. */
  validate: { exit: 1 | 2; code: string };
  /** The portal: refused at intake (422) with this code, or received and checked to 檢核錯誤 with this row code. */
  portal: { refused: string } | { checkRow: string };
}

const laughs = [
  '<!DOCTYPE patient [',
  '<!ENTITY lol "lol">',
  ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
  ']>',
].join('\n');

const CASES: Hostile[] = [
  { name: 'TWO.zip', what: 'two XML files', zip: () => buildZip([{ name: 'A.xml', data: dailyXml([record(1)]) }, { name: 'B.xml', data: dailyXml([record(2)]) }]), validate: { exit: 1, code: 'ZIP_ENTRY_COUNT' }, portal: { refused: 'ZIP_ENTRY_COUNT' } },
  { name: 'NONE.zip', what: 'no file at all', zip: () => buildZip([]), validate: { exit: 1, code: 'ZIP_ENTRY_COUNT' }, portal: { refused: 'ZIP_ENTRY_COUNT' } },
  { name: 'ONLYTXT.zip', what: 'no XML, only a text file', zip: () => buildZip([{ name: 'readme.txt', data: 'hello' }]), validate: { exit: 1, code: 'ZIP_ENTRY_TYPE' }, portal: { refused: 'ZIP_ENTRY_TYPE' } },
  { name: 'EXTRA.zip', what: 'the XML and a file beside it', zip: () => buildZip([{ name: 'TOTFA.xml', data: dailyXml([record(1)]) }, { name: 'run.sh', data: 'rm -rf /' }]), validate: { exit: 1, code: 'ZIP_ENTRY_COUNT' }, portal: { refused: 'ZIP_ENTRY_COUNT' } },
  { name: 'CLIMB.zip', what: 'an entry named ../TOTFA.xml', zip: () => buildZip([{ name: '../TOTFA.xml', data: dailyXml([record(1)]) }]), validate: { exit: 1, code: 'ZIP_ENTRY_NAME' }, portal: { refused: 'ZIP_ENTRY_NAME' } },
  { name: 'ABSOLUTE.zip', what: 'an entry named /tmp/TOTFA.xml', zip: () => buildZip([{ name: '/tmp/TOTFA.xml', data: dailyXml([record(1)]) }]), validate: { exit: 1, code: 'ZIP_ENTRY_NAME' }, portal: { refused: 'ZIP_ENTRY_NAME' } },
  { name: 'LINK.zip', what: 'a symbolic link to /etc/passwd named TOTFA.xml', zip: () => buildZip([{ name: 'TOTFA.xml', data: '/etc/passwd', unixMode: 0o120777 }]), validate: { exit: 1, code: 'ZIP_ENTRY_TYPE' }, portal: { refused: 'ZIP_ENTRY_TYPE' } },
  { name: 'BOMB.zip', what: 'a bomb: 512 MiB in 520 KB', zip: () => buildZip([{ name: 'TOTFA.xml', stored: spaceBomb(512), declaredSize: 512 * MiB, crc: 0 }]), validate: { exit: 2, code: 'ZIP_TOO_LARGE' }, portal: { checkRow: 'L:ZIP_TOO_LARGE' } },
  { name: 'LIAR.zip', what: 'a size header that says less than the content', zip: () => buildZip([{ name: 'TOTFA.xml', data: dailyXml([record(1), record(2)]), declaredSize: 200 }]), validate: { exit: 2, code: 'ZIP_DAMAGED' }, portal: { checkRow: 'L:ZIP_DAMAGED' } },
  { name: 'SHORT.zip', what: 'a size header that says more than the content', zip: () => buildZip([{ name: 'TOTFA.xml', data: dailyXml([record(1)]), declaredSize: 50 * MiB }]), validate: { exit: 2, code: 'ZIP_DAMAGED' }, portal: { checkRow: 'L:ZIP_DAMAGED' } },
  { name: 'BADCRC.zip', what: 'a CRC that does not match', zip: () => buildZip([{ name: 'TOTFA.xml', data: dailyXml([record(1)]), crc: 0x12345678 }]), validate: { exit: 2, code: 'ZIP_DAMAGED' }, portal: { checkRow: 'L:ZIP_DAMAGED' } },
  { name: 'XXEFILE.zip', what: 'an external entity reading a local file (XXE)', zip: () => buildZip([{ name: 'TOTFA.xml', data: withDoctype(`<!DOCTYPE patient [<!ENTITY xxe SYSTEM "file://${secretFile}">]>`, '&xxe;') }]), validate: { exit: 1, code: 'XML_DOCTYPE' }, portal: { checkRow: 'L:XML_DOCTYPE' } },
  { name: 'XXEURL.zip', what: 'an external DTD and entity fetched over HTTP', zip: () => buildZip([{ name: 'TOTFA.xml', data: withDoctype(`<!DOCTYPE patient SYSTEM "${serverUrl}" [<!ENTITY % p SYSTEM "${serverUrl}"> %p;]>`, '&xxe;') }]), validate: { exit: 1, code: 'XML_DOCTYPE' }, portal: { checkRow: 'L:XML_DOCTYPE' } },
  { name: 'LAUGHS.zip', what: 'a billion laughs (entity expansion)', zip: () => buildZip([{ name: 'TOTFA.xml', data: withDoctype(laughs, '&lol9;') }]), validate: { exit: 1, code: 'XML_DOCTYPE' }, portal: { checkRow: 'L:XML_DOCTYPE' } },
];

const files: Record<string, string> = {};
beforeAll(() => {
  mkdirSync(join(dir.path, 'in'), { recursive: true });
  for (const c of CASES) {
    files[c.name] = join(dir.path, 'in', c.name);
    writeFileSync(files[c.name]!, c.zip());
  }
});

/** Everything in the test's folder but the inputs, the client's home and the sandbox (which legitimately keeps what it received). */
function strays(): string[] {
  return readdirSync(dir.path).filter((n) => !['in', 'home', 'work', 'secret.txt'].includes(n) && !n.startsWith('labup-portal-'));
}

function expectClean(out: { stdout: string; stderr: string }): void {
  expect(out.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
  expect(out.stdout + out.stderr).not.toContain(MARKER);
  expect(out.stdout + out.stderr).not.toContain('lollollol');
}

describe('hostile ZIPs', () => {
  /** `labup validate` on all of them at once (one process): each file's report, by name. */
  let validated: Record<string, { errors: Array<{ code: string }>; failure?: { code: string } }>;
  let validateRun: { stdout: string; stderr: string; code: number };
  let validateMs: number;
  beforeAll(async () => {
    const t0 = performance.now();
    validateRun = await labup(['validate', ...CASES.map((c) => files[c.name]!), '--json'], { cwd: work });
    validateMs = performance.now() - t0;
    const reports = JSON.parse(validateRun.stdout).files as Array<{ file: string; errors: Array<{ code: string }>; failure?: { code: string } }>;
    validated = Object.fromEntries(reports.map((f) => [f.file.split('/').at(-1)!, f]));
  });

  it('labup validate answers all of them in one run, in bounded time, with a coded finding each and no stack trace', () => {
    expect(validateRun.code).toBe(2);
    expect(Object.keys(validated).sort()).toEqual(CASES.map((c) => c.name).sort());
    expect(validateMs).toBeLessThan(30_000);
    expectClean(validateRun);
  });

  for (const c of CASES) {
    it(`${c.what} (${c.name}): refused by validate and upload with ${c.validate.code}, ${'refused' in c.portal ? `and at the portal's intake` : 'and checked 檢核錯誤 by the portal'}`, async () => {
      const file = files[c.name]!;
      // when labup validate read it: a coded answer naming the rule (a finding, or why it cannot be read)
      const v = validated[c.name]!;
      if (c.validate.exit === 1) expect(v.errors.map((e) => e.code)).toContain(c.validate.code);
      else expect(v.failure?.code).toBe(c.validate.code);
      // when labup upload is asked to send it
      const u = await labup(['upload', file, '--sandbox'], { cwd: work, env: { LABUP_HOME: home, LABUP_SANDBOX_DELAY: '1s' } });
      // then it refuses locally with the same code, and nothing reaches the portal
      expect(u.code, u.stderr).toBe(c.validate.exit);
      expect(u.stdout + u.stderr).toContain(c.validate.code);
      expectClean(u);
      if (existsSync(join(home, 'sandbox', 'sandbox.db'))) {
        const db = openDatabase(join(home, 'sandbox', 'sandbox.db'), { readonly: true });
        expect(db.prepare('SELECT COUNT(*) AS n FROM submissions').get()).toEqual({ n: 0 });
        db.close();
      }
      // when another client sends it to the portal anyway
      const before = t.sb.admin.counts().submissions;
      if ('refused' in c.portal) {
        // then the intake refuses it at once (422, the rule named), keeps nothing
        await expect(send(t.client, file)).rejects.toMatchObject({ code: c.portal.refused, exitCode: 1, details: expect.objectContaining({ status: 422 }) });
        expect(t.sb.admin.counts().submissions).toBe(before);
      } else {
        // then it is received, and checked: 檢核錯誤, the check file naming the problem
        const r = await send(t.client, file);
        await t.processAll();
        const s = t.sb.admin.submissions().find((x) => x.receiptNo === r.receiptNo)!;
        expect(s.status).toBe('failed');
        const check = decodeCp950(readFileSync(join(t.sb.admin.layout.results, `1300_${r.receiptNo}.msg.txt`))).text;
        expect(check).toContain(c.portal.checkRow);
        expect(check).not.toContain(MARKER);
        expect(check).not.toContain('lollollol');
      }
      expect(readdirSync(t.sb.admin.layout.incoming)).toEqual([]);
      // and nothing was fetched, nothing written outside the places labup writes to
      expect(fetched).toBe(0);
      expect(strays()).toEqual([]);
      expect(readdirSync(work)).toEqual([]);
    });
  }
});

describe('hostile XML given to validate and pack as is', () => {
  const xmlCases: Array<[string, Buffer]> = [];
  beforeAll(() => {
    xmlCases.push(['xxe-file.xml', withDoctype(`<!DOCTYPE patient [<!ENTITY xxe SYSTEM "file://${secretFile}">]>`, '&xxe;')]);
    xmlCases.push(['xxe-url.xml', withDoctype(`<!DOCTYPE patient SYSTEM "${serverUrl}">`, '1')]);
    xmlCases.push(['laughs.xml', withDoctype(laughs, '&lol9;')]);
    // a DOCTYPE after a comment and blank lines is still a DOCTYPE
    xmlCases.push(['late-doctype.xml', xmlWith((x) => x.replace(DECL, `$1\n<!-- export -->\n\n<!DOCTYPE patient [<!ENTITY a "b">]>`))]);
    for (const [name, bytes] of xmlCases) writeFileSync(join(dir.path, 'in', name), bytes);
  });

  it('refuses a DOCTYPE (XXE, external DTD, entity expansion) with XML_DOCTYPE: no file read, no URL fetched, nothing written', async () => {
    for (const [name] of xmlCases) {
      const file = join(dir.path, 'in', name);
      // when validated
      const v = await labup(['validate', file], { cwd: work });
      expect(v.code, name).toBe(1);
      expect(v.stdout + v.stderr, name).toContain('XML_DOCTYPE');
      expectClean(v);
      // when packed into an upload ZIP
      const p = await labup(['pack', file, '-o', join(work, 'TOTFA.zip')], { cwd: work });
      expect(p.code, `${name}: ${p.stderr}`).toBe(1);
      expect(p.stdout + p.stderr, name).toContain('XML_DOCTYPE');
      expectClean(p);
      expect(readdirSync(work), name).toEqual([]);
    }
    expect(fetched).toBe(0);
  });
});

describe('hostile exports given to pack', () => {
  it('a JSON array with a stray “}” or a trailing “,” is answered at once with PACK_JSON_SYNTAX at its line (it once looped forever)', async () => {
    for (const [name, text] of [
      ['stray.json', '[1,2}]'],
      ['open.json', '[}'],
      ['trailing.json', '[{"h9":"A123456789"},]'],
      ['noise.json', ' [1\\u,"h9""h9"h9}]'],
    ] as const) {
      writeFileSync(join(dir.path, 'in', name), text);
      // when packed, in a process that may not take longer than 20 s or 256 MB
      const r = await execa('node', ['--max-old-space-size=256', BIN, 'pack', join(dir.path, 'in', name), '--dry-run', '--hosp', '3501200000'], { cwd: work, reject: false, timeout: 20_000, env: { LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1' } });
      // then a coded refusal naming the line, promptly
      expect(r.timedOut, name).toBe(false);
      expect(r.exitCode, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stdout + r.stderr, name).toMatch(/PACK_JSON_SYNTAX/);
      expectClean({ stdout: String(r.stdout), stderr: String(r.stderr) });
    }
  });
});

describe('invalid Big5 through the portal', () => {
  it('bytes code page 950 does not define, a lone lead byte and a cut pair: refused locally (XML_BYTES); the portal’s check file names each, and stays valid Big5', async () => {
    // given a Big5 daily XML whose values hold an HKSCS pair (88 40), a lead byte before “<”, and a pair cut by the end of a value
    const xml = xmlWith((x) =>
      x
        .replace(/<r2>[^<]*<\/r2>/, '<r2>\x88\x40</r2>')
        .replace(/<r3>[^<]*<\/r3>/, '<r3>ab\xa4</r3>')
        .replace(/<h22>[^<]*<\/h22>/, '<h22>\xa4</h22>'),
    );
    const file = join(dir.path, 'in', 'BIGFIVE.zip');
    writeFileSync(file, buildZip([{ name: 'TOTFA.xml', data: xml }]));
    // when validated
    const v = await labup(['validate', file, '--json'], { cwd: work });
    // then each bad sequence is a located XML_BYTES error
    expect(v.code).toBe(1);
    const errors = JSON.parse(v.stdout).files[0].errors as Array<{ code: string; line: number }>;
    expect(errors.filter((e) => e.code === 'XML_BYTES').length).toBeGreaterThanOrEqual(1);
    expectClean(v);
    // when sent to the portal anyway and checked
    const r = await send(t.client, file);
    await t.processAll();
    // then 檢核錯誤, and the check file — itself Big5 — names the bytes, with no byte it cannot hold
    expect(t.sb.admin.submissions().find((x) => x.receiptNo === r.receiptNo)!.status).toBe('failed');
    const bytes = readFileSync(join(t.sb.admin.layout.results, `1300_${r.receiptNo}.msg.txt`));
    const decoded = decodeCp950(bytes);
    expect(decoded.badAt).toBe(-1);
    expect(decoded.text).toContain('L:XML_BYTES');
    // and labup explain reads that check file back
    const e = await labup(['explain', join(t.sb.admin.layout.results, `1300_${r.receiptNo}.msg.txt`), '--json'], { cwd: work });
    expect(e.code, e.stderr).toBe(1);
    expectClean(e);
  });
});
