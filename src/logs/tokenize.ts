/**
 * One-pass tokenizer for the space-delimited, double-quote-aware lines every AWS load-balancer log
 * uses (ALB/NLB/CLB access logs, ALB connection logs) and the plain space-delimited VPC flow logs.
 *
 *   http 2018-07-02T22:23:00.186641Z app/lb/50dc "GET http://x/ HTTP/1.1" "curl/7.46.0" - ...
 *   ^tok ^tok                        ^tok        ^one token (quotes removed)  ^one token
 *
 * Rules (each is a test in tokenize.test.ts):
 * - Tokens are separated by one or more spaces (the AWS flow-log examples contain a doubled space;
 *   a tab is a separator too).
 * - A token that starts with `"` runs to the next `"` that is followed by a separator or the end of
 *   the line. A `"` followed by anything else is kept as a literal character (lenient: a user agent
 *   with a stray quote does not split the rest of the line). `\"` is an escaped quote and `\\` an
 *   escaped backslash; both are unescaped. Other backslashes are kept as they are.
 * - An unterminated quote is an error (the line is reported, never guessed at).
 *
 * Scanning uses `indexOf` (native) to jump between separators and quotes, so each character is
 * looked at once and there is no regular expression to backtrack. The output array is reused by the
 * caller: no allocation besides the token strings themselves.
 */

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface TokenizeResult {
  /** Number of tokens written to `out[0..count)`; -1 when the line is malformed (see `error`). */
  count: number;
  /** Why the line could not be tokenized (only when count is -1). */
  error: string;
  /** 1-based column of the problem (only when count is -1). */
  column: number;
}

/**
 * Splits `line` into `out` (reused; its length is not trimmed). Bit i of `quotedMask` (a reused
 * Uint8Array with one byte per token) is set when token i was quoted.
 */
export function tokenize(line: string, out: string[], quoted: Uint8Array | null, result: TokenizeResult): void {
  const n = line.length;
  let i = 0;
  let count = 0;
  // Tabs are rare: find the next one lazily so that lines without any cost one scan.
  let nextTab = line.indexOf('\t');
  if (nextTab < 0) nextTab = n;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    if (c === QUOTE) {
      const start = i + 1;
      let j = start;
      let escaped = false;
      let end = -1;
      while (true) {
        const k = line.indexOf('"', j);
        if (k < 0) break;
        if (line.charCodeAt(k - 1) === BACKSLASH && k - 1 >= start) {
          // Count the run of backslashes before the quote: odd means the quote is escaped.
          let b = k - 1;
          while (b >= start && line.charCodeAt(b) === BACKSLASH) b--;
          if ((k - 1 - b) % 2 === 1) {
            escaped = true;
            j = k + 1;
            continue;
          }
          escaped = true;
        }
        const after = k + 1 < n ? line.charCodeAt(k + 1) : SPACE;
        if (after !== SPACE && after !== TAB) {
          j = k + 1; // a stray quote inside the field
          continue;
        }
        end = k;
        break;
      }
      if (end < 0) {
        result.count = -1;
        result.error = `unterminated quoted field (opening quote at column ${i + 1})`;
        result.column = i + 1;
        return;
      }
      let tok = line.substring(start, end);
      if (escaped || tok.indexOf('\\') >= 0) tok = unescapeQuoted(tok);
      if (quoted !== null && count < quoted.length) quoted[count] = 1;
      out[count++] = tok;
      i = end + 1;
      continue;
    }
    let k = line.indexOf(' ', i);
    if (k < 0) k = n;
    if (nextTab < i) {
      nextTab = line.indexOf('\t', i);
      if (nextTab < 0) nextTab = n;
    }
    if (nextTab < k) k = nextTab;
    if (quoted !== null && count < quoted.length) quoted[count] = 0;
    out[count++] = line.substring(i, k);
    i = k;
  }
  result.count = count;
  result.error = '';
  result.column = 0;
}

/** `\"` → `"`, `\\` → `\`; any other backslash is kept. */
export function unescapeQuoted(s: string): string {
  let out = '';
  let from = 0;
  let i = s.indexOf('\\');
  while (i >= 0 && i + 1 < s.length) {
    const next = s.charCodeAt(i + 1);
    if (next === QUOTE || next === BACKSLASH) {
      out += s.substring(from, i);
      from = i + 1; // keep the escaped character
      i = s.indexOf('\\', i + 2);
    } else {
      i = s.indexOf('\\', i + 1);
    }
  }
  return from === 0 ? s : out + s.substring(from);
}
