/**
 * The CLI entry: global flags, the command registry, and the one top-level handler that maps
 * errors to the documented exit codes. Nothing else in labup decides an exit status.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { fixedClock, systemClock, type Clock } from '../clock.js';
import { ExitCode, LabupError, isLabupError, usageError } from '../errors.js';
import { loadConfig, type LabupConfig, type ResolvedConfig, type ConfigKey } from '../config/config.js';
import { parseUserDateTime } from '../format/roc.js';
import { maskIdsInText } from '../format/national-id.js';
import type { Env } from '../paths.js';
import type { Prompter } from '../prompts.js';
import { Output, type Stream } from './output.js';
import { COMMANDS } from './registry.js';
import { inquirerPrompter } from './inquirer-prompter.js';

export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
  color: boolean;
  showIds: boolean;
  logFile?: string;
  profile?: string;
  config?: string;
}

export interface World {
  stdout: Stream;
  stderr: Stream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Env;
  cwd: string;
  clock: Clock;
  prompter?: Prompter;
}

export interface CliContext {
  out: Output;
  env: Env;
  cwd: string;
  clock: Clock;
  prompter: Prompter;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  globals: GlobalOptions;
  /** The layered configuration, with the given flag values on top (`withProfile: false` ignores --profile). */
  config(flags?: Partial<LabupConfig>, flagNames?: Partial<Record<ConfigKey, string>>, withProfile?: boolean): ResolvedConfig;
  /** Registers cleanup that runs when the command ends, even on error (servers, temp files). */
  onExit(fn: () => Promise<void> | void): void;
}

export type Action = (ctx: CliContext, ...args: any[]) => Promise<number>;
export type Wrap = (action: Action) => (...args: any[]) => Promise<void>;

export interface CommandModule {
  register(program: Command, wrap: Wrap): void;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

function defaultWorld(): World {
  const env = process.env;
  let clock: Clock = systemClock;
  if (env.LABUP_NOW) {
    const at = parseUserDateTime(env.LABUP_NOW);
    if (at) clock = fixedClock(at);
  }
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env, cwd: process.cwd(), clock };
}

/** Runs labup with `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: string[], worldOverrides: Partial<World> = {}): Promise<number> {
  const world: World = { ...defaultWorld(), ...worldOverrides };
  let exitCode: number = ExitCode.OK;
  let out: Output | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  const program = new Command();
  program
    .name('labup')
    .description('健保署檢驗(查)結果每日上傳作業 — validate, pack, upload and diagnose NHI daily lab result uploads')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .option('--json', 'print the result as one JSON document on stdout')
    .option('-q, --quiet', 'print only results and the final summary')
    .option('-v, --verbose', 'print more about each step (stderr)')
    .option('--debug', 'print debugging details and stack traces (stderr)')
    .option('--log-file <file>', 'append JSON-lines logs (IDs masked) to this file')
    .option('--show-ids', 'show national IDs unmasked in results (never in logs)')
    .option('--no-color', 'no colours')
    .option('--profile <name>', 'configuration profile to use')
    .addOption(new Option('--config <file>', 'use this project config file instead of ./labup.config.json'))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => world.stdout.write(s),
      writeErr: (s) => world.stderr.write(s),
      // Commander's own usage errors (unknown command or option, missing argument, bad value) get
      // the same "→ what to do" line as labup's.
      outputError: (s, write) => write(s.startsWith('error:') ? `labup: ${s.trimEnd()}\n  → labup --help lists the commands; labup COMMAND --help, a command's flags.\n` : s),
    });

  const wrap: Wrap =
    (action) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals() as Record<string, unknown>;
      const globals: GlobalOptions = {
        json: g.json === true,
        quiet: g.quiet === true,
        verbose: g.verbose === true,
        debug: g.debug === true,
        color: g.color !== false && !world.env.NO_COLOR,
        showIds: g.showIds === true,
        ...(typeof g.logFile === 'string' ? { logFile: g.logFile } : {}),
        ...(typeof g.profile === 'string' ? { profile: g.profile } : {}),
        ...(typeof g.config === 'string' ? { config: g.config } : {}),
      };
      const config: CliContext['config'] = (flags, flagNames, withProfile = true) =>
        loadConfig({
          cwd: world.cwd,
          env: withProfile ? world.env : { ...world.env, LABUP_PROFILE: undefined },
          ...(flags ? { flags } : {}),
          ...(flagNames ? { flagNames } : {}),
          ...(globals.profile && withProfile ? { profile: globals.profile } : {}),
          ...(globals.config ? { projectFile: globals.config } : {}),
        });
      out = new Output({ stdout: world.stdout, stderr: world.stderr, ...globals, logFile: globals.logFile ?? configuredLogFile(config, world), clock: world.clock });
      const ctx: CliContext = {
        out,
        env: world.env,
        cwd: world.cwd,
        clock: world.clock,
        prompter: world.prompter ?? inquirerPrompter(world.stdin, world.stderr),
        stdin: world.stdin,
        globals,
        config,
        onExit: (fn) => cleanups.push(fn),
      };
      exitCode = await action(ctx, ...args.slice(0, -1));
    };

  for (const mod of COMMANDS) mod.register(program, wrap);

  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitCode = handleError(err, out, world);
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        if (out?.json === false) world.stderr.write(`labup: cleanup failed: ${(err as Error).message}\n`);
      }
    }
    out?.close();
  }
  return exitCode;
}

/** `logFile` from LABUP_LOG_FILE or the config; a config that does not load is reported by the command itself. */
function configuredLogFile(config: CliContext['config'], world: World): string | undefined {
  try {
    return config().values.logFile;
  } catch {
    return world.env.LABUP_LOG_FILE;
  }
}

function handleError(err: unknown, out: Output | undefined, world: World): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    // Commander has already printed the message.
    return ExitCode.USAGE;
  }
  const debug = out?.debug ?? false;
  const json = out?.json ?? false;
  let e: LabupError;
  if (isLabupError(err)) e = err;
  else if ((err as { name?: string })?.name === 'ExitPromptError') e = usageError('PROMPT_CANCELLED', 'cancelled at the prompt');
  else e = new LabupError('internal', 'INTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`, { cause: err, hint: 'This is a defect in labup; run again with --debug and report the output.' });
  if (json) world.stdout.write(maskIdsInText(JSON.stringify({ ok: false, error: e.toJSON() }, null, 2)) + '\n');
  out?.log({ level: 'error', code: e.code, message: e.message, data: { exitCode: e.exitCode, ...(e.hint ? { hint: e.hint } : {}) } });
  const red = out ? out.c.red : (s: string) => s;
  world.stderr.write(`${red('labup: error')} [${e.code}] ${maskIdsInText(e.message)}\n`);
  if (e.hint) world.stderr.write(`  → ${e.hint}\n`);
  if (debug) world.stderr.write(`${(err as Error)?.stack ?? ''}\n${e.cause ? 'cause: ' + ((e.cause as Error).stack ?? String(e.cause)) + '\n' : ''}`);
  return e.exitCode;
}
