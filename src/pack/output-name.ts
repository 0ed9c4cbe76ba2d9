/**
 * Where `pack` writes, and under which name.
 *
 * NHI allows letters and digits only in the names of the ZIP and of the XML inside
 * (`TOTFA.zip` holding `TOTFA.xml`). Through the 醫療資料傳輸共通介面 API the ZIP is named
 * `(醫事機構代碼)(上傳日期)(流水號).zip`: the 10-character institution code, the upload date as
 * ROC YYYMMDD (h16's first seven digits), and a serial number. The format document gives no width
 * for the serial; labup uses three digits from 001, the width the same API uses for its
 * other serial-numbered files (`醫事機構代碼-系統日期-流水號(3)`), e.g. `35012000001151125001.zip`.
 */
import { readdir, stat, link, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileError, usageError } from '../errors.js';

export const DEFAULT_ZIP_NAME = 'TOTFA.zip';

export interface OutputPlan {
  /** The folder the ZIP goes into. */
  dir: string;
  /** `name`: a fixed file name; `api`: the API pattern with the next free serial. */
  mode: 'name' | 'api';
  /** The ZIP's file name in `name` mode. */
  name?: string;
}

const NHI_ZIP = /^[A-Za-z0-9]+\.zip$/i;

/** Checks `--out` / `--api-name` before any work is done. */
export async function planOutput(out: string | undefined, apiName: boolean, cwd: string): Promise<OutputPlan> {
  if (out === undefined) return { dir: cwd, mode: apiName ? 'api' : 'name', ...(apiName ? {} : { name: DEFAULT_ZIP_NAME }) };
  const path = resolve(cwd, out);
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) return { dir: path, mode: apiName ? 'api' : 'name', ...(apiName ? {} : { name: DEFAULT_ZIP_NAME }) };
  if (apiName) {
    throw usageError('PACK_OUT_NAME', `--api-name chooses the file name itself; --out must then be a folder (${out} is not one)`, {
      hint: 'Give --out FOLDER with --api-name, or drop --api-name to write --out NAME.zip.',
    });
  }
  const name = basename(path);
  if (!NHI_ZIP.test(name)) {
    throw usageError('PACK_OUT_NAME', `--out ${out}: NHI accepts only letters and digits in file names, with the extension .zip (e.g. TOTFA.zip)`, {
      hint: 'Choose a name such as TOTFA.zip or LAB20261125.zip; the XML inside gets the same name with .xml.',
    });
  }
  const dir = dirname(path);
  const dirOk = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!dirOk) throw usageError('PACK_OUT_DIR', `--out ${out}: the folder ${dir} does not exist`, { hint: 'Create the folder first, or write elsewhere.' });
  return { dir, mode: 'name', name };
}

/** The XML entry's name for a ZIP name: the same base name, `.xml`. */
export function entryNameFor(zipName: string): string {
  return zipName.replace(/\.zip$/i, '') + '.xml';
}

/** The next free `(醫事機構代碼)(上傳日期)(流水號).zip` in `dir`. */
export async function nextApiName(dir: string, institution: string, uploadDate: string): Promise<string> {
  if (!/^[A-Za-z0-9]{10}$/.test(institution)) {
    throw usageError('PACK_API_NAME', `--api-name needs the 10-character 醫事機構代碼; “${institution}” is not one`, { hint: 'Give --hosp CODE (or set "institution" in the config).' });
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw fileError(err, dir, 'list');
  }
  const re = new RegExp(`^${institution}${uploadDate}(\\d{3})\\.zip$`, 'i');
  let max = 0;
  for (const n of names) {
    const m = re.exec(n);
    if (m) max = Math.max(max, Number(m[1]));
  }
  if (max >= 999) {
    throw usageError('PACK_API_NAME', `${dir}: serial numbers 001–999 for ${institution} on ${uploadDate} are used up`, { hint: 'Move the earlier files away, or pack into another folder.' });
  }
  return `${institution}${uploadDate}${String(max + 1).padStart(3, '0')}.zip`;
}

/**
 * Puts the finished temp file in place. `replace`: overwrite an existing file (atomic rename);
 * otherwise fail if the name was taken meanwhile (hard link, then unlink the temp file).
 */
export async function placeFile(temp: string, dir: string, name: string, replace: boolean): Promise<string> {
  const final = join(dir, name);
  try {
    if (replace) {
      await rename(temp, final);
      return final;
    }
    try {
      await link(temp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw usageError('PACK_OUT_EXISTS', `${final} appeared while packing (another labup pack running?)`, { hint: 'Run labup pack again: it takes the next free serial number.' });
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw err;
      // No hard links on this file system: check, then rename.
      const taken = await stat(final).then(
        () => true,
        () => false,
      );
      if (taken) throw usageError('PACK_OUT_EXISTS', `${final} already exists`, { hint: 'Run labup pack again: it takes the next free serial number.' });
      await rename(temp, final);
      return final;
    }
    await rm(temp, { force: true });
    return final;
  } catch (err) {
    if ((err as { kind?: string }).kind) throw err;
    throw fileError(err, final, 'write');
  }
}
