/**
 * Writing a file that may hold patient data: a temporary file beside the target, mode 0600,
 * flushed, then renamed over the target, so a reader never sees half a file and a failure leaves
 * nothing under the final name.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError } from '../errors.js';

export async function writeFileAtomic(path: string, data: Uint8Array | string, shown = path): Promise<void> {
  const temp = join(dirname(path), `.${basename(path).slice(0, 80)}.${randomBytes(6).toString('hex')}.labup-tmp`);
  let fh;
  try {
    fh = await open(temp, 'wx', 0o600);
  } catch (err) {
    throw fileError(err, shown, 'write');
  }
  try {
    try {
      await fh.chmod(0o600);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw fileError(err, shown, 'write');
  }
}
