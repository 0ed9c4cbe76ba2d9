/**
 * An existing daily XML (or its upload ZIP) as input to `pack`: every hdata is kept as it is and
 * re-stamped with a new h16 — a correction upload, where by 表七 the record with the latest h16
 * replaces the earlier one with the same key.
 *
 * Problems the new file fixes by itself (half-width XML specials, character references, empty
 * elements) are warnings; anything else the reader finds in the input is an error.
 */
import { H_FIELDS, R_FIELDS, type HFieldId, type RFieldId } from '../format/fields.js';
import { makeFinding, type FindingInput } from '../format/findings.js';
import { DailyXmlReader, type HdataRecord } from '../xml/daily-reader.js';
import type { FieldPlaces, InputInfo, InputRecord, ReportProblem, SourceLocation } from './types.js';

export interface XmlReadOptions {
  file: string;
  report: ReportProblem;
  info: InputInfo;
}

/** Findings on the input that the rewritten file no longer has. */
const FIXED_BY_PACK = new Set(['VALUE_XML_SPECIAL', 'XML_CHAR_REFERENCE', 'FIELD_EMPTY_ELEMENT']);

export async function* readDailyXml(chunks: AsyncIterable<Buffer>, o: XmlReadOptions): AsyncGenerator<InputRecord> {
  const out: InputRecord[] = [];
  const reader = new DailyXmlReader({
    finding: (f: FindingInput) => {
      const made = makeFinding(f);
      const fixed = FIXED_BY_PACK.has(f.code);
      o.report({
        code: f.code,
        severity: fixed ? 'warning' : made.severity,
        message: fixed ? `${made.message}; the new file has it right` : made.message,
        hint: fixed ? 'Nothing to do for this upload; fix the program that wrote the input.' : made.hint,
        source: { file: o.file, line: f.line ?? 1, ...(f.column ? { column: f.column } : {}) },
        field: (f.field as never) ?? null,
        ...(f.value !== undefined ? { value: f.value } : {}),
      });
    },
    hdata: (rec) => {
      o.info.records++;
      out.push(toRecord(rec, o.file));
    },
  });
  for await (const chunk of chunks) {
    reader.write(chunk);
    if (out.length) yield* out.splice(0);
  }
  reader.end();
  o.info.encoding = reader.encoding === 'cp950' ? 'Big5 (CP950), declared' : 'UTF-8, declared';
  if (out.length) yield* out.splice(0);
}

function toRecord(rec: HdataRecord, file: string): InputRecord {
  const header: Partial<Record<HFieldId, string>> = {};
  const headerPlaces: FieldPlaces = {};
  rec.fields.forEach((fv, i) => {
    if (!fv) return;
    const id = H_FIELDS[i]!.id as HFieldId;
    header[id] = fv.value;
    headerPlaces[id] = { line: fv.line, column: fv.column };
  });
  const items: Array<Partial<Record<RFieldId, string>>> = [];
  const itemsAt: SourceLocation[] = [];
  const itemPlaces: FieldPlaces[] = [];
  for (const r of rec.rdata) {
    const item: Partial<Record<RFieldId, string>> = {};
    const places: FieldPlaces = {};
    r.fields.forEach((fv, i) => {
      if (!fv) return;
      const id = R_FIELDS[i]!.id as RFieldId;
      item[id] = fv.value;
      places[id] = { line: fv.line, column: fv.column };
    });
    items.push(item);
    itemsAt.push({ file, line: r.line, column: r.column });
    itemPlaces.push(places);
  }
  return {
    kind: 'order',
    header,
    items,
    at: { file, line: rec.line, column: rec.column },
    itemsAt,
    headerPlaces,
    itemPlaces,
    ...(header.h16 !== undefined ? { previousH16: header.h16 } : {}),
  };
}
