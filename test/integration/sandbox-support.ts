/**
 * Shared set-up for the portal tests: a sandbox on 127.0.0.1 (port 0) in a temporary folder, with
 * a clock the tests move; the demo card; upload ZIPs built from synthetic records.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/clock.js';
import { createZip } from '../../src/archive/encrypted-zip.js';
import { openCard } from '../../src/card/open.js';
import type { Card } from '../../src/card/card.js';
import { SoftwareCard } from '../../src/card/software.js';
import { createPrivateKey } from 'node:crypto';
import { initSandbox } from '../../src/sandbox/setup.js';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../src/sandbox/server.js';
import { HttpPortalClient, type HttpPortalClientOptions } from '../../src/transport/http-client.js';
import { labRecord, prng } from '../../src/format/synthetic.js';
import { DailyXmlWriter, type DailyRecord } from '../../src/xml/builder.js';
import type { CalendarDateTime } from '../../src/format/roc.js';

/** The fixtures' evening: 115/11/25 21:00 in Taipei. */
export const NOW = '2026-11-25T21:00:00+08:00';
export const DEMO_USER = 'A123456789';
export const DEMO_INSTITUTION = '3501200000';

/** A temporary folder, created when first used (a suite filtered out leaves nothing behind). */
export function tempDir(prefix = 'labup-portal-'): { readonly path: string; remove(): void } {
  let path: string | undefined;
  return {
    get path() {
      path ??= mkdtempSync(join(tmpdir(), prefix));
      return path;
    },
    remove: () => {
      if (path) rmSync(path, { recursive: true, force: true });
    },
  };
}

/** A place for runs of the binary: `home` (LABUP_HOME), `cwd` (created), `config` (XDG_CONFIG_HOME) under `root`. */
export interface CliPlace {
  root: string;
  home: string;
  cwd: string;
  config: string;
  env: Record<string, string>;
}

/**
 * Places for runs of the binary, each `next()` a fresh one under one temporary folder (the sandbox
 * answering after `sandboxDelay`); `remove()` deletes them all.
 */
export function cliPlaces(prefix: string, sandboxDelay = '1s'): { next(): CliPlace; remove(): void } {
  const dir = tempDir(prefix);
  let n = 0;
  return {
    next: () => {
      const root = join(dir.path, `p${++n}`);
      const home = join(root, 'home');
      const cwd = join(root, 'work');
      const config = join(root, 'config');
      mkdirSync(cwd, { recursive: true });
      return { root, home, cwd, config, env: { LABUP_HOME: home, XDG_CONFIG_HOME: config, LABUP_SANDBOX_DELAY: sandboxDelay } };
    },
    remove: () => dir.remove(),
  };
}

export interface TestSandbox {
  sb: RunningSandbox;
  clock: ReturnType<typeof fixedClock>;
  dir: string;
  card: Card;
  /** A client signed in as the demo user with the demo card. */
  client: HttpPortalClient;
  /** Another client (not signed in). */
  newClient(o?: Partial<HttpPortalClientOptions>): HttpPortalClient;
  /** The environment for the real binary: this portal, the demo card and user, LABUP_HOME `home`. */
  env(home: string): Record<string, string>;
  /** Moves the clock past the processing delay and processes everything due. */
  processAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function testSandbox(o: Partial<StartSandboxOptions> & { at?: string } = {}): Promise<TestSandbox> {
  const tmp = tempDir();
  const clock = fixedClock(o.at ?? NOW);
  await initSandbox({ dataDir: tmp.path, clock });
  const sb = await startSandbox({ dataDir: tmp.path, port: 0, clock, processingDelayMs: 5000, ...o });
  const card = await openCard(sb.demo!.card, { pinSource: sb.demo!.pinSource });
  const clients: HttpPortalClient[] = [];
  const newClient = (co: Partial<HttpPortalClientOptions> = {}) => {
    const c = new HttpPortalClient({ baseUrl: sb.url, noProxy: true, caPem: sb.caCertPem, sleep: async () => undefined, ...co });
    clients.push(c);
    return c;
  };
  const client = newClient();
  await client.signIn({ card, userId: DEMO_USER });
  return {
    sb,
    clock,
    dir: tmp.path,
    card,
    client,
    newClient,
    env: (home) => ({
      LABUP_HOME: home,
      LABUP_PORTAL: sb.url,
      LABUP_CARD: sb.demo!.card,
      LABUP_PIN_SOURCE: sb.demo!.pinSource,
      LABUP_USER_ID_SOURCE: 'env:DEMO_USER_ID',
      DEMO_USER_ID: DEMO_USER,
      NO_PROXY: '127.0.0.1',
    }),
    async processAll() {
      clock.advance(6000);
      await sb.admin.processDue();
    },
    async stop() {
      for (const c of clients) await c.close();
      await card.close();
      await sb.stop();
      tmp.remove();
    },
  };
}

/** A software card from PEM material (e.g. issued by admin.issueCard). */
export function cardFrom(material: { certPem: string; keyPem: string }): Card {
  return new SoftwareCard('test-card', createPrivateKey(material.keyPem), material.certPem);
}

const SAMPLED: CalendarDateTime = { year: 2026, month: 11, day: 25, hour: 8, minute: 30, second: 5 };
const UPLOADED: CalendarDateTime = { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 };

export function record(patient: number, o: { institution?: string; uploadedAt?: CalendarDateTime } = {}): DailyRecord {
  return labRecord({ sampledAt: SAMPLED, uploadedAt: o.uploadedAt ?? UPLOADED, patient, ...(o.institution ? { institution: o.institution } : {}) }, prng(patient), patient % 3);
}

export function dailyXml(records: DailyRecord[]): Buffer {
  const w = new DailyXmlWriter({ encoding: 'big5' });
  return Buffer.concat([w.head(), ...records.map((r) => w.record(r)), w.tail()]);
}

/** An upload ZIP (one XML) written to `dir/name`. */
export async function uploadZip(dir: string, name: string, records: DailyRecord[], entry = 'TOTFA.xml'): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await createZip([{ name: entry, data: dailyXml(records) }]));
  return path;
}

import { basename } from 'node:path';
import { sha256File } from '../../src/transport/upload.js';
import { idempotencyKey } from '../../src/transport/protocol.js';
import type { PortalClient, UploadResult } from '../../src/transport/portal-client.js';

/** Sends a ZIP as `labup upload` would (same idempotency key for the same ZIP and date). */
export async function send(client: PortalClient, path: string, uploadDate = '1151125'): Promise<UploadResult> {
  const { sha256, size } = await sha256File(path);
  return client.upload({ file: path, fileName: basename(path), size, uploadDate, contentSha256: sha256, idempotencyKey: idempotencyKey(sha256, uploadDate.replace(/\//g, '')) });
}
