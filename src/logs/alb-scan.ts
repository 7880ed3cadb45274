/**
 * A quick look at an ALB access-log line, for callers that need a few fields of most lines: the
 * analysis's log pass wants only the time, client, target and elb_status_code of the lines it
 * counts and does not keep (2xx, 3xx, most 4xx). It reads the line in place (no token strings, no
 * record), yet validates every field the full parser (alb.ts) validates, so a line it accepts is a
 * line parseAlbLine accepts, with the same values for these fields. A line it is not sure of (a
 * tab, a backslash, an unterminated quote, any malformed field) is refused: the caller then parses
 * it in full, which gives the record or the error message as ever. (Tested differentially against
 * parseAlbLine over the fixtures, generated and mutated lines; the log fuzz target checks it too.)
 *
 * Field numbers as in alb.ts (0-based here): 1 time, 3 client:port, 4 target:port, 5-7 processing
 * times, 8 elb_status_code, 9 target_status_code, 10-11 bytes, 20 matched_rule_priority,
 * 21 request_creation_time, 26 target_status_code_list; the others are text that cannot be wrong.
 */
import { canonicalIpv4In, parseAddrPortIn, parseIsoSecondsIn, parseUintIn, type AddrPortSpan } from './fields.js';
import { ownString } from './lines.js';
import { ALB_MIN_FIELDS } from './alb.js';
import { ipv4ToString } from '../wire/ipv4.js';

const SPACE = 0x20;
const QUOTE = 0x22;
const DASH = 0x2d;
/**
 * Fields 5-11 as parseElbLine accepts them when unquoted: a processing time is `-` or a decimal
 * (parseDecimal: an optional `-`, digits with at most one `.`, at least one digit; `-1` is one),
 * a status code or byte count `-` or digits (parseUint). Each field's pattern can match a given
 * text in one way only, so a failing match backtracks in linear time whatever the line. Sticky:
 * tried at field 5's start; one native match costs less than seven loops over characters while
 * the scan is still interpreted (the analysis reads most logs before V8 has optimized it).
 */
const DECIMAL = String.raw`(?:-|-?(?:\d+(?:\.\d*)?|\.\d+))`;
const COUNT = String.raw`(?:-|\d+)`;
const NUMBERS = new RegExp(`${DECIMAL} +${DECIMAL} +${DECIMAL} +${COUNT} +${COUNT} +${COUNT} +${COUNT}(?= |$)`, 'y');
/** Fields whose place is kept (through target_status_code_list). */
const SPANS = 27;

/** What a quick scan of one line found; valid until the next scan. */
export class AlbLineFacts {
  /** The line scanned. */
  line = '';
  /** Set by the reader: file name and 1-based line number. */
  file = '';
  lineNo = 0;
  /** `time`, seconds since the epoch. */
  time = 0;
  /** The client address as `line[clientFrom, clientTo)`. */
  clientFrom = 0;
  clientTo = 0;
  clientPort = 0;
  /** The client address as an unsigned 32-bit number when it is a dotted quad written canonically; -1 otherwise. */
  clientV4 = -1;
  /** null for `-`. The same string object while consecutive lines name the same target. */
  targetAddr: string | null = null;
  targetPort: number | null = null;
  /** null for `-`. */
  elbStatusCode: number | null = null;

  /** The client address as a string (cut from the line: copy it before keeping it). */
  get clientAddr(): string {
    // (The native scan gives no line: its clients are all dotted quads, clientV4.)
    if (this.line === '' && this.clientV4 >= 0) return ipv4ToString(this.clientV4);
    return this.line.substring(this.clientFrom, this.clientTo);
  }
}

/** Scans lines of one file (it remembers the last target seen, so a repeated one costs no string). */
export class AlbLineScanner {
  /** Start and end of each of the first SPANS fields. */
  private readonly from = new Int32Array(SPANS);
  private readonly to = new Int32Array(SPANS);
  private readonly ap: AddrPortSpan = { from: 0, to: 0, port: 0 };
  /** The last target:port field parsed (null before the first). */
  private lastTargetField: string | null = null;
  private lastTargetAddr = '';
  private lastTargetPort = 0;
  /** The last client address read, and its clientV4 (a client's address repeats from line to line). */
  private lastClientAddr: string | null = null;
  private lastClientV4 = -1;

  /** Fills `f` and returns true when the line is a valid ALB entry as parseAlbLine sees it; false when unsure. */
  scan(line: string, f: AlbLineFacts): boolean {
    if (line.indexOf('\t') >= 0 || line.indexOf('\\') >= 0) return false;
    const n = this.split(line);
    if (n < ALB_MIN_FIELDS) return false;
    const from = this.from;
    const to = this.to;
    const time = parseIsoSecondsIn(line, from[1]!, to[1]!);
    if (time !== time) return false;
    const ap = this.ap;
    if (!parseAddrPortIn(line, from[3]!, to[3]!, ap)) return false;
    const clientFrom = ap.from;
    const clientTo = ap.to;
    const clientPort = ap.port;
    let targetAddr: string | null = null;
    let targetPort: number | null = null;
    if (!isDash(line, from[4]!, to[4]!)) {
      const a = from[4]!;
      const b = to[4]!;
      const last = this.lastTargetField;
      if (last !== null && last.length === b - a && line.startsWith(last, a)) {
        targetAddr = this.lastTargetAddr;
        targetPort = this.lastTargetPort;
      } else {
        if (!parseAddrPortIn(line, a, b, ap)) return false;
        targetAddr = ownString(line.substring(ap.from, ap.to));
        targetPort = ap.port;
        this.lastTargetField = ownString(line.substring(a, b));
        this.lastTargetAddr = targetAddr;
        this.lastTargetPort = targetPort;
      }
    }
    // Fields 5-11 (three processing times, two status codes, two byte counts) in one native match.
    NUMBERS.lastIndex = from[5]!;
    if (!NUMBERS.test(line) || NUMBERS.lastIndex !== to[11]!) return false;
    const elbStatusCode = isDash(line, from[8]!, to[8]!) ? null : parseUintIn(line, from[8]!, to[8]!);
    if (n > 20 && !isDash(line, from[20]!, to[20]!)) {
      const a = from[20]!;
      const v = to[20]! - a > 1 && line.charCodeAt(a) === DASH ? parseUintIn(line, a + 1, to[20]!) : parseUintIn(line, a, to[20]!);
      if (v !== v) return false;
    }
    if (n > 21 && !isDash(line, from[21]!, to[21]!)) {
      const t = parseIsoSecondsIn(line, from[21]!, to[21]!);
      if (t !== t) return false;
    }
    if (n > 26 && !statusListOk(line, from[26]!, to[26]!)) return false;
    f.line = line;
    f.time = time;
    f.clientFrom = clientFrom;
    f.clientTo = clientTo;
    f.clientPort = clientPort;
    const lastClient = this.lastClientAddr;
    if (lastClient !== null && lastClient.length === clientTo - clientFrom && line.startsWith(lastClient, clientFrom)) f.clientV4 = this.lastClientV4;
    else {
      f.clientV4 = this.lastClientV4 = canonicalIpv4In(line, clientFrom, clientTo);
      this.lastClientAddr = ownString(line.substring(clientFrom, clientTo));
    }
    f.targetAddr = targetAddr;
    f.targetPort = targetPort;
    f.elbStatusCode = elbStatusCode;
    return true;
  }

  /**
   * tokenize.ts's rules for a line without tabs or backslashes: fields separated by spaces; a
   * field starting with `"` runs to the next `"` followed by a space or the end. Returns the
   * number of fields, -1 for an unterminated quote.
   */
  private split(line: string): number {
    const n = line.length;
    const from = this.from;
    const to = this.to;
    let i = 0;
    let count = 0;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === SPACE) {
        i++;
        continue;
      }
      let a: number;
      let b: number;
      if (c === QUOTE) {
        a = i + 1;
        let j = a;
        for (;;) {
          const k = line.indexOf('"', j);
          if (k < 0) return -1;
          if (k + 1 === n || line.charCodeAt(k + 1) === SPACE) {
            b = k;
            break;
          }
          j = k + 1; // a stray quote inside the field
        }
        i = b + 1;
      } else {
        a = i;
        b = line.indexOf(' ', i);
        if (b < 0) b = n;
        i = b;
      }
      if (count < SPANS) {
        from[count] = a;
        to[count] = b;
      }
      count++;
    }
    return count;
  }
}

function isDash(s: string, a: number, b: number): boolean {
  return b - a === 1 && s.charCodeAt(a) === DASH;
}

/** A status code or byte count: `-` or digits. */
function countOk(s: string, a: number, b: number): boolean {
  if (isDash(s, a, b)) return true;
  const v = parseUintIn(s, a, b);
  return v === v;
}

/** target_status_code_list: space-separated entries, each `-` or digits (alb.ts list + statusCode). */
function statusListOk(s: string, a: number, b: number): boolean {
  let i = a;
  while (i < b) {
    if (s.charCodeAt(i) === SPACE) {
      i++;
      continue;
    }
    let e = s.indexOf(' ', i);
    if (e < 0 || e > b) e = b;
    if (!countOk(s, i, e)) return false;
    i = e;
  }
  return true;
}
