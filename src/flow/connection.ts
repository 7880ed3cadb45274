/**
 * One tracked TCP connection: its addresses and ports, both endpoints (endpoint.ts), Zeek-style
 * history, what it is handed to (the StreamSink of the next stage), and the events it raises.
 * It is the `ConnInfo` stream consumers hold, and the `ReassemblyOwner` its two reassemblers
 * report to.
 *
 * Monomorphic and slab-backed, for memory per idle connection (docs/flow.md, Memory): every number
 * and flag of the connection lives in one slot of the table's ConnSlab (struct of arrays, see
 * conn-slab.ts), whose connection part is laid out here (F_* doubles, I_* integers, CF_* bits;
 * each endpoint's part follows, laid out in endpoint.ts). The properties below are getters and
 * setters over the slot, so the TCP logic reads as if they were fields. The layout constants are
 * module-local on purpose: V8 optimises those better than imported ones (docs/flow.md,
 * Performance). What most connections never need (resets, FINs, idle gaps, event counts, marks)
 * lives in a ConnExtra made on first use. When a connection ends its numbers are copied out of
 * the slab (detachFromSlab): consumers keep the object and must never see the slot's next tenant.
 */
import { ipv4ToString } from '../wire/ipv4.js';
import { addr6Text, addrPair6 } from './addr6.js';
import { communityId, ipv4Bytes } from './community-id.js';
import { ConnSlab, type SlabSlot } from './conn-slab.js';
import { historyLetter, historyOnceBit, historyRepeats } from './conn-state.js';
import { Endpoint, EP_F_FIELDS, EP_I_FIELDS, initEndpointSlot, type FirstPayload } from './endpoint.js';
import type { FlowHandler, FlowStats } from './options.js';
import type { ReassemblyBudget, ReassemblyOwner } from './reassembly.js';
import type { FinRecord, IdleGap, ResetRecord, TcpEvent, TcpEventType } from './record.js';
import type { TcpSegment } from './segment.js';
import type { ConnInfo, Direction, EndReason, StreamSink } from './stream.js';

/**
 * What a connection, and the per-packet functions working on it (process.ts and the modules it
 * calls), use of the table it is tracked in. The FlowTable is the one object that has these, so
 * every access stays monomorphic.
 */
export interface ConnTable {
  /** Numbers and flags of the tracked connections. */
  readonly slab: ConnSlab;
  readonly budget: ReassemblyBudget;
  readonly stats: FlowStats;
  readonly handler: FlowHandler;
  /** FlowOptions.idleGapThresholdSeconds. */
  readonly idleGapThreshold: number;
  /** FlowOptions.maxMarks. */
  readonly maxMarks: number;
  /** The connection closed (FIN both ways, or a RST) at `now`: it lingers on the closed list. */
  markClosed(conn: Connection, now: number): void;
  /** Reorder-window deadlines of a connection holding data or awaiting an acked-unseen check. */
  checkPending(conn: Connection, now: number): void;
}

// ---- Connection slot layout (see conn-slab.ts): offsets of each number in a slot ----

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
/** Doubles per connection slot: the connection's, then the two endpoints' (EP_F_FIELDS each). */
const F_FIELDS = F_ENDPOINTS + 2 * EP_F_FIELDS;

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
/** Offset of the client endpoint's integers; the server's follow EP_I_FIELDS later. */
const I_ENDPOINTS = 7;
/** 32-bit integers per connection slot: the connection's, then the two endpoints' (EP_I_FIELDS each). */
const I_FIELDS = I_ENDPOINTS + 2 * EP_I_FIELDS;

const CF_FLIPPED = 1;
const CF_MIDSTREAM = 2;
const CF_ESTABLISHED = 4;
const CF_CLOSED = 8;
const CF_REFUSED = 16;
const CF_AWAITING_RESPONSE = 32;
const CF_PENDING = 64;

/** Initial values of a fresh slot: what the object fields were initialised to before. */
const F_INITIAL = new Float64Array(F_FIELDS);
const I_INITIAL = new Int32Array(I_FIELDS);
{
  for (const f of [F_PREVIOUS_PACKET_TIME, F_SYNACK_TIME, F_HANDSHAKE_ACK_TIME, F_IDLE_BEFORE_REQUEST]) F_INITIAL[f] = NaN;
  I_INITIAL[I_LAST_PAYLOAD_DIR] = -1;
  for (let e = 0; e < 2; e++) initEndpointSlot(F_INITIAL, F_ENDPOINTS + e * EP_F_FIELDS, I_INITIAL, I_ENDPOINTS + e * EP_I_FIELDS);
}

/** A slab whose slots have the connection layout above (one per FlowTable). */
export function newConnSlab(): ConnSlab {
  return new ConnSlab(F_INITIAL, I_INITIAL);
}

/** Tag of gaps made by truncated packets (no previous-segment-not-captured event for them). */
export const TRUNCATED_TAG = -2;

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

export class Connection implements ConnInfo, ReassemblyOwner {
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
  /** The first payload segment each way (live analysis: joins legs picked up mid-stream). */
  get clientFirstPayload(): FirstPayload | null {
    return this.c.firstPayload();
  }
  get serverFirstPayload(): FirstPayload | null {
    return this.s.firstPayload();
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

  /** Raises a TCP event: counted here and in the table's stats, then handed to the handler's onEvent. */
  emit(type: TcpEventType, time: number, dir: Direction, packet: number, seq: number, ack: number, streamOffset: number, len: number, detail?: Partial<TcpEvent>): void {
    const table = this.table;
    this.events++;
    table.stats.events++;
    const counts = (this.eventCounts ??= {});
    counts[type] = (counts[type] ?? 0) + 1;
    const handler = table.handler;
    if (!handler.onEvent) return;
    const ev: TcpEvent = {
      type,
      time,
      uid: this.uid,
      dir,
      from: dir === 0 ? 'client' : 'server',
      packet,
      seq: Number.isNaN(seq) ? -1 : seq >>> 0,
      ack: Number.isNaN(ack) ? -1 : ack >>> 0,
      streamOffset,
      len,
      ...detail,
    };
    handler.onEvent(ev);
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
    this.c.rebase(own, F_ENDPOINTS, I_ENDPOINTS);
    this.s.rebase(own, F_ENDPOINTS + EP_F_FIELDS, I_ENDPOINTS + EP_I_FIELDS);
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
    readonly table: ConnTable,
    seg: TcpSegment,
    clientIsSrc: boolean,
    capturePoint: string,
    keyHash: number,
    uid: string,
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
    this.c = new Endpoint(0, this, table.budget, at, F_ENDPOINTS, I_ENDPOINTS);
    this.s = new Endpoint(1, this, table.budget, at, F_ENDPOINTS + EP_F_FIELDS, I_ENDPOINTS + EP_I_FIELDS);
    this.c.stream.peer = this.s.stream;
    this.s.stream.peer = this.c.stream;
    this.setI(I_CLIENT_PORT, clientIsSrc ? seg.srcPort : seg.dstPort);
    this.setI(I_SERVER_PORT, clientIsSrc ? seg.dstPort : seg.srcPort);
    if (seg.ipVersion === 4) {
      this.setF(F_CLIENT_ADDR4, clientIsSrc ? seg.src4 : seg.dst4);
      this.setF(F_SERVER_ADDR4, clientIsSrc ? seg.dst4 : seg.src4);
    } else {
      this.a6 = addrPair6(seg, clientIsSrc);
    }
    this.uid = uid;
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
    return addr6Text(this.a6!, w);
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
      this.emit('previous-segment-not-captured', afterTime, dir, afterTag, seq, NaN, streamOffset + length, 0, { missingBytes: length });
    }
    if (this.sink !== null) this.sink.gap(dir, streamOffset, length, time);
  }

  streamEnd(dir: Direction, reason: EndReason, time: number): void {
    if (this.sink !== null) this.sink.end(dir, reason, time);
  }
}
