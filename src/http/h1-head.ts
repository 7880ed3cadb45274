/**
 * One HTTP/1 head as Http1Parser hands it to `onHeadersComplete`, and the fast path that fills it
 * straight from the bytes.
 *
 * Start-line values and framing are plain properties; the field lines are kept as offsets into the
 * head's bytes, and strings are made only for what the caller reads. A request head carries about
 * ten fields and an analysis keeps three to five of them, so not making a string per line, name
 * and value (and not splitting the head into lines first) is most of the parser's speed: see
 * docs/http.md, "Performance".
 *
 * `readWellFormedHead` accepts only the common, strictly well-formed head (CRLF line ends, single
 * spaces in the start line, `name: value` fields without control bytes). Anything else makes it
 * return false before any event was raised, and the parser takes its general path (strings and
 * regular expressions), which names every leniency and error. The fast path therefore never has to
 * decide an anomaly; it only has to agree with the general path on what it accepts, which the spec
 * tests (every message at every split) and the analyze benchmark's identical-report check cover.
 */

export type BodyKind = 'none' | 'length' | 'chunked' | 'until-close';

export interface H1Head {
  /** Request method ('' for responses). */
  readonly method: string;
  /** Request target ('' for responses). */
  readonly target: string;
  /** Response status (0 for requests). */
  readonly status: number;
  readonly reason: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** Connection: close (or HTTP/1.0 without keep-alive). */
  readonly close: boolean;
  /** Connection: upgrade together with an Upgrade field. */
  readonly upgrade: string | null;
  readonly bodyKind: BodyKind;
  /** Declared Content-Length, or -1. */
  readonly contentLength: number;
  /** Bytes of the head: start line, fields and the empty line. */
  readonly headBytes: number;
  /** Number of field lines (an obs-folded line counts with the field it continues). */
  readonly fieldCount: number;
  /** Length of field `i`'s name (to pick candidates before comparing). */
  fieldNameLength(i: number): number;
  /** Name of field `i` as sent (latin1). */
  fieldName(i: number): string;
  /** Value of field `i`, OWS trimmed (latin1). */
  fieldValue(i: number): string;
  /** Whether field `i`'s name is `lowerName` (lower-case ASCII) in any case, without making a string. */
  fieldNameIs(i: number, lowerName: string): boolean;
  /** Whether field `i`'s value is exactly `value` (latin1), without making a string. */
  fieldValueEquals(i: number, value: string): boolean;
  /** All field lines as [name, value, name, value, ...] (made on each call). */
  readonly fields: string[];
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** RFC 9110 tchar. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Bytes a request target may not contain: what `\s` matches in a latin1 string (TAB..CR, SP, NBSP). */
const NOT_IN_TARGET = new Uint8Array(256);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]) NOT_IN_TARGET[c] = 1;

/** What a byte is inside a field value: text, optional whitespace, or anything else (CR, controls). */
const VALUE_TEXT = 0;
const VALUE_OWS = 1;
const VALUE_OTHER = 2;
const VALUE_BYTE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) VALUE_BYTE[c] = VALUE_OTHER;
VALUE_BYTE[0x7f] = VALUE_OTHER;
VALUE_BYTE[SP] = VALUE_OWS;
VALUE_BYTE[HT] = VALUE_OWS;

/** "HTTP/" */
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];

/** Methods and reason phrases seen on nearly every message: shared strings instead of new ones. */
const COMMON_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];
const COMMON_REASONS = [
  'OK', 'Created', 'Accepted', 'No Content', 'Partial Content', 'Moved Permanently', 'Found', 'See Other',
  'Not Modified', 'Temporary Redirect', 'Permanent Redirect', 'Bad Request', 'Unauthorized', 'Forbidden',
  'Not Found', 'Method Not Allowed', 'Request Timeout', 'Conflict', 'Gone', 'Payload Too Large', 'Too Many Requests',
  'Internal Server Error', 'Not Implemented', 'Bad Gateway', 'Service Unavailable', 'Gateway Timeout',
  'Continue', 'Switching Protocols', 'Early Hints',
];

/** Offsets per field in `H1HeadView.offsets`: name start and end, value start and end. */
const STRIDE = 4;
const EMPTY = new Uint8Array(0);

/** Whether src[from, to) equals `text` (latin1) exactly. */
function bytesEqual(src: Uint8Array, from: number, to: number, text: string): boolean {
  if (to - from !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (src[from + k] !== text.charCodeAt(k)) return false;
  return true;
}

/**
 * Whether src[from, to) equals `lower` ignoring ASCII case. `lower` must be lower-case letters,
 * digits and '-': then `byte | 0x20` is exact for any byte a field name (tchar) can hold.
 */
function bytesEqualIgnoringCase(src: Uint8Array, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) if ((src[from + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/** A shared string from `table` equal to src[from, to), or null. */
function common(table: readonly string[], src: Uint8Array, from: number, to: number): string | null {
  for (const s of table) if (bytesEqual(src, from, to, s)) return s;
  return null;
}

/** The parser's reusable head (one per parser): valid only during `onHeadersComplete`. */
export class H1HeadView implements H1Head {
  method = '';
  target = '';
  status = 0;
  reason = '';
  versionMajor = 1;
  versionMinor = 1;
  close = false;
  upgrade: string | null = null;
  bodyKind: BodyKind = 'none';
  contentLength = -1;
  headBytes = 0;
  fieldCount = 0;
  /** The head's bytes (the parser's buffer, or the caller's chunk when the head arrived whole). */
  private src: Uint8Array = EMPTY;
  private srcFrom = 0;
  private srcTo = 0;
  /** src[srcFrom, srcTo) decoded as latin1, made when the first string is asked for. */
  private text: string | null = null;
  private offsets = new Int32Array(32 * STRIDE);
  /** Fields as [name, value, ...] when the head took the general (string) path. */
  private strings: string[] | null = null;
  /** Where the fast path found the start line's parts (strings made once the head is complete). */
  private methodTo = 0;
  private targetFrom = 0;
  private targetTo = 0;
  private reasonFrom = 0;
  private reasonTo = 0;

  /** Back to an empty head, holding no reference to message bytes. */
  reset(): void {
    this.method = '';
    this.target = '';
    this.status = 0;
    this.reason = '';
    this.versionMajor = 1;
    this.versionMinor = 1;
    this.close = false;
    this.upgrade = null;
    this.bodyKind = 'none';
    this.contentLength = -1;
    this.headBytes = 0;
    this.fieldCount = 0;
    this.src = EMPTY;
    this.srcFrom = 0;
    this.srcTo = 0;
    this.text = null;
    this.strings = null;
  }

  /** Fields parsed by the general path. */
  useStrings(fields: string[]): void {
    this.strings = fields;
    this.fieldCount = fields.length / 2;
  }

  fieldName(i: number): string {
    if (this.strings !== null) return this.strings[2 * i]!;
    const o = i * STRIDE;
    return this.slice(this.offsets[o]!, this.offsets[o + 1]!);
  }

  fieldValue(i: number): string {
    if (this.strings !== null) return this.strings[2 * i + 1]!;
    const o = i * STRIDE;
    return this.slice(this.offsets[o + 2]!, this.offsets[o + 3]!);
  }

  fieldNameLength(i: number): number {
    if (this.strings !== null) return this.strings[2 * i]!.length;
    const o = i * STRIDE;
    return this.offsets[o + 1]! - this.offsets[o]!;
  }

  fieldNameIs(i: number, lowerName: string): boolean {
    if (this.strings !== null) return this.strings[2 * i]!.toLowerCase() === lowerName;
    const o = i * STRIDE;
    return bytesEqualIgnoringCase(this.src, this.offsets[o]!, this.offsets[o + 1]!, lowerName);
  }

  fieldValueEquals(i: number, value: string): boolean {
    if (this.strings !== null) return this.strings[2 * i + 1] === value;
    const o = i * STRIDE;
    return bytesEqual(this.src, this.offsets[o + 2]!, this.offsets[o + 3]!, value);
  }

  /** Whether field `i`'s value is `lower` (lower-case letters and '-') in any case. */
  fieldValueIs(i: number, lower: string): boolean {
    if (this.strings !== null) return this.strings[2 * i + 1]!.toLowerCase() === lower;
    const o = i * STRIDE;
    return bytesEqualIgnoringCase(this.src, this.offsets[o + 2]!, this.offsets[o + 3]!, lower);
  }

  /** Field `i`'s value as a number when it is 1 to 15 ASCII digits and nothing else, else -1. */
  fieldDigits(i: number): number {
    if (this.strings !== null) {
      const v = this.strings[2 * i + 1]!;
      return /^\d{1,15}$/.test(v) ? Number(v) : -1;
    }
    const o = i * STRIDE;
    const from = this.offsets[o + 2]!;
    const to = this.offsets[o + 3]!;
    if (to === from || to - from > 15) return -1;
    let n = 0;
    for (let k = from; k < to; k++) {
      const c = this.src[k]!;
      if (c < DIGIT_0 || c > DIGIT_9) return -1;
      n = n * 10 + (c - DIGIT_0);
    }
    return n;
  }

  get fields(): string[] {
    if (this.strings !== null) return this.strings.slice();
    const out: string[] = [];
    for (let i = 0; i < this.fieldCount; i++) out.push(this.fieldName(i), this.fieldValue(i));
    return out;
  }

  /**
   * Reads a strictly well-formed head starting at src[from] (start line to the empty line) into
   * this view, looking no further than `end`. Returns the offset just after the head, or -1 (the
   * view is then to be reset) when the head does not end before `end` or holds anything the general
   * path must look at: a bare LF or lone CR, extra spaces in the start line, a version other than
   * 1.x, a method over 32 bytes or a status line over 8192, an obs-fold, space before a colon, a
   * control byte in a field line, an invalid name.
   */
  readWellFormedHead(kind: 'request' | 'response', src: Uint8Array, from: number, end: number): number {
    this.src = src;
    this.srcFrom = from;
    this.text = null;
    this.strings = null;
    this.fieldCount = 0;
    const fieldsFrom = kind === 'request' ? this.readRequestLine(src, from, end) : this.readStatusLine(src, from, end);
    const to = fieldsFrom < 0 ? -1 : this.readFieldLines(src, fieldsFrom, end);
    if (to < 0) return -1;
    this.srcTo = to;
    // Start-line strings, now that the head's extent (and so its text) is known.
    if (kind === 'request') {
      this.method = common(COMMON_METHODS, src, from, this.methodTo) ?? this.slice(from, this.methodTo);
      this.target = this.slice(this.targetFrom, this.targetTo);
    } else {
      const { reasonFrom, reasonTo } = this;
      this.reason = reasonTo === reasonFrom ? '' : common(COMMON_REASONS, src, reasonFrom, reasonTo) ?? this.slice(reasonFrom, reasonTo);
    }
    return to;
  }

  /** `method SP target SP HTTP/1.d CRLF`; returns where the fields start, or -1. */
  private readRequestLine(src: Uint8Array, from: number, end: number): number {
    let i = from;
    while (i < end && TCHAR[src[i]!]) i++;
    const methodEnd = i;
    // (A method over 32 bytes is an error the general path reports.)
    if (methodEnd === from || methodEnd - from > 32 || i >= end || src[i] !== SP) return -1;
    const targetFrom = ++i;
    while (i < end && !NOT_IN_TARGET[src[i]!]) i++;
    const targetTo = i;
    if (targetTo === targetFrom || i >= end || src[i] !== SP) return -1;
    i++;
    const versionEnd = this.readVersion(src, i, end);
    if (versionEnd < 0 || versionEnd + 2 > end || src[versionEnd] !== CR || src[versionEnd + 1] !== LF) return -1;
    this.methodTo = methodEnd;
    this.targetFrom = targetFrom;
    this.targetTo = targetTo;
    return versionEnd + 2;
  }

  /** `HTTP/1.d SP 3DIGIT [SP reason] CRLF`; returns where the fields start, or -1. */
  private readStatusLine(src: Uint8Array, from: number, end: number): number {
    let i = this.readVersion(src, from, end);
    if (i < 0 || i + 4 > end || src[i] !== SP) return -1;
    let status = 0;
    for (let k = i + 1; k < i + 4; k++) {
      const c = src[k]!;
      if (c < DIGIT_0 || c > DIGIT_9) return -1;
      status = status * 10 + (c - DIGIT_0);
    }
    i += 4;
    let reasonFrom = i;
    let reasonTo = i;
    if (i < end && src[i] === SP) {
      // The reason phrase: anything but CR and LF, up to the CRLF checked below.
      reasonFrom = ++i;
      while (i < end && src[i] !== CR && src[i] !== LF) i++;
      reasonTo = i;
    }
    // (A status line over 8192 bytes is an error the general path reports.)
    if (i + 2 > end || src[i] !== CR || src[i + 1] !== LF || i - from > 8192) return -1;
    this.status = status;
    this.reasonFrom = reasonFrom;
    this.reasonTo = reasonTo;
    return i + 2;
  }

  /** `HTTP/1.d` at src[i]; sets the version and returns the offset after it, or -1. */
  private readVersion(src: Uint8Array, i: number, end: number): number {
    if (i + 8 > end) return -1;
    for (let k = 0; k < HTTP_SLASH.length; k++) if (src[i + k] !== HTTP_SLASH[k]) return -1;
    const major = src[i + 5]! - DIGIT_0;
    const minor = src[i + 7]! - DIGIT_0;
    if (major !== 1 || src[i + 6] !== 0x2e || minor < 0 || minor > 9) return -1;
    this.versionMajor = major;
    this.versionMinor = minor;
    return i + 8;
  }

  /** `name ":" OWS value OWS CRLF` lines up to the empty line; returns the offset after it, or -1. */
  private readFieldLines(src: Uint8Array, from: number, end: number): number {
    let i = from;
    let count = 0;
    for (;;) {
      if (i >= end) return -1;
      if (src[i] === CR) {
        if (i + 1 >= end || src[i + 1] !== LF) return -1;
        this.fieldCount = count;
        return i + 2;
      }
      const nameFrom = i;
      while (i < end && TCHAR[src[i]!]) i++;
      const nameTo = i;
      if (nameTo === nameFrom || i >= end || src[i] !== COLON) return -1;
      i++;
      while (i < end && (src[i] === SP || src[i] === HT)) i++;
      const valueFrom = i;
      let valueTo = i;
      // One table lookup per value byte: the value's end (after its last non-OWS byte) and the CR.
      while (i < end) {
        const k = VALUE_BYTE[src[i]!];
        if (k === VALUE_TEXT) valueTo = ++i;
        else if (k === VALUE_OWS) i++;
        else break;
      }
      // Here at the CR of CRLF, or at a control byte (a bare LF included) for the general path.
      if (i + 1 >= end || src[i] !== CR || src[i + 1] !== LF) return -1;
      i += 2;
      const o = count * STRIDE;
      if (o + STRIDE > this.offsets.length) {
        const grown = new Int32Array(this.offsets.length * 2);
        grown.set(this.offsets);
        this.offsets = grown;
      }
      this.offsets[o] = nameFrom;
      this.offsets[o + 1] = nameTo;
      this.offsets[o + 2] = valueFrom;
      this.offsets[o + 3] = valueTo;
      count++;
    }
  }

  /**
   * src[from, to) as a latin1 string: a slice of the head decoded once (one native call per head,
   * and V8 shares the characters of longer slices) instead of one decode per value.
   */
  private slice(from: number, to: number): string {
    if (this.text === null) {
      const s = this.src;
      this.text = Buffer.from(s.buffer, s.byteOffset + this.srcFrom, this.srcTo - this.srcFrom).toString('latin1');
    }
    return this.text.slice(from - this.srcFrom, to - this.srcFrom);
  }
}

/**
 * The view parsers read heads into. A head is read and handed to its handler synchronously, so one
 * view serves every parser (no view, offset table or string per idle connection); a handler that
 * parses another head during its callback gets a view of its own.
 */
let spareView: H1HeadView | null = new H1HeadView();

/** An empty view for reading a head; give it back with returnHeadView when the handler is done. */
export function takeHeadView(): H1HeadView {
  const view = spareView ?? new H1HeadView();
  spareView = null;
  view.reset();
  return view;
}

/** Empties the view (dropping its reference to message bytes) and keeps it for the next head. */
export function returnHeadView(view: H1HeadView): void {
  view.reset();
  spareView = view;
}
