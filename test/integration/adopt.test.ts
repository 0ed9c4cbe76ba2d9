/**
 * An upload whose answer was lost is never sent twice: before sending again, labup asks the portal
 * what it received for that 上傳日期 and adopts the submission with the ZIP's content hash. These
 * tests take the idempotency key away (a client that does not send it, as a portal adapter without
 * one would) so that only the adoption can keep the sandbox at one submission.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { runDaily } from '../../src/daily/daily.js';
import type { FaultAction, FaultPoint } from '../../src/sandbox/faults.js';
import { openStore, type Store } from '../../src/store/store.js';
import { journalAttempt, journalBegin, listJournal } from '../../src/store/journal.js';
import type { PortalConnection } from '../../src/transport/connect.js';
import type { HttpPortalClientOptions } from '../../src/transport/http-client.js';
import { idempotencyKey } from '../../src/transport/protocol.js';
import { sha256File, uploadZip } from '../../src/transport/upload.js';
import { recordingHost } from '../../src/io-host.js';
import { fixture } from '../helpers/cli.js';
import { DEMO_USER, send, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

const ZIP = fixture('valid/TOTFA.zip');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface World {
  t: TestSandbox;
  store: Store;
  home: string;
  conn: PortalConnection;
  /** Upload requests (POST /api/v1/submissions) the sandbox saw. */
  posts: number;
  /** Submission queries (GET /api/v1/submissions) the sandbox saw. */
  queries: number;
  /** Faults to apply, in order of the requests they match. */
  fault?: (p: FaultPoint) => FaultAction | undefined;
}

async function world(client: Partial<HttpPortalClientOptions> = {}): Promise<World> {
  const t = await testSandbox();
  const home = tempDir('labup-adopt-');
  const store = openStore({ file: join(home.path, 'labup.db') });
  // a client without the idempotency key: the portal cannot recognise a second send by itself
  const c = t.newClient({ id: 'sandbox:adopt', retries: 3, sendIdempotencyKey: false, ...client });
  let session: Awaited<ReturnType<typeof c.signIn>> | undefined;
  const w: World = {
    t,
    store,
    home: home.path,
    posts: 0,
    queries: 0,
    conn: {
      client: c,
      sandbox: undefined,
      institutionCode: '3501200000',
      card: async () => t.card,
      signIn: async () => (session ??= await c.signIn({ card: t.card, userId: DEMO_USER })),
      close: async () => undefined,
    },
  };
  t.sb.admin.setFaults((p) => {
    if (p.phase === 'request' && p.path === '/api/v1/submissions') {
      if (p.method === 'POST') w.posts++;
      else w.queries++;
    }
    return w.fault?.(p);
  });
  cleanups.push(async () => {
    store.close();
    await t.stop();
    home.remove();
  });
  return w;
}

const upload = (w: World, host = recordingHost()) => uploadZip({ file: ZIP, portal: w.conn, store: w.store, clock: w.t.clock, host });

describe('adopting what the portal received instead of sending again', () => {
  it('a portal that takes the upload and drops the connection: labup asks, adopts, and the sandbox holds one submission', async () => {
    const w = await world();
    // given a portal that commits the upload, then resets the connection before answering
    let dropped = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    const host = recordingHost();
    // when labup uploads
    const r = await upload(w, host);
    // then it sent once, asked once, and adopted the submission the portal made
    expect(r).toMatchObject({ ok: true, adopted: true, replayed: true });
    expect(w.posts).toBe(1);
    expect(w.queries).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    expect(w.t.sb.admin.submissions()[0]!.receiptNo).toBe((r as { receiptNo: string }).receiptNo);
    // and the journal says so: sent, adopted, with the failure that made the outcome unknown
    const [entry] = listJournal(w.store);
    expect(entry).toMatchObject({ state: 'sent', confirmedBy: 'adopted', attempts: 1, receiptNo: (r as { receiptNo: string }).receiptNo });
    expect(entry!.lastError).toMatch(/ECONNRESET|UND_ERR_SOCKET|UND_ERR_CLOSED|EPIPE/);
    expect(host.messages.map((m) => m.code)).toContain('UPLOAD_ADOPTED');
  });

  it('without the adoption the same fault makes a second submission (what the test above guards against)', async () => {
    const w = await world();
    let dropped = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    await w.conn.signIn();
    // a plain re-send, as a client that does not ask would do
    const r = await send(w.conn.client, ZIP);
    expect(r.replayed).toBe(false);
    expect(w.posts).toBe(2);
    expect(w.t.sb.admin.counts().submissions).toBe(2);
  });

  it('a timeout once the body was sent is an unknown outcome too: adopted, one submission', async () => {
    // given a portal that takes longer to answer than the request may last
    const w = await world({ requestTimeoutMs: 300, uploadMinBytesPerSecond: 1e12 });
    let slow = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && slow++ === 0 ? { kind: 'delay', ms: 1500 } : undefined);
    const r = await upload(w);
    expect(r).toMatchObject({ adopted: true });
    expect(w.posts).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    expect(listJournal(w.store)[0]).toMatchObject({ confirmedBy: 'adopted', lastError: 'REQUEST_TIMEOUT' });
  });

  it('when the portal received nothing, the query finds nothing and the ZIP is sent again: one submission', async () => {
    const w = await world();
    // given a connection dropped before the portal read the upload
    let dropped = 0;
    w.fault = (p) => (p.phase === 'request' && p.method === 'POST' && p.path === '/api/v1/submissions' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    const r = await upload(w);
    expect(r).toMatchObject({ adopted: false, replayed: false });
    expect(w.posts).toBe(2);
    expect(w.queries).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    expect(listJournal(w.store)[0]).toMatchObject({ state: 'sent', confirmedBy: 'answer', attempts: 2 });
  });

  it('when the portal cannot be asked, nothing is sent again: exit 5, the journal keeps the upload as unknown', async () => {
    const w = await world();
    // given a portal that drops the upload's answer and then every request
    let gone = false;
    w.fault = (p) => {
      if (p.phase === 'upload-committed') gone = true;
      return gone ? { kind: 'reset' } : undefined;
    };
    await expect(upload(w)).rejects.toMatchObject({ code: 'UPLOAD_OUTCOME_UNKNOWN', exitCode: 5, hint: expect.stringContaining('asks first') });
    expect(w.posts).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    expect(listJournal(w.store)[0]).toMatchObject({ state: 'sending', receiptNo: null });
    // when the portal is back, the same upload asks first and adopts: still one submission
    gone = false;
    w.fault = undefined;
    const again = await upload(w);
    expect(again).toMatchObject({ adopted: true });
    expect(w.posts).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });

  it('a run that died while sending: the next run asks before sending, and adopts without sending at all', async () => {
    const w = await world();
    await w.conn.signIn();
    // given a submission the portal made, and a journal left at “sending” by a process that died
    const first = await send(w.conn.client, ZIP);
    const { sha256, size } = await sha256File(ZIP);
    const entry = journalBegin(w.store, { portal: w.conn.client.id, institutionCode: '3501200000', uploadDate: '1151125', file: ZIP, fileName: 'TOTFA.zip', size, contentSha256: sha256, idempotencyKey: idempotencyKey(sha256, '1151125') }, w.t.clock);
    journalAttempt(w.store, entry.id, w.t.clock);
    const posts = w.posts;
    // when the upload runs again
    const r = await upload(w);
    // then it sent nothing: the portal's submission is adopted
    expect(r).toMatchObject({ adopted: true, receiptNo: first.receiptNo });
    expect(w.posts).toBe(posts);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
    expect(listJournal(w.store)[0]).toMatchObject({ state: 'sent', confirmedBy: 'adopted', attempts: 1 });
  });

  it('the same ZIP for the other allowed 上傳日期 is not adopted: it is another upload', async () => {
    const w = await world();
    await w.conn.signIn();
    await send(w.conn.client, ZIP, '1151124');
    let dropped = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    const r = await upload(w);
    expect(r).toMatchObject({ adopted: true, uploadDate: '115/11/25' });
    expect(w.t.sb.admin.submissions().map((s) => s.uploadDate)).toEqual(['1151124', '1151125']);
  });

  it('labup daily adopts too: one submission, the notice says so, the run passes', async () => {
    const w = await world();
    let dropped = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    let mono = 0;
    const cwd = tempDir('labup-adopt-cwd-');
    cleanups.push(() => cwd.remove());
    const r = await runDaily({
      inputs: [fixture('daily/lab-results.csv')],
      cwd: cwd.path,
      clock: w.t.clock,
      home: w.home,
      openStore: () => w.store,
      connect: async () => w.conn,
      waitTimeoutMs: 60_000,
      pollIntervalMs: 5000,
      firstPollMs: 1000,
      downloadDir: join(cwd.path, 'downloads'),
      userId: async () => ({ id: DEMO_USER, source: 'test', canAskAgain: false }),
      sleep: async (ms) => {
        mono += ms;
        w.t.clock.advance(ms);
        await w.t.sb.admin.processDue();
      },
      monotonicNow: () => mono,
    });
    expect(r).toMatchObject({ exitCode: 0, outcome: 'passed' });
    expect(r.notices.join('\n')).toMatch(/answer to the upload was lost.*adopted, nothing sent twice/);
    expect(r.steps.find((s) => s.step === 'upload')!.note).toContain('adopted');
    expect(w.posts).toBe(1);
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });
});

describe('what is retried, and how often', () => {
  it('--retries N is N tries in total; a refusal (4xx) is not retried; Retry-After is waited', async () => {
    const waits: number[] = [];
    const w = await world({ retries: 3, sleep: async (ms) => void waits.push(ms) });
    // a portal busy for longer than the tries allow
    w.fault = (p) => (p.phase === 'request' && p.method === 'POST' && p.path === '/api/v1/submissions' ? { kind: 'status', status: 503, retryAfterSeconds: 2 } : undefined);
    await expect(upload(w)).rejects.toMatchObject({ code: 'PORTAL_UNAVAILABLE', exitCode: 5 });
    expect(w.posts).toBe(3);
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms >= 2000)).toBe(true);
    // a busy portal did not handle the request: no need to ask what it received
    expect(w.queries).toBe(0);
    // a refusal is final
    w.posts = 0;
    w.fault = (p) => (p.phase === 'request' && p.method === 'POST' && p.path === '/api/v1/submissions' ? { kind: 'status', status: 422, code: 'ZIP_DAMAGED' } : undefined);
    await expect(upload(w)).rejects.toMatchObject({ code: 'ZIP_DAMAGED', exitCode: 1 });
    expect(w.posts).toBe(1);
    expect(listJournal(w.store)[0]).toMatchObject({ state: 'refused', lastError: 'ZIP_DAMAGED' });
  });

  it('a clock that is not the sandbox’s does not matter to adoption: the query is by 上傳日期 and hash', async () => {
    const w = await world();
    let dropped = 0;
    w.fault = (p) => (p.phase === 'upload-committed' && dropped++ === 0 ? { kind: 'reset' } : undefined);
    // labup's clock 30 s ahead of the sandbox's, the same day
    const r = await uploadZip({ file: ZIP, portal: w.conn, store: w.store, clock: fixedClock(w.t.clock.now().getTime() + 30_000) });
    expect(r).toMatchObject({ adopted: true });
    expect(w.t.sb.admin.counts().submissions).toBe(1);
  });
});
