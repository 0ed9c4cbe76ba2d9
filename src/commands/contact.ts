/** `labup contact`: 聯絡窗口. */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { Wrap } from '../cli/main.js';
import { formatRocInstant } from '../query.js';
import { addPortalOptions, formatTable, openPortalFromCli, type PortalFlags } from '../transport/cli-support.js';

export function register(program: Command, wrap: Wrap): void {
  const cmd = program
    .command('contact')
    .summary('聯絡窗口: whom to ask about the job (unit, name, phone, e-mail, hours)')
    .description(
      'Shows the job’s contact window as the portal publishes it (the first small button beside ' +
        '現行作業區). No card is needed, so it works when signing in does not.\n\n' +
        'Exit codes: 0 shown, 6 the portal lists no contact, 2 usage, 5 portal or network.',
    );
  addPortalOptions(cmd).action(
    wrap(async (ctx, opts: PortalFlags) => {
      const { contactWindow } = await import('../transport/contact.js');
      const portal = await openPortalFromCli(ctx, opts);
      const c = await contactWindow(portal.client);
      if (ctx.globals.json) {
        ctx.out.resultJson(c);
      } else {
        ctx.out.result(`聯絡窗口 — ${c.job.name} (${c.job.code})`);
        for (const p of c.contacts) {
          ctx.out.result('');
          ctx.out.result(p.role);
          const rows = [
            ['  單位', p.unit],
            ['  聯絡人', p.name],
            ['  電話', p.phone],
            ['  電子郵件', p.email],
            ['  服務時間', p.hours],
            ...(p.note ? [['  備註', p.note]] : []),
          ];
          for (const line of formatTable(rows)) ctx.out.result(line);
        }
        if (c.updatedAt) ctx.out.info(`updated ${formatRocInstant(c.updatedAt)}`);
      }
      if (c.contacts.length === 0) {
        ctx.out.summary('labup contact: the portal lists no contact for this job');
        return ExitCode.NOTHING_TO_DO;
      }
      return ExitCode.OK;
    }),
  );
}
