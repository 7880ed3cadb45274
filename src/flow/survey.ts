/**
 * The survey: the first pass of a targeted analysis. Every TCP packet is tracked the way the
 * FlowTable tracks it — the same originator and uid, the same port-reuse rule, the same duplicate
 * filter, the same lifetimes (idle timeout, linger after the close, eviction, and so the same
 * order in which connections end) — but with no reassembly, no sequence analysis and no stream
 * consumer. Per connection it keeps what decides whether the connection must be dissected (the
 * TCP facts: handshake, RST, FINs and whether a request was outstanding at the FIN, silences,
 * anything out of order), the fields a leg of the path model is joined and placed by, and where
 * its packets are in the capture (first and last packet: index and byte offset), so that a second
 * pass can read them again.
 *
 * "Simple" is the word for a connection whose bytes came in order from a complete handshake to a
 * FIN both ways with no request outstanding: for those the survey's facts are the FlowTable's
 * (tested against it on every capture of the corpus and the lab). Anything else is marked with
 * the reasons (`SurveyConn.complex`, the `Complex` bits) and dissected by the second pass.
 *
 * Per packet: a numeric-hash lookup, the duplicate check and a few field updates; no allocation.
 * Optional: an observer (`SurveyOptions.observe`) sees each connection's in-order payload until it
 * says it has seen enough (the TLS record walk of the analysis, src/tls/record-walk.ts).
 */
import type { PacketRecord } from '../capture/record.js';
import type { PacketDecoder } from '../wire/packet.js';
import { addrPair6 } from './addr6.js';
import { addrHash, mix32, strHash } from './conn-index.js';
import { Ep, updateStates } from './conn-state.js';
import { DuplicateFilter } from './duplicates.js';
import { clientIsSource, isReuse, uidOf } from './identity.js';
import { icmpErrorEvent } from './icmp-error.js';
import { emptyFlowStats, type FlowOptions, type FlowStats, type IcmpErrorEvent } from './options.js';
import { SEGMENT_OK, SEGMENT_SKIPPED, segmentOf, TcpSegment } from './segment.js';
import { seqGt, seqLe } from './seq.js';
import type { EndCause } from './record.js';
import { SurveyRecords } from './survey-records.js';
import { Complex, END_AT_PACKET, END_CLOCK, END_FINISH } from './survey-facts.js';

export { Complex, COMPLEX_NAMES, END_AT_PACKET, END_CLOCK, END_FINISH } from './survey-facts.js';

// TCP flags (module-local copies, as in process.ts).
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;

const LIST_NONE = 0;
const LIST_ACTIVE = 1;
const LIST_CLOSED = 2;

/** Kept marks (FINs, data after a silence) beyond which a connection is not simple (the record keeps 64). */
const MARKS_SIMPLE = 48;
/** Silences kept per connection (as the FlowTable's record). */
const MAX_IDLE_GAPS = 100;
/** Client SYN times kept (as the FlowTable's endpoint). */
const MAX_SYN_TIMES = 16;

/** One direction of a surveyed connection: what the port-reuse rule, the endpoint states and the in-order check read. */
export class SurveyEndpoint {
  state: Ep = Ep.Inactive;
  packets = 0;
  payloadBytes = 0;
  synCount = 0;
  isn = 0;
  /** The stream's first sequence number is known (SYN + 1, or the first byte of a mid-stream pickup). */
  initialized = false;
  baseSeq = 0;
  nextSeq = 0;
  nextSeqValid = false;
  lastAck = 0;
  lastAckValid = false;
  finSeen = false;
  /** Time of this side's first FIN, and the silence before it (NaN: none). */
  finTime = NaN;
  finIdle = NaN;
  /** Times of this side's first and last new payload (NaN: none). */
  firstPayloadTime = NaN;
  lastPayloadTime = NaN;

  /** Back to a fresh endpoint (the connection object is reused for another connection). */
  reset(): void {
    this.state = Ep.Inactive;
    this.packets = 0;
    this.payloadBytes = 0;
    this.synCount = 0;
    this.isn = 0;
    this.initialized = false;
    this.baseSeq = 0;
    this.nextSeq = 0;
    this.nextSeqValid = false;
    this.lastAck = 0;
    this.lastAckValid = false;
    this.finSeen = false;
    this.finTime = NaN;
    this.finIdle = NaN;
    this.firstPayloadTime = NaN;
    this.lastPayloadTime = NaN;
  }

  /** (The port-reuse rule reads `stream.initialized` and `stream.baseSeq`, as of the table's endpoint.) */
  get stream(): SurveyEndpoint {
    return this;
  }
}

/**
 * A connection as the survey tracks it while it is open. When it ends, what the analysis reads of
 * it is copied into the survey's records (flow/survey-records.ts, its row: `endOrder`) and the
 * object is reused for a later connection: hold rows, not these.
 */
export class SurveyConn {
  readonly c = new SurveyEndpoint();
  readonly s = new SurveyEndpoint();
  bucketNext: SurveyConn | null = null;
  listPrev: SurveyConn | null = null;
  listNext: SurveyConn | null = null;
  list = LIST_NONE;
  ipVersion: 4 | 6 = 4;
  cA4 = 0;
  sA4 = 0;
  /** IPv6: client address words 0-3, server 4-7 (an IPv4 connection keeps an unused one once reused). */
  a6: Int32Array | null = null;
  clientPort = 0;
  serverPort = 0;
  startTime = 0;
  lastTime = 0;
  lingerFrom = 0;
  closed = false;
  established = false;
  refused = false;
  midstream = false;
  synAckTime = NaN;
  readonly synTimes: number[] = [];
  maxIdle = 0;
  /** Silences over the threshold: start, end, seconds (flat; the first MAX_IDLE_GAPS). */
  idleGaps: number[] | null = null;
  awaitingResponse = false;
  lastPayloadDir = -1;
  /** 0 client, 1 server, -1 not closed. */
  closedBy = -1;
  closeHow: 'fin' | 'rst' | null = null;
  marks = 0;
  /** Complex bits: why this connection is not simple (0: simple). */
  complex = 0;
  /** Set by the survey when it ended. */
  endCause: EndCause | null = null;
  /** 0-based order in which connections ended (the FlowTable's onConnectionEnd order). */
  endOrder = -1;
  /** Global packet number being processed when it ended (packets() when the capture ended), and how (END_*). */
  endPacket = -1;
  endPhase = 0;
  previousUid: string | null = null;
  /** The row of the connection it replaced on its 5-tuple (-1: none). */
  previousRow = -1;
  /** First and last packet (global 0-based number across the inputs), their input and byte offset. */
  firstPacket = -1;
  firstInput = 0;
  firstOffset = 0;
  lastPacket = -1;
  lastInput = 0;
  lastOffset = 0;
  /** The observer still wants this connection's in-order payload. */
  observing = true;
  /** The observer's own state for this connection (null until it makes one; dropped at the end). */
  note: unknown = null;
  /** What the observer concluded (kept in the record: SurveyRecords.tag). */
  tag = 0;
  capturePoint = '';
  keyHash = 0;
  uid = '';

  /** Starts tracking a new connection whose first packet is `seg` (every field set afresh). */
  reset(seg: TcpSegment, clientIsSrc: boolean, capturePoint: string, keyHash: number, uid: string): void {
    this.c.reset();
    this.s.reset();
    this.bucketNext = this.listPrev = this.listNext = null;
    this.list = LIST_NONE;
    this.capturePoint = capturePoint;
    this.keyHash = keyHash;
    this.uid = uid;
    this.ipVersion = seg.ipVersion;
    this.startTime = seg.time;
    this.lastTime = seg.time;
    this.lingerFrom = 0;
    this.closed = false;
    this.established = false;
    this.refused = false;
    this.midstream = (seg.flags & SYN) === 0;
    this.synAckTime = NaN;
    this.synTimes.length = 0;
    this.maxIdle = 0;
    if (this.idleGaps !== null) this.idleGaps.length = 0;
    this.awaitingResponse = false;
    this.lastPayloadDir = -1;
    this.closedBy = -1;
    this.closeHow = null;
    this.marks = 0;
    this.complex = 0;
    this.endCause = null;
    this.endOrder = -1;
    this.endPacket = -1;
    this.endPhase = 0;
    this.previousUid = null;
    this.previousRow = -1;
    this.firstPacket = -1;
    this.firstInput = 0;
    this.firstOffset = 0;
    this.lastPacket = -1;
    this.lastInput = 0;
    this.lastOffset = 0;
    this.observing = true;
    this.note = null;
    this.tag = 0;
    this.clientPort = clientIsSrc ? seg.srcPort : seg.dstPort;
    this.serverPort = clientIsSrc ? seg.dstPort : seg.srcPort;
    if (seg.ipVersion === 4) {
      this.cA4 = clientIsSrc ? seg.src4 : seg.dst4;
      this.sA4 = clientIsSrc ? seg.dst4 : seg.src4;
    } else {
      this.cA4 = 0;
      this.sA4 = 0;
      this.a6 = addrPair6(seg, clientIsSrc, this.a6);
    }
  }

  /** 0: the segment is client → server, 1: server → client, -1: not this connection. */
  match(seg: TcpSegment): number {
    if (seg.ipVersion !== this.ipVersion) return -1;
    if (seg.ipVersion === 4) {
      if (seg.src4 === this.cA4 && seg.dst4 === this.sA4 && seg.srcPort === this.clientPort && seg.dstPort === this.serverPort) return 0;
      if (seg.src4 === this.sA4 && seg.dst4 === this.cA4 && seg.srcPort === this.serverPort && seg.dstPort === this.clientPort) return 1;
      return -1;
    }
    if (seg.srcPort === this.clientPort && seg.dstPort === this.serverPort && this.eq6(seg, seg.srcOffset, 0) && this.eq6(seg, seg.dstOffset, 4)) return 0;
    if (seg.srcPort === this.serverPort && seg.dstPort === this.clientPort && this.eq6(seg, seg.srcOffset, 4) && this.eq6(seg, seg.dstOffset, 0)) return 1;
    return -1;
  }

  private eq6(seg: TcpSegment, o: number, w: number): boolean {
    const d = seg.addrData;
    const a = this.a6!;
    for (let i = 0; i < 4; i++, o += 4) if (a[w + i] !== ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!)) return false;
    return true;
  }
}



export interface SurveyOptions extends FlowOptions {
  /** Sees in-order payload of connections whose `observing` is true (the observer clears it when done). */
  observe?(conn: SurveyConn, dir: 0 | 1, data: Uint8Array, offset: number, length: number): void;
  /** An ICMP error quoting a TCP segment (as FlowHandler.onIcmpError). */
  onIcmpError?(ev: IcmpErrorEvent): void;
}


/**
 * The first pass's connection table (see the file comment). Each connection is written to
 * `records` when the FlowTable would have ended it, in the same order (its row is its end order),
 * and `onEnd` sees it then (the object is reused afterwards).
 */
export class FlowSurvey {
  /** As the FlowTable's (what it does not do stays 0). */
  readonly stats: FlowStats = emptyFlowStats();
  private readonly idleTimeout: number;
  private readonly idleGapThreshold: number;
  private readonly maxConnections: number;
  private readonly dupWindow: number;
  private readonly linger: number;
  private readonly perCapturePoint: boolean;
  private readonly observe: SurveyOptions['observe'];
  private readonly onIcmpError: SurveyOptions['onIcmpError'];
  private heads: (SurveyConn | null)[] = new Array<SurveyConn | null>(1024).fill(null);
  private indexed = 0;
  private readonly dups = new DuplicateFilter();
  private activeHead: SurveyConn | null = null;
  private activeTail: SurveyConn | null = null;
  private closedHead: SurveyConn | null = null;
  private closedTail: SurveyConn | null = null;
  private clock = -Infinity;
  private readonly seg = new TcpSegment();
  private ended = 0;
  /** Global number of the packet being ingested, its input and byte offset (set by `at`). */
  private packet = -1;
  private input = 0;
  private offset = 0;
  private phase = END_CLOCK;
  private finished = false;
  /** Every ended connection, in end order. */
  readonly records = new SurveyRecords();
  /** Connection objects of ended connections, for reuse. */
  private readonly spare: SurveyConn[] = [];

  constructor(
    private readonly onEnd: ((conn: SurveyConn, row: number) => void) | null = null,
    opts: SurveyOptions = {},
  ) {
    this.idleTimeout = opts.idleTimeoutSeconds ?? 6000;
    this.idleGapThreshold = opts.idleGapThresholdSeconds ?? 30;
    this.maxConnections = opts.maxConnections ?? 2_000_000;
    this.dupWindow = opts.duplicateWindowSeconds ?? 0.1;
    this.linger = opts.closeLingerSeconds ?? 5;
    this.perCapturePoint = opts.perCapturePoint ?? false;
    this.observe = opts.observe;
    this.onIcmpError = opts.onIcmpError;
  }

  /** Where the next packet is: its global number, input and byte offset (call before `ingest`). */
  at(packet: number, input: number, byteOffset: number): void {
    this.packet = packet;
    this.input = input;
    this.offset = byteOffset;
  }

  /** One decoded packet (as FlowTable.ingest). */
  ingest(rec: PacketRecord, pkt: PacketDecoder, capturePoint = ''): void {
    this.stats.packets++;
    const k = segmentOf(this.seg, rec, pkt);
    if (k !== SEGMENT_OK) {
      if (k === SEGMENT_SKIPPED) this.stats.skippedPackets++;
      else {
        this.stats.nonTcpPackets++;
        if (pkt.transport === 1 && this.onIcmpError !== undefined) {
          const ev = icmpErrorEvent(rec, pkt, capturePoint);
          if (ev !== null) this.onIcmpError(ev);
        }
      }
      return;
    }
    this.ingestSegment(this.seg, capturePoint);
  }

  /** One TCP segment (as FlowTable.ingestSegment). */
  ingestSegment(seg: TcpSegment, capturePoint = ''): void {
    if (this.finished) throw new Error('FlowSurvey: ingest after finish()');
    this.stats.tcpPackets++;
    const now = seg.time;
    // The clock moves (nearly every packet): inline, with a call only when something is due (a
    // call per packet passed the time as an allocated number, and kept the hot path from inlining).
    if (now > this.clock) {
      this.clock = now;
      if (this.expiryDue(now)) this.expire(now);
    }
    const ha = mix32(addrHash(seg, true), seg.srcPort);
    const hb = mix32(addrHash(seg, false), seg.dstPort);
    let key = (ha + hb) | 0;
    if (this.perCapturePoint) key = mix32(key, strHash(capturePoint));
    let conn: SurveyConn | null = this.heads[key & (this.heads.length - 1)]!;
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
    let previousRow = -1;
    this.phase = END_AT_PACKET;
    if (conn !== null && (f & SYN) !== 0 && (f & RST) === 0 && isReuse(conn, seg, dir)) {
      previousUid = conn.uid;
      previousRow = this.end(conn, 'port-reuse');
      conn = null;
    }
    const created = conn === null;
    if (conn === null) {
      conn = this.create(seg, capturePoint, key, previousUid, previousRow);
      dir = conn.match(seg);
    }
    this.phase = END_CLOCK;
    conn.lastPacket = this.packet;
    conn.lastInput = this.input;
    conn.lastOffset = this.offset;
    const h1 = mix32(mix32(mix32(mix32(key, seg.seq), seg.ack), (f << 16) | seg.window), (seg.checksum << 16) | (seg.ipId & 0xffff));
    const h2 = mix32(mix32(conn.keyHash ^ dir, seg.payloadLength), seg.tsVal);
    if (this.dups.seen(h1, h2, now, this.dupWindow) && !created) {
      this.stats.duplicatePackets++;
      return;
    }
    if (!created && conn.list === LIST_ACTIVE && conn !== this.activeTail) {
      this.listRemove(conn);
      this.listAppend(conn, LIST_ACTIVE);
    }
    if (conn.list === LIST_NONE) this.listAppend(conn, LIST_ACTIVE);
    this.process(conn, seg, dir as 0 | 1);
  }

  /** Moves the clock (as FlowTable.advanceTime): idle connections time out, closed ones stop lingering. */
  advanceTime(time: number): void {
    if (!(time > this.clock)) return;
    this.clock = time;
    this.expire(time);
  }

  /** Whether a connection times out or stops lingering at `time` (what `expire` would do). */
  private expiryDue(time: number): boolean {
    const a = this.activeHead;
    const c = this.closedHead;
    return (a !== null && time - a.lastTime > this.idleTimeout) || (c !== null && time - c.lingerFrom > this.linger);
  }

  /** Ends what is due at `time` (the clock has moved there). */
  private expire(time: number): void {
    this.phase = END_CLOCK;
    while (this.activeHead !== null && time - this.activeHead.lastTime > this.idleTimeout) {
      this.stats.timedOutConnections++;
      this.end(this.activeHead, 'timeout');
    }
    while (this.closedHead !== null && time - this.closedHead.lingerFrom > this.linger) {
      const c = this.closedHead;
      if (time - c.lastTime <= this.linger) {
        c.lingerFrom = c.lastTime;
        this.listRemove(c);
        this.listAppend(c, LIST_CLOSED);
        continue;
      }
      this.end(c, 'closed');
    }
  }

  /** The capture ended: every connection ends (closed ones first, then the rest, as the FlowTable). */
  finish(_time?: number): void {
    if (this.finished) return;
    this.phase = END_FINISH;
    while (this.closedHead !== null) this.end(this.closedHead, 'closed');
    while (this.activeHead !== null) this.end(this.activeHead, 'capture-end');
    this.finished = true;
  }

  private create(seg: TcpSegment, capturePoint: string, key: number, previousUid: string | null, previousRow: number): SurveyConn {
    if (this.stats.activeConnections >= this.maxConnections) {
      const victim = this.closedHead ?? this.activeHead;
      if (victim !== null) {
        this.stats.evictedConnections++;
        this.end(victim, 'evicted');
      }
    }
    const clientIsSrc = clientIsSource(seg);
    const uid = uidOf(seg, clientIsSrc, this.perCapturePoint ? capturePoint : '', previousUid ?? '');
    const conn = this.spare.pop() ?? new SurveyConn();
    conn.reset(seg, clientIsSrc, capturePoint, key, uid);
    conn.previousUid = previousUid;
    conn.previousRow = previousRow;
    conn.firstPacket = this.packet;
    conn.firstInput = this.input;
    conn.firstOffset = this.offset;
    if (conn.midstream) conn.complex |= Complex.Midstream;
    if (++this.indexed > this.heads.length) this.grow();
    const i = key & (this.heads.length - 1);
    conn.bucketNext = this.heads[i]!;
    this.heads[i] = conn;
    this.stats.connections++;
    this.stats.activeConnections++;
    if (this.stats.activeConnections > this.stats.peakConnections) this.stats.peakConnections = this.stats.activeConnections;
    return conn;
  }

  private grow(): void {
    const old = this.heads;
    const heads = new Array<SurveyConn | null>(old.length * 2).fill(null);
    for (let head of old) {
      while (head !== null) {
        const next = head.bucketNext;
        const i = head.keyHash & (heads.length - 1);
        head.bucketNext = heads[i]!;
        heads[i] = head;
        head = next;
      }
    }
    this.heads = heads;
  }

  private unindex(conn: SurveyConn): void {
    const i = conn.keyHash & (this.heads.length - 1);
    let prev: SurveyConn | null = this.heads[i]!;
    if (prev === conn) this.heads[i] = conn.bucketNext;
    else {
      while (prev !== null && prev.bucketNext !== conn) prev = prev.bucketNext;
      if (prev === null) return;
      prev.bucketNext = conn.bucketNext;
    }
    conn.bucketNext = null;
    this.indexed--;
  }

  /** What one packet (not a duplicate) does to its connection: the parts of FlowTable's processSegment the survey needs. */
  private process(conn: SurveyConn, seg: TcpSegment, dir: 0 | 1): void {
    const now = seg.time;
    const fwd = dir === 0 ? conn.c : conn.s;
    const rev = dir === 0 ? conn.s : conn.c;
    const fromOrig = dir === 0;
    const f = seg.flags;
    const len = seg.payloadLength;
    const seq = seg.seq | 0;
    const first = fwd.packets === 0 && rev.packets === 0;
    const lastTime = conn.lastTime;
    const idle = first ? 0 : now - lastTime;
    if (!first && idle > conn.maxIdle) conn.maxIdle = idle;
    if (!first && idle > this.idleGapThreshold) {
      const g = (conn.idleGaps ??= []);
      if (g.length < MAX_IDLE_GAPS * 3) g.push(lastTime, now, idle);
    }
    if (now > lastTime) conn.lastTime = now;
    fwd.packets++;
    fwd.payloadBytes += len;

    if ((f & SYN) !== 0 && (f & RST) === 0) {
      if (fwd.synCount === 0 || fwd.isn !== seq) {
        fwd.isn = seq;
        if (!fwd.initialized) {
          fwd.initialized = true;
          fwd.baseSeq = (seq + 1) | 0;
        }
      }
      fwd.synCount++;
      if (fwd.synCount > 1) conn.complex |= Complex.SynRetry;
      if ((f & ACK) === 0 && fromOrig) {
        if (conn.synTimes.length < MAX_SYN_TIMES) conn.synTimes.push(now);
      } else if ((f & ACK) !== 0 && !fromOrig) {
        if (Number.isNaN(conn.synAckTime)) conn.synAckTime = now;
      }
    }
    updateStates(conn, fwd, rev, f, len, fromOrig);

    // The sequence state, as far as "in order or not" goes.
    const noSFR = (f & (SYN | FIN | RST)) === 0;
    if (!fwd.initialized && (len > 0 || (f & FIN) !== 0)) {
      fwd.initialized = true;
      fwd.baseSeq = seq;
    }
    const nextValid = fwd.nextSeqValid;
    const expected = fwd.nextSeq;
    if ((len === 0 || len === 1) && noSFR && nextValid && seq === ((expected - 1) | 0)) conn.complex |= Complex.KeepAlive;
    else if (len > 0 && (f & RST) === 0) {
      if ((f & SYN) !== 0) conn.complex |= Complex.SynData;
      if (seg.capturedPayload < len) conn.complex |= Complex.Truncated;
      if (!nextValid || seq === expected) {
        if (fwd.finSeen) conn.complex |= Complex.DataAfterFin;
        this.newPayload(conn, seg, dir, idle);
      } else if (!seqLe((seq + len) | 0, expected)) conn.complex |= Complex.OutOfOrder;
      // (else old bytes again, a retransmission: reassembly passes nothing on.)
    }
    if ((f & ACK) !== 0 && rev.nextSeqValid && seqGt(seg.ack | 0, rev.nextSeq)) conn.complex |= Complex.AckedUnseen;
    let next = (seq + len) | 0;
    if ((f & (SYN | FIN)) !== 0) next = (next + 1) | 0;
    if (len > 0 || (f & (SYN | FIN)) !== 0) {
      if (!nextValid || seqGt(next, expected)) {
        fwd.nextSeq = next;
        fwd.nextSeqValid = true;
      }
    } else if (!nextValid && (f & RST) === 0) {
      fwd.nextSeq = seq;
      fwd.nextSeqValid = true;
    }
    if ((f & RST) === 0 && (f & ACK) !== 0) {
      fwd.lastAck = seg.ack | 0;
      fwd.lastAckValid = true;
    }

    // The close.
    if ((f & RST) !== 0) {
      conn.complex |= Complex.Rst;
      if (conn.closedBy < 0) {
        conn.closedBy = dir;
        conn.closeHow = 'rst';
      }
      this.markClosed(conn, now);
    } else if ((f & FIN) !== 0 && !fwd.finSeen) {
      fwd.finSeen = true;
      fwd.finTime = now;
      fwd.finIdle = idle;
      if (conn.awaitingResponse) conn.complex |= Complex.FinRequestOutstanding;
      if (++conn.marks > MARKS_SIMPLE) conn.complex |= Complex.ManyMarks;
      if (conn.closedBy < 0) {
        conn.closedBy = dir;
        conn.closeHow = 'fin';
      }
      if (conn.c.finSeen && conn.s.finSeen) this.markClosed(conn, now);
    }
  }

  /** New payload in order: request/response turns (as flow/idle.ts newPayload) and the observer. */
  private newPayload(conn: SurveyConn, seg: TcpSegment, dir: 0 | 1, idle: number): void {
    const fwd = dir === 0 ? conn.c : conn.s;
    if (Number.isNaN(fwd.firstPayloadTime)) fwd.firstPayloadTime = seg.time;
    fwd.lastPayloadTime = seg.time;
    if (dir === 0) {
      if (!conn.awaitingResponse) {
        conn.awaitingResponse = true;
        if (idle > this.idleGapThreshold && ++conn.marks > MARKS_SIMPLE) conn.complex |= Complex.ManyMarks;
      }
    } else {
      if ((conn.awaitingResponse || conn.lastPayloadDir !== 1) && idle > this.idleGapThreshold && ++conn.marks > MARKS_SIMPLE) conn.complex |= Complex.ManyMarks;
      conn.awaitingResponse = false;
    }
    conn.lastPayloadDir = dir;
    if (conn.observing && this.observe !== undefined) {
      const captured = seg.capturedPayload < seg.payloadLength ? seg.capturedPayload : seg.payloadLength;
      this.observe(conn, dir, seg.data, seg.payloadOffset, captured);
    }
  }

  private markClosed(conn: SurveyConn, now: number): void {
    if (conn.closed) return;
    conn.closed = true;
    this.listRemove(conn);
    conn.lingerFrom = now;
    this.listAppend(conn, LIST_CLOSED);
  }

  /** Ends a connection: its record is written (returns its row), the object kept for reuse. */
  private end(conn: SurveyConn, cause: EndCause): number {
    this.listRemove(conn);
    this.unindex(conn);
    this.stats.activeConnections--;
    conn.endCause = cause;
    if (cause !== 'closed') conn.complex |= Complex.NotClosed;
    conn.endOrder = this.ended++;
    conn.endPacket = this.finished || this.phase === END_FINISH ? this.packet + 1 : this.packet;
    conn.endPhase = this.phase;
    const row = this.records.add(conn, conn.previousRow);
    if (this.onEnd !== null) this.onEnd(conn, row);
    conn.note = null;
    this.spare.push(conn);
    return row;
  }

  private listAppend(c: SurveyConn, list: number): void {
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

  private listRemove(c: SurveyConn): void {
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
}
