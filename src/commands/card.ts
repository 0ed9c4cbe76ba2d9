/** `labup card list` and `labup card test`. */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { CliContext, Wrap } from '../cli/main.js';
import type { Output } from '../cli/output.js';
import type { CardListResult, CertificateListing, SlotListing } from '../card/card-list.js';
import type { CardTestResult } from '../card/card-test.js';
import type { CardWarning } from '../card/summary.js';

const CARD_HELP = [
  'A card is an RFC 7512 PKCS#11 URI (quote it in the shell: it contains “;”), e.g. "pkcs11:token=HCA;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so", or a software token: p12:PATH (passphrase from the PIN source) or pem:KEY.pem,CERT.pem.',
  'Which card: --card, else LABUP_CARD, else `card` in the config, else pkcs11: (the one card in the reader, HCA layout: the certificate and key with CKA_ID 01).',
  'The PIN comes from pin-source in the URI, else LABUP_PIN_SOURCE or `pinSource` in the config (env:NAME, file:PATH, cmd:COMMAND), else a masked prompt on a terminal — never from the command line. A wrong PIN is never retried: an HCA card locks after 3.',
].join('\n\n');

export function register(program: Command, wrap: Wrap): void {
  const card = program
    .command('card')
    .summary('list smart cards and software tokens, and test that a card can sign')
    .description('Smart cards (PKCS#11: the HCA 醫事機構卡 / 醫事人員卡, or any token) and software tokens.\n\n' + CARD_HELP + '\n\nSee docs/card.md.');

  card
    .command('list')
    .summary('slots, tokens, certificates and their keys; no PIN needed')
    .description(
      'Lists what a PKCS#11 module sees: slots, tokens (label, manufacturer, model, serial, PIN state), certificates (subject, issuer, serial, key, validity, 醫事機構代碼, HCA card type, CKA_ID) and whether the private key with the same CKA_ID is on the token. Warns when a certificate expires within 30 days. No PIN is needed; with --card p12:… it shows the software token instead (its passphrase comes from the PIN source).\n\n' +
        'Module: --module, else module-path in --card, else module-path of the configured card, else LABUP_PKCS11_MODULE, else the usual places (Windows: HCAPKCS11.dll in System32, then SysWOW64; elsewhere OpenSC, then SoftHSM).\n\n' +
        'Exit codes: 0 listed, 2 usage error, 4 module not found or card problem.',
    )
    .option('--module <path>', 'the PKCS#11 library file (e.g. /usr/lib/softhsm/libsofthsm2.so, HCAPKCS11.dll)')
    .option('--card <uri>', 'list only this token (pkcs11:…), or a software token (p12:PATH, pem:KEY,CERT)')
    .option('--login', 'log in (PIN from the PIN source, tried once) to see private keys; one token only')
    .action(
      wrap(async (ctx, opts: { module?: string; card?: string; login?: boolean }) => {
        const { listCards } = await import('../card/card-list.js');
        const cfg = ctx.config().values;
        let modulePath = opts.module;
        if (!modulePath && !opts.card && cfg.card && /^pkcs11:/i.test(cfg.card)) {
          const { parsePkcs11Uri } = await import('../card/pkcs11-uri.js');
          modulePath = parsePkcs11Uri(cfg.card).modulePath;
        }
        const result = await listCards({
          clock: ctx.clock,
          env: ctx.env,
          host: ctx.out,
          prompter: ctx.prompter,
          ...(cfg.pinSource ? { pinSource: cfg.pinSource } : {}),
          ...(modulePath ? { modulePath } : {}),
          ...(opts.card ? { card: opts.card } : {}),
          ...(opts.login ? { login: true } : {}),
        });
        if (ctx.globals.json) ctx.out.resultJson(result);
        else renderList(ctx.out, result);
        renderWarnings(ctx.out, result.warnings);
        return ExitCode.OK;
      }),
    );

  card
    .command('test')
    .summary('sign a fresh nonce with the card and verify it with its certificate')
    .description(
      'Opens the card, checks that its certificate is valid today (Asia/Taipei), signs a fresh random nonce with the card’s key and verifies the signature with the certificate’s public key.\n\n' +
        CARD_HELP +
        '\n\n' +
        'Exit codes: 0 the card signs; 2 malformed URI or no PIN source; 4 module not found, no token, wrong PIN, PIN locked, certificate expired or not yet valid, no private key for the certificate.',
    )
    .option('--card <uri>', 'the card (pkcs11:…, p12:PATH, pem:KEY,CERT)')
    .option('--module <path>', 'the PKCS#11 library file, overriding the URI’s module-path')
    .action(
      wrap(async (ctx, opts: { card?: string; module?: string }) => {
        const result = await runCardTest(ctx, opts);
        if (ctx.globals.json) ctx.out.resultJson(result);
        else renderTest(ctx.out, result);
        renderWarnings(ctx.out, result.warnings);
        return ExitCode.OK;
      }),
    );
}

async function runCardTest(ctx: CliContext, opts: { card?: string; module?: string }): Promise<CardTestResult> {
  const [{ openCard }, { testCard }] = await Promise.all([import('../card/open.js'), import('../card/card-test.js')]);
  const cfg = ctx.config().values;
  const uri = opts.card ?? cfg.card ?? 'pkcs11:';
  const card = await openCard(uri, {
    env: ctx.env,
    host: ctx.out,
    prompter: ctx.prompter,
    ...(cfg.pinSource ? { pinSource: cfg.pinSource } : {}),
    ...(opts.module ? { modulePath: opts.module } : {}),
  });
  try {
    return await testCard(card, { clock: ctx.clock });
  } finally {
    await card.close();
  }
}

function renderWarnings(out: Output, warnings: CardWarning[]): void {
  for (const w of warnings) out.warn(w.message, w.code);
}

function days(n: number): string {
  return `${n} day${Math.abs(n) === 1 ? '' : 's'}`;
}

function validityText(c: { notBefore: string; notAfter: string; state: string; daysLeft: number }): string {
  const span = `${c.notBefore.slice(0, 16).replace('T', ' ')} – ${c.notAfter.slice(0, 16).replace('T', ' ')} Asia/Taipei`;
  if (c.state === 'expired') return `${span} (EXPIRED ${days(-c.daysLeft)} ago)`;
  if (c.state === 'not-yet-valid') return `${span} (NOT YET VALID)`;
  return `${span} (${days(c.daysLeft)} left)`;
}

function pinText(t: NonNullable<SlotListing['token']>): string {
  const p = t.pin;
  const parts: string[] = [];
  parts.push(p.initialized ? 'set' : 'NOT SET');
  if (p.loginRequired) parts.push('login required');
  if (p.protectedPath) parts.push('entered on the reader’s keypad');
  if (p.minLength !== null || p.maxLength !== null) parts.push(`${p.minLength ?? 1}–${p.maxLength ?? '…'} characters`);
  if (p.locked) parts.push('LOCKED');
  else if (p.finalTry) parts.push('FINAL TRY: the next wrong PIN locks the card');
  else if (p.countLow) parts.push('a wrong PIN was entered since the last login');
  if (p.toBeChanged) parts.push('must be changed');
  return parts.join(', ');
}

function renderCertificate(out: Output, c: CertificateListing, indent: string): void {
  const tags = [c.role === 'ca' || c.ca ? 'CA certificate' : c.role, c.cardType, c.institutionCode].filter(Boolean).join(' · ');
  const head = c.id !== null ? `certificate ${c.id}${c.label ? ` “${c.label}”` : ''}` : 'certificate';
  const key =
    c.privateKey === 'present' ? 'private key: present' : c.privateKey === 'absent' ? 'private key: NONE with this CKA_ID' : 'private key: not visible before login (--login to check)';
  const lines = [
    `${indent}${head}${tags ? ` — ${tags}` : ''}`,
    `${indent}  subject  ${c.subject}`,
    `${indent}  issuer   ${c.issuer}`,
    `${indent}  serial   ${c.serial}`,
    `${indent}  key      ${c.keyType}${c.keyBits ? ' ' + c.keyBits : ''}${c.ca && c.privateKey !== 'present' ? '' : `; ${key}`}`,
    `${indent}  valid    ${validityText(c)}`,
    `${indent}  uri      ${c.uri}`,
  ];
  out.result(lines.join('\n'));
}

function renderList(out: Output, r: CardListResult): void {
  if (r.software) {
    out.result(`software token ${r.software.uri}`);
    for (const c of r.software.certificates) renderCertificate(out, c, '  ');
    return;
  }
  const m = r.module!;
  out.result(`PKCS#11 module ${m.path} (${m.from}): ${m.description || 'no description'} by ${m.manufacturer || '?'}, version ${m.libraryVersion}, Cryptoki ${m.cryptokiVersion}`);
  if (r.slots.length === 0) out.result('  no slots: is the card reader connected?');
  for (const s of r.slots) {
    out.result(`slot ${s.slotId}${s.description ? `  ${s.description}` : ''}${s.removable ? ' (removable)' : ''}`);
    if (!s.tokenPresent) {
      out.result('  no card in this slot');
      continue;
    }
    if (!s.token) {
      out.result(`  ${s.problem ?? 'token not usable'}`);
      continue;
    }
    const t = s.token;
    out.result(`  token “${t.label}”  ${[t.manufacturer, t.model].filter(Boolean).join(' / ')}${t.serial ? `, serial ${t.serial}` : ''}`);
    out.result(`    PIN      ${pinText(t)}`);
    out.result(`    flags    ${t.flags.join(' ')}`);
    out.result(`    uri      ${t.uri}`);
    if (t.problem) out.result(`    ${t.problem}`);
    if (t.certificates.length === 0) out.result('    no certificates');
    for (const c of t.certificates) renderCertificate(out, c, '    ');
  }
}

function renderTest(out: Output, r: CardTestResult): void {
  const c = r.certificate;
  out.result(`✓ ${r.card}: signed a ${r.nonceBytes}-byte nonce (${r.algorithm}, ${r.signatureBytes}-byte signature) and verified it with the certificate`);
  const facts = [c.name ?? c.subject, c.institutionCode, c.cardType].filter(Boolean).join(' · ');
  out.result(`  ${facts}; valid until ${c.notAfter.slice(0, 10)} (${days(c.daysLeft)} left); issuer ${c.issuer}`);
}
