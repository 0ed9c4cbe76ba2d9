/**
 * The interactive `labup config init`: asks each setting with a default taken from the current
 * configuration, validates each answer at once, and writes the file atomically.
 */
import { existsSync } from 'node:fs';
import { parseDuration } from '../clock.js';
import type { Prompter } from '../prompts.js';
import { parseSecretSource } from '../secrets.js';
import type { ResolvedConfig } from './config.js';
import { updateConfigFile } from './edit.js';
import type { ProfileSettings } from './schema.js';

export interface ConfigInitResult {
  written: boolean;
  file: string;
  profile: string | null;
  settings: ProfileSettings;
}

export async function runConfigInit(o: { prompter: Prompter; resolved: ResolvedConfig; user: boolean; profile?: string }): Promise<ConfigInitResult> {
  const { prompter, resolved } = o;
  const file = o.user ? resolved.files.user : resolved.files.project;
  const v = resolved.values;
  if (existsSync(file) && !(await prompter.confirm({ message: `${file} exists; update it?`, default: true }))) {
    return { written: false, file, profile: o.profile ?? null, settings: {} };
  }
  const settings: ProfileSettings = {};
  settings.portal = await prompter.input({
    message: 'Portal URL (入口網址)',
    default: v.portal ?? 'https://127.0.0.1:8443',
    validate: (s) => (/^https?:\/\/\S+$/.test(s) ? true : 'an http:// or https:// URL'),
  });
  settings.institution = await prompter.input({
    message: '醫事機構代碼 (10 characters)',
    ...(v.institution ? { default: v.institution } : {}),
    validate: (s) => (/^[0-9A-Za-z]{10}$/.test(s) ? true : 'ten letters or digits'),
  });
  const cardKind = await prompter.select({
    message: 'Card',
    choices: [
      { name: 'HCA smart card / PKCS#11 token', value: 'pkcs11' },
      { name: 'PKCS#12 file (.p12/.pfx)', value: 'p12' },
      { name: 'PEM key and certificate', value: 'pem' },
    ],
    default: v.card?.startsWith('p12:') ? 'p12' : v.card?.startsWith('pem:') ? 'pem' : 'pkcs11',
  });
  settings.card = await prompter.input({
    message: cardKind === 'pkcs11' ? 'PKCS#11 URI' : cardKind === 'p12' ? 'p12:PATH' : 'pem:KEY.pem,CERT.pem',
    default: v.card ?? (cardKind === 'pkcs11' ? 'pkcs11:token=HCA;object=sign' : cardKind === 'p12' ? 'p12:card.p12' : 'pem:key.pem,cert.pem'),
    validate: (s) => (s.startsWith(`${cardKind}:`) ? true : `starts with ${cardKind}:`),
  });
  const secretSource = (s: string) => {
    try {
      parseSecretSource(s);
      return true as const;
    } catch (err) {
      return (err as Error).message;
    }
  };
  settings.pinSource = await prompter.input({ message: 'Where the card PIN comes from (env:NAME, file:PATH, cmd:COMMAND, prompt)', default: v.pinSource ?? 'env:LABUP_CARD_PIN', validate: secretSource });
  settings.userIdSource = await prompter.input({ message: 'Where your national ID (download password) comes from', default: v.userIdSource ?? 'env:LABUP_USER_ID', validate: secretSource });
  settings.downloadDir = await prompter.input({ message: 'Download folder (check files and daily reports)', default: v.downloadDir ?? 'downloads' });
  settings.encryptedDownload = await prompter.confirm({ message: 'Download check files encrypted (加密下載; password = the user’s national ID)?', default: v.encryptedDownload ?? false });
  settings.waitTimeout = await prompter.input({
    message: 'How long labup daily waits for 處理狀態 (e.g. 45m)',
    default: v.waitTimeout ?? '45m',
    validate: (s) => (s === s.trim() && (parseDuration(s) ?? 0) > 0 ? true : 'a duration such as 30m, 1h or 1h30m'),
  });
  updateConfigFile(file, settings as Record<string, unknown>, o.profile);
  return { written: true, file, profile: o.profile ?? null, settings };
}
