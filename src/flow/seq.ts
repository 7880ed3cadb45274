/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4, "modulo 2^32 arithmetic").
 *
 * Sequence numbers are unsigned 32-bit values that wrap. Comparisons are made on the signed 32-bit
 * difference, which is correct while the two numbers are within 2^31 of each other (TCP windows are
 * at most 2^30 bytes, RFC 7323 §2.3). Reassembly converts them to per-direction 64-bit relative
 * offsets (JS numbers are exact to 2^53) so that nothing downstream ever sees a wrap.
 */

/** a - b as a signed 32-bit number: > 0 when a is "after" b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** (a + n) modulo 2^32, as an unsigned number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * The 64-bit relative offset of sequence number `seq`, given a reference point: the relative offset
 * `refOffset` whose sequence number is `refSeq`. Exact while `seq` is within 2^31 of `refSeq`, which
 * lets offsets grow past 2^32 (a long download) without ever being confused by the wrap.
 */
export function seqToOffset(seq: number, refSeq: number, refOffset: number): number {
  return refOffset + ((seq - refSeq) | 0);
}
