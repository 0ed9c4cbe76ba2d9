/**
 * Typed, coded errors. The library throws these; only the CLI entry turns them into exit codes.
 */

/** Exit codes shared by every command (documented in README.md). */
export const ExitCode = {
  /** Everything done; data valid / accepted (檢核正確). */
  OK: 0,
  /** Data invalid locally, or rejected by the portal (檢核錯誤). */
  INVALID: 1,
  /** Usage or configuration error: bad flag, missing file, unreadable archive, bad config. */
  USAGE: 2,
  /** Still pending (檢核中) when the wait timed out or the deadline passed; state is journaled. */
  PENDING: 3,
  /** Authentication or card problem: module, token, PIN, certificate, sign-in refused. */
  AUTH: 4,
  /** Portal or network failure after retries. */
  PORTAL: 5,
  /** Nothing to do: no input rows, no new files. */
  NOTHING_TO_DO: 6,
  /** A defect in labup itself. */
  INTERNAL: 10,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = 'usage' | 'config' | 'data' | 'auth' | 'portal' | 'pending' | 'nothing' | 'internal';

const kindExit: Record<ErrorKind, ExitCodeValue> = {
  usage: ExitCode.USAGE,
  config: ExitCode.USAGE,
  data: ExitCode.INVALID,
  auth: ExitCode.AUTH,
  portal: ExitCode.PORTAL,
  pending: ExitCode.PENDING,
  nothing: ExitCode.NOTHING_TO_DO,
  internal: ExitCode.INTERNAL,
};

export interface LabupErrorOptions {
  /** What the user should do about it. */
  hint?: string;
  /** Structured context (never personal data unmasked). */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Overrides the exit code implied by the kind. */
  exitCode?: ExitCodeValue;
}

export class LabupError extends Error {
  /** Stable, documented code such as `FILE_NOT_FOUND`. */
  readonly code: string;
  readonly kind: ErrorKind;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: LabupErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabupError';
    this.kind = kind;
    this.code = code;
    this.exitCode = options.exitCode ?? kindExit[kind];
    this.hint = options.hint;
    this.details = options.details;
  }

  /** True when the user (input, flags, environment) caused it rather than a labup defect. */
  get userCaused(): boolean {
    return this.kind !== 'internal';
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      kind: this.kind,
      exitCode: this.exitCode,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export const usageError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('usage', code, message, options);
export const configError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('config', code, message, options);
export const dataError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('data', code, message, options);
export const authError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('auth', code, message, options);
export const portalError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('portal', code, message, options);
export const internalError = (code: string, message: string, options?: LabupErrorOptions) =>
  new LabupError('internal', code, message, options);

export function isLabupError(err: unknown): err is LabupError {
  return err instanceof LabupError;
}

/** Maps Node file-system errors to coded usage errors naming the file. */
export function fileError(err: unknown, file: string, action = 'read'): LabupError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return usageError('FILE_NOT_FOUND', `${file}: no such file`, { hint: 'Check the path and try again.', cause: err });
    case 'EACCES':
    case 'EPERM':
      return usageError('FILE_PERMISSION', `${file}: permission denied (cannot ${action})`, {
        hint: 'Check the file permissions or run as a user that can access it.',
        cause: err,
      });
    case 'EISDIR':
      return usageError('FILE_IS_DIRECTORY', `${file}: is a directory, expected a file`, { cause: err });
    case 'ENOSPC':
      return usageError('DISK_FULL', `${file}: no space left on device`, { hint: 'Free disk space and run again.', cause: err });
    default:
      return usageError('FILE_ERROR', `${file}: cannot ${action} (${e?.code ?? String(err)})`, { cause: err });
  }
}
