/**
 * Opening the portal for a command: which portal (`--portal`, `LABUP_PORTAL`, config `portal`, or
 * `--sandbox`), which card and user sign in, and the transport settings (CA, proxy, timeouts,
 * retries). With `sandbox`, an in-process sandbox is started on 127.0.0.1 with its state under
 * `LABUP_HOME/sandbox` (initialised on first use), and the demo card and user sign in: a first-time
 * user can try every portal command with no set-up, and the state persists between commands.
 */
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { parseDuration } from '../clock.js';
import { openCard } from '../card/open.js';
import type { Card } from '../card/card.js';
import { configError, usageError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import { checkPersonId } from '../format/national-id.js';
import { dataHome, type Env } from '../paths.js';
import type { Prompter } from '../prompts.js';
import { parseSecretSource, readSecret } from '../secrets.js';
import type { LabupConfig } from '../config/config.js';
import type { RunningSandbox } from '../sandbox/server.js';
import { HttpPortalClient } from './http-client.js';
import type { PortalClient, PortalSession } from './portal-client.js';

export interface ConnectOptions {
  /** Resolved configuration values (flags already on top): portal, card, pinSource, userIdSource, caFile, requestTimeout, retries. */
  config: LabupConfig;
  /** Use an in-process sandbox instead of a portal URL. */
  sandbox?: boolean;
  /** The sandbox's folder (default `LABUP_HOME/sandbox`). */
  sandboxDir?: string;
  /** Processing delay of the in-process sandbox (default: `LABUP_SANDBOX_DELAY`, else 5 s). */
  sandboxDelayMs?: number;
  env: Env;
  clock: Clock;
  host?: IoHost;
  prompter?: Prompter;
  /** Waits between retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export interface PortalConnection {
  client: PortalClient;
  /** The in-process sandbox, with `sandbox`. */
  sandbox: RunningSandbox | undefined;
  /**
   * Opens the card (once) without signing in: a PKCS#11 card's certificate is read without its PIN
   * (a software token needs its passphrase). Absent on connections made by hand (tests).
   */
  card?(): Promise<Card>;
  /** Opens the card and signs in (once; later calls return the same session). */
  signIn(): Promise<PortalSession>;
  /** 醫事機構代碼 of the signing card, once signed in. */
  readonly institutionCode: string | null;
  close(): Promise<void>;
}

export function defaultSandboxDir(env: Env): string {
  return join(dataHome(env), 'sandbox');
}

/**
 * A clock that runs on from `base`'s reading at the time of the call, at the pace of real time:
 * with a fixed clock (`LABUP_NOW`) the in-process sandbox still sees its processing delays elapse.
 */
export function runningClock(base: Clock): Clock {
  const t0 = base.now().getTime();
  const p0 = performance.now();
  return { now: () => new Date(t0 + Math.round(performance.now() - p0)) };
}

function durationMs(value: string | undefined, what: string, dflt: number): number {
  if (value === undefined) return dflt;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw configError('BAD_DURATION', `${what} “${value}” is not a duration`, { hint: 'Write e.g. 30s, 5m, 1h30m.' });
  return ms;
}

export async function connectPortal(o: ConnectOptions): Promise<PortalConnection> {
  const requestTimeoutMs = durationMs(o.config.requestTimeout, 'request timeout', 60_000);
  const retries = o.config.retries ?? 4;
  let card: Card | undefined;
  let session: PortalSession | undefined;
  let institutionCode: string | null = null;

  if (o.sandbox) {
    const { initSandbox } = await import('../sandbox/setup.js');
    const { startSandbox } = await import('../sandbox/server.js');
    const dir = o.sandboxDir ?? defaultSandboxDir(o.env);
    const clock = runningClock(o.clock);
    const init = await initSandbox({ dataDir: dir, clock });
    if (init.created) o.host?.notify({ level: 'info', code: 'SANDBOX_INITIALISED', message: `sandbox created in ${init.dataDir} (demo institution ${init.demo.institution.code}, demo user and card)` });
    const delay = o.sandboxDelayMs ?? durationMs(o.env.LABUP_SANDBOX_DELAY, 'LABUP_SANDBOX_DELAY', 5000);
    const quiet: IoHost = { notify: (m) => o.host?.notify({ ...m, level: m.level === 'error' || m.level === 'warn' ? m.level : 'debug' }) };
    const resendDelay = durationMs(o.env.LABUP_SANDBOX_RESEND_DELAY, 'LABUP_SANDBOX_RESEND_DELAY', delay);
    const sb = await startSandbox({ dataDir: dir, port: 0, clock, processingDelayMs: delay, resendDelayMs: resendDelay, log: quiet });
    const client = new HttpPortalClient({
      baseUrl: sb.url,
      id: `sandbox:${sb.dataDir}`,
      noProxy: true,
      requestTimeoutMs,
      retries,
      ...(o.host ? { host: o.host } : {}),
      ...(o.sleep ? { sleep: o.sleep } : {}),
      onClose: () => sb.stop(),
    });
    const demo = init.demo;
    const demoCard = async (): Promise<Card> => (card ??= await openCard(demo.card, { pinSource: demo.pinSource, env: o.env, ...(o.host ? { host: o.host } : {}) }));
    return {
      client,
      sandbox: sb,
      get institutionCode() {
        return institutionCode;
      },
      card: demoCard,
      async signIn() {
        if (session) return session;
        session = await client.signIn({ card: await demoCard(), userId: demo.user.nationalId });
        institutionCode = session.institutionCode;
        return session;
      },
      async close() {
        await client.close();
        await card?.close();
      },
    };
  }

  const portal = o.config.portal;
  if (!portal) {
    throw usageError('PORTAL_NOT_CONFIGURED', 'no portal to talk to', {
      hint: 'Give --portal URL (or LABUP_PORTAL, or "portal" in the config), or try everything against the built-in sandbox with --sandbox.',
    });
  }
  const common = { env: o.env, ...(o.prompter ? { prompter: o.prompter } : {}), ...(o.host ? { host: o.host } : {}) };
  const configuredCard = async (): Promise<Card> => {
    const uri = o.config.card;
    if (!uri) {
      throw usageError('CARD_NOT_CONFIGURED', 'no card to sign in with', {
        hint: 'Give --card URI (pkcs11:…, p12:PATH or pem:KEY,CERT), LABUP_CARD, or "card" in the config; or use --sandbox.',
      });
    }
    return (card ??= await openCard(uri, { pinSource: o.config.pinSource ?? 'prompt', ...common }));
  };
  const client = new HttpPortalClient({
    baseUrl: portal,
    requestTimeoutMs,
    retries,
    env: o.env,
    ...(o.config.caFile ? { caFile: o.config.caFile } : {}),
    ...(o.host ? { host: o.host } : {}),
    ...(o.sleep ? { sleep: o.sleep } : {}),
  });
  return {
    client,
    sandbox: undefined,
    get institutionCode() {
      return institutionCode;
    },
    card: configuredCard,
    async signIn() {
      if (session) return session;
      const userId = await readUserId(o.config.userIdSource, common);
      session = await client.signIn({ card: await configuredCard(), userId });
      institutionCode = session.institutionCode;
      return session;
    },
    async close() {
      await client.close();
      await card?.close();
    },
  };
}

/**
 * The national ID of the user signing in, from its secret source, checked (never shown): first
 * letter uppercase, as the portal and the encrypted downloads take it.
 */
export async function readUserId(sourceText: string | undefined, common: { env: Env; prompter?: Prompter; host?: IoHost }): Promise<string> {
  const userId = (await readSecret(parseSecretSource(sourceText ?? 'prompt'), { what: 'national ID of the user signing in', ...common })).trim();
  const normalised = userId.charAt(0).toUpperCase() + userId.slice(1);
  if (!checkPersonId(normalised).ok) {
    throw usageError('BAD_USER_ID', 'the user ID from the user-id source is not a valid national ID', { hint: 'Check the source named by userIdSource (LABUP_USER_ID_SOURCE).' });
  }
  return normalised;
}
