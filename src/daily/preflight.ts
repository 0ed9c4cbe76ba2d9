/**
 * The preflight of an unattended run: checks made before anything is sent, each one a small named
 * step that passes, warns, or fails with the coded error saying what to fix. `labup daily` runs
 * {@link DAILY_CHECKS} and stops at the first failure, before uploading; further checks (the card's
 * certificate expiry, the host clock against the portal's …) plug in as more entries of the same
 * shape.
 */
import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { fileError, isLabupError, type LabupError } from '../errors.js';
import type { IoHost } from '../io-host.js';
import type { Store } from '../store/store.js';
import type { PortalConnection } from '../transport/connect.js';
import type { PortalInfo, PortalSession } from '../transport/portal-client.js';
import { hashInputs } from './run-key.js';
import type { RunInput } from './run-store.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface PreflightOutcome {
  /** Stable id, e.g. `portal`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found (one line). */
  message: string;
  /** The failure's code and what to do (status `fail`, or a warning's advice). */
  code?: string;
  hint?: string;
  exitCode?: number;
}

export interface PreflightCheck<C> {
  id: string;
  title: string;
  /** Passes (a message), warns (`{ warn }`), or throws a LabupError. */
  run(ctx: C): Promise<string | { warn: string; hint?: string; code?: string }>;
}

export interface PreflightResult {
  ok: boolean;
  checks: PreflightOutcome[];
  /** The first failure, as thrown. */
  failure: LabupError | null;
}

/** Runs the checks in order; stops at the first failure (the rest are `skipped`). Only LabupErrors count as failures. */
export async function runPreflight<C>(checks: ReadonlyArray<PreflightCheck<C>>, ctx: C, host?: IoHost): Promise<PreflightResult> {
  const out: PreflightOutcome[] = [];
  let failure: LabupError | null = null;
  for (const check of checks) {
    if (failure) {
      out.push({ id: check.id, title: check.title, status: 'skipped', message: 'not checked (an earlier check failed)' });
      continue;
    }
    try {
      const r = await check.run(ctx);
      if (typeof r === 'string') {
        out.push({ id: check.id, title: check.title, status: 'ok', message: r });
        host?.notify({ level: 'verbose', code: 'PREFLIGHT_OK', message: `preflight ${check.id}: ${r}`, data: { check: check.id } });
      } else {
        out.push({ id: check.id, title: check.title, status: 'warn', message: r.warn, ...(r.hint ? { hint: r.hint } : {}), ...(r.code ? { code: r.code } : {}) });
        host?.notify({ level: 'warn', code: r.code ?? 'PREFLIGHT_WARN', message: `${check.title}: ${r.warn}`, data: { check: check.id } });
      }
    } catch (err) {
      if (!isLabupError(err)) throw err;
      failure = err;
      out.push({ id: check.id, title: check.title, status: 'fail', message: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode });
      host?.notify({ level: 'verbose', code: 'PREFLIGHT_FAILED', message: `preflight ${check.id}: [${err.code}] ${err.message}`, data: { check: check.id, code: err.code } });
    }
  }
  return { ok: failure === null, checks: out, failure };
}

/** What the daily checks look at, and what they leave for the run (hashed inputs, the signed-in portal). */
export interface DailyPreflightContext {
  inputs: string[];
  cwd: string;
  /** Where check files and reports go. */
  downloadDir: string;
  /** Nothing may be created on disk (a dry run only looks). */
  dryRun: boolean;
  clock: Clock;
  /** Checks the timing settings (throws a config error naming the bad one). */
  checkSettings(): string;
  openStore(): Store;
  connect(): Promise<PortalConnection>;
  // Filled in by the checks:
  hashed?: RunInput[];
  store?: Store;
  connection?: PortalConnection;
  portalInfo?: PortalInfo;
  session?: PortalSession;
}

async function nearestExisting(dir: string): Promise<string> {
  let d = dir;
  for (;;) {
    try {
      await access(d, constants.F_OK);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}

/** The checks `labup daily` makes before it packs and sends anything, in order. */
export const DAILY_CHECKS: ReadonlyArray<PreflightCheck<DailyPreflightContext>> = [
  {
    id: 'config',
    title: 'configuration',
    run: async (ctx) => ctx.checkSettings(),
  },
  {
    id: 'inputs',
    title: 'inputs readable',
    run: async (ctx) => {
      ctx.hashed = await hashInputs(ctx.inputs, ctx.cwd);
      const bytes = ctx.hashed.reduce((n, i) => n + i.size, 0);
      return `${ctx.hashed.length} input${ctx.hashed.length === 1 ? '' : 's'}, ${bytes.toLocaleString('en')} bytes`;
    },
  },
  {
    id: 'download-dir',
    title: 'download folder writable',
    run: async (ctx) => {
      const dir = ctx.downloadDir;
      if (ctx.dryRun) {
        const at = await nearestExisting(dir);
        try {
          await access(at, constants.W_OK);
        } catch (err) {
          throw fileError(err, at, 'write into');
        }
        return `${dir} (would be written)`;
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
  {
    id: 'journal',
    title: 'journal',
    run: async (ctx) => {
      ctx.store = ctx.openStore();
      return ctx.store.file;
    },
  },
  {
    id: 'portal',
    title: 'portal reachable',
    run: async (ctx) => {
      ctx.connection = await ctx.connect();
      ctx.portalInfo = await ctx.connection.client.info();
      return `${ctx.connection.client.baseUrl} (${ctx.portalInfo.service}, protocol ${ctx.portalInfo.protocol})`;
    },
  },
  {
    id: 'card',
    title: 'card and sign-in',
    run: async (ctx) => {
      ctx.session = await ctx.connection!.signIn();
      return `signed in as ${ctx.session.user} of ${ctx.session.institutionCode} ${ctx.session.institutionName}`;
    },
  },
];
