/** A small upload with four errors, as data, for the explain tests. */
import { StreamingValidator } from '../../../src/validate.js';
import type { Finding } from '../../../src/format/findings.js';
import { lab, UPLOAD_DATE } from '../../helpers/xml.js';

/** Three orders with four errors between them (a bad ID checksum, no reference range, a result flag not in its code list, a wrong h4). */
export function brokenRecords() {
  const a = lab(1, 3); // CBC, several items
  a.header.h9 = 'A123456788';
  delete a.items[2]!['r6-1'];
  delete a.items[2]!['r6-2'];
  const b = lab(2, 0); // glucose
  b.items[0]!.r12 = '7';
  const c = lab(3, 2); // creatinine
  c.header.h4 = '11510';
  return [a, b, c];
}

export function findings(bytes: Buffer): { errors: Finding[]; hdata: number; rdata: number } {
  const v = new StreamingValidator('TOTFA.xml', { uploadDateResolved: UPLOAD_DATE, showIds: true });
  v.write(bytes);
  const r = v.end();
  return { errors: r.errors, hdata: r.counts.hdata, rdata: r.counts.rdata };
}
