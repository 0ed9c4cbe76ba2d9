/**
 * Finding and loading the PKCS#11 library (the "module") of a card, and sharing it within the
 * process.
 *
 * A module is process-wide state: the library is loaded once and C_Initialize may be called only once
 * until C_Finalize. labup therefore keeps one lease count per module path: the first user loads and
 * initializes it, the last one to release finalizes and unloads it. One process can open and close a
 * card any number of times (tests, a long-running job), and list tokens while a card is open.
 */
import { existsSync } from 'node:fs';
import { basename, posix, win32 } from 'node:path';
import { authError } from '../errors.js';
import type { Env } from '../paths.js';
import { CKR_CRYPTOKI_ALREADY_INITIALIZED, ckrName, ckrOf } from './pkcs11-constants.js';

/** The Cryptoki calls labup makes, as pkcs11js exposes them (Handle = Buffer). */
export interface Pkcs11Api {
  load(path: string): void;
  close(): void;
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetInfo(): { cryptokiVersion: Version; manufacturerID: string; flags: number; libraryDescription: string; libraryVersion: Version };
  C_GetSlotList(tokenPresent?: boolean): Buffer[];
  C_GetSlotInfo(slot: Buffer): { slotDescription: string; manufacturerID: string; flags: number; hardwareVersion: Version; firmwareVersion: Version };
  C_GetTokenInfo(slot: Buffer): TokenInfo;
  C_GetMechanismList(slot: Buffer): number[];
  C_OpenSession(slot: Buffer, flags: number): Buffer;
  C_CloseSession(session: Buffer): void;
  C_Login(session: Buffer, userType: number, pin?: string): void;
  C_Logout(session: Buffer): void;
  C_FindObjectsInit(session: Buffer, template: Attribute[]): void;
  C_FindObjects(session: Buffer, maxObjectCount: number): Buffer[];
  C_FindObjectsFinal(session: Buffer): void;
  C_GetAttributeValue(session: Buffer, object: Buffer, template: Attribute[]): Array<{ type: number; value?: unknown }>;
  C_SignInit(session: Buffer, mechanism: { mechanism: number; parameter?: Buffer }, key: Buffer): void;
  C_Sign(session: Buffer, inData: Buffer, outData: Buffer): Buffer;
  C_GenerateKeyPair(session: Buffer, mechanism: { mechanism: number }, publicTmpl: Attribute[], privateTmpl: Attribute[]): { publicKey: Buffer; privateKey: Buffer };
  C_CreateObject(session: Buffer, template: Attribute[]): Buffer;
  C_DestroyObject(session: Buffer, object: Buffer): void;
}

export interface Version {
  major: number;
  minor: number;
}

export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}

export interface TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
  maxPinLen: number;
  minPinLen: number;
}

/** Loads a module file; the default goes through pkcs11js, tests may give a module written in JS. */
export type ModuleLoader = (path: string) => Promise<Pkcs11Api>;

export const pkcs11jsLoader: ModuleLoader = async (path) => {
  let mod: { PKCS11: new () => Pkcs11Api };
  try {
    const imported = (await import('pkcs11js')) as unknown as { default?: { PKCS11: new () => Pkcs11Api }; PKCS11?: new () => Pkcs11Api };
    mod = (imported.default ?? imported) as { PKCS11: new () => Pkcs11Api };
  } catch (err) {
    throw authError('CARD_PKCS11_UNAVAILABLE', `the PKCS#11 support of labup is not installed (${(err as Error).message.split('\n')[0]})`, {
      hint: 'Reinstall labup (npm ci) so that its native pkcs11js addon is built for this Node.js.',
      cause: err,
    });
  }
  const api = new mod.PKCS11();
  api.load(path);
  return api;
};

// ---------------------------------------------------------------------------------------------
// Where the module is

/** The file name of the HCA card's PKCS#11 module (Windows, installed by the HCA components). */
export const HCA_MODULE_FILE = 'HCAPKCS11.dll';

export interface ModuleSearchOptions {
  /** An explicit module file (`--module`). */
  modulePath?: string;
  /** From the card URI: `module-path` and `module-name`. */
  uriModulePath?: string;
  uriModuleName?: string;
  env?: Env;
  platform?: NodeJS.Platform;
  arch?: string;
  exists?: (path: string) => boolean;
}

export interface ModuleLocation {
  path: string;
  /** How it was chosen: `--module`, `module-path`, `module-name`, `LABUP_PKCS11_MODULE`, `default`. */
  from: string;
  /** Every file looked at, in order. */
  searched: string[];
}

/** Folders the usual PKCS#11 modules live in, by platform. */
export function moduleFolders(platform: NodeJS.Platform, env: Env): string[] {
  if (platform === 'win32') {
    const root = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? 'C:\\Windows';
    return [win32.join(root, 'System32'), win32.join(root, 'SysWOW64')];
  }
  if (platform === 'darwin') {
    return ['/Library/OpenSC/lib', '/opt/homebrew/lib', '/usr/local/lib', '/opt/homebrew/lib/softhsm', '/usr/local/lib/softhsm'];
  }
  return [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/lib/x86_64-linux-gnu/pkcs11',
    '/usr/lib/aarch64-linux-gnu/pkcs11',
    '/usr/lib64/pkcs11',
    '/usr/lib/pkcs11',
    '/usr/lib/softhsm',
    '/usr/lib64/softhsm',
    '/usr/local/lib',
    '/usr/local/lib/softhsm',
  ];
}

/**
 * The modules tried when nothing names one: on Windows the HCA module in System32, then SysWOW64;
 * elsewhere OpenSC (smart cards in a reader), then SoftHSM (development tokens).
 */
export function defaultModuleCandidates(platform: NodeJS.Platform, env: Env): string[] {
  if (platform === 'win32') return moduleFolders(platform, env).map((d) => win32.join(d, HCA_MODULE_FILE));
  if (platform === 'darwin') {
    return ['/Library/OpenSC/lib/opensc-pkcs11.so', '/opt/homebrew/lib/opensc-pkcs11.so', '/usr/local/lib/opensc-pkcs11.so', '/opt/homebrew/lib/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];
  }
  return [
    '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so',
    '/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so',
    '/usr/lib64/opensc-pkcs11.so',
    '/usr/lib/opensc-pkcs11.so',
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib64/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
  ];
}

function notFound(what: string, searched: string[], hint: string) {
  return authError('CARD_MODULE_NOT_FOUND', `PKCS#11 module not found: ${what}`, {
    hint,
    details: { searched },
  });
}

/** Chooses the module file. Throws CARD_MODULE_NOT_FOUND (exit 4) naming every place looked at. */
export function resolveModulePath(o: ModuleSearchOptions = {}): ModuleLocation {
  const env = o.env ?? process.env;
  const platform = o.platform ?? process.platform;
  const exists = o.exists ?? existsSync;
  const explicit = (path: string, from: string): ModuleLocation => {
    if (!exists(path)) {
      throw notFound(`${path} (${from}) does not exist`, [path], 'Check the path of the PKCS#11 library (on Windows the HCA module is HCAPKCS11.dll, installed by the HCA components).');
    }
    return { path, from, searched: [path] };
  };
  if (o.modulePath) return explicit(o.modulePath, '--module');
  if (o.uriModulePath) return explicit(o.uriModulePath, 'module-path');
  if (o.uriModuleName) {
    const name = o.uriModuleName;
    const files = platform === 'win32' ? [name.endsWith('.dll') ? name : `${name}.dll`] : platform === 'darwin' ? [name, `${name}.so`, `lib${name}.so`, `${name}.dylib`, `lib${name}.dylib`] : [name, `${name}.so`, `lib${name}.so`];
    const join = platform === 'win32' ? win32.join : posix.join;
    const searched: string[] = [];
    for (const dir of moduleFolders(platform, env)) {
      for (const f of files) {
        const p = join(dir, f);
        searched.push(p);
        if (exists(p)) return { path: p, from: 'module-name', searched };
      }
    }
    throw notFound(`no module named “${name}” in ${moduleFolders(platform, env).join(', ')}`, searched, 'Give the file with module-path=… in the card URI instead of module-name.');
  }
  if (env.LABUP_PKCS11_MODULE) return explicit(env.LABUP_PKCS11_MODULE, 'LABUP_PKCS11_MODULE');
  const searched = defaultModuleCandidates(platform, env);
  for (const p of searched) if (exists(p)) return { path: p, from: 'default', searched };
  throw notFound(
    `none of ${searched.join(', ')}`,
    searched,
    platform === 'win32'
      ? 'Install the HCA card components (they put HCAPKCS11.dll in System32), or name the module: module-path=… in the card URI, --module, or LABUP_PKCS11_MODULE.'
      : 'Install the card’s PKCS#11 module (e.g. OpenSC), or name it: module-path=… in the card URI, --module, or LABUP_PKCS11_MODULE.',
  );
}

/** True for the HCA card's own module (its PIN rules apply). */
export function isHcaModule(path: string): boolean {
  return /^hcapkcs11\.dll$/i.test(basename(path.replace(/\\/g, '/')));
}

// ---------------------------------------------------------------------------------------------
// Leases

interface Loaded {
  api: Pkcs11Api;
  leases: number;
  /** Whether labup's C_Initialize started it (then labup finalizes it). */
  ownsInit: boolean;
}

const loaded = new Map<string, Loaded>();
const pending = new Map<string, Promise<Loaded>>();

export interface ModuleLease {
  readonly api: Pkcs11Api;
  readonly path: string;
  /** Gives the module back; the last lease finalizes and unloads it. Safe to call twice. */
  release(): void;
}

async function load(path: string, loader: ModuleLoader, arch: string): Promise<Loaded> {
  let api: Pkcs11Api;
  try {
    api = await loader(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'CARD_PKCS11_UNAVAILABLE') throw err;
    const msg = ((err as Error).message ?? String(err)).split('\n')[0]!;
    const wow = /syswow64/i.test(path) && arch === 'x64';
    throw authError('CARD_MODULE_LOAD_FAILED', `the PKCS#11 module ${path} cannot be loaded (${msg})`, {
      hint: wow
        ? 'This is the 32-bit HCA module (SysWOW64) and this Node.js is 64-bit: install the 64-bit HCA components (System32) or run labup with a 32-bit Node.js.'
        : 'Check that the file is a PKCS#11 library for this system (32/64-bit must match Node.js) and that the libraries it needs are installed.',
      cause: err,
    });
  }
  let ownsInit = true;
  try {
    api.C_Initialize();
  } catch (err) {
    if (ckrOf(err) === CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      // Someone else in this process initialized it: use it, never finalize it under them.
      ownsInit = false;
    } else {
      try {
        api.close();
      } catch {
        // the load already failed; closing is best effort
      }
      throw authError('CARD_MODULE_INIT_FAILED', `the PKCS#11 module ${path} failed to start (${ckrName(err)})`, {
        hint: 'Check the module’s own configuration (for SoftHSM: SOFTHSM2_CONF and its token folder) and that the card service is running.',
        cause: err,
      });
    }
  }
  return { api, leases: 0, ownsInit };
}

/** Loads and initializes a module (or shares the already loaded one) and returns a lease on it. */
export async function acquireModule(path: string, options: { loader?: ModuleLoader; arch?: string } = {}): Promise<ModuleLease> {
  let entry = loaded.get(path);
  if (!entry) {
    let p = pending.get(path);
    if (!p) {
      p = load(path, options.loader ?? pkcs11jsLoader, options.arch ?? process.arch);
      pending.set(path, p);
    }
    try {
      entry = await p;
    } finally {
      pending.delete(path);
    }
    const again = loaded.get(path);
    if (again && again !== entry) entry = again;
    else loaded.set(path, entry);
  }
  entry.leases++;
  const held = entry;
  let released = false;
  return {
    api: held.api,
    path,
    release() {
      if (released) return;
      released = true;
      held.leases--;
      if (held.leases > 0) return;
      loaded.delete(path);
      if (held.ownsInit) {
        try {
          held.api.C_Finalize();
        } catch {
          // a module that fails to finalize is still unloaded below
        }
      }
      try {
        held.api.close();
      } catch {
        // nothing more to do
      }
    },
  };
}

/** Paths of the modules currently loaded by labup, with their lease counts (diagnostics, tests). */
export function loadedModules(): Array<{ path: string; leases: number }> {
  return [...loaded.entries()].map(([path, e]) => ({ path, leases: e.leases }));
}
