/**
 * Personal data: full `labup daily --sandbox --log-file` runs (the real binary), then a scan of
 * everything labup showed or wrote — stdout, stderr, the log file, the journal (labup.db and its
 * WAL), the JSON report, the lock and any other file under LABUP_HOME or the working folder —
 * for the fixture people's national IDs unmasked, the signing user's ID and the card's PIN.
 *
 * Only these stores may hold IDs unmasked, all mode 0600 in folders only the user can enter
 * (docs/security.md, “Where personal data is kept”):
 * - the check files downloaded from the portal (NHI writes the IDs into them);
 * - the ZIP a daily run packed and keeps for a resume (LABUP_HOME/runs/…);
 * - drafts of `labup entry` (in labup.db) and the ZIP built from them (LABUP_HOME/entry/outbox).
 * The sandbox's own portal data (LABUP_HOME/sandbox) is the portal's side and is not scanned.
 * `--show-ids` unmasks IDs on stdout, and nowhere else.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { maskId } from '../../src/format/national-id.js';
import { fixture, labup } from '../helpers/cli.js';
import { cliPlaces, type CliPlace } from './sandbox-support.js';

const places = cliPlaces('labup-pii-');
afterAll(() => places.remove());

/** Every national ID in the daily fixtures (patients h9, doctor h17, technologist r9; one mistyped). */
const FIXTURE_IDS = ['Q210000009', 'U210000003', 'R210000000', 'Q210000008', 'A123456789', 'B123456780'];

type Place = CliPlace & { log: string };

function place(): Place {
  const p = places.next();
  return { ...p, log: join(p.cwd, 'daily.jsonl') };
}

/** Files under `dir` (not following links), relative to `base`, skipping `skip` (absolute). */
function walk(dir: string, base: string, skip: string[] = []): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (skip.includes(p)) continue;
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...walk(p, base, skip));
    else out.push(relative(base, p));
  }
  return out.sort();
}

/** Secrets found in `bytes`, as latin1 (IDs and PINs are ASCII) and as UTF-16 (SQLite may store either). */
function secretsIn(bytes: Buffer, secrets: string[]): string[] {
  const latin1 = bytes.toString('latin1');
  const utf16 = bytes.toString('utf16le');
  return secrets.filter((s) => latin1.includes(s) || utf16.includes(s));
}

/** The members of a ZIP, inflated (to show what a kept ZIP really holds). */
function zipContent(bytes: Buffer): string {
  const out: string[] = [];
  for (let i = 0; i + 30 <= bytes.length && bytes.readUInt32LE(i) === 0x04034b50; ) {
    const method = bytes.readUInt16LE(i + 8);
    const csize = bytes.readUInt32LE(i + 18);
    const start = i + 30 + bytes.readUInt16LE(i + 26) + bytes.readUInt16LE(i + 28);
    const data = bytes.subarray(start, start + csize);
    out.push((method === 8 ? inflateRawSync(data) : data).toString('latin1'));
    i = start + csize;
  }
  return out.join('\n');
}

const mode = (p: string) => statSync(p).mode & 0o777;

/** The stores allowed to hold IDs unmasked. */
const ID_STORES = [/^work\/downloads\/1300_\d{13}\.msg\.txt$/, /^home\/runs\/[^/]+\/[A-Za-z0-9]+\.zip$/];

async function daily(p: Place, csv: string, extra: string[] = []) {
  return labup(['daily', fixture(`daily/${csv}`), '--sandbox', '--log-file', p.log, ...extra], { cwd: p.cwd, env: p.env });
}

/** The card's PIN: the demo card's passphrase, which the sandbox keeps in its own folder. */
const pinOf = (p: Place) => readFileSync(join(p.home, 'sandbox', 'cards', '3501200000.pass'), 'utf8').trim();

/**
 * Scans what labup wrote (outside the sandbox's folder) for the secrets. Returns, per file, the
 * secrets found; asserts the files allowed to hold IDs are 0600 and hold no PIN.
 */
function scanWritten(p: Place, ids: string[], pin: string): Record<string, string[]> {
  const files = [...walk(p.home, p.root, [join(p.home, 'sandbox')]), ...walk(p.cwd, p.root)];
  const found: Record<string, string[]> = {};
  for (const f of files) {
    const abs = join(p.root, f);
    const bytes = readFileSync(abs);
    const text = f.endsWith('.zip') ? zipContent(bytes) : '';
    const hits = secretsIn(Buffer.concat([bytes, Buffer.from(text, 'latin1')]), [...ids, pin]);
    if (ID_STORES.some((re) => re.test(f))) {
      // an allowed store: private, and never the PIN
      expect(mode(abs), f).toBe(0o600);
      expect(hits, f).not.toContain(pin);
      continue;
    }
    if (hits.length) found[f] = hits;
  }
  return found;
}

describe('personal data in labup entry', () => {
  it('drafts hold the IDs in labup.db, the built upload ZIP in entry/outbox: both 0600 in private folders; nothing unmasked on stdout, stderr or in the log', async () => {
    // given a draft typed for a patient (from JSON, as a script would)
    const p = place();
    const patient = 'F126718594';
    const staff = 'B123456780';
    const order = {
      h1: '1', h3: '12', h5: '115/11/25 07:30:05', h6: '01', h7: '0001', h9: patient, h10: '0650315', h11: '1151125', h15: '09015C', h20: '1151125083005', h22: '血液', h26: '0',
      items: [{ r2: 'CRE(肌酸酐)', r3: '酵素法', r4: 1.02, r5: 'mg/dL', 'r6-1': '0.6', 'r6-2': '1.3', r9: staff, r10: '1151125093005' }],
    };
    writeFileSync(join(p.root, 'order.json'), JSON.stringify(order));
    const entry = (args: string[]) => labup(['entry', ...args, '--log-file', p.log], { cwd: p.cwd, env: p.env });
    // when it is saved, listed and uploaded to the portal
    const add = await entry(['add', join(p.root, 'order.json'), '--hosp', '3501200000']);
    const list = await entry(['list']);
    const up = await entry(['upload', '--all', '--sandbox']);
    expect([add.code, list.code, up.code], add.stderr + list.stderr + up.stderr).toEqual([0, 0, 0]);
    const pin = pinOf(p);
    // then the patient is shown masked, and no ID or PIN appears unmasked in what labup printed or logged
    expect(list.stdout).toContain(maskId(patient));
    for (const out of [add, list, up]) expect(secretsIn(Buffer.from(out.stdout + out.stderr), [patient, staff, pin])).toEqual([]);
    expect(secretsIn(readFileSync(p.log), [patient, staff, pin])).toEqual([]);
    // and the drafts in labup.db do hold the ID (they are the records typed in): 0600, in a 0700 home
    const db = ['labup.db', 'labup.db-wal'].map((f) => join(p.home, f)).filter((f) => existsSync(f));
    expect(secretsIn(Buffer.concat(db.map((f) => readFileSync(f))), [patient])).toEqual([patient]);
    expect(mode(join(p.home, 'labup.db'))).toBe(0o600);
    expect(mode(p.home) & 0o077).toBe(0);
    // and the ZIP built for the upload waits in entry/outbox, 0600, in private folders
    const outbox = join(p.home, 'entry', 'outbox');
    const zips = readdirSync(outbox);
    expect(zips).toEqual([expect.stringMatching(/^3501200000115112500\d\.zip$/)]);
    expect(zipContent(readFileSync(join(outbox, zips[0]!)))).toContain(patient);
    expect(mode(join(outbox, zips[0]!))).toBe(0o600);
    for (const d of [join(p.home, 'entry'), outbox]) expect(mode(d) & 0o077, d).toBe(0);
    // and nothing else labup wrote (outside the sandbox) holds an ID or the PIN
    const others = [...walk(p.home, p.root, [join(p.home, 'sandbox'), join(p.home, 'labup.db'), join(p.home, 'labup.db-wal'), outbox]), ...walk(p.cwd, p.root)];
    for (const f of others) expect(secretsIn(readFileSync(join(p.root, f)), [patient, staff, pin]), f).toEqual([]);
    for (const f of others) expect(mode(join(p.root, f)), f).toBe(0o600);
  });
});

describe('personal data in a full labup daily run', () => {
  it('檢核錯誤 explained at its input row: no unmasked ID, user ID or PIN on stdout, stderr, in the log, the journal, the report or any other file', async () => {
    // given the export whose h2 is another institution's (the portal finds it; the error names the patient)
    const p = place();
    // when the nightly job runs it with a log file
    const r = await daily(p, 'other-institution.csv');
    expect(r.code, r.stderr).toBe(1);
    const pin = pinOf(p);
    expect(pin.length).toBeGreaterThanOrEqual(4);
    // then the patient is named, masked, on stdout — and no ID or PIN appears unmasked anywhere
    expect(r.stdout).toContain(maskId('R210000000'));
    expect(secretsIn(Buffer.from(r.stdout), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(secretsIn(Buffer.from(r.stderr), [...FIXTURE_IDS, pin])).toEqual([]);
    const log = readFileSync(p.log, 'utf8');
    expect(log.split('\n').filter(Boolean).length).toBeGreaterThan(5);
    expect(secretsIn(Buffer.from(log), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(scanWritten(p, FIXTURE_IDS, pin)).toEqual({});
    // and the scan saw what it should: the report, the journal, the log, the check file and the kept ZIP
    const written = [...walk(p.home, p.root, [join(p.home, 'sandbox')]), ...walk(p.cwd, p.root)];
    expect(written).toEqual(
      expect.arrayContaining(['home/labup.db', 'work/daily.jsonl', 'work/downloads/1300_1151125000001.msg.txt', 'work/downloads/reports/labup-daily-1151125-run1.json', expect.stringMatching(/^home\/runs\/[^/]+\/TOTFA\.zip$/)]),
    );
    // the kept ZIP does hold the patient's ID (an allowed store)
    const kept = written.find((f) => f.endsWith('TOTFA.zip'))!;
    expect(zipContent(readFileSync(join(p.root, kept)))).toContain('R210000000');
    // every file labup wrote is private, and so are the folders that hold IDs
    for (const f of written) expect(mode(join(p.root, f)), f).toBe(0o600);
    for (const d of ['home', 'work/downloads', kept.split('/').slice(0, -1).join('/')]) expect(mode(join(p.root, d)) & 0o077, d).toBe(0);
  });

  it('refused before sending (a mistyped ID), then sent with --force: the mistyped ID stays masked too', async () => {
    // given an export with a mistyped national ID
    const p = place();
    const refused = await daily(p, 'bad-id.csv');
    const forced = await daily(p, 'bad-id.csv', ['--force']);
    expect(refused.code).toBe(1);
    expect(forced.code, forced.stderr).toBe(1);
    const pin = pinOf(p);
    // then neither run shows any ID unmasked, the mistyped one included
    for (const out of [refused, forced]) {
      expect(out.stdout).toContain(maskId('Q210000008'));
      expect(secretsIn(Buffer.from(out.stdout + out.stderr), [...FIXTURE_IDS, pin])).toEqual([]);
    }
    expect(secretsIn(readFileSync(p.log), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(scanWritten(p, FIXTURE_IDS, pin)).toEqual({});
    // the portal's check file names the mistyped ID in full: it is one of the allowed stores (0600)
    const check = join(p.cwd, 'downloads', '1300_1151125000001.msg.txt');
    expect(readFileSync(check, 'latin1')).toContain('Q210000008');
    expect(mode(check)).toBe(0o600);
  });

  it('--show-ids unmasks the IDs on stdout only: stderr, the log, the journal and the report stay masked', async () => {
    const p = place();
    // when the job runs with --show-ids
    const r = await daily(p, 'other-institution.csv', ['--show-ids']);
    expect(r.code, r.stderr).toBe(1);
    const pin = pinOf(p);
    // then stdout names the patient in full
    expect(r.stdout).toContain('R210000000');
    expect(r.stdout).not.toContain(pin);
    // and nothing else does
    expect(secretsIn(Buffer.from(r.stderr), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(secretsIn(readFileSync(p.log), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(scanWritten(p, FIXTURE_IDS, pin)).toEqual({});
    // when the finished run is asked for again as JSON, without --show-ids (it reads the kept report back)
    const again = await daily(p, 'other-institution.csv', ['--json']);
    // then the earlier --show-ids does not leak into it
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyDone: true, errors: [expect.objectContaining({ patient: maskId('R210000000') })] });
    expect(secretsIn(Buffer.from(again.stdout + again.stderr), [...FIXTURE_IDS, pin])).toEqual([]);
  });

  it('a passing run: nothing to hide anywhere but in the check file and the kept ZIP', async () => {
    const p = place();
    const r = await daily(p, 'lab-results.csv', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const pin = pinOf(p);
    expect(secretsIn(Buffer.from(r.stdout + r.stderr), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(secretsIn(readFileSync(p.log), [...FIXTURE_IDS, pin])).toEqual([]);
    expect(scanWritten(p, FIXTURE_IDS, pin)).toEqual({});
  });
});
