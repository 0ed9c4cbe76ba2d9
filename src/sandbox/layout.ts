/**
 * What the sandbox keeps in its data folder:
 *
 *     sandbox.db                     SQLite state (institutions, users, sessions, submissions, files …)
 *     pki/ca.pem, pki/ca-key.pem     the sandbox CA (key 0600)
 *     pki/server.pem, server-key.pem TLS certificate for 127.0.0.1/localhost (`--tls`)
 *     cards/<code>.p12, <code>.pass  software cards issued by `sandbox init` (passphrase file 0600)
 *     demo.json                      the demo institution, user and card, for `--sandbox`
 *     admin.token                    bearer token of the admin API (0600)
 *     incoming/                      uploads being received
 *     submissions/<id>.zip           received ZIPs, as sent
 *     results/1300_<收件序號>.msg.txt  check files (served while the portal offers them)
 */
import { join } from 'node:path';

export interface SandboxLayout {
  root: string;
  db: string;
  pki: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  cards: string;
  demo: string;
  /** Bearer token of the admin API (`/api/v1/admin/…`), mode 0600. */
  adminToken: string;
  incoming: string;
  submissions: string;
  results: string;
}

export function sandboxLayout(root: string): SandboxLayout {
  return {
    root,
    db: join(root, 'sandbox.db'),
    pki: join(root, 'pki'),
    caCert: join(root, 'pki', 'ca.pem'),
    caKey: join(root, 'pki', 'ca-key.pem'),
    serverCert: join(root, 'pki', 'server.pem'),
    serverKey: join(root, 'pki', 'server-key.pem'),
    cards: join(root, 'cards'),
    demo: join(root, 'demo.json'),
    adminToken: join(root, 'admin.token'),
    incoming: join(root, 'incoming'),
    submissions: join(root, 'submissions'),
    results: join(root, 'results'),
  };
}

/** 作業代號 of the daily lab upload, the prefix of its check files. */
export const JOB_CODE = '1300';
export const JOB_NAME = '檢驗(查)結果每日上傳作業';

export function checkFileName(receiptNo: string): string {
  return `${JOB_CODE}_${receiptNo}.msg.txt`;
}
