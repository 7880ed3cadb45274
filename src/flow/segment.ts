/**
 * One TCP packet as the flow table needs it: the fields of the IP and TCP headers it reads, and a
 * view of the payload. The table fills one reused TcpSegment from each decoded packet
 * (FlowTable.ingest); tests and other decoders fill their own (FlowTable.ingestSegment).
 */

import type { PacketRecord } from '../capture/record.js';
import type { PacketDecoder } from '../wire/packet.js';

/** TCP header flags the table tests (RFC 9293 §3.1). */
export const FIN = 1;
export const SYN = 2;
export const RST = 4;
export const ACK = 16;

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

/** segmentOf: a TCP segment was filled in. */
export const SEGMENT_OK = 0;
/** segmentOf: not a TCP packet. */
export const SEGMENT_NOT_TCP = 1;
/** segmentOf: TCP that cannot be tracked (an IP fragment, or a TCP header that did not decode). */
export const SEGMENT_SKIPPED = 2;

/**
 * Fills `s` from a decoded packet (views of the packet's buffer, valid while it is): what every
 * TCP tracker reads of a packet (FlowTable.ingest, the survey). Returns SEGMENT_OK, SEGMENT_NOT_TCP
 * or SEGMENT_SKIPPED.
 */
export function segmentOf(s: TcpSegment, rec: PacketRecord, pkt: PacketDecoder): number {
  if (pkt.transport !== 6 || !pkt.tcpOk) return pkt.transport === 6 ? SEGMENT_SKIPPED : SEGMENT_NOT_TCP;
  const t = pkt.tcp;
  s.time = rec.time;
  s.index = rec.index;
  s.data = pkt.data;
  let declaredUpper: number;
  let ipHeader: number;
  if (pkt.ipVersion === 4) {
    const ip = pkt.ip4;
    if (ip.isFragment) return SEGMENT_SKIPPED;
    s.ipVersion = 4;
    s.src4 = ip.src;
    s.dst4 = ip.dst;
    s.ipId = ip.id;
    declaredUpper = ip.declaredUpperLength;
    ipHeader = ip.headerLength;
  } else {
    const ip = pkt.ip6;
    if (ip.isFragment) return SEGMENT_SKIPPED;
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
  return SEGMENT_OK;
}
