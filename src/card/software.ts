/**
 * Software tokens: a PKCS#12 file (`p12:PATH`, passphrase from a secret source) or a PEM key and
 * certificate (`pem:KEY.pem,CERT.pem`). For developers and the sandbox; production uses the card.
 */
import { readFile } from 'node:fs/promises';
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { authError, fileError } from '../errors.js';
import type { Card, CardCertificate, Signature, SignatureAlgorithm } from './card.js';
import { parseCertificate } from './certificate.js';

const NODE_HASH: Record<SignatureAlgorithm, string> = { 'RSA-SHA256': 'sha256', 'RSA-SHA1': 'sha1', 'ECDSA-SHA256': 'sha256' };

export class SoftwareCard implements Card {
  private closed = false;
  private readonly cert: CardCertificate;

  constructor(
    readonly label: string,
    private readonly key: KeyObject,
    certPem: string,
  ) {
    this.cert = parseCertificate(certPem);
    const keyType = key.asymmetricKeyType === 'ec' ? 'EC' : 'RSA';
    if (keyType !== this.cert.keyType) {
      throw authError('CARD_NO_KEY', `${label}: the private key does not belong to the certificate`, { hint: 'Use the key and certificate issued together.' });
    }
  }

  async certificate(): Promise<CardCertificate> {
    return this.cert;
  }

  async sign(data: Buffer, algorithm?: SignatureAlgorithm): Promise<Signature> {
    if (this.closed) throw authError('CARD_CLOSED', `${this.label}: the card was closed`);
    const alg: SignatureAlgorithm = algorithm ?? (this.cert.keyType === 'EC' ? 'ECDSA-SHA256' : 'RSA-SHA256');
    return { signature: cryptoSign(NODE_HASH[alg], data, this.key), algorithm: alg };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Opens a PKCS#12 file. A wrong passphrase is a distinct, coded error (exit 4). */
export async function openPkcs12(path: string, passphraseOf: () => Promise<string>): Promise<SoftwareCard> {
  let der: Buffer;
  try {
    der = await readFile(path);
  } catch (err) {
    throw fileError(err, path);
  }
  // Asked for once the file is known to be there.
  const passphrase = await passphraseOf();
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(der.toString('binary'));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase);
  } catch (err) {
    const msg = (err as Error).message ?? '';
    if (/password|mac|decrypt/i.test(msg)) {
      throw authError('CARD_WRONG_PIN', `${path}: wrong passphrase for the PKCS#12 file`, { hint: 'Check the passphrase source (pin-source); nothing was retried.' });
    }
    throw authError('CARD_P12_INVALID', `${path}: not a readable PKCS#12 file (${msg})`, { hint: 'Export the key and certificate again as .p12/.pfx.' });
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const keyBag = keyBags.find((b) => b.key);
  if (!keyBag?.key) throw authError('CARD_NO_KEY', `${path}: the PKCS#12 file holds no private key`);
  const keyPem = forge.pki.privateKeyToPem(keyBag.key);
  const key = createPrivateKey(keyPem);
  // The signing certificate is the one whose public key matches the private key.
  const pub = forge.pki.setRsaPublicKey((keyBag.key as forge.pki.rsa.PrivateKey).n, (keyBag.key as forge.pki.rsa.PrivateKey).e);
  const match = certBags.find((b) => b.cert && forge.pki.publicKeyToPem(b.cert.publicKey) === forge.pki.publicKeyToPem(pub));
  if (!match?.cert) throw authError('CARD_NO_KEY', `${path}: no certificate in the PKCS#12 file matches its private key`);
  return new SoftwareCard(`p12:${path}`, key, forge.pki.certificateToPem(match.cert));
}

/** Opens a PEM key and certificate. */
export async function openPem(keyPath: string, certPath: string, passphrase?: string): Promise<SoftwareCard> {
  let keyText: string;
  let certText: string;
  try {
    keyText = await readFile(keyPath, 'utf8');
  } catch (err) {
    throw fileError(err, keyPath);
  }
  try {
    certText = await readFile(certPath, 'utf8');
  } catch (err) {
    throw fileError(err, certPath);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase ? { key: keyText, passphrase } : keyText);
  } catch (err) {
    const msg = (err as Error).message;
    if (/passphrase|decrypt|bad decrypt/i.test(msg)) throw authError('CARD_WRONG_PIN', `${keyPath}: wrong passphrase for the key`);
    throw authError('CARD_NO_KEY', `${keyPath}: not a readable private key (${msg})`);
  }
  return new SoftwareCard(`pem:${keyPath},${certPath}`, key, certText);
}
