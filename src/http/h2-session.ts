/**
 * HTTP/2 (RFC 9113) over one connection: connection preface, frame layer for both directions,
 * HPACK per direction, streams and their ends, one transaction per stream.
 *
 *   Frame header (9 octets):
 *   +-----------------------------------------------+
 *   |                 Length (24)                   |
 *   +---------------+---------------+---------------+
 *   |   Type (8)    |   Flags (8)   |
 *   +-+-------------+---------------+-------------------------------+
 *   |R|                 Stream Identifier (31)                      |
 *   +=+=============================================================+
 *   |                   Frame Payload (0...)                      ...
 *
 * DATA payloads are counted, never copied; other payloads are copied (bounded) because they are
 * parsed whole. A capture that starts mid-connection (no preface) is synchronised on the first
 * plausible frame header chain and the HPACK state is marked unknown: statuses and static or
 * literal fields still decode, and transactions say `headersIncomplete` where they could not.
 */
import type { ConnInfo, Direction, EndReason } from '../flow/stream.js';
import { HpackDecoder, type HpackBlockResult } from './hpack.js';
import {
  addAnomaly,
  capValue,
  capPath,
  endedByOf,
  finishTimes,
  idleBefore,
  newTransaction,
  selectHeader,
  type HttpEndedBy,
  type HttpTransaction,
} from './transaction.js';

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const ERROR_CODES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function h2ErrorName(code: number): string {
  return ERROR_CODES[code] ?? `0x${code.toString(16)}`;
}

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
export const H2_PREFACE = Uint8Array.from(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));

const MAX_COPIED_PAYLOAD = 1 << 20;
const MAX_HEADER_BLOCK = 1 << 20;
const SYNC_BUFFER = 64 * 1024;

/** Whether 9 bytes at `p` look like a frame header an HTTP/2 peer would send. */
export function plausibleFrameHeader(b: Uint8Array, p: number): boolean {
  const len = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  const type = b[p + 3]!;
  const flags = b[p + 4]!;
  if (b[p + 5]! & 0x80) return false;
  const sid = ((b[p + 5]! & 0x7f) << 24) | (b[p + 6]! << 16) | (b[p + 7]! << 8) | b[p + 8]!;
  if (len > 16384 * 4) return false;
  switch (type) {
    case FrameType.DATA:
      return sid !== 0 && (flags & ~(FLAG_END_STREAM | FLAG_PADDED)) === 0;
    case FrameType.HEADERS:
      return sid !== 0 && (flags & ~(FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY)) === 0;
    case FrameType.PRIORITY:
      return sid !== 0 && len === 5;
    case FrameType.RST_STREAM:
      return sid !== 0 && len === 4;
    case FrameType.SETTINGS:
      return sid === 0 && len % 6 === 0 && (flags & ~FLAG_ACK) === 0;
    case FrameType.PUSH_PROMISE:
      return sid !== 0 && len >= 4;
    case FrameType.PING:
      return sid === 0 && len === 8;
    case FrameType.GOAWAY:
      return sid === 0 && len >= 8;
    case FrameType.WINDOW_UPDATE:
      return len === 4;
    case FrameType.CONTINUATION:
      return sid !== 0;
    default:
      return false;
  }
}


export interface H2Context {
  conn: ConnInfo;
  tls: boolean;
  nextIndex(): number;
  emit(tx: HttpTransaction): void;
}

/** Connection-level facts, kept for reports and tests. */
export interface H2ConnectionInfo {
  settings: [Record<string, number>, Record<string, number>];
  goaway: { direction: 'client' | 'server'; lastStreamId: number; errorCode: string; time: number } | null;
  pings: number;
  windowUpdates: number;
  priorityFrames: number;
  framesByType: number[];
  /** HEADERS/DATA for streams already finished (in flight when a RST_STREAM crossed them, or a peer bug). */
  framesOnClosedStreams: number;
}

const SETTING_NAMES: Record<number, string> = {
  1: 'HEADER_TABLE_SIZE',
  2: 'ENABLE_PUSH',
  3: 'MAX_CONCURRENT_STREAMS',
  4: 'INITIAL_WINDOW_SIZE',
  5: 'MAX_FRAME_SIZE',
  6: 'MAX_HEADER_LIST_SIZE',
  8: 'ENABLE_CONNECT_PROTOCOL',
};

interface Stream {
  id: number;
  tx: HttpTransaction;
  requestEnded: boolean;
  responseEnded: boolean;
  requestHeadersSeen: boolean;
  finalSeen: boolean;
  done: boolean;
}

const R = {
  Preface: 0,
  Header: 1,
  Payload: 2,
  Sync: 3,
  Dead: 4,
} as const;
type R = (typeof R)[keyof typeof R];

class DirState {
  state: R = R.Header;
  prefaceMatched = 0;
  hdr = new Uint8Array(9);
  hdrLen = 0;
  // Current frame.
  length = 0;
  type = 0;
  flags = 0;
  streamId = 0;
  remaining = 0;
  frameStartTime = 0;
  frameStartFirst = false;
  frameStartPrev = NaN;
  /** While replaying the sync buffer: what was true when its first byte arrived. */
  replaying = false;
  syncFirst = false;
  syncPrev = NaN;
  payload = new Uint8Array(0);
  payloadLen = 0;
  copy = false;
  /** DATA: padding length once known, -1 before the first payload byte of a PADDED frame. */
  padLen = 0;
  dataSeen = 0;
  frameGap = false;
  // Header block assembly (HEADERS/PUSH_PROMISE + CONTINUATION).
  block = new Uint8Array(0);
  blockLen = 0;
  blockStream = -1;
  blockType = 0;
  blockFlags = 0;
  blockPromised = 0;
  blockTime = 0;
  blockFirst = false;
  blockPrev = NaN;
  blockBroken = false;
  // Sync mode buffer.
  sync = new Uint8Array(0);
  syncOffset = 0;
  readonly hpack = new HpackDecoder();
  ended: EndReason | null = null;
  endTime = 0;
}

export class Http2Connection {
  private readonly ctx: H2Context;
  private readonly dirs: [DirState, DirState] = [new DirState(), new DirState()];
  private readonly streams = new Map<number, Stream>();
  readonly info: H2ConnectionInfo = {
    settings: [{}, {}],
    goaway: null,
    pings: 0,
    windowUpdates: 0,
    priorityFrames: 0,
    framesByType: new Array<number>(10).fill(0),
    framesOnClosedStreams: 0,
  };
  private closed = false;
  /** Recently finished stream ids (bounded), so late frames on them do not start a new transaction. */
  private readonly closedIds = new Set<number>();
  private connAnomalies: string[] = [];

  /**
   * @param expectPreface the client direction starts with the connection preface (h2 by ALPN,
   *   prior knowledge, or after an h2c upgrade). Without it, both directions start in sync mode.
   */
  constructor(ctx: H2Context, expectPreface: boolean) {
    this.ctx = ctx;
    if (expectPreface) {
      this.dirs[0].state = R.Preface;
    } else {
      this.startSync(0, 'h2-mid-connection-pickup');
      this.startSync(1, 'h2-mid-connection-pickup');
    }
  }

  /** The capture starts inside this direction's stream (no preface, HPACK state unknown). */
  pickup(dir: Direction): void {
    const d = this.dirs[dir];
    if (d.state === R.Preface || d.state === R.Header) this.startSync(dir, 'h2-mid-connection-pickup');
  }

  /** After an h2c upgrade: the HTTP/1.1 request became stream 1 (half-closed from the client). */
  adoptUpgradeStream(tx: HttpTransaction): void {
    tx.streamId = 1;
    const s: Stream = { id: 1, tx, requestEnded: true, responseEnded: false, requestHeadersSeen: true, finalSeen: false, done: false };
    this.streams.set(1, s);
  }

  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, _streamOffset: number, time: number): void {
    const d = this.dirs[dir];
    const end = offset + length;
    let p = offset;
    while (p < end) {
      switch (d.state) {
        case R.Preface: {
          const c = bytes[p]!;
          if (c !== H2_PREFACE[d.prefaceMatched]) {
            this.anomaly('h2-bad-preface');
            this.startSync(dir, '');
            break;
          }
          p++;
          if (++d.prefaceMatched === H2_PREFACE.length) d.state = R.Header;
          break;
        }
        case R.Header: {
          if (d.hdrLen === 0) {
            d.frameStartTime = time;
            d.frameStartFirst = p === offset && (!d.replaying || d.syncFirst);
            d.frameStartPrev = d.replaying ? d.syncPrev : this.ctx.conn.previousPacketTime;
          }
          const n = Math.min(9 - d.hdrLen, end - p);
          d.hdr.set(bytes.subarray(p, p + n), d.hdrLen);
          d.hdrLen += n;
          p += n;
          if (d.hdrLen === 9) this.startFrame(dir, d, time);
          break;
        }
        case R.Payload: {
          const n = Math.min(d.remaining, end - p);
          if (d.type === FrameType.DATA) {
            if (d.padLen === -1) d.padLen = bytes[p]!;
            d.dataSeen += n;
          } else if (d.copy) {
            this.appendPayload(d, bytes, p, n);
          }
          d.remaining -= n;
          p += n;
          if (d.remaining === 0) this.endFrame(dir, d, time);
          break;
        }
        case R.Sync: {
          if (d.sync.length === 0) {
            d.syncFirst = p === offset;
            d.syncPrev = this.ctx.conn.previousPacketTime;
          }
          p = this.syncData(dir, d, bytes, p, end, time);
          break;
        }
        case R.Dead:
          p = end;
          break;
      }
    }
  }

  gap(dir: Direction, _streamOffset: number, length: number, time: number): void {
    const d = this.dirs[dir];
    this.anomaly('capture-gap');
    if (d.state === R.Payload && length < d.remaining && d.type === FrameType.DATA && d.padLen !== -1) {
      // Inside a DATA frame: its framing tells where the next frame starts.
      d.remaining -= length;
      d.dataSeen += length;
      d.frameGap = true;
      return;
    }
    if (d.state === R.Payload && length < d.remaining) {
      d.remaining -= length;
      d.frameGap = true;
      d.copy = false;
      return;
    }
    // Frame sync lost; header blocks in the missing bytes may have changed the HPACK table.
    for (const s of this.streams.values()) {
      if (!s.done) {
        addAnomaly(s.tx, 'capture-gap');
        if (s.tx.outcome === 'complete') s.tx.outcome = 'incomplete';
      }
    }
    d.hpack.markStateUnknown();
    d.blockStream = -1;
    this.startSync(dir, 'h2-resync-after-gap');
    void time;
  }

  end(dir: Direction, reason: EndReason, time: number): void {
    const d = this.dirs[dir];
    if (d.ended === null) {
      d.ended = reason;
      d.endTime = time;
    }
    if (this.dirs[0].ended !== null && this.dirs[1].ended !== null) this.flush();
  }

  /** Emits every stream still open (connection ended). */
  flush(): void {
    if (this.closed) return;
    this.closed = true;
    const [c, s] = [this.dirs[0].ended, this.dirs[1].ended];
    let by: HttpEndedBy = 'capture-end';
    let byDir: 'client' | 'server' | null = null;
    if (s === 'rst' || c === 'rst') {
      by = 'rst';
      byDir = s === 'rst' && (c !== 'rst' || this.dirs[1].endTime <= this.dirs[0].endTime) ? 'server' : 'client';
    } else if (s === 'fin') {
      by = 'fin';
      byDir = 'server';
    } else if (c === 'fin') {
      by = 'fin';
      byDir = 'client';
    } else if (s !== null || c !== null) by = endedByOf((s ?? c)!);
    const open = [...this.streams.values()].filter((st) => !st.done).sort((a, b) => a.tx.requestIndexOnConnection - b.tx.requestIndexOnConnection);
    for (const st of open) {
      if (st.tx.outcome !== 'malformed') {
        if (st.tx.status === null) st.tx.outcome = 'no-response';
        else if (!st.responseEnded || !st.requestEnded) st.tx.outcome = 'incomplete';
        if (st.tx.outcome !== 'complete') {
          st.tx.endedBy ??= by;
          st.tx.endedByDirection ??= byDir;
        }
      }
      this.finish(st);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private anomaly(code: string): void {
    if (!this.connAnomalies.includes(code)) this.connAnomalies.push(code);
  }

  private startSync(dir: Direction, why: string): void {
    const d = this.dirs[dir];
    d.state = R.Sync;
    d.sync = new Uint8Array(0);
    d.hdrLen = 0;
    d.hpack.markStateUnknown();
    if (why) this.anomaly(why);
  }

  /** Buffers bytes until a chain of two plausible frame headers (or one ending the buffer exactly) is found. */
  private syncData(dir: Direction, d: DirState, bytes: Uint8Array, p: number, end: number, time: number): number {
    const take = Math.min(end - p, SYNC_BUFFER - d.sync.length);
    const nb = new Uint8Array(d.sync.length + take);
    nb.set(d.sync);
    nb.set(bytes.subarray(p, p + take), d.sync.length);
    d.sync = nb;
    const buf = d.sync;
    for (let i = 0; i + 9 <= buf.length; i++) {
      if (!plausibleFrameHeader(buf, i)) continue;
      const len = (buf[i]! << 16) | (buf[i + 1]! << 8) | buf[i + 2]!;
      const next = i + 9 + len;
      if (next + 9 <= buf.length) {
        if (!plausibleFrameHeader(buf, next)) continue;
      } else if (next !== buf.length && take === end - p) {
        // Cannot confirm yet; wait for more bytes unless the buffer is full.
        if (buf.length < SYNC_BUFFER) return p + take;
      }
      // Synchronised at i: replay the rest of the buffer as frames.
      if (i > 0) this.anomaly('h2-skipped-bytes-to-frame-boundary');
      d.sync = new Uint8Array(0);
      d.state = R.Header;
      d.hdrLen = 0;
      const rest = buf.subarray(i);
      d.syncFirst &&= i === 0;
      d.replaying = true;
      this.data(dir, rest, 0, rest.length, 0, time);
      d.replaying = false;
      return p + take;
    }
    if (buf.length >= SYNC_BUFFER) {
      // Not HTTP/2 we can follow; keep only the tail in case a header straddles.
      d.sync = buf.slice(buf.length - 8);
    }
    return p + take;
  }

  private startFrame(dir: Direction, d: DirState, time: number): void {
    const h = d.hdr;
    d.length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    d.type = h[3]!;
    d.flags = h[4]!;
    d.streamId = ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!;
    d.hdrLen = 0;
    d.remaining = d.length;
    d.payloadLen = 0;
    d.dataSeen = 0;
    d.frameGap = false;
    d.padLen = d.type === FrameType.DATA && d.flags & FLAG_PADDED ? -1 : 0;
    d.copy = d.type !== FrameType.DATA && d.length <= MAX_COPIED_PAYLOAD;
    if (d.type !== FrameType.DATA && d.length > MAX_COPIED_PAYLOAD) this.anomaly('h2-oversized-frame');
    if (d.blockStream !== -1 && d.type !== FrameType.CONTINUATION) {
      this.anomaly('h2-expected-continuation');
      this.headerBlockBroken(dir, d);
    }
    if (d.type === FrameType.DATA) this.onDataStart(dir, d, time);
    if (d.remaining === 0) this.endFrame(dir, d, time);
    else d.state = R.Payload;
  }

  private appendPayload(d: DirState, bytes: Uint8Array, p: number, n: number): void {
    if (d.payloadLen + n > d.payload.length) {
      const nb = new Uint8Array(Math.max(256, d.payload.length * 2, d.payloadLen + n));
      nb.set(d.payload.subarray(0, d.payloadLen));
      d.payload = nb;
    }
    d.payload.set(bytes.subarray(p, p + n), d.payloadLen);
    d.payloadLen += n;
  }

  private appendBlock(d: DirState, bytes: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (d.blockLen + n > MAX_HEADER_BLOCK) {
      d.blockBroken = true;
      return;
    }
    if (d.blockLen + n > d.block.length) {
      const nb = new Uint8Array(Math.max(256, d.block.length * 2, d.blockLen + n));
      nb.set(d.block.subarray(0, d.blockLen));
      d.block = nb;
    }
    d.block.set(bytes.subarray(from, to), d.blockLen);
    d.blockLen += n;
  }

  private endFrame(dir: Direction, d: DirState, time: number): void {
    d.state = R.Header;
    if (d.type < 10) this.info.framesByType[d.type]!++;
    const pl = d.payload;
    const len = d.payloadLen;
    const complete = d.copy && !d.frameGap && len === d.length;
    switch (d.type) {
      case FrameType.DATA:
        this.onDataEnd(dir, d, time);
        return;
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE: {
        let from = 0;
        let to = len;
        let padLen = 0;
        if (d.flags & FLAG_PADDED) {
          padLen = pl[0] ?? 0;
          from = 1;
        }
        let promised = 0;
        if (d.type === FrameType.HEADERS && d.flags & FLAG_PRIORITY) from += 5;
        if (d.type === FrameType.PUSH_PROMISE) {
          promised = (((pl[from] ?? 0) & 0x7f) << 24) | ((pl[from + 1] ?? 0) << 16) | ((pl[from + 2] ?? 0) << 8) | (pl[from + 3] ?? 0);
          from += 4;
        }
        to = len - padLen;
        d.blockStream = d.streamId;
        d.blockType = d.type;
        d.blockFlags = d.flags;
        d.blockPromised = promised;
        d.blockTime = d.frameStartTime;
        d.blockFirst = d.frameStartFirst;
        d.blockPrev = d.frameStartPrev;
        d.blockLen = 0;
        d.blockBroken = !complete || to < from;
        if (!d.blockBroken) this.appendBlock(d, pl, from, to);
        if (d.flags & FLAG_END_HEADERS) this.headerBlockDone(dir, d, time);
        return;
      }
      case FrameType.CONTINUATION: {
        if (d.blockStream !== d.streamId) {
          this.anomaly('h2-unexpected-continuation');
          return;
        }
        if (!complete) d.blockBroken = true;
        else this.appendBlock(d, pl, 0, len);
        if (d.flags & FLAG_END_HEADERS) this.headerBlockDone(dir, d, time);
        return;
      }
      case FrameType.PRIORITY:
        this.info.priorityFrames++;
        return;
      case FrameType.RST_STREAM: {
        if (!complete || len < 4) return;
        const code = ((pl[0]! << 24) | (pl[1]! << 16) | (pl[2]! << 8) | pl[3]!) >>> 0;
        this.onRstStream(dir, d.streamId, code, time);
        return;
      }
      case FrameType.SETTINGS: {
        if (d.flags & FLAG_ACK || !complete) return;
        const into = this.info.settings[dir];
        for (let i = 0; i + 6 <= len; i += 6) {
          const id = (pl[i]! << 8) | pl[i + 1]!;
          const v = ((pl[i + 2]! << 24) | (pl[i + 3]! << 16) | (pl[i + 4]! << 8) | pl[i + 5]!) >>> 0;
          into[SETTING_NAMES[id] ?? `0x${id.toString(16)}`] = v;
          // The peer's decoder limit bounds what the encoder in the other direction may use.
          if (id === 1) this.dirs[dir === 0 ? 1 : 0].hpack.setAllowedMaxSize(v);
        }
        return;
      }
      case FrameType.PING:
        this.info.pings++;
        return;
      case FrameType.GOAWAY: {
        if (!complete || len < 8) return;
        const last = ((pl[0]! & 0x7f) << 24) | (pl[1]! << 16) | (pl[2]! << 8) | pl[3]!;
        const code = ((pl[4]! << 24) | (pl[5]! << 16) | (pl[6]! << 8) | pl[7]!) >>> 0;
        this.onGoaway(dir, last, code, time);
        return;
      }
      case FrameType.WINDOW_UPDATE:
        this.info.windowUpdates++;
        return;
      default:
        this.anomaly('h2-unknown-frame-type');
    }
  }

  private headerBlockBroken(dir: Direction, d: DirState): void {
    d.hpack.markStateUnknown();
    const s = this.streams.get(d.blockStream);
    if (s) s.tx.headersIncomplete = true;
    d.blockStream = -1;
    void dir;
  }

  private getStream(id: number, dir: Direction, time: number, first: boolean, create: boolean, prev?: number): Stream | null {
    let s = this.streams.get(id);
    if (s) return s;
    if (!create) return null;
    if (this.closedIds.has(id)) {
      // RFC 9113 5.1: frames after a stream closed (late DATA after RST_STREAM is normal in flight).
      this.info.framesOnClosedStreams++;
      return null;
    }
    const tx = newTransaction(this.ctx.conn, this.ctx.nextIndex(), '2', this.ctx.tls ? 'https' : 'http');
    tx.streamId = id;
    for (const a of this.connAnomalies) addAnomaly(tx, a);
    s = { id, tx, requestEnded: false, responseEnded: false, requestHeadersSeen: false, finalSeen: false, done: false };
    if (dir === 0) {
      tx.requestFirstByteTime = time;
      tx.idleBeforeRequestSeconds = idleBefore(this.ctx.conn, time, first, prev);
    }
    this.streams.set(id, s);
    return s;
  }

  private headerBlockDone(dir: Direction, d: DirState, time: number): void {
    const sid = d.blockStream;
    d.blockStream = -1;
    let res: HpackBlockResult;
    if (d.blockBroken) {
      d.hpack.markStateUnknown();
      res = { fields: [], incomplete: true, error: null, tableSizeUpdates: [] };
    } else {
      res = d.hpack.decode(d.block, 0, d.blockLen);
    }
    const endStream = d.blockType === FrameType.HEADERS && (d.blockFlags & FLAG_END_STREAM) !== 0;
    if (d.blockType === FrameType.PUSH_PROMISE) {
      // Server push: the promised stream's request headers come from the server.
      const s = this.getStream(d.blockPromised, 0, d.blockTime, false, true);
      if (!s) return;
      s.tx.anomalies.push('h2-server-push');
      s.tx.idleBeforeRequestSeconds = null;
      this.applyRequestFields(s, res);
      s.requestEnded = true;
      s.tx.requestLastByteTime = time;
      return;
    }
    if (dir === 0) {
      const s = this.getStream(sid, 0, d.blockTime, d.blockFirst, true, d.blockPrev);
      if (!s) return;
      const opened = !s.requestHeadersSeen;
      if (opened) {
        this.applyRequestFields(s, res);
      } else if (res.incomplete || res.error) s.tx.headersIncomplete = true; // trailers
      s.tx.requestLastByteTime = time;
      if (endStream) this.requestEnd(s, time);
      // A stream the client opened after the server's GOAWAY (they crossed in flight) with an id
      // above its last-stream-id: the server ignores it (RFC 9113 6.8), as the ones open then.
      const g = this.info.goaway;
      if (opened && !s.done && g !== null && g.direction === 'server' && sid > g.lastStreamId && sid % 2 === 1) this.cutByGoaway(s, 1, g.lastStreamId, g.errorCode, g.time);
    } else {
      let s = this.getStream(sid, 1, d.blockTime, false, false);
      if (!s) {
        s = this.getStream(sid, 1, d.blockTime, false, true);
        if (!s) return;
        addAnomaly(s.tx, 'h2-stream-started-before-capture');
        s.requestEnded = true;
        s.tx.headersIncomplete = true;
        if (s.tx.outcome === 'complete') s.tx.outcome = 'incomplete';
      }
      this.applyResponseFields(s, res, d.blockTime, time);
      if (endStream) this.responseEnd(s, time);
    }
  }

  private applyRequestFields(s: Stream, res: HpackBlockResult): void {
    const tx = s.tx;
    s.requestHeadersSeen = true;
    if (res.incomplete || res.error) tx.headersIncomplete = true;
    if (res.error) addAnomaly(tx, 'hpack-error');
    for (const f of res.fields) {
      if (f.name === null || f.value === null) continue;
      switch (f.name) {
        case ':method':
          tx.method = capValue(f.value);
          break;
        case ':scheme':
          tx.scheme = capValue(f.value);
          break;
        case ':authority':
          tx.authority = capValue(f.value);
          break;
        case ':path':
          tx.path = capPath(f.value);
          break;
        default:
          selectHeader(tx.requestHeaders, f.name, f.value);
      }
    }
    if (tx.authority === null && tx.requestHeaders.host !== undefined) tx.authority = tx.requestHeaders.host;
  }

  private applyResponseFields(s: Stream, res: HpackBlockResult, firstTime: number, time: number): void {
    const tx = s.tx;
    if (res.error) addAnomaly(tx, 'hpack-error');
    let status: number | null = null;
    for (const f of res.fields) {
      if (f.name === ':status' && f.value !== null && /^\d{3}$/.test(f.value)) status = Number(f.value);
    }
    if (s.finalSeen) {
      // Trailers.
      if (res.incomplete || res.error) tx.headersIncomplete = true;
      tx.responseLastByteTime = time;
      return;
    }
    if (res.incomplete || res.error) tx.headersIncomplete = true;
    tx.responseFirstByteTime ??= firstTime;
    tx.responseLastByteTime = time;
    if (status !== null && status >= 100 && status < 200) {
      tx.interimStatuses.push(status);
      return;
    }
    s.finalSeen = true;
    tx.status = status;
    for (const f of res.fields) {
      if (f.name === null || f.value === null || f.name.startsWith(':')) continue;
      selectHeader(tx.responseHeaders, f.name, f.value);
    }
  }

  private onDataStart(dir: Direction, d: DirState, time: number): void {
    const s = this.streams.get(d.streamId);
    if (d.streamId === 0) this.anomaly('h2-data-on-stream-0');
    if (!s && d.streamId !== 0) {
      const ns = this.getStream(d.streamId, dir, time, d.frameStartFirst, true, d.frameStartPrev);
      if (!ns) return;
      addAnomaly(ns.tx, 'h2-stream-started-before-capture');
      ns.tx.headersIncomplete = true;
      if (ns.tx.outcome === 'complete') ns.tx.outcome = 'incomplete';
      if (dir === 1) ns.requestEnded = true;
    }
    const st = this.streams.get(d.streamId);
    if (st && dir === 1) st.tx.responseFirstByteTime ??= time;
  }

  private onDataEnd(dir: Direction, d: DirState, time: number): void {
    const s = this.streams.get(d.streamId);
    if (!s) return;
    const body = Math.max(0, d.dataSeen - (d.flags & FLAG_PADDED ? 1 + Math.max(0, d.padLen) : 0));
    if (d.frameGap) {
      addAnomaly(s.tx, 'capture-gap');
      if (s.tx.outcome === 'complete') s.tx.outcome = 'incomplete';
    }
    if (dir === 0) {
      s.tx.requestBodyBytes += body;
      s.tx.requestLastByteTime = time;
      if (d.flags & FLAG_END_STREAM) this.requestEnd(s, time);
    } else {
      s.tx.responseBodyBytes += body;
      s.tx.responseLastByteTime = time;
      if (d.flags & FLAG_END_STREAM) this.responseEnd(s, time);
    }
  }

  private requestEnd(s: Stream, time: number): void {
    s.requestEnded = true;
    s.tx.requestLastByteTime = time;
    this.maybeDone(s);
  }

  private responseEnd(s: Stream, time: number): void {
    s.responseEnded = true;
    s.tx.responseLastByteTime = time;
    this.maybeDone(s);
  }

  private maybeDone(s: Stream): void {
    if (!s.done && s.requestEnded && s.responseEnded) this.finish(s);
  }

  private finish(s: Stream): void {
    if (s.done) return;
    s.done = true;
    if (s.tx.status === null && s.tx.outcome === 'complete') s.tx.outcome = 'no-response';
    finishTimes(s.tx);
    this.ctx.emit(s.tx);
    this.streams.delete(s.id);
    this.closedIds.add(s.id);
    if (this.closedIds.size > 4096) this.closedIds.delete(this.closedIds.values().next().value as number);
  }

  private onRstStream(dir: Direction, id: number, code: number, time: number): void {
    const s = this.streams.get(id);
    if (!s || s.done) return;
    const tx = s.tx;
    const name = h2ErrorName(code);
    if (s.requestEnded && s.responseEnded) return;
    if (code === 0 && dir === 1 && s.responseEnded) {
      // RFC 9113 8.1: a server may answer before the request ends and reset it with NO_ERROR.
      s.requestEnded = true;
      this.maybeDone(s);
      return;
    }
    tx.errorCode = name;
    tx.endedBy = 'rst-stream';
    tx.endedByDirection = dir === 0 ? 'client' : 'server';
    if (tx.status === null) tx.outcome = 'no-response';
    else if (tx.outcome === 'complete') tx.outcome = 'incomplete';
    if (dir === 1) tx.responseLastByteTime ??= time;
    this.finish(s);
  }

  private onGoaway(dir: Direction, last: number, code: number, time: number): void {
    this.info.goaway = { direction: dir === 0 ? 'client' : 'server', lastStreamId: last, errorCode: h2ErrorName(code), time };
    this.anomaly(`h2-goaway-${h2ErrorName(code)}`);
    // Streams initiated by the receiver of the GOAWAY above last-stream-id were not processed.
    for (const s of this.streams.values()) {
      if (s.done || s.id <= last) continue;
      const initiatedByReceiver = dir === 1 ? s.id % 2 === 1 : s.id % 2 === 0;
      if (!initiatedByReceiver) continue;
      this.cutByGoaway(s, dir, last, h2ErrorName(code), time);
    }
  }

  /** A stream the GOAWAY (sent from `dir`) left unprocessed: it ends, no response. */
  private cutByGoaway(s: Stream, dir: Direction, last: number, code: string, time: number): void {
    s.tx.endedBy = 'goaway';
    s.tx.goaway = { time, lastStreamId: last };
    s.tx.endedByDirection = dir === 0 ? 'client' : 'server';
    s.tx.errorCode = code;
    if (s.tx.status === null) s.tx.outcome = 'no-response';
    else s.tx.outcome = 'incomplete';
    this.finish(s);
  }
}
