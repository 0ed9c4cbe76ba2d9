/**
 * What an error code in a check file means, in plain zh-TW and English, and what to do: NHIA codes
 * from the table in `format/nhi-codes.ts`, labup's own (`L:` codes) from the findings catalogue.
 * Where the 錯誤說明 of a row names one of labup's findings (the sandbox writes the finding's
 * Chinese text), the finding's own hint is the fix, which is more precise than the code's.
 */
import { CODE_LISTS } from '../format/codes.js';
import { FIELD_BY_ID } from '../format/fields.js';
import { FINDINGS, findingDef, type FindingDef } from '../format/findings.js';
import { nhiCode } from '../format/nhi-codes.js';

export interface CodeExplanation {
  /** The code as the check file writes it: `02`, `L:XML_SYNTAX`. */
  code: string;
  /** The NHIA code, or null for labup's own codes. */
  nhiCode: string | null;
  /** labup's finding code for an `L:` code, else null. */
  finding: string | null;
  /** The short name (NHI's for NHIA codes). */
  title: string;
  zh: string;
  en: string;
  fix: string;
  /** False when labup does not know the code: the texts then come from the check file. */
  known: boolean;
}

/** Explains a check file's 錯誤代碼; `message` (a row's 錯誤說明) stands in for unknown codes. */
export function explainCode(code: string, message = ''): CodeExplanation {
  if (code.startsWith('L:')) {
    const name = code.slice(2);
    const def = findingDef(name);
    if (def) return { code, nhiCode: null, finding: name, title: def.zh, zh: def.zh, en: def.en, fix: def.hint, known: true };
    return {
      code,
      nhiCode: null,
      finding: name,
      title: message || name,
      zh: message,
      en: `labup finding ${name}, which this version of labup does not know; the check file's wording is shown.`,
      fix: 'Update labup, or read the 錯誤說明 and the field’s rule in 表一 (docs/format.md).',
      known: false,
    };
  }
  const n = nhiCode(code);
  if (n) return { code, nhiCode: n.code, finding: null, title: n.title, zh: n.zh, en: n.en, fix: n.fix, known: true };
  return {
    code,
    nhiCode: code,
    finding: null,
    title: message || `NHIA code ${code}`,
    zh: message,
    en: `NHIA code ${code} is not in labup's table; the check file's wording is shown.`,
    fix: 'Read the 錯誤說明, compare the value with the field’s rule in 表一 (docs/format.md), and correct it in the source data.',
    known: false,
  };
}

const BY_NHI = new Map<string, Array<[string, FindingDef]>>();
for (const [name, def] of Object.entries(FINDINGS) as Array<[string, FindingDef]>) {
  if (!def.nhiCode) continue;
  const list = BY_NHI.get(def.nhiCode) ?? [];
  list.push([name, def]);
  BY_NHI.set(def.nhiCode, list);
}

/**
 * The labup finding a row's 錯誤說明 names (the finding's Chinese text starts the message), with
 * its English and hint; null when the message is NHI's own wording.
 */
export function findingForRow(code: string, message: string): { finding: string; en: string; fix: string } | null {
  if (code.startsWith('L:')) {
    const def = findingDef(code.slice(2));
    return def ? { finding: code.slice(2), en: def.en, fix: def.hint } : null;
  }
  const m = message.trim();
  let best: [string, FindingDef] | undefined;
  for (const candidate of BY_NHI.get(code) ?? []) {
    if (m.startsWith(candidate[1].zh) && (!best || candidate[1].zh.length > best[1].zh.length)) best = candidate;
  }
  return best ? { finding: best[0], en: best[1].en, fix: best[1].hint } : null;
}

/**
 * What 表一 allows in a field, in words: the codes of a short code list (`0 未發現異於參考值, 1
 * 異於參考值`), else the field's format (`YYYMM (e.g. 11411)`); null for an unknown field.
 */
export function fieldRule(field: string | null): string | null {
  const def = field ? FIELD_BY_ID.get(field) : undefined;
  if (!def) return null;
  if (def.kind.type === 'code') {
    const codes = CODE_LISTS[def.kind.list];
    if (codes.length <= 12) return codes.map((c) => `${c.code} ${c.zh}`).join(', ');
    return `${def.format} (${codes.length} codes; docs/format.md lists them)`;
  }
  return def.format;
}
