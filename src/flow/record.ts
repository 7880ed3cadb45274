/**
 * What the flow stage reports: one `ConnectionRecord` per TCP connection (plain, JSON-ready, units
 * in field names, times in seconds since the Unix epoch) and `TcpEvent`s named like Wireshark's
 * `tcp.analysis.*` flags. Every record and event carries the connection `uid`.
 */
import type { ConnState } from './conn-state.js';
import type { FirstPayload } from './endpoint.js';
import type { Direction } from './stream.js';

export type Side = 'client' | 'server';

/** TCP events; names follow Wireshark's expert info (tcp.analysis.*) so analysts recognise them. */
export type TcpEventType =
  | 'retransmission'
  | 'fast-retransmission'
  | 'spurious-retransmission'
  | 'out-of-order'
  | 'duplicate-ack'
  | 'zero-window'
  | 'zero-window-probe'
  | 'window-full'
  | 'window-update'
  | 'keep-alive'
  | 'keep-alive-ack'
  | 'previous-segment-not-captured'
  | 'acked-unseen-segment'
  | 'port-reuse'
  | 'reset'
  | 'syn-unanswered'
  | 'idle-gap'
  | 'inconsistent-overlap'
  | 'duplicate';

export const TCP_EVENT_TYPES: readonly TcpEventType[] = [
  'retransmission',
  'fast-retransmission',
  'spurious-retransmission',
  'out-of-order',
  'duplicate-ack',
  'zero-window',
  'zero-window-probe',
  'window-full',
  'window-update',
  'keep-alive',
  'keep-alive-ack',
  'previous-segment-not-captured',
  'acked-unseen-segment',
  'port-reuse',
  'reset',
  'syn-unanswered',
  'idle-gap',
  'inconsistent-overlap',
  'duplicate',
];

/** What a reset interrupted. */
export type ResetState = 'handshake' | 'idle' | 'request-outstanding' | 'mid-transfer';

/**
 * Where a RST's sequence number fell: `exact` = the next byte the receiver expects (RFC 5961
 * would accept it), `in-window` = inside the receiver's advertised window, `out-of-window`,
 * `unknown` (nothing seen from that direction yet).
 */
export type SeqState = 'exact' | 'in-window' | 'out-of-window' | 'unknown';

export interface TcpEvent {
  type: TcpEventType;
  /** Time of the packet the event is about (seconds since epoch). */
  time: number;
  uid: string;
  /** 0: client → server, 1: server → client. */
  dir: Direction;
  from: Side;
  /** Frame number in its capture file (1-based, as tshark's frame.number); -1 if none. */
  packet: number;
  /** Raw sequence and acknowledgment numbers of that packet. */
  seq: number;
  ack: number;
  /** Offset of the segment's first byte in its direction's stream (Wireshark's relative seq - 1). */
  streamOffset: number;
  /** Payload length. */
  len: number;
  // Details, by type:
  /** reset: what the RST interrupted. */
  state?: ResetState;
  /** reset, keep-alive, idle-gap: seconds without any packet on the connection before this one. */
  idleSeconds?: number;
  /** reset with state request-outstanding: seconds of silence before the outstanding request began. */
  idleBeforeRequestSeconds?: number;
  /** reset: where its sequence number fell. */
  seqState?: SeqState;
  /** reset: payload bytes the peer had sent that were not acknowledged when the RST came. */
  unackedPeerBytes?: number;
  /** reset: payload bytes the RST's sender had sent that were not acknowledged. */
  unackedOwnBytes?: number;
  /** syn-unanswered: SYNs sent (1 = no retry) and their times. */
  synCount?: number;
  retries?: number;
  synTimes?: number[];
  /** duplicate-ack: the count of duplicate ACKs so far (Wireshark's tcp.analysis.duplicate_ack_num). */
  dupAckNum?: number;
  /** previous-segment-not-captured / acked-unseen-segment: bytes missing. */
  missingBytes?: number;
  /** out-of-order: seconds between the highest-sequence segment and this late one. */
  reorderDelaySeconds?: number;
  /** idle-gap: start and end of the silence. */
  start?: number;
  end?: number;
  /** port-reuse: uid of the connection this one replaces on the same 5-tuple. */
  previousUid?: string;
  /** zero-window, window-update, window-full: the advertised window in bytes (scaled when known). */
  windowBytes?: number;
  /** inconsistent-overlap: bytes that differed. */
  differingBytes?: number;
}

export interface IdleGap {
  start: number;
  end: number;
  seconds: number;
}

export interface ResetRecord {
  time: number;
  from: Side;
  packet: number;
  state: ResetState;
  idleSeconds: number;
  idleBeforeRequestSeconds: number | null;
  seqState: SeqState;
  /** The RST's ACK covered everything the peer had sent (null when the RST carried no ACK). */
  acksAllPeerData: boolean | null;
  unackedPeerBytes: number;
  unackedOwnBytes: number;
}

export interface FinRecord {
  time: number;
  from: Side;
  packet: number;
  idleSeconds: number;
  /** The client had sent payload the server had not answered with payload when this FIN came. */
  requestOutstanding: boolean;
  acksAllPeerData: boolean | null;
}

/**
 * A key packet of the connection: SYNs and the SYN-ACK (packet -1: rebuilt from the handshake
 * times), FINs, RSTs, keep-alives, and the first data of a request or response after an idle gap.
 */
export interface TcpMark {
  time: number;
  /** true: client → server. */
  fromClient: boolean;
  kind: 'syn' | 'synack' | 'fin' | 'rst' | 'data' | 'keep-alive';
  /** Payload length (data). */
  length: number;
  packet: number;
  /** Seconds with no packet in either direction before this one. */
  idleBeforeSeconds: number;
  /** For RST/FIN: did its ACK cover all data the other side had sent? null if it carried no ACK. */
  acksAllPeerData: boolean | null;
}

export type EndCause = 'closed' | 'timeout' | 'capture-end' | 'evicted' | 'port-reuse';

export interface ConnectionRecord {
  uid: string;
  communityId: string;
  /** The first capture point the connection was seen at ('' for a plain capture). */
  capturePoint: string;
  /** Every capture point it was seen at (more than one when two mirror sessions saw it). */
  capturePoints: string[];
  ipVersion: 4 | 6;
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  startTime: number;
  endTime: number;
  durationSeconds: number;
  /** Why the record was emitted. */
  endCause: EndCause;
  packetsFromClient: number;
  packetsFromServer: number;
  /** IP bytes (headers included), as Zeek's orig_ip_bytes / resp_ip_bytes. */
  ipBytesFromClient: number;
  ipBytesFromServer: number;
  /** TCP payload bytes in all packets (retransmissions included). */
  payloadBytesFromClient: number;
  payloadBytesFromServer: number;
  /** Length of each direction's byte stream (unique bytes, gaps included), as Zeek's orig_bytes. */
  streamBytesFromClient: number;
  streamBytesFromServer: number;
  /** Bytes the capture never delivered (Zeek's missed_bytes, per direction). */
  gapBytesFromClient: number;
  gapBytesFromServer: number;
  gapsFromClient: number;
  gapsFromServer: number;
  /** SYN → SYN-ACK → ACK as seen at the capture point: total, and each leg. */
  handshakeRttSeconds: number | null;
  synToSynAckSeconds: number | null;
  synAckToAckSeconds: number | null;
  clientMss: number | null;
  serverMss: number | null;
  clientWindowScale: number | null;
  serverWindowScale: number | null;
  sackPermitted: boolean;
  connState: ConnState;
  history: string;
  closedBy: Side | null;
  closeHow: 'fin' | 'rst' | null;
  closeTime: number | null;
  resets: ResetRecord[];
  fins: FinRecord[];
  /** Periods with no packet in either direction longer than the threshold (first 100 kept). */
  idleGaps: IdleGap[];
  idleGapCount: number;
  maxIdleSeconds: number;
  /** Picked up mid-stream (no SYN / SYN-ACK seen): the client was guessed from ports and first data. */
  midstream: boolean;
  /**
   * Initial sequence numbers (unsigned 32-bit) of the client's SYN and the server's SYN-ACK, null
   * when not seen. A NAT hop (NLB, NAT gateway, conntrack) rewrites addresses and ports but not
   * these: they join the legs of one TCP connection seen on both sides of it.
   */
  clientIsn: number | null;
  serverIsn: number | null;
  /**
   * The first payload segment each way as captured (raw seq and ack, length, a fingerprint of
   * them and its first 64 bytes, time): joins the legs of a connection picked up mid-stream on
   * both sides of a NAT hop. Null when that side sent no payload.
   */
  firstPayloadFromClient: FirstPayload | null;
  firstPayloadFromServer: FirstPayload | null;
  synTimes: number[];
  synAckTime: number | null;
  /** The SYN was answered by a RST. */
  refused: boolean;
  /** Packets seen twice (two capture points, or a duplicating mirror path), dropped and counted. */
  duplicatePackets: number;
  retransmissionsFromClient: number;
  retransmissionsFromServer: number;
  retransmittedBytesFromClient: number;
  retransmittedBytesFromServer: number;
  outOfOrderFromClient: number;
  outOfOrderFromServer: number;
  inconsistentOverlapBytes: number;
  /** Held-data caps hit on this connection (holes given up early). */
  bufferOverflows: number;
  /** Payload bytes not yet acknowledged at the end, per direction. */
  unackedBytesFromClient: number;
  unackedBytesFromServer: number;
  events: number;
  eventCounts: Partial<Record<TcpEventType, number>>;
  /** uid of the connection this one replaced on the same 5-tuple (port reuse), or null. */
  previousUid: string | null;
  /** Key packets in time order, bounded (the first 8 kept, then the most recent). */
  marks: TcpMark[];
}
