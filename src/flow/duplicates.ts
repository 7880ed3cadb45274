/**
 * Duplicate packets: the same packet seen twice (two mirror sessions, an NLB or a SPAN that
 * duplicates) is dropped before any analysis. FlowTable.ingestSegment hashes the fields a real
 * retransmission changes into a fingerprint; the fingerprints are kept for a short window in a
 * fixed-size table.
 */

/**
 * Recent-packet fingerprints for duplicate detection: a fixed-size direct-mapped table (no memory
 * per connection). A collision can only make us miss a duplicate, never invent one, because the
 * stored value is a 52-bit fingerprint compared exactly.
 */
export class DuplicateFilter {
  private readonly keys: Float64Array;
  private readonly times: Float64Array;
  private readonly mask: number;
  constructor(bits = 16) {
    this.keys = new Float64Array(1 << bits);
    this.times = new Float64Array(1 << bits);
    this.mask = (1 << bits) - 1;
  }
  /** true when the same fingerprint was seen within `window` seconds; records it otherwise. */
  seen(h1: number, h2: number, time: number, window: number): boolean {
    const key = (h1 >>> 0) * 2097152 + (h2 & 0x1fffff) + 1;
    const slot = (h1 ^ (h2 >>> 7)) & this.mask;
    if (this.keys[slot] === key && Math.abs(time - this.times[slot]!) <= window) return true;
    this.keys[slot] = key;
    this.times[slot] = time;
    return false;
  }
}
