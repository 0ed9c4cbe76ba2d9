/**
 * The flags every portal command shares (`--portal`, `--sandbox`, `--card`, `--ca`, `--retries`,
 * `--request-timeout`) and how a command turns them into a {@link PortalConnection}.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from '../cli/main.js';
import type { ConfigKey, LabupConfig, ResolvedConfig } from '../config/config.js';
import { usageError } from '../errors.js';
import { openStore, type Store } from '../store/store.js';
import type { PortalConnection } from './connect.js';

export interface PortalFlags {
  portal?: string;
  sandbox?: boolean;
  card?: string;
  ca?: string;
  retries?: number;
  requestTimeout?: string;
}

function triesArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new InvalidArgumentError('must be a whole number from 1 to 20 (tries in total)');
  return n;
}

export function addPortalOptions(cmd: Command): Command {
  return cmd
    .option('--portal <url>', 'portal base URL (default: LABUP_PORTAL or "portal" in the config)')
    .option('--sandbox', 'use the built-in sandbox portal with its demo institution, card and user (state under LABUP_HOME/sandbox)')
    .option('--card <uri>', 'card to sign in with: pkcs11:…, p12:PATH or pem:KEY,CERT (default: LABUP_CARD or "card" in the config)')
    .option('--ca <file>', 'extra CA bundle (PEM) to trust for the portal’s TLS certificate')
    .addOption(new Option('--retries <n>', 'tries in total for a request that can succeed on retry (default 4)').argParser(triesArg))
    .option('--request-timeout <duration>', 'deadline of one request, whole transfer included (default 60s)');
}

/** The portal flags as configuration values, and the flag behind each (named in messages about it). */
export function portalSettings(flags: PortalFlags): { values: Partial<LabupConfig>; flags: Partial<Record<ConfigKey, string>> } {
  return {
    values: { portal: flags.portal, card: flags.card, caFile: flags.ca, retries: flags.retries, requestTimeout: flags.requestTimeout },
    flags: { portal: '--portal', card: '--card', caFile: '--ca', retries: '--retries', requestTimeout: '--request-timeout' },
  };
}

/**
 * Opens the portal (and its sign-in) for a command; closed when the command ends. `config`: the
 * configuration the command has already resolved with these flags (else it is resolved here).
 */
export async function openPortalFromCli(ctx: CliContext, flags: PortalFlags, config?: ResolvedConfig['values']): Promise<PortalConnection> {
  if (flags.sandbox && flags.portal) throw usageError('CONFLICTING_FLAGS', '--sandbox and --portal exclude each other', { hint: 'Use one: the built-in sandbox, or the portal at a URL.' });
  if (!config) {
    const settings = portalSettings(flags);
    config = ctx.config(settings.values, settings.flags).values;
  }
  // The HTTP client and the sandbox load only when a command connects (not for `--help` or `pack`).
  const { connectPortal } = await import('./connect.js');
  const conn = await connectPortal({
    config,
    sandbox: flags.sandbox === true,
    env: ctx.env,
    clock: ctx.clock,
    host: ctx.out,
    prompter: ctx.prompter,
  });
  ctx.onExit(() => conn.close());
  if (conn.sandbox) ctx.out.notify({ level: 'verbose', code: 'SANDBOX_STARTED', message: `sandbox portal at ${conn.sandbox.url} (${conn.sandbox.dataDir})` });
  return conn;
}

/** The journal (LABUP_HOME/labup.db), closed when the command ends. */
export function openStoreFromCli(ctx: CliContext): Store {
  const store = openStore({ env: ctx.env });
  ctx.onExit(() => store.close());
  return store;
}

/** Display width on a terminal: CJK and full-width characters take two columns. */
export function displayWidth(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    n += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || c >= 0x20000 ? 2 : 1;
  }
  return n;
}

/** Rows as aligned columns (two spaces apart), the first row being the header. */
export function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => displayWidth(row[i] ?? ''))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - displayWidth(cell)))).join('  ').trimEnd());
}
