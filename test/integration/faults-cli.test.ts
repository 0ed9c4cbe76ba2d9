/**
 * `labup sandbox --faults SPEC` and `--tls`, as an operator or a CI job uses them: a real sandbox
 * process misbehaving on purpose, and real `labup` commands that must end in a correct state.
 */
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, labup } from '../helpers/cli.js';
import { startSandboxProcess, type SandboxProcess } from '../helpers/sandbox-process.js';
import { tempDir } from './sandbox-support.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
const running: SandboxProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
  for (const d of dirs) d.remove();
});

function place(): { data: string; home: string } {
  const d = tempDir('labup-faults-cli-');
  dirs.push(d);
  return { data: join(d.path, 'sandbox'), home: join(d.path, 'home') };
}

function rows(file: string, sql: string): unknown[] {
  const db = openDatabase(file, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('labup sandbox --faults', () => {
  it('an ended session, a lost answer and a busy portal: the upload asks what the portal holds through 503s and adopts the one submission; status then finds it', async () => {
    // given a sandbox that ends the session before the first upload, drops the answer of the next,
    // and answers the first two status queries 503 Retry-After: 1
    const { data, home } = place();
    const sb = await startSandboxProcess(data, ['--processing-delay', '1s', '--faults', 'upload:expire-session:once, upload:reset-after-commit:once ,status:503:retry-after=1:times=2']);
    running.push(sb);
    expect(sb.started.faults).toEqual(['upload:expire-session:once', 'upload:reset-after-commit:once', 'status:503:times=2:retry-after=1']);
    const env = sb.env(home);
    // when the ZIP is uploaded
    const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--json'], { env });
    // then it is the submission the portal committed: one, learned by asking the portal through two
    // 503s (the query waits them out), journaled as sent and adopted
    expect(up.code, up.stderr).toBe(0);
    const doc = JSON.parse(up.stdout);
    expect(doc).toMatchObject({ receiptNo: '1151125000001', replayed: true });
    expect(sb.stderr()).toContain('fault injected: POST /api/v1/submissions: sessions ended');
    expect(sb.stderr()).toContain('fault injected: POST /api/v1/submissions: connection dropped');
    expect(rows(join(data, 'sandbox.db'), 'SELECT receipt_no FROM submissions')).toEqual([{ receipt_no: '1151125000001' }]);
    expect(up.stderr.match(/the portal answered 503 \(SERVICE_UNAVAILABLE\); try \d of 4 in 1\.\d s/g)).toHaveLength(2);
    expect(up.stderr).toContain('adopted instead of sending it again');
    expect(rows(join(home, 'labup.db'), 'SELECT state, receipt_no, attempts, confirmed_by FROM submissions')).toEqual([
      { state: 'sent', receipt_no: '1151125000001', attempts: 1, confirmed_by: 'adopted' },
    ]);
    // when its status is awaited
    const st = await labup(['status', '--wait', '--json'], { env });
    // then the wait ends 檢核正確 and the journal knows it
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout).receipts).toEqual([expect.objectContaining({ receiptNo: '1151125000001', status: 'passed' })]);
    expect(rows(join(home, 'labup.db'), 'SELECT status FROM submissions')).toEqual([{ status: 'passed' }]);
  });

  it('an answer slower than --request-timeout: the upload times out, tries again and gets the one submission', async () => {
    // given a sandbox that commits the first upload and then takes 5 s to answer
    const { data, home } = place();
    const sb = await startSandboxProcess(data, ['--faults', 'upload:slow-after-commit:5s:once']);
    running.push(sb);
    // when the client allows 1 s
    const up = await labup(['upload', fixture('valid/TOTFA.zip'), '--request-timeout', '1s', '--json'], { env: sb.env(home) });
    // then it gives up on the slow answer, sends again with the same key, and learns the 收件序號
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/upload of TOTFA\.zip: connection failed \(UND_ERR_HEADERS_TIMEOUT\)|no complete answer within 1 s/);
    expect(JSON.parse(up.stdout)).toMatchObject({ receiptNo: '1151125000001', replayed: true });
    expect(rows(join(data, 'sandbox.db'), 'SELECT COUNT(*) AS n FROM submissions')).toEqual([{ n: 1 }]);
  });

  it('refuses a spec that means nothing (exit 2), naming the rule and the grammar', async () => {
    const { data } = place();
    const r = await labup(['sandbox', '--data', data, '--faults', 'upload:reset,status:5O3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[BAD_FAULT_SPEC] fault “status:5O3”: “5o3” is not an action');
    expect(r.stderr).toContain('→ Write RULE[,RULE…] with RULE = [TARGET:]ACTION[:OPTION…]');
    expect(r.stdout).toBe('');
  });
});

describe('labup sandbox --tls: a certificate the client does not trust', () => {
  it('is refused (exit 5, nothing sent or journaled) unless --ca names the CA', async () => {
    // given a sandbox over HTTPS, its certificate issued by the sandbox's own CA
    const { data, home } = place();
    const sb = await startSandboxProcess(data, ['--tls']);
    running.push(sb);
    expect(sb.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const env = sb.env(home);
    // when labup uploads trusting only the system's CAs
    const refused = await labup(['upload', fixture('valid/TOTFA.zip')], { env });
    // then it refuses the certificate, says to use --ca, and nothing was sent
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/\[TLS_UNTRUSTED\] https:\/\/127\.0\.0\.1:\d+: the portal's TLS certificate is not trusted/);
    expect(refused.stderr).toContain('--ca FILE');
    expect(refused.stderr).not.toContain('try 2');
    expect(rows(join(data, 'sandbox.db'), 'SELECT COUNT(*) AS n FROM submissions')).toEqual([{ n: 0 }]);
    expect(rows(join(home, 'labup.db'), 'SELECT COUNT(*) AS n FROM submissions')).toEqual([{ n: 0 }]);
    // when it is given the CA
    const ok = await labup(['upload', fixture('valid/TOTFA.zip'), '--ca', String(sb.started.caFile), '--json'], { env });
    // then the upload goes through
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ receiptNo: '1151125000001', replayed: false });
  });
});
