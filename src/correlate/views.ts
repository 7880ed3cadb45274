/**
 * Compact views of what the earlier stages produce, kept only for what may need explaining (failed
 * transactions, connections with a RST, an unanswered SYN, a FIN with a request outstanding...).
 * Memory is bounded by the number of errors, not by the capture size.
 */

export interface TcpMark {
  time: number;
  /** true: client → server of this connection. */
  fromClient: boolean;
  kind: 'syn' | 'synack' | 'fin' | 'rst' | 'data' | 'keep-alive';
  /** Payload length for data. */
  length: number;
  /** Idle seconds (no packet in either direction) before this packet. */
  idleBeforeSeconds: number;
  /** For RST/FIN: did its ACK cover all the data the other side had sent (the request was seen)? null if unknown. */
  acksAllPeerData: boolean | null;
}

/**
 * Whether the connection has a `kind` mark (sent by the server, when `fromServer`): what its view
 * says through hasMark when it can, else its marks searched. (Asked of every connection: a view
 * made from survey rows would make its marks for each question.)
 */
export function hasMark(c: ConnView, kind: TcpMark['kind'], fromServer = false): boolean {
  if (c.hasMark !== undefined) return c.hasMark(kind, fromServer);
  return c.marks.some((m) => m.kind === kind && (!fromServer || !m.fromClient));
}

/**
 * The first payload segment of one direction as captured: raw sequence and acknowledgment numbers,
 * payload length, and a 32-bit fingerprint of (seq, ack, length, the first payload bytes). The same
 * segment seen on both sides of a NAT hop has the same print: that joins legs picked up mid-stream.
 */
export interface PayloadPrint {
  seq: number;
  ack: number;
  length: number;
  fingerprint: number;
  time: number;
}

/** What joins the legs of one TCP connection through a NAT hop (the flow stage records it at the start). */
export interface TcpJoinKeys {
  /** The client's SYN sequence number (null: no SYN seen). */
  clientIsn: number | null;
  /** The server's SYN-ACK sequence number (null: none seen). */
  serverIsn: number | null;
  clientFirstPayload: PayloadPrint | null;
  serverFirstPayload: PayloadPrint | null;
}

export interface ConnView extends TcpJoinKeys {
  uid: string;
  communityId: string | null;
  capturePoint: string;
  /** Every capture point the connection was seen at. */
  capturePoints: string[];
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  startTime: number;
  endTime: number;
  connState: string;
  history: string;
  /** Handshake RTT seen at the capture point, seconds (null if no complete handshake). */
  rttSeconds: number | null;
  /** Times of SYNs sent by the client (retries included). */
  synTimes: number[];
  synAckTime: number | null;
  /** SYN answered by RST. */
  refused: boolean;
  closedBy: 'client' | 'server' | null;
  closeHow: 'fin' | 'rst' | null;
  maxIdleSeconds: number;
  idleGaps: { start: number; end: number; seconds: number }[];
  gapBytes: number;
  midstream: boolean;
  /** Key packets: handshake, FINs, RSTs, keep-alives (bounded). */
  marks: TcpMark[];
  /**
   * Whether `marks` has a mark of this kind (sent by the server only, when `fromServer`), for a
   * view that can tell without making its marks (hasMark reads it when present).
   */
  hasMark?(kind: TcpMark['kind'], fromServer: boolean): boolean;
  requests: number;
  /** A TLS handshake that failed on this connection: the fatal alert, and who sent it. */
  tlsFailure: { alert: string; from: 'client' | 'server' } | null;
  /** An ICMP error that answered this connection's segment (a SYN answered by destination unreachable). */
  icmpError?: { time: number; from: string; type: number; code: number } | null;
}

export interface TxView {
  uid: string;
  connUid: string;
  httpVersion: string | null;
  streamId: number | null;
  method: string | null;
  host: string | null;
  path: string | null;
  status: number | null;
  traceId: string | null;
  requestFirstByteTime: number | null;
  requestLastByteTime: number | null;
  responseFirstByteTime: number | null;
  responseLastByteTime: number | null;
  requestIndexOnConnection: number | null;
  idleBeforeRequestSeconds: number | null;
  outcome: 'complete' | 'no-response' | 'incomplete' | 'malformed' | string;
  endedBy: string | null;
  /** HTTP/2 RST_STREAM / GOAWAY error code name (absent: not recorded). */
  errorCode?: string | null;
  /** HTTP/2: the GOAWAY that ended this stream unprocessed (absent or null: none, or not recorded). */
  goaway?: { time: number; lastStreamId: number } | null;
  malformedReason: string | null;
  /** HTTP/1 response head size (status line to the empty line), null when not seen. */
  responseHeadBytes: number | null;
  /** Declared Content-Length of the response (null: none) and the body bytes that came. */
  responseContentLength: number | null;
  responseBodyBytes: number;
  /** Connection endpoints (copied so a transaction can be matched without its ConnView). */
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
}

export interface LbLogView {
  kind: 'alb' | 'clb' | 'nlb';
  file: string;
  line: number;
  /** When the LB sent the response (ALB `time`). */
  time: number;
  /** When the LB received the request (ALB request_creation_time), if logged. */
  requestTime: number | null;
  elbStatus: number | null;
  targetStatus: number | null;
  clientAddr: string | null;
  clientPort: number | null;
  targetAddr: string | null;
  targetPort: number | null;
  requestProcessingSeconds: number | null;
  targetProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  method: string | null;
  path: string | null;
  traceId: string | null;
  errorReason: string | null;
  /** The log line, for evidence (rendered escaped). */
  raw: string;
}

export interface FlowRowView {
  file: string;
  line: number;
  start: number;
  end: number;
  interfaceId: string | null;
  srcAddr: string;
  dstAddr: string;
  srcPort: number | null;
  dstPort: number | null;
  protocol: number | null;
  action: 'ACCEPT' | 'REJECT' | null;
  tcpFlags: number | null;
  raw: string;
}

/** A connection in compact form, for joining the legs of one path: every connection gets one. */
export interface LegView extends TcpJoinKeys {
  uid: string;
  capturePoint: string;
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  startTime: number;
  endTime: number;
  /** Payload bytes the client sent on this leg. */
  clientPayloadBytes: number;
  /** Times of FINs / RSTs sent by the server of this leg. */
  serverFinTimes: number[];
  serverRstTimes: number[];
  /** Still open (live analysis: the values above are as of the last look). */
  open: boolean;
}

export function endpoint(addr: string | null, port: number | null): string | null {
  if (addr === null) return null;
  const a = addr.includes(':') ? `[${addr}]` : addr;
  return port === null ? a : `${a}:${port}`;
}
