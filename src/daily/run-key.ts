/**
 * A run's identity: the content of its inputs (SHA-256 of each file, in order), the options that
 * shape the ZIP built from them, the portal, and the 上傳日期. The same export run again on the same
 * day is the same run — whatever its file name or time stamps — so it is continued, never uploaded
 * twice.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileError, usageError } from '../errors.js';
import { sha256File } from '../transport/upload.js';
import type { RunInput } from './run-store.js';

/** Hashes each input (a missing, unreadable or folder input is a usage error naming it). */
export async function hashInputs(inputs: string[], cwd: string): Promise<RunInput[]> {
  const out: RunInput[] = [];
  for (const given of inputs) {
    if (given === '-') {
      throw usageError('DAILY_STDIN', 'labup daily cannot read standard input (-)', {
        hint: 'Give the export as a file: a run is known by its inputs’ content, to continue it after an interruption.',
      });
    }
    const path = resolve(cwd, given);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw fileError(err, given);
    }
    if (st.isDirectory()) throw usageError('FILE_IS_DIRECTORY', `${given}: is a folder, expected an export (CSV, NDJSON/JSON) or a daily XML/ZIP`);
    const { sha256, size } = await sha256File(path);
    out.push({ path, given, sha256, size });
  }
  return out;
}

/** Options that change the ZIP built from the same inputs (and so make another run). */
export interface ShapingOptions {
  /** SHA-256 of the column map's content, when one is used. */
  mapSha256?: string | null;
  hosp?: string | null;
  format?: string;
  inputEncoding?: string;
  delimiter?: string | null;
  encoding?: string;
  replaceUnencodable?: boolean;
  groupWindow?: number | null;
  apiName?: boolean;
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The inputs key: their content, in order, and the shaping options (undefined ones left out). */
export function inputsKey(inputs: readonly RunInput[], options: ShapingOptions): string {
  const shaping = Object.fromEntries(
    Object.entries(options)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return sha(JSON.stringify({ v: 1, inputs: inputs.map((i) => i.sha256), shaping }));
}

/** The run key: the inputs key on this portal for this 上傳日期 (ROC YYYMMDD). */
export function runKey(portal: string, inputs: string, uploadDate: string): string {
  return sha(`${portal}\n${inputs}\n${uploadDate}`);
}
