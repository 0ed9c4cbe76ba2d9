/** `labup config show|set|init` and the global logging flags, with the real binary. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, labup } from '../helpers/cli.js';
import { cliPlaces, type CliPlace } from './sandbox-support.js';

const places = cliPlaces('labup-config-cli-');
afterAll(() => places.remove());

const place = (): CliPlace => places.next();

describe('labup config', () => {
  it('show: every value with where it came from — default < user file < project file < env < flag — secret commands hidden', async () => {
    const { root, cwd, env } = place();
    mkdirSync(join(root, 'config/labup'), { recursive: true });
    writeFileSync(join(root, 'config/labup/config.json'), JSON.stringify({ institution: '3501200000', downloadDir: '/srv/dl' }));
    writeFileSync(join(cwd, 'labup.config.json'), JSON.stringify({ downloadDir: 'out', profiles: { night: { pinSource: 'cmd:pass show hca-pin', userIdSource: 'env:NIGHT_USER_ID' } } }));
    const r = await labup(['config', 'show', '--json', '--profile', 'night'], { cwd, env: { ...env, LABUP_WAIT_TIMEOUT: '2h' } });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { profile: string; settings: Array<{ key: string; value: unknown; source: string }> };
    const by = Object.fromEntries(doc.settings.map((s) => [s.key, s]));
    expect(doc.profile).toBe('night');
    expect(by.institution).toEqual({ key: 'institution', value: '3501200000', source: `user file ${join(root, 'config/labup/config.json')}` });
    expect(by.downloadDir).toEqual({ key: 'downloadDir', value: 'out', source: `project file ${join(cwd, 'labup.config.json')}` });
    expect(by.pinSource).toEqual({ key: 'pinSource', value: 'cmd:(command hidden)', source: `project file ${join(cwd, 'labup.config.json')} (profile night)` });
    expect(by.userIdSource!.value).toBe('env:NIGHT_USER_ID');
    expect(by.waitTimeout).toEqual({ key: 'waitTimeout', value: '2h', source: 'env LABUP_WAIT_TIMEOUT' });
    expect(by.retries).toEqual({ key: 'retries', value: 4, source: 'default' });
    expect(r.stdout).not.toContain('hca-pin');
  });

  it('set writes one checked setting (in a profile, or the user file); unset removes it; a bad value names the key', async () => {
    const { root, cwd, env } = place();
    expect((await labup(['config', 'set', 'portal', 'https://portal.example'], { cwd, env })).code).toBe(0);
    expect((await labup(['config', 'set', 'deadline', '3h', '--profile', 'night'], { cwd, env })).code).toBe(0);
    expect((await labup(['config', 'set', 'institution', '3501200000', '--user'], { cwd, env })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'labup.config.json'), 'utf8'))).toEqual({ portal: 'https://portal.example', profiles: { night: { deadline: '3h' } } });
    expect(JSON.parse(readFileSync(join(root, 'config/labup/config.json'), 'utf8'))).toEqual({ institution: '3501200000' });
    const bad = await labup(['config', 'set', 'waitTimeout', 'soon'], { cwd, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[CONFIG_INVALID]');
    expect(bad.stderr).toContain('waitTimeout “soon” has the wrong format — expected a duration such as 30s, 45m, 3h');
    const unknown = await labup(['config', 'set', 'colour', 'red'], { cwd, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[CONFIG_UNKNOWN_KEY] unknown setting “colour”');
    expect((await labup(['config', 'set', 'portal', '--unset'], { cwd, env })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'labup.config.json'), 'utf8'))).toEqual({ profiles: { night: { deadline: '3h' } } });
    // an unknown profile is refused by the commands that read the config
    const noProfile = await labup(['config', 'show', '--profile', 'day'], { cwd, env });
    expect(noProfile.code).toBe(2);
    expect(noProfile.stderr).toContain('[CONFIG_PROFILE]');
  });

  it('init needs a terminal: without one it fails at once (exit 2) instead of waiting', async () => {
    const { cwd, env } = place();
    const r = await labup(['config', 'init'], { cwd, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[NO_TTY]');
  });

  it('a broken config file is named with its line, before anything is done', async () => {
    const { cwd, env } = place();
    writeFileSync(join(cwd, 'labup.config.json'), '{\n  "portal": "https://p.example",\n  "retries": 4,\n}\n');
    const r = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox'], { cwd, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[CONFIG_INVALID\] .*labup\.config\.json: not valid JSON at line 4/);
  });
});

describe('logging flags', () => {
  it('--log-file that cannot be opened is a usage error naming it (exit 2)', async () => {
    const { cwd, env } = place();
    const r = await labup(['history', '--log-file', join(cwd, 'no/such/folder/labup.log')], { cwd, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`[FILE_NOT_FOUND] ${join(cwd, 'no/such/folder/labup.log')}: no such file`);
  });

  it('the log file from the config (logFile) gets JSON lines, the final error included, IDs masked', async () => {
    const { cwd, env } = place();
    writeFileSync(join(cwd, 'labup.config.json'), JSON.stringify({ logFile: 'labup.log' }));
    const r = await labup(['daily', join(cwd, 'A123456789.csv'), '--sandbox'], { cwd, env });
    expect(r.code).toBe(2);
    const lines = readFileSync(join(cwd, 'labup.log'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; code: string; message: string; time: string });
    expect(lines.at(-1)).toMatchObject({ level: 'info', code: 'SUMMARY' });
    expect(lines.find((l) => l.code === 'PREFLIGHT_FAILED')?.message).toContain('A12****789.csv: no such file');
    expect(lines[0]!.time).toBe('2026-11-25T21:00:00+08:00');
    expect(readFileSync(join(cwd, 'labup.log'), 'utf8')).not.toContain('A123456789');
    // an error that ends a command is logged too
    const bad = await labup(['history', '--from', 'someday'], { cwd, env });
    expect(bad.code).toBe(2);
    const last = JSON.parse(readFileSync(join(cwd, 'labup.log'), 'utf8').trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({ level: 'error', code: 'BAD_DATE', data: { exitCode: 2 } });
  });

  it('--verbose shows the steps on stderr, --quiet only the summary line; stdout holds only the result', async () => {
    const { cwd, env } = place();
    const verbose = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--dry-run', '--verbose'], { cwd, env });
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toContain('preflight card: signed in as A12****789 of 3501200000');
    expect(verbose.stdout).not.toContain('preflight');
    const quiet = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--dry-run', '--quiet'], { cwd, env });
    expect(quiet.stderr.trimEnd().split('\n')).toEqual(['labup daily: dry run — would upload 2 hdata, 3 rdata for 上傳日期 115/11/25; nothing sent or written']);
    const debug = await labup(['daily', fixture('daily/lab-results.csv'), '--sandbox', '--dry-run', '--debug'], { cwd, env });
    expect(debug.stderr).toMatch(/debug: GET \/api\/v1 → 200/);
  });
});
