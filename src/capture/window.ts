/**
 * The incident window: a closed time interval `[since, until]` in seconds since the Unix epoch
 * (UTC), with open ends as -Infinity / Infinity. Capture readers, log readers, S3 listing and the
 * analysis session all filter by it, so it lives at the lowest stage that reads timed records.
 *
 * Times are parsed from what users copy out of the tools around them:
 * - ISO 8601: `2024-05-01T12:03:17Z`, `2024-05-01 12:03:17.123456`, `2024-05-01T14:03+02:00`,
 *   `2024-05-01` (midnight); no offset means UTC, as every AWS log and mirrorlens output is UTC;
 * - the ALB/CLB/NLB access-log time (`2024-05-01T12:03:17.186641Z`, ISO 8601 with microseconds);
 * - the basic form in `listen`'s file names (`20240501T120317.123Z`);
 * - epoch seconds as VPC flow logs and `tshark -t e` write them (`1714565000`, `1714565000.25`;
 *   13, 16 or 19 digits are read as milliseconds, microseconds or nanoseconds);
 * - relative to now: `now`, `now-2h`, `-2h`.
 *
 * Durations: `90` (seconds), `90s`, `1.5s`, `250ms`, `5m`, `2h`, `1d`, `1h30m`, ISO `PT5M`.
 */
import { isoMs } from './time-text.js';

export interface TimeWindow {
  /** First second in the window (inclusive); -Infinity when open. */
  readonly since: number;
  /** Last second in the window (inclusive); Infinity when open. */
  readonly until: number;
}

/** The window that holds every time. */
export const ALL_TIME: TimeWindow = Object.freeze({ since: -Infinity, until: Infinity });

/** Half-width of `--around TIME` without a duration. */
export const DEFAULT_AROUND_SECONDS = 60;

export function isAllTime(w: TimeWindow | null | undefined): boolean {
  return w === null || w === undefined || (w.since === -Infinity && w.until === Infinity);
}

/** True when `t` (epoch seconds) is in the window. */
export function inWindow(w: TimeWindow, t: number): boolean {
  return t >= w.since && t <= w.until;
}

/** True when the interval `[start, end]` shares at least one instant with the window. */
export function overlapsWindow(w: TimeWindow, start: number, end: number): boolean {
  return end >= w.since && start <= w.until;
}

/** The window grown by `before` seconds at its start and `after` at its end (open ends stay open). */
export function widenWindow(w: TimeWindow, before: number, after: number = before): TimeWindow {
  return { since: w.since - before, until: w.until + after };
}

/** The intersection of two windows (may be empty: since > until). */
export function intersectWindows(a: TimeWindow, b: TimeWindow): TimeWindow {
  return { since: Math.max(a.since, b.since), until: Math.min(a.until, b.until) };
}

/** `2024-05-01T12:03:17.123Z .. 2024-05-01T12:05:17.123Z`, with `…` for an open end. */
export function formatWindow(w: TimeWindow): string {
  const f = (t: number): string => (Number.isFinite(t) ? (isoMs(Math.round(t * 1000)) ?? String(t)) : '…');
  return `${f(w.since)} .. ${f(w.until)}`;
}

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
};

/**
 * A duration in seconds: `90`, `90s`, `1.5s`, `250ms`, `5m`, `2h`, `1d`, `1h30m`, `PT1H30M`.
 * Throws RangeError saying what is accepted.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  const bad = (): RangeError => new RangeError(`not a duration: '${text}' (use e.g. 90s, 250ms, 5m, 1h30m)`);
  if (s.length === 0) throw bad();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const iso = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(s);
  if (iso && s.length > 1 && !/T$/i.test(s)) {
    return Number(iso[1] ?? 0) * 86400 + Number(iso[2] ?? 0) * 3600 + Number(iso[3] ?? 0) * 60 + Number(iso[4] ?? 0);
  }
  const part = /(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|sec|min|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (m === null) throw bad();
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    at = part.lastIndex;
  }
  return total;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function fromParts(m: RegExpExecArray, text: string): number {
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, sec] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const frac = m[7] ? Number(`0.${m[7]}`) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) throw new RangeError(`not a valid time: '${text}'`);
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  if (new Date(ms).getUTCDate() !== d && sec < 60) throw new RangeError(`not a valid date: '${text}'`);
  let offset = 0;
  const z = m[8];
  if (z && !/^(z|utc)$/i.test(z)) {
    const digits = z.slice(1).replace(':', '');
    offset = (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2) || 0) * 60) * (z[0] === '-' ? -1 : 1);
  }
  return ms / 1000 + frac - offset;
}

/**
 * A point in time, as epoch seconds. `now` is the clock for relative forms (injectable for tests).
 * Throws RangeError naming the text and the accepted forms.
 */
export function parseTime(text: string, now: () => number = () => Date.now() / 1000): number {
  const s = text.trim();
  const iso = ISO.exec(s) ?? ISO_BASIC.exec(s);
  if (iso) return fromParts(iso, text);
  const epoch = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (epoch) {
    const digits = epoch[1]!.length;
    const scale = digits <= 11 ? 1 : digits <= 14 ? 1e-3 : digits <= 17 ? 1e-6 : 1e-9;
    return Number(s) * scale;
  }
  const rel = /^(now)?\s*(?:([+-])\s*(.+))?$/i.exec(s);
  if (rel && (rel[1] !== undefined || rel[2] !== undefined)) {
    if (rel[2] === undefined) return now();
    let d: number;
    try {
      d = parseDuration(rel[3]!);
    } catch {
      throw badTime(text);
    }
    return rel[2] === '-' ? now() - d : now() + d;
  }
  throw badTime(text);
}

function badTime(text: string): RangeError {
  return new RangeError(
    `not a time: '${text}' (use ISO 8601 as in the access logs, 2024-05-01T12:03:17Z; epoch seconds, 1714565000; or now-2h)`,
  );
}

/**
 * `TIME±DURATION` (also `TIME+-DURATION`, or TIME alone for ±DEFAULT_AROUND_SECONDS) → the
 * window `[TIME - DURATION, TIME + DURATION]`.
 */
export function parseAround(text: string, now?: () => number): TimeWindow {
  const s = text.trim();
  let at = s.lastIndexOf('±');
  let sepLen = 1;
  if (at < 0) {
    at = s.lastIndexOf('+-');
    sepLen = 2;
  }
  const center = parseTime(at < 0 ? s : s.slice(0, at), now);
  const half = at < 0 ? DEFAULT_AROUND_SECONDS : parseDuration(s.slice(at + sepLen));
  return { since: center - half, until: center + half };
}

/**
 * A time, or a bare duration with a unit meaning that long ago (`--since 2h`, as kubectl and
 * journalctl users write it). A bare number stays epoch seconds.
 */
export function parseTimeOrAgo(text: string, now: () => number = () => Date.now() / 1000): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?\s*[a-zµ]/i.test(s) && !/^\d{8}T/i.test(s)) {
    let d: number | null = null;
    try {
      d = parseDuration(s);
    } catch {
      d = null;
    }
    if (d !== null) return now() - d;
  }
  return parseTime(s, now);
}

export interface WindowOptions {
  since?: string | undefined;
  until?: string | undefined;
  around?: string | undefined;
}

/**
 * The window the options `--since`, `--until` and `--around` describe, or null when none is given.
 * `--around` may be combined with the others, which then narrow it. Throws RangeError whose
 * message names the option; an empty window (since after until) is an error too.
 */
export function windowFromOptions(o: WindowOptions, now?: () => number): TimeWindow | null {
  if (o.since === undefined && o.until === undefined && o.around === undefined) return null;
  const named = <T>(opt: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new RangeError(`--${opt}: ${(e as Error).message}`);
    }
  };
  let w: TimeWindow = o.around !== undefined ? named('around', () => parseAround(o.around!, now)) : ALL_TIME;
  if (o.since !== undefined) w = { since: Math.max(w.since, named('since', () => parseTimeOrAgo(o.since!, now))), until: w.until };
  if (o.until !== undefined) w = { since: w.since, until: Math.min(w.until, named('until', () => parseTimeOrAgo(o.until!, now))) };
  if (w.since > w.until) throw new RangeError(`the time window is empty (${formatWindow(w)}): --since must come before --until`);
  return w;
}
