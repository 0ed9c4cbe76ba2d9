/**
 * `labup sandbox init`: the sandbox CA, a demo institution, its card and a demo user, so that a
 * first-time user can sign in, upload and download with no set-up. The card is issued by a
 * {@link CardProvisioner}: a PKCS#12 software token by default; a provisioner that generates the
 * key on a PKCS#11 token (`labup sandbox init --pkcs11 URI`) plugs in here.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { createCa, issueSoftwareCard, toPkcs12, type CaMaterial } from '../card/sandbox-ca.js';
import type { CardType } from '../card/card.js';
import { configError, usageError } from '../errors.js';
import { DEMO_DOCTOR_ID, DEMO_INSTITUTION } from '../format/synthetic.js';
import { isInstitutionCode, isValidPersonId } from '../format/national-id.js';
import { sandboxLayout, type SandboxLayout } from './layout.js';
import { loadCa, serverTls, writeCa } from './pki.js';
import { ensureDirs, openSandboxDb, type Db } from './state.js';

export const DEMO_INSTITUTION_NAME = 'labup 示範醫院';
export const DEMO_USER_ID = DEMO_DOCTOR_ID;
export const DEMO_USER_NAME = '示範使用者';

/** What `--sandbox` needs to sign in as the demo user (demo.json). */
export interface SandboxDemo {
  institution: { code: string; name: string };
  /** The demo user's national ID (synthetic): the password of encrypted downloads. */
  user: { nationalId: string; name: string };
  /** Card URI (`p12:…`, or `pkcs11:…` when issued onto a token). */
  card: string;
  /** Secret source of the card's PIN or passphrase (`file:…`). */
  pinSource: string;
  /** The sandbox CA, for `--ca` when the sandbox runs with `--tls`. */
  caFile: string;
  createdAt: string;
}

export interface IssueCardRequest {
  ca: CaMaterial;
  institutionCode: string;
  name: string;
  cardType?: CardType;
  notBefore: Date;
  notAfter: Date;
}

/** Issues a card for the CA and says how to open it. */
export interface CardProvisioner {
  readonly kind: string;
  issue(request: IssueCardRequest): Promise<{ card: string; pinSource: string }>;
}

/** Software cards: `cards/<code>.p12` with a random passphrase in `cards/<code>.pass` (0600). */
export function softwareCardProvisioner(layout: SandboxLayout): CardProvisioner {
  return {
    kind: 'p12',
    async issue(r) {
      const material = issueSoftwareCard(r.ca, { institutionCode: r.institutionCode, name: r.name, notBefore: r.notBefore, notAfter: r.notAfter, ...(r.cardType ? { cardType: r.cardType } : {}) });
      const passphrase = randomBytes(18).toString('base64url');
      const p12 = join(layout.cards, `${r.institutionCode}.p12`);
      const pass = join(layout.cards, `${r.institutionCode}.pass`);
      writeFileSync(pass, passphrase + '\n', { mode: 0o600 });
      writeFileSync(p12, toPkcs12(material, r.ca.certPem, passphrase, r.name), { mode: 0o600 });
      return { card: `p12:${p12}`, pinSource: `file:${pass}` };
    },
  };
}

export interface InitSandboxOptions {
  dataDir: string;
  clock?: Clock;
  institution?: { code: string; name: string };
  user?: { nationalId: string; name: string };
  /** Default: a PKCS#12 software card under `cards/`. */
  provisioner?: CardProvisioner;
  /** Card validity in days (default 730). */
  cardDays?: number;
  /** Re-create the CA, the card and demo.json even if they exist (state is kept). */
  force?: boolean;
}

export interface InitSandboxResult {
  /** False when the folder was already initialised (nothing changed). */
  created: boolean;
  dataDir: string;
  demo: SandboxDemo;
}

export function readDemo(layout: SandboxLayout): SandboxDemo | undefined {
  if (!existsSync(layout.demo)) return undefined;
  try {
    return JSON.parse(readFileSync(layout.demo, 'utf8')) as SandboxDemo;
  } catch (err) {
    throw configError('SANDBOX_DEMO_INVALID', `${layout.demo} is not readable (${(err as Error).message})`, { hint: 'Run labup sandbox init --force to write it again.' });
  }
}

/** Creates the sandbox in `dataDir` (idempotent: an initialised folder is left as it is). */
export async function initSandbox(options: InitSandboxOptions): Promise<InitSandboxResult> {
  const layout = sandboxLayout(resolve(options.dataDir));
  const existing = readDemo(layout);
  if (existing && !options.force) return { created: false, dataDir: layout.root, demo: existing };
  // Two first-time commands may start at once: one initialises, the other waits for it.
  ensureDirs([layout.root]);
  const release = await acquireInitLock(layout);
  try {
    const now = readDemo(layout);
    if (now && !options.force) return { created: false, dataDir: layout.root, demo: now };
    return await initialise(layout, options);
  } finally {
    release();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock file holding the initialising process's pid; a lock whose process is gone is taken over. */
async function acquireInitLock(layout: SandboxLayout): Promise<() => void> {
  const lock = join(layout.root, '.init.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw configError('SANDBOX_INIT_LOCKED', `${layout.root} is being initialised by process ${holder}`, { hint: `Wait for it, or remove ${lock} if no labup is running.` });
    await sleep(100);
  }
}

async function initialise(layout: SandboxLayout, options: InitSandboxOptions): Promise<InitSandboxResult> {
  const clock = options.clock ?? systemClock;
  const institution = options.institution ?? { code: DEMO_INSTITUTION, name: DEMO_INSTITUTION_NAME };
  const user = options.user ?? { nationalId: DEMO_USER_ID, name: DEMO_USER_NAME };
  if (!isInstitutionCode(institution.code)) throw usageError('BAD_INSTITUTION', `“${institution.code}” is not a 10-character 醫事機構代碼`);
  if (!isValidPersonId(user.nationalId)) throw usageError('BAD_USER_ID', 'the demo user’s national ID is not valid (checksum)');
  ensureDirs([layout.root, layout.pki, layout.cards, layout.incoming, layout.submissions, layout.results]);
  const now = clock.now();
  const ca = existsSync(layout.caCert) && existsSync(layout.caKey) && !options.force ? loadCa(layout) : createCa(now, { name: 'labup sandbox CA' });
  writeCa(layout, ca);
  const db = openSandboxDb(layout.db);
  try {
    registerInstitution(db, institution.code, institution.name, now.getTime());
    registerUser(db, institution.code, user.nationalId, user.name, now.getTime());
  } finally {
    db.close();
  }
  const provisioner = options.provisioner ?? softwareCardProvisioner(layout);
  const card = await provisioner.issue({
    ca,
    institutionCode: institution.code,
    name: institution.name,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + (options.cardDays ?? 730) * 86_400_000),
  });
  serverTls(layout, now);
  const demo: SandboxDemo = { institution, user, card: card.card, pinSource: card.pinSource, caFile: layout.caCert, createdAt: now.toISOString() };
  const tmp = `${layout.demo}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(demo, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, layout.demo);
  return { created: true, dataDir: layout.root, demo };
}

export function registerInstitution(db: Db, code: string, name: string, at: number): void {
  db.prepare('INSERT INTO institutions (code, name, created_at) VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name').run(code, name, at);
}

export function registerUser(db: Db, institutionCode: string, nationalId: string, name: string, at: number): void {
  db.prepare('INSERT INTO users (institution_code, national_id, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET name = excluded.name').run(
    institutionCode,
    nationalId.toUpperCase(),
    name,
    at,
  );
}
