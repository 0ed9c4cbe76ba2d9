#!/usr/bin/env node
// Writes the fixtures under fixtures/ (run `npm run build` first). Every person in them is
// synthetic: checksum-valid IDs that belong to nobody. Dates: sampled 115/11/25 08:30, uploaded
// (h16) 115/11/25 20:00:00 — tests run with LABUP_NOW=2026-11-25T21:00:00+08:00.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { DailyXmlWriter } from '../dist/xml/builder.js';
import { labRecord, imagingRecord, pathologyRecord, jointRecord, prng } from '../dist/format/synthetic.js';
import { encodeCp950 } from '../dist/encoding/cp950.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (p) => join(root, 'fixtures', p);
mkdirSync(at('valid'), { recursive: true });
mkdirSync(at('invalid'), { recursive: true });

const base = { sampledAt: { year: 2026, month: 11, day: 25, hour: 8, minute: 30, second: 5 }, uploadedAt: { year: 2026, month: 11, day: 25, hour: 20, minute: 0, second: 0 } };
const big5 = new DailyXmlWriter({ encoding: 'big5' });
const utf8 = new DailyXmlWriter({ encoding: 'utf-8' });
const file = (w, recs) => Buffer.concat([w.head(), ...recs.map((r) => w.record(r)), w.tail()]);

// Valid: one file per 報告類別, in Big5.
writeFileSync(at('valid/lab.xml'), file(big5, [labRecord({ ...base, patient: 1 }, prng(1), 3), labRecord({ ...base, patient: 2 }, prng(2), 0)]));
writeFileSync(at('valid/imaging.xml'), file(big5, [imagingRecord({ ...base, patient: 3 })]));
writeFileSync(at('valid/pathology.xml'), file(big5, [pathologyRecord({ ...base, patient: 4 })]));
writeFileSync(at('valid/joint.xml'), file(big5, [jointRecord({ ...base, patient: 5 })]));
// All four types in one UTF-8 file.
writeFileSync(at('valid/all-types-utf8.xml'), file(utf8, [labRecord({ ...base, patient: 6 }, prng(6), 4), imagingRecord({ ...base, patient: 7 }), pathologyRecord({ ...base, patient: 8 }), jointRecord({ ...base, patient: 9 })]));
// The upload ZIP: one XML, alphanumeric names; a fixed modification time, so that the ZIP is the
// same bytes every time it is generated.
const zipDir = join(root, 'fixtures/.zipwork');
mkdirSync(zipDir, { recursive: true });
writeFileSync(join(zipDir, 'TOTFA.xml'), file(big5, [labRecord({ ...base, patient: 10 }, prng(10), 0), imagingRecord({ ...base, patient: 11 })]));
execFileSync('sh', ['-c', `rm -f '${at('valid/TOTFA.zip')}' && cd '${zipDir}' && touch -t 202611251722.10 TOTFA.xml && zip -q -X -6 '${at('valid/TOTFA.zip')}' TOTFA.xml && cd / && rm -rf '${zipDir}'`], { env: { ...process.env, TZ: 'Asia/Taipei' } });

// Invalid fixtures are small hand-written files (UTF-8 here, written in Big5 unless noted), each
// listing what labup must find in fixtures/invalid/EXPECTED.json.
const H = (extra = '') => `    <h1>1</h1>
    <h2>3501200000</h2>
    <h3>12</h3>
    <h4>11511</h4>
    <h5>1151125073005</h5>
    <h6>01</h6>
    <h7>0001</h7>
    <h8>1</h8>
    <h9>A123456789</h9>
    <h10>0650101</h10>
    <h11>1151125</h11>
    <h15>09005C</h15>
    <h16>1151125200000</h16>
    <h20>1151125083005</h20>
    <h22>血液</h22>${extra}
    <h26>0</h26>`;
const R = `    <rdata>
      <r1>1</r1>
      <r2>飯前血糖 Glucose AC</r2>
      <r3>酵素法</r3>
      <r4>95</r4>
      <r5>mg/dL</r5>
      <r6-1>70</r6-1>
      <r6-2>100</r6-2>
      <r9>B123456780</r9>
      <r10>1151125093005</r10>
    </rdata>`;
const doc = (body, enc = 'Big5') => `<?xml version="1.0" encoding="${enc}"?>\n<patient>\n${body}\n</patient>\n`;
const hdata = (h, r = R) => `  <hdata>\n${h}\n${r}\n  </hdata>`;
const invalid = {
  // Field values: bad checksum, unknown visit type, 30 February, h4 not matching h20, half-width &.
  'field-values.xml': doc(hdata(H().replace('<h9>A123456789</h9>', '<h9>A123456788</h9>').replace('<h6>01</h6>', '<h6>0X</h6>').replace('<h5>1151125073005</h5>', '<h5>1150230073005</h5>').replace('<h4>11511</h4>', '<h4>11510</h4>'), R.replace('<r2>飯前血糖 Glucose AC</r2>', '<r2>Glucose &amp; AC</r2>'))),
  // Structure: h2 after h3, an unknown element, a duplicated field, an hdata without rdata.
  'structure.xml': doc([hdata(H().replace('    <h2>3501200000</h2>\n    <h3>12</h3>', '    <h3>12</h3>\n    <h2>3501200000</h2>').replace('<h8>1</h8>', '<h8>1</h8>\n    <note>x</note>'), R.replace('<r4>95</r4>', '<r4>95</r4>\n      <r4>96</r4>')), `  <hdata>\n${H()}\n  </hdata>`].join('\n')),
  // Conditional rules: no reference range for report type 1, inpatient without 入院日期, 代檢 without 原開立機構, newborn mark without birth date, wrong report type for the order.
  'conditional.xml': doc([
    hdata(H(), R.replace('      <r6-1>70</r6-1>\n      <r6-2>100</r6-2>\n', '')),
    hdata(H().replace('<h7>0001</h7>', '<h7>0002</h7>').replace('<h3>12</h3>', '<h3>22</h3>').replace('<h11>1151125</h11>', '<h14>1151126</h14>').replace('<h26>0</h26>', '')),
    hdata(H('\n    <h24>A</h24>').replace('<h7>0001</h7>', '<h7>0003</h7>').replace('<h26>0</h26>', '<h26>5</h26>')),
    hdata(H().replace('<h7>0001</h7>', '<h7>0004</h7>').replace('<h15>09005C</h15>', '<h15>18001C</h15>')),
  ].join('\n')),
  // r1 must run 1, 2, 3 … (09002C has one item in 表九; 09064C … use an order outside the tables).
  'item-numbering.xml': doc(hdata(H().replace('<h15>09005C</h15>', '<h15>12044C</h15>'), R.replace('<r1>1</r1>', '<r1>2</r1>') + '\n' + R.replace('<r1>1</r1>', '<r1>2</r1>'))),
  // h16 says 115/11/24, the upload date is 115/11/25.
  'h16-mismatch.xml': doc(hdata(H().replace('<h16>1151125200000</h16>', '<h16>1151124200000</h16>'))),
  // Not well-formed: mismatched end tag.
  'not-well-formed.xml': doc(hdata(H().replace('<h7>0001</h7>', '<h7>0001</h8>'))),
  // An external entity (XXE) — refused before anything is read.
  'doctype-xxe.xml': `<?xml version="1.0" encoding="Big5"?>\n<!DOCTYPE patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<patient>\n${hdata(H().replace('<h22>血液', '<h22>&xxe;'))}\n</patient>\n`,
};
for (const [name, text] of Object.entries(invalid)) writeFileSync(at(`invalid/${name}`), encodeCp950(text));
// Big5 with an HKSCS-only character (0x8840), which code page 950 does not define.
{
  const text = doc(hdata(H()));
  const bytes = encodeCp950(text);
  const i = bytes.indexOf(encodeCp950('血液'));
  bytes[i] = 0x88;
  bytes[i + 1] = 0x40;
  writeFileSync(at('invalid/hkscs-bytes.xml'), bytes);
}
// Declares Big5 but is saved as UTF-8.
writeFileSync(at('invalid/utf8-declared-big5.xml'), Buffer.from(doc(hdata(H().replace('<h22>血液', '<h22>靜脈血液'))), 'utf8'));
process.stderr.write('fixtures written\n');
