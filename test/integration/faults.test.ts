/**
 * Fault injection: `labup upload`'s core (journal first, then the transport with its retries)
 * against a sandbox that misbehaves on purpose. Whatever the fault, the client ends in one of two
 * correct states, checked against the sandbox's own records and the client journal:
 *
 * - survived: exactly one submission at the portal, its 收件序號 in the journal (`sent`);
 * - gave up: a coded error, and nothing half-done — no submission (or, when the portal did commit
 *   before the answer was lost, exactly one, which the journal's `sending` entry finds again) and
 *   no partial file in the sandbox; the same command run again ends with exactly one submission.
 *
 * Waits between retries are recorded, not slept; only the slow-answer cases take real time (a
 * client timeout of 800 ms).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabupError } from '../../src/errors.js';
import { faultsFromSpec } from '../../src/sandbox/faults.js';
import { openStore, type Store } from '../../src/store/store.js';
import { findJournalEntry, listJournal, type JournalEntry } from '../../src/store/journal.js';
import type { PortalConnection } from '../../src/transport/connect.js';
import { downloadFiles } from '../../src/transport/download.js';
import type { HttpPortalClient, HttpPortalClientOptions } from '../../src/transport/http-client.js';
import { checkStatus } from '../../src/transport/status.js';
import { sha256File, uploadZip, type UploadSummary } from '../../src/transport/upload.js';
import { DEMO_USER, record, tempDir, testSandbox, uploadZip as writeUploadZip, type TestSandbox } from './sandbox-support.js';

const PORTAL = 'sandbox:faults';

let t: TestSandbox;
let store: Store;
const home = tempDir('labup-faults-home-');
const zips = tempDir('labup-faults-zips-');
let zipSeq = 0;

beforeAll(async () => {
  t = await testSandbox();
  store = openStore({ file: join(home.path, 'labup.db') });
});
afterAll(async () => {
  store.close();
  await t.stop();
  home.remove();
  zips.remove();
});

/** A ZIP no earlier case sent (its own patients), of about `records` × 300 bytes. */
async function freshZip(records = 3): Promise<string> {
  zipSeq++;
  return writeUploadZip(zips.path, `F${zipSeq}.zip`, Array.from({ length: records }, (_, i) => record(zipSeq * 100 + i)));
}

function connection(client: HttpPortalClient, sandbox: TestSandbox): PortalConnection {
  let session: Awaited<ReturnType<HttpPortalClient['signIn']>> | undefined;
  return {
    client,
    sandbox: undefined,
    institutionCode: '3501200000',
    signIn: async () => (session ??= await client.signIn({ card: sandbox.card, userId: DEMO_USER })),
    close: () => client.close(),
  };
}

interface Attempt {
  result?: UploadSummary;
  error?: LabupError;
  /** Waits the client asked for between tries (ms). */
  waits: number[];
  /** How many times each rule of the spec fired. */
  fired: number[];
}

/** `labup upload ZIP` with the sandbox injecting `spec` (none: a well-behaved portal). */
async function upload(zip: string, spec?: string, o: Partial<HttpPortalClientOptions> = {}, sandbox: TestSandbox = t): Promise<Attempt> {
  const hook = spec ? faultsFromSpec(spec) : undefined;
  sandbox.sb.admin.setFaults(hook);
  const waits: number[] = [];
  const client = sandbox.newClient({ id: PORTAL, sleep: async (ms) => void waits.push(ms), ...o });
  try {
    const r = await uploadZip({ file: zip, portal: connection(client, sandbox), store, clock: sandbox.clock });
    if (!r.ok) throw new Error(`refused locally: ${r.report.errors.map((e) => e.code).join(', ')}`);
    return { result: r, waits, fired: hook?.fired ?? [] };
  } catch (err) {
    if (!(err instanceof LabupError)) throw err;
    return { error: err, waits, fired: hook?.fired ?? [] };
  } finally {
    sandbox.sb.admin.setFaults(undefined);
    await client.close();
  }
}

/** The sandbox's submissions of this ZIP's content. */
async function atPortal(zip: string, sandbox: TestSandbox = t) {
  const { sha256 } = await sha256File(zip);
  return sandbox.sb.admin.submissions().filter((s) => s.contentSha256 === sha256);
}

async function journalOf(zip: string): Promise<JournalEntry | undefined> {
  const { sha256 } = await sha256File(zip);
  return listJournal(store, { portal: PORTAL }).find((e) => e.contentSha256 === sha256);
}

/** Survived: one submission at the portal, the same 收件序號 in the journal. */
async function expectExactlyOne(zip: string, receiptNo: string): Promise<void> {
  const rows = await atPortal(zip);
  expect(rows.map((r) => r.receiptNo)).toEqual([receiptNo]);
  const j = await journalOf(zip);
  expect(j).toMatchObject({ state: 'sent', receiptNo });
  // an answer that arrived leaves no error; a submission learned by asking the portal keeps why it had to ask
  if (j!.confirmedBy === 'adopted') expect(j!.lastError).toMatch(/^[A-Z_]+$/);
  else expect(j!.lastError).toBeNull();
  expect(findJournalEntry(store, PORTAL, rows[0]!.idempotencyKey)).toBeDefined();
}

/** No upload half-received: the sandbox's intake folder is empty, and every ZIP it kept is a submission. */
function expectNoPartialFiles(sandbox: TestSandbox = t): void {
  expect(readdirSync(sandbox.sb.admin.layout.incoming)).toEqual([]);
  expect(readdirSync(sandbox.sb.admin.layout.submissions)).toHaveLength(sandbox.sb.admin.counts().submissions);
}

let survived = 0;
let gaveUpCleanly = 0;

describe('upload through a fault it can outlast: exactly one submission, its 收件序號 journaled', () => {
  const cases: Array<{ spec: string; what: string; client?: Partial<HttpPortalClientOptions>; replayed?: boolean; minWaits?: number[] }> = [
    { spec: 'upload:reset:once', what: 'connection reset before the body is read' },
    { spec: 'upload:reset-mid-upload:after-bytes=512:once', what: 'connection reset mid-upload, before the commit' },
    { spec: 'upload:reset-after-commit:once', what: 'connection reset after the commit (the answer is lost)', replayed: true },
    { spec: 'upload:502:html:times=2', what: 'a proxy’s 502 page, twice' },
    { spec: 'upload:503:retry-after=2:times=3', what: '503 with Retry-After: 2, three times', minWaits: [2000, 2000, 2000] },
    { spec: 'upload:429:retry-after=1:once', what: '429 with Retry-After: 1', minWaits: [1000] },
    { spec: 'upload:504:once', what: 'a gateway timeout' },
    { spec: 'upload:slow:3s:once', what: 'an answer slower than the client’s timeout, before the commit', client: { requestTimeoutMs: 800 } },
    { spec: 'upload:slow-after-commit:3s:once', what: 'an answer slower than the client’s timeout, after the commit', client: { requestTimeoutMs: 800 }, replayed: true },
    { spec: 'upload:expire-session:once', what: 'the session ended between sign-in and upload' },
    { spec: 'challenge:503:once,signin:reset:once', what: 'sign-in interrupted twice' },
    { spec: 'upload:reset-after-commit', what: 'every answer lost after the commit (the portal is asked what it holds, and its submission adopted)', client: { retries: 2 }, replayed: true },
    { spec: 'upload:reset-mid-upload:after-bytes=512:once,upload:503:skip=1:once,upload:slow-after-commit:3s:once', what: 'three different faults in a row', client: { requestTimeoutMs: 800 }, replayed: true },
  ];

  for (const c of cases) {
    it(`${c.what} (${c.spec})`, async () => {
      // given a ZIP and a portal injecting the fault
      const zip = await freshZip(c.spec.includes('mid-upload') ? 12 : 3);
      const before = t.sb.admin.counts().submissions;
      // when it is uploaded once
      const a = await upload(zip, c.spec, c.client);
      // then the upload succeeds after the fault fired, and the portal has exactly one submission
      expect(a.error, a.error?.message).toBeUndefined();
      expect(a.fired.every((n) => n >= 1)).toBe(true);
      expect(a.result!.replayed).toBe(c.replayed ?? false);
      expect(t.sb.admin.counts().submissions).toBe(before + 1);
      await expectExactlyOne(zip, a.result!.receiptNo);
      for (const [i, w] of (c.minWaits ?? []).entries()) expect(a.waits[i]).toBeGreaterThanOrEqual(w);
      expectNoPartialFiles();
      survived++;
    });
  }
});

describe('upload through a fault it cannot outlast: a coded error, nothing half-done, and the rerun sends it once', () => {
  const cases: Array<{
    spec: string;
    what: string;
    client?: Partial<HttpPortalClientOptions>;
    code: string;
    exitCode: number;
    /** What the journal says after the failure: nothing, `sending` (the portal may have it) or `refused` (it has not). */
    journal: 'none' | 'sending' | 'refused';
    /** Submissions the portal holds after the failure (1 only when it committed and the answer was lost). */
    atPortal: 0 | 1;
    tries?: number;
  }> = [
    { spec: 'upload:500:once', what: 'a 500 (not retried: the portal failed, not the network)', code: 'INTERNAL', exitCode: 5, journal: 'sending', atPortal: 0, tries: 1 },
    { spec: 'upload:503:retry-after=1', what: '503 for longer than the tries allow', client: { retries: 3 }, code: 'PORTAL_UNAVAILABLE', exitCode: 5, journal: 'sending', atPortal: 0, tries: 3 },
    { spec: 'upload:503:retry-after=3600', what: 'a Retry-After longer than labup waits (5 minutes)', code: 'PORTAL_UNAVAILABLE', exitCode: 5, journal: 'sending', atPortal: 0, tries: 1 },
    { spec: 'upload:reset-mid-upload:after-bytes=256', what: 'every upload cut mid-body', client: { retries: 2 }, code: 'PORTAL_UNAVAILABLE', exitCode: 5, journal: 'sending', atPortal: 0, tries: 2 },
    { spec: 'upload:expire-session', what: 'the session ends at every upload', code: 'SESSION_EXPIRED', exitCode: 4, journal: 'refused', atPortal: 0, tries: 2 },
    { spec: 'slow:3s', what: 'every answer slower than the client’s timeout', client: { requestTimeoutMs: 800, retries: 2 }, code: 'PORTAL_UNAVAILABLE', exitCode: 5, journal: 'none', atPortal: 0 },
  ];

  for (const c of cases) {
    it(`${c.what} (${c.spec})`, async () => {
      // given a ZIP and a portal injecting the fault
      const zip = await freshZip(c.spec.includes('mid-upload') ? 12 : 3);
      const requests = t.sb.admin.counts().requests;
      // when it is uploaded
      const a = await upload(zip, c.spec, c.client);
      // then a coded error, saying what happened and what to do
      expect(a.result).toBeUndefined();
      expect(a.error).toMatchObject({ code: c.code, exitCode: c.exitCode });
      expect(a.error!.message.length).toBeGreaterThan(10);
      expect(a.error!.hint).toBeTruthy();
      if (c.tries !== undefined) expect(a.fired[0]).toBe(c.tries);
      // and nothing half-done: the portal holds what the journal expects, no partial file anywhere
      expect(await atPortal(zip)).toHaveLength(c.atPortal);
      const j = await journalOf(zip);
      if (c.journal === 'none') expect(j).toBeUndefined();
      else expect(j).toMatchObject({ state: c.journal, receiptNo: null, lastError: c.code });
      expectNoPartialFiles();
      expect(t.sb.admin.counts().requests).toBeGreaterThan(requests);
      // when the same upload runs again on a well-behaved portal
      const again = await upload(zip);
      // then exactly one submission: the one the portal already had, if it had one
      expect(again.error, again.error?.message).toBeUndefined();
      expect(again.result!.replayed).toBe(c.atPortal === 1);
      await expectExactlyOne(zip, again.result!.receiptNo);
      gaveUpCleanly++;
    });
  }

  it('a TLS certificate the client does not trust: refused before anything is journaled or sent, never retried; accepted with the CA', async () => {
    // given a portal over HTTPS with a certificate from the sandbox's own CA
    const tls = await testSandbox({ tls: true });
    try {
      const zip = await freshZip();
      // when the client trusts only the system's CAs
      const a = await upload(zip, undefined, { caPem: undefined }, tls);
      // then it is refused, naming --ca; nothing was sent or journaled
      expect(a.error).toMatchObject({ code: 'TLS_UNTRUSTED', exitCode: 5, hint: expect.stringContaining('--ca') });
      expect(a.waits).toEqual([]);
      expect(tls.sb.admin.counts().submissions).toBe(0);
      expect(await journalOf(zip)).toBeUndefined();
      // when it is given the CA (--ca FILE)
      const b = await upload(zip, undefined, { caPem: undefined, caFile: tls.sb.caFile }, tls);
      // then the upload goes through: one submission
      expect(b.error).toBeUndefined();
      expect((await atPortal(zip, tls)).map((s) => s.receiptNo)).toEqual([b.result!.receiptNo]);
      expectNoPartialFiles(tls);
      gaveUpCleanly++;
    } finally {
      await tls.stop();
    }
  });
});

describe('status and download through faults', () => {
  it('處理狀態 queries outlast 503s and resets; the journal records the status once learned', async () => {
    // given an upload the portal has checked
    const zip = await freshZip();
    const up = await upload(zip);
    await t.processAll();
    // when its status is asked through faults
    t.sb.admin.setFaults(faultsFromSpec('status:503:retry-after=1:times=2,status:reset:skip=2:once'));
    const waits: number[] = [];
    const client = t.newClient({ id: PORTAL, sleep: async (ms) => void waits.push(ms) });
    await client.signIn({ card: t.card, userId: DEMO_USER });
    try {
      const r = await checkStatus({ client, receipts: [up.result!.receiptNo], store, clock: t.clock });
      // then the answer arrives, and the journal knows it
      expect(r.receipts).toEqual([expect.objectContaining({ receiptNo: up.result!.receiptNo, status: 'passed' })]);
      expect(waits).toHaveLength(3);
      expect(await journalOf(zip)).toMatchObject({ status: 'passed', statusText: '檢核正確' });
      survived++;
    } finally {
      t.sb.admin.setFaults(undefined);
      await client.close();
    }
  });

  it('a download cut short, trickling past the timeout, or listed through a 503 is fetched again: one file, whole, mode 0600, no temporary file left', async () => {
    // given a checked upload
    const zip = await freshZip();
    const up = await upload(zip);
    await t.processAll();
    const out = tempDir('labup-faults-dl-');
    const specs = ['download:reset-mid-response:once', 'download:trickle:100:once', 'files:503:retry-after=1:once,download:reset:once'];
    try {
      for (const spec of specs) {
        // when its check file is downloaded through the fault (into an empty folder)
        const dir = join(out.path, String(specs.indexOf(spec)));
        const hook = faultsFromSpec(spec);
        t.sb.admin.setFaults(hook);
        const client = t.newClient({ id: PORTAL, requestTimeoutMs: 800 });
        await client.signIn({ card: t.card, userId: DEMO_USER });
        try {
          const r = await downloadFiles({ client, receiptNo: up.result!.receiptNo, outDir: dir, store, clock: t.clock });
          // then the file arrives whole, once, with nothing else in the folder
          expect(hook.fired.every((n) => n === 1), spec).toBe(true);
          expect(r.failures, spec).toEqual([]);
          expect(r.files).toEqual([expect.objectContaining({ name: `1300_${up.result!.receiptNo}.msg.txt`, skipped: false })]);
          expect(readdirSync(dir)).toEqual([`1300_${up.result!.receiptNo}.msg.txt`]);
          const { sha256 } = await sha256File(join(dir, r.files[0]!.name));
          expect(sha256).toBe(r.files[0]!.sha256);
          survived++;
        } finally {
          t.sb.admin.setFaults(undefined);
          await client.close();
        }
      }
      // when every try is cut short
      const dir = join(out.path, 'never');
      t.sb.admin.setFaults(faultsFromSpec('download:reset-mid-response'));
      const client = t.newClient({ id: PORTAL, retries: 2 });
      await client.signIn({ card: t.card, userId: DEMO_USER });
      try {
        const r = await downloadFiles({ client, receiptNo: up.result!.receiptNo, outDir: dir, store, clock: t.clock });
        // then the failure is reported with its code, and no file (partial or temporary) is left
        expect(r.files).toEqual([]);
        expect(r.failures).toEqual([expect.objectContaining({ code: 'PORTAL_UNAVAILABLE', exitCode: 5 })]);
        expect(readdirSync(dir)).toEqual([]);
        gaveUpCleanly++;
      } finally {
        t.sb.admin.setFaults(undefined);
        await client.close();
      }
    } finally {
      out.remove();
    }
  });
});

describe('the tally', () => {
  it('every fault case ended correctly', () => {
    // 13 upload faults + 1 status + 3 download faults outlasted; 6 upload failures + TLS + 1 download failure given up cleanly
    expect({ survived, gaveUpCleanly }).toEqual({ survived: 17, gaveUpCleanly: 8 });
  });
});
