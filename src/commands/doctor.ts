/** `labup doctor` */
import type { Command } from 'commander';
import type { Wrap } from '../cli/main.js';
import { addPortalOptions, portalSettings, type PortalFlags } from '../transport/cli-support.js';

interface DoctorFlags extends PortalFlags {
  out?: string;
  signIn?: boolean;
}

const MARK = { ok: '✓', warn: '!', fail: '✗', skipped: '-' } as const;

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('doctor')
    .summary('check everything an unattended run needs, and say how to fix what is wrong')
    .description(
      'Checks, in order: the configuration (with --profile); the PIN and user ID sources (read, never ' +
        'shown); the download folder is writable; the journal is readable; the daily lock is not stale; the ' +
        'card’s PKCS#11 module is found (on Windows HCAPKCS11.dll in System32, then SysWOW64); the card is in ' +
        'the reader and its PIN not locked; its certificate is valid (a warning within 30 days of expiry); the ' +
        'portal answers over TLS with the configured CA and proxy; and this computer’s clock agrees with the ' +
        'portal’s Date (a warning beyond 60 s; a failure when it makes 上傳日期 another day). Each problem ' +
        'comes with how to fix it. Nothing is changed and no PIN is used unless --sign-in. labup daily runs ' +
        'the same checks before it uploads.\n\n' +
        'Exit codes: 0 no check failed (warnings allowed); otherwise the exit code of the first failing check ' +
        '(2 configuration, folder, journal or clock; 4 card or certificate; 5 portal or network).',
    )
    .option('--out <dir>', 'the download folder to check (default: downloadDir in the config, else ./downloads)')
    .option('--sign-in', 'also open the card with its PIN and sign in to the portal (one PIN try)');
  addPortalOptions(cmd).action(
    wrap(async (ctx, opts: DoctorFlags) => {
      const { runDoctor } = await import('../doctor/doctor.js');
      const { connectPortal } = await import('../transport/connect.js');
      const { dataHome } = await import('../paths.js');
      const { usageError } = await import('../errors.js');
      if (opts.sandbox && opts.portal) throw usageError('CONFLICTING_FLAGS', '--sandbox and --portal exclude each other', { hint: 'Use one: the built-in sandbox, or the portal at a URL.' });
      const result = await runDoctor({
        cwd: ctx.cwd,
        clock: ctx.clock,
        env: ctx.env,
        host: ctx.out,
        prompter: ctx.prompter,
        home: dataHome(ctx.env),
        sandbox: opts.sandbox === true,
        signIn: opts.signIn === true,
        loadConfig: () => {
          const portal = portalSettings(opts);
          return ctx.config({ ...portal.values, downloadDir: opts.out }, { ...portal.flags, downloadDir: '--out' });
        },
        connect: (config) => connectPortal({ config, sandbox: opts.sandbox === true, env: ctx.env, clock: ctx.clock, host: ctx.out, prompter: ctx.prompter }),
      });
      if (ctx.globals.json) {
        ctx.out.resultJson(result);
      } else {
        const c = ctx.out.cOut;
        const paint = { ok: c.green, warn: c.yellow, fail: c.red, skipped: c.dim };
        const width = Math.max(...result.checks.map((x) => x.title.length));
        for (const x of result.checks) {
          const code = x.code && x.status !== 'ok' ? ` [${x.code}]` : '';
          ctx.out.result(ctx.out.mask(`${paint[x.status](MARK[x.status])} ${x.title.padEnd(width)}  ${x.message}${code}`));
          if (x.hint && (x.status === 'fail' || x.status === 'warn')) ctx.out.result(`  ${' '.repeat(width)}  → ${x.hint}`);
        }
      }
      const n = result.counts;
      const first = result.checks.find((x) => x.status === 'fail');
      const tail = first ? ` — first to fix: ${first.title} [${first.code}] (exit ${result.exitCode})` : n.warn ? ' — ready, see the warnings' : ' — ready for unattended runs';
      ctx.out.summary(`labup doctor: ${n.ok} ok, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.fail} failed, ${n.skipped} skipped${tail}`);
      return result.exitCode;
    }),
  );
}
