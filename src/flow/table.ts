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
 * See docs/flow.md for the rules (originator choice, port reuse, duplicates, reordering, events).
 */
import { createHash } from 'node:crypto';
import type { PacketRecord } from '../capture/record.js';
import type { PacketDecoder } from '../wire/packet.js';
import { ipv4ToString } from '../wire/ipv4.js';
import { ipv6ToString } from '../wire/ipv6.js';
import { communityId, ipv4Bytes } from './community-id.js';
import { connState, Ep, historyLetter, historyOnceBit, historyRepeats } from './conn-state.js';
import type { ConnectionRecord, EndCause, FinRecord, IdleGap, ResetRecord, ResetState, SeqState, TcpEvent, TcpEventType, TcpMark } from './record.js';
import { ConnSlab, type SlabSlot } from './conn-slab.js';
import { ReassemblyBudget, Seg, StreamReassembler, type ReassemblyOwner } from './reassembly.js';
import { seqDiff, seqGt, seqLe, seqLt } from './seq.js';
import type { ConnInfo, Direction, EndReason, StreamSink } from './stream.js';

const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;

export interface FlowOptions {
  /** Keep a connection with no packet this long before reporting it timed out. Default 6000 (the NLB maximum). */
  idleTimeoutSeconds?: number;
  /** Report silences (no packet either way) longer than this as idle gaps. Default 30. */
  idleGapThresholdSeconds?: number;
  /** Connections tracked at once; the least recently active is evicted (counted) beyond it. Default 2,000,000. */
  maxConnections?: number;
  /** Out-of-order bytes held per connection (both directions). Default 4 MiB. */
  maxBufferedBytesPerConn?: number;
  /** Out-of-order bytes held across all connections. Default 256 MiB. */
  maxBufferedBytesTotal?: number;
  /**
   * true: the capture point (VNI / interface) is part of the connection key, so the same 5-tuple
   * seen at two mirror sessions is two connections. false (default): one connection, its packets
   * de-duplicated across capture points. See docs/flow.md.
   */
  perCapturePoint?: boolean;
  /** How long data after a hole waits for the hole to fill before it is called a gap. Default 0.1 s. */
  reorderWindowSeconds?: number;
  /** Identical packets on a connection closer than this are duplicates. Default 0.1 s. */
  duplicateWindowSeconds?: number;
  /** After FIN/FIN or RST, keep the connection this long for stragglers. Default 5 s (Zeek's tcp_close_delay). */
  closeLingerSeconds?: number;
  /** Key packets kept per connection (ConnectionRecord.marks). Default 64; 0 disables. */
  maxMarks?: number;
  /** Also emit a 'duplicate' event for every packet dropped as a duplicate (default false: only counted). */
  reportDuplicates?: boolean;
}

export interface FlowHandler {
  /** A connection begins: return a StreamSink to receive its reassembled bytes, or null. */
  onConnectionStart?(conn: ConnInfo): StreamSink | null;
  onEvent?(ev: TcpEvent): void;
  /** The final record (closed, timed out, evicted, replaced by port reuse, or capture end). */
  onConnectionEnd?(rec: ConnectionRecord): void;
}

export interface FlowStats {
  packets: number;
  tcpPackets: number;
  nonTcpPackets: number;
  /** TCP in IP fragments (not reassembled) and truncated TCP headers. */
  skippedPackets: number;
  duplicatePackets: number;
  connections: number;
  activeConnections: number;
  peakConnections: number;
  evictedConnections: number;
  timedOutConnections: number;
  bufferOverflows: number;
  gapBytes: number;
  events: number;
}

/** One TCP packet as the table needs it (filled from a PacketDecoder, or by tests). */
export class TcpSegment {
  time = 0;
  /** Frame number (-1 if none). */
  index = -1;
  ipVersion: 4 | 6 = 4;
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses: 16 bytes at srcOffset / dstOffset of `addrData`. */
  addrData: Uint8Array = new Uint8Array(0);
  srcOffset = 0;
  dstOffset = 0;
  ipId = 0;
  /** IP packet length (header included) as sent. */
  ipLength = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  checksum = 0;
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  tsVal = -1;
  /** Payload bytes as captured: data[payloadOffset .. payloadOffset + capturedPayload). */
  data: Uint8Array = new Uint8Array(0);
  payloadOffset = 0;
  capturedPayload = 0;
  /** Payload length as sent (more than captured when the capture cut the packet). */
  payloadLength = 0;
}

function mix32(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x5bd1e995);
  return (h ^ (h >>> 15)) | 0;
}

function addrHash(seg: TcpSegment, src: boolean): number {
  if (seg.ipVersion === 4) return mix32(0x1234567, src ? seg.src4 : seg.dst4);
  const d = seg.addrData;
  let o = src ? seg.srcOffset : seg.dstOffset;
  let h = 0x7654321;
  for (let i = 0; i < 4; i++, o += 4) h = mix32(h, (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!);
  return h;
}

function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Character codes of a uid being built ("C" and 18 base-62 digits), reused. */
const uidCodes: number[] = new Array<number>(19).fill(0);

/** Deterministic connection uid: "C" + base62 of 96 bits of SHA-1 over the identifying fields. */
export function connectionUid(capturePoint: string, aAddr: string, aPort: number, bAddr: string, bPort: number, startTime: number, previousUid = ''): string {
  const d = createHash('sha1').update(`${capturePoint}|${aAddr}|${aPort}|${bAddr}|${bPort}|${startTime.toFixed(6)}|${previousUid}`).digest();
  uidCodes[0] = 0x43; // 'C'
  let at = 1;
  for (let w = 0; w < 3; w++) {
    let n = d.readUInt32BE(w * 4);
    for (let i = 0; i < 6; i++) {
      uidCodes[at++] = BASE62.charCodeAt(n % 62);
      n = Math.floor(n / 62);
    }
  }
  // One flat string: appending character by character made a chain of 7 concatenation nodes
  // (about 200 bytes) that every tracked connection kept.
  return String.fromCharCode.apply(null, uidCodes);
}

/**
 * Recent-packet fingerprints for duplicate detection: a fixed-size direct-mapped table (no memory
 * per connection). A collision can only make us miss a duplicate, never invent one, because the
 * stored value is a 52-bit fingerprint compared exactly.
 */
class DuplicateFilter {
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

interface PendingAck {
  time: number;
  ack: number;
  index: number;
}

// ---- Connection slot layout (see conn-slab.ts): offsets of each number in a slot ----

/** Doubles per connection slot: the connection's, then the two endpoints' (EP_F_FIELDS each). */
const F_FIELDS = 9 + 2 * 6;
/** 32-bit integers per connection slot: the connection's, then the two endpoints' (EP_I_FIELDS each). */
const I_FIELDS = 7 + 2 * 11;

// Connection doubles (offsets within the slot).
const F_START_TIME = 0;
const F_LAST_TIME = 1;
const F_PREVIOUS_PACKET_TIME = 2;
const F_MAX_IDLE = 3;
const F_SYNACK_TIME = 4;
const F_HANDSHAKE_ACK_TIME = 5;
const F_IDLE_BEFORE_REQUEST = 6;
/** IPv4 addresses as unsigned numbers (above 2^31 they do not fit an Int32Array slot). */
const F_CLIENT_ADDR4 = 7;
const F_SERVER_ADDR4 = 8;
/** Offset of the client endpoint's doubles; the server's follow EP_F_FIELDS later. */
const F_ENDPOINTS = 9;
const EP_F_FIELDS = 6;

// Endpoint doubles (offsets within the endpoint's part).
const EF_PACKETS = 0;
const EF_IP_BYTES = 1;
const EF_PAYLOAD_BYTES = 2;
const EF_NEXT_SEQ_TIME = 3;
const EF_LAST_ACK_TIME = 4;
const EF_FIRST_SYN_TIME = 5;

// Connection integers.
const I_CLIENT_PORT = 0;
const I_SERVER_PORT = 1;
const I_KEY_HASH = 2;
const I_LIST = 3;
const I_LAST_PAYLOAD_DIR = 4;
/** Connection booleans, one bit each (CF_*). */
const I_FLAGS = 5;
/** Once-per-direction history letters already written (conn-state.ts historyOnceBit). */
const I_HISTORY_ONCE = 6;
const I_ENDPOINTS = 7;
const EP_I_FIELDS = 11;

// Endpoint integers (sequence numbers are kept as signed 32-bit values, as seq.ts compares them).
const EI_STATE = 0;
const EI_ISN = 1;
const EI_SYN_COUNT = 2;
const EI_MSS = 3;
const EI_WINDOW_SCALE = 4;
const EI_NEXT_SEQ = 5;
const EI_MAX_SEQ_TO_BE_ACKED = 6;
const EI_LAST_ACK = 7;
const EI_DUP_ACK_NUM = 8;
const EI_WINDOW = 9;
/** Endpoint booleans, one bit each (EPF_*). */
const EI_FLAGS = 10;

const CF_FLIPPED = 1;
const CF_MIDSTREAM = 2;
const CF_ESTABLISHED = 4;
const CF_CLOSED = 8;
const CF_REFUSED = 16;
const CF_AWAITING_RESPONSE = 32;
const CF_PENDING = 64;

const EPF_SACK_PERMITTED = 1;
const EPF_NEXT_SEQ_VALID = 2;
const EPF_MAX_SEQ_VALID = 4;
const EPF_LAST_ACK_VALID = 8;
const EPF_LAST_WAS_KEEP_ALIVE = 16;
const EPF_FIN_SEEN = 32;

/** Initial values of a fresh slot: what the object fields were initialised to before. */
const F_INITIAL = new Float64Array(F_FIELDS);
const I_INITIAL = new Int32Array(I_FIELDS);
{
  for (const f of [F_PREVIOUS_PACKET_TIME, F_SYNACK_TIME, F_HANDSHAKE_ACK_TIME, F_IDLE_BEFORE_REQUEST]) F_INITIAL[f] = NaN;
  I_INITIAL[I_LAST_PAYLOAD_DIR] = -1;
  for (let e = 0; e < 2; e++) {
    F_INITIAL[F_ENDPOINTS + e * EP_F_FIELDS + EF_FIRST_SYN_TIME] = NaN;
    const ib = I_ENDPOINTS + e * EP_I_FIELDS;
    I_INITIAL[ib + EI_MSS] = -1;
    I_INITIAL[ib + EI_WINDOW_SCALE] = -1;
    I_INITIAL[ib + EI_WINDOW] = -1;
  }
}


class EndpointExtra {
  retransmissions = 0;
  payloadRetransmissions = 0;
  outOfOrder = 0;
  zeroWindows = 0;
  gapsForHistory = 0;
  ackUnseenReported = false;
  ackUnseenReportedAck = 0;
  /** Payload bytes the capture cut off (snaplen / mirror PacketLength). */
  truncatedBytes = 0;
  /** Times of the SYNs after the first (retries), up to 15. */
  laterSynTimes: number[] | null = null;
}

/**
 * One endpoint of a connection (its packets, sequence state and reassembled stream). The numbers
 * and flags live in the connection's slot of the table's ConnSlab (see conn-slab.ts); the
 * properties below read and write them there.
 */
class Endpoint {
  /** The arrays holding this endpoint's numbers, and where its part of the slot starts in each. */
  private f64: Float64Array;
  private i32: Int32Array;
  private fBase: number;
  private iBase: number;
  /** Pending acked-unseen check (the peer acknowledged bytes not seen yet), or null. */
  ackUnseen: PendingAck | null = null;
  readonly stream: StreamReassembler;
  /** Counters that stay 0 on most connections, made on first use (memory per idle connection). */
  private x: EndpointExtra | null = null;

  constructor(dir: Direction, owner: ReassemblyOwner, budget: ReassemblyBudget, at: SlabSlot) {
    this.stream = new StreamReassembler(dir, owner, budget);
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase + F_ENDPOINTS + dir * EP_F_FIELDS;
    this.iBase = at.iBase + I_ENDPOINTS + dir * EP_I_FIELDS;
  }

  /** Moves to the connection's own copy of its slot when it ends (see Connection.detachFromSlab). */
  rebase(at: SlabSlot, dir: Direction): void {
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase + F_ENDPOINTS + dir * EP_F_FIELDS;
    this.iBase = at.iBase + I_ENDPOINTS + dir * EP_I_FIELDS;
  }

  private getI(field: number): number {
    return this.i32[this.iBase + field]!;
  }
  private setI(field: number, v: number): void {
    this.i32[this.iBase + field] = v;
  }
  private getF(field: number): number {
    return this.f64[this.fBase + field]!;
  }
  private setF(field: number, v: number): void {
    this.f64[this.fBase + field] = v;
  }
  private flag(bit: number): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & bit) !== 0;
  }
  private setFlag(bit: number, on: boolean): void {
    const i = this.iBase + EI_FLAGS;
    this.i32[i] = on ? this.i32[i]! | bit : this.i32[i]! & ~bit;
  }

  get state(): Ep {
    return this.i32[this.iBase + EI_STATE]! as Ep;
  }
  set state(v: Ep) {
    this.i32[this.iBase + EI_STATE] = v;
  }
  get packets(): number {
    return this.f64[this.fBase + EF_PACKETS]!;
  }
  set packets(v: number) {
    this.f64[this.fBase + EF_PACKETS] = v;
  }
  get ipBytes(): number {
    return this.f64[this.fBase + EF_IP_BYTES]!;
  }
  set ipBytes(v: number) {
    this.f64[this.fBase + EF_IP_BYTES] = v;
  }
  get payloadBytes(): number {
    return this.f64[this.fBase + EF_PAYLOAD_BYTES]!;
  }
  set payloadBytes(v: number) {
    this.f64[this.fBase + EF_PAYLOAD_BYTES] = v;
  }
  /** Initial sequence number (signed 32-bit), valid when synCount > 0. */
  get isn(): number {
    return this.i32[this.iBase + EI_ISN]!;
  }
  set isn(v: number) {
    this.i32[this.iBase + EI_ISN] = v;
  }
  get synCount(): number {
    return this.i32[this.iBase + EI_SYN_COUNT]!;
  }
  set synCount(v: number) {
    this.i32[this.iBase + EI_SYN_COUNT] = v;
  }
  get mss(): number {
    return this.i32[this.iBase + EI_MSS]!;
  }
  set mss(v: number) {
    this.i32[this.iBase + EI_MSS] = v;
  }
  get windowScale(): number {
    return this.i32[this.iBase + EI_WINDOW_SCALE]!;
  }
  set windowScale(v: number) {
    this.i32[this.iBase + EI_WINDOW_SCALE] = v;
  }
  get sackPermitted(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_SACK_PERMITTED) !== 0;
  }
  set sackPermitted(v: boolean) {
    this.setFlag(EPF_SACK_PERMITTED, v);
  }

  // Sequence analysis (Wireshark's tcp_analyze_seq_info), raw 32-bit sequence space (signed).
  get nextSeq(): number {
    return this.i32[this.iBase + EI_NEXT_SEQ]!;
  }
  set nextSeq(v: number) {
    this.i32[this.iBase + EI_NEXT_SEQ] = v;
  }
  get nextSeqValid(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_NEXT_SEQ_VALID) !== 0;
  }
  set nextSeqValid(v: boolean) {
    this.setFlag(EPF_NEXT_SEQ_VALID, v);
  }
  get nextSeqTime(): number {
    return this.f64[this.fBase + EF_NEXT_SEQ_TIME]!;
  }
  set nextSeqTime(v: number) {
    this.f64[this.fBase + EF_NEXT_SEQ_TIME] = v;
  }
  get maxSeqToBeAcked(): number {
    return this.i32[this.iBase + EI_MAX_SEQ_TO_BE_ACKED]!;
  }
  set maxSeqToBeAcked(v: number) {
    this.i32[this.iBase + EI_MAX_SEQ_TO_BE_ACKED] = v;
  }
  get maxSeqValid(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_MAX_SEQ_VALID) !== 0;
  }
  set maxSeqValid(v: boolean) {
    this.setFlag(EPF_MAX_SEQ_VALID, v);
  }
  get lastAck(): number {
    return this.i32[this.iBase + EI_LAST_ACK]!;
  }
  set lastAck(v: number) {
    this.i32[this.iBase + EI_LAST_ACK] = v;
  }
  get lastAckValid(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_LAST_ACK_VALID) !== 0;
  }
  set lastAckValid(v: boolean) {
    this.setFlag(EPF_LAST_ACK_VALID, v);
  }
  get lastAckTime(): number {
    return this.f64[this.fBase + EF_LAST_ACK_TIME]!;
  }
  set lastAckTime(v: number) {
    this.f64[this.fBase + EF_LAST_ACK_TIME] = v;
  }
  get dupAckNum(): number {
    return this.i32[this.iBase + EI_DUP_ACK_NUM]!;
  }
  set dupAckNum(v: number) {
    this.i32[this.iBase + EI_DUP_ACK_NUM] = v;
  }
  /** Last advertised window, raw (unscaled); -1 before any. */
  get window(): number {
    return this.i32[this.iBase + EI_WINDOW]!;
  }
  set window(v: number) {
    this.i32[this.iBase + EI_WINDOW] = v;
  }
  get lastWasKeepAlive(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_LAST_WAS_KEEP_ALIVE) !== 0;
  }
  set lastWasKeepAlive(v: boolean) {
    this.setFlag(EPF_LAST_WAS_KEEP_ALIVE, v);
  }
  get finSeen(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_FIN_SEEN) !== 0;
  }
  set finSeen(v: boolean) {
    this.setFlag(EPF_FIN_SEEN, v);
  }

  /** Counts one packet sent by this endpoint (one call instead of three getter/setter pairs per packet). */
  countPacket(ipBytes: number, payloadBytes: number): void {
    const f64 = this.f64;
    const b = this.fBase;
    f64[b + EF_PACKETS]! += 1;
    f64[b + EF_IP_BYTES]! += ipBytes;
    f64[b + EF_PAYLOAD_BYTES]! += payloadBytes;
  }

  /** After a segment without RST: its window, and its ACK when it carried one (one call per packet). */
  noteWindowAndAck(window: number, ackOk: boolean, ack: number, time: number): void {
    const i32 = this.i32;
    const b = this.iBase;
    i32[b + EI_WINDOW] = window;
    if (ackOk) {
      this.f64[this.fBase + EF_LAST_ACK_TIME] = time;
      i32[b + EI_LAST_ACK] = ack;
      i32[b + EI_FLAGS]! |= EPF_LAST_ACK_VALID;
    }
  }

  /** Records the time of a SYN from this endpoint (the first 16 are kept). */
  addSynTime(time: number): void {
    if (Number.isNaN(this.getF(EF_FIRST_SYN_TIME))) this.setF(EF_FIRST_SYN_TIME, time);
    else {
      const later = (this.ex.laterSynTimes ??= []);
      if (later.length < 15) later.push(time);
    }
  }

  /** Times of the SYNs recorded by addSynTime, in order (a new array). */
  synTimes(): number[] {
    const first = this.getF(EF_FIRST_SYN_TIME);
    if (Number.isNaN(first)) return [];
    const later = this.x?.laterSynTimes;
    return later ? [first, ...later] : [first];
  }

  /** Time of the last SYN recorded, NaN if none. */
  lastSynTime(): number {
    const later = this.x?.laterSynTimes;
    return later && later.length > 0 ? later[later.length - 1]! : this.getF(EF_FIRST_SYN_TIME);
  }

  private get ex(): EndpointExtra {
    return (this.x ??= new EndpointExtra());
  }
  get retransmissions(): number {
    return this.x ? this.x.retransmissions : 0;
  }
  set retransmissions(v: number) {
    this.ex.retransmissions = v;
  }
  get payloadRetransmissions(): number {
    return this.x ? this.x.payloadRetransmissions : 0;
  }
  set payloadRetransmissions(v: number) {
    this.ex.payloadRetransmissions = v;
  }
  get outOfOrder(): number {
    return this.x ? this.x.outOfOrder : 0;
  }
  set outOfOrder(v: number) {
    this.ex.outOfOrder = v;
  }
  get zeroWindows(): number {
    return this.x ? this.x.zeroWindows : 0;
  }
  set zeroWindows(v: number) {
    this.ex.zeroWindows = v;
  }
  get gapsForHistory(): number {
    return this.x ? this.x.gapsForHistory : 0;
  }
  set gapsForHistory(v: number) {
    this.ex.gapsForHistory = v;
  }
  get ackUnseenReportedAck(): number {
    return this.x ? this.x.ackUnseenReportedAck : 0;
  }
  set ackUnseenReportedAck(v: number) {
    this.ex.ackUnseenReportedAck = v;
  }
  get truncatedBytes(): number {
    return this.x ? this.x.truncatedBytes : 0;
  }
  set truncatedBytes(v: number) {
    this.ex.truncatedBytes = v;
  }
  /** Whether an acked-unseen event was reported (then ackUnseenReportedAck is the highest such ACK). */
  get ackUnseenReported(): boolean {
    return this.x ? this.x.ackUnseenReported : false;
  }
  set ackUnseenReported(v: boolean) {
    this.ex.ackUnseenReported = v;
  }
}

const MARK_KINDS: readonly TcpMark['kind'][] = ['syn', 'synack', 'fin', 'rst', 'data', 'keep-alive'];
const MARK_FIELDS = 7;

function marksOf(m: number[] | null): TcpMark[] {
  const out: TcpMark[] = [];
  if (m === null) return out;
  for (let i = 0; i + MARK_FIELDS <= m.length; i += MARK_FIELDS) {
    out.push({ time: m[i + 1]!, fromClient: m[i + 6] === 1, kind: MARK_KINDS[m[i]!]!, length: m[i + 2]!, packet: m[i + 3]!, idleBeforeSeconds: m[i + 4]!, acksAllPeerData: m[i + 5] === -1 ? null : m[i + 5] === 1 });
  }
  return out;
}

/** SYN / SYN-ACK marks, rebuilt from the handshake fields (not stored per connection). */
function handshakeMarks(conn: Connection): TcpMark[] {
  const out: TcpMark[] = [];
  const syns = conn.c.synTimes();
  let prev = NaN;
  for (const t of syns) {
    out.push({ time: t, fromClient: true, kind: 'syn', length: 0, packet: -1, idleBeforeSeconds: Number.isNaN(prev) ? 0 : t - prev, acksAllPeerData: null });
    prev = t;
  }
  if (!Number.isNaN(conn.synAckTime)) {
    out.push({ time: conn.synAckTime, fromClient: false, kind: 'synack', length: 0, packet: -1, idleBeforeSeconds: Number.isNaN(prev) ? 0 : Math.max(0, conn.synAckTime - prev), acksAllPeerData: null });
  }
  return out;
}

/** Tag of gaps made by truncated packets (no previous-segment-not-captured event for them). */
const TRUNCATED_TAG = -2;

const LIST_NONE = 0;
const LIST_ACTIVE = 1;
const LIST_CLOSED = 2;

class ConnExtra {
  extraCapturePoints: string[] | null = null;
  idleGaps: IdleGap[] | null = null;
  idleGapCount = 0;
  resets: ResetRecord[] | null = null;
  fins: FinRecord[] | null = null;
  eventCounts: Partial<Record<TcpEventType, number>> | null = null;
  events = 0;
  duplicates = 0;
  closedBy: 0 | 1 | -1 = -1;
  closeHow: 'fin' | 'rst' | null = null;
  closeTime = NaN;
  /** Lingering after the close is measured from here (the last packet). */
  lingerFrom = NaN;
  previousUid: string | null = null;
  overflows = 0;
  /** Key packets, flat (MARK_FIELDS numbers each). */
  markNums: number[] | null = null;
}

class Connection implements ConnInfo, ReassemblyOwner {
  uid = '';
  private cid = '';
  capturePoint: string;
  readonly ipVersion: 4 | 6;
  /** IPv6 client and server addresses as 4 words each (null for IPv4: those are in the slab). */
  a6: Int32Array | null = null;
  /** Chains: same hash bucket, and the active / closed LRU list. */
  bucketNext: Connection | null = null;
  listPrev: Connection | null = null;
  listNext: Connection | null = null;
  readonly c: Endpoint;
  readonly s: Endpoint;
  /** Zeek-style history letters so far (without the leading ^ of a flipped connection). */
  historyText = '';
  sink: StreamSink | null = null;
  /** This connection's slot in the table's ConnSlab (-1 once ended) and where its numbers are. */
  private slot: number;
  private f64: Float64Array;
  private i32: Int32Array;
  private fBase: number;
  private iBase: number;
  /** Everything most connections never need (counts, closing, lists), made on first use. */
  private x: ConnExtra | null = null;

  private getF(field: number): number {
    return this.f64[this.fBase + field]!;
  }
  private setF(field: number, v: number): void {
    this.f64[this.fBase + field] = v;
  }
  private getI(field: number): number {
    return this.i32[this.iBase + field]!;
  }
  private setI(field: number, v: number): void {
    this.i32[this.iBase + field] = v;
  }
  private flag(bit: number): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & bit) !== 0;
  }
  private setFlag(bit: number, on: boolean): void {
    const i = this.iBase + I_FLAGS;
    this.i32[i] = on ? this.i32[i]! | bit : this.i32[i]! & ~bit;
  }

  get clientPort(): number {
    return this.i32[this.iBase + I_CLIENT_PORT]!;
  }
  get serverPort(): number {
    return this.i32[this.iBase + I_SERVER_PORT]!;
  }
  /** IPv4 client / server address (unsigned), 0 for IPv6. */
  get cA4(): number {
    return this.f64[this.fBase + F_CLIENT_ADDR4]!;
  }
  get sA4(): number {
    return this.f64[this.fBase + F_SERVER_ADDR4]!;
  }
  get keyHash(): number {
    return this.i32[this.iBase + I_KEY_HASH]!;
  }
  get startTime(): number {
    return this.f64[this.fBase + F_START_TIME]!;
  }
  get previousPacketTime(): number {
    return this.f64[this.fBase + F_PREVIOUS_PACKET_TIME]!;
  }
  set previousPacketTime(v: number) {
    this.f64[this.fBase + F_PREVIOUS_PACKET_TIME] = v;
  }
  get lastTime(): number {
    return this.f64[this.fBase + F_LAST_TIME]!;
  }
  set lastTime(v: number) {
    this.f64[this.fBase + F_LAST_TIME] = v;
  }
  /** Which LRU list the connection is on (LIST_*). */
  get list(): number {
    return this.i32[this.iBase + I_LIST]!;
  }
  set list(v: number) {
    this.i32[this.iBase + I_LIST] = v;
  }
  get flipped(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_FLIPPED) !== 0;
  }
  set flipped(v: boolean) {
    this.setFlag(CF_FLIPPED, v);
  }
  /** The client's SYN sequence number (unsigned), null before any SYN (ConnInfo: joins legs through NAT). */
  get clientIsn(): number | null {
    return this.c.synCount > 0 ? this.c.isn >>> 0 : null;
  }
  /** The server's SYN-ACK sequence number (unsigned), null before any. */
  get serverIsn(): number | null {
    return this.s.synCount > 0 ? this.s.isn >>> 0 : null;
  }
  /** Time of the latest packet seen on the connection. */
  get lastPacketTime(): number {
    return this.lastTime;
  }
  /** Times of the client's SYNs so far (live analysis: an attempt still unanswered). */
  get clientSynTimes(): number[] {
    return this.c.synTimes();
  }
  get midstream(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_MIDSTREAM) !== 0;
  }
  set midstream(v: boolean) {
    this.setFlag(CF_MIDSTREAM, v);
  }
  get established(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_ESTABLISHED) !== 0;
  }
  set established(v: boolean) {
    this.setFlag(CF_ESTABLISHED, v);
  }
  get maxIdle(): number {
    return this.f64[this.fBase + F_MAX_IDLE]!;
  }
  set maxIdle(v: number) {
    this.f64[this.fBase + F_MAX_IDLE] = v;
  }
  get closed(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_CLOSED) !== 0;
  }
  set closed(v: boolean) {
    this.setFlag(CF_CLOSED, v);
  }
  get synAckTime(): number {
    return this.f64[this.fBase + F_SYNACK_TIME]!;
  }
  set synAckTime(v: number) {
    this.f64[this.fBase + F_SYNACK_TIME] = v;
  }
  get handshakeAckTime(): number {
    return this.f64[this.fBase + F_HANDSHAKE_ACK_TIME]!;
  }
  set handshakeAckTime(v: number) {
    this.f64[this.fBase + F_HANDSHAKE_ACK_TIME] = v;
  }
  get refused(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_REFUSED) !== 0;
  }
  set refused(v: boolean) {
    this.setFlag(CF_REFUSED, v);
  }
  get awaitingResponse(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_AWAITING_RESPONSE) !== 0;
  }
  set awaitingResponse(v: boolean) {
    this.setFlag(CF_AWAITING_RESPONSE, v);
  }
  get idleBeforeRequest(): number {
    return this.f64[this.fBase + F_IDLE_BEFORE_REQUEST]!;
  }
  set idleBeforeRequest(v: number) {
    this.f64[this.fBase + F_IDLE_BEFORE_REQUEST] = v;
  }
  get lastPayloadDir(): number {
    return this.i32[this.iBase + I_LAST_PAYLOAD_DIR]!;
  }
  set lastPayloadDir(v: number) {
    this.i32[this.iBase + I_LAST_PAYLOAD_DIR] = v;
  }
  get pending(): boolean {
    return (this.i32[this.iBase + I_FLAGS]! & CF_PENDING) !== 0;
  }
  set pending(v: boolean) {
    this.setFlag(CF_PENDING, v);
  }

  /** Records a once-per-direction history letter (given in upper case), see conn-state.ts. */
  historyOnce(letter: string, fromOrig: boolean): void {
    const bit = historyOnceBit(letter, fromOrig);
    const written = this.getI(I_HISTORY_ONCE);
    if ((written & bit) !== 0) return;
    this.setI(I_HISTORY_ONCE, written | bit);
    this.historyText += historyLetter(letter, fromOrig);
  }

  /** Records a repeating history letter (G, T, W) when its count reaches 1, 10, 100, ... */
  historyRepeat(letter: string, fromOrig: boolean, count: number): void {
    if (historyRepeats(count)) this.historyText += historyLetter(letter, fromOrig);
  }

  /**
   * The connection ended: moves its numbers out of the table's slab into a copy of its own and
   * frees the slot, so consumers holding this object keep reading its values, not a new tenant's.
   */
  detachFromSlab(): void {
    if (this.slot < 0) return;
    const own = this.table.slab.retire(this.slot, { f64: this.f64, i32: this.i32, fBase: this.fBase, iBase: this.iBase });
    this.slot = -1;
    this.setSlot(own);
    this.c.rebase(own, 0);
    this.s.rebase(own, 1);
  }

  private setSlot(at: SlabSlot): void {
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase;
    this.iBase = at.iBase;
  }
  private get ex(): ConnExtra {
    return (this.x ??= new ConnExtra());
  }
  get extraCapturePoints(): string[] | null {
    return this.x ? this.x.extraCapturePoints : null;
  }
  set extraCapturePoints(v: string[] | null) {
    this.ex.extraCapturePoints = v;
  }
  get idleGaps(): IdleGap[] | null {
    return this.x ? this.x.idleGaps : null;
  }
  set idleGaps(v: IdleGap[] | null) {
    this.ex.idleGaps = v;
  }
  get idleGapCount(): number {
    return this.x ? this.x.idleGapCount : 0;
  }
  set idleGapCount(v: number) {
    this.ex.idleGapCount = v;
  }
  get resets(): ResetRecord[] | null {
    return this.x ? this.x.resets : null;
  }
  set resets(v: ResetRecord[] | null) {
    this.ex.resets = v;
  }
  get fins(): FinRecord[] | null {
    return this.x ? this.x.fins : null;
  }
  set fins(v: FinRecord[] | null) {
    this.ex.fins = v;
  }
  get eventCounts(): Partial<Record<TcpEventType, number>> | null {
    return this.x ? this.x.eventCounts : null;
  }
  set eventCounts(v: Partial<Record<TcpEventType, number>> | null) {
    this.ex.eventCounts = v;
  }
  get events(): number {
    return this.x ? this.x.events : 0;
  }
  set events(v: number) {
    this.ex.events = v;
  }
  get duplicates(): number {
    return this.x ? this.x.duplicates : 0;
  }
  set duplicates(v: number) {
    this.ex.duplicates = v;
  }
  get closedBy(): 0 | 1 | -1 {
    return this.x ? this.x.closedBy : -1;
  }
  set closedBy(v: 0 | 1 | -1) {
    this.ex.closedBy = v;
  }
  get closeHow(): 'fin' | 'rst' | null {
    return this.x ? this.x.closeHow : null;
  }
  set closeHow(v: 'fin' | 'rst' | null) {
    this.ex.closeHow = v;
  }
  get closeTime(): number {
    return this.x ? this.x.closeTime : NaN;
  }
  set closeTime(v: number) {
    this.ex.closeTime = v;
  }
  get lingerFrom(): number {
    return this.x ? this.x.lingerFrom : NaN;
  }
  set lingerFrom(v: number) {
    this.ex.lingerFrom = v;
  }
  get previousUid(): string | null {
    return this.x ? this.x.previousUid : null;
  }
  set previousUid(v: string | null) {
    this.ex.previousUid = v;
  }
  get overflows(): number {
    return this.x ? this.x.overflows : 0;
  }
  set overflows(v: number) {
    this.ex.overflows = v;
  }
  get markNums(): number[] | null {
    return this.x ? this.x.markNums : null;
  }
  set markNums(v: number[] | null) {
    this.ex.markNums = v;
  }

  constructor(
    readonly table: FlowTable,
    seg: TcpSegment,
    clientIsSrc: boolean,
    capturePoint: string,
    keyHash: number,
    previousUid: string | null,
  ) {
    this.capturePoint = capturePoint;
    this.ipVersion = seg.ipVersion;
    this.slot = table.slab.alloc();
    const at = table.slab.locate(this.slot);
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase;
    this.iBase = at.iBase;
    this.setF(F_START_TIME, seg.time);
    this.setF(F_LAST_TIME, seg.time);
    this.setI(I_KEY_HASH, keyHash);
    this.c = new Endpoint(0, this, table.budget, at);
    this.s = new Endpoint(1, this, table.budget, at);
    this.c.stream.peer = this.s.stream;
    this.s.stream.peer = this.c.stream;
    const src = seg.ipVersion === 4 ? ipv4ToString(seg.src4) : ipv6ToString(seg.addrData, seg.srcOffset);
    const dst = seg.ipVersion === 4 ? ipv4ToString(seg.dst4) : ipv6ToString(seg.addrData, seg.dstOffset);
    this.setI(I_CLIENT_PORT, clientIsSrc ? seg.srcPort : seg.dstPort);
    this.setI(I_SERVER_PORT, clientIsSrc ? seg.dstPort : seg.srcPort);
    if (seg.ipVersion === 4) {
      this.setF(F_CLIENT_ADDR4, clientIsSrc ? seg.src4 : seg.dst4);
      this.setF(F_SERVER_ADDR4, clientIsSrc ? seg.dst4 : seg.src4);
    } else {
      const a = new Int32Array(8);
      const d = seg.addrData;
      const co = clientIsSrc ? seg.srcOffset : seg.dstOffset;
      const so = clientIsSrc ? seg.dstOffset : seg.srcOffset;
      for (let i = 0; i < 4; i++) {
        a[i] = (d[co + i * 4]! << 24) | (d[co + i * 4 + 1]! << 16) | (d[co + i * 4 + 2]! << 8) | d[co + i * 4 + 3]!;
        a[4 + i] = (d[so + i * 4]! << 24) | (d[so + i * 4 + 1]! << 16) | (d[so + i * 4 + 2]! << 8) | d[so + i * 4 + 3]!;
      }
      this.a6 = a;
    }
    this.uid = connectionUid(table.perCapturePoint ? capturePoint : '', clientIsSrc ? src : dst, this.clientPort, clientIsSrc ? dst : src, this.serverPort, seg.time, previousUid ?? '');
  }

  /** Addresses as text, made on demand (not stored: memory per idle connection). */
  get clientAddr(): string {
    return this.addrText(0);
  }

  get serverAddr(): string {
    return this.addrText(4);
  }

  private addrText(w: number): string {
    if (this.ipVersion === 4) return ipv4ToString(w === 0 ? this.cA4 : this.sA4);
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < 4; i++) dv.setInt32(i * 4, this.a6![w + i]!);
    return ipv6ToString(b, 0);
  }

  get communityId(): string {
    if (this.cid === '') {
      if (this.ipVersion === 4) {
        this.cid = communityId(ipv4Bytes(this.cA4), this.clientPort, ipv4Bytes(this.sA4), this.serverPort);
      } else {
        const a = this.a6!;
        const bytes = new Uint8Array(32);
        const dv = new DataView(bytes.buffer);
        for (let i = 0; i < 8; i++) dv.setInt32(i * 4, a[i]!);
        this.cid = communityId(bytes.subarray(0, 16), this.clientPort, bytes.subarray(16), this.serverPort);
      }
    }
    return this.cid;
  }

  /** 0: segment goes client → server; 1: server → client; -1: not this connection. */
  match(seg: TcpSegment): number {
    if (seg.ipVersion !== this.ipVersion) return -1;
    // (Read from the slot once: this runs for every packet.)
    const clientPort = this.clientPort;
    const serverPort = this.serverPort;
    if (seg.ipVersion === 4) {
      const cA4 = this.cA4;
      const sA4 = this.sA4;
      if (seg.src4 === cA4 && seg.dst4 === sA4 && seg.srcPort === clientPort && seg.dstPort === serverPort) return 0;
      if (seg.src4 === sA4 && seg.dst4 === cA4 && seg.srcPort === serverPort && seg.dstPort === clientPort) return 1;
      return -1;
    }
    if (seg.srcPort === clientPort && seg.dstPort === serverPort && this.eq6(seg, seg.srcOffset, 0) && this.eq6(seg, seg.dstOffset, 4)) return 0;
    if (seg.srcPort === serverPort && seg.dstPort === clientPort && this.eq6(seg, seg.srcOffset, 4) && this.eq6(seg, seg.dstOffset, 0)) return 1;
    return -1;
  }

  private eq6(seg: TcpSegment, o: number, w: number): boolean {
    const d = seg.addrData;
    const a = this.a6!;
    for (let i = 0; i < 4; i++, o += 4) if (a[w + i] !== ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!)) return false;
    return true;
  }

  addCapturePoint(cp: string): void {
    if (cp === this.capturePoint) return;
    if (this.extraCapturePoints === null) this.extraCapturePoints = [cp];
    else if (!this.extraCapturePoints.includes(cp) && this.extraCapturePoints.length < 16) this.extraCapturePoints.push(cp);
  }

  // ---- ReassemblyOwner ----

  streamData(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    if (this.sink !== null) this.sink.data(dir, bytes, offset, length, streamOffset, time);
  }

  streamGap(dir: Direction, streamOffset: number, length: number, time: number, afterTime: number, afterTag: number): void {
    const ep = dir === 0 ? this.c : this.s;
    ep.gapsForHistory++;
    this.historyRepeat('G', dir === 0, ep.gapsForHistory);
    this.table.stats.gapBytes += length;
    if (!Number.isNaN(afterTime) && afterTag !== TRUNCATED_TAG) {
      const seq = (ep.stream.baseSeq + streamOffset + length) | 0;
      this.table.emit(this, 'previous-segment-not-captured', afterTime, dir, afterTag, seq, NaN, streamOffset + length, 0, { missingBytes: length });
    }
    if (this.sink !== null) this.sink.gap(dir, streamOffset, length, time);
  }

  streamEnd(dir: Direction, reason: EndReason, time: number): void {
    if (this.sink !== null) this.sink.end(dir, reason, time);
  }
}

/**
 * Tracked connections by key hash: an array of chain heads whose size is a power of two and at
 * least the number of connections, chained through `Connection.bucketNext`. (A Map<number,
 * Connection> cost about 68 bytes per connection; this costs 8 to 16.)
 */
class ConnIndex {
  private heads: (Connection | null)[] = new Array<Connection | null>(1024).fill(null);
  private count = 0;

  /** The first connection of the chain `key` falls in (the chain also holds other keys). */
  chain(key: number): Connection | null {
    return this.heads[key & (this.heads.length - 1)]!;
  }

  add(conn: Connection): void {
    if (++this.count > this.heads.length) this.grow();
    this.push(this.heads, conn);
  }

  remove(conn: Connection): void {
    const i = conn.keyHash & (this.heads.length - 1);
    let prev: Connection | null = this.heads[i]!;
    if (prev === conn) {
      this.heads[i] = conn.bucketNext;
    } else {
      while (prev !== null && prev.bucketNext !== conn) prev = prev.bucketNext;
      if (prev === null) return;
      prev.bucketNext = conn.bucketNext;
    }
    conn.bucketNext = null;
    this.count--;
  }

  private push(heads: (Connection | null)[], conn: Connection): void {
    const i = conn.keyHash & (heads.length - 1);
    conn.bucketNext = heads[i]!;
    heads[i] = conn;
  }

  private grow(): void {
    const old = this.heads;
    const heads = new Array<Connection | null>(old.length * 2).fill(null);
    for (let head of old) {
      while (head !== null) {
        const next = head.bucketNext;
        this.push(heads, head);
        head = next;
      }
    }
    this.heads = heads;
  }
}

export class FlowTable {
  readonly stats: FlowStats = {
    packets: 0,
    tcpPackets: 0,
    nonTcpPackets: 0,
    skippedPackets: 0,
    duplicatePackets: 0,
    connections: 0,
    activeConnections: 0,
    peakConnections: 0,
    evictedConnections: 0,
    timedOutConnections: 0,
    bufferOverflows: 0,
    gapBytes: 0,
    events: 0,
  };
  readonly budget: ReassemblyBudget;
  /** Numbers and flags of the tracked connections (see conn-slab.ts). */
  readonly slab = new ConnSlab(F_INITIAL, I_INITIAL);
  readonly perCapturePoint: boolean;
  private readonly idleTimeout: number;
  private readonly idleGapThreshold: number;
  private readonly maxConnections: number;
  private readonly reorderWindow: number;
  private readonly dupWindow: number;
  private readonly linger: number;
  private readonly maxMarks: number;
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
    private readonly handler: FlowHandler,
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
    if (pkt.transport !== 6 || !pkt.tcpOk) {
      if (pkt.transport === 6) this.stats.skippedPackets++;
      else this.stats.nonTcpPackets++;
      return;
    }
    const s = this.seg;
    const t = pkt.tcp;
    s.time = rec.time;
    s.index = rec.index;
    s.data = pkt.data;
    let declaredUpper: number;
    let ipHeader: number;
    if (pkt.ipVersion === 4) {
      const ip = pkt.ip4;
      if (ip.isFragment) {
        this.stats.skippedPackets++;
        return;
      }
      s.ipVersion = 4;
      s.src4 = ip.src;
      s.dst4 = ip.dst;
      s.ipId = ip.id;
      declaredUpper = ip.declaredUpperLength;
      ipHeader = ip.headerLength;
    } else {
      const ip = pkt.ip6;
      if (ip.isFragment) {
        this.stats.skippedPackets++;
        return;
      }
      s.ipVersion = 6;
      s.addrData = pkt.data;
      s.srcOffset = ip.srcOffset;
      s.dstOffset = ip.dstOffset;
      s.ipId = 0;
      declaredUpper = ip.declaredUpperLength;
      ipHeader = ip.headerLength;
    }
    s.srcPort = t.srcPort;
    s.dstPort = t.dstPort;
    s.seq = t.seq;
    s.ack = t.ack;
    s.flags = t.flags;
    s.window = t.window;
    s.checksum = t.checksum;
    s.mss = t.mss;
    s.windowScale = t.windowScale;
    s.sackPermitted = t.sackPermitted;
    s.tsVal = t.hasTimestamps ? t.tsVal : -1;
    s.payloadOffset = pkt.payloadOffset;
    s.capturedPayload = pkt.payloadLength;
    const declaredPayload = declaredUpper - t.headerLength;
    s.payloadLength = declaredPayload > s.capturedPayload ? declaredPayload : s.capturedPayload;
    s.ipLength = ipHeader + t.headerLength + s.payloadLength;
    this.ingestSegment(s, capturePoint);
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
    if (conn !== null && (f & SYN) !== 0 && (f & RST) === 0 && this.isReuse(conn, seg, dir)) {
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
      if (this.reportDuplicates) this.emit(conn, 'duplicate', now, dir as Direction, seg.index, seg.seq, seg.ack, -1, seg.payloadLength);
      return;
    }
    if (created) {
      if (previousUid !== null) {
        conn.previousUid = previousUid;
        this.emit(conn, 'port-reuse', now, dir as Direction, seg.index, seg.seq, seg.ack, 0, seg.payloadLength, { previousUid });
      }
    } else {
      conn.addCapturePoint(capturePoint);
      this.touch(conn);
    }
    if (conn.list === LIST_NONE) this.listAppend(conn, LIST_ACTIVE);
    this.process(conn, seg, dir as Direction);
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

  /**
   * A SYN on an existing connection starts a new one (port reuse) unless it is this connection's
   * own SYN again: the same ISN as its earlier SYN, or the ISN its first byte implies (a SYN seen
   * late, after the SYN-ACK or the data). Like Wireshark, a client SYN with a different ISN starts
   * a new connection even while the first is unanswered (a new socket on the same port).
   */
  private isReuse(conn: Connection, seg: TcpSegment, dir: number): boolean {
    const ep = dir === 0 ? conn.c : conn.s;
    const seq = seg.seq | 0;
    if (ep.synCount > 0 && ep.isn === seq) return false;
    if (ep.synCount === 0 && ep.stream.initialized && ep.stream.baseSeq === ((seq + 1) | 0)) return false;
    const peer = dir === 0 ? conn.s : conn.c;
    if (ep.synCount === 0 && peer.synCount > 0 && peer.lastAckValid && peer.lastAck === ((seq + 1) | 0)) return false;
    // A SYN-ACK that acknowledges the SYN we saw answers it, even after an (injected) RST closed it.
    if ((seg.flags & ACK) !== 0 && peer.synCount > 0 && (seg.ack | 0) === ((peer.isn + 1) | 0)) return false;
    if (conn.closed) return true;
    if ((seg.flags & ACK) !== 0) return false; // SYN-ACK: belongs to the handshake in progress
    if (dir === 0 && conn.c.synCount > 0) return true;
    return dir === 0 && conn.established;
  }

  private create(seg: TcpSegment, capturePoint: string, key: number, previousUid: string | null): Connection {
    if (this.stats.activeConnections >= this.maxConnections) {
      const victim = this.closedHead ?? this.activeHead;
      if (victim !== null) {
        this.stats.evictedConnections++;
        this.end(victim, 'evicted', seg.time);
      }
    }
    const f = seg.flags;
    let clientIsSrc: boolean;
    let flipped = false;
    let midstream = false;
    if ((f & SYN) !== 0 && (f & ACK) === 0) clientIsSrc = true;
    else if ((f & SYN) !== 0) {
      clientIsSrc = false;
      flipped = true;
    } else {
      midstream = true;
      clientIsSrc = guessClientIsSrc(seg.srcPort, seg.dstPort);
      flipped = !clientIsSrc;
    }
    const conn = new Connection(this, seg, clientIsSrc, capturePoint, key, previousUid);
    conn.flipped = flipped;
    conn.midstream = midstream;
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

  /** @internal used by connections to raise events. */
  emit(conn: Connection, type: TcpEventType, time: number, dir: Direction, packet: number, seq: number, ack: number, streamOffset: number, len: number, detail?: Partial<TcpEvent>): void {
    conn.events++;
    this.stats.events++;
    const counts = (conn.eventCounts ??= {});
    counts[type] = (counts[type] ?? 0) + 1;
    if (!this.handler.onEvent) return;
    const ev: TcpEvent = {
      type,
      time,
      uid: conn.uid,
      dir,
      from: dir === 0 ? 'client' : 'server',
      packet,
      seq: Number.isNaN(seq) ? -1 : seq >>> 0,
      ack: Number.isNaN(ack) ? -1 : ack >>> 0,
      streamOffset,
      len,
      ...detail,
    };
    this.handler.onEvent(ev);
  }

  private mark(conn: Connection, kind: TcpMark['kind'], seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null): void {
    if (this.maxMarks <= 0) return;
    const m = (conn.markNums ??= []);
    // Full: drop the oldest after the first 8 (the handshake stays, the most recent are kept).
    if (m.length >= this.maxMarks * MARK_FIELDS) m.splice(Math.min(8, this.maxMarks - 1) * MARK_FIELDS, MARK_FIELDS);
    m.push(MARK_KINDS.indexOf(kind), seg.time, seg.payloadLength, seg.index, idle, acksAll === null ? -1 : acksAll ? 1 : 0, dir === 0 ? 1 : 0);
  }

  /** Everything one packet does to its connection. */
  private process(conn: Connection, seg: TcpSegment, dir: Direction): void {
    const now = seg.time;
    const fwd = dir === 0 ? conn.c : conn.s;
    const rev = dir === 0 ? conn.s : conn.c;
    const fromOrig = dir === 0;
    const f = seg.flags;
    const len = seg.payloadLength;
    const overflowsBefore = this.budget.overflows;

    // Time, idle gaps.
    const first = fwd.packets === 0 && rev.packets === 0;
    const lastTime = conn.lastTime;
    const idle = first ? 0 : now - lastTime;
    if (!first && idle > conn.maxIdle) conn.maxIdle = idle;
    if (!first && idle > this.idleGapThreshold) {
      conn.idleGapCount++;
      const gap: IdleGap = { start: lastTime, end: now, seconds: idle };
      if ((conn.idleGaps ??= []).length < 100) conn.idleGaps.push(gap);
      this.emit(conn, 'idle-gap', now, dir, seg.index, seg.seq, seg.ack, -1, len, { idleSeconds: idle, start: gap.start, end: gap.end });
    }
    conn.previousPacketTime = first ? NaN : lastTime;
    if (now > lastTime) conn.lastTime = now;
    fwd.countPacket(seg.ipLength, len);

    // Options from SYNs.
    if ((f & SYN) !== 0) {
      if (seg.mss >= 0) fwd.mss = seg.mss;
      if (seg.windowScale >= 0) fwd.windowScale = seg.windowScale > 14 ? 14 : seg.windowScale;
      if (seg.sackPermitted) fwd.sackPermitted = true;
    }

    // Handshake bookkeeping.
    if ((f & SYN) !== 0 && (f & RST) === 0) {
      if (fwd.synCount === 0 || fwd.isn !== (seg.seq | 0)) {
        fwd.isn = seg.seq | 0;
        if (!fwd.stream.initialized) fwd.stream.init((seg.seq + 1) | 0);
      }
      fwd.synCount++;
      if ((f & ACK) === 0 && fromOrig) {
        fwd.addSynTime(now);
        // (SYN and SYN-ACK marks are made from synTimes / synAckTime in the record.)
      } else if ((f & ACK) !== 0 && !fromOrig) {
        if (Number.isNaN(conn.synAckTime)) conn.synAckTime = now;
      }
    }
    if (fromOrig && (f & (SYN | RST | FIN)) === 0 && (f & ACK) !== 0 && !Number.isNaN(conn.synAckTime) && Number.isNaN(conn.handshakeAckTime)) {
      conn.handshakeAckTime = now;
    }

    // History letters (Zeek order: S/H, I/Q, F, R, D, A).
    if ((f & SYN) !== 0) {
      conn.historyOnce((f & ACK) !== 0 ? 'H' : 'S', fromOrig);
      if ((f & RST) !== 0) conn.historyOnce('I', fromOrig);
      if ((f & FIN) !== 0) conn.historyOnce('Q', fromOrig);
    }
    if ((f & FIN) !== 0) conn.historyOnce('F', fromOrig);
    if ((f & RST) !== 0) conn.historyOnce('R', fromOrig);
    if (len > 0) conn.historyOnce('D', fromOrig);
    else if ((f & (SYN | FIN | RST)) === 0 && (f & ACK) !== 0) conn.historyOnce('A', fromOrig);

    // Endpoint states (Zeek's TCP endpoint state machine, simplified).
    this.updateStates(conn, fwd, rev, f, len, fromOrig);

    // Sequence analysis and reassembly.
    // (Only a RST or FIN record needs it: whether its ACK covers everything the peer sent.)
    const ackAllPeer = (f & (RST | FIN)) !== 0 && (f & ACK) !== 0 ? this.acksAll(rev, seg.ack | 0) : null;
    this.analyze(conn, fwd, rev, seg, dir, idle);

    // Request/response turns (for reset/FIN state).
    // (done in analyze through newPayload())

    // Close bookkeeping.
    if ((f & RST) !== 0) this.onReset(conn, fwd, rev, seg, dir, idle, ackAllPeer);
    else if ((f & FIN) !== 0 && !fwd.finSeen) this.onFin(conn, fwd, seg, dir, idle, ackAllPeer);

    if (conn.pending || fwd.stream.hasHeld || rev.stream.hasHeld || fwd.ackUnseen !== null || rev.ackUnseen !== null) {
      this.checkPending(conn, now);
    }
    const o = this.budget.overflows - overflowsBefore;
    if (o !== 0) {
      conn.overflows += o;
      this.stats.bufferOverflows += o;
    }
  }

  private updateStates(conn: Connection, fwd: Endpoint, rev: Endpoint, f: number, len: number, fromOrig: boolean): void {
    if ((f & RST) !== 0) {
      if (fromOrig && fwd.state === Ep.SynSent && rev.state === Ep.Inactive) conn.refused = false;
      if (!fromOrig && (rev.state === Ep.SynSent || rev.state === Ep.SynAckSent)) conn.refused = true;
      fwd.state = Ep.Reset;
      return;
    }
    if ((f & SYN) !== 0) {
      if ((f & ACK) === 0) {
        if (fwd.state === Ep.Inactive || fwd.state === Ep.SynSent) fwd.state = Ep.SynSent;
      } else if (fwd.state === Ep.Inactive || fwd.state === Ep.SynSent || fwd.state === Ep.SynAckSent) {
        if (fromOrig) fwd.state = Ep.SynAckSent;
        else {
          if (rev.state === Ep.SynSent) rev.state = Ep.Established;
          fwd.state = Ep.Established;
          conn.established = true;
        }
      }
    }
    if ((f & FIN) !== 0) {
      fwd.state = Ep.Closed;
      return;
    }
    if ((f & SYN) === 0) {
      if (fwd.state === Ep.Inactive) {
        fwd.state = Ep.Partial;
        if (len > 0) conn.established = true;
      }
      if (fwd.state === Ep.SynAckSent && fromOrig) fwd.state = Ep.Established;
    }
  }

  /** Does an ACK value cover all the data (and FIN) the other endpoint has sent? */
  private acksAll(peer: Endpoint, ack: number): boolean | null {
    if (!peer.nextSeqValid) return null;
    return seqLe(peer.nextSeq, ack);
  }

  /** Unacknowledged payload bytes `ep` has sent, judged by `peer`'s last ACK. */
  private unacked(ep: Endpoint, peer: Endpoint): number {
    if (!ep.stream.initialized || !peer.lastAckValid) return 0;
    const acked = ep.stream.offsetOf(peer.lastAck);
    const n = ep.stream.maxEnd - acked;
    return n > 0 ? n : 0;
  }

  /**
   * Wireshark's tcp_analyze_sequence_number (4.0), except that reordering is judged by sequence
   * coverage (did these bytes arrive before?) instead of by arrival time, and holes are reported
   * after the reorder window instead of at once. Then reassembly.
   */
  private analyze(conn: Connection, fwd: Endpoint, rev: Endpoint, seg: TcpSegment, dir: Direction, idle: number): void {
    const f = seg.flags;
    const seq = seg.seq | 0;
    const ack = seg.ack | 0;
    const len = seg.payloadLength;
    const now = seg.time;
    const win = seg.window;
    const noSFR = (f & (SYN | FIN | RST)) === 0;
    const ackOk = (f & ACK) !== 0;
    const idx = seg.index;
    const streamOff = fwd.stream.initialized ? fwd.stream.offsetOf(seq) : 0;
    let keepAlive = false;
    let zeroWindowProbe = false;
    let dupAck = false;
    // The sequence state before this packet, read once: the checks below compare against it and
    // nothing changes it before "Update the sequence state".
    const fwdNextSeqValid = fwd.nextSeqValid;
    const fwdNextSeq = fwd.nextSeq;
    const fwdWindow = fwd.window;
    const revWindow = rev.window;
    /** Same sequence number and ACK as the sender's previous segment (window update, keep-alive ACK, duplicate ACK). */
    const sameSeqAndAck = fwdNextSeqValid && seq === fwdNextSeq && fwd.lastAckValid && ack === fwd.lastAck && noSFR;

    // Mid-stream pickup: the first byte (or FIN) seen is offset 0.
    if (!fwd.stream.initialized && (len > 0 || (f & FIN) !== 0)) fwd.stream.init(seq);

    // ZERO WINDOW PROBE
    if (len === 1 && fwdNextSeqValid && seq === fwdNextSeq && revWindow === 0) {
      zeroWindowProbe = true;
      this.emit(conn, 'zero-window-probe', now, dir, idx, seq, ack, streamOff, len);
    }
    // ZERO WINDOW
    if (win === 0 && noSFR) {
      fwd.zeroWindows++;
      conn.historyRepeat('W', dir === 0, fwd.zeroWindows);
      this.emit(conn, 'zero-window', now, dir, idx, seq, ack, streamOff, len, { windowBytes: 0 });
    }
    let skipToFinished = zeroWindowProbe;
    // KEEP ALIVE
    if (!skipToFinished && (len === 0 || len === 1) && fwdNextSeqValid && seq === ((fwdNextSeq - 1) | 0) && noSFR) {
      keepAlive = true;
      skipToFinished = true;
      this.emit(conn, 'keep-alive', now, dir, idx, seq, ack, streamOff, len, { idleSeconds: idle });
      this.mark(conn, 'keep-alive', seg, dir, idle, null);
    }
    // WINDOW UPDATE
    if (!skipToFinished && len === 0 && win !== 0 && fwdWindow >= 0 && win !== fwdWindow && sameSeqAndAck) {
      skipToFinished = true;
      this.emit(conn, 'window-update', now, dir, idx, seq, ack, streamOff, len, { windowBytes: this.scaledWindow(fwd, rev, win) });
    }
    // WINDOW FULL
    if (!skipToFinished && len > 0 && noSFR && rev.lastAckValid && revWindow >= 0 && this.scaleKnown(rev, fwd)) {
      const revWindowBytes = this.scaledWindow(rev, fwd, revWindow);
      const edge = (rev.lastAck + revWindowBytes) | 0;
      if (((seq + len) | 0) === edge) this.emit(conn, 'window-full', now, dir, idx, seq, ack, streamOff, len, { windowBytes: revWindowBytes });
    }
    // KEEP ALIVE ACK
    if (!skipToFinished && len === 0 && win !== 0 && win === fwdWindow && sameSeqAndAck && rev.lastWasKeepAlive) {
      skipToFinished = true;
      this.emit(conn, 'keep-alive-ack', now, dir, idx, seq, ack, streamOff, len);
    }
    // DUPLICATE ACK
    if (!skipToFinished && len === 0 && win !== 0 && win === fwdWindow && sameSeqAndAck) {
      dupAck = true;
      fwd.dupAckNum++;
      this.emit(conn, 'duplicate-ack', now, dir, idx, seq, ack, streamOff, len, { dupAckNum: fwd.dupAckNum });
    }
    if (!dupAck && fwd.dupAckNum !== 0) fwd.dupAckNum = 0;

    // ACKED UNSEEN SEGMENT: judged after the reorder window (the data may be reordered behind the ACK).
    if (ackOk && rev.maxSeqValid && seqGt(ack, rev.maxSeqToBeAcked) && rev.ackUnseen === null && !(rev.ackUnseenReported && seqLe(ack, rev.ackUnseenReportedAck))) {
      rev.ackUnseen = { time: now, ack, index: idx };
      conn.pending = true;
    }

    // Reassembly (tells whether the bytes are new).
    let segFlags = 0;
    if (len > 0 && (f & RST) === 0) {
      const captured = seg.capturedPayload < len ? seg.capturedPayload : len;
      if (captured > 0) segFlags = fwd.stream.segment(seq, seg.data, seg.payloadOffset, captured, now, idx);
      if (captured < len) {
        fwd.truncatedBytes += len - captured;
        fwd.stream.missing((seq + captured) | 0, len - captured, now, TRUNCATED_TAG);
      }
      if (segFlags & Seg.Inconsistent) this.emit(conn, 'inconsistent-overlap', now, dir, idx, seq, ack, streamOff, len);
      if (segFlags & Seg.New) this.newPayload(conn, seg, dir, idle);
    }

    // RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER
    if (!keepAlive && (len > 0 || (f & (SYN | FIN)) !== 0)) {
      const notAdvanced = fwdNextSeqValid && seqLt(seq, fwdNextSeq);
      if (notAdvanced) {
        let type: TcpEventType | null = null;
        if (rev.dupAckNum >= 2 && rev.lastAckValid && rev.lastAck === seq && now - rev.lastAckTime < 0.02) type = 'fast-retransmission';
        else if (len > 0 && (segFlags & Seg.New) !== 0 && (segFlags & Seg.Old) === 0) type = 'out-of-order';
        else if (len > 0 && rev.lastAckValid && seqLe((seq + len) | 0, rev.lastAck)) type = 'spurious-retransmission';
        else if (!zeroWindowProbe) type = 'retransmission';
        if (type === 'out-of-order') {
          fwd.outOfOrder++;
          this.emit(conn, type, now, dir, idx, seq, ack, streamOff, len, { reorderDelaySeconds: now - fwd.nextSeqTime });
        } else if (type !== null) {
          fwd.retransmissions++;
          // Zeek marks T for retransmitted payload only (not SYN/FIN retries).
          if (len > 0) conn.historyRepeat('T', dir === 0, ++fwd.payloadRetransmissions);
          this.emit(conn, type, now, dir, idx, seq, ack, streamOff, len);
        }
      }
    }

    // Update the sequence state.
    let nextSeq = (seq + len) | 0;
    if ((f & (SYN | FIN)) !== 0) nextSeq = (nextSeq + 1) | 0;
    if ((len > 0 || (f & (SYN | FIN)) !== 0) && !zeroWindowProbe) {
      // (Nothing above changed the sender's sequence state: the values read at the start hold.)
      let senderNextSeq = fwdNextSeq;
      if (!fwdNextSeqValid || seqGt(nextSeq, fwdNextSeq)) {
        fwd.nextSeq = nextSeq;
        fwd.nextSeqValid = true;
        fwd.nextSeqTime = now;
        senderNextSeq = nextSeq;
      }
      if (!fwd.maxSeqValid || seq === fwd.maxSeqToBeAcked) {
        fwd.maxSeqToBeAcked = senderNextSeq;
        fwd.maxSeqValid = true;
      }
    } else if (!fwdNextSeqValid && (f & RST) === 0) {
      // A pure ACK as the first packet of a direction: its seq is the sender's next sequence number.
      fwd.nextSeq = seq;
      fwd.nextSeqValid = true;
      fwd.nextSeqTime = now;
      fwd.maxSeqToBeAcked = seq;
      fwd.maxSeqValid = true;
    }
    if ((f & RST) === 0) fwd.noteWindowAndAck(win, ackOk, ack, now);
    fwd.lastWasKeepAlive = keepAlive;

    // FIN: the stream ends at its sequence number.
    if ((f & FIN) !== 0 && (f & RST) === 0) fwd.stream.fin((seq + len) | 0, now, idx);
  }

  private scaleKnown(a: Endpoint, b: Endpoint): boolean {
    return (a.windowScale >= 0 && b.windowScale >= 0) || (a.synCount > 0 && b.synCount > 0);
  }

  /** Window of `ep` in bytes: scaled when both SYNs carried the option (RFC 7323 §2.2). */
  private scaledWindow(ep: Endpoint, peer: Endpoint, raw: number): number {
    const shift = ep.windowScale;
    // (The shift is at most 14, see process(), so 1 << shift is exact; 2 ** shift was a pow() call per data packet.)
    if (shift >= 0 && peer.windowScale >= 0) return raw * (1 << shift);
    return raw;
  }

  /** Request/response turns: the first new client bytes after a response (or none) start a request. */
  private newPayload(conn: Connection, seg: TcpSegment, dir: Direction, idle: number): void {
    if (dir === 0) {
      if (!conn.awaitingResponse) {
        conn.awaitingResponse = true;
        conn.idleBeforeRequest = idle;
        if (idle > this.idleGapThreshold) this.mark(conn, 'data', seg, dir, idle, null);
      }
    } else {
      if ((conn.awaitingResponse || conn.lastPayloadDir !== 1) && idle > this.idleGapThreshold) this.mark(conn, 'data', seg, dir, idle, null);
      conn.awaitingResponse = false;
    }
    conn.lastPayloadDir = dir;
  }

  private seqStateOfRst(fwd: Endpoint, rev: Endpoint, seq: number): SeqState {
    // The receiver expects the sender's next sequence number (what it last acknowledged).
    if (!rev.lastAckValid && !fwd.nextSeqValid) return 'unknown';
    const expected = rev.lastAckValid ? rev.lastAck : fwd.nextSeq;
    if (seq === expected || (fwd.nextSeqValid && seq === fwd.nextSeq)) return 'exact';
    if (rev.window >= 0) {
      const w = this.scaledWindow(rev, fwd, rev.window);
      const d = seqDiff(seq, expected);
      if (d >= 0 && d < Math.max(w, 1)) return 'in-window';
    }
    return 'out-of-window';
  }

  private onReset(conn: Connection, fwd: Endpoint, rev: Endpoint, seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null): void {
    const now = seg.time;
    let state: ResetState;
    if (!conn.established) state = 'handshake';
    else if (conn.awaitingResponse) state = 'request-outstanding';
    else if (this.unacked(conn.c, conn.s) > 0 || this.unacked(conn.s, conn.c) > 0) state = 'mid-transfer';
    else state = 'idle';
    const seqState = this.seqStateOfRst(fwd, rev, seg.seq | 0);
    const unackedPeer = this.unacked(rev, fwd);
    const unackedOwn = this.unacked(fwd, rev);
    const r: ResetRecord = {
      time: now,
      from: dir === 0 ? 'client' : 'server',
      packet: seg.index,
      state,
      idleSeconds: idle,
      idleBeforeRequestSeconds: state === 'request-outstanding' ? conn.idleBeforeRequest : null,
      seqState,
      acksAllPeerData: acksAll,
      unackedPeerBytes: unackedPeer,
      unackedOwnBytes: unackedOwn,
    };
    if ((conn.resets ??= []).length < 32) conn.resets.push(r);
    this.mark(conn, 'rst', seg, dir, idle, acksAll);
    const detail: Partial<TcpEvent> = { state, idleSeconds: idle, seqState, unackedPeerBytes: unackedPeer, unackedOwnBytes: unackedOwn };
    if (state === 'request-outstanding') detail.idleBeforeRequestSeconds = conn.idleBeforeRequest;
    this.emit(conn, 'reset', now, dir, seg.index, seg.seq, seg.ack, fwd.stream.initialized ? fwd.stream.offsetOf(seg.seq) : 0, seg.payloadLength, detail);
    if (conn.closedBy < 0) {
      conn.closedBy = dir;
      conn.closeHow = 'rst';
      conn.closeTime = now;
    }
    this.markClosed(conn, now);
  }

  private onFin(conn: Connection, fwd: Endpoint, seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null): void {
    fwd.finSeen = true;
    const fin: FinRecord = { time: seg.time, from: dir === 0 ? 'client' : 'server', packet: seg.index, idleSeconds: idle, requestOutstanding: conn.awaitingResponse, acksAllPeerData: acksAll };
    (conn.fins ??= []).push(fin);
    this.mark(conn, 'fin', seg, dir, idle, acksAll);
    if (conn.closedBy < 0) {
      conn.closedBy = dir;
      conn.closeHow = 'fin';
      conn.closeTime = seg.time;
    }
    if (conn.c.finSeen && conn.s.finSeen) this.markClosed(conn, seg.time);
  }

  private markClosed(conn: Connection, now: number): void {
    if (conn.closed) return;
    conn.closed = true;
    this.listRemove(conn);
    conn.lingerFrom = now;
    this.listAppend(conn, LIST_CLOSED);
  }

  /** Reorder-window deadlines: holes → gaps, pending acked-unseen checks. */
  private checkPending(conn: Connection, now: number): void {
    const w = this.reorderWindow;
    for (let d = 0; d < 2; d++) {
      const ep = d === 0 ? conn.c : conn.s;
      if (ep.stream.hasHeld) ep.stream.expire(now, w);
      const pa = ep.ackUnseen;
      if (pa !== null && now - pa.time >= w) {
        // The peer acknowledged bytes of `ep` that the capture has not delivered within the window.
        if (!ep.maxSeqValid || seqGt(pa.ack, ep.maxSeqToBeAcked)) {
          const missing = ep.maxSeqValid ? seqDiff(pa.ack, ep.maxSeqToBeAcked) : 0;
          this.emit(conn, 'acked-unseen-segment', pa.time, (1 - d) as Direction, pa.index, NaN, pa.ack, -1, 0, { missingBytes: missing });
          ep.ackUnseenReported = true;
          ep.ackUnseenReportedAck = pa.ack;
        }
        ep.maxSeqToBeAcked = ep.nextSeq;
        ep.ackUnseen = null;
      }
    }
    const still = conn.c.stream.hasHeld || conn.s.stream.hasHeld || conn.c.ackUnseen !== null || conn.s.ackUnseen !== null;
    conn.pending = still;
    if (still) this.pendingConns.add(conn);
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
    const reason: EndReason =
      cause === 'closed' || (cause === 'port-reuse' && conn.closed) ? (conn.closeHow === 'rst' ? 'rst' : 'fin') : cause === 'port-reuse' || cause === 'evicted' ? 'evicted' : cause === 'timeout' ? 'timeout' : 'capture-end';
    for (const [ep, peer] of [[conn.c, conn.s], [conn.s, conn.c]] as const) {
      let endOffset = -1;
      if (ep.stream.initialized && peer.lastAckValid) {
        endOffset = ep.stream.offsetOf(peer.lastAck);
        // The ACK of a FIN covers one sequence number that is not a byte.
        if (ep.finSeen && ep.stream.finOffset >= 0 && endOffset > ep.stream.finOffset) endOffset = ep.stream.finOffset;
        if (endOffset > ep.stream.maxEnd + 1) endOffset = ep.stream.maxEnd; // an ACK far beyond what was seen: do not invent a huge gap
      }
      ep.stream.close(reason, Math.max(time, conn.lastTime), endOffset);
    }
    if (conn.c.synCount > 0 && conn.s.packets === 0) {
      const times = conn.c.synTimes();
      this.emit(conn, 'syn-unanswered', times[0] ?? conn.startTime, 0, -1, conn.c.isn, NaN, 0, 0, { synCount: conn.c.synCount, retries: conn.c.synCount - 1, synTimes: times });
    }
    const rec = this.record(conn, cause, time);
    conn.detachFromSlab();
    conn.sink = null;
    if (this.handler.onConnectionEnd) this.handler.onConnectionEnd(rec);
  }

  private record(conn: Connection, cause: EndCause, time: number): ConnectionRecord {
    const c = conn.c;
    const s = conn.s;
    const history = (conn.flipped ? '^' : '') + conn.historyText;
    const streamBytes = (ep: Endpoint) => (ep.stream.initialized ? Math.max(ep.stream.next, ep.stream.maxEnd) : 0);
    const cs = connState(c.state, s.state, history, streamBytes(c), streamBytes(s));
    const end = Math.max(conn.lastTime, conn.startTime);
    void time;
    const synTime = c.lastSynTime();
    const nn = (x: number) => (Number.isNaN(x) ? null : x);
    return {
      uid: conn.uid,
      communityId: conn.communityId,
      capturePoint: conn.capturePoint,
      capturePoints: [conn.capturePoint, ...(conn.extraCapturePoints ?? [])],
      ipVersion: conn.ipVersion,
      clientAddr: conn.clientAddr,
      clientPort: conn.clientPort,
      serverAddr: conn.serverAddr,
      serverPort: conn.serverPort,
      startTime: conn.startTime,
      endTime: end,
      durationSeconds: end - conn.startTime,
      endCause: cause,
      packetsFromClient: c.packets,
      packetsFromServer: s.packets,
      ipBytesFromClient: c.ipBytes,
      ipBytesFromServer: s.ipBytes,
      payloadBytesFromClient: c.payloadBytes,
      payloadBytesFromServer: s.payloadBytes,
      streamBytesFromClient: streamBytes(c),
      streamBytesFromServer: streamBytes(s),
      gapBytesFromClient: c.stream.gapBytes,
      gapBytesFromServer: s.stream.gapBytes,
      gapsFromClient: c.stream.gapCount,
      gapsFromServer: s.stream.gapCount,
      handshakeRttSeconds: nn(conn.handshakeAckTime - synTime),
      synToSynAckSeconds: nn(conn.synAckTime - synTime),
      synAckToAckSeconds: nn(conn.handshakeAckTime - conn.synAckTime),
      clientMss: c.mss >= 0 ? c.mss : null,
      serverMss: s.mss >= 0 ? s.mss : null,
      clientWindowScale: c.windowScale >= 0 ? c.windowScale : null,
      serverWindowScale: s.windowScale >= 0 ? s.windowScale : null,
      sackPermitted: c.sackPermitted && s.sackPermitted,
      connState: cs,
      history,
      closedBy: conn.closedBy < 0 ? null : conn.closedBy === 0 ? 'client' : 'server',
      closeHow: conn.closeHow,
      closeTime: nn(conn.closeTime),
      resets: conn.resets ?? [],
      fins: conn.fins ?? [],
      idleGaps: conn.idleGaps ?? [],
      idleGapCount: conn.idleGapCount,
      maxIdleSeconds: conn.maxIdle,
      midstream: conn.midstream,
      clientIsn: c.synCount > 0 ? c.isn >>> 0 : null,
      serverIsn: s.synCount > 0 ? s.isn >>> 0 : null,
      synTimes: c.synTimes(),
      synAckTime: nn(conn.synAckTime),
      refused: conn.refused,
      duplicatePackets: conn.duplicates,
      retransmissionsFromClient: c.retransmissions,
      retransmissionsFromServer: s.retransmissions,
      retransmittedBytesFromClient: c.stream.retransmittedBytes,
      retransmittedBytesFromServer: s.stream.retransmittedBytes,
      outOfOrderFromClient: c.outOfOrder,
      outOfOrderFromServer: s.outOfOrder,
      inconsistentOverlapBytes: c.stream.inconsistentBytes + s.stream.inconsistentBytes,
      bufferOverflows: conn.overflows,
      unackedBytesFromClient: this.unacked(c, s),
      unackedBytesFromServer: this.unacked(s, c),
      events: conn.events,
      eventCounts: conn.eventCounts ?? {},
      previousUid: conn.previousUid,
      marks: this.maxMarks > 0 ? handshakeMarks(conn).concat(marksOf(conn.markNums)) : [],
    };
  }
}

/**
 * Which end of a connection picked up mid-stream is the client: the one with the ephemeral port.
 * A port below 1024 is a server port; otherwise the lower port is the server's when the other is
 * in the ephemeral range (≥ 32768, Linux's default); otherwise the first sender is the client.
 */
export function guessClientIsSrc(srcPort: number, dstPort: number): boolean {
  const srcWellKnown = srcPort < 1024;
  const dstWellKnown = dstPort < 1024;
  if (dstWellKnown && !srcWellKnown) return true;
  if (srcWellKnown && !dstWellKnown) return false;
  if (srcPort >= 32768 && dstPort < 32768) return true;
  if (dstPort >= 32768 && srcPort < 32768) return false;
  return true;
}
