/**
 * labup — a library and CLI for the Taiwan NHI 檢驗(查)結果每日上傳作業.
 *
 * @example
 * import { validate } from 'labup';
 * const result = await validate(['TOTFA.zip'], { uploadDate: '114/11/25' });
 */
export { validate, validateFile, StreamingValidator, resolveUploadDate, isSchemaDetectable } from './validate.js';
export type { ValidateOptions, ValidationResult, FileReport } from './validate.js';
export { LabupError, ExitCode } from './errors.js';
export type { ErrorKind, ExitCodeValue } from './errors.js';
export { FIELDS, FIELD_BY_ID, FORMAT_EFFECTIVE, CORRECTION_KEY } from './format/fields.js';
export type { FieldDef, FieldId, HFieldId, RFieldId } from './format/fields.js';
export { CODE_LISTS } from './format/codes.js';
export { FINDINGS, makeFinding } from './format/findings.js';
export type { Finding, FindingCode, Severity } from './format/findings.js';
export { lookupOrder } from './format/order-codes.js';
export { checkPersonId, isValidPersonId, maskId, maskIdsInText } from './format/national-id.js';
export { parseRocDate, parseRocDateTime, formatRocDate, formatRocDateTime, rocTimestamp, parseUserDate } from './format/roc.js';
export { buildXsd } from './format/xsd.js';
export { DailyXmlReader } from './xml/daily-reader.js';
export type { HdataRecord, RdataRecord, FieldValue } from './xml/daily-reader.js';
export { DailyXmlWriter, toFullWidth } from './xml/builder.js';
export type { DailyRecord } from './xml/builder.js';
export { decodeCp950, encodeCp950, canEncodeCp950 } from './encoding/cp950.js';
export { systemClock, fixedClock } from './clock.js';
export type { Clock } from './clock.js';
export type { IoHost, IoMessage } from './io-host.js';
export { pack, resolveUploadTime } from './pack/pack.js';
export type { PackOptions, PackResult, PackCounts, PackInput } from './pack/pack.js';
export { formatSource, PACK_FINDING_CODES } from './pack/findings.js';
export type { PackFinding } from './pack/findings.js';
export { ZipWriter } from './archive/zip-writer.js';
export type { ZipTime, ZipWriterOptions, ZipEntryWriter, EntryInfo } from './archive/zip-writer.js';
export { CsvParser } from './input/csv-parser.js';
export { loadColumnMap, parseColumnMap, gregorianToRoc } from './input/column-map.js';
export type { ColumnMap, ColumnTarget } from './input/column-map.js';
export type { SourceLocation, InputInfo } from './input/types.js';
