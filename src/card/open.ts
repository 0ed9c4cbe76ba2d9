/**
 * Opens the card named by a URI: `pkcs11:…` (RFC 7512, a smart card or HSM), `p12:PATH`
 * (PKCS#12 software token) or `pem:KEY,CERT`. The PIN or passphrase comes from a secret source,
 * never from the URI or argv.
 */
import { usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Prompter } from '../prompts.js';
import { parseSecretSource, readSecret, type SecretSource } from '../secrets.js';
import type { Card } from './card.js';
import type { ModuleLoader } from './pkcs11-module.js';

export interface OpenCardOptions {
  /** Where the PIN/passphrase comes from (default: prompt). */
  pinSource?: SecretSource | string;
  env?: Record<string, string | undefined>;
  prompter?: Prompter;
  host?: IoHost;
  /** PKCS#11 only: the module file, overriding the URI's module-path (`--module`). */
  modulePath?: string;
  /** PKCS#11 only: loads the module (default pkcs11js; tests may give a module written in JS). */
  loader?: ModuleLoader;
}

export async function openCard(uri: string, options: OpenCardOptions = {}): Promise<Card> {
  const source = typeof options.pinSource === 'string' ? parseSecretSource(options.pinSource) : (options.pinSource ?? { kind: 'prompt' as const });
  const secret = (what: string) =>
    readSecret(source, {
      what,
      ...(options.env ? { env: options.env } : {}),
      ...(options.prompter ? { prompter: options.prompter } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
  if (/^pkcs11:/i.test(uri)) {
    // Loaded only when a PKCS#11 card is used: the native addon is not needed for software tokens.
    const [{ parsePkcs11Uri }, { openPkcs11Card }] = await Promise.all([import('./pkcs11-uri.js'), import('./pkcs11.js')]);
    const parsed = parsePkcs11Uri(uri);
    // The URI's own pin-source wins over the configured one.
    const pinSource = parsed.pinSource ?? source;
    return openPkcs11Card(parsed, {
      pin: () =>
        readSecret(pinSource, {
          what: 'card PIN',
          ...(options.env ? { env: options.env } : {}),
          ...(options.prompter ? { prompter: options.prompter } : {}),
          ...(options.host ? { host: options.host } : {}),
        }),
      interactive: pinSource.kind === 'prompt',
      ...(options.modulePath ? { modulePath: options.modulePath } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.loader ? { loader: options.loader } : {}),
    });
  }
  if (uri.startsWith('p12:')) {
    const { openPkcs12 } = await import('./software.js');
    return openPkcs12(uri.slice(4), () => secret('passphrase of the .p12 file'));
  }
  if (uri.startsWith('pem:')) {
    const [key, cert] = uri.slice(4).split(',');
    if (!key || !cert) throw usageError('CARD_URI', `“${uri}” should be pem:KEY.pem,CERT.pem`);
    const { openPem } = await import('./software.js');
    return openPem(key, cert);
  }
  throw usageError('CARD_URI', `“${uri.slice(0, 60)}” is not a card this labup can open`, {
    hint: 'Use a pkcs11: URI (e.g. pkcs11:token=HCA;object=sign?module-path=…), p12:PATH or pem:KEY,CERT.',
  });
}
