/**
 * One endpoint of a TCP connection: its packets, sequence state, window, SYN options and times,
 * and its reassembled stream; and the few judgements made from an endpoint and its peer (does an
 * ACK cover all the peer sent, how many bytes are unacknowledged, the window in bytes).
 *
 * The numbers and flags live in the connection's slot of the table's ConnSlab (struct of arrays,
 * see conn-slab.ts): this file defines the endpoint's part of a slot (EF_* doubles, EI_* integers,
 * EPF_* bits; the connection's part and where the two endpoint parts sit are in connection.ts),
 * and the properties below read and write it there, so the TCP logic reads as if they were fields.
 * The layout constants are module-local on purpose: V8 optimises those better than imported ones
 * (docs/flow.md, Performance). Counters that stay 0 on most connections live in an EndpointExtra
 * made on first use (memory per idle connection).
 */
import type { Ep } from './conn-state.js';
import type { SlabSlot } from './conn-slab.js';
import { StreamReassembler, type ReassemblyBudget, type ReassemblyOwner } from './reassembly.js';
import { seqLe } from './seq.js';
import type { Direction } from './stream.js';

/** Doubles of one endpoint's part of a slot. */
export const EP_F_FIELDS = 6;
/** 32-bit integers of one endpoint's part of a slot. */
export const EP_I_FIELDS = 11;

// Endpoint doubles (offsets within the endpoint's part).
const EF_PACKETS = 0;
const EF_IP_BYTES = 1;
const EF_PAYLOAD_BYTES = 2;
const EF_NEXT_SEQ_TIME = 3;
const EF_LAST_ACK_TIME = 4;
const EF_FIRST_SYN_TIME = 5;

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
/** Payload bytes of the first segment that go into its fingerprint. */
const PRINT_BYTES = 64;

/** FNV-1a (32-bit) over a number's four bytes. */
function fnvU32(h: number, v: number): number {
  h = Math.imul(h ^ (v & 0xff), 0x01000193);
  h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
  h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
  return Math.imul(h ^ (v >>> 24), 0x01000193);
}

/**
 * The fingerprint of a segment: FNV-1a over its seq, ack, length and first PRINT_BYTES payload
 * bytes. A NAT hop rewrites addresses and ports, not these: the same segment seen on both sides
 * of it has the same fingerprint (the path model joins mid-stream legs with it).
 */
export function segmentPrint(seq: number, ack: number, length: number, data: Uint8Array, offset: number, captured: number): number {
  let h = 0x811c9dc5;
  h = fnvU32(h, seq);
  h = fnvU32(h, ack);
  h = fnvU32(h, length);
  const end = offset + (captured < PRINT_BYTES ? captured : PRINT_BYTES);
  for (let i = offset; i < end; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h | 0;
}

/** The first payload segment of one direction, as a record carries it. */
export interface FirstPayload {
  /** Raw (unsigned) sequence and acknowledgment numbers. */
  seq: number;
  ack: number;
  length: number;
  /** segmentPrint(), unsigned. */
  fingerprint: number;
  time: number;
}

const EPF_SACK_PERMITTED = 1;
const EPF_NEXT_SEQ_VALID = 2;
const EPF_MAX_SEQ_VALID = 4;
const EPF_LAST_ACK_VALID = 8;
const EPF_LAST_WAS_KEEP_ALIVE = 16;
const EPF_FIN_SEEN = 32;
/** A payload segment was seen from this endpoint (its first one is then recorded, see recordFirstPayload). */
const EPF_PAYLOAD_SEEN = 64;

/** Writes a fresh endpoint's initial values (what the object fields were initialised to before the slab) into a slot template. */
export function initEndpointSlot(f64: Float64Array, fBase: number, i32: Int32Array, iBase: number): void {
  f64[fBase + EF_FIRST_SYN_TIME] = NaN;
  i32[iBase + EI_MSS] = -1;
  i32[iBase + EI_WINDOW_SCALE] = -1;
  i32[iBase + EI_WINDOW] = -1;
}

/** A pending acked-unseen check: the peer acknowledged bytes of this endpoint not seen yet. */
export interface PendingAck {
  time: number;
  ack: number;
  index: number;
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
  /** The first payload segment, when this endpoint sent no SYN (a connection picked up mid-stream). */
  firstPayload: FirstPayload | null = null;
}

/**
 * One endpoint of a connection (its packets, sequence state and reassembled stream). The numbers
 * and flags live in the connection's slot of the table's ConnSlab (see conn-slab.ts); the
 * properties below read and write them there.
 */
export class Endpoint {
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

  /** `fOffset` / `iOffset`: where this endpoint's part starts within the connection's slot (connection.ts). */
  constructor(dir: Direction, owner: ReassemblyOwner, budget: ReassemblyBudget, at: SlabSlot, fOffset: number, iOffset: number) {
    this.stream = new StreamReassembler(dir, owner, budget);
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase + fOffset;
    this.iBase = at.iBase + iOffset;
  }

  /** Moves to the connection's own copy of its slot when it ends (see Connection.detachFromSlab). */
  rebase(at: SlabSlot, fOffset: number, iOffset: number): void {
    this.f64 = at.f64;
    this.i32 = at.i32;
    this.fBase = at.fBase + fOffset;
    this.iBase = at.iBase + iOffset;
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
  /** No payload segment seen from this endpoint yet (its first one goes to recordFirstPayload). */
  get noPayloadYet(): boolean {
    return (this.i32[this.iBase + EI_FLAGS]! & EPF_PAYLOAD_SEEN) === 0;
  }
  /**
   * Notes this endpoint's first payload segment, and keeps it (one small object) when the endpoint
   * sent no SYN: a connection picked up mid-stream is joined across a NAT hop by it, one that
   * started with a SYN by its initial sequence numbers (nothing kept: memory per connection is
   * unchanged).
   */
  recordFirstPayload(seq: number, ack: number, length: number, print: number, time: number): void {
    this.setFlag(EPF_PAYLOAD_SEEN, true);
    if (this.synCount > 0) return;
    this.ex.firstPayload = { seq: seq >>> 0, ack: ack >>> 0, length, fingerprint: print >>> 0, time };
  }
  /** The first payload segment of a mid-stream endpoint, or null. */
  firstPayload(): FirstPayload | null {
    return this.x ? this.x.firstPayload : null;
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

/** Does an ACK value cover all the data (and FIN) the other endpoint has sent? */
export function acksAll(peer: Endpoint, ack: number): boolean | null {
  if (!peer.nextSeqValid) return null;
  return seqLe(peer.nextSeq, ack);
}

/** Unacknowledged payload bytes `ep` has sent, judged by `peer`'s last ACK. */
export function unacked(ep: Endpoint, peer: Endpoint): number {
  if (!ep.stream.initialized || !peer.lastAckValid) return 0;
  const acked = ep.stream.offsetOf(peer.lastAck);
  const n = ep.stream.maxEnd - acked;
  return n > 0 ? n : 0;
}

/** Whether the window of `a` can be scaled: both SYNs carried the option, or both were seen. */
export function scaleKnown(a: Endpoint, b: Endpoint): boolean {
  return (a.windowScale >= 0 && b.windowScale >= 0) || (a.synCount > 0 && b.synCount > 0);
}

/** Window of `ep` in bytes: scaled when both SYNs carried the option (RFC 7323 §2.2). */
export function scaledWindow(ep: Endpoint, peer: Endpoint, raw: number): number {
  const shift = ep.windowScale;
  // (The shift is at most 14, see flags.ts, so 1 << shift is exact; 2 ** shift was a pow() call per data packet.)
  if (shift >= 0 && peer.windowScale >= 0) return raw * (1 << shift);
  return raw;
}
