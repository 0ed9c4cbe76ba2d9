/** `labup decrypt FILE.zip [--out DIR | --stdout]` */
import { shownPath } from '../paths.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ExitCode, usageError } from '../errors.js';
import type { Wrap } from '../cli/main.js';

const ENCRYPTION_NAMES: Record<string, string> = {
  none: 'not encrypted',
  zipcrypto: 'ZipCrypto',
  aes128: 'AES-128',
  aes192: 'AES-192',
  aes256: 'AES-256',
  mixed: 'mixed encryption',
  other: 'encrypted',
};

export function register(program: Command, wrap: Wrap): void {
  program
    .command('decrypt')
    .summary('open an encrypted download (check files) with your national ID, safely')
    .description(
      [
        'Extracts a ZIP downloaded from the portal. Encrypted downloads (ZipCrypto or AES) open with the national ID of the user ' +
          'who downloaded them, first letter uppercase: typed at a masked prompt, or from LABUP_USER_ID, or from the profile’s ' +
          'userIdSource (env:, file:, cmd:) — never on the command line. A lowercase or full-width ID is accepted; its checksum ' +
          'is checked first.',
        'Hostile archives are refused with nothing written: names leaving the output folder (../, /abs, C:, backslashes), ' +
          'symbolic links, more than 1000 entries, a zip bomb (more than 200×, or past --max-size), and content longer than its ' +
          'header declares. Files are written atomically, mode 0600.',
        'Exit codes: 0 done; 2 usage, damaged or refused archive, invalid or missing ID; 4 wrong ID (password); 6 no files in the archive.',
      ].join('\n\n'),
    )
    .argument('<file>', 'the ZIP to open')
    .option('-o, --out <dir>', 'folder to extract into (default: the folder holding the ZIP)')
    .option('--stdout', 'write the files’ content to stdout instead (nothing else goes there)')
    .addOption(new Option('--max-size <size>', 'largest expansion allowed, per file and in total (e.g. 500M, 4G; default 1G per file, 2G in total)').argParser(byteSize))
    .action(
      wrap(async (ctx, file: string, opts: { out?: string; stdout?: boolean; maxSize?: number }) => {
        if (opts.stdout && opts.out !== undefined) throw usageError('USAGE', '--stdout and --out cannot be used together', { hint: 'Choose one: files in a folder, or content on stdout.' });
        if (opts.stdout && ctx.globals.json) throw usageError('USAGE', '--stdout and --json cannot be used together', { hint: 'stdout carries either the content or the JSON result.' });
        const { decryptArchive } = await import('../archive/decrypt.js');
        const { userIdAsker } = await import('../archive/user-id.js');
        const config = ctx.config();
        const result = await decryptArchive(file, {
          cwd: ctx.cwd,
          host: ctx.out,
          userId: userIdAsker({ env: ctx.env, userIdSource: config.values.userIdSource, prompter: ctx.prompter, host: ctx.out }),
          ...(opts.maxSize !== undefined ? { limits: { maxEntryBytes: opts.maxSize, maxTotalBytes: opts.maxSize } } : {}),
          ...(opts.stdout ? { toStdout: (chunk: Uint8Array) => ctx.out.resultBytes(chunk) } : opts.out !== undefined ? { outDir: opts.out } : {}),
        });
        const encryption = ENCRYPTION_NAMES[result.encryption] ?? result.encryption;
        if (ctx.globals.json) {
          ctx.out.resultJson(result);
        } else if (!opts.stdout) {
          for (const f of result.files) {
            ctx.out.result(ctx.out.mask(`✓ ${f.name} → ${shownPath(f.path!, ctx.cwd)} (${f.bytes.toLocaleString('en-US')} bytes${f.replaced ? ', replaced' : ''})`));
          }
        }
        if (result.files.length === 0) {
          ctx.out.warn(`labup decrypt: ${file} holds no files`, 'DECRYPT_EMPTY');
          return ExitCode.NOTHING_TO_DO;
        }
        // One line for cron mail, also with --quiet and --json.
        const where = result.outDir ? ` into ${shownPath(result.outDir, ctx.cwd)}` : ' to stdout';
        ctx.out.summary(`labup decrypt: ${file} (${encryption}): ${result.files.length} file(s), ${result.totalBytes.toLocaleString('en-US')} bytes${where}`);
        return ExitCode.OK;
      }),
    );
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

function byteSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('a size such as 500M, 4G or 1048576');
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  if (n < 1) throw new InvalidArgumentError('must be at least one byte');
  return n;
}
