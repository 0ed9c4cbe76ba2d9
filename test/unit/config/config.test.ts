import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { updateConfigFile } from '../../../src/config/edit.js';
import { configSchema } from '../../../src/config/schema.js';

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

describe('layered configuration', () => {
  it('layers defaults < user file < project file < environment < flags, and says where each came from', () => {
    // given a user file, a project file with a profile, an env var and a flag
    mkdirSync(join(home, '.config/labup'), { recursive: true });
    writeFileSync(join(home, '.config/labup/config.json'), JSON.stringify({ portal: 'https://user.example', institution: '1111111111', retries: 3 }));
    writeFileSync(join(cwd, 'labup.config.json'), JSON.stringify({ portal: 'https://project.example', profiles: { night: { retries: 6 } } }));
    // when it is loaded with the profile
    const c = loadConfig({ cwd, env: { HOME: home, LABUP_INSTITUTION: '2222222222' }, flags: { downloadDir: '/srv/dl' }, flagNames: { downloadDir: '--out' }, profile: 'night' });
    // then each layer wins over the ones below it
    expect(c.values).toMatchObject({ portal: 'https://project.example', institution: '2222222222', retries: 6, downloadDir: '/srv/dl', waitTimeout: '45m' });
    expect(c.sources.portal).toMatch(/^project file/);
    expect(c.sources.retries).toMatch(/profile night/);
    expect(c.sources.institution).toBe('env LABUP_INSTITUTION');
    expect(c.sources.downloadDir).toBe('flag --out');
    expect(c.sources.waitTimeout).toBe('default');
  });

  it('names the file and the setting when a value breaks the schema', () => {
    writeFileSync(join(cwd, 'labup.config.json'), JSON.stringify({ institution: '123', colour: 'red' }));
    expect(() => loadConfig({ cwd, env: { HOME: home } })).toThrow(/labup\.config\.json: institution must match|unknown setting “colour”/);
  });

  it('reports the line of a JSON syntax error', () => {
    writeFileSync(join(cwd, 'labup.config.json'), '{\n  "portal": "x",\n  oops\n}');
    expect(() => loadConfig({ cwd, env: { HOME: home } })).toThrow(/not valid JSON at line 3/);
  });

  it('refuses an unknown profile', () => {
    expect(() => loadConfig({ cwd, env: { HOME: home }, profile: 'nope' })).toThrowError(expect.objectContaining({ code: 'CONFIG_PROFILE', exitCode: 2 }));
  });

  it('writes settings atomically and refuses values the schema refuses', () => {
    const file = join(cwd, 'labup.config.json');
    updateConfigFile(file, { portal: 'https://a.example' });
    updateConfigFile(file, { retries: 5 }, 'night');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ portal: 'https://a.example', profiles: { night: { retries: 5 } } });
    expect(() => updateConfigFile(file, { retries: 99 })).toThrow(/retries/);
    expect(JSON.parse(readFileSync(file, 'utf8')).retries).toBeUndefined();
  });

  it('matches the published schema/config.schema.json', () => {
    expect(JSON.parse(readFileSync(new URL('../../../schema/config.schema.json', import.meta.url), 'utf8'))).toEqual(JSON.parse(JSON.stringify(configSchema)));
  });
});
