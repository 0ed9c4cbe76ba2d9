/**
 * The sandbox's PKI on disk: its CA (from `card/sandbox-ca.ts`) and a TLS server certificate for
 * 127.0.0.1 and localhost signed by it, so `--tls` can be tested with `--ca pki/ca.pem` and a
 * client that does not trust the CA is refused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { CaMaterial } from '../card/sandbox-ca.js';
import { configError } from '../errors.js';
import type { SandboxLayout } from './layout.js';

export function loadCa(layout: SandboxLayout): CaMaterial {
  try {
    return { certPem: readFileSync(layout.caCert, 'utf8'), keyPem: readFileSync(layout.caKey, 'utf8') };
  } catch {
    throw configError('SANDBOX_NOT_INITIALISED', `${layout.root} holds no sandbox CA`, { hint: `Run labup sandbox init --data ${layout.root} first.` });
  }
}

export function writeCa(layout: SandboxLayout, ca: CaMaterial): void {
  writeFileSync(layout.caCert, ca.certPem, { mode: 0o644 });
  writeFileSync(layout.caKey, ca.keyPem, { mode: 0o600 });
}

/** Issues an RSA 2048 server certificate with the given DNS names and IP addresses. */
export function issueServerCertificate(ca: CaMaterial, o: { hosts: string[]; now: Date; days?: number }): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(o.now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(o.now.getTime() + (o.days ?? 825) * 86_400_000);
  cert.setSubject([
    { shortName: 'C', value: 'TW' },
    { shortName: 'O', value: 'labup sandbox' },
    { shortName: 'CN', value: o.hosts[0] ?? 'localhost' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: o.hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h })),
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** The TLS material for `--tls`, created on first use. */
export function serverTls(layout: SandboxLayout, now: Date): { cert: string; key: string } {
  if (!existsSync(layout.serverCert) || !existsSync(layout.serverKey)) {
    const issued = issueServerCertificate(loadCa(layout), { hosts: ['localhost', '127.0.0.1', '::1'], now });
    writeFileSync(layout.serverCert, issued.certPem, { mode: 0o644 });
    writeFileSync(layout.serverKey, issued.keyPem, { mode: 0o600 });
  }
  return { cert: readFileSync(layout.serverCert, 'utf8'), key: readFileSync(layout.serverKey, 'utf8') };
}
