/**
 * The line check of a key log in C (native/analyze/keylog.c, in the mirrorlens_analyze addon):
 * which lines are well-formed (keylog-secrets.ts wellFormedLine) and where the others are, so
 * that KeyLog hands the well-formed lines to its PendingLines in bulk and reads only the others.
 * The JavaScript (LineWalk + wellFormedLine in KeyLog.readText) stays the reference and runs when
 * the addon is missing or stale, MIRRORLENS_NO_NATIVE=1, or someone listens for keys (lines are
 * then decoded as they are read): same issues, same lines, same secrets.
 *
 * A check is an Int32Array (native/analyze/keylog.h):
 *   [1] well-formed lines  [2] other lines  [3] well-formed characters  [4] lines walked;
 *   then the (start, end) pairs of the well-formed lines from LINES_HDR, and the other lines'
 *   records (start, end, line, well-formed lines before it, their characters) from the end, backwards.
 */
import { loadAnalyzeNative } from '../capture/native-analyze.js';

export const LINES_HDR = 5;
export const LINES_REC = 5;
export const LINES_WELL_FORMED = 1;
export const LINES_OTHER = 2;
export const LINES_CHARS = 3;
export const LINES_WALKED = 4;

type KeyLogLinesFn = (text: string, from: number, oneByte: boolean, out: Int32Array) => Int32Array;

let fn: KeyLogLinesFn | null | undefined;

/** The array each check fills when the lines fit (reused: read before the next check): 8 192 well-formed lines and 1 024 others. */
let scratch: Int32Array | null = null;

/**
 * The lines of text[from...] checked in C, or null without the addon. `oneByte`: the caller knows
 * the text has no character above U+00FF (read as latin1, or ASCII): it is copied out faster.
 * The result is a reused array (or `out`, when given and big enough), or a new one when the
 * lines do not fit.
 */
export function nativeKeyLogLines(text: string, from: number, oneByte: boolean, out?: Int32Array): Int32Array | null {
  if (fn === undefined) {
    const f = loadAnalyzeNative().addon?.keyLogLines;
    fn = typeof f === 'function' ? (f as KeyLogLinesFn) : null;
  }
  if (fn === null) return null;
  return fn(text, from, oneByte, out ?? (scratch ??= new Int32Array(LINES_HDR + 2 * 8192 + LINES_REC * 1024)));
}
