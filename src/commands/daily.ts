/** `labup daily INPUT...` */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { Wrap } from '../cli/main.js';
import { addPortalOptions, openPortalFromCli, openStoreFromCli, portalSettings, type PortalFlags } from '../transport/cli-support.js';
import type { ZipEncryption } from '../transport/portal-client.js';
import { delimiter, nonNegative, normaliseEncoding, positive } from '../cli/args.js';

interface DailyFlags extends PortalFlags {
  map?: string;
  format: 'auto' | 'csv' | 'tsv' | 'json' | 'xml';
  inputEncoding?: string;
  delimiter?: string;
  encoding: 'big5' | 'utf-8';
  replaceUnencodable?: boolean;
  hosp?: string;
  groupWindow?: number;
  apiName?: boolean;
  uploadDate?: string;
  uploadTime?: string;
  force?: boolean;
  dryRun?: boolean;
  newRun?: boolean;
  waitTimeout?: string;
  pollInterval?: string;
  deadline?: string;
  out?: string;
  encrypted?: boolean;
  encryption?: ZipEncryption;
  maxErrors?: number;
}

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('daily')
    .summary('the nightly job: pack, validate, upload, wait for 處理狀態, download, decrypt, explain — resumable')
    .description(
      'Does the day in one command: checks what it needs (configuration, inputs, download folder, journal, portal, ' +
        'card), packs the export like labup pack (a file NHI would reject is not sent unless --force), uploads it, ' +
        'waits for 檢核正確 or 檢核錯誤, downloads the check file (encrypted if so configured) and decrypts it, and ' +
        'explains each error with the input row to fix. Prints a summary, writes a JSON report (DOWNLOAD_DIR/reports/), ' +
        'and ends with one summary line on stderr for cron mail.\n\n' +
        'Interrupted at any step, the same command run again continues from the journal: it never uploads the same ' +
        'data twice, waits on the 收件序號 it already has, and does not fetch files already here. A lock in ' +
        'LABUP_HOME keeps two runs apart.\n\n' +
        'Exit codes: 0 檢核正確; 1 檢核錯誤, or refused locally; 2 usage, configuration, or another run holds the ' +
        'lock; 3 still 檢核中 at --wait-timeout or --deadline (run it again later); 4 card or sign-in; 5 portal or ' +
        'network after retries; 6 nothing to do (no data rows, or these inputs were already uploaded).',
    )
    .argument('<inputs...>', 'the day’s export(s): CSV/TSV, NDJSON/JSON, or a daily XML/ZIP (packed into one upload)')
    .option('--map <map.json>', 'column map for the export (as labup pack)')
    .addOption(new Option('--format <format>', 'input format (default: by extension, else by content)').choices(['auto', 'csv', 'tsv', 'json', 'xml']).default('auto'))
    .addOption(new Option('--input-encoding <enc>', 'CSV/JSON encoding: auto, utf-8, or big5 (code page 950)').choices(['auto', 'utf-8', 'utf8', 'big5', 'cp950']).default('auto'))
    .option('--delimiter <char>', 'CSV delimiter: "," (default), ";", "|" or "\\t"')
    .addOption(new Option('--encoding <enc>', 'encoding of the XML written').choices(['big5', 'utf-8']).default('big5'))
    .option('--replace-unencodable', 'replace characters Big5 cannot carry (a warning each) instead of refusing')
    .option('--hosp <code>', '醫事機構代碼 for records without h2 (default: "institution" from the config)')
    .addOption(new Option('--group-window <rows>', 'rows an order stays open for more of its rows (default 10000)').argParser(positive))
    .option('--api-name', 'name the ZIP (醫事機構代碼)(上傳日期)(流水號).zip')
    .option('--upload-date <date>', '上傳日期: today (default) or yesterday, YYY/MM/DD, YYYMMDD or YYYY-MM-DD')
    .option('--upload-time <time>', 'h16: ISO 8601 or ROC YYYMMDDHHMMSS (default now; 23:59:59 for yesterday’s --upload-date)')
    .option('--force', 'pack and send even when labup finds errors NHI would reject (expect 檢核錯誤)')
    .option('--dry-run', 'check and pack in memory, then report what would be sent; nothing is sent or written')
    .option('--new-run', 'send these inputs again as a new upload (a correction, with a new h16) even though they were uploaded before')
    .option('--wait-timeout <duration>', 'how long to wait for 處理狀態 (default 45m, or waitTimeout in the config)')
    .option('--poll-interval <duration>', 'longest pause between status polls (default 30s, or pollInterval)')
    .option('--deadline <duration>', 'bound on the whole run, e.g. 3h (default: deadline in the config, else none)')
    .option('--out <dir>', 'folder for check files and reports (default: downloadDir in the config, else ./downloads)')
    .option('--encrypted', '加密下載 (default: encryptedDownload in the config)')
    .option('--no-encrypted', 'plain download even if the config says encryptedDownload')
    .addOption(new Option('--encryption <method>', 'encryption of encrypted downloads').choices(['zipcrypto', 'aes256']))
    .addOption(new Option('--max-errors <n>', 'print at most n errors (0 = all; default 50); the report has them all').argParser(nonNegative));
  addPortalOptions(cmd).action(
    wrap(async (ctx, inputs: string[], opts: DailyFlags) => {
      const { runDaily } = await import('../daily/daily.js');
      const { summaryLines, summaryLine } = await import('../daily/summary.js');
      const { dailySettings } = await import('../daily/settings.js');
      const { explainCheckFile } = await import('../daily/explain-step.js');
      const { userIdAsker } = await import('../archive/user-id.js');
      const { dataHome } = await import('../paths.js');
      const portal = portalSettings(opts);
      const resolved = ctx.config(
        {
          institution: opts.hosp,
          waitTimeout: opts.waitTimeout,
          pollInterval: opts.pollInterval,
          deadline: opts.deadline,
          downloadDir: opts.out,
          encryptedDownload: opts.encrypted,
          ...portal.values,
        },
        {
          institution: '--hosp',
          waitTimeout: '--wait-timeout',
          pollInterval: '--poll-interval',
          deadline: '--deadline',
          downloadDir: '--out',
          encryptedDownload: '--encrypted',
          ...portal.flags,
        },
      );
      const cfg = resolved.values;
      const settings = dailySettings(cfg, resolved.sources, opts.sandbox === true);
      let connection: Awaited<ReturnType<typeof openPortalFromCli>> | undefined;
      let store: ReturnType<typeof openStoreFromCli> | undefined;
      const encryption = opts.encryption;
      const result = await runDaily({
        inputs,
        cwd: ctx.cwd,
        clock: ctx.clock,
        host: ctx.out,
        home: dataHome(ctx.env),
        // (this process ends with the run: a large pack's helper threads may run below its pipeline)
        lowerHelpers: true,
        openStore: () => (store ??= openStoreFromCli(ctx)),
        connect: async () => (connection ??= await openPortalFromCli(ctx, opts, cfg)),
        pack: {
          ...(opts.map ? { map: opts.map } : {}),
          format: opts.format,
          inputEncoding: normaliseEncoding(opts.inputEncoding),
          ...(opts.delimiter !== undefined ? { delimiter: delimiter(opts.delimiter) } : {}),
          encoding: opts.encoding,
          replaceUnencodable: opts.replaceUnencodable === true,
          ...(cfg.institution ? { hosp: cfg.institution } : {}),
          ...(opts.groupWindow !== undefined ? { groupWindow: opts.groupWindow } : {}),
          apiName: opts.apiName === true,
        },
        ...(opts.uploadDate ? { uploadDate: opts.uploadDate } : {}),
        ...(opts.uploadTime ? { uploadTime: opts.uploadTime } : {}),
        force: opts.force === true,
        dryRun: opts.dryRun === true,
        newRun: opts.newRun === true,
        waitTimeoutMs: settings.waitTimeoutMs,
        pollIntervalMs: settings.pollIntervalMs,
        ...(settings.deadlineMs !== undefined ? { deadlineMs: settings.deadlineMs } : {}),
        downloadDir: resolve(ctx.cwd, cfg.downloadDir ?? 'downloads'),
        encrypted: encryption !== undefined || cfg.encryptedDownload === true,
        ...(encryption ? { encryption } : {}),
        userId: async (retry) => {
          const demo = connection?.sandbox?.demo;
          // The sandbox's encrypted downloads open with its demo user's ID.
          if (demo && !retry) return { id: demo.user.nationalId, source: 'the sandbox demo user', canAskAgain: false };
          return userIdAsker({ env: ctx.env, userIdSource: cfg.userIdSource, prompter: ctx.prompter, host: ctx.out })(retry);
        },
        checkSettings: settings.check,
        config: cfg,
        sandbox: opts.sandbox === true,
        env: ctx.env,
        explain: explainCheckFile,
        showIds: ctx.globals.showIds,
      });
      if (ctx.globals.json) ctx.out.resultJson(result);
      else {
        for (const line of summaryLines(result, { cwd: ctx.cwd, maxErrors: opts.maxErrors ?? 50, paint: ctx.out.cOut })) ctx.out.result(ctx.out.mask(line));
      }
      ctx.out.summary(summaryLine(result, ctx.cwd));
      return result.exitCode;
    }),
  );
}

