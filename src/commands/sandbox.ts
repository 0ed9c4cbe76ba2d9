/** `labup sandbox` (run the sandbox portal) and `labup sandbox init`. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { parseDuration } from '../clock.js';
import { maskId } from '../format/national-id.js';
import type { SandboxDemo } from '../sandbox/setup.js';

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0–65535 (0 = any free port)');
  return n;
}

function demoJson(demo: SandboxDemo, showIds: boolean): SandboxDemo {
  return { ...demo, user: { ...demo.user, nationalId: showIds ? demo.user.nationalId : maskId(demo.user.nationalId) } };
}

export function register(program: Command, wrap: Wrap): void {
  const sandbox = program
    .command('sandbox')
    .summary('run the built-in sandbox portal (upload, 檢核, check files, downloads) on this machine')
    .description(
      'Runs the sandbox portal in the foreground until Ctrl-C: card sign-in, uploads with 上傳日期, ' +
        '收件序號, 檢核中 → 檢核正確/檢核錯誤 after the processing delay, check files, downloads kept two ' +
        'weeks. Its state lives in --data (default LABUP_HOME/sandbox) and survives restarts; an empty ' +
        'folder is initialised (see labup sandbox init). Point other commands at it with --portal URL ' +
        '(or use --sandbox on any portal command to run one in-process).',
    )
    .addOption(new Option('--port <n>', 'port to listen on (default 0: any free port)').argParser(portArg).default(0))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'the sandbox’s data folder (default LABUP_HOME/sandbox)')
    .option('--processing-delay <duration>', 'time from 傳送時間 to the check result (NHI: 30 minutes or more)', '5s')
    .option('--resend-delay <duration>', 'time from a 申請重送 to the file being offered again (default: the processing delay)')
    .option('--tls', 'serve HTTPS with a certificate from the sandbox CA (clients need --ca DATA/pki/ca.pem)')
    .option(
      '--faults <spec>',
      'misbehave on purpose, for testing clients: RULE[,RULE…], RULE = [TARGET:]ACTION[:OPTION…], e.g. "upload:reset-after-commit:once,status:503:retry-after=2:times=3,slow:8s" (docs/security.md)',
    )
    .action(
      wrap(async (ctx, opts: { port: number; host: string; data?: string; processingDelay: string; resendDelay?: string; tls?: boolean; faults?: string }) => {
        const { startSandbox } = await import('../sandbox/server.js');
        const { faultsFromSpec } = await import('../sandbox/faults.js');
        const faults = opts.faults === undefined ? undefined : faultsFromSpec(opts.faults);
        const { defaultSandboxDir, runningClock } = await import('../transport/connect.js');
        const delay = parseDuration(opts.processingDelay);
        if (delay === undefined) throw usageError('BAD_DURATION', `--processing-delay “${opts.processingDelay}” is not a duration`, { hint: 'Write e.g. 5s, 2m, 30m.' });
        const resendDelay = opts.resendDelay === undefined ? delay : parseDuration(opts.resendDelay);
        if (resendDelay === undefined) throw usageError('BAD_DURATION', `--resend-delay “${opts.resendDelay}” is not a duration`, { hint: 'Write e.g. 5s, 2m, 1h.' });
        const dataDir = resolve(ctx.cwd, opts.data ?? defaultSandboxDir(ctx.env));
        const sb = await startSandbox({
          dataDir,
          port: opts.port,
          host: opts.host,
          clock: runningClock(ctx.clock),
          processingDelayMs: delay,
          resendDelayMs: resendDelay,
          tls: opts.tls === true,
          ...(faults && faults.rules.length > 0 ? { faults } : {}),
          log: { notify: (m) => ctx.out.notify(m.code === 'SANDBOX_REQUEST' ? { ...m, level: 'info' } : m) },
        });
        const stopped = new Promise<void>((done) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            done();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        if (ctx.globals.json) {
          ctx.out.resultJson({ url: sb.url, dataDir: sb.dataDir, tls: sb.tls, caFile: sb.caFile, adminTokenFile: sb.adminTokenFile, processing: sb.processing, processingDelaySeconds: delay / 1000, resendDelaySeconds: resendDelay / 1000, faults: faults?.rules.map((r) => r.text) ?? [], demo: sb.demo ? demoJson(sb.demo, ctx.globals.showIds) : null });
        } else {
          ctx.out.result(sb.url);
          const d = sb.demo;
          ctx.out.info(`labup sandbox portal listening on ${sb.url} (data ${sb.dataDir}; processing delay ${opts.processingDelay}; Ctrl-C stops it)`);
          if (faults?.rules.length) ctx.out.warn(`injecting faults: ${faults.rules.map((r) => r.text).join(', ')}`);
          if (d) {
            ctx.out.info(`demo institution ${d.institution.code} ${d.institution.name}; demo user ${maskId(d.user.nationalId)}; card ${d.card}`);
            ctx.out.info(`try: export LABUP_PORTAL=${sb.url} LABUP_CARD=${d.card} LABUP_PIN_SOURCE=${d.pinSource}${sb.tls ? ` LABUP_CA_FILE=${sb.caFile}` : ''}`);
            ctx.out.info(`     and LABUP_USER_ID_SOURCE=env:DEMO_USER_ID with DEMO_USER_ID set to the demo user’s ID (in ${join(sb.dataDir, 'demo.json')})`);
          }
          ctx.out.info(`admin API (notices, contact window): ${sb.url}/api/v1/admin/… with Authorization: Bearer $(cat ${sb.adminTokenFile})`);
        }
        await stopped;
        await sb.stop();
        ctx.out.info('labup sandbox: stopped');
        return ExitCode.OK;
      }),
    );

  sandbox
    .command('init')
    .summary('create the sandbox CA, a demo institution, its card and a demo user')
    .description(
      'Creates (once) in --data: the sandbox CA (pki/), demo institution 3501200000 with a software card ' +
        '(cards/3501200000.p12, its passphrase in cards/3501200000.pass, mode 0600) and demo user ' +
        'A123456789 (synthetic), recorded in demo.json. --force issues them again (state is kept).',
    )
    .option('--data <dir>', 'the sandbox’s data folder (default LABUP_HOME/sandbox)')
    .option('--force', 'issue the CA, the card and demo.json again')
    .option('--pkcs11 <uri>', 'issue the demo card onto this PKCS#11 token (key generated on the token), e.g. pkcs11:token=HCA?module-path=/usr/lib/softhsm/libsofthsm2.so; PIN from pin-source= in the URI, config pinSource, or a prompt')
    .option('--replace', 'with --pkcs11: replace objects already on the token at CKA_ID 0 and 1')
    .action(
      wrap(async (ctx, opts: { data?: string; force?: boolean; pkcs11?: string; replace?: boolean }) => {
        const { initSandbox } = await import('../sandbox/setup.js');
        let provisioner;
        if (opts.pkcs11) {
          const { pkcs11Provisioner } = await import('../sandbox/pkcs11-provisioner.js');
          const { parseSecretSource } = await import('../secrets.js');
          const configured = ctx.config().values.pinSource;
          provisioner = pkcs11Provisioner({
            uri: opts.pkcs11,
            env: ctx.env,
            prompter: ctx.prompter,
            ...(configured ? { pinSource: parseSecretSource(configured) } : {}),
            ...(opts.replace ? { replace: true } : {}),
          });
        }
        const { defaultSandboxDir } = await import('../transport/connect.js');
        // `labup sandbox init --data DIR`: commander hands --data to the parent command, which has one too.
        const data = opts.data ?? (sandbox.opts() as { data?: string }).data;
        const dataDir = resolve(ctx.cwd, data ?? defaultSandboxDir(ctx.env));
        const r = await initSandbox({ dataDir, clock: ctx.clock, force: opts.force === true || opts.pkcs11 !== undefined, ...(provisioner ? { provisioner } : {}) });
        if (ctx.globals.json) {
          ctx.out.resultJson({ created: r.created, dataDir: r.dataDir, demo: demoJson(r.demo, ctx.globals.showIds) });
        } else {
          ctx.out.result(r.dataDir);
          ctx.out.info(
            `${r.created ? 'created' : 'already set up (nothing changed; --force issues again)'}: institution ${r.demo.institution.code} ${r.demo.institution.name}, user ${maskId(r.demo.user.nationalId)}, card ${r.demo.card} (passphrase: ${r.demo.pinSource}), CA ${r.demo.caFile}`,
          );
        }
        return ExitCode.OK;
      }),
    );
}
