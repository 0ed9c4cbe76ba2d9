/**
 * The explain step of `labup daily`: the check file read by `labup explain`'s core, each error
 * traced to the input row (the export, with the options it was packed with) or to the packed XML.
 */
import { explain } from '../explain/explain.js';
import type { ExplainResult } from '../explain/explain.js';
import type { SourcePlace } from '../explain/source.js';
import type { DailyError, DailySource } from './daily-errors.js';
import type { DailyExplainer, ExplainAnswer } from './daily.js';

function toSource(p: SourcePlace | null): DailySource | null {
  if (!p) return null;
  // `at` is explain's own; the rows of an order matter only when there are several.
  const { at: _at, rows, ...place } = p;
  return { ...place, ...(rows && rows.length > 1 ? { rows: rows.map((r) => ({ ...r })) } : {}) };
}

/** The errors of an explained check file as daily errors. */
export function errorsOfExplanation(result: ExplainResult): ExplainAnswer {
  const errors: DailyError[] = [];
  for (const g of result.groups) {
    for (const e of g.errors) {
      errors.push({
        origin: 'portal',
        group: g.nhiCode ?? g.code,
        nhiCode: g.nhiCode,
        finding: e.finding,
        field: e.field,
        fieldName: e.fieldName,
        hdata: e.hdata,
        rdata: e.rdata,
        message: e.message,
        value: e.value === '' ? null : e.value,
        fix: e.fix,
        source: toSource(e.source),
        patient: e.patient,
        orderCode: e.orderCode,
      });
    }
  }
  return { errors, errorCount: Math.max(result.counts.errors ?? 0, errors.length), notices: [...result.notices] };
}

/** Explains with `labup explain`'s core. */
export const explainCheckFile: DailyExplainer = async (req) => {
  const result = await explain(req.checkFile, {
    cwd: req.cwd,
    clock: req.clock,
    showIds: req.showIds,
    ...(req.host ? { host: req.host } : {}),
    ...(req.source
      ? {
          source: req.source.file,
          sourceOptions: req.source.packed
            ? {}
            : {
                ...(req.source.options.format !== undefined ? { format: req.source.options.format } : {}),
                ...(req.source.options.inputEncoding !== undefined ? { inputEncoding: req.source.options.inputEncoding } : {}),
                ...(req.source.options.map !== undefined ? { map: req.source.options.map } : {}),
                ...(req.source.options.hosp !== undefined ? { hosp: req.source.options.hosp } : {}),
                ...(req.source.options.delimiter !== undefined ? { delimiter: req.source.options.delimiter } : {}),
                ...(req.source.options.groupWindow !== undefined ? { groupWindow: req.source.options.groupWindow } : {}),
              },
        }
      : {}),
  });
  return errorsOfExplanation(result);
};
