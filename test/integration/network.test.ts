/**
 * The network as a hospital has it: a proxy the client must go through, a private CA, and an
 * environment that tries to switch TLS verification off. The real binary against a TLS sandbox on
 * 127.0.0.1 that only the proxy knows how to reach.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpPortalClient } from '../../src/transport/http-client.js';
import { proxyRoute, maskProxyUrl } from '../../src/transport/proxy.js';
import { labup, fixture } from '../helpers/cli.js';
import { DEMO_USER, tempDir, testSandbox, type TestSandbox } from './sandbox-support.js';

/** The portal's name as the client uses it: port 1 on localhost, where nothing listens. */
const HIDDEN = 'https://localhost:1';

interface Proxy {
  url: string;
  /** CONNECT requests seen, as `host:port`. */
  tunnels: string[];
  /** Proxy-Authorization headers seen. */
  auth: Array<string | undefined>;
  close(): Promise<void>;
}

/** A CONNECT proxy on 127.0.0.1 that sends `localhost:1` to the sandbox; with `credentials`, it wants them. */
async function startProxy(sandboxPort: number, credentials?: string): Promise<Proxy> {
  const tunnels: string[] = [];
  const auth: Array<string | undefined> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    tunnels.push(String(req.url));
    auth.push(req.headers['proxy-authorization']);
    if (credentials && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="labup"\r\n\r\n');
      return;
    }
    const [host, port] = String(req.url).split(':');
    const target = host === 'localhost' && port === '1' ? sandboxPort : Number(port);
    const upstream = connect(target, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    auth,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('network: proxy, CA, TLS verification (the real binary)', () => {
  let t: TestSandbox;
  let proxy: Proxy;
  const home = tempDir('labup-network-');
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testSandbox({ tls: true });
    proxy = await startProxy(Number(new URL(t.sb.url).port));
    env = {
      LABUP_HOME: home.path,
      XDG_CONFIG_HOME: `${home.path}/config`,
      LABUP_CARD: t.sb.demo!.card,
      LABUP_PIN_SOURCE: t.sb.demo!.pinSource,
      LABUP_USER_ID_SOURCE: 'env:DEMO_USER_ID',
      DEMO_USER_ID: DEMO_USER,
      HTTPS_PROXY: '',
      HTTP_PROXY: '',
      NO_PROXY: '',
      https_proxy: '',
      http_proxy: '',
      no_proxy: '',
    };
  });
  afterAll(async () => {
    await proxy.close();
    await t.stop();
    home.remove();
  });

  it('reaches a portal only the proxy can reach, through HTTPS_PROXY; not without it, nor around it for NO_PROXY', async () => {
    // given the portal's address, which only the proxy resolves to the sandbox
    const through = await labup(['doctor', '--portal', HIDDEN, '--ca', t.sb.caFile, '--json'], { env: { ...env, HTTPS_PROXY: proxy.url } });
    const doc = JSON.parse(through.stdout);
    const portal = doc.checks.find((c: { id: string }) => c.id === 'portal');
    expect(portal).toMatchObject({ status: 'ok', data: { route: { kind: 'proxy', proxy: proxy.url, from: 'HTTPS_PROXY' } } });
    expect(portal.message).toContain(`through the proxy ${proxy.url}`);
    expect(proxy.tunnels).toContain('localhost:1');
    expect(through.code).toBe(0);
    // the whole job goes through it: sign-in and upload
    const before = proxy.tunnels.length;
    const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--portal', HIDDEN, '--ca', t.sb.caFile, '--json'], { env: { ...env, HTTPS_PROXY: proxy.url } });
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).receiptNo).toMatch(/^1151125\d{6}$/);
    expect(proxy.tunnels.length).toBeGreaterThan(before);
    // without the proxy, the same portal cannot be reached
    const direct = await labup(['doctor', '--portal', HIDDEN, '--ca', t.sb.caFile, '--retries', '1', '--json'], { env });
    expect(direct.code).toBe(5);
    expect(JSON.parse(direct.stdout).checks.find((c: { id: string }) => c.id === 'portal')).toMatchObject({ status: 'fail', message: expect.stringContaining('ECONNREFUSED') });
    // and NO_PROXY sends it around the proxy (so it fails the same way)
    const tunnels = proxy.tunnels.length;
    const around = await labup(['doctor', '--portal', HIDDEN, '--ca', t.sb.caFile, '--retries', '1', '--json'], { env: { ...env, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost' } });
    expect(around.code).toBe(5);
    expect(JSON.parse(around.stdout).checks.find((c: { id: string }) => c.id === 'portal').message).toContain('ECONNREFUSED');
    expect(proxy.tunnels.length).toBe(tunnels);
  });

  it('gives the proxy its credentials from the URL, and never prints the password', async () => {
    const guarded = await startProxy(Number(new URL(t.sb.url).port), 'nurse:s3cret-proxy-pw');
    try {
      const r = await labup(['doctor', '--portal', HIDDEN, '--ca', t.sb.caFile, '--log-file', `${home.path}/doctor.jsonl`], {
        env: { ...env, HTTPS_PROXY: guarded.url.replace('http://', 'http://nurse:s3cret-proxy-pw@') },
      });
      expect(r.code).toBe(0);
      expect(guarded.auth.at(-1)).toBe(`Basic ${Buffer.from('nurse:s3cret-proxy-pw').toString('base64')}`);
      expect(r.stdout).toContain('through the proxy http://nurse:****@127.0.0.1');
      const { readFileSync } = await import('node:fs');
      for (const text of [r.stdout, r.stderr, readFileSync(`${home.path}/doctor.jsonl`, 'utf8')]) expect(text).not.toContain('s3cret-proxy-pw');
      // wrong credentials: the proxy refuses, labup says it could not reach the portal
      const refused = await labup(['doctor', '--portal', HIDDEN, '--ca', t.sb.caFile, '--retries', '1'], { env: { ...env, HTTPS_PROXY: guarded.url.replace('http://', 'http://nurse:wrong@') } });
      expect(refused.code).toBe(5);
      expect(refused.stdout + refused.stderr).not.toContain('wrong@');
    } finally {
      await guarded.close();
    }
  });

  it('trusts a private CA from --ca or LABUP_CA_FILE, and refuses the portal without it (exit 5, not retried)', async () => {
    const untrusted = await labup(['doctor', '--portal', t.sb.url, '--json'], { env });
    expect(untrusted.code).toBe(5);
    expect(JSON.parse(untrusted.stdout).checks.find((c: { id: string }) => c.id === 'portal')).toMatchObject({ status: 'fail', code: 'TLS_UNTRUSTED', hint: expect.stringContaining('--ca FILE') });
    const byEnv = await labup(['doctor', '--portal', t.sb.url, '--json'], { env: { ...env, LABUP_CA_FILE: t.sb.caFile } });
    expect(byEnv.code).toBe(0);
    expect(JSON.parse(byEnv.stdout).checks.find((c: { id: string }) => c.id === 'portal').message).toContain(`and ${t.sb.caFile}`);
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 does not turn verification off, directly or through the proxy; labup says it ignores it', async () => {
    for (const [portal, extra] of [
      [t.sb.url, {}],
      [HIDDEN, { HTTPS_PROXY: proxy.url }],
    ] as const) {
      const r = await labup(['upload', fixture('valid/TOTFA.zip'), '--portal', portal], { env: { ...env, ...extra, NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('[TLS_UNTRUSTED]');
      expect(r.stderr).toContain('NODE_TLS_REJECT_UNAUTHORIZED=0 is set: labup ignores it');
    }
  });
});

describe('the client, against small servers', () => {
  it('reads an HTTP-date Retry-After against the portal’s own Date, not this computer’s clock', async () => {
    // given a portal whose clock is years away from ours, busy once for three of its seconds
    let n = 0;
    const server = createServer((_req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(503, { Date: 'Tue, 01 Jan 2030 00:00:00 GMT', 'Retry-After': 'Tue, 01 Jan 2030 00:00:03 GMT', 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"BUSY","message":"busy"}}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"service":"test","protocol":"1","job":{"name":"x","code":"1300"},"serverTime":"2030-01-01T08:00:03+08:00","sandbox":false}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const waits: number[] = [];
      const client = new HttpPortalClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, noProxy: true, sleep: async (ms) => void waits.push(ms), random: () => 0 });
      const info = await client.info();
      expect(info.service).toBe('test');
      expect(waits).toEqual([3000]);
      await client.close();
    } finally {
      server.close();
    }
  });

  it('routes like undici: HTTPS_PROXY (else HTTP_PROXY) for https, NO_PROXY by host, domain and port; credentials masked', () => {
    const route = (url: string, s: Partial<{ httpProxy: string; httpsProxy: string; noProxy: string }>) => proxyRoute(new URL(url), { httpProxy: '', httpsProxy: '', noProxy: '', ...s });
    expect(route('https://portal.example/', {})).toEqual({ kind: 'direct', reason: 'no HTTPS_PROXY or HTTP_PROXY set' });
    expect(route('https://portal.example/', { httpProxy: 'http://p:3128' })).toMatchObject({ kind: 'proxy', proxy: 'http://p:3128', from: 'HTTP_PROXY' });
    expect(route('https://portal.example/', { httpsProxy: 'http://u:pw@p:3128' })).toMatchObject({ kind: 'proxy', proxy: 'http://u:****@p:3128', from: 'HTTPS_PROXY' });
    expect(route('https://a.portal.example/', { httpsProxy: 'http://p:3128', noProxy: '.portal.example' })).toMatchObject({ kind: 'direct' });
    expect(route('https://portal.example:8443/', { httpsProxy: 'http://p:3128', noProxy: 'portal.example:443' })).toMatchObject({ kind: 'proxy' });
    expect(route('https://portal.example/', { httpsProxy: 'http://p:3128', noProxy: 'portal.example:443' })).toMatchObject({ kind: 'direct' });
    expect(route('https://portal.example/', { httpsProxy: 'http://p:3128', noProxy: '*' })).toMatchObject({ kind: 'direct', reason: 'NO_PROXY is *' });
    expect(maskProxyUrl('http://token@p:3128')).toBe('http://****@p:3128');
  });
});
