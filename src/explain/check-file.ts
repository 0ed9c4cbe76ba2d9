/**
 * The portal's check-result file (檢核結果檔, `1300_<收件序號>.msg.txt`), read tolerantly.
 *
 * The file is a header block of `key: value` lines (收件序號, 上傳日期, 處理狀態, counts …), a blank
 * line, and either a TAB-separated table with one row per error or one `檢核結果: 全部正確…` line.
 * People open it in Notepad, re-save it as UTF-8, paste it into mail, add notes; so every line this
 * parser does not understand is kept, with its line number, and shown as it is. Nothing here
 * throws on content: arbitrary bytes give a result.
 */
import { decodeCp950 } from '../encoding/cp950.js';
import { FIELD_BY_ID } from '../format/fields.js';

/** 處理狀態 as labup reads it: 檢核正確 → `correct`, 檢核錯誤 → `error`, anything else → `other`. */
export type CheckStatus = 'correct' | 'error' | 'other';

export type CheckFileEncoding = 'big5' | 'utf-8' | 'utf-16le' | 'utf-16be';

/** One row of the error table. */
export interface CheckRow {
  /** Line in the check file (1-based). */
  line: number;
  /** 序號 */
  seq: number;
  /** 1-based hdata position in the uploaded XML; null for file-level errors. */
  hdata: number | null;
  /** 1-based rdata position inside its hdata; null for header fields and file-level errors. */
  rdata: number | null;
  /** 欄位: a field id of 表一 (`h9`, `r6-1`) as written (lowercased), or null. */
  field: string | null;
  /** 錯誤代碼: an NHIA code (`02`) or a labup finding code prefixed `L:` (`L:XML_SYNTAX`). */
  code: string;
  /** 錯誤說明 */
  message: string;
  /** 欄位內容: the value as the uploaded file held it (not masked; mask before showing). */
  value: string;
}

/** A line the parser did not understand, kept as it is. */
export interface UnparsedLine {
  line: number;
  text: string;
  /** Why it was not read (for a table row that almost fits), when there is something to say. */
  reason?: string;
}

export interface CheckFile {
  encoding: CheckFileEncoding;
  /** Bytes that the encoding could not decode (shown as U+FFFD). */
  badBytes: number;
  /** The first line is the report's title (檢驗(查)結果每日上傳檢核結果). */
  titled: boolean;
  /** 收件序號 */
  receiptNo: string | null;
  /** 上傳日期, as written (ROC YYY/MM/DD). */
  uploadDate: string | null;
  /** 醫事機構代碼 */
  institution: string | null;
  /** 檔案名稱: the uploaded file. */
  fileName: string | null;
  /** 檢核時間, as written. */
  checkedAt: string | null;
  /** 處理狀態 as written, and as read. */
  statusText: string | null;
  status: CheckStatus | null;
  /** The counts of the header block (醫令筆數, 報告筆數, 錯誤筆數); null where absent or not a number. */
  counts: { hdata: number | null; rdata: number | null; errors: number | null };
  /** `檢核結果: 全部正確，醫令 N 筆、報告 M 筆。` was present. */
  allCorrect: { hdata: number | null; rdata: number | null } | null;
  /** The table's header row was present (and which line it is on). */
  tableLine: number | null;
  rows: CheckRow[];
  unparsed: UnparsedLine[];
  /** Total lines in the file. */
  lines: number;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a check file: UTF-16 or UTF-8 with a byte-order mark, UTF-8 when the bytes are valid
 * UTF-8, otherwise Big5 (code page 950) with each undecodable byte shown as U+FFFD.
 */
export function decodeCheckFile(bytes: Uint8Array): { text: string; encoding: CheckFileEncoding; badBytes: number } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le', badBytes: 0 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be', badBytes: 0 };
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    const text = new TextDecoder('utf-8').decode(bytes.subarray(3));
    return { text, encoding: 'utf-8', badBytes: countReplacements(text) };
  }
  let ascii = true;
  for (const b of bytes) {
    if (b >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    try {
      return { text: utf8Strict.decode(bytes), encoding: 'utf-8', badBytes: 0 };
    } catch {
      // not UTF-8: Big5, as the portal writes it
    }
  }
  let text = '';
  let badBytes = 0;
  let at = 0;
  while (at < bytes.length) {
    const r = decodeCp950(bytes, at);
    text += r.text;
    if (r.badAt < 0) break;
    text += '\ufffd';
    badBytes++;
    at = r.badAt + 1;
  }
  return { text, encoding: ascii ? 'utf-8' : 'big5', badBytes };
}

function countReplacements(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) n++;
  return n;
}

/** Splits on CRLF, LF or a lone CR; a final line ending does not start another line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Full-width digits, letters, colons and parentheses to ASCII; spaces (also U+3000) removed. */
function squeeze(s: string): string {
  return s.normalize('NFKC').replace(/\s+/g, '');
}

type HeaderKey = 'receiptNo' | 'uploadDate' | 'institution' | 'fileName' | 'checkedAt' | 'status' | 'hdata' | 'rdata' | 'errors' | 'result';

/** Header keys by their normalised Chinese names (and the English a re-typed file may carry). */
const HEADER_KEYS: Array<[RegExp, HeaderKey]> = [
  [/^(收件序號|receiptno)$/i, 'receiptNo'],
  [/^(上傳日期|uploaddate)$/i, 'uploadDate'],
  [/^(醫事機構代碼|醫事機構|institution)$/i, 'institution'],
  [/^(檔案名稱|檔名|filename)$/i, 'fileName'],
  [/^(檢核時間|checkedat)$/i, 'checkedAt'],
  [/^(處理狀態|檢核狀態|status)$/i, 'status'],
  [/^醫令筆數(\(hdata\))?$|^hdata$/i, 'hdata'],
  [/^報告筆數(\(rdata\))?$|^rdata$/i, 'rdata'],
  [/^(錯誤筆數|errors)$/i, 'errors'],
  [/^檢核結果$/, 'result'],
];

const TITLE = /^檢驗\(查\)結果每日上傳檢核結果$/;

type Column = 'seq' | 'hdata' | 'rdata' | 'field' | 'code' | 'message' | 'value';

const DEFAULT_COLUMNS: Column[] = ['seq', 'hdata', 'rdata', 'field', 'code', 'message', 'value'];

const COLUMN_NAMES: Array<[RegExp, Column]> = [
  [/^(序號|no\.?|seq)$/i, 'seq'],
  [/^hdata$/i, 'hdata'],
  [/^rdata$/i, 'rdata'],
  [/^(欄位|欄位代號|field)$/i, 'field'],
  [/^(錯誤代碼|代碼|code)$/i, 'code'],
  [/^(錯誤說明|說明|message)$/i, 'message'],
  [/^(欄位內容|內容|value)$/i, 'value'],
];

/** A number as written in a header value: `3`, `３`, `3 筆`, `1,234`. */
function countOf(value: string): number | null {
  const m = /^(\d[\d,]*)(筆)?$/.exec(squeeze(value));
  if (!m) return null;
  const n = Number(m[1]!.replace(/,/g, ''));
  return Number.isSafeInteger(n) ? n : null;
}

function statusOf(text: string): CheckStatus {
  const s = squeeze(text);
  if (s.includes('錯誤') || /error|reject/i.test(s)) return 'error';
  if (s.includes('正確') || /^(ok|correct|accepted)$/i.test(s)) return 'correct';
  return 'other';
}

/** `key: value` with an ASCII or full-width colon, the key without a TAB. Linear: no regex backtracking. */
function keyValue(line: string): { key: string; value: string } | null {
  const a = line.indexOf(':');
  const b = line.indexOf('：');
  const at = a < 0 ? b : b < 0 ? a : Math.min(a, b);
  if (at <= 0) return null;
  const key = line.slice(0, at);
  if (key.includes('\t')) return null;
  return { key: squeeze(key), value: line.slice(at + 1).trim() };
}

/** The table's header row, as a map from cell position to column, or null. */
function tableHeader(cells: string[]): Column[] | null {
  const names = cells.map((c) => squeeze(c));
  if (!names.some((n) => /^(序號|no\.?|seq)$/i.test(n))) return null;
  const cols: Column[] = [];
  let known = 0;
  for (const n of names) {
    const hit = COLUMN_NAMES.find(([re]) => re.test(n));
    if (hit && !cols.includes(hit[1])) {
      cols.push(hit[1]);
      known++;
    } else {
      cols.push('value');
    }
  }
  // 序號 and at least the code column: anything less is not this table's header.
  if (known < 2 || !cols.includes('code')) return null;
  return cols;
}

const FIELD_ID = /^[hr]\d{1,2}(-\d{1,2})?$/;
const CODE = /^(L:[A-Z][A-Z0-9_]*|[0-9A-Z]{1,4})$/;

function positionOf(cell: string): number | null | undefined {
  const s = squeeze(cell);
  if (s === '' || s === '-') return null;
  if (!/^\d{1,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 ? n : undefined;
}

/** Reads one table row; a string explains why it is not one. */
function tableRow(line: number, cells: string[], columns: Column[]): CheckRow | string {
  const get: Partial<Record<Column, string>> = {};
  const extra: string[] = [];
  cells.forEach((cell, i) => {
    const col = columns[i] ?? 'value';
    if (get[col] === undefined) get[col] = cell;
    else if (col === 'value' || i >= columns.length) extra.push(cell);
  });
  const seqText = squeeze(get.seq ?? '');
  if (!/^\d{1,9}$/.test(seqText)) return '序號 is not a number';
  const hdata = positionOf(get.hdata ?? '');
  if (hdata === undefined) return 'hdata is not a position (1, 2 …)';
  const rdata = positionOf(get.rdata ?? '');
  if (rdata === undefined) return 'rdata is not a position (1, 2 …)';
  if (rdata !== null && hdata === null) return 'rdata without hdata';
  const fieldText = squeeze(get.field ?? '').toLowerCase();
  if (fieldText !== '' && !FIELD_ID.test(fieldText)) return `“${fieldText.slice(0, 20)}” is not a field id (h1 … h30, r1 … r14)`;
  const code = squeeze(get.code ?? '').toUpperCase();
  if (!CODE.test(code)) return code === '' ? 'no 錯誤代碼' : `“${code.slice(0, 20)}” is not an error code`;
  const value = [get.value ?? '', ...extra].filter((v, i) => i === 0 || v !== '').join(' ');
  return {
    line,
    seq: Number(seqText),
    hdata,
    rdata,
    field: fieldText === '' ? null : fieldText,
    code,
    message: (get.message ?? '').trim(),
    value,
  };
}

/** `檢核結果: 全部正確，醫令 N 筆、報告 M 筆。` */
function allCorrectOf(value: string): { hdata: number | null; rdata: number | null } | null {
  const s = squeeze(value);
  if (!s.startsWith('全部正確')) return null;
  const h = /醫令(\d+)筆/.exec(s);
  const r = /報告(\d+)筆/.exec(s);
  return { hdata: h ? Number(h[1]) : null, rdata: r ? Number(r[1]) : null };
}

/** Parses a check file's bytes (any encoding {@link decodeCheckFile} knows) or its decoded text. */
export function parseCheckFile(input: Uint8Array | string): CheckFile {
  const decoded = typeof input === 'string' ? { text: input.replace(/^\ufeff/, ''), encoding: 'utf-8' as const, badBytes: 0 } : decodeCheckFile(input);
  const lines = splitLines(decoded.text);
  const result: CheckFile = {
    encoding: decoded.encoding,
    badBytes: decoded.badBytes,
    titled: false,
    receiptNo: null,
    uploadDate: null,
    institution: null,
    fileName: null,
    checkedAt: null,
    statusText: null,
    status: null,
    counts: { hdata: null, rdata: null, errors: null },
    allCorrect: null,
    tableLine: null,
    rows: [],
    unparsed: [],
    lines: lines.length,
  };
  let columns: Column[] = DEFAULT_COLUMNS;
  const keep = (line: number, text: string, reason?: string) => result.unparsed.push(reason ? { line, text, reason } : { line, text });
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = i === 0 ? raw.replace(/^\ufeff/, '') : raw;
    if (text.trim() === '') return;
    if (text.includes('\t')) {
      const cells = text.split('\t');
      const header = tableHeader(cells);
      if (header) {
        columns = header;
        result.tableLine ??= line;
        return;
      }
      const row = tableRow(line, cells, columns);
      if (typeof row === 'string') keep(line, raw, row);
      else result.rows.push(row);
      return;
    }
    if (!result.titled && result.rows.length === 0 && TITLE.test(squeeze(text))) {
      result.titled = true;
      return;
    }
    const kv = keyValue(text);
    const hit = kv ? HEADER_KEYS.find(([re]) => re.test(kv.key)) : undefined;
    if (!kv || !hit) {
      keep(line, raw);
      return;
    }
    const { value } = kv;
    switch (hit[1]) {
      case 'receiptNo':
        if (result.receiptNo !== null || value === '') return keep(line, raw);
        result.receiptNo = squeeze(value);
        return;
      case 'uploadDate':
        if (result.uploadDate !== null || value === '') return keep(line, raw);
        result.uploadDate = value;
        return;
      case 'institution':
        if (result.institution !== null || value === '') return keep(line, raw);
        result.institution = squeeze(value);
        return;
      case 'fileName':
        if (result.fileName !== null || value === '') return keep(line, raw);
        result.fileName = value;
        return;
      case 'checkedAt':
        if (result.checkedAt !== null || value === '') return keep(line, raw);
        result.checkedAt = value;
        return;
      case 'status':
        if (result.statusText !== null || value === '') return keep(line, raw);
        result.statusText = value;
        result.status = statusOf(value);
        return;
      case 'hdata':
      case 'rdata':
      case 'errors': {
        const n = countOf(value);
        if (n === null || result.counts[hit[1]] !== null) return keep(line, raw, n === null ? 'not a number' : undefined);
        result.counts[hit[1]] = n;
        return;
      }
      case 'result': {
        const ok = allCorrectOf(value);
        if (!ok || result.allCorrect) return keep(line, raw);
        result.allCorrect = ok;
        return;
      }
    }
  });
  return result;
}

/** The Chinese name of a field id, or null when 表一 has no such field. */
export function fieldNameOf(field: string | null): string | null {
  return field ? (FIELD_BY_ID.get(field as never)?.zh ?? null) : null;
}
