/**
 * SoftHSM2 tokens for tests: each in its own temp folder (SOFTHSM2_CONF), laid out like an HCA card —
 * an RSA 2048 key generated on the token (CKA_ID 1, "sign"), the certificate the sandbox CA issues
 * for it (with the HCA card-type extension), the CA certificate at CKA_ID 0.
 *
 * SoftHSM reads SOFTHSM2_CONF when the module is initialized. A child process (the real `labup`
 * binary) gets it through `token.env`; in-process code calls `token.use()` first.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CardType } from '../../src/card/card.js';
import { provisionToken, storeCertificate } from '../../src/card/pkcs11-provision.js';
import { createCa, issueCertificate, type CaMaterial } from '../../src/card/sandbox-ca.js';
import { formatPkcs11Uri } from '../../src/card/pkcs11-uri.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** OpenSC's logging PKCS#11 module: passes every call to PKCS11SPY and writes it to PKCS11SPY_OUTPUT. */
export const SPY_MODULE = ['/usr/lib/x86_64-linux-gnu/pkcs11-spy.so', '/usr/lib/aarch64-linux-gnu/pkcs11-spy.so', '/usr/lib/pkcs11-spy.so'].find((p) => existsSync(p));
/** The tokens' clock: the fixtures' upload day. */
export const TOKEN_NOW = new Date('2026-11-25T21:00:00+08:00');

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_MODULE) && existsSync('/usr/bin/softhsm2-util');
}

export interface SoftHsm {
  modulePath: string;
  dir: string;
  confPath: string;
  env: { SOFTHSM2_CONF: string };
  /** Points this process's SOFTHSM2_CONF here; returns the function that restores the previous value. */
  use(): () => void;
  cleanup(): void;
}

/** A SoftHSM folder with no token initialized: the module shows one empty, uninitialized slot. */
export function createSoftHsm(options: { disabledMechanisms?: string[] } = {}): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'labup-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const confPath = join(dir, 'softhsm2.conf');
  const mechanisms = options.disabledMechanisms?.length ? `-${options.disabledMechanisms.join(',')}` : 'ALL';
  writeFileSync(confPath, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ${mechanisms}\n`);
  return {
    modulePath: SOFTHSM_MODULE,
    dir,
    confPath,
    env: { SOFTHSM2_CONF: confPath },
    use() {
      const before = process.env.SOFTHSM2_CONF;
      process.env.SOFTHSM2_CONF = confPath;
      return () => {
        if (before === undefined) delete process.env.SOFTHSM2_CONF;
        else process.env.SOFTHSM2_CONF = before;
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SoftHsmTokenOptions {
  label?: string;
  pin?: string;
  soPin?: string;
  institutionCode?: string;
  name?: string;
  cardType?: CardType;
  notBefore?: Date;
  notAfter?: Date;
  ca?: CaMaterial;
  /**
   * `token` (default): the key pair generated on the token, HCA layout. `none`: the certificate (and
   * the CA's) without any private key. `empty`: an initialized token with no objects.
   */
  key?: 'token' | 'none' | 'empty';
  /** Mechanisms the token does not offer, e.g. `CKM_SHA256_RSA_PKCS` (a card that signs only raw PKCS#1). */
  disabledMechanisms?: string[];
  /** Put the token into this SoftHSM folder (several tokens in one module). */
  softhsm?: SoftHsm;
}

export interface SoftHsmToken extends SoftHsm {
  label: string;
  pin: string;
  soPin: string;
  ca: CaMaterial;
  /** The certificate at CKA_ID 1 (absent for `key: 'empty'`). */
  certPem: string | null;
  /** `pkcs11:token=LABEL;id=%01?module-path=…` */
  uri: string;
  /** The token's flags as OpenSC's pkcs11-tool reports them (independent of labup), e.g. `… user PIN count low …`. */
  tokenFlags(): string;
}

/** Initializes a token in a fresh (or the given) SoftHSM folder and puts an HCA-like card on it. */
export async function createSoftHsmToken(o: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  const hsm = o.softhsm ?? createSoftHsm(o.disabledMechanisms ? { disabledMechanisms: o.disabledMechanisms } : {});
  const label = o.label ?? 'HCA';
  const pin = o.pin ?? '123456';
  const soPin = o.soPin ?? '12345678';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env: { ...process.env, ...hsm.env }, stdio: 'pipe' });
  const ca = o.ca ?? createCa(new Date(TOKEN_NOW.getTime() - 365 * 86_400_000));
  const notBefore = o.notBefore ?? new Date(TOKEN_NOW.getTime() - 30 * 86_400_000);
  const notAfter = o.notAfter ?? new Date(TOKEN_NOW.getTime() + 2 * 365 * 86_400_000);
  const subject = { institutionCode: o.institutionCode ?? '3501200000', name: o.name ?? 'labup 示範醫院', ...(o.cardType ? { cardType: o.cardType } : {}), notBefore, notAfter };
  let certPem: string | null = null;
  const restore = hsm.use();
  try {
    if ((o.key ?? 'token') === 'token') {
      certPem = (await provisionToken({ modulePath: hsm.modulePath, tokenLabel: label, pin, ca, ...subject })).certPem;
    } else if (o.key === 'none') {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      certPem = issueCertificate(ca, { ...subject, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string });
      await storeCertificate({ modulePath: hsm.modulePath, tokenLabel: label, pin, certPem, id: 1, label: 'sign' });
      await storeCertificate({ modulePath: hsm.modulePath, tokenLabel: label, pin, certPem: ca.certPem, id: 0, label: 'CA' });
    }
  } finally {
    restore();
  }
  return {
    ...hsm,
    label,
    pin,
    soPin,
    ca,
    certPem,
    uri: formatPkcs11Uri({ token: label, id: Buffer.from([1]), modulePath: hsm.modulePath }),
    tokenFlags() {
      const out = execFileSync('pkcs11-tool', ['--module', hsm.modulePath, '--list-slots'], { env: { ...process.env, ...hsm.env }, encoding: 'utf8' });
      const block = out.split(/\nSlot /).find((b) => new RegExp(`token label\\s*:\\s*${label}\\s*\\n`).test(b)) ?? '';
      return /token flags\s*:\s*(.*)/.exec(block)?.[1] ?? '';
    },
  };
}

export interface Spy {
  /** Give this as the module; it forwards to the real one. */
  modulePath: string;
  env: { PKCS11SPY: string; PKCS11SPY_OUTPUT: string };
  /** How many times the module was called with `fn` (e.g. `C_Login`). */
  calls(fn: string): number;
  log(): string;
}

/** Wraps a module in OpenSC's pkcs11-spy, to count the calls labup makes. */
export function spyOn(realModule: string, dir: string): Spy {
  if (!SPY_MODULE) throw new Error('pkcs11-spy.so (OpenSC) is not installed');
  const out = join(dir, `spy-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  return {
    modulePath: SPY_MODULE,
    env: { PKCS11SPY: realModule, PKCS11SPY_OUTPUT: out },
    log: () => (existsSync(out) ? readFileSync(out, 'utf8') : ''),
    calls(fn: string) {
      const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
      return (text.match(new RegExp(`^\\d+: ${fn}\\b`, 'gm')) ?? []).length;
    },
  };
}
