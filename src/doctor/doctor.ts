/**
 * `labup doctor`: every check an unattended run depends on, each reported with what it found and,
 * when it fails or warns, how to fix it — configuration, the PIN and user ID sources, the download
 * folder, the journal, the daily lock, the card module, the card, its certificate, the portal over
 * TLS (with the configured CA and proxy), and the host clock against the portal's. Unlike the daily
 * preflight it does not stop at the first failure: a check is skipped only when one it needs failed.
 *
 * Nothing is changed: no folder or journal is created, no lock taken, no PIN spent (the card's
 * public objects are read without one) — unless `signIn` asks to sign in too (one PIN try).
 */
import { resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { ExitCode, usageError } from '../errors.js';
import type { Card } from '../card/card.js';
import type { IoHost } from '../io-host.js';
import type { Env } from '../paths.js';
import type { Prompter } from '../prompts.js';
import type { LabupConfig, ResolvedConfig } from '../config/config.js';
import type { PortalConnection } from '../transport/connect.js';
import { dailySettings } from '../daily/settings.js';
import { CHECK, runChecks, type Check, type CheckContext, type CheckOutcome } from './checks.js';

export interface DoctorOptions {
  cwd: string;
  clock: Clock;
  env: Env;
  host?: IoHost;
  prompter?: Prompter;
  /** LABUP_HOME. */
  home: string;
  /** The layered configuration with the flags on top (throws a config error when a file is bad). */
  loadConfig(): ResolvedConfig;
  /** Check against the built-in sandbox (its demo card and user). */
  sandbox?: boolean;
  /** Opens the portal connection for these settings (no request is made by opening it). */
  connect(config: LabupConfig): Promise<PortalConnection>;
  /** Also sign in to the portal with the card (spends one PIN try if the PIN is wrong). */
  signIn?: boolean;
}

export interface DoctorResult {
  /** No check failed (warnings allowed). */
  ok: boolean;
  /** 0, or the exit code of the first failing check in the order below. */
  exitCode: number;
  checks: CheckOutcome[];
  counts: { ok: number; warn: number; fail: number; skipped: number };
  profile: string | null;
  /** The portal checked (`sandbox` for the built-in one), when the configuration names one. */
  portal: string | null;
  home: string;
}

interface DoctorContext extends CheckContext {
  resolved?: ResolvedConfig;
}

/** The doctor's checks, in the order an operator fixes things. */
export function doctorChecks(o: { signIn?: boolean; sandbox?: boolean; loadConfig(): ResolvedConfig }): Array<Check<DoctorContext>> {
  const config: Check<DoctorContext> = {
    id: 'config',
    title: 'configuration',
    run: async (ctx) => {
      const resolved = o.loadConfig();
      ctx.resolved = resolved;
      ctx.config = resolved.values;
      ctx.downloadDir = resolve(ctx.cwd, resolved.values.downloadDir ?? 'downloads');
      // Timings here; the portal, the card and the secret sources each have their own check.
      const settings = dailySettings(resolved.values, resolved.sources, true);
      ctx.checkSettings = settings.check;
      const files = [resolved.files.userExists ? resolved.files.user : null, resolved.files.projectExists ? resolved.files.project : null].filter(Boolean);
      return {
        status: 'ok',
        message: `${settings.check().replace(', built-in sandbox', '')}${resolved.profile ? `; profile ${resolved.profile}` : ''}; ${files.length ? `from ${files.join(' and ')}` : 'no config file (defaults and environment)'}`,
        data: { profile: resolved.profile, files: resolved.files },
      };
    },
  };
  const downloadDir: Check<DoctorContext> = { ...CHECK.downloadDir, needs: ['config'] };
  return [config, CHECK.secrets, downloadDir, CHECK.journal, CHECK.lock, CHECK.cardModule, CHECK.token, CHECK.certificate, CHECK.portal, CHECK.clock, ...(o.signIn ? [CHECK.signIn] : [])];
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorResult> {
  // Warnings are part of the result; the host gets them at verbose level (and in the log file).
  const host: IoHost | undefined = o.host && {
    notify: (m) => o.host!.notify(m.data && 'check' in m.data && m.level === 'warn' ? { ...m, level: 'verbose' } : m),
  };
  const ctx: DoctorContext = {
    cwd: o.cwd,
    clock: o.clock,
    env: o.env,
    ...(host ? { host } : {}),
    ...(o.prompter ? { prompter: o.prompter } : {}),
    home: o.home,
    downloadDir: resolve(o.cwd, 'downloads'),
    create: false,
    cardRequired: true,
    sandbox: o.sandbox === true,
    config: {},
    checkSettings: () => 'settings read',
    openStore: () => {
      throw new Error('the doctor never opens the journal for writing');
    },
    connect: () => o.connect(ctx.config),
    card: async () => {
      if (ctx.sandbox || ctx.config.portal) return (ctx.connection ??= await ctx.connect()).card?.();
      // No portal configured: the card can still be checked, opened on its own.
      if (!ctx.config.card) throw usageError('CARD_NOT_CONFIGURED', 'no card configured');
      const { openCard } = await import('../card/open.js');
      return (ownCard ??= await openCard(ctx.config.card, { pinSource: ctx.config.pinSource ?? 'prompt', env: o.env, ...(o.prompter ? { prompter: o.prompter } : {}), ...(host ? { host } : {}) }));
    },
  };
  let ownCard: Card | undefined;
  let result;
  try {
    result = await runChecks(doctorChecks(o), ctx, host, { stopAtFirstFailure: false });
  } finally {
    await ctx.connection?.close();
    await ownCard?.close();
  }
  const counts = { ok: 0, warn: 0, fail: 0, skipped: 0 };
  for (const c of result.checks) counts[c.status]++;
  const firstFail = result.checks.find((c) => c.status === 'fail');
  return {
    ok: result.ok,
    exitCode: firstFail?.exitCode ?? ExitCode.OK,
    checks: result.checks,
    counts,
    profile: ctx.resolved?.profile ?? null,
    portal: o.sandbox ? 'sandbox' : (ctx.resolved?.values.portal ?? null),
    home: o.home,
  };
}
