/**
 * Time sanity: inputs whose time ranges do not overlap are not joined, and the report says so,
 * naming the files and their ranges. Capture files close in time (rotated files, files of the
 * same incident) form one capture span; a log file that overlaps no capture span (beyond the
 * tolerated clock skew) is analyzed on its own; capture spans far apart (more than the longest
 * idle timeout worth measuring) are separate captures.
 */
import { isoMs } from '../capture/time-text.js';

/** Capture files further apart than this (the NLB's longest configurable idle timeout) are separate captures. */
export const CAPTURE_SPAN_GAP_SECONDS = 6000;

export interface InputRange {
  file: string;
  kind: 'capture' | 'log';
  first: number;
  last: number;
}

function iso(t: number): string {
  return isoMs(Math.round(t * 1000))?.replace('.000Z', 'Z') ?? String(t);
}

function describe(r: InputRange): string {
  return `${r.file} (${iso(r.first)} – ${iso(r.last)})`;
}

function days(s: number): string {
  if (s >= 2 * 86400) return `${Math.round(s / 86400)} days`;
  if (s >= 2 * 3600) return `${Math.round(s / 3600)} hours`;
  if (s >= 120) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s)} s`;
}

export class TimeSanity {
  private readonly captures: InputRange[] = [];
  private readonly logs = new Map<string, InputRange>();

  /** A capture file and the times of its first and last packets. */
  noteCapture(file: string, first: number | null, last: number | null): void {
    if (first === null || last === null) return;
    this.captures.push({ file, kind: 'capture', first, last });
  }

  /** A log record's time (called for every record: widens its file's range). */
  noteLogTime(file: string, t: number): void {
    if (!Number.isFinite(t)) return;
    const r = this.logs.get(file);
    if (!r) this.logs.set(file, { file, kind: 'log', first: t, last: t });
    else {
      if (t < r.first) r.first = t;
      if (t > r.last) r.last = t;
    }
  }

  /** Capture spans: files sorted by time, merged while less than CAPTURE_SPAN_GAP_SECONDS apart. */
  spans(): { first: number; last: number; files: InputRange[] }[] {
    const sorted = [...this.captures].sort((a, b) => a.first - b.first);
    const out: { first: number; last: number; files: InputRange[] }[] = [];
    for (const c of sorted) {
      const cur = out[out.length - 1];
      if (cur && c.first - cur.last <= CAPTURE_SPAN_GAP_SECONDS) {
        cur.last = Math.max(cur.last, c.last);
        cur.files.push(c);
      } else out.push({ first: c.first, last: c.last, files: [c] });
    }
    return out;
  }

  /** Whether time t (capture clock) falls in some capture span, within `tol` seconds. */
  covers(t: number, tol: number): boolean {
    return this.spans().some((s) => t >= s.first - tol && t <= s.last + tol);
  }

  /** Whether a log file's records may be joined to packets (its range overlaps a capture span within tol). */
  logOverlaps(file: string, tol: number): boolean {
    const r = this.logs.get(file);
    if (!r || this.captures.length === 0) return true;
    return this.spans().some((s) => r.last >= s.first - tol && r.first <= s.last + tol);
  }

  /** What the report warns about: log files outside every capture span, capture spans far apart. */
  warnings(tol: number): string[] {
    const out: string[] = [];
    const spans = this.spans();
    for (let i = 1; i < spans.length; i++) {
      const a = spans[i - 1]!;
      const b = spans[i]!;
      out.push(
        `captures ${a.files.map(describe).join(', ')} and ${b.files.map(describe).join(', ')} are ${days(b.first - a.last)} apart: analyzed as separate captures, nothing joined across them`,
      );
    }
    if (spans.length === 0) return out;
    for (const r of this.logs.values()) {
      if (this.logOverlaps(r.file, tol)) continue;
      const nearest = spans.reduce((best, s) => (Math.min(Math.abs(s.first - r.last), Math.abs(r.first - s.last)) < Math.min(Math.abs(best.first - r.last), Math.abs(r.first - best.last)) ? s : best));
      const gap = r.last < nearest.first ? nearest.first - r.last : r.first - nearest.last;
      out.push(
        `log ${describe(r)} does not overlap the capture ${nearest.files.map(describe).join(', ')} (${days(gap)} ${r.last < nearest.first ? 'before' : 'after'} it): its lines are not joined to packets`,
      );
    }
    return out;
  }
}
