import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpPortalClient } from '../../src/transport/http-client.js';
import { DEMO_USER, testSandbox, type TestSandbox } from './sandbox-support.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

describe('transport: TLS, proxy and deadlines', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await testSandbox({ tls: true });
  });
  afterAll(() => t.stop());

  it('verifies the portal’s certificate: refused without the CA, accepted with --ca, never retried', async () => {
    expect(t.sb.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const waits: number[] = [];
    const untrusting = new HttpPortalClient({ baseUrl: t.sb.url, noProxy: true, sleep: async (ms) => void waits.push(ms) });
    await expect(untrusting.info()).rejects.toMatchObject({ code: 'TLS_UNTRUSTED', exitCode: 5, hint: expect.stringContaining('--ca') });
    expect(waits).toEqual([]);
    await untrusting.close();
    const trusting = new HttpPortalClient({ baseUrl: t.sb.url, noProxy: true, caFile: t.sb.caFile });
    expect((await trusting.info()).sandbox).toBe(true);
    await trusting.signIn({ card: t.card, userId: DEMO_USER });
    await trusting.close();
    expect(() => new HttpPortalClient({ baseUrl: t.sb.url, caFile: '/nonexistent/ca.pem' })).toThrow(expect.objectContaining({ code: 'CA_FILE_INVALID' }));
  });

  it('goes through HTTPS_PROXY (CONNECT), and around it for NO_PROXY hosts', async () => {
    // given a CONNECT proxy on 127.0.0.1 that counts its tunnels
    let tunnels = 0;
    const proxy = createServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels++;
      const [host, port] = String(req.url).split(':');
      const upstream = connect(Number(port), host!, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    const proxyUrl = await listen(proxy);
    try {
      const via = new HttpPortalClient({ baseUrl: t.sb.url, caFile: t.sb.caFile, env: { HTTPS_PROXY: proxyUrl } });
      expect((await via.info()).sandbox).toBe(true);
      expect(tunnels).toBe(1);
      await via.close();
      const around = new HttpPortalClient({ baseUrl: t.sb.url, caFile: t.sb.caFile, env: { HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
      await around.info();
      expect(tunnels).toBe(1);
      await around.close();
    } finally {
      proxy.close();
    }
  });

  it('gives up on an answer that trickles past the deadline, and tries again', async () => {
    // given a server that answers one byte every 100 ms, forever
    const trickle = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    });
    const url = await listen(trickle);
    try {
      const waits: number[] = [];
      const client = new HttpPortalClient({ baseUrl: url, noProxy: true, requestTimeoutMs: 600, retries: 2, sleep: async (ms) => void waits.push(ms) });
      const t0 = performance.now();
      await expect(client.info()).rejects.toMatchObject({ code: 'PORTAL_UNAVAILABLE', exitCode: 5, message: expect.stringContaining('no complete answer within') });
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(waits).toHaveLength(1);
      await client.close();
    } finally {
      trickle.closeAllConnections();
      trickle.close();
    }
  });

  it('retries a refused connection, then reports the portal unreachable', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((r) => closed.close(r));
    const waits: number[] = [];
    const client = new HttpPortalClient({ baseUrl: url, noProxy: true, retries: 3, sleep: async (ms) => void waits.push(ms) });
    await expect(client.info()).rejects.toMatchObject({ code: 'PORTAL_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(waits).toHaveLength(2);
    await client.close();
  });
});

