/**
 * The one coded error callers handle (undici-style `code`). The CLI turns a MirrorlensError into a
 * single line on stderr and a non-zero exit, never a stack trace.
 *
 * Codes are stable strings `ML_<AREA>_<WHAT>`; add new ones to ErrorCode below.
 */
export const ErrorCode = {
  Usage: 'ML_USAGE',
  FileOpen: 'ML_FILE_OPEN',
  NotACapture: 'ML_CAPTURE_FORMAT',
  CaptureCorrupt: 'ML_CAPTURE_CORRUPT',
  CaptureWrite: 'ML_CAPTURE_WRITE',
  /** A report, evidence or other output file or directory cannot be written. */
  OutputWrite: 'ML_OUTPUT_WRITE',
  KeylogParse: 'ML_KEYLOG_PARSE',
  LogParse: 'ML_LOG_PARSE',
  LogFormat: 'ML_LOG_FORMAT',
  FilterParse: 'ML_FILTER_PARSE',
  Listen: 'ML_LISTEN',
  Lab: 'ML_LAB',
  Store: 'ML_STORE',
  Aws: 'ML_AWS',
  Internal: 'ML_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorLocation {
  /** File the problem is in, as the user named it. */
  file?: string;
  /** 1-based line number for text inputs. */
  line?: number;
  /** 1-based column for text inputs. */
  column?: number;
  /** Byte offset for binary inputs. */
  byteOffset?: number;
}

export class MirrorlensError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MirrorlensError';
    this.code = code;
    this.location = location;
  }

  /** One line for humans: "file:line: message" or "file (byte 1234): message". */
  describe(): string {
    const l = this.location;
    let where = l.file ?? '';
    if (l.line !== undefined) where += `${where ? ':' : 'line '}${l.line}${l.column !== undefined ? `:${l.column}` : ''}`;
    else if (l.byteOffset !== undefined) where += `${where ? ' ' : ''}(byte offset ${l.byteOffset})`;
    return where ? `${where}: ${this.message}` : this.message;
  }
}

export function isMirrorlensError(e: unknown): e is MirrorlensError {
  return e instanceof MirrorlensError;
}
