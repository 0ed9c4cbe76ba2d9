/**
 * Scriptable edits: `--set FIELD=VALUE` for a header field, `--set FIELD@N=VALUE` for a field of the
 * N-th report item (N as `entry show` numbers the items: 1, 2, … in their order in the record;
 * N = one past the last adds an item), an empty VALUE clears the field, `--remove-item N` removes
 * an item. FIELD is a field id (`h7`, `r4-1`) or a 資料名稱 (`就醫序號`).
 */
import { usageError } from '../errors.js';
import { fieldByColumnName, type FieldDef } from '../format/fields.js';
import { applyAnswer, removeItems as removeAt } from './form.js';
import { cloneRecord, normaliseAnswer, type DailyRecord } from './record.js';

export interface SetSpec {
  def: FieldDef;
  /** 1-based item position for r-fields. */
  item: number | null;
  value: string;
}

/** Reads one `--set` argument. */
export function parseSet(spec: string): SetSpec {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw usageError('ENTRY_SET', `--set ${spec}: write FIELD=VALUE (e.g. h7=0002) or FIELD@ITEM=VALUE (e.g. r4@2=95)`);
  const left = spec.slice(0, eq).trim();
  const value = spec.slice(eq + 1);
  const at = left.lastIndexOf('@');
  const name = at >= 0 ? left.slice(0, at) : left;
  const def = fieldByColumnName(name);
  if (!def) throw usageError('ENTRY_SET', `--set ${spec}: “${name}” is not a field of 表一`, { hint: 'Use a field id (h1 … h30, r1 … r14, r4-1 …) or its 資料名稱.' });
  if (def.id === 'h16') throw usageError('ENTRY_SET', '--set h16: h16 is stamped when the draft is uploaded', { hint: 'Leave h16 out.' });
  let item: number | null = null;
  if (at >= 0) {
    if (def.section === 'h') throw usageError('ENTRY_SET', `--set ${spec}: ${def.id} is a header field; it takes no @ITEM`);
    const n = Number(left.slice(at + 1));
    if (!Number.isInteger(n) || n < 1) throw usageError('ENTRY_SET', `--set ${spec}: the item after @ is its position, 1, 2, … (labup entry show lists them)`);
    item = n;
  }
  return { def, item, value };
}

/** Applies `--set` and `--remove-item` to a record (removals after the sets, highest first). */
export function applyEdits(rec: DailyRecord, sets: SetSpec[], removeItems: number[] = []): DailyRecord {
  let c = cloneRecord(rec);
  for (const s of sets) {
    let item = s.item;
    if (s.def.section === 'r' && item === null) {
      if (c.items.length !== 1) {
        throw usageError('ENTRY_SET', `--set ${s.def.id}=…: the record has ${c.items.length} items; say which one, e.g. ${s.def.id}@1=…`);
      }
      item = 1;
    }
    if (item !== null && item > c.items.length + 1) {
      throw usageError('ENTRY_SET', `--set ${s.def.id}@${item}: the record has ${c.items.length} item(s); @${c.items.length + 1} adds one`);
    }
    c = applyAnswer(c, s.def.id, item, normaliseAnswer(s.def, s.value));
  }
  for (const n of removeItems) {
    if (!Number.isInteger(n) || n < 1 || n > c.items.length) throw usageError('ENTRY_REMOVE_ITEM', `--remove-item ${n}: the record has ${c.items.length} item(s)`);
  }
  return removeItems.length ? removeAt(c, removeItems) : c;
}
