/**
 * The preflight of `labup daily`: the checks of `labup doctor` (src/doctor/checks.ts) — settings,
 * download folder, journal, card module, token, certificate, portal, clock — plus the day's inputs
 * and the sign-in, run in order before anything is packed or sent. The first failure stops the run
 * (the rest are `skipped`) with that check's coded error and exit code; warnings (a certificate
 * expiring within 30 days, a clock more than a minute off) are reported and the run goes on.
 */
import { CHECK, runChecks, type Check, type CheckContext, type CheckOutcome, type CheckStatus, type ChecksResult, type RunChecksOptions } from '../doctor/checks.js';
import type { IoHost } from '../io-host.js';
import { hashInputs } from './run-key.js';
import type { RunInput } from './run-store.js';

export type { CheckStatus };
export type PreflightOutcome = CheckOutcome;
export type PreflightCheck<C> = Check<C>;
export type PreflightResult = ChecksResult;

/** Runs the checks in order; by default stops at the first failure (the rest are `skipped`). */
export function runPreflight<C>(checks: ReadonlyArray<Check<C>>, ctx: C, host?: IoHost, options: RunChecksOptions = {}): Promise<PreflightResult> {
  return runChecks(checks, ctx, host, { stopAtFirstFailure: true, ...options });
}

/** What the daily checks look at, and what they leave for the run (hashed inputs, the signed-in portal). */
export interface DailyPreflightContext extends CheckContext {
  inputs: string[];
  /** Nothing may be created on disk (a dry run only looks). */
  dryRun: boolean;
  hashed?: RunInput[];
}

const inputs: Check<DailyPreflightContext> = {
  id: 'inputs',
  title: 'inputs readable',
  run: async (ctx) => {
    ctx.hashed = await hashInputs(ctx.inputs, ctx.cwd);
    const bytes = ctx.hashed.reduce((n, i) => n + i.size, 0);
    return `${ctx.hashed.length} input${ctx.hashed.length === 1 ? '' : 's'}, ${bytes.toLocaleString('en')} bytes`;
  },
};

/** The journal is opened (and made, the first time) even by a dry run: the run is looked up in it. */
const journal: Check<DailyPreflightContext> = {
  id: 'journal',
  title: 'journal',
  run: async (ctx) => {
    ctx.store = ctx.openStore();
    return ctx.store.file;
  },
};

/** The checks `labup daily` makes before it packs and sends anything, in order. */
export const DAILY_CHECKS: ReadonlyArray<Check<DailyPreflightContext>> = [
  CHECK.config,
  inputs,
  CHECK.downloadDir,
  journal,
  CHECK.cardModule,
  CHECK.token,
  CHECK.certificate,
  CHECK.portal,
  CHECK.clock,
  CHECK.signIn,
];
