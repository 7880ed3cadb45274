/**
 * Field converters shared by the log parsers. Every one is strict (a malformed value is reported,
 * never silently turned into 0) and the AWS "absent" conventions (`-`, and `-1` where the AWS table
 * says so) are handled by the callers, which know the field.
 */

import { ownString } from './lines.js';

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Non-negative decimal integer made of ASCII digits only; NaN otherwise (also for ''). */
export function parseUint(s: string): number {
  return parseUintIn(s, 0, s.length);
}

/** parseUint of `s[from, to)`, read in place (no substring). */
export function parseUintIn(s: string, from: number, to: number): number {
  const n = to - from;
  if (n <= 0 || n > 15) return n > 15 && isDigits(s, from, to) ? Number(s.substring(from, to)) : NaN;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return NaN;
    v = v * 10 + (c - DIGIT_0);
  }
  return v;
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
  }
  return to > from;
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
  return parseDecimalIn(s, 0, s.length);
}

/** parseDecimal of `s[from, to)`, read in place. */
export function parseDecimalIn(s: string, from: number, to: number): number {
  const n = to;
  if (to <= from) return NaN;
  let i = from;
  let neg = false;
  if (s.charCodeAt(from) === 0x2d) {
    neg = true;
    i = from + 1;
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
  if (digits > 15) return Number(s.substring(from, to));
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
  return parseIsoSecondsIn(s, 0, s.length);
}

/** parseIsoSeconds of `s[from, to)`, read in place. */
export function parseIsoSecondsIn(s: string, from: number, to: number): number {
  const n = to;
  const o = from;
  if (to - from < 19) return NaN;
  if (s.charCodeAt(o + 4) !== 0x2d || s.charCodeAt(o + 7) !== 0x2d || s.charCodeAt(o + 13) !== 0x3a || s.charCodeAt(o + 16) !== 0x3a) return NaN;
  const t10 = s.charCodeAt(o + 10);
  if (t10 !== 0x54 && t10 !== 0x20) return NaN; // 'T' or ' '
  let base: number;
  if (cacheKey.length === 13 && s.startsWith(cacheKey, o)) {
    base = cacheBase;
  } else {
    const y = two(s, o) * 100 + two(s, o + 2);
    const mo = two(s, o + 5);
    const d = two(s, o + 8);
    const h = two(s, o + 11);
    if (!(y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && h <= 23)) return NaN;
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const dim = mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!;
    if (d > dim) return NaN;
    base = Date.UTC(y, mo - 1, d, h) / 1000;
    // (A copy: a slice would keep the whole line, and the chunk it was cut from, alive.)
    cacheKey = ownString(s.substring(o, o + 13));
    cacheBase = base;
  }
  const mi = two(s, o + 14);
  const sec = two(s, o + 17);
  if (!(mi <= 59 && sec <= 60)) return NaN;
  let t = base + mi * 60 + sec;
  let i = o + 19;
  if (i < n && s.charCodeAt(i) === 0x2e) {
    i++;
    let v = 0;
    let scale = 1;
    const start = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < DIGIT_0 || c > DIGIT_9) break;
      if (scale < 1e9) {
        v = v * 10 + (c - DIGIT_0);
        scale *= 10;
      }
    }
    if (i === start) return NaN;
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
  if (!parseAddrPortIn(s, 0, s.length, span)) return false;
  out.addr = s.substring(span.from, span.to);
  out.port = span.port;
  return true;
}

/** Where parseAddrPortIn found the address in the string, and the port. */
export interface AddrPortSpan {
  from: number;
  to: number;
  port: number;
}

const span: AddrPortSpan = { from: 0, to: 0, port: 0 };

/** parseAddrPort of `s[from, to)` in place: the address as a span of `s` (no string cut). */
export function parseAddrPortIn(s: string, from: number, to: number, out: AddrPortSpan): boolean {
  let addrFrom: number;
  let addrTo: number;
  let portFrom: number;
  if (s.charCodeAt(from) === 0x5b) {
    const close = s.indexOf(']', from);
    if (close < 0 || close + 1 >= to || s.charCodeAt(close + 1) !== 0x3a) return false;
    addrFrom = from + 1;
    addrTo = close;
    portFrom = close + 2;
  } else {
    const colon = s.lastIndexOf(':', to - 1);
    if (colon <= from) return false;
    addrFrom = from;
    addrTo = colon;
    portFrom = colon + 1;
  }
  const port = parseUintIn(s, portFrom, to);
  if (!(port <= 65535)) return false;
  out.from = addrFrom;
  out.to = addrTo;
  out.port = port;
  return true;
}

/**
 * The dotted quad `s[from, to)` as an unsigned 32-bit number when it is written the one way
 * ipv4ToString writes it (no leading zeros, four parts of 0..255); -1 for anything else (IPv6,
 * `010.0.0.1`, ...). For keys that must equal a decoded address's text exactly.
 */
export function canonicalIpv4In(s: string, from: number, to: number): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (digits === 1 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - DIGIT_0);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 0x2e && digits > 0 && parts < 3) {
      v = v * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (parts !== 3 || digits === 0) return -1;
  return v * 256 + part;
}

/** `-` → null; anything else as is. */
export function opt(s: string | undefined): string | null {
  return s === undefined || s === '-' ? null : s;
}
