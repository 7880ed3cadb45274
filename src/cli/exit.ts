/**
 * The exit codes of every mirrorlens command (documented in docs/cli.md), and the one mapping
 * from an error to its code. Scripts can tell "ran and found something" (1) from "could not run"
 * (2 and up), as with grep and diff.
 */
import { ErrorCode, type MirrorlensError } from '../wire/errors.js';

export const EXIT = {
  /** Ran; nothing at or above --fail-on was found. */
  ok: 0,
  /** Ran; found what --fail-on asks to fail on (analyze, logs), or follow could not decrypt. */
  found: 1,
  /** Bad command line: unknown command or option, bad option value, missing argument. */
  usage: 2,
  /** An input cannot be opened or read: missing, a directory without captures, unreadable. */
  input: 3,
  /** An input is not what it should be: wrong format, empty, cut off before any record, corrupt. */
  data: 4,
  /** An output (--out, --evidence, listen's directory) cannot be written. */
  output: 5,
  /** The environment refused: a port in use, root needed, a tool missing, AWS refused or lacks the resource, a store unusable. */
  environment: 6,
  /** A bug in mirrorlens (MIRRORLENS_DEBUG=1 shows the stack trace). */
  internal: 70,
  /** Interrupted by SIGINT (128 + 2). */
  interrupted: 130,
} as const;

/** The exit code for a MirrorlensError. */
export function exitCodeFor(e: MirrorlensError): number {
  switch (e.code) {
    case ErrorCode.Usage:
      return EXIT.usage;
    case ErrorCode.FileOpen:
      return EXIT.input;
    case ErrorCode.NotACapture:
    case ErrorCode.CaptureCorrupt:
    case ErrorCode.KeylogParse:
    case ErrorCode.LogParse:
    case ErrorCode.LogFormat:
      return EXIT.data;
    case ErrorCode.FilterParse:
      // A filter file with a mistake is bad input; a filter expression on the command line is usage.
      return e.location.file !== undefined ? EXIT.data : EXIT.usage;
    case ErrorCode.CaptureWrite:
    case ErrorCode.OutputWrite:
      return EXIT.output;
    case ErrorCode.Listen:
    case ErrorCode.Lab:
    case ErrorCode.Aws:
    case ErrorCode.Store:
      return EXIT.environment;
    case ErrorCode.Internal:
      return EXIT.internal;
    default: {
      // Every code is mapped above: a new ErrorCode without a case here fails the type check.
      const unmapped: never = e.code;
      return unmapped;
    }
  }
}
