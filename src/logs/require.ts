/**
 * The check every reader of named log files makes after reading them.
 */
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import type { LogsSummary } from './read.js';

/**
 * A log file that gave no record at all is not the log it was given as (a capture, another
 * format) or is empty: one error naming it, rather than a warning for each of its lines and a
 * report that says nothing was wrong.
 */
export function requireRecords(s: LogsSummary, what: string): void {
  for (const f of s.files) {
    if (f.records > 0) continue;
    if (f.unreadable) throw new MirrorlensError(ErrorCode.FileOpen, f.error ?? 'cannot read', { file: f.file });
    if (f.error !== null) throw new MirrorlensError(ErrorCode.LogFormat, `not ${what}: ${f.error}`, { file: f.file });
    if (f.badLines > 0) throw new MirrorlensError(ErrorCode.LogFormat, `not ${what}: no line of it is one (the format is detected from each file's lines)`, { file: f.file });
    if (f.lines === 0 && s.files.length === 1) throw new MirrorlensError(ErrorCode.LogFormat, `empty file: not ${what}`, { file: f.file });
  }
}

