/**
 * The byte-stream contract between stages: flow (TCP reassembly) → tls (decryption) → http.
 *
 * A StreamSink receives one connection's in-order bytes for both directions. The same interface is
 * produced by TCP reassembly (ciphertext or plaintext as captured) and by TLS (decrypted
 * plaintext), so HTTP parsers do not care which one feeds them.
 *
 * Rules every producer keeps:
 * - `data` chunks arrive in stream order per direction; `streamOffset` is the 0-based offset of
 *   `bytes[offset]` within that direction's stream (64-bit-safe JS number). The view is only valid
 *   during the call: a sink that needs bytes later copies them.
 * - `gap` reports bytes the capture never delivered; the next `data` starts at
 *   `streamOffset + length`.
 * - `end` is called at most once per direction.
 * - `time` is seconds since the Unix epoch (float, microsecond precision is enough for analysis).
 */

/** 0: originator → responder (client → server); 1: responder → originator. */
export type Direction = 0 | 1;
export const FROM_CLIENT: Direction = 0;
export const FROM_SERVER: Direction = 1;

export type EndReason = 'fin' | 'rst' | 'timeout' | 'capture-end' | 'evicted';

export interface StreamSink {
  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void;
  gap(dir: Direction, streamOffset: number, length: number, time: number): void;
  end(dir: Direction, reason: EndReason, time: number): void;
}

/**
 * What every stream consumer knows about the connection it is attached to. Created by the flow
 * stage; the same object is passed down to TLS and HTTP sinks (never copied), so fields that
 * change (previousPacketTime) are always current.
 */
export interface ConnInfo {
  /** Deterministic connection id carried by every record about this connection. */
  readonly uid: string;
  /** Community ID v1 string ("1:..."). */
  readonly communityId: string;
  /** Capture point name (VXLAN VNI / GENEVE endpoint / interface), '' when plain capture. */
  readonly capturePoint: string;
  readonly clientAddr: string;
  readonly clientPort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  /** Time of the connection's first packet (seconds since epoch). */
  readonly startTime: number;
  /**
   * Time of the packet (either direction, with or without payload) seen on this connection just
   * before the one whose bytes are being delivered now; NaN when there is none. Lets a consumer
   * compute "idle time before this request" without the flow stage knowing about HTTP.
   */
  previousPacketTime: number;
}
