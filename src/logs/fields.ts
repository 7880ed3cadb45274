/**
 * Field converters shared by the log parsers. Every one is strict (a malformed value is reported,
 * never silently turned into 0) and the AWS "absent" conventions (`-`, and `-1` where the AWS table
 * says so) are handled by the callers, which know the field.
 */

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Non-negative decimal integer made of ASCII digits only; NaN otherwise (also for ''). */
export function parseUint(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return n > 15 && isDigits(s) ? Number(s) : NaN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return NaN;
    v = v * 10 + (c - DIGIT_0);
  }
  return v;
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
  }
  return s.length > 0;
}

/** Signed decimal integer (`-1`, `42`); NaN otherwise. */
export function parseInt10(s: string): number {
  if (s.length > 1 && s.charCodeAt(0) === 0x2d) {
    const v = parseUint(s.substring(1));
    return v === v ? -v : NaN;
  }
  return parseUint(s);
}

/**
 * Decimal number as AWS writes it (`0.000`, `-1`, `60.001`, `4.036`); NaN for anything else.
 * Up to 15 digits it is computed as integer / power of ten: both exact, one correctly rounded
 * division, so the result equals Number(s) without a second pass over the string.
 */
export function parseDecimal(s: string): number {
  const n = s.length;
  if (n === 0) return NaN;
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 0x2d) {
    neg = true;
    i = 1;
  }
  let v = 0;
  let scale = 1;
  let digits = 0;
  let dot = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      v = v * 10 + (c - DIGIT_0);
      digits++;
      if (dot) scale *= 10;
    } else if (c === 0x2e && !dot) {
      dot = true;
    } else {
      return NaN;
    }
  }
  if (digits === 0) return NaN;
  if (digits > 15) return Number(s);
  const r = scale === 1 ? v : v / scale;
  return neg ? -r : r;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

let cacheKey = '';
let cacheBase = 0;

function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - DIGIT_0;
  const b = s.charCodeAt(i + 1) - DIGIT_0;
  if (a < 0 || a > 9 || b < 0 || b > 9) return NaN;
  return a * 10 + b;
}

/**
 * ISO 8601 UTC timestamp as AWS logs write it (`2018-07-02T22:23:00.186641Z`; NLB omits the
 * fraction and the `Z`) → seconds since the Unix epoch as a float (microseconds kept). NaN when it
 * is not such a timestamp. An offset other than `Z`/none is accepted as `+HH:MM`/`-HH:MM`.
 *
 * The hour is cached: consecutive log lines nearly always share it, so most calls parse only the
 * minutes, seconds and fraction.
 */
export function parseIsoSeconds(s: string): number {
  const n = s.length;
  if (n < 19) return NaN;
  if (s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) return NaN;
  const t10 = s.charCodeAt(10);
  if (t10 !== 0x54 && t10 !== 0x20) return NaN; // 'T' or ' '
  let base: number;
  if (cacheKey.length === 13 && s.startsWith(cacheKey)) {
    base = cacheBase;
  } else {
    const y = two(s, 0) * 100 + two(s, 2);
    const mo = two(s, 5);
    const d = two(s, 8);
    const h = two(s, 11);
    if (!(y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && h <= 23)) return NaN;
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const dim = mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!;
    if (d > dim) return NaN;
    base = Date.UTC(y, mo - 1, d, h) / 1000;
    cacheKey = s.substring(0, 13);
    cacheBase = base;
  }
  const mi = two(s, 14);
  const sec = two(s, 17);
  if (!(mi <= 59 && sec <= 60)) return NaN;
  let t = base + mi * 60 + sec;
  let i = 19;
  if (i < n && s.charCodeAt(i) === 0x2e) {
    i++;
    let v = 0;
    let scale = 1;
    const from = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < DIGIT_0 || c > DIGIT_9) break;
      if (scale < 1e9) {
        v = v * 10 + (c - DIGIT_0);
        scale *= 10;
      }
    }
    if (i === from) return NaN;
    t += v / scale;
  }
  if (i === n) return t;
  const z = s.charCodeAt(i);
  if (z === 0x5a && i + 1 === n) return t; // 'Z'
  if ((z === 0x2b || z === 0x2d) && n - i === 6 && s.charCodeAt(i + 3) === 0x3a) {
    const oh = two(s, i + 1);
    const om = two(s, i + 4);
    if (!(oh <= 23 && om <= 59)) return NaN;
    const off = (oh * 60 + om) * 60;
    return z === 0x2b ? t - off : t + off;
  }
  return NaN;
}

/** Result slot for parseAddrPort (reused by callers). */
export interface AddrPort {
  addr: string;
  port: number;
}

/**
 * `10.0.0.1:80`, `2001:db8::1:443` (the address is everything before the last colon, as ALB
 * writes IPv6 clients) or `[2001:db8::1]:443`. Returns false when there is no valid port.
 */
export function parseAddrPort(s: string, out: AddrPort): boolean {
  let addr: string;
  let portStr: string;
  if (s.charCodeAt(0) === 0x5b) {
    const close = s.indexOf(']');
    if (close < 0 || s.charCodeAt(close + 1) !== 0x3a) return false;
    addr = s.substring(1, close);
    portStr = s.substring(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon <= 0) return false;
    addr = s.substring(0, colon);
    portStr = s.substring(colon + 1);
  }
  const port = parseUint(portStr);
  if (!(port <= 65535)) return false;
  out.addr = addr;
  out.port = port;
  return true;
}

/** `-` → null; anything else as is. */
export function opt(s: string | undefined): string | null {
  return s === undefined || s === '-' ? null : s;
}
