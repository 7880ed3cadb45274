/**
 * One TCP packet as the flow table needs it: the fields of the IP and TCP headers it reads, and a
 * view of the payload. The table fills one reused TcpSegment from each decoded packet
 * (FlowTable.ingest); tests and other decoders fill their own (FlowTable.ingestSegment).
 */

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
