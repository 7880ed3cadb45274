/**
 * Where AWS delivers logs in S3, and which partitions and files of that layout can hold a time
 * window. Pure functions: no I/O, so the listing plan is tested without a server.
 *
 * Load balancer access and connection logs
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html,
 * .../network/load-balancer-access-logs.html, .../classic/access-log-collection.html):
 *
 *   bucket[/prefix]/AWSLogs/ACCOUNT/elasticloadbalancing/REGION/yyyy/mm/dd/
 *     ACCOUNT_elasticloadbalancing_REGION_app.NAME.ID_20140215T2340Z_IP_RANDOM.log.gz   (ALB; net. = NLB)
 *     conn_log.ACCOUNT_elasticloadbalancing_REGION_app.NAME.ID_...                      (ALB connection log)
 *     ACCOUNT_elasticloadbalancing_REGION_NAME_20140215T2340Z_IP_RANDOM.log             (Classic LB)
 *   The time in the name is the END of the interval the file covers: 5 minutes for ALB/NLB
 *   ("20140215T2340Z covers 23:35-23:40"), 5 or 60 minutes for Classic LB.
 *
 * VPC flow logs (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):
 *
 *   bucket[/prefix]/AWSLogs/ACCOUNT/vpcflowlogs/REGION/yyyy/mm/dd[/HH]/
 *     ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_20180620T1620Z_HASH.log.gz
 *   Hive-compatible: AWSLogs/aws-account-id=ACCOUNT/aws-service=vpcflowlogs/aws-region=REGION/
 *     year=yyyy/month=mm/day=dd[/hour=HH]/ (newer pages spell the service level `service=`).
 *   The time in the name: CONFLICT between AWS pages: older ones say the 16:20 file holds records
 *   of 16:15-16:20, the current one says records with an end time 16:20:00-16:24:59. A record's
 *   start may be up to the aggregation interval (10 minutes at most) before its end, and start/end
 *   "might be up to 60 seconds after the packet". The margins below cover both readings.
 */

import type { TimeWindow } from '../window.js';

/** The incident window (epoch seconds, closed; open ends are -Infinity / Infinity). */
export type ListingWindow = TimeWindow;

export type LogService = 'elb' | 'vpcflowlogs';

/** What a file name says about the time its records can have (epoch seconds). */
export interface FileTimeRange {
  from: number;
  to: number;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

/**
 * Margins (seconds) around what a file can hold, so that a record at the window's edge is never
 * missed when AWS's own wording is loose (delivery skew, interval rounding).
 */
export const SLACK_SECONDS = 5 * MINUTE;

/** The `_YYYYMMDDTHHMMZ_` stamp in an ELB or flow-log file name, as epoch seconds; null if none. */
export function fileNameStamp(name: string): number | null {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z[_.]/.exec(name);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
  return Number.isFinite(t) ? t : null;
}

/**
 * The range of record times a log file can hold, from its name (base name, no folders), or null
 * when the name carries no time (then the file is always read).
 */
export function fileTimeRange(baseName: string): FileTimeRange | null {
  const stamp = fileNameStamp(baseName);
  if (stamp === null) return null;
  if (/_vpcflowlogs_/.test(baseName)) {
    // Records end within 5 minutes either side of the stamp (both readings of the docs); a record
    // starts at most 10 minutes (aggregation) + 1 minute (reporting lag) before it ends.
    return { from: stamp - 5 * MINUTE - 11 * MINUTE - SLACK_SECONDS, to: stamp + 5 * MINUTE + SLACK_SECONDS };
  }
  if (/_elasticloadbalancing_/.test(baseName)) {
    // ALB (app.), NLB (net.) and ALB connection logs: 5 minutes ending at the stamp. Classic LB
    // (no app./net. before the name) may use 60-minute files.
    const m = /_elasticloadbalancing_[a-z0-9-]+_(app|net)\./.exec(baseName);
    const interval = m ? 5 * MINUTE : 60 * MINUTE;
    return { from: stamp - interval - SLACK_SECONDS, to: stamp + SLACK_SECONDS };
  }
  return null;
}

/** True when a file whose records fall in `r` can hold a record of the window. */
export function rangeMeetsWindow(r: FileTimeRange | null, w: ListingWindow): boolean {
  return r === null || (r.to >= w.since && r.from <= w.until);
}

/**
 * The window widened to the times a partition must cover: a partition (folder) is named after its
 * files' stamps, and a record of the window can sit in a file stamped up to this much later or
 * earlier.
 */
export function partitionWindow(w: ListingWindow): ListingWindow {
  return { since: w.since - 5 * MINUTE - 2 * SLACK_SECONDS, until: w.until + 60 * MINUTE + 16 * MINUTE + 2 * SLACK_SECONDS };
}

/** The levels of the AWS layout below `AWSLogs/`. */
export type Level = 'account' | 'service' | 'region' | 'year' | 'month' | 'day' | 'hour' | 'files';
export const LEVELS: readonly Level[] = ['account', 'service', 'region', 'year', 'month', 'day', 'hour', 'files'];

export interface LayoutPosition {
  /** The key prefix up to and including `AWSLogs/`. */
  root: string;
  /** The folder names below `AWSLogs/` already in the prefix (complete segments only). */
  segments: string[];
  /** The level the next folder name below the prefix belongs to. */
  next: Level;
  hive: boolean;
  /** The service segment's value ('elasticloadbalancing', 'vpcflowlogs', ...) when known. */
  service: string | null;
}

/** The value of a folder name (`2024` or `year=2024` → `2024`). */
export function segmentValue(seg: string): string {
  const eq = seg.indexOf('=');
  return eq < 0 ? seg : seg.slice(eq + 1);
}

/**
 * Where `prefix` (a key prefix ending in '/' or '') sits in the AWS layout, or null when it is not
 * at or below an `AWSLogs/` folder.
 */
export function layoutPosition(prefix: string): LayoutPosition | null {
  const parts = prefix.split('/');
  if (parts[parts.length - 1] === '') parts.pop();
  const i = parts.lastIndexOf('AWSLogs');
  if (i < 0) return null;
  const segments = parts.slice(i + 1);
  if (segments.length >= LEVELS.length - 1) return null; // deeper than the layout
  const hive = segments.length > 0 ? segments[0]!.includes('=') : false;
  const service = segments.length > 1 ? segmentValue(segments[1]!) : null;
  let next = LEVELS[segments.length]!;
  // Only flow logs have hour folders; below an ELB day come the files.
  if (next === 'hour' && service !== null && service !== 'vpcflowlogs') next = 'files';
  return { root: parts.slice(0, i + 1).join('/') + '/', segments, next, hive, service };
}

/** The UTC range [from, to) (epoch seconds) a date folder covers, given the levels above it. */
export function dateFolderRange(level: 'year' | 'month' | 'day' | 'hour', values: { year?: number; month?: number; day?: number }, v: number): FileTimeRange | null {
  if (!Number.isInteger(v)) return null;
  if (level === 'year') {
    if (v < 1970 || v > 9999) return null;
    return { from: Date.UTC(v, 0, 1) / 1000, to: Date.UTC(v + 1, 0, 1) / 1000 };
  }
  const y = values.year;
  if (y === undefined) return null;
  if (level === 'month') {
    if (v < 1 || v > 12) return null;
    return { from: Date.UTC(y, v - 1, 1) / 1000, to: Date.UTC(y, v, 1) / 1000 };
  }
  const mo = values.month;
  if (mo === undefined) return null;
  if (level === 'day') {
    if (v < 1 || v > 31) return null;
    return { from: Date.UTC(y, mo - 1, v) / 1000, to: Date.UTC(y, mo - 1, v + 1) / 1000 };
  }
  const d = values.day;
  if (d === undefined || v < 0 || v > 23) return null;
  const from = Date.UTC(y, mo - 1, d, v) / 1000;
  return { from, to: from + HOUR };
}

/** The date values (year, month, day) named by the segments of a position. */
export function dateValues(pos: LayoutPosition): { year?: number; month?: number; day?: number } {
  const out: { year?: number; month?: number; day?: number } = {};
  const s = pos.segments;
  if (s.length > 3) out.year = Number(segmentValue(s[3]!));
  if (s.length > 4) out.month = Number(segmentValue(s[4]!));
  if (s.length > 5) out.day = Number(segmentValue(s[5]!));
  return out;
}

/**
 * True when a date folder named `seg` at `level` below `pos` can hold files for the (already
 * widened) window. Names that are not dates are kept (never skip what we do not understand).
 */
export function dateFolderMeetsWindow(pos: LayoutPosition, level: 'year' | 'month' | 'day' | 'hour', seg: string, w: ListingWindow): boolean {
  const v = Number(segmentValue(seg));
  const r = dateFolderRange(level, dateValues(pos), v);
  return r === null || (r.to > w.since && r.from <= w.until);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * The day folders (relative to the region folder, ending in '/') that a bounded, widened window
 * spans, in the given naming: `2024/05/01/` or `year=2024/month=05/day=01/`. Null when the window
 * is open or spans more than `maxDays` (then the caller walks the year and month folders).
 */
export function dayFolders(w: ListingWindow, hive: boolean, maxDays = 62): string[] | null {
  if (!Number.isFinite(w.since) || !Number.isFinite(w.until) || w.until < w.since) return null;
  const first = Math.floor(w.since / DAY);
  const last = Math.floor(w.until / DAY);
  if (last - first + 1 > maxDays) return null;
  const out: string[] = [];
  for (let d = first; d <= last; d++) {
    const t = new Date(d * DAY * 1000);
    const y = pad(t.getUTCFullYear(), 4);
    const m = pad(t.getUTCMonth() + 1);
    const dd = pad(t.getUTCDate());
    out.push(hive ? `year=${y}/month=${m}/day=${dd}/` : `${y}/${m}/${dd}/`);
  }
  return out;
}

/** Keys that are never logs or captures: folder markers, dot-files, ELB's test file. */
export function skipKey(key: string): boolean {
  if (key.endsWith('/')) return true;
  const base = key.slice(key.lastIndexOf('/') + 1);
  return base.startsWith('.') || base === 'ELBAccessLogTestFile';
}
