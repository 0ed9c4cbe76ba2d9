/**
 * `entry` as a library: saving records as drafts (暫存) with their findings, editing, showing and
 * removing them — what the interactive form and the scriptable commands share.
 */
import type { Clock } from '../clock.js';
import type { Finding } from '../format/findings.js';
import { maskFieldValue, maskIdsInText } from '../format/national-id.js';
import type { Store } from '../store/store.js';
import { createDraft, getDraft, isEditable, readOnly, updateDraft, type Draft, type DraftStatus, type PortalError } from './drafts.js';
export { portalErrorLine } from './drafts.js';
import { applyEdits, type SetSpec } from './edit.js';
import { readJsonOrders } from './json-input.js';
import { canonicalRecord, checkEntry, completeRecord, normaliseRecord, type DailyRecord, type RecordCheck } from './record.js';

export interface SaveOptions {
  clock: Clock;
  showIds?: boolean;
}

export interface Saved {
  draft: Draft;
  check: RecordCheck;
}

/** 暫存: checks the record with the whole core and saves it (errors do not stop saving; they block upload). */
export function saveRecord(store: Store, id: number | null, input: DailyRecord, o: SaveOptions): Saved {
  const record = canonicalRecord(input);
  const check = checkEntry(record, { clock: o.clock, showIds: o.showIds === true });
  const counts = { errorCount: check.errors.length, warningCount: check.warnings.length };
  const draft = id === null ? createDraft(store, record, counts, o.clock) : updateDraft(store, id, record, counts, o.clock);
  return { draft, check };
}

export interface AddOptions extends SaveOptions {
  /** 醫事機構代碼 for records without h2. */
  institution?: string;
}

export interface AddResult {
  saved: Saved[];
  /** Warnings about the input itself. */
  warnings: string[];
}

/** `entry add FILE`: every order of the JSON saved as a draft, with the form's defaults. */
export async function addDrafts(store: Store, text: string, name: string, o: AddOptions): Promise<AddResult> {
  const input = await readJsonOrders(text, name, { showIds: o.showIds === true });
  const records = input.records.map((r) => completeRecord(normaliseRecord(r), o.institution ? { institution: o.institution } : {}));
  // One transaction: a failure leaves no half-added set behind.
  const saved = store.db.transaction(() => records.map((r) => saveRecord(store, null, r, o)))();
  return { saved, warnings: input.warnings };
}

/** `entry edit ID --set …`: applies the edits and saves (a 檢核錯誤 draft becomes 暫存 again). */
export function editDraft(store: Store, id: number, sets: SetSpec[], removeItems: number[], o: SaveOptions): Saved {
  const d = getDraft(store, id);
  // Refused before the edits are read, so that a bad --set is not reported instead.
  if (!isEditable(d)) throw readOnly(d, 'edited');
  return saveRecord(store, id, applyEdits(d.record, sets, removeItems), o);
}

/** An order with IDs masked (h9, h17, h18, r9), unless `showIds`. */
export function maskedRecord(rec: DailyRecord, showIds: boolean): DailyRecord {
  if (showIds) return rec;
  const mask = (obj: Record<string, string | undefined>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = maskFieldValue(k, v);
    return out;
  };
  return { header: mask(rec.header), items: rec.items.map((it) => mask(it)) };
}

/** The order as JSON: header fields, then `items` (the shape `entry add` reads). */
export function orderObject(rec: DailyRecord): Record<string, unknown> {
  return { ...rec.header, items: rec.items };
}

/** A draft as `entry show` gives it. */
export interface DraftView {
  id: number;
  status: DraftStatus;
  statusText: string;
  /** Can be edited (暫存, 檢核錯誤); 檢核中 and 檢核正確 are read-only. */
  editable: boolean;
  receiptNo: string | null;
  /** Its hdata number in the uploaded file (the check file's `hdata` column names it). */
  position: number | null;
  h16: string | null;
  uploadedAt: string | null;
  checkedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The order: header fields and `items`; IDs masked unless showIds. */
  order: Record<string, unknown>;
  /** The portal's check file rows on this record (檢核錯誤), explained; null when none were read. */
  portalErrors: PortalError[] | null;
  errorCount: number;
  warningCount: number;
  /** Findings as of now (the whole core, with h16 = now for a draft not yet uploaded). */
  errors: Finding[];
  warnings: Finding[];
}

export function viewDraft(d: Draft, o: SaveOptions): DraftView {
  const check = checkEntry(d.record, { clock: o.clock, showIds: o.showIds === true, ...(d.h16 ? { h16: d.h16 } : {}) });
  return {
    id: d.id,
    status: d.status,
    statusText: d.statusText,
    editable: isEditable(d),
    receiptNo: d.receiptNo,
    position: d.receiptNo ? d.position : null,
    h16: d.h16,
    uploadedAt: d.uploadedAt,
    checkedAt: d.checkedAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    order: orderObject(maskedRecord(d.record, o.showIds === true)),
    portalErrors: d.portalErrors && !o.showIds ? d.portalErrors.map((e) => ({ ...e, message: maskIdsInText(e.message) })) : d.portalErrors,
    errorCount: check.errors.length,
    warningCount: check.warnings.length,
    errors: check.errors,
    warnings: check.warnings,
  };
}
