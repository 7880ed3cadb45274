/**
 * Times as ISO-8601 text, for times read from captures and logs. A corrupt or hostile file can
 * carry any timestamp (a pcapng timestamp is 64 bits of any resolution: 2^64 microseconds is
 * year 586 000), and Date.prototype.toISOString throws a RangeError outside ±8.64e15 ms (year
 * 275 760) and on NaN: one such packet made `conns` and `analyze` stop with an internal error.
 * isoMs never throws; callers print the raw number of seconds where it gives null.
 */

/** The largest |milliseconds since the epoch| a Date holds (ECMA-262 §21.4.1.1). */
export const MAX_DATE_MS = 8.64e15;

/** `new Date(ms).toISOString()`, or null when no Date holds `ms` (NaN, ±Infinity, beyond ±8.64e15). */
export function isoMs(ms: number): string | null {
  return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : null;
}
