/**
 * `labup sandbox init --pkcs11 URI`: the demo institution's card issued onto a PKCS#11 token (a
 * smart card or SoftHSM) instead of a software token: the key pair is generated on the token, the
 * sandbox CA certifies it, and the certificate goes next to the key with the HCA layout (CKA_ID 1,
 * the CA certificate at CKA_ID 0).
 */
import { usageError } from '../errors.js';
import { formatPkcs11Uri, parsePkcs11Uri } from '../card/pkcs11-uri.js';
import { resolveModulePath } from '../card/pkcs11-module.js';
import { provisionToken } from '../card/pkcs11-provision.js';
import { readSecret, secretSourceText, type SecretSource } from '../secrets.js';
import type { Prompter } from '../prompts.js';
import type { CardProvisioner } from './setup.js';

export interface Pkcs11ProvisionerOptions {
  uri: string;
  /** PIN source when the URI names none (config pinSource, else a prompt). */
  pinSource?: SecretSource;
  env?: Record<string, string | undefined>;
  prompter?: Prompter;
  /** Replace objects already on the token at CKA_ID 0 and 1. */
  replace?: boolean;
}

export function pkcs11Provisioner(o: Pkcs11ProvisionerOptions): CardProvisioner {
  const uri = parsePkcs11Uri(o.uri);
  if (!uri.token) throw usageError('CARD_URI', `“${o.uri}” names no token`, { hint: 'Name the token to issue onto: pkcs11:token=LABEL?module-path=…' });
  const env = o.env ?? process.env;
  const module = resolveModulePath({ env, ...(uri.modulePath ? { uriModulePath: uri.modulePath } : {}), ...(uri.moduleName ? { uriModuleName: uri.moduleName } : {}) });
  const source: SecretSource = uri.pinSource ?? o.pinSource ?? { kind: 'prompt' };
  return {
    kind: 'pkcs11',
    async issue(r) {
      const pin = await readSecret(source, { what: `PIN of token “${uri.token}”`, env, ...(o.prompter ? { prompter: o.prompter } : {}) });
      const result = await provisionToken({
        modulePath: module.path,
        tokenLabel: uri.token!,
        pin,
        ca: r.ca,
        institutionCode: r.institutionCode,
        name: r.name,
        notBefore: r.notBefore,
        notAfter: r.notAfter,
        ...(r.cardType ? { cardType: r.cardType } : {}),
        ...(o.replace ? { replace: true } : {}),
      });
      const card = formatPkcs11Uri({ token: result.tokenLabel, id: Buffer.from([1]), modulePath: module.path });
      return { card, pinSource: secretSourceText(source) };
    },
  };
}
