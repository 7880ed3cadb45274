/**
 * The sink the flow stage attaches to every TCP connection. It looks at the first bytes the
 * client sends: a TLS handshake record (or an SSL 2.0-compatible ClientHello) makes it a TLS
 * connection, decrypted by a TlsSink whose plaintext goes to `next`; anything else (or the server
 * speaking first) passes through untouched to `next(conn, { tls: null, alpn: null })`.
 *
 * `next` is called once per connection: for TLS once the ALPN is known (after the ServerHello in
 * TLS <= 1.2, after EncryptedExtensions in TLS 1.3) or when decryption is given up, so an HTTP
 * stage can choose HTTP/2 or HTTP/1.1 by `info.alpn`.
 */
import type { ConnInfo, Direction, EndReason, StreamSink } from '../flow/stream.js';
import type { KeyLog } from './keylog.js';
import { TlsSink, type TlsSessionInfo, type TlsSinkOptions } from './session.js';

export interface AppLayerInfo {
  tls: TlsSessionInfo | null;
  alpn: string | null;
}

export type NextSink = (conn: ConnInfo, info: AppLayerInfo) => StreamSink | null;

export type AppSinkOptions = TlsSinkOptions;

/** What the first client bytes say: 'tls', 'other', or 'more' (need more bytes to tell). */
export function sniffTls(b: Uint8Array, offset: number, length: number): 'tls' | 'other' | 'more' {
  if (length === 0) return 'more';
  const b0 = b[offset]!;
  if (b0 === 0x16) {
    if (length < 2) return 'more';
    if (b[offset + 1] !== 3) return 'other';
    if (length < 3) return 'more';
    return b[offset + 2]! <= 4 ? 'tls' : 'other';
  }
  if ((b0 & 0x80) !== 0) {
    // SSL 2.0 record header (2 bytes) + CLIENT-HELLO (1) + version 3.x or 2.0
    if (length < 4) return 'more';
    return b[offset + 2] === 1 && (b[offset + 3] === 3 || b[offset + 3] === 0) ? 'tls' : 'other';
  }
  return 'other';
}

export type AppSink = StreamSink & { readonly tls: TlsSessionInfo | null; readonly clientRandomsNeeded: readonly string[] };

/** What every connection's sniffer shares (one object per caller's settings, not per connection). */
interface SnifferContext {
  keys: KeyLog;
  next: NextSink;
  opts: AppSinkOptions | undefined;
}

interface EarlyEnd {
  dir: Direction;
  reason: EndReason;
  time: number;
}

/** Where a connection's first client bytes are looked at (one for all: sniffing is synchronous). */
const scratch = new Uint8Array(4);

/**
 * Nothing is allocated per connection until its first byte: a SYN flood or scan is hundreds of
 * thousands of connections that never carry one, each given a sink by the flow stage.
 */
class Sniffer implements StreamSink {
  private mode: 'sniff' | 'tls' | 'pass' = 'sniff';
  /** Up to 4 first client bytes, packed (byte i in bits 8i..8i+7), while they do not decide. */
  private head = 0;
  private headLen = 0;
  private headTime = 0;
  private target: StreamSink | null = null;
  private tlsSink: TlsSink | null = null;
  /** Directions that ended before any byte was seen, told to the next stage once it exists. */
  private earlyEnds: EarlyEnd[] | null = null;

  constructor(
    private readonly conn: ConnInfo,
    private readonly ctx: SnifferContext,
  ) {}

  get tls(): TlsSessionInfo | null {
    return this.tlsSink?.info ?? null;
  }

  get clientRandomsNeeded(): readonly string[] {
    return this.tlsSink?.clientRandomsNeeded ?? [];
  }

  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    if (this.mode === 'sniff') {
      if (dir === 1) this.decide('pass');
      else {
        const take = Math.min(4 - this.headLen, length);
        for (let i = 0; i < this.headLen; i++) scratch[i] = (this.head >>> (8 * i)) & 0xff;
        for (let i = 0; i < take; i++) scratch[this.headLen + i] = bytes[offset + i]!;
        const verdict = sniffTls(scratch, 0, this.headLen + take);
        if (verdict === 'more') {
          if (this.headLen === 0) this.headTime = time;
          for (let i = 0; i < take; i++) this.head |= bytes[offset + i]! << (8 * (this.headLen + i));
          this.headLen += take;
          return;
        }
        this.decide(verdict === 'tls' ? 'tls' : 'pass');
      }
    }
    this.target?.data(dir, bytes, offset, length, streamOffset, time);
  }

  gap(dir: Direction, streamOffset: number, length: number, time: number): void {
    if (this.mode === 'sniff') this.decide('pass');
    this.target?.gap(dir, streamOffset, length, time);
  }

  end(dir: Direction, reason: EndReason, time: number): void {
    if (this.mode === 'sniff' && this.headLen === 0) {
      // Not one byte yet: no next stage is made for a connection that ends so (an unanswered
      // SYN, a handshake and nothing). The end is held in case the other side still speaks.
      (this.earlyEnds ??= []).push({ dir, reason, time });
      if (this.earlyEnds.some((e) => e.dir !== dir)) {
        this.mode = 'pass';
        this.earlyEnds = null;
      }
      return;
    }
    if (this.mode === 'sniff') this.decide('pass');
    this.target?.end(dir, reason, time);
  }

  private decide(mode: 'tls' | 'pass'): void {
    this.mode = mode;
    if (mode === 'tls') {
      this.tlsSink = new TlsSink(this.conn, this.ctx.keys, (info) => this.ctx.next(this.conn, { tls: info, alpn: info.alpn }), this.ctx.opts);
      this.target = this.tlsSink;
    } else {
      this.target = this.ctx.next(this.conn, { tls: null, alpn: null });
    }
    if (this.earlyEnds !== null) for (const e of this.earlyEnds) this.target?.end(e.dir, e.reason, e.time);
    this.earlyEnds = null;
    if (this.headLen > 0) {
      const n = this.headLen;
      const held = new Uint8Array(n);
      for (let i = 0; i < n; i++) held[i] = (this.head >>> (8 * i)) & 0xff;
      this.headLen = 0;
      this.head = 0;
      this.target?.data(0, held, 0, n, 0, this.headTime);
    }
  }
}

/**
 * Attach to every TCP connection: TLS is detected, decrypted and handed on as plaintext;
 * anything else passes through. `tls` is the connection's TLS record (null when not TLS).
 */
export function createAppSink(conn: ConnInfo, keys: KeyLog, next: NextSink, opts?: AppSinkOptions): AppSink {
  return new Sniffer(conn, { keys, next, opts });
}

/**
 * createAppSink for many connections with the same keys, next stage and options: what they share
 * is held once (a sink per connection is made whether or not the connection ever carries a byte).
 */
export function appSinkFactory(keys: KeyLog, next: NextSink, opts?: AppSinkOptions): (conn: ConnInfo) => AppSink {
  const ctx: SnifferContext = { keys, next, opts };
  return (conn) => new Sniffer(conn, ctx);
}
