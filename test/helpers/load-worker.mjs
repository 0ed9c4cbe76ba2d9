// One thread of the load test's clients (test/integration/load.test.ts): each client has its own
// portal connection and its own connection to the shared journal (labup.db), signs in with the demo
// card and sends its ZIPs one after the other through labup's upload core (the built library).
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpPortalClient, fixedClock, openCard, openStore, uploadZip } from '../../dist/index.js';

const { url, card, pinSource, userId, journal, now, clients } = workerData;
const clock = fixedClock(now);

async function runClient({ name, zips }) {
  const store = openStore({ file: journal });
  const client = new HttpPortalClient({ baseUrl: url, id: 'load', noProxy: true, retries: 6, backoff: { baseMs: 20, maxMs: 200 }, sleep: (ms) => sleep(ms) });
  const c = await openCard(card, { pinSource });
  let session;
  const portal = {
    client,
    sandbox: undefined,
    institutionCode: null,
    signIn: async () => (session ??= await client.signIn({ card: c, userId })),
    close: () => client.close(),
  };
  const results = [];
  try {
    for (const [i, file] of zips.entries()) {
      const t0 = performance.now();
      try {
        const r = await uploadZip({ file, portal, store, clock });
        if (!r.ok) throw Object.assign(new Error('refused locally'), { code: 'LOCAL_REFUSAL' });
        results.push({ client: name, i, file, receiptNo: r.receiptNo, sha256: r.contentSha256, replayed: r.replayed, ms: performance.now() - t0 });
      } catch (err) {
        results.push({ client: name, i, file, error: { code: err.code ?? 'UNCODED', message: String(err.message), stack: String(err.stack) }, ms: performance.now() - t0 });
      }
    }
  } finally {
    await client.close();
    await c.close();
    store.close();
  }
  return results;
}

const all = await Promise.all(clients.map(runClient));
parentPort.postMessage(all.flat());
