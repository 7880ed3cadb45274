/**
 * The TCP connection table: packets → connections (both directions merged), reassembled streams,
 * Zeek-style state/history, idle gaps, and Wireshark-named TCP events.
 *
 * Per packet the work is: a numeric-hash lookup (no key strings), a duplicate check against a
 * fixed-size table of recent packet fingerprints, the sequence analysis, and reassembly that passes
 * in-order payload on as a view of the packet buffer. Strings (addresses, uid, Community ID) are
 * made once per connection. Idle connections are kept `idleTimeoutSeconds` (default 6000, the NLB
 * maximum) in an LRU list, so expiry is O(1) per expired connection.
 *
 * This file is the table itself: finding a packet's connection (hashes and index in
 * conn-index.ts), port reuse and the originator (identity.ts), duplicates (duplicates.ts), the LRU
 * lists and lifetimes (timeout, linger after the close, eviction), the reorder-window deadlines,
 * and ending a connection. What a packet does to its connection is process.ts and what it calls
 * (idle.ts, conn-state.ts, seq-analysis.ts, close.ts, marks.ts); the record of an ended one is
 * conn-record.ts. Connections and endpoints are monomorphic objects whose numbers live in a shared
 * typed-array slab (connection.ts, endpoint.ts, conn-slab.ts: under 1 KB per idle connection).
 * docs/flow.md, Code, has the map.
 *
 * See docs/flow.md for the rules (originator choice, port reuse, duplicates, reordering, events).
 */
import type { PacketRecord } from '../capture/record.js';
import type { PacketDecoder } from '../wire/packet.js';
import { closeOut, connectionRecord } from './conn-record.js';
import { addrHash, ConnIndex, mix32, strHash } from './conn-index.js';
import { Connection, newConnSlab, type ConnTable } from './connection.js';
import { DuplicateFilter } from './duplicates.js';
import { icmpErrorEvent } from './icmp-error.js';
import { clientIsSource, isReuse, uidOf } from './identity.js';
import { emptyFlowStats, type FlowHandler, type FlowOptions, type FlowStats } from './options.js';
import { processSegment } from './process.js';
import { ReassemblyBudget } from './reassembly.js';
import type { EndCause } from './record.js';
import { SEGMENT_OK, SEGMENT_SKIPPED, segmentOf, TcpSegment } from './segment.js';
import { resolvePending } from './seq-analysis.js';
import type { Direction } from './stream.js';

export type { FlowHandler, FlowOptions, FlowStats } from './options.js';
export { TcpSegment } from './segment.js';
export { connectionUid, guessClientIsSrc } from './identity.js';

// TCP flags (segment.ts; module-local copies: V8 optimises those better than imported ones).
const SYN = 2;
const RST = 4;

/** Which LRU list a connection is on (Connection.list). */
const LIST_NONE = 0;
const LIST_ACTIVE = 1;
const LIST_CLOSED = 2;

export class FlowTable implements ConnTable {
  readonly stats: FlowStats = emptyFlowStats();
  readonly budget: ReassemblyBudget;
  /** Numbers and flags of the tracked connections (see conn-slab.ts). */
  readonly slab = newConnSlab();
  readonly perCapturePoint: boolean;
  /** FlowOptions.idleGapThresholdSeconds (read by the per-packet functions, see ConnTable). */
  readonly idleGapThreshold: number;
  /** FlowOptions.maxMarks (read by the per-packet functions, see ConnTable). */
  readonly maxMarks: number;
  private readonly idleTimeout: number;
  private readonly maxConnections: number;
  private readonly reorderWindow: number;
  private readonly dupWindow: number;
  private readonly linger: number;
  private readonly reportDuplicates: boolean;
  private readonly index = new ConnIndex();
  private readonly dups = new DuplicateFilter();
  private readonly pendingConns = new Set<Connection>();
  private nextPendingCheck = -Infinity;
  // LRU lists: head = least recently active.
  private activeHead: Connection | null = null;
  private activeTail: Connection | null = null;
  private closedHead: Connection | null = null;
  private closedTail: Connection | null = null;
  private clock = -Infinity;
  private readonly seg = new TcpSegment();
  private finished = false;

  constructor(
    /** @internal (connections hand their events and records to it) */
    readonly handler: FlowHandler,
    opts: FlowOptions = {},
  ) {
    this.idleTimeout = opts.idleTimeoutSeconds ?? 6000;
    this.idleGapThreshold = opts.idleGapThresholdSeconds ?? 30;
    this.maxConnections = opts.maxConnections ?? 2_000_000;
    this.reorderWindow = opts.reorderWindowSeconds ?? 0.1;
    this.dupWindow = opts.duplicateWindowSeconds ?? 0.1;
    this.linger = opts.closeLingerSeconds ?? 5;
    this.maxMarks = opts.maxMarks ?? 64;
    this.reportDuplicates = opts.reportDuplicates ?? false;
    this.perCapturePoint = opts.perCapturePoint ?? false;
    this.budget = new ReassemblyBudget(opts.maxBufferedBytesPerConn ?? 4 * 1024 * 1024, opts.maxBufferedBytesTotal ?? 256 * 1024 * 1024);
    for (const [k, v] of Object.entries({ idleTimeoutSeconds: this.idleTimeout, idleGapThresholdSeconds: this.idleGapThreshold, reorderWindowSeconds: this.reorderWindow, duplicateWindowSeconds: this.dupWindow, closeLingerSeconds: this.linger })) {
      if (!(v >= 0)) throw new RangeError(`FlowOptions.${k} must be a non-negative number, got ${v}`);
    }
    if (!(this.maxConnections >= 1)) throw new RangeError(`FlowOptions.maxConnections must be at least 1, got ${this.maxConnections}`);
  }

  /** Connections currently tracked. */
  get size(): number {
    return this.stats.activeConnections;
  }

  /**
   * Feeds one decoded packet. Non-TCP packets, fragments and packets whose TCP header did not
   * decode are counted and ignored. `capturePoint` names where it was captured ('' if plain).
   */
  ingest(rec: PacketRecord, pkt: PacketDecoder, capturePoint = ''): void {
    this.stats.packets++;
    const k = segmentOf(this.seg, rec, pkt);
    if (k !== SEGMENT_OK) {
      if (k === SEGMENT_SKIPPED) this.stats.skippedPackets++;
      else {
        this.stats.nonTcpPackets++;
        if (pkt.transport === 1 && this.handler.onIcmpError !== undefined) {
          const ev = icmpErrorEvent(rec, pkt, capturePoint);
          if (ev !== null) this.handler.onIcmpError(ev);
        }
      }
      return;
    }
    this.ingestSegment(this.seg, capturePoint);
  }

  /** Feeds one TCP segment (what `ingest` does after decoding; tests call it directly). */
  ingestSegment(seg: TcpSegment, capturePoint = ''): void {
    if (this.finished) throw new Error('FlowTable: ingest after finish()');
    this.stats.tcpPackets++;
    const now = seg.time;
    if (now > this.clock) this.advanceTime(now);
    // Lookup.
    const ha = mix32(addrHash(seg, true), seg.srcPort);
    const hb = mix32(addrHash(seg, false), seg.dstPort);
    let key = (ha + hb) | 0;
    if (this.perCapturePoint) key = mix32(key, strHash(capturePoint));
    let conn = this.index.chain(key);
    let dir = -1;
    while (conn !== null) {
      if (conn.keyHash === key && (!this.perCapturePoint || conn.capturePoint === capturePoint)) {
        dir = conn.match(seg);
        if (dir >= 0) break;
      }
      conn = conn.bucketNext;
    }
    const f = seg.flags;
    let previousUid: string | null = null;
    if (conn !== null && (f & SYN) !== 0 && (f & RST) === 0 && isReuse(conn, seg, dir)) {
      previousUid = conn.uid;
      this.end(conn, 'port-reuse', now);
      conn = null;
    }
    const created = conn === null;
    if (conn === null) {
      // (A connection replacing another on the same 5-tuple hashes its predecessor's uid into its
      // own, so the two never share a uid even when they start in the same microsecond.)
      conn = this.create(seg, capturePoint, key, previousUid);
      dir = conn.match(seg);
    }
    // Duplicate check: the same packet seen twice (two mirror sessions, a duplicating path). The
    // fingerprint covers the TCP checksum (so payload and options) and the IPv4 ID, which a real
    // retransmission changes.
    const h1 = mix32(mix32(mix32(mix32(key, seg.seq), seg.ack), (f << 16) | seg.window), (seg.checksum << 16) | (seg.ipId & 0xffff));
    const h2 = mix32(mix32(conn.keyHash ^ dir, seg.payloadLength), seg.tsVal);
    if (this.dups.seen(h1, h2, now, this.dupWindow) && !created) {
      conn.duplicates++;
      this.stats.duplicatePackets++;
      conn.addCapturePoint(capturePoint);
      if (this.reportDuplicates) conn.emit('duplicate', now, dir as Direction, seg.index, seg.seq, seg.ack, -1, seg.payloadLength);
      return;
    }
    if (created) {
      if (previousUid !== null) {
        conn.previousUid = previousUid;
        conn.emit('port-reuse', now, dir as Direction, seg.index, seg.seq, seg.ack, 0, seg.payloadLength, { previousUid });
      }
    } else {
      conn.addCapturePoint(capturePoint);
      this.touch(conn);
    }
    if (conn.list === LIST_NONE) this.listAppend(conn, LIST_ACTIVE);
    processSegment(this, conn, seg, dir as Direction);
  }

  /** Moves the clock: expires idle connections, lingering closed ones, and overdue holes. */
  advanceTime(time: number): void {
    if (!(time > this.clock)) return;
    this.clock = time;
    while (this.activeHead !== null && time - this.activeHead.lastTime > this.idleTimeout) {
      this.stats.timedOutConnections++;
      this.end(this.activeHead, 'timeout', this.activeHead.lastTime + this.idleTimeout);
    }
    while (this.closedHead !== null && time - this.closedHead.lingerFrom > this.linger) {
      const c = this.closedHead;
      if (time - c.lastTime <= this.linger) {
        // Packets kept arriving after the close: give it another linger period.
        c.lingerFrom = c.lastTime;
        this.listRemove(c);
        this.listAppend(c, LIST_CLOSED);
        continue;
      }
      this.end(c, 'closed', time);
    }
    if (this.pendingConns.size > 0 && time >= this.nextPendingCheck) {
      this.nextPendingCheck = time + this.reorderWindow / 2;
      for (const c of this.pendingConns) this.checkPending(c, time);
    }
  }

  /** Ends every connection (capture end); no more packets may be ingested afterwards. */
  finish(time?: number): void {
    if (this.finished) return;
    const t = time ?? (Number.isFinite(this.clock) ? this.clock : 0);
    while (this.closedHead !== null) this.end(this.closedHead, 'closed', t);
    while (this.activeHead !== null) this.end(this.activeHead, 'capture-end', t);
    this.finished = true;
  }

  // ---- internals ----

  private create(seg: TcpSegment, capturePoint: string, key: number, previousUid: string | null): Connection {
    if (this.stats.activeConnections >= this.maxConnections) {
      const victim = this.closedHead ?? this.activeHead;
      if (victim !== null) {
        this.stats.evictedConnections++;
        this.end(victim, 'evicted', seg.time);
      }
    }
    const clientIsSrc = clientIsSource(seg);
    const uid = uidOf(seg, clientIsSrc, this.perCapturePoint ? capturePoint : '', previousUid ?? '');
    const conn = new Connection(this, seg, clientIsSrc, capturePoint, key, uid);
    // (Zeek's ^: the originator is not the sender of the first packet seen.)
    conn.flipped = !clientIsSrc;
    conn.midstream = (seg.flags & SYN) === 0;
    this.index.add(conn);
    this.stats.connections++;
    this.stats.activeConnections++;
    if (this.stats.activeConnections > this.stats.peakConnections) this.stats.peakConnections = this.stats.activeConnections;
    if (this.handler.onConnectionStart) conn.sink = this.handler.onConnectionStart(conn);
    return conn;
  }

  private touch(conn: Connection): void {
    if (conn.list === LIST_ACTIVE && conn !== this.activeTail) {
      this.listRemove(conn);
      this.listAppend(conn, LIST_ACTIVE);
    }
  }

  private listAppend(c: Connection, list: number): void {
    c.list = list;
    c.listNext = null;
    if (list === LIST_ACTIVE) {
      c.listPrev = this.activeTail;
      if (this.activeTail) this.activeTail.listNext = c;
      else this.activeHead = c;
      this.activeTail = c;
    } else {
      c.listPrev = this.closedTail;
      if (this.closedTail) this.closedTail.listNext = c;
      else this.closedHead = c;
      this.closedTail = c;
    }
  }

  private listRemove(c: Connection): void {
    if (c.list === LIST_NONE) return;
    const active = c.list === LIST_ACTIVE;
    if (c.listPrev) c.listPrev.listNext = c.listNext;
    else if (active) this.activeHead = c.listNext;
    else this.closedHead = c.listNext;
    if (c.listNext) c.listNext.listPrev = c.listPrev;
    else if (active) this.activeTail = c.listPrev;
    else this.closedTail = c.listPrev;
    c.listPrev = c.listNext = null;
    c.list = LIST_NONE;
  }

  /** @internal The connection closed (FIN both ways, or a RST) at `now`: it lingers on the closed list. */
  markClosed(conn: Connection, now: number): void {
    if (conn.closed) return;
    conn.closed = true;
    this.listRemove(conn);
    conn.lingerFrom = now;
    this.listAppend(conn, LIST_CLOSED);
  }

  /** @internal Reorder-window deadlines: holes → gaps, pending acked-unseen checks (seq-analysis.ts). */
  checkPending(conn: Connection, now: number): void {
    if (resolvePending(conn, now, this.reorderWindow)) this.pendingConns.add(conn);
    else this.pendingConns.delete(conn);
  }

  /** Finalises a connection: flushes streams, emits syn-unanswered, builds and hands over the record. */
  private end(conn: Connection, cause: EndCause, time: number): void {
    this.listRemove(conn);
    this.index.remove(conn);
    this.pendingConns.delete(conn);
    this.stats.activeConnections--;
    // Pending acked-unseen checks resolve now.
    const far = Math.max(time, conn.lastTime) + this.reorderWindow + 1;
    if (conn.c.ackUnseen !== null || conn.s.ackUnseen !== null) this.checkPending(conn, far);
    closeOut(conn, cause, time);
    const rec = connectionRecord(conn, cause, this.maxMarks);
    conn.detachFromSlab();
    conn.sink = null;
    if (this.handler.onConnectionEnd) this.handler.onConnectionEnd(rec);
  }
}
