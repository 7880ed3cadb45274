/**
 * The ALB quick scan over raw bytes, in C (native/analyze/alb-scan.c): alb-scan.ts's scan of a
 * whole block of lines as read (no decoded text, no string per line). Per line it gives where the
 * line is and either the facts alb-scan.ts would give (time, client IPv4 and port, target, elb
 * status code) or "decline": the caller then decodes that line and reads it as before (its own
 * scan, the full parser), so what the JavaScript reports for any line it is unsure of is unchanged.
 * It declines more than alb-scan.ts refuses (non-ASCII or control bytes, IPv6 or non-canonical
 * clients, status codes of more than 9 digits): declining only costs time. Tested differentially
 * (alb-scan-native.test.ts, the logs fuzz target); null when the addon is not there (the loader
 * says why; MIRRORLENS_NO_NATIVE=1 turns it off).
 */
import { loadAnalyzeNative } from '../capture/native-analyze.js';

type AlbScanFn = (buf: Uint8Array, from: number, to: number, ints: Int32Array, nums: Float64Array) => number;

/** Per-line status bits (alb-scan.c). */
export const ST_QUICK = 1;
/** With ST_QUICK: the target field differs from the previous quick line's in the same block. */
export const ST_TARGET_NEW = 2;
/** With a decline: the line has bytes >= 0x80 (decode as UTF-8; otherwise latin1 is the same text). */
export const ST_NON_ASCII = 4;

/** Slots per line in `ints` and `nums`. */
export const INTS = 8;
export const NUMS = 2;
/** Lines per call (the caller calls again for the rest of a block). */
const LINES = 2048;

/**
 * One scanner's reused arrays. After `scan(buf, from, to)` returned k, line i < k is:
 * ints[8i] its '\n', ints[8i+1] where its text ends (before a '\r'), ints[8i+2] status; when
 * quick: ints[8i+3] client port, [8i+4, 8i+5) the target address in buf, ints[8i+6] target
 * port (-1: '-'), ints[8i+7] elb_status_code (-1: '-'), nums[2i] time, nums[2i+1] client IPv4.
 */
export class NativeAlbScan {
  readonly ints = new Int32Array(LINES * INTS);
  readonly nums = new Float64Array(LINES * NUMS);

  constructor(private readonly fn: AlbScanFn) {}

  /** Scans the '\n'-terminated lines of buf[from, to), up to LINES of them; returns how many. */
  scan(buf: Uint8Array, from: number, to: number): number {
    return this.fn(buf, from, to, this.ints, this.nums);
  }
}

let shared: NativeAlbScan | null | undefined;

/**
 * The native scanner, or null (addon not built, stale, or MIRRORLENS_NO_NATIVE=1). One for the
 * process: a caller reads a call's results before it yields (nothing awaits between a scan and
 * its reading), so files read at once can share its arrays.
 */
export function nativeAlbScan(): NativeAlbScan | null {
  if (shared !== undefined) return shared;
  const { addon } = loadAnalyzeNative();
  const fn = addon?.albScan;
  return (shared = typeof fn === 'function' ? new NativeAlbScan(fn as AlbScanFn) : null);
}
