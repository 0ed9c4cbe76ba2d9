import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { runConfigInit } from '../../../src/config/init.js';
import { scriptedPrompter } from '../../../src/prompts.js';

let home: string;
let cwd: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'labup-home-'));
  cwd = mkdtempSync(join(tmpdir(), 'labup-cwd-'));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe('labup config init', () => {
  it('asks for each setting and writes a profile the schema accepts, 0600', async () => {
    // given the answers the hospital's IT staff would type
    const prompter = scriptedPrompter([
      'https://portal.example/api',
      '3501200000',
      'pkcs11',
      'pkcs11:token=HCA;id=%01',
      'file:/run/credentials/labup-daily.service/pin',
      'env:LABUP_USER_ID',
      '/srv/labup/downloads',
      true,
      '1h',
    ]);
    const resolved = loadConfig({ cwd, env: { HOME: home } });
    // when init runs for the profile "night"
    const r = await runConfigInit({ prompter, resolved, user: false, profile: 'night' });
    // then every answer is in the project file under the profile, and it loads
    expect(r).toMatchObject({ written: true, file: join(cwd, 'labup.config.json'), profile: 'night' });
    expect(JSON.parse(readFileSync(r.file, 'utf8'))).toEqual({
      profiles: {
        night: {
          portal: 'https://portal.example/api',
          institution: '3501200000',
          card: 'pkcs11:token=HCA;id=%01',
          pinSource: 'file:/run/credentials/labup-daily.service/pin',
          userIdSource: 'env:LABUP_USER_ID',
          downloadDir: '/srv/labup/downloads',
          encryptedDownload: true,
          waitTimeout: '1h',
        },
      },
    });
    expect(statSync(r.file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ cwd, env: { HOME: home }, profile: 'night' }).values).toMatchObject({ encryptedDownload: true, waitTimeout: '1h', retries: 4 });
    expect(prompter.asked).toHaveLength(9);
  });

  it('leaves an existing file alone when told not to update it', async () => {
    const first = await runConfigInit({ prompter: scriptedPrompter(['https://p.example', '3501200000', 'p12', 'p12:card.p12', 'prompt', 'prompt', 'downloads', false, '45m']), resolved: loadConfig({ cwd, env: { HOME: home } }), user: false });
    const before = readFileSync(first.file, 'utf8');
    const second = await runConfigInit({ prompter: scriptedPrompter([false]), resolved: loadConfig({ cwd, env: { HOME: home } }), user: false });
    expect(second.written).toBe(false);
    expect(readFileSync(first.file, 'utf8')).toBe(before);
  });
});
