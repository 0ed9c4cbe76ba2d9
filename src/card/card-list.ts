/**
 * `labup card list`: what a PKCS#11 module sees — slots, tokens with their PIN state, certificates
 * (subject, issuer, serial, key, validity, 醫事機構代碼, HCA card type, CKA_ID) and whether the
 * private key with the same CKA_ID is there — or the certificate of a software token. Public objects
 * need no PIN; `login` logs in (once, never retried) to see private keys too.
 */
import type { Clock } from '../clock.js';
import { usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Env } from '../paths.js';
import type { Prompter } from '../prompts.js';
import { parseSecretSource, readSecret, type SecretSource } from '../secrets.js';
import { parseCertificate } from './certificate.js';
import { CKA_CLASS, CKA_ID, CKA_LABEL, CKF_SERIAL_SESSION, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, ckrName } from './pkcs11-constants.js';
import { acquireModule, isHcaModule, resolveModulePath, type ModuleLoader, type Pkcs11Api } from './pkcs11-module.js';
import { closeSession } from './pkcs11.js';
import {
  certificateObjects,
  checkLibrary,
  findObjects,
  listSlots,
  loginUser,
  pkcs11Error,
  selectToken,
  tokenSummaryOf,
  trimPadded,
  type SlotView,
  type TokenSummary,
} from './pkcs11-token.js';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import { EXPIRY_WARNING_DAYS, expiryWarnings, summarizeCertificate, type CardWarning, type CertificateSummary } from './summary.js';

export interface CertificateListing extends CertificateSummary {
  /** CKA_ID, hex (`01`); null for a software token. */
  id: string | null;
  /** CKA_LABEL. */
  label: string | null;
  /** By the HCA layout: 00 CA, 01 signing, 02 encryption (a CA certificate is `ca` whatever its ID). */
  role: 'ca' | 'signing' | 'encryption' | null;
  /** The private key with the same CKA_ID: `unknown` when the token hides private objects until login. */
  privateKey: 'present' | 'absent' | 'unknown';
  /** A public key object with the same CKA_ID is on the token. */
  publicKey: boolean | null;
  /** The URI that opens this certificate as a card. */
  uri: string;
}

export interface TokenListing extends TokenSummary {
  /** The URI of the token (with module-path). */
  uri: string;
  loggedIn: boolean;
  certificates: CertificateListing[];
  /** Why the objects could not be read, when they could not. */
  problem?: string;
}

export interface SlotListing {
  slotId: string;
  description: string;
  manufacturer: string;
  tokenPresent: boolean;
  removable: boolean;
  hardware: boolean;
  problem?: string;
  token: TokenListing | null;
}

export interface ModuleListing {
  path: string;
  /** How it was chosen: --module, module-path, module-name, LABUP_PKCS11_MODULE, default. */
  from: string;
  manufacturer: string;
  description: string;
  libraryVersion: string;
  cryptokiVersion: string;
}

export interface SoftwareListing {
  /** `p12:PATH` or `pem:KEY,CERT`. */
  uri: string;
  certificates: CertificateListing[];
}

export interface CardListResult {
  ok: true;
  module: ModuleListing | null;
  slots: SlotListing[];
  software: SoftwareListing | null;
  warnings: CardWarning[];
}

export interface ListCardsOptions {
  clock: Clock;
  /** A card URI: `pkcs11:…` lists that token only; `p12:`/`pem:` lists the software token. */
  card?: string;
  /** The PKCS#11 module (`--module`); else the URI's, LABUP_PKCS11_MODULE, or the default places. */
  modulePath?: string;
  /** Log in to see private keys (one token only; the PIN from `pinSource`). */
  login?: boolean;
  pinSource?: SecretSource | string;
  env?: Env;
  prompter?: Prompter;
  host?: IoHost;
  loader?: ModuleLoader;
  platform?: NodeJS.Platform;
  warnDays?: number;
}

function roleOf(id: Buffer, ca: boolean): CertificateListing['role'] {
  if (ca) return 'ca';
  if (id.length === 1 && id[0] === 1) return 'signing';
  if (id.length === 1 && id[0] === 2) return 'encryption';
  if (id.length === 1 && id[0] === 0) return 'ca';
  return null;
}

function pinWarnings(t: TokenSummary, where: string): CardWarning[] {
  if (t.pin.locked) return [{ code: 'CARD_PIN_LOCKED', message: `“${t.label}”: the PIN is locked; the card must be unlocked by its issuer`, where }];
  if (t.pin.finalTry) return [{ code: 'CARD_PIN_FINAL_TRY', message: `“${t.label}”: one PIN try left — the next wrong PIN locks the card`, where }];
  if (t.pin.countLow) return [{ code: 'CARD_PIN_COUNT_LOW', message: `“${t.label}”: a wrong PIN was entered since the last successful login`, where }];
  return [];
}

function listToken(api: Pkcs11Api, slot: SlotView & { token: TokenSummary }, modulePath: string, uri: Pkcs11Uri | undefined, now: Date, loggedIn: boolean, session: Buffer): TokenListing {
  const base: Pkcs11Uri = { token: slot.token.label, ...(slot.token.serial ? { serial: slot.token.serial } : {}) };
  const listing: TokenListing = { ...slot.token, uri: formatPkcs11Uri({ ...base, modulePath }), loggedIn, certificates: [] };
  const certs = certificateObjects(api, session, { ...(uri?.id !== undefined ? { id: uri.id } : {}), ...(uri?.object !== undefined ? { label: uri.object } : {}) });
  for (const c of certs) {
    let summary: CertificateSummary;
    try {
      summary = summarizeCertificate(parseCertificate(c.der), now);
    } catch {
      continue;
    }
    const keyTemplate = (cls: number) => [{ type: CKA_CLASS, value: cls }, c.id.length ? { type: CKA_ID, value: c.id } : { type: CKA_LABEL, value: c.label }];
    const priv = findObjects(api, session, keyTemplate(CKO_PRIVATE_KEY)).length > 0;
    const pub = findObjects(api, session, keyTemplate(CKO_PUBLIC_KEY)).length > 0;
    listing.certificates.push({
      ...summary,
      id: c.id.toString('hex').toUpperCase(),
      label: c.label,
      role: roleOf(c.id, summary.ca),
      privateKey: priv ? 'present' : loggedIn || !slot.token.pin.loginRequired ? 'absent' : 'unknown',
      publicKey: pub,
      uri: formatPkcs11Uri({ ...base, ...(c.id.length ? { id: c.id } : { object: c.label }), modulePath }),
    });
  }
  // Numeric CKA_ID order: CA (00), signing (01), encryption (02).
  listing.certificates.sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''));
  return listing;
}

/** Lists one PKCS#11 module's slots, or a software token. Never asks for a PIN unless `login`. */
export async function listCards(options: ListCardsOptions): Promise<CardListResult> {
  const now = options.clock.now();
  const warnDays = options.warnDays ?? EXPIRY_WARNING_DAYS;
  const source: SecretSource = typeof options.pinSource === 'string' ? parseSecretSource(options.pinSource) : (options.pinSource ?? { kind: 'prompt' });
  const secretOptions = (what: string) => ({
    what,
    ...(options.env ? { env: options.env } : {}),
    ...(options.prompter ? { prompter: options.prompter } : {}),
    ...(options.host ? { host: options.host } : {}),
  });

  if (options.card && !/^pkcs11:/i.test(options.card)) {
    const { openCard } = await import('./open.js');
    const card = await openCard(options.card, {
      pinSource: source,
      ...(options.env ? { env: options.env } : {}),
      ...(options.prompter ? { prompter: options.prompter } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
    try {
      const summary = summarizeCertificate(await card.certificate(), now);
      return {
        ok: true,
        module: null,
        slots: [],
        software: { uri: card.label, certificates: [{ ...summary, id: null, label: null, role: summary.ca ? 'ca' : 'signing', privateKey: 'present', publicKey: null, uri: card.label }] },
        warnings: expiryWarnings(summary, card.label, warnDays),
      };
    } finally {
      await card.close();
    }
  }

  const uri = options.card ? parsePkcs11Uri(options.card) : undefined;
  const location = resolveModulePath({
    ...(options.modulePath ? { modulePath: options.modulePath } : {}),
    ...(uri?.modulePath ? { uriModulePath: uri.modulePath } : {}),
    ...(uri?.moduleName ? { uriModuleName: uri.moduleName } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
  });
  const hca = isHcaModule(location.path);
  const lease = await acquireModule(location.path, options.loader ? { loader: options.loader } : {});
  try {
    const api = lease.api;
    if (uri) checkLibrary(api, uri, location.path);
    let info: ReturnType<Pkcs11Api['C_GetInfo']>;
    try {
      info = api.C_GetInfo();
    } catch (err) {
      throw pkcs11Error(err, `asking ${location.path} about itself (C_GetInfo)`);
    }
    const module: ModuleListing = {
      path: location.path,
      from: location.from,
      manufacturer: trimPadded(info.manufacturerID),
      description: trimPadded(info.libraryDescription),
      libraryVersion: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
      cryptokiVersion: `${info.cryptokiVersion.major}.${info.cryptokiVersion.minor}`,
    };
    let slots = listSlots(api, { hca });
    if (uri) {
      const chosen = selectToken(slots, uri, location.path);
      slots = [chosen];
    }
    const withToken = slots.filter((s): s is SlotView & { token: TokenSummary } => s.token !== null);
    if (options.login && withToken.length !== 1) {
      throw usageError('CARD_LOGIN_WHICH', withToken.length === 0 ? 'no token to log in to' : `${withToken.length} tokens: --login needs one`, {
        hint: 'Choose the token with --card "pkcs11:token=LABEL" (labup card list shows the labels).',
      });
    }
    const warnings: CardWarning[] = [];
    const listed: SlotListing[] = [];
    for (const s of slots) {
      const entry: SlotListing = {
        slotId: s.slotId,
        description: s.description,
        manufacturer: s.manufacturer,
        tokenPresent: s.tokenPresent,
        removable: s.removable,
        hardware: s.hardware,
        ...(s.problem ? { problem: s.problem } : {}),
        token: null,
      };
      listed.push(entry);
      if (!s.token) continue;
      let tokenSlot = s as SlotView & { token: TokenSummary };
      const tokenUri = formatPkcs11Uri({ token: s.token.label, ...(s.token.serial ? { serial: s.token.serial } : {}), modulePath: location.path });
      let session: Buffer;
      try {
        session = api.C_OpenSession(s.slot, CKF_SERIAL_SESSION);
      } catch (err) {
        entry.token = { ...s.token, uri: tokenUri, loggedIn: false, certificates: [], problem: `cannot open a session (${ckrName(err)})` };
        warnings.push(...pinWarnings(s.token, tokenUri), { code: 'CARD_TOKEN_UNUSABLE', message: `“${s.token.label}”: cannot open a session`, where: tokenUri });
        continue;
      }
      let loggedIn = false;
      try {
        if (options.login) {
          await loginUser(api, session, s.slot, {
            pin: () => readSecret(source, secretOptions('card PIN')),
            interactive: source.kind === 'prompt',
            where: tokenUri.replace(/\?.*$/, ''),
            hca,
            warnCountLow: false,
            ...(options.host ? { host: options.host } : {}),
          });
          loggedIn = true;
          // A successful login resets the token's try counter: show the state as it is now.
          try {
            tokenSlot = { ...tokenSlot, token: tokenSummaryOf(api.C_GetTokenInfo(s.slot), hca) };
          } catch {
            // keep what was read before
          }
        }
        warnings.push(...pinWarnings(tokenSlot.token, tokenUri));
        try {
          entry.token = listToken(api, tokenSlot, location.path, uri, now, loggedIn, session);
        } catch (err) {
          // One unreadable token (pulled out while listing, a module quirk) does not hide the others.
          const e = pkcs11Error(err, `reading the objects of “${s.token.label}”`);
          entry.token = { ...s.token, uri: tokenUri, loggedIn, certificates: [], problem: e.message };
          warnings.push({ code: 'CARD_TOKEN_UNUSABLE', message: e.message, where: tokenUri });
        }
        for (const c of entry.token.certificates) warnings.push(...expiryWarnings(c, c.uri, warnDays));
      } finally {
        closeSession(api, session, loggedIn);
      }
    }
    return { ok: true, module, slots: listed, software: null, warnings };
  } finally {
    lease.release();
  }
}
