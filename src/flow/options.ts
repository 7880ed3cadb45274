/**
 * What a flow table is told (FlowOptions), whom it tells (FlowHandler) and what it counts
 * (FlowStats): the public interface of the connection table (src/flow/table.ts), kept apart so
 * the connection module can name these types without importing the table.
 */
import type { ConnectionRecord, TcpEvent } from './record.js';
import type { ConnInfo, StreamSink } from './stream.js';

export interface FlowOptions {
  /** Keep a connection with no packet this long before reporting it timed out. Default 6000 (the NLB maximum). */
  idleTimeoutSeconds?: number;
  /** Report silences (no packet either way) longer than this as idle gaps. Default 30. */
  idleGapThresholdSeconds?: number;
  /** Connections tracked at once; the least recently active is evicted (counted) beyond it. Default 2,000,000. */
  maxConnections?: number;
  /** Out-of-order bytes held per connection (both directions). Default 4 MiB. */
  maxBufferedBytesPerConn?: number;
  /** Out-of-order bytes held across all connections. Default 256 MiB. */
  maxBufferedBytesTotal?: number;
  /**
   * true: the capture point (VNI / interface) is part of the connection key, so the same 5-tuple
   * seen at two mirror sessions is two connections. false (default): one connection, its packets
   * de-duplicated across capture points. See docs/flow.md.
   */
  perCapturePoint?: boolean;
  /** How long data after a hole waits for the hole to fill before it is called a gap. Default 0.1 s. */
  reorderWindowSeconds?: number;
  /** Identical packets on a connection closer than this are duplicates. Default 0.1 s. */
  duplicateWindowSeconds?: number;
  /** After FIN/FIN or RST, keep the connection this long for stragglers. Default 5 s (Zeek's tcp_close_delay). */
  closeLingerSeconds?: number;
  /** Key packets kept per connection (ConnectionRecord.marks). Default 64; 0 disables. */
  maxMarks?: number;
  /** Also emit a 'duplicate' event for every packet dropped as a duplicate (default false: only counted). */
  reportDuplicates?: boolean;
}

export interface FlowHandler {
  /** A connection begins: return a StreamSink to receive its reassembled bytes, or null. */
  onConnectionStart?(conn: ConnInfo): StreamSink | null;
  onEvent?(ev: TcpEvent): void;
  /** The final record (closed, timed out, evicted, replaced by port reuse, or capture end). */
  onConnectionEnd?(rec: ConnectionRecord): void;
  /** An ICMPv4 error (destination unreachable, ...) quoting a TCP segment: which connection it answers. */
  onIcmpError?(ev: IcmpErrorEvent): void;
}

/** An ICMP error seen in the capture, with the TCP segment it quotes (addresses as the capture point saw them). */
export interface IcmpErrorEvent {
  time: number;
  capturePoint: string;
  /** Who sent the ICMP message (a router, a firewall, the host). */
  from: string;
  type: number;
  code: number;
  /** The quoted segment's endpoints: the connection it belongs to. */
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
}

export interface FlowStats {
  packets: number;
  tcpPackets: number;
  nonTcpPackets: number;
  /** TCP in IP fragments (not reassembled) and truncated TCP headers. */
  skippedPackets: number;
  duplicatePackets: number;
  connections: number;
  activeConnections: number;
  peakConnections: number;
  evictedConnections: number;
  timedOutConnections: number;
  bufferOverflows: number;
  gapBytes: number;
  events: number;
}

/** FlowStats with every count 0 (each tracker's start). */
export function emptyFlowStats(): FlowStats {
  return {
    packets: 0,
    tcpPackets: 0,
    nonTcpPackets: 0,
    skippedPackets: 0,
    duplicatePackets: 0,
    connections: 0,
    activeConnections: 0,
    peakConnections: 0,
    evictedConnections: 0,
    timedOutConnections: 0,
    bufferOverflows: 0,
    gapBytes: 0,
    events: 0,
  };
}

