/**
 * The HTTP stage's entry point: a StreamSink that turns one connection's (decrypted) byte streams
 * into HttpTransaction records.
 *
 * Protocol choice, in order:
 * 1. ALPN 'h2' → HTTP/2 expecting the connection preface.
 * 2. Client bytes starting with the HTTP/2 preface → h2c with prior knowledge.
 * 3. Otherwise HTTP/1.x; a 101 answer to `Upgrade: h2c` hands over to HTTP/2 (stream 1 is the
 *    upgraded request).
 * A connection picked up mid-stream (first bytes not at stream offset 0, or not a message start)
 * is synchronised at the next message start (HTTP/1) or frame boundary (HTTP/2), and every
 * transaction affected says so in its anomalies.
 */
import type { ConnInfo, Direction, EndReason, StreamSink } from '../flow/stream.js';
import { Http1Connection } from './h1-session.js';
import { H2_PREFACE, Http2Connection, plausibleFrameHeader } from './h2-session.js';
import type { HttpTransaction } from './transaction.js';

export type { HttpTransaction } from './transaction.js';

export interface HttpSinkOptions {
  /** Force a protocol instead of deciding from ALPN and the first bytes. */
  protocol?: 'http1' | 'h2';
}

type Mode = 'undecided' | 'h1' | 'h2';

interface Held {
  dir: Direction;
  bytes: Uint8Array;
  streamOffset: number;
  time: number;
  /** conn.previousPacketTime when the bytes arrived (restored while replaying them). */
  prev: number;
}

class HttpSink implements StreamSink {
  private readonly conn: ConnInfo;
  private readonly tls: boolean;
  private readonly onTx: (tx: HttpTransaction) => void;
  private mode: Mode = 'undecided';
  private h1: Http1Connection | null = null;
  private h2: Http2Connection | null = null;
  private index = 0;
  /** Bytes held while deciding (client bytes shorter than the preface, and server bytes before). */
  private held: Held[] = [];
  private heldClient = 0;
  private seen: [boolean, boolean] = [false, false];
  /** Stream offset of the first byte seen per direction when it was not 0 (mid-stream pickup). */
  private pickupOffset: [number, number] = [-1, -1];
  /** The flow stage saw no handshake: the first bytes of each direction may be mid-message. */
  private readonly midstream: boolean;
  private ended: [boolean, boolean] = [false, false];

  constructor(conn: ConnInfo, info: { alpn: string | null; tls: boolean }, onTx: (tx: HttpTransaction) => void, opts: HttpSinkOptions) {
    this.conn = conn;
    this.tls = info.tls;
    this.onTx = onTx;
    // The flow stage's connection object says whether it saw the handshake (not part of ConnInfo).
    this.midstream = (conn as ConnInfo & { midstream?: boolean }).midstream === true;
    if (opts.protocol === 'h2' || info.alpn === 'h2') this.startH2(true);
    else if (opts.protocol === 'http1' || (info.alpn !== null && info.alpn.startsWith('http/1'))) this.startH1();
  }

  private ctx() {
    return {
      conn: this.conn,
      tls: this.tls,
      nextIndex: () => ++this.index,
      emit: (tx: HttpTransaction) => this.onTx(tx),
    };
  }

  private startH1(): void {
    this.mode = 'h1';
    const h1 = new Http1Connection({
      ...this.ctx(),
      // Bytes after a 101 reach HTTP/2 through the parsers' tunnel callback.
      tunnelData: (dir, bytes, offset, length, so, time) => {
        if (this.h2) this.h2.data(dir, bytes, offset, length, so, time);
      },
      switchToH2c: (tx, pending) => {
        const h2 = new Http2Connection(this.ctx(), true);
        h2.adoptUpgradeStream(tx);
        this.h2 = h2;
        for (const p of pending) h2.data(0, p.bytes, 0, p.bytes.length, p.streamOffset, p.time);
      },
    });
    this.h1 = h1;
    for (const dir of [0, 1] as const) {
      const so = this.pickupOffset[dir];
      if (so >= 0) (dir === 0 ? h1.req : h1.res).startResync('mid-stream pickup', so);
    }
  }

  private startH2(preface: boolean): void {
    this.mode = 'h2';
    this.h2 = new Http2Connection(this.ctx(), preface);
  }

  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    if (length === 0) return;
    const first = !this.seen[dir];
    this.seen[dir] = true;
    if (first && (streamOffset > 0 || this.midstream)) {
      this.pickupOffset[dir] = streamOffset;
      if (this.mode !== 'undecided') this.pickup(dir, streamOffset);
    }
    if (this.mode === 'undecided') {
      if (!this.decide(dir, bytes, offset, length, streamOffset, time)) return;
    }
    this.route(dir, bytes, offset, length, streamOffset, time);
  }

  private pickup(dir: Direction, streamOffset: number): void {
    if (this.mode === 'h1' && this.h1) {
      (dir === 0 ? this.h1.req : this.h1.res).startResync('mid-stream pickup', streamOffset);
    } else if (this.mode === 'h2' && this.h2) {
      this.h2.pickup(dir);
    }
  }

  private route(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    if (this.mode === 'h2') this.h2!.data(dir, bytes, offset, length, streamOffset, time);
    else this.h1!.data(dir, bytes, offset, length, streamOffset, time);
  }

  /** Returns true when the mode is decided and the current bytes should be routed. */
  private decide(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): boolean {
    if (dir === 1 && this.heldClient === 0) {
      // Server speaks first (or the client's bytes were not captured): decide from what it says.
      const looksH1 = length >= 5 && bytes[offset] === 0x48 && bytes[offset + 1] === 0x54 && bytes[offset + 2] === 0x54 && bytes[offset + 3] === 0x50 && bytes[offset + 4] === 0x2f;
      if (looksH1 || this.held.length > 64) {
        this.startH1();
        return this.flushHeld();
      }
      // Could be an h2 server preface (SETTINGS) arriving before we saw the client: hold it.
      this.held.push({ dir, bytes: bytes.slice(offset, offset + length), streamOffset, time, prev: this.conn.previousPacketTime });
      if (length >= 9 && bytes[offset + 3] === 4 && bytes[offset + 5] === 0 && bytes[offset + 8] === 0) {
        this.startH2(false);
        this.flushHeld();
      }
      return false;
    }
    if (dir === 0) {
      this.held.push({ dir, bytes: bytes.slice(offset, offset + length), streamOffset, time, prev: this.conn.previousPacketTime });
      this.heldClient += length;
      const all = this.clientPrefix(H2_PREFACE.length);
      let matches = true;
      for (let i = 0; i < all.length; i++) if (all[i] !== H2_PREFACE[i]) matches = false;
      if (!matches && this.pickupOffset[0] >= 0 && all[0] === 0) {
        // Picked up mid-connection on something that may frame like HTTP/2 (HTTP/1 never starts with 0x00).
        if (all.length < 9) return false;
        if (plausibleFrameHeader(all, 0)) {
          this.startH2(false);
          this.flushHeld();
          return false;
        }
      }
      if (!matches) {
        this.startH1();
        this.flushHeld();
        return false;
      }
      if (all.length >= H2_PREFACE.length) {
        this.startH2(true);
        this.flushHeld();
      }
      return false;
    }
    // Server bytes while the client prefix is still ambiguous.
    this.held.push({ dir, bytes: bytes.slice(offset, offset + length), streamOffset, time, prev: this.conn.previousPacketTime });
    return false;
  }

  private clientPrefix(n: number): Uint8Array {
    const out: number[] = [];
    for (const h of this.held) {
      if (h.dir !== 0) continue;
      for (let i = 0; i < h.bytes.length && out.length < n; i++) out.push(h.bytes[i]!);
    }
    return Uint8Array.from(out);
  }

  private flushHeld(): boolean {
    const held = this.held;
    this.held = [];
    const now = this.conn.previousPacketTime;
    for (const h of held) {
      this.conn.previousPacketTime = h.prev;
      this.route(h.dir, h.bytes, 0, h.bytes.length, h.streamOffset, h.time);
    }
    this.conn.previousPacketTime = now;
    return true;
  }

  gap(dir: Direction, streamOffset: number, length: number, time: number): void {
    if (this.mode === 'undecided') {
      this.startH1();
      this.flushHeld();
    }
    this.seen[dir] = true;
    if (this.mode === 'h2' || (this.h1?.switched && this.h2)) this.h2!.gap(dir, streamOffset, length, time);
    else this.h1!.gap(dir, streamOffset, length, time);
  }

  end(dir: Direction, reason: EndReason, time: number): void {
    if (this.ended[dir]) return;
    this.ended[dir] = true;
    if (this.mode === 'undecided') {
      this.startH1();
      this.flushHeld();
    }
    if (this.h1) this.h1.end(dir, reason, time);
    if (this.h2) this.h2.end(dir, reason, time);
  }
}

/**
 * Creates the HTTP sink for one connection. `info.alpn` is the ALPN protocol the TLS stage saw
 * (null when none or not TLS); `info.tls` sets the default scheme. Transactions are delivered
 * through `onTransaction` as they finish, and all remaining ones when both directions have ended.
 */
export function createHttpSink(
  conn: ConnInfo,
  info: { alpn: string | null; tls: boolean },
  onTransaction: (tx: HttpTransaction) => void,
  opts: HttpSinkOptions = {},
): StreamSink {
  return new HttpSink(conn, info, onTransaction, opts);
}
