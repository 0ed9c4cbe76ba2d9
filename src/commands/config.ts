/** `labup config show | set | init` */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { CliContext, Wrap } from '../cli/main.js';

/** A `cmd:` source may embed a secret in its command line: never shown. */
function redact(key: string, value: unknown): unknown {
  if (typeof value === 'string' && /Source$/.test(key) && value.startsWith('cmd:')) return 'cmd:(command hidden)';
  return value;
}

export function register(program: Command, wrap: Wrap): void {
  const config = program.command('config').summary('show or edit the configuration (files, profiles, environment)');
  config
    .command('show')
    .description('Shows every setting, its value (secret commands hidden) and where it came from:\ndefault < ~/.config/labup/config.json < ./labup.config.json < LABUP_* environment < flags.')
    .action(
      wrap(async (ctx: CliContext) => {
        const { CONFIG_KEYS } = await import('../config/schema.js');
        const resolved = ctx.config();
        const settings = CONFIG_KEYS.filter((k) => resolved.values[k] !== undefined).map((k) => ({ key: k, value: redact(k, resolved.values[k]), source: resolved.sources[k] ?? 'default' }));
        const doc = { profile: resolved.profile, files: resolved.files, settings };
        if (ctx.globals.json) {
          ctx.out.resultJson(doc);
          return ExitCode.OK;
        }
        ctx.out.result(`profile: ${resolved.profile ?? '(none)'}`);
        ctx.out.result(`user file:    ${resolved.files.user}${resolved.files.userExists ? '' : ' (absent)'}`);
        ctx.out.result(`project file: ${resolved.files.project}${resolved.files.projectExists ? '' : ' (absent)'}`);
        const width = Math.max(...settings.map((s) => s.key.length), 8);
        for (const s of settings) ctx.out.result(`  ${s.key.padEnd(width)}  ${String(s.value).padEnd(36)}  ${ctx.out.cOut.dim(s.source)}`);
        return ExitCode.OK;
      }),
    );
  config
    .command('set')
    .description('Sets one setting in ./labup.config.json (or the user file with --user), checked against the schema.\nSecrets are never stored: set where they come from, e.g. pinSource env:LABUP_CARD_PIN.')
    .argument('<key>', 'setting name, e.g. portal, institution, card, pinSource')
    .argument('[value]', 'new value (omit with --unset)')
    .option('--user', 'write ~/.config/labup/config.json instead of ./labup.config.json')
    .option('--unset', 'remove the setting')
    .action(
      wrap(async (ctx: CliContext, key: string, value: string | undefined, opts: { user?: boolean; unset?: boolean }) => {
        const { parseConfigValue, updateConfigFile } = await import('../config/edit.js');
        const { usageError } = await import('../errors.js');
        // The profile may not exist yet: this is how it gets created.
        const resolved = ctx.config(undefined, undefined, false);
        const file = opts.user ? resolved.files.user : resolved.files.project;
        if (!opts.unset && value === undefined) throw usageError('CONFIG_VALUE_MISSING', `give a value for ${key} (or --unset)`);
        const v = opts.unset ? undefined : parseConfigValue(key, value!);
        if (opts.unset) parseConfigValue(key, '');
        updateConfigFile(file, { [key]: v }, ctx.globals.profile);
        if (ctx.globals.json) ctx.out.resultJson({ ok: true, file, profile: ctx.globals.profile ?? null, key, value: redact(key, v) ?? null });
        else ctx.out.result(`${opts.unset ? 'removed' : 'set'} ${key}${ctx.globals.profile ? ` (profile ${ctx.globals.profile})` : ''} in ${file}`);
        return ExitCode.OK;
      }),
    );
  config
    .command('init')
    .description('Asks for the portal, institution, card and secret sources and writes a config file.\nNeeds a terminal; use `labup config set` in scripts.')
    .option('--user', 'write ~/.config/labup/config.json instead of ./labup.config.json')
    .action(
      wrap(async (ctx: CliContext, opts: { user?: boolean }) => {
        const { runConfigInit } = await import('../config/init.js');
        const result = await runConfigInit({ prompter: ctx.prompter, resolved: ctx.config(undefined, undefined, false), user: opts.user === true, ...(ctx.globals.profile ? { profile: ctx.globals.profile } : {}) });
        if (ctx.globals.json) ctx.out.resultJson(result);
        else ctx.out.result(result.written ? `wrote ${result.file}${result.profile ? ` (profile ${result.profile})` : ''}` : 'nothing written');
        return result.written ? ExitCode.OK : ExitCode.NOTHING_TO_DO;
      }),
    );
}
