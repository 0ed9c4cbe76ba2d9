import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURE_NOW, fixture, labup } from '../helpers/cli.js';
import { tempDir } from './sandbox-support.js';

describe('labup sandbox (the real binary)', () => {
  const data = tempDir('labup-sbdata-');
  const home = tempDir('labup-home-');
  afterAll(() => {
    data.remove();
    home.remove();
  });

  it('sandbox init lays out the CA, the demo card and user, once', async () => {
    const r = await labup(['sandbox', 'init', '--data', data.path, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      created: true,
      dataDir: data.path,
      demo: { institution: { code: '3501200000', name: 'labup 示範醫院' }, user: { nationalId: 'A12****789' }, card: `p12:${join(data.path, 'cards', '3501200000.p12')}`, pinSource: `file:${join(data.path, 'cards', '3501200000.pass')}` },
    });
    for (const f of ['pki/ca.pem', 'pki/ca-key.pem', 'pki/server.pem', 'cards/3501200000.p12', 'demo.json', 'sandbox.db']) expect(existsSync(join(data.path, f)), f).toBe(true);
    expect(statSync(join(data.path, 'pki/ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(data.path, 'cards/3501200000.pass')).mode & 0o777).toBe(0o600);
    const again = await labup(['sandbox', 'init', '--data', data.path, '--json', '--show-ids']);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, demo: { user: { nationalId: 'A123456789' } } });
  });

  it('runs in the foreground, prints its URL, serves other labup processes, and stops cleanly on SIGTERM', async () => {
    const child = spawn('node', [BIN, 'sandbox', '--data', data.path, '--port', '0', '--processing-delay', '1s'], {
      env: { ...process.env, LABUP_NOW: FIXTURE_NOW, NO_COLOR: '1', LABUP_HOME: home.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${stderr}`)), 20_000);
        child.stdout.on('data', () => {
          const m = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const env = {
        LABUP_HOME: home.path,
        LABUP_PORTAL: url,
        LABUP_CARD: `p12:${join(data.path, 'cards', '3501200000.p12')}`,
        LABUP_PIN_SOURCE: `file:${join(data.path, 'cards', '3501200000.pass')}`,
        LABUP_USER_ID_SOURCE: 'env:DEMO_USER_ID',
        DEMO_USER_ID: 'A123456789',
        NO_PROXY: '127.0.0.1',
      };
      const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--json'], { env });
      expect(up.code).toBe(0);
      expect(JSON.parse(up.stdout).receiptNo).toBe('1151125000001');
      const st = await labup(['status', '--wait', '--json'], { env });
      expect(st.code).toBe(0);
      expect(JSON.parse(st.stdout).receipts[0]).toMatchObject({ status: 'passed' });
      expect(stderr).toMatch(/POST \/api\/v1\/submissions → 201/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('labup sandbox: stopped');
  });

  it('refuses a port in use with a clear error', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      const r = await labup(['sandbox', '--data', data.path, '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('PORT_IN_USE');
    } finally {
      srv.close();
    }
  });
});
