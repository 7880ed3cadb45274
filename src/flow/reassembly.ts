/**
 * One direction of a TCP byte stream: sequence numbers → 64-bit relative offsets → in-order bytes.
 *
 * - In-order data is passed on as a view of the packet buffer (no copy). Only segments that arrive
 *   ahead of a hole are copied, and held in a sorted list until the hole fills (gopacket/Zeek style).
 * - Held bytes are capped per connection and across all connections (`ReassemblyBudget`). When a
 *   cap is hit, the oldest hole is given up: it is reported as a gap and the held data after it is
 *   released. Hitting a cap is counted.
 * - Overlaps are compared byte for byte with held data and with the in-order segment being
 *   delivered; differing bytes are counted as inconsistent (the first copy seen wins for held data).
 * - Holes are not declared at once: the mirror (NLB / GWLB targets) may reorder. The owner calls
 *   `expire(now, window)` and a hole older than the window becomes a gap; `close()` declares every
 *   remaining hole (and missing bytes up to the end the peer acknowledged) as gaps.
 *
 * The class is pure (no I/O, no clock): everything is driven by the times passed in, so table
 * tests can replay any order of segments.
 */
import type { Direction, EndReason } from './stream.js';
import { seqToOffset } from './seq.js';

/** What a segment turned out to be, as bit flags (several may be set). */
export const Seg = {
  /** Carried bytes never seen before (delivered now or held). */
  New: 1,
  /** Carried bytes already seen (delivered or held): a retransmission or duplicate of them. */
  Old: 2,
  /** New bytes were held because a hole precedes them. */
  Held: 4,
  /** New bytes lay below the highest byte already seen: the segment filled a hole (reordering). */
  Filled: 8,
  /** Overlapping bytes differed from the copy seen first. */
  Inconsistent: 16,
  /** Bytes in a region already given up as a gap: they arrived after the reorder window. */
  Late: 32,
  /** Bytes before the start of the stream (before the SYN, or before the first byte of a pickup). */
  BeforeStart: 64,
} as const;

/** Caps on held (out-of-order) bytes; one object is shared by every connection of a table. */
export class ReassemblyBudget {
  /** Bytes currently held across all connections. */
  heldBytesTotal = 0;
  /** Times a cap forced a hole to be given up early. */
  overflows = 0;
  constructor(
    public maxBufferedBytesPerConn = 4 * 1024 * 1024,
    public maxBufferedBytesTotal = 256 * 1024 * 1024,
  ) {}
}

export interface ReassemblyOwner {
  /** In-order bytes: a view valid only during the call. */
  streamData(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void;
  /**
   * Bytes the capture never delivered. `time` is when the gap was declared; `afterTime` is the
   * arrival time of the segment right after the hole (NaN when the gap is at the stream's end) and
   * `afterTag` the tag it was fed with (the packet number; -1 at the stream's end).
   */
  streamGap(dir: Direction, streamOffset: number, length: number, time: number, afterTime: number, afterTag: number): void;
  streamEnd(dir: Direction, reason: EndReason, time: number): void;
}

class ReassemblyExtra {
  gapBytes = 0;
  gapCount = 0;
  retransmittedBytes = 0;
  inconsistentBytes = 0;
  inconsistentSegments = 0;
  heldSegments = 0;
  lateBytes = 0;
  beforeStartBytes = 0;
  /** The last region given up as a gap, to recognise late arrivals. */
  lastGapStart = -1;
  lastGapEnd = -1;
  finTime = NaN;
  finTag = -1;
  /** Offset of the FIN (the stream's length), -1 until a FIN is seen. */
  finOffset = -1;
  /** Bytes held now (ahead of a hole). */
  heldBytes = 0;
}

/** Bits of StreamReassembler.status. */
const INITIALIZED = 1;
const ENDED = 2;

class HeldSegment {
  constructor(
    public offset: number,
    public buf: Uint8Array,
    public time: number,
    public tag: number,
    public next: HeldSegment | null,
  ) {}
}

export class StreamReassembler {
  /** Sequence number of stream offset 0; valid once `initialized`. */
  baseSeq = 0;
  /** Next in-order offset: everything below was delivered or declared a gap. */
  next = 0;
  /** One past the highest offset seen in any segment. */
  maxEnd = 0;
  private head: HeldSegment | null = null;
  /** The other direction of the same connection (for the per-connection cap). */
  peer: StreamReassembler | null = null;
  /** INITIALIZED | ENDED bits (one field instead of two: memory per tracked connection). */
  private status = 0;

  /** Counters and rarely used state, made on first use (most connections never need them). */
  private x: ReassemblyExtra | null = null;

  private get ex(): ReassemblyExtra {
    return (this.x ??= new ReassemblyExtra());
  }

  /** Whether offset 0 has a sequence number (`init` was called). */
  get initialized(): boolean {
    return (this.status & INITIALIZED) !== 0;
  }
  /** Whether `end` was reported. */
  get ended(): boolean {
    return (this.status & ENDED) !== 0;
  }
  /** Offset of the FIN (the stream's length), -1 until a FIN is seen. */
  get finOffset(): number {
    return this.x ? this.x.finOffset : -1;
  }
  /** Bytes held now (ahead of a hole). */
  get heldBytes(): number {
    return this.x ? this.x.heldBytes : 0;
  }

  get gapBytes(): number {
    return this.x ? this.x.gapBytes : 0;
  }
  get gapCount(): number {
    return this.x ? this.x.gapCount : 0;
  }
  /** Bytes seen again after they had been seen (retransmissions, duplicates that got through). */
  get retransmittedBytes(): number {
    return this.x ? this.x.retransmittedBytes : 0;
  }
  get inconsistentBytes(): number {
    return this.x ? this.x.inconsistentBytes : 0;
  }
  get inconsistentSegments(): number {
    return this.x ? this.x.inconsistentSegments : 0;
  }
  /** Segments that had to be held (arrived ahead of a hole). */
  get heldSegments(): number {
    return this.x ? this.x.heldSegments : 0;
  }
  /** Bytes that arrived for a region already given up as a gap. */
  get lateBytes(): number {
    return this.x ? this.x.lateBytes : 0;
  }
  get beforeStartBytes(): number {
    return this.x ? this.x.beforeStartBytes : 0;
  }

  constructor(
    readonly dir: Direction,
    private readonly owner: ReassemblyOwner,
    private readonly budget: ReassemblyBudget,
  ) {}

  /** Sets the sequence number of offset 0 (ISN + 1 after a SYN; the first byte seen on a pickup). */
  init(seqOfFirstByte: number): void {
    this.baseSeq = seqOfFirstByte | 0;
    this.status |= INITIALIZED;
  }

  /** Relative offset of a sequence number (wrap-safe within 2^31 of the in-order point). */
  offsetOf(seq: number): number {
    // (int32 arithmetic keeps the fields small integers; exact while next < 2^53)
    const refSeq = (this.baseSeq + this.next) | 0;
    return seqToOffset(seq, refSeq, this.next);
  }

  /** Whether there is held data waiting for a hole to fill. */
  get hasHeld(): boolean {
    return this.head !== null;
  }

  /** Arrival time of the held segment right after the first hole (NaN when nothing is held). */
  get heldSince(): number {
    return this.head ? this.head.time : NaN;
  }

  /**
   * Feeds one segment's payload (`len` may be 0: nothing happens). Returns `Seg` flags. `tag` (the
   * packet number) is kept with held data and reported back with a gap it closes.
   */
  segment(seq: number, bytes: Uint8Array, off: number, len: number, time: number, tag = -1): number {
    if (len <= 0 || this.ended) return 0;
    if (!this.initialized) this.init(seq);
    let o = this.offsetOf(seq);
    let result = 0;
    const end = o + len;
    if (o < 0) {
      if (end <= 0) {
        this.ex.beforeStartBytes += len;
        return Seg.Old | Seg.BeforeStart;
      }
      this.ex.beforeStartBytes += -o;
      off += -o;
      len = end;
      o = 0;
      result |= Seg.BeforeStart;
    }
    const maxBefore = this.maxEnd;
    if (end > this.maxEnd) this.maxEnd = end;
    if (o < this.next) {
      const oldEnd = Math.min(end, this.next);
      const x = this.x;
      if (x !== null && x.lastGapEnd > o && x.lastGapStart < oldEnd) {
        const lo = Math.max(o, x.lastGapStart);
        const hi = Math.min(oldEnd, x.lastGapEnd);
        x.lateBytes += hi - lo;
        result |= Seg.Late;
        if (hi - lo < oldEnd - o) result |= Seg.Old;
      } else {
        result |= Seg.Old;
      }
      this.ex.retransmittedBytes += oldEnd - o;
      if (end <= this.next) return result;
      off += this.next - o;
      len = end - this.next;
      o = this.next;
    }
    if (o === this.next) {
      if (o < maxBefore) result |= Seg.Filled;
      result |= Seg.New;
      if (this.compareWithHeld(bytes, off, o, len)) result |= Seg.Inconsistent;
      this.deliver(bytes, off, len, time);
      this.drain(time);
      return result;
    }
    // A hole precedes this segment: hold a copy of the bytes not held yet.
    result |= this.hold(bytes, off, o, len, time, maxBefore, tag);
    this.enforceCaps(time);
    return result;
  }

  /**
   * Bytes the sender sent but the capture cut off (snaplen, Traffic Mirroring PacketLength): when
   * they are next in order they become a gap at once; otherwise the hole logic reports them later.
   */
  missing(seq: number, len: number, time: number, tag = -1): void {
    if (len <= 0 || this.ended) return;
    if (!this.initialized) this.init(seq);
    const o = this.offsetOf(seq);
    const end = o + len;
    if (end > this.maxEnd) this.maxEnd = end;
    if (o <= this.next && end > this.next) {
      this.gap(this.next, end - this.next, time, time, tag);
      this.next = end;
      this.drain(time);
    }
  }

  /** Records the FIN: the stream ends at `seqAfterData` (FIN's seq + payload length). */
  fin(seqAfterData: number, time: number, tag = -1): void {
    if (!this.initialized) this.init(seqAfterData);
    if (this.finOffset < 0) {
      const f = this.offsetOf(seqAfterData);
      // (kept in the extra state: a FIN means the connection is about to end anyway)
      const x = this.ex;
      x.finOffset = f < 0 ? 0 : f;
      x.finTime = time;
      x.finTag = tag;
      if (x.finOffset > this.maxEnd) this.maxEnd = x.finOffset;
    }
    this.checkFin(time);
  }

  /** Gives up holes whose following data has waited at least `window` seconds. */
  expire(now: number, window: number): void {
    while (this.head !== null && now - this.head.time >= window) this.giveUpFirstHole(now);
  }

  /**
   * Ends the stream: every remaining hole becomes a gap, as do missing bytes up to `endOffset`
   * (the FIN, or the highest byte the peer acknowledged); then `end` is reported once.
   */
  close(reason: EndReason, time: number, endOffset = -1): void {
    if (this.ended) return;
    while (this.head !== null) this.giveUpFirstHole(time);
    const target = Math.max(endOffset, this.finOffset);
    if (target > this.next && this.initialized) {
      // Missing bytes before a FIN are a hole the FIN came after; after the last ACK, just missing.
      const beforeFin = this.finOffset > this.next;
      this.gap(this.next, target - this.next, time, beforeFin ? this.ex.finTime : NaN, beforeFin ? this.ex.finTag : -1);
      this.next = target;
    }
    if (target > this.maxEnd) this.maxEnd = target;
    this.status |= ENDED;
    this.owner.streamEnd(this.dir, this.finOffset >= 0 && this.next >= this.finOffset && reason !== 'rst' ? 'fin' : reason, time);
  }

  /** Frees held copies without reporting them (connection dropped). */
  discard(): void {
    for (let h = this.head; h !== null; h = h.next) this.budget.heldBytesTotal -= h.buf.length;
    this.head = null;
    if (this.x) this.x.heldBytes = 0;
  }

  // ---- internals ----

  private deliver(bytes: Uint8Array, off: number, len: number, time: number): void {
    const at = this.next;
    this.next += len;
    this.owner.streamData(this.dir, bytes, off, len, at, time);
  }

  private gap(at: number, len: number, time: number, afterTime: number, afterTag: number): void {
    const x = this.ex;
    x.gapBytes += len;
    x.gapCount++;
    x.lastGapStart = at;
    x.lastGapEnd = at + len;
    this.owner.streamGap(this.dir, at, len, time, afterTime, afterTag);
  }

  /** Releases held segments that are now contiguous with `next`. */
  private drain(time: number): void {
    while (this.head !== null && this.head.offset <= this.next) {
      const h = this.head;
      this.head = h.next;
      this.ex.heldBytes -= h.buf.length;
      this.budget.heldBytesTotal -= h.buf.length;
      const hEnd = h.offset + h.buf.length;
      if (hEnd > this.next) {
        const skip = this.next - h.offset;
        this.deliver(h.buf, skip, h.buf.length - skip, time);
      }
    }
    this.checkFin(time);
  }

  private checkFin(time: number): void {
    if (!this.ended && this.finOffset >= 0 && this.next >= this.finOffset && this.head === null) {
      this.status |= ENDED;
      this.owner.streamEnd(this.dir, 'fin', time);
    }
  }

  private giveUpFirstHole(time: number): void {
    const h = this.head;
    if (h === null) return;
    if (h.offset > this.next) {
      const at = this.next;
      this.next = h.offset;
      this.gap(at, h.offset - at, time, h.time, h.tag);
    }
    this.drain(time);
  }

  /** Compares an in-order segment [o, o+len) with held bytes it overlaps; true when some differ. */
  private compareWithHeld(bytes: Uint8Array, off: number, o: number, len: number): boolean {
    const end = o + len;
    let inconsistent = false;
    for (let h = this.head; h !== null && h.offset < end; h = h.next) {
      const hEnd = h.offset + h.buf.length;
      if (hEnd <= o) continue;
      const lo = Math.max(o, h.offset);
      const hi = Math.min(end, hEnd);
      const diff = countDiff(bytes, off + (lo - o), h.buf, lo - h.offset, hi - lo);
      if (diff > 0) {
        this.ex.inconsistentBytes += diff;
        this.ex.inconsistentSegments++;
        inconsistent = true;
      }
    }
    return inconsistent;
  }

  /** Holds the parts of [o, o+len) not held yet; compares the parts that are. */
  private hold(bytes: Uint8Array, off: number, o: number, len: number, time: number, maxBefore: number, tag: number): number {
    let result = 0;
    const segEnd = o + len;
    let cur = o;
    let prev: HeldSegment | null = null;
    let node = this.head;
    let inconsistent = 0;
    while (cur < segEnd) {
      while (node !== null && node.offset + node.buf.length <= cur) {
        prev = node;
        node = node.next;
      }
      if (node !== null && node.offset <= cur) {
        const ovEnd = Math.min(segEnd, node.offset + node.buf.length);
        inconsistent += countDiff(bytes, off + (cur - o), node.buf, cur - node.offset, ovEnd - cur);
        result |= Seg.Old;
        this.ex.retransmittedBytes += ovEnd - cur;
        cur = ovEnd;
        continue;
      }
      const pieceEnd = node !== null ? Math.min(segEnd, node.offset) : segEnd;
      const n = pieceEnd - cur;
      const copy = bytes.slice(off + (cur - o), off + (cur - o) + n);
      const seg = new HeldSegment(cur, copy, time, tag, node);
      if (prev === null) this.head = seg;
      else prev.next = seg;
      prev = seg;
      this.ex.heldBytes += n;
      this.budget.heldBytesTotal += n;
      result |= Seg.New | Seg.Held;
      if (cur < maxBefore) result |= Seg.Filled;
      cur = pieceEnd;
    }
    if (result & Seg.Held) this.ex.heldSegments++;
    if (inconsistent > 0) {
      this.ex.inconsistentBytes += inconsistent;
      this.ex.inconsistentSegments++;
      result |= Seg.Inconsistent;
    }
    return result;
  }

  private enforceCaps(time: number): void {
    const b = this.budget;
    let hit = false;
    while (this.head !== null && (this.heldBytes + (this.peer ? this.peer.heldBytes : 0) > b.maxBufferedBytesPerConn || b.heldBytesTotal > b.maxBufferedBytesTotal)) {
      hit = true;
      this.giveUpFirstHole(time);
    }
    if (hit) b.overflows++;
  }
}

function countDiff(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): number {
  let d = 0;
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) d++;
  return d;
}
