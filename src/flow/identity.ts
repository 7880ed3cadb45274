/**
 * Who a connection is: which end is the client (the originator), its uid, and whether a SYN on a
 * tracked 5-tuple is that connection's own SYN again or starts a new connection (port reuse).
 * The rules are in docs/flow.md, Connections.
 */
import { createHash } from 'node:crypto';
import { ipv4ToString } from '../wire/ipv4.js';
import { ipv6ToString } from '../wire/ipv6.js';
import { ACK, SYN, type TcpSegment } from './segment.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Character codes of a uid being built ("C" and 18 base-62 digits), reused. */
const uidCodes: number[] = new Array<number>(19).fill(0);

/** Deterministic connection uid: "C" + base62 of 96 bits of SHA-1 over the identifying fields. */
export function connectionUid(capturePoint: string, aAddr: string, aPort: number, bAddr: string, bPort: number, startTime: number, previousUid = ''): string {
  const d = createHash('sha1').update(`${capturePoint}|${aAddr}|${aPort}|${bAddr}|${bPort}|${startTime.toFixed(6)}|${previousUid}`).digest();
  return uidOfWords(d.readUInt32BE(0), d.readUInt32BE(4), d.readUInt32BE(8));
}

/** The uid made of three 32-bit words (connectionUid's form: six base-62 digits each, least significant first). */
export function uidOfWords(w0: number, w1: number, w2: number): string {
  uidCodes[0] = 0x43; // 'C'
  let at = 1;
  for (let w = 0; w < 3; w++) {
    let n = (w === 0 ? w0 : w === 1 ? w1 : w2) >>> 0;
    for (let i = 0; i < 6; i++) {
      uidCodes[at++] = BASE62.charCodeAt(n % 62);
      n = Math.floor(n / 62);
    }
  }
  // One flat string: appending character by character made a chain of 7 concatenation nodes
  // (about 200 bytes) that every tracked connection kept.
  return String.fromCharCode.apply(null, uidCodes);
}

function base62Digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 55;
  if (c >= 97 && c <= 122) return c - 61;
  return -1;
}

/**
 * The three words of a uid in connectionUid's form, into `out` (as signed 32-bit integers);
 * false when `uid` is not of that form (then `out` is left undefined).
 */
export function uidWords(uid: string, out: Int32Array): boolean {
  if (uid.length !== 19 || uid.charCodeAt(0) !== 0x43) return false;
  for (let w = 0; w < 3; w++) {
    let n = 0;
    for (let i = 5; i >= 0; i--) {
      const d = base62Digit(uid.charCodeAt(1 + w * 6 + i));
      if (d < 0) return false;
      n = n * 62 + d;
    }
    if (n > 0xffffffff) return false;
    out[w] = n | 0;
  }
  return true;
}

/**
 * The uid of a connection starting with `seg`: over the capture point (in per-capture-point mode,
 * else ''), client and server, the first packet's time, and the uid of the connection it replaces
 * on the same 5-tuple ('' if none), so the two never share a uid even when they start in the
 * same microsecond.
 */
export function uidOf(seg: TcpSegment, clientIsSrc: boolean, capturePoint: string, previousUid: string): string {
  const src = seg.ipVersion === 4 ? ipv4ToString(seg.src4) : ipv6ToString(seg.addrData, seg.srcOffset);
  const dst = seg.ipVersion === 4 ? ipv4ToString(seg.dst4) : ipv6ToString(seg.addrData, seg.dstOffset);
  return clientIsSrc
    ? connectionUid(capturePoint, src, seg.srcPort, dst, seg.dstPort, seg.time, previousUid)
    : connectionUid(capturePoint, dst, seg.dstPort, src, seg.srcPort, seg.time, previousUid);
}

/**
 * Whether the sender of a connection's first packet seen is its client: the sender of a SYN, the
 * receiver of a SYN-ACK; picked up mid-stream, see guessClientIsSrc.
 */
export function clientIsSource(seg: TcpSegment): boolean {
  const f = seg.flags;
  if ((f & SYN) !== 0) return (f & ACK) === 0;
  return guessClientIsSrc(seg.srcPort, seg.dstPort);
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

/** What isReuse reads of an endpoint (the table's Endpoint, the survey's SurveyEndpoint). */
export interface ReuseEndpoint {
  readonly synCount: number;
  readonly isn: number;
  readonly lastAckValid: boolean;
  readonly lastAck: number;
  readonly stream: { readonly initialized: boolean; readonly baseSeq: number };
}

/** What isReuse reads of a connection (the table's Connection, the survey's SurveyConn). */
export interface ReuseConn {
  readonly c: ReuseEndpoint;
  readonly s: ReuseEndpoint;
  readonly closed: boolean;
  readonly established: boolean;
}

/**
 * A SYN on an existing connection starts a new one (port reuse) unless it is this connection's
 * own SYN again: the same ISN as its earlier SYN, or the ISN its first byte implies (a SYN seen
 * late, after the SYN-ACK or the data). Like Wireshark, a client SYN with a different ISN starts
 * a new connection even while the first is unanswered (a new socket on the same port).
 */
export function isReuse(conn: ReuseConn, seg: TcpSegment, dir: number): boolean {
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
