/** Builds small daily XML documents for tests, from synthetic records. */
import { DailyXmlWriter, type DailyRecord, type OutputEncoding } from '../../src/xml/builder.js';
import { labRecord, prng } from '../../src/format/synthetic.js';
import { StreamingValidator, type FileReport } from '../../src/validate.js';

export const SAMPLED = { year: 2026, month: 11, day: 25, hour: 8, minute: 30, second: 5 };
export const UPLOADED = { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 };
export const UPLOAD_DATE = { year: 2026, month: 11, day: 25 };

export function lab(patient = 1, orderIndex = 0): DailyRecord {
  return labRecord({ sampledAt: SAMPLED, uploadedAt: UPLOADED, patient }, prng(patient), orderIndex);
}

export function xml(records: DailyRecord[], encoding: OutputEncoding = 'big5'): Buffer {
  const w = new DailyXmlWriter({ encoding });
  return Buffer.concat([w.head(), ...records.map((r) => w.record(r)), w.tail()]);
}

/** Validates bytes in chunks of `chunk` bytes (to exercise every buffer boundary). */
export function check(bytes: Buffer | string, chunk = 64 * 1024): FileReport {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const v = new StreamingValidator('test.xml', { uploadDateResolved: UPLOAD_DATE });
  for (let i = 0; i < buf.length; i += chunk) v.write(buf.subarray(i, i + chunk));
  return v.end();
}

export function codes(r: FileReport): string[] {
  return r.errors.map((e) => e.code);
}
