/**
 * The checks an unattended run depends on, each a small named step that passes, warns, fails with
 * the coded error saying how to fix it, or does not apply. `labup doctor` runs them all and reports
 * each; `labup daily` runs the same ones (with its own inputs and the sign-in) before it packs
 * anything, and stops at the first failure — before uploading.
 */
import { access, constants, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { taipeiIso, type Clock } from '../clock.js';
import { authError, configError, fileError, isLabupError, usageError, type LabupError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { nearestExisting, type Env } from '../paths.js';
import type { Prompter } from '../prompts.js';
import type { LabupConfig } from '../config/config.js';
import type { Store } from '../store/store.js';
import { formatRocSlashed, taipeiToday } from '../format/roc.js';
import type { PortalConnection } from '../transport/connect.js';
import type { PortalInfo, PortalSession } from '../transport/portal-client.js';
import type { Card } from '../card/card.js';
import type { ModuleLoader } from '../card/pkcs11-module.js';
import type { HttpPortalClient } from '../transport/http-client.js';
import { describeRoute } from '../transport/proxy.js';
import { EXPIRY_WARNING_DAYS, summarizeCertificate, type CertificateSummary } from '../card/summary.js';
import { LOCK_FILE, inspectLock } from '../daily/lock.js';
import { inspectJournal } from './journal-check.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface CheckOutcome {
  /** Stable id, e.g. `portal`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found (one line). */
  message: string;
  /** The failure's (or a warning's) code, and how to fix it. */
  code?: string;
  hint?: string;
  /** With `fail`: the exit code the failure means. */
  exitCode?: number;
  /** Facts for programs (`--json`): the clock skew, the certificate's days left, the route … */
  data?: Record<string, unknown>;
}

/** A check's answer: a message (ok), or a warning, or a reason it does not apply. Failures are thrown LabupErrors. */
export type CheckAnswer = string | { status: 'ok' | 'warn' | 'skipped'; message: string; code?: string; hint?: string; data?: Record<string, unknown> };

export interface Check<C> {
  id: string;
  title: string;
  /** Checks whose failure makes this one meaningless (it is then skipped). */
  needs?: readonly string[];
  run(ctx: C): Promise<CheckAnswer>;
}

export interface ChecksResult {
  ok: boolean;
  checks: CheckOutcome[];
  /** The first failure, as thrown. */
  failure: LabupError | null;
}

export interface RunChecksOptions {
  /** Skip everything after the first failure (daily); otherwise run every check whose needs passed (doctor). */
  stopAtFirstFailure?: boolean;
}

/** Runs the checks in order. Only LabupErrors count as failures; anything else is a defect and propagates. */
export async function runChecks<C>(checks: ReadonlyArray<Check<C>>, ctx: C, host?: IoHost, options: RunChecksOptions = {}): Promise<ChecksResult> {
  const stop = options.stopAtFirstFailure !== false;
  const out: CheckOutcome[] = [];
  const blocked = new Set<string>();
  let failure: LabupError | null = null;
  for (const check of checks) {
    if (failure && stop) {
      out.push({ id: check.id, title: check.title, status: 'skipped', message: 'not checked (an earlier check failed)' });
      continue;
    }
    const missing = (check.needs ?? []).filter((n) => blocked.has(n));
    if (missing.length) {
      blocked.add(check.id);
      out.push({ id: check.id, title: check.title, status: 'skipped', message: `not checked (${missing.join(', ')} failed)` });
      continue;
    }
    try {
      const r = await check.run(ctx);
      const a = typeof r === 'string' ? { status: 'ok' as const, message: r } : r;
      out.push({ id: check.id, title: check.title, status: a.status, message: a.message, ...(a.code ? { code: a.code } : {}), ...(a.hint ? { hint: a.hint } : {}), ...(a.data ? { data: a.data } : {}) });
      if (a.status === 'warn') host?.notify({ level: 'warn', code: a.code ?? 'PREFLIGHT_WARN', message: `${check.title}: ${a.message}`, data: { check: check.id, ...(a.hint ? { hint: a.hint } : {}) } });
      else host?.notify({ level: 'verbose', code: a.status === 'skipped' ? 'PREFLIGHT_SKIPPED' : 'PREFLIGHT_OK', message: `preflight ${check.id}: ${a.message}`, data: { check: check.id, status: a.status } });
    } catch (err) {
      if (!isLabupError(err)) throw err;
      failure ??= err;
      blocked.add(check.id);
      out.push({ id: check.id, title: check.title, status: 'fail', message: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode });
      host?.notify({ level: 'verbose', code: 'PREFLIGHT_FAILED', message: `preflight ${check.id}: [${err.code}] ${err.message}`, data: { check: check.id, code: err.code } });
    }
  }
  return { ok: failure === null, checks: out, failure };
}

/** What the checks look at, and what they leave for the run. */
export interface CheckContext {
  cwd: string;
  clock: Clock;
  env: Env;
  host?: IoHost;
  prompter?: Prompter;
  /** LABUP_HOME: the journal and the lock. */
  home: string;
  /** Where check files and reports go (absolute). */
  downloadDir: string;
  /** May the checks create the download folder and the journal (a real run), or only look (doctor, dry runs)? */
  create: boolean;
  /** The built-in sandbox, with its demo card and user. */
  sandbox: boolean;
  /** The resolved settings (flags on top). */
  config: LabupConfig;
  /** A card URI must be configured (doctor); a library caller's connection may bring its own card. */
  cardRequired?: boolean;
  /** Where the card module is looked for (tests: another platform, a fake file system). */
  platform?: NodeJS.Platform;
  fileExists?: (path: string) => boolean;
  /** Loads a PKCS#11 module (tests: a module written in JS). */
  pkcs11Loader?: ModuleLoader;
  /** Checks the settings (throws a config error naming the bad one); describes them. */
  checkSettings(): string;
  /** Opens the journal (with `create`). */
  openStore(): Store;
  /** Opens the portal connection (once); no request is made by opening it. */
  connect(): Promise<PortalConnection>;
  /** Opens the card (once) without signing in; undefined when it cannot be opened apart from signing in. */
  card(): Promise<Card | undefined>;
  // Filled in by the checks:
  store?: Store;
  connection?: PortalConnection;
  portalInfo?: PortalInfo;
  /** The host clock just before and after the portal answered. */
  portalAsked?: { before: Date; after: Date };
  session?: PortalSession;
  certificate?: CertificateSummary;
}

const isPkcs11 = (uri: string | undefined): boolean => uri !== undefined && /^pkcs11:/i.test(uri);

function days(n: number): string {
  return `${n} day${n === 1 || n === -1 ? '' : 's'}`;
}

function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Host clock vs the portal's beyond this is worth a warning (h16 and 上傳日期 are taken from it). */
export const CLOCK_SKEW_WARN_MS = 60_000;

export const CHECK = {
  config: {
    id: 'config',
    title: 'configuration',
    run: async (ctx) => ctx.checkSettings(),
  },

  downloadDir: {
    id: 'download-dir',
    title: 'download folder writable',
    run: async (ctx) => {
      const dir = ctx.downloadDir;
      if (!ctx.create) {
        const at = await nearestExisting(dir);
        try {
          if (!(await stat(at)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
          await access(at, constants.W_OK);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
            throw usageError('DOWNLOAD_DIR_NOT_A_FOLDER', `${at} is a file, not a folder: the download folder ${dir} cannot be made there`, { hint: 'Give another folder (--out, downloadDir in the config, LABUP_DOWNLOAD_DIR).' });
          }
          throw fileError(err, at, 'write into');
        }
        return at === dir ? dir : `${dir} (does not exist yet; ${at} is writable, the first run creates it)`;
      }
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const probe = join(dir, `.${randomBytes(6).toString('hex')}.labup-probe`);
        await writeFile(probe, '', { mode: 0o600 });
        await rm(probe, { force: true });
      } catch (err) {
        throw fileError(err, dir, 'write into');
      }
      return dir;
    },
  },

  journal: {
    id: 'journal',
    title: 'journal',
    run: async (ctx) => {
      if (ctx.create) {
        ctx.store = ctx.openStore();
        return ctx.store.file;
      }
      const j = await inspectJournal(join(ctx.home, 'labup.db'));
      return { status: 'ok', message: j.message, data: { file: j.file, exists: j.exists, version: j.version, submissions: j.submissions, runs: j.runs } };
    },
  },

  lock: {
    id: 'lock',
    title: 'daily lock',
    run: async (ctx) => {
      const path = join(ctx.home, LOCK_FILE);
      const seen = inspectLock(path);
      if (!seen.exists) return { status: 'ok', message: `no labup daily running (no ${path})` };
      const who = seen.info ? `process ${seen.info.pid} on ${seen.info.host}${seen.info.startedAt ? `, started ${seen.info.startedAt}` : ''}` : 'an unreadable lock file';
      const data = { path, owner: seen.info, alive: seen.alive, stale: seen.stale };
      if (seen.stale) {
        return {
          status: 'warn',
          code: 'DAILY_LOCK_STALE',
          message: `${path} is stale: left by ${who}, which is no longer running`,
          hint: `The next labup daily recovers it by itself (and says so); or remove ${path} now.`,
          data,
        };
      }
      if (seen.alive === null && seen.info) {
        return {
          status: 'warn',
          code: 'DAILY_LOCK_OTHER_HOST',
          message: `${path} was taken on another host (${who}): labup cannot tell whether it still runs`,
          hint: `If no labup daily is running on ${seen.info.host}, remove ${path}; a labup daily here waits for nobody and is refused while it exists.`,
          data,
        };
      }
      return { status: 'ok', message: seen.info ? `a labup daily is running now (${who})` : `${path} is being written by a starting run`, data };
    },
  },

  secrets: {
    id: 'secrets',
    title: 'PIN and user ID sources',
    needs: ['config'],
    run: async (ctx) => {
      if (ctx.sandbox) return { status: 'skipped', message: 'the sandbox signs in with its demo card and user' };
      const { parseSecretSource, readSecret, describeSecretSource } = await import('../secrets.js');
      const { readUserId } = await import('../transport/connect.js');
      const interactive = ctx.prompter?.interactive === true;
      const warnings: string[] = [];
      const parts: string[] = [];
      // A file another user can read is reported here, not as a loose warning.
      const quiet: IoHost = { notify: (m) => void (m.code === 'SECRET_FILE_MODE' ? warnings.push(m.message) : undefined) };
      for (const [key, what] of [
        ['pinSource', 'card PIN'],
        ['userIdSource', 'user ID'],
      ] as const) {
        let source = parseSecretSource(ctx.config[key] ?? 'prompt');
        if (key === 'pinSource' && ctx.config.card && isPkcs11(ctx.config.card)) {
          // The card URI's own pin-source wins over the configured one, as when the card is opened.
          const { parsePkcs11Uri } = await import('../card/pkcs11-uri.js');
          source = parsePkcs11Uri(ctx.config.card).pinSource ?? source;
        }
        const shown = describeSecretSource(source);
        if (source.kind === 'prompt') {
          if (!interactive) warnings.push(`${what}: ${shown} — there is no terminal to ask on: an unattended run cannot ask`);
          parts.push(`${what} from ${shown}`);
          continue;
        }
        const common = { env: ctx.env, host: quiet, ...(ctx.prompter ? { prompter: ctx.prompter } : {}) };
        // Read (the value is dropped at once) to prove the source works; the user ID is checked too.
        if (key === 'userIdSource') await readUserId(ctx.config.userIdSource, common);
        else if (isPkcs11(ctx.config.card) || ctx.config.card?.startsWith('p12:')) await readSecret(source, { what, ...common });
        parts.push(`${what} from ${shown} (read)`);
      }
      if (warnings.length) {
        return { status: 'warn', code: 'SECRET_SOURCE', message: warnings.join('; '), hint: 'For unattended runs give env:NAME, file:PATH (mode 0600, e.g. a systemd credential) or cmd:COMMAND in pinSource / userIdSource.' };
      }
      return parts.join(', ');
    },
  },

  cardModule: {
    id: 'card-module',
    title: 'card module',
    needs: ['config'],
    run: async (ctx) => {
      if (ctx.sandbox) return { status: 'skipped', message: 'the sandbox’s demo card is a software token' };
      const uri = ctx.config.card;
      if (!uri && !ctx.cardRequired) return { status: 'skipped', message: 'no card URI in the settings: the connection brings its own card' };
      if (!uri) {
        throw usageError('CARD_NOT_CONFIGURED', 'no card to sign in with', {
          hint: 'Give --card URI (pkcs11:…, p12:PATH or pem:KEY,CERT), LABUP_CARD, or "card" in the config; or use --sandbox.',
        });
      }
      if (!isPkcs11(uri)) return { status: 'skipped', message: 'a software token (p12:/pem:) needs no PKCS#11 module' };
      const [{ parsePkcs11Uri }, { resolveModulePath, isHcaModule }] = await Promise.all([import('../card/pkcs11-uri.js'), import('../card/pkcs11-module.js')]);
      const parsed = parsePkcs11Uri(uri);
      const loc = resolveModulePath({
        ...(parsed.modulePath ? { uriModulePath: parsed.modulePath } : {}),
        ...(parsed.moduleName ? { uriModuleName: parsed.moduleName } : {}),
        env: ctx.env,
        ...(ctx.platform ? { platform: ctx.platform } : {}),
        ...(ctx.fileExists ? { exists: ctx.fileExists } : {}),
      });
      return { status: 'ok', message: `${loc.path} (${loc.from === 'default' ? 'found in the default places' : `from ${loc.from}`})${isHcaModule(loc.path) ? ', the HCA card’s module' : ''}`, data: { path: loc.path, from: loc.from } };
    },
  },

  token: {
    id: 'token',
    title: 'card in the reader',
    needs: ['card-module'],
    run: async (ctx) => {
      const uri = ctx.config.card;
      if (ctx.sandbox || !uri || !isPkcs11(uri)) return { status: 'skipped', message: 'not a PKCS#11 card' };
      const { listCards } = await import('../card/card-list.js');
      // Public objects only: no PIN is asked for or spent.
      const list = await listCards({
        clock: ctx.clock,
        card: uri,
        env: ctx.env,
        ...(ctx.host ? { host: ctx.host } : {}),
        ...(ctx.platform ? { platform: ctx.platform } : {}),
        ...(ctx.pkcs11Loader ? { loader: ctx.pkcs11Loader } : {}),
      });
      const slot = list.slots.find((s) => s.token);
      const token = slot?.token;
      if (!slot || !token) throw authError('CARD_NO_TOKEN', `no card in the reader for ${uri.replace(/\?.*$/, '')}`, { hint: 'Insert the card (labup card list shows the readers and tokens the module sees).' });
      const pin = token.pin;
      const where = `“${token.label}”${token.serial ? ` (serial ${token.serial})` : ''} in ${slot.description || `slot ${slot.slotId}`}`;
      const lengths = pin.minLength !== null && pin.maxLength !== null ? `; PIN ${pin.minLength}–${pin.maxLength} characters` : '';
      const data = { label: token.label, serial: token.serial, slot: slot.slotId, pin, certificates: token.certificates.length };
      if (pin.locked) {
        throw authError('CARD_PIN_LOCKED', `${where}: the PIN is locked`, { hint: 'The card must be unlocked by its issuer (for HCA cards: the HCA); labup never tries a PIN on a locked card.' });
      }
      if (pin.finalTry) {
        return { status: 'warn', code: 'CARD_PIN_FINAL_TRY', message: `${where}: one PIN try left — the next wrong PIN locks the card`, hint: 'Check the PIN source holds the right PIN before the next run; an unattended run never spends the final try.', data };
      }
      if (pin.countLow) {
        return { status: 'warn', code: 'CARD_PIN_COUNT_LOW', message: `${where}: a wrong PIN was entered since the last successful login`, hint: 'Check the PIN source; the card locks after 3 wrong tries.', data };
      }
      return { status: 'ok', message: `${where}${lengths}`, data };
    },
  },

  certificate: {
    id: 'certificate',
    title: 'card certificate',
    needs: ['config', 'token'],
    run: async (ctx) => {
      const card = await ctx.card();
      if (!card) return { status: 'skipped', message: 'this connection does not open its card before signing in' };
      const now = ctx.clock.now();
      const s = summarizeCertificate(await card.certificate(), now);
      ctx.certificate = s;
      const who = `${s.name ?? s.subject}${s.institutionCode ? `, 醫事機構代碼 ${s.institutionCode}` : ''}${s.cardType ? `, ${s.cardType}` : ''}`;
      const data = { subject: s.subject, institutionCode: s.institutionCode, cardType: s.cardType, notBefore: s.notBefore, notAfter: s.notAfter, daysLeft: s.daysLeft, sha256: s.sha256 };
      if (s.state === 'expired') {
        throw authError('CARD_CERT_EXPIRED', `${card.label}: the certificate of ${who} expired on ${s.notAfter.slice(0, 10)} (${days(-s.daysLeft)} ago)`, {
          hint: 'Renew the card (for HCA cards: a new card or certificate from the HCA); the portal refuses an expired certificate. Check also this computer’s clock.',
          details: data,
        });
      }
      if (s.state === 'not-yet-valid') {
        throw authError('CARD_CERT_NOT_YET_VALID', `${card.label}: the certificate of ${who} is valid only from ${s.notBefore.slice(0, 16).replace('T', ' ')}`, {
          hint: 'Check this computer’s clock and time zone; a new card is valid from the date in its certificate.',
          details: data,
        });
      }
      if (s.daysLeft <= EXPIRY_WARNING_DAYS) {
        return {
          status: 'warn',
          code: 'CARD_CERT_EXPIRING',
          message: `${who}: expires on ${s.notAfter.slice(0, 10)} (${days(s.daysLeft)} left)`,
          hint: 'Renew the card in time (for HCA cards: apply at the HCA a few weeks ahead); the portal refuses an expired certificate.',
          data,
        };
      }
      return { status: 'ok', message: `${who}; valid until ${s.notAfter.slice(0, 10)} (${days(s.daysLeft)})`, data };
    },
  },

  portal: {
    id: 'portal',
    title: 'portal reachable',
    needs: ['config'],
    run: async (ctx) => {
      ctx.connection ??= await ctx.connect();
      const client = ctx.connection.client;
      const before = ctx.clock.now();
      const t0 = performance.now();
      ctx.portalInfo = await client.info();
      const ms = Math.round(performance.now() - t0);
      ctx.portalAsked = { before, after: ctx.clock.now() };
      const http = client as Partial<Pick<HttpPortalClient, 'route' | 'extraCa'>>;
      const tls = client.baseUrl.startsWith('https:') ? `; TLS verified against the system’s CAs${http.extraCa ? ` and ${ctx.config.caFile ?? 'the given CA'}` : ''}` : '';
      const route = http.route ? `, ${describeRoute(http.route)}` : '';
      return {
        status: 'ok',
        message: `${client.baseUrl} answered in ${ms} ms (${ctx.portalInfo.service}, protocol ${ctx.portalInfo.protocol})${route}${tls}`,
        data: { url: client.baseUrl, ms, route: http.route ?? null, service: ctx.portalInfo.service, protocol: ctx.portalInfo.protocol },
      };
    },
  },

  clock: {
    id: 'clock',
    title: 'clock',
    needs: ['portal'],
    run: async (ctx) => {
      const info = ctx.portalInfo;
      const asked = ctx.portalAsked;
      if (!info || !asked) return { status: 'skipped', message: 'the portal was not asked' };
      // The Date header has whole seconds: the portal's clock read somewhere in [Date, Date + 1 s).
      const fromHeader = info.date ? Date.parse(info.date) : NaN;
      const portalMs = Number.isNaN(fromHeader) ? Date.parse(info.serverTime ?? '') : fromHeader + 500;
      if (Number.isNaN(portalMs)) return { status: 'skipped', message: 'the portal’s answer carries no time (no Date header)' };
      const hostMs = (asked.before.getTime() + asked.after.getTime()) / 2;
      const skew = Math.round(hostMs - portalMs);
      const data = { skewMs: skew, host: taipeiIso(new Date(hostMs)), portal: taipeiIso(new Date(portalMs)), portalDate: info.date ?? null };
      const hint = 'Set this computer’s clock right and keep it synchronised (Linux: timedatectl set-ntp true; Windows: w32tm /resync): h16 and 上傳日期 are taken from it.';
      if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS) return { status: 'ok', message: `within ${duration(skew)} of the portal’s${info.date ? ` (Date: ${info.date})` : ''}`, data };
      const side = `${duration(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the portal’s`;
      const hostDay = formatRocSlashed(taipeiToday(new Date(hostMs)));
      const portalDay = formatRocSlashed(taipeiToday(new Date(portalMs)));
      if (hostDay !== portalDay) {
        throw configError('CLOCK_SKEW', `this computer’s clock is ${side}: it is ${hostDay} here and ${portalDay} at the portal (Asia/Taipei), so h16 and 上傳日期 would name the wrong day`, { hint, details: data });
      }
      return { status: 'warn', code: 'CLOCK_SKEW', message: `this computer’s clock is ${side}${info.date ? ` (Date: ${info.date})` : ''}`, hint, data };
    },
  },

  signIn: {
    id: 'card',
    title: 'card and sign-in',
    needs: ['portal', 'certificate'],
    run: async (ctx) => {
      ctx.connection ??= await ctx.connect();
      ctx.session = await ctx.connection.signIn();
      return `signed in as ${ctx.session.user} of ${ctx.session.institutionCode} ${ctx.session.institutionName}`;
    },
  },
} satisfies Record<string, Check<CheckContext>>;
