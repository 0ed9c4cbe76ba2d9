/**
 * The XML Schema of the daily file, derived from the 表一 table. It expresses what a schema can:
 * structure, element order, which fields must always be present, and each field's lexical form
 * (code lists, ROC date patterns, ID patterns, the ban on half-width XML specials in text).
 * What needs arithmetic or cross-field logic (NHI byte lengths, checksums, calendars, conditional
 * requirements, item tables) is labup's alone.
 */
import { CODE_LISTS } from './codes.js';
import { FIELDS, FORMAT_EFFECTIVE, HDATA_ELEMENT, H_FIELDS, RDATA_ELEMENT, ROOT_ELEMENT, R_FIELDS, type FieldDef } from './fields.js';

const D = '[0-9]';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[12][0-9]|3[01])';
const TIME = `([01]${D}|2[0-3])[0-5]${D}`;
const SEC = `[0-5]${D}`;

function year(negative: boolean): string {
  return negative ? `(${D}{3}|-${D}{2})` : `${D}{3}`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The lexical pattern of a field, or an enumeration. */
export function fieldFacets(f: FieldDef): { pattern?: string; enumeration?: string[] } {
  const k = f.kind;
  switch (k.type) {
    case 'code':
      return { enumeration: CODE_LISTS[k.list].map((e) => e.code) };
    case 'rocDate':
      return { pattern: `${year(k.negative)}${MONTH}${DAY}` };
    case 'rocDateTime':
      return { pattern: `${year(k.negative)}${MONTH}${DAY}${TIME}${k.short ? `(${SEC})?` : SEC}` };
    case 'rocYearMonth':
      return { pattern: `${D}{3}${MONTH}` };
    case 'personId':
      return { pattern: k.institution ? `[A-Z][12ABCD89]${D}{8}|${D}[0-9A-Z]{9}` : `[A-Z][12ABCD89]${D}{8}` };
    case 'institution':
      return { pattern: '[0-9A-Za-z]{10}' };
    case 'orderCode':
      return { pattern: '[0-9A-Z]{5,12}' };
    case 'visitSeq':
      return { pattern: '[0-9A-Z]{4}' };
    case 'newbornMark':
      return { pattern: '[A-Za-z]' };
    case 'bodyParts':
      return { pattern: `[${CODE_LISTS.h25.map((e) => e.code).join('')}]{1,${f.maxLength}}` };
    case 'digits':
      return { pattern: `${D}{1,${f.maxLength}}` };
    case 'text':
      return { pattern: `[^<>&'"]*` };
  }
}

function simpleType(f: FieldDef): string {
  const facets = fieldFacets(f);
  const optional = f.required.kind !== 'always';
  const lines: string[] = [];
  lines.push(`  <xs:simpleType name="${typeName(f)}">`);
  lines.push(`    <xs:annotation><xs:documentation>${f.id} ${f.zh} (${f.en})</xs:documentation></xs:annotation>`);
  lines.push('    <xs:restriction base="xs:string">');
  if (facets.enumeration) {
    // An optional field may appear empty (labup warns: omit it instead).
    for (const v of optional ? ['', ...facets.enumeration] : facets.enumeration) lines.push(`      <xs:enumeration value="${escapeAttr(v)}"/>`);
  } else {
    const p = facets.pattern!;
    const pattern = optional && f.kind.type !== 'text' ? `(${p})?` : p;
    lines.push(`      <xs:pattern value="${escapeAttr(pattern)}"/>`);
  }
  lines.push('    </xs:restriction>');
  lines.push('  </xs:simpleType>');
  return lines.join('\n');
}

function typeName(f: FieldDef): string {
  return 'T_' + f.id.replace('-', '_');
}

function element(f: FieldDef): string {
  return `      <xs:element name="${f.id}" type="${typeName(f)}"${f.required.kind === 'always' ? '' : ' minOccurs="0"'}/>`;
}

/** The complete schema text (`schema/lab-daily.xsd`). */
export function buildXsd(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!--
  labup: XML Schema of the NHI daily lab upload (檢驗（查）結果每日上傳), format effective ${FORMAT_EFFECTIVE.roc}.
  Generated from src/format/fields.ts by scripts/gen-schema.mjs; do not edit by hand.
  The schema covers structure and each field's lexical form; labup validate adds NHI's byte lengths,
  checksums, calendars, conditional requirements and the per-order item tables.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="${ROOT_ELEMENT}">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="${HDATA_ELEMENT}" type="Hdata" maxOccurs="unbounded"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:complexType name="Hdata">
    <xs:sequence>
${H_FIELDS.map(element).join('\n')}
      <xs:element name="${RDATA_ELEMENT}" type="Rdata" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="Rdata">
    <xs:sequence>
${R_FIELDS.map(element).join('\n')}
    </xs:sequence>
  </xs:complexType>
${FIELDS.map(simpleType).join('\n')}
</xs:schema>
`;
}
