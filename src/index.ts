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
export { createZip } from './archive/encrypted-zip.js';
export type { CreateZipOptions, ZipEncryption, ZipInputEntry } from './archive/encrypted-zip.js';
export {
  openArchive,
  checkArchive,
  checkArchivePassword,
  extractArchive,
  readArchiveEntry,
  archiveEntryChunks,
  DEFAULT_LIMITS as DEFAULT_ARCHIVE_LIMITS,
} from './archive/extract.js';
export type { ArchiveEntry, ArchiveListing, ArchiveLimits, ByteSink, Encryption, ExtractOptions, ExtractResult, ExtractedFile, ReadEntryOptions } from './archive/extract.js';
export { decryptArchive } from './archive/decrypt.js';
export type { DecryptOptions, DecryptResult } from './archive/decrypt.js';
export { downloadPassword, normalizeUserId, userIdAsker } from './archive/user-id.js';
export type { UserIdAnswer, UserIdSourceOptions } from './archive/user-id.js';
export { openCard } from './card/open.js';
export type { OpenCardOptions } from './card/open.js';
export type { Card, CardCertificate, CardType, Signature, SignatureAlgorithm } from './card/card.js';
export { parseCertificate, verifySignature, validity, cardTypeOf, HCA_OID } from './card/certificate.js';
export { testCard } from './card/card-test.js';
export type { CardTestOptions, CardTestResult } from './card/card-test.js';
export { listCards } from './card/card-list.js';
export type { ListCardsOptions, CardListResult, SlotListing, TokenListing, CertificateListing, ModuleListing, SoftwareListing } from './card/card-list.js';
export type { CertificateSummary, CardWarning } from './card/summary.js';
export { parsePkcs11Uri, formatPkcs11Uri } from './card/pkcs11-uri.js';
export type { Pkcs11Uri } from './card/pkcs11-uri.js';
export { openPkcs11Card, Pkcs11Card } from './card/pkcs11.js';
export { resolveModulePath, defaultModuleCandidates, HCA_MODULE_FILE } from './card/pkcs11-module.js';
export type { Pkcs11Api, ModuleLoader } from './card/pkcs11-module.js';
export { provisionToken, storeCertificate } from './card/pkcs11-provision.js';
export type { ProvisionTokenOptions, ProvisionTokenResult } from './card/pkcs11-provision.js';
export { createCa, issueCertificate, issueSoftwareCard, toPkcs12 } from './card/sandbox-ca.js';
export type { CaMaterial } from './card/sandbox-ca.js';
export { openPkcs12, openPem, SoftwareCard } from './card/software.js';
// The portal: the embedded sandbox, the transport client, the journal.
export { startSandbox, passwordOf, DEFAULT_PROCESSING_DELAY_MS } from './sandbox/server.js';
export type { StartSandboxOptions, RunningSandbox, SandboxAdmin, IssueCardOptions } from './sandbox/server.js';
export { initSandbox, readDemo, softwareCardProvisioner } from './sandbox/setup.js';
export type { SandboxDemo, CardProvisioner, IssueCardRequest, InitSandboxOptions, InitSandboxResult } from './sandbox/setup.js';
export { sandboxLayout, checkFileName, JOB_CODE } from './sandbox/layout.js';
export { faultOnce, faultsFromSpec, parseFaultSpec, parseFaultRule, FAULT_TARGETS, FAULT_ACTIONS } from './sandbox/faults.js';
export type { FaultHook, FaultPoint, FaultAction, FaultRule, FaultTarget, FaultActionName, SpecHook } from './sandbox/faults.js';
export { checkFileText, checkFileBytes, CHECK_FILE_COLUMNS, CHECK_FILE_TITLE } from './sandbox/check-file.js';
export type { CheckFileInput, CheckRow } from './sandbox/check-file.js';
export { STATUS_TEXT } from './transport/portal-client.js';
export type {
  PortalClient,
  PortalInfo,
  PortalSession,
  SignInCredentials,
  Submission,
  SubmissionStatus,
  SubmissionQuery,
  UploadRequest,
  UploadResult,
  PortalFile,
  FileQuery,
  DownloadOptions,
  DownloadedFile,
  Page,
} from './transport/portal-client.js';
export { HttpPortalClient } from './transport/http-client.js';
export type { HttpPortalClientOptions } from './transport/http-client.js';
export { connectPortal, runningClock, defaultSandboxDir } from './transport/connect.js';
export type { ConnectOptions, PortalConnection } from './transport/connect.js';
export { idempotencyKey, signInPayload, deliveryZipName, API_PREFIX, PROTOCOL_VERSION } from './transport/protocol.js';
export { uploadZip, sha256File } from './transport/upload.js';
export type { UploadZipOptions, UploadOutcome, UploadSummary, UploadRefused } from './transport/upload.js';
export { checkStatus } from './transport/status.js';
export type { StatusOptions, StatusReport, ReceiptStatus } from './transport/status.js';
export { downloadFiles, writeFileAtomic } from './transport/download.js';
export type { DownloadFilesOptions, DownloadReport, DownloadedEntry, DownloadFailure } from './transport/download.js';
export { openStore, STORE_MIGRATIONS } from './store/store.js';
export type { Store, OpenStoreOptions } from './store/store.js';
export { migrate, schemaVersion } from './store/migrate.js';
export type { Migration } from './store/migrate.js';
export {
  journalBegin,
  journalAttempt,
  journalMarkSent,
  journalMarkFailed,
  journalUpdateStatus,
  findJournalEntry,
  findJournalByReceipt,
  listJournal,
  recordDownload,
  findDownload,
} from './store/journal.js';
export type { JournalEntry, JournalState, JournalQuery, BeginSubmission, DownloadRecord } from './store/journal.js';
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
// explain: the portal's check file, explained and traced to the records to fix.
export { explain, sameValue } from './explain/explain.js';
export type { ExplainOptions, ExplainResult, ExplainGroup, ExplainedError, ExplainStatus } from './explain/explain.js';
export { parseCheckFile, decodeCheckFile } from './explain/check-file.js';
export type { CheckFile, CheckRow as CheckFileRow, CheckStatus, CheckFileEncoding, UnparsedLine } from './explain/check-file.js';
export { explainCode, findingForRow, fieldRule } from './explain/codes.js';
export type { CodeExplanation } from './explain/codes.js';
export { readCheckInput, MAX_CHECK_FILE_BYTES } from './explain/read-check.js';
export type { CheckInput, CheckArchiveInfo, ReadCheckOptions } from './explain/read-check.js';
export { openSource } from './explain/open-source.js';
export type { SourceReadOptions, SourceFormatOption } from './explain/open-source.js';
export type { SourceIndex, SourceHit, SourcePlace, SourceRow, SourceFormat } from './explain/source.js';
export { formatPlace } from './explain/place.js';
export { renderExplain, plainStyle } from './explain/render.js';
export type { RenderOptions as ExplainRenderOptions, Style as ExplainStyle } from './explain/render.js';
export { worklistCsv, writeWorklist, WORKLIST_COLUMNS } from './explain/worklist.js';
export { parseDateRange, parseDateArg, parsePageRequest, paginate, sortBy, describePage, formatRocInstant, DEFAULT_PAGE_SIZE, MAX_PORTAL_PAGE_SIZE } from './query.js';
export type { PageRequest, DateRange } from './query.js';
export { RESEND_STATUS_TEXT, isSafeAttachmentName } from './transport/portal-manual.js';
export type { ResendRequest, ResendFiled, ResendQuery, ResendStatus, Notice, NoticeAttachment, NoticeQuery, ContactWindow, ContactEntry, PortalManualApi } from './transport/portal-manual.js';
export { requestResends } from './transport/resend.js';
export type { RequestResendOptions, ResendReport, ResendFailure } from './transport/resend.js';
export { listNotices, fetchAttachments } from './transport/notices.js';
export type { ListNoticesOptions, NoticesReport, FetchAttachmentsOptions, AttachmentsReport, FetchedAttachment, AttachmentFailure } from './transport/notices.js';
export { contactWindow } from './transport/contact.js';
export type { ListingPaging } from './transport/download.js';
// daily: the unattended nightly job, its runs, lock, preflight and history.
export { runDaily, planUploadDate } from './daily/daily.js';
export type { DailyOptions, DailyResult, DailyReceipt, DailyReceiptFile, DailyOutcome, DailyPackOptions, DailyExplainer, ExplainRequest, ExplainAnswer } from './daily/daily.js';
export { explainCheckFile, errorsOfExplanation } from './daily/explain-step.js';
export { fromPackFinding, fromFinding, groupErrors, formatDailySource } from './daily/daily-errors.js';
export type { DailyError, DailyErrorGroup, DailySource } from './daily/daily-errors.js';
export { acquireLock, inspectLock, LOCK_FILE } from './daily/lock.js';
export type { LockInfo, LockInspection, HeldLock, LockOptions } from './daily/lock.js';
export { runPreflight, DAILY_CHECKS } from './daily/preflight.js';
export type { PreflightCheck, PreflightOutcome, PreflightResult, DailyPreflightContext, CheckStatus as PreflightStatus } from './daily/preflight.js';
export { dailySettings } from './daily/settings.js';
export type { DailySettings } from './daily/settings.js';
export { hashInputs, inputsKey, runKey } from './daily/run-key.js';
export type { ShapingOptions } from './daily/run-key.js';
export { RUN_STEPS, createRun, getRun, findRunByKey, findRunsByInputs, listRuns, updateRun, recordStep, restartRun } from './daily/run-store.js';
export type { RunRecord, RunStep, RunState, RunOutcome, RunInput, RunFile, RunFailure, RunStepRecord, RunQuery } from './daily/run-store.js';
export { summaryLines, summaryLine } from './daily/summary.js';
export { history, HISTORY_DEFAULT_DAYS, HISTORY_SORT_FIELDS } from './daily/history.js';
export type { HistoryItem, HistoryOptions, HistoryResult } from './daily/history.js';
// Single-record entry (單筆登錄與查詢): drafts, the form, uploads of drafts.
export { EntrySession } from './entry/interactive.js';
export type { EntrySessionOptions, EntryScreen, EntryStart } from './entry/interactive.js';
export { addDrafts, editDraft, saveRecord, viewDraft, maskedRecord, orderObject } from './entry/entry.js';
export type { AddOptions, AddResult, DraftView, Saved, SaveOptions } from './entry/entry.js';
export { createDraft, getDraft, findDraft, updateDraft, removeDrafts, listDrafts, isEditable, DRAFT_STATUSES, DRAFT_STATUS_TEXT } from './entry/drafts.js';
export type { Draft, DraftStatus, DraftFilter, EntryUpload } from './entry/drafts.js';
export { checkEntry, completeRecord, normaliseAnswer, canonicalRecord } from './entry/record.js';
export type { RecordCheck } from './entry/record.js';
export { headerQuestion, itemQuestion, checkAnswer, applyAnswer, removeItems, VISIT_FIELDS, DERIVED_FIELDS } from './entry/form.js';
export type { FormQuestion, FormContext, AnswerCheck, Requiredness } from './entry/form.js';
export { parseSet, applyEdits } from './entry/edit.js';
export type { SetSpec } from './entry/edit.js';
export { readJsonOrders } from './entry/json-input.js';
export { queryDrafts, summarise, LISTING_HEADINGS } from './entry/listing.js';
export type { DraftQuery, DraftQueryResult, DraftSummary } from './entry/listing.js';
export { uploadDrafts, uploadCandidates, entryOutbox, UPLOAD_MESSAGES } from './entry/upload.js';
export type { UploadDraftsOptions, EntryUploadOutcome } from './entry/upload.js';
export { refreshDrafts } from './entry/refresh.js';
export type { RefreshReport } from './entry/refresh.js';
// doctor: the checks an unattended run depends on (shared with the daily preflight); adoption of
// what the portal received after a lost answer; the proxy route.
export { runDoctor, doctorChecks } from './doctor/doctor.js';
export type { DoctorOptions, DoctorResult } from './doctor/doctor.js';
export { CHECK, runChecks, CLOCK_SKEW_WARN_MS } from './doctor/checks.js';
export type { Check, CheckAnswer, CheckContext, CheckOutcome, ChecksResult, RunChecksOptions } from './doctor/checks.js';
export { inspectJournal } from './doctor/journal-check.js';
export type { JournalInspection } from './doctor/journal-check.js';
export { findReceived } from './transport/upload.js';
export type { UploadDryRun } from './transport/upload.js';
export type { ConfirmedBy } from './store/journal.js';
export { outcomeUnknown } from './transport/retry.js';
export { proxyRoute, describeRoute, maskProxyUrl } from './transport/proxy.js';
export type { ProxyRoute, ProxySettings } from './transport/proxy.js';
export { readUserId } from './transport/connect.js';
