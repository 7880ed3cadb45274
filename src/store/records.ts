/**
 * Rows of the store's tables (schema.ts) from the records the earlier stages produce, and back:
 * the views correlation and verdicts work on, rebuilt from rows, so that `analyze --store` reasons
 * over exactly what a batch analysis of the same packets would have kept.
 */
import type { ConnView, FlowRowView, LbLogView, LegView, TcpMark, TxView } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo } from '../flow/stream.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { TlsSessionInfo } from '../tls/session.js';
import type { Row } from './schema.js';

/** Where a record's packets are: the capture file and the byte offset of a packet's block. */
export interface CaptureRef {
  file: string;
  offset: number;
}

export const NO_REF: CaptureRef = { file: '', offset: -1 };

export interface ConnExtras {
  node: string;
  /** The ConnView as the session completed it (requests, TLS failure). */
  view: ConnView;
  first: CaptureRef;
  last: CaptureRef;
}

/** The path model's join keys (initial sequence numbers, first payload segments), read by name so this builds before and after the flow stage has them. */
interface JoinKeys {
  clientIsn?: number | null;
  serverIsn?: number | null;
  clientFirstPayload?: FirstPayload | null;
  serverFirstPayload?: FirstPayload | null;
}
interface FirstPayload {
  seq: number;
  ack: number;
  length: number;
  fingerprint: number;
  time: number;
}

function joinColumns(rec: ConnectionRecord): Row {
  const k = rec as unknown as JoinKeys & { firstPayloadFromClient?: FirstPayload | null; firstPayloadFromServer?: FirstPayload | null };
  const fp = (p: FirstPayload | null | undefined, pre: string): Row => ({
    [`${pre}_first_seq`]: p?.seq ?? null,
    [`${pre}_first_ack`]: p?.ack ?? null,
    [`${pre}_first_len`]: p?.length ?? null,
    [`${pre}_first_fp`]: p?.fingerprint ?? null,
    [`${pre}_first_ts`]: p?.time ?? null,
  });
  return { isn_orig: k.clientIsn ?? null, isn_resp: k.serverIsn ?? null, ...fp(k.firstPayloadFromClient ?? k.clientFirstPayload, 'orig'), ...fp(k.firstPayloadFromServer ?? k.serverFirstPayload, 'resp') };
}

/** The join keys of a connection row, in the flow record's names. */
export function joinKeysOf(r: Row): Required<JoinKeys> {
  const fp = (pre: string): FirstPayload | null =>
    r[`${pre}_first_seq`] === null || r[`${pre}_first_seq`] === undefined
      ? null
      : { seq: num(r[`${pre}_first_seq`]), ack: num(r[`${pre}_first_ack`]), length: num(r[`${pre}_first_len`]), fingerprint: num(r[`${pre}_first_fp`]), time: num(r[`${pre}_first_ts`]) };
  return { clientIsn: numOrNull(r.isn_orig), serverIsn: numOrNull(r.isn_resp), clientFirstPayload: fp('orig'), serverFirstPayload: fp('resp') };
}

export function connRow(rec: ConnectionRecord, x: ConnExtras): Row {
  const v = x.view;
  const gaps = rec.idleGaps;
  return {
    ts: rec.startTime,
    node: x.node,
    uid: rec.uid,
    community_id: rec.communityId,
    capture_point: rec.capturePoint,
    capture_points: rec.capturePoints,
    proto: 'tcp',
    orig_h: rec.clientAddr,
    orig_p: rec.clientPort,
    resp_h: rec.serverAddr,
    resp_p: rec.serverPort,
    end_ts: rec.endTime,
    duration: rec.durationSeconds,
    conn_state: rec.connState,
    history: rec.history,
    orig_pkts: rec.packetsFromClient,
    resp_pkts: rec.packetsFromServer,
    orig_ip_bytes: rec.ipBytesFromClient,
    resp_ip_bytes: rec.ipBytesFromServer,
    orig_bytes: rec.streamBytesFromClient,
    resp_bytes: rec.streamBytesFromServer,
    orig_payload_bytes: rec.payloadBytesFromClient,
    resp_payload_bytes: rec.payloadBytesFromServer,
    missed_bytes: rec.gapBytesFromClient + rec.gapBytesFromServer,
    rtt: v.rttSeconds,
    syn_ts: rec.synTimes,
    synack_ts: rec.synAckTime,
    refused: rec.refused,
    midstream: rec.midstream,
    closed_by: rec.closedBy,
    close_how: rec.closeHow,
    end_cause: rec.endCause,
    max_idle: rec.maxIdleSeconds,
    idle_gap_start: gaps.map((g) => g.start),
    idle_gap_end: gaps.map((g) => g.end),
    resp_fin_ts: rec.fins.filter((f) => f.from === 'server').map((f) => f.time),
    resp_rst_ts: rec.resets.filter((r) => r.from === 'server').map((r) => r.time),
    requests: v.requests,
    tls_alert: v.tlsFailure?.alert ?? null,
    tls_alert_from: v.tlsFailure?.from ?? null,
    icmp_error_ts: v.icmpError?.time ?? null,
    icmp_error_from: v.icmpError?.from ?? null,
    icmp_error_type: v.icmpError?.type ?? null,
    icmp_error_code: v.icmpError?.code ?? null,
    ...joinColumns(rec),
    previous_uid: rec.previousUid,
    file: x.first.file,
    file_offset: x.first.offset,
    last_file: x.last.file,
    last_file_offset: x.last.offset,
  };
}

export function markRows(rec: ConnectionRecord, node: string): Row[] {
  return rec.marks.map((m) => ({
    ts: m.time,
    node,
    uid: rec.uid,
    from_client: m.fromClient,
    kind: m.kind,
    length: m.length,
    idle_before: m.idleBeforeSeconds,
    acks_all_peer_data: m.acksAllPeerData,
    packet: m.packet,
  }));
}

export function txRow(tx: HttpTransaction, conn: ConnInfo, node: string): Row {
  return {
    ts: tx.requestFirstByteTime ?? tx.responseFirstByteTime ?? conn.startTime,
    node,
    uid: tx.uid,
    conn_uid: tx.connUid,
    capture_point: conn.capturePoint,
    orig_h: conn.clientAddr,
    orig_p: conn.clientPort,
    resp_h: conn.serverAddr,
    resp_p: conn.serverPort,
    http_version: tx.httpVersion,
    stream_id: tx.streamId,
    method: tx.method,
    host: tx.authority,
    path: tx.path,
    status: tx.status,
    trace_id: tx.requestHeaders['x-amzn-trace-id'] ?? null,
    user_agent: tx.requestHeaders['user-agent'] ?? null,
    req_first_ts: tx.requestFirstByteTime,
    req_last_ts: tx.requestLastByteTime,
    resp_first_ts: tx.responseFirstByteTime,
    resp_last_ts: tx.responseLastByteTime,
    duration: tx.durationSeconds,
    request_index: tx.requestIndexOnConnection,
    idle_before: tx.idleBeforeRequestSeconds,
    outcome: tx.outcome,
    ended_by: tx.endedBy,
    ended_by_dir: tx.endedByDirection,
    error_code: tx.errorCode,
    malformed_reason: tx.malformedReason,
    request_body_bytes: tx.requestBodyBytes,
    response_body_bytes: tx.responseBodyBytes,
    resp_head_bytes: tx.responseHeadBytes,
    resp_content_length: tx.responseContentLength,
    goaway_ts: tx.goaway?.time ?? null,
    goaway_last_stream: tx.goaway?.lastStreamId ?? null,
  };
}

export function tlsRow(t: TlsSessionInfo, startTime: number, node: string): Row {
  const fatal = t.alerts.find((a) => a.level === 'fatal' && !a.encrypted) ?? null;
  return {
    ts: startTime,
    node,
    uid: t.uid,
    version: t.version,
    cipher: t.cipherSuite?.name ?? null,
    server_name: t.sni,
    alpn: t.alpn,
    resumed: t.resumed,
    established: t.handshakeComplete,
    decrypted: t.decrypted,
    not_decrypted_reason: t.notDecryptedReason,
    alert: fatal ? fatal.description ?? `alert ${fatal.code ?? '?'}` : null,
    alert_from: fatal ? (fatal.dir === 0 ? 'client' : 'server') : null,
  };
}

/** The time a finding is filed under: the failed request, else the first evidence. */
export function findingTime(f: Finding): number {
  return f.request?.time ?? f.evidence.find((e) => e.time !== null)?.time ?? f.timeline.marks[0]?.time ?? 0;
}

/**
 * A finding's stable id: the same incident, found by two runs (or by live analysis and a later
 * `analyze --store`), gets the same id, whatever its position in a report.
 */
export function findingKey(f: Finding): string {
  const anchor = f.targetConnection?.uid ?? f.connectionUids[0] ?? f.client ?? '';
  return `${f.kind}|${anchor}|${(f.request?.time ?? 0).toFixed(6)}|${f.request?.path ?? ''}`;
}

export function findingRow(f: Finding, node: string, report: string, id: string): Row {
  return {
    ts: findingTime(f),
    node,
    id,
    kind: f.kind,
    severity: f.severity,
    confidence: f.confidence,
    status: f.status,
    method: f.request?.method ?? null,
    path: f.request?.path ?? null,
    client: f.client,
    target_conn_uid: f.targetConnection?.uid ?? null,
    reset_by: f.resetBy,
    idle: f.idleSeconds,
    summary: f.summary,
    conn_uids: f.connectionUids,
    report,
  };
}

export function lbLogRow(l: LbLogView, node: string): Row {
  return {
    ts: l.time,
    node,
    kind: l.kind,
    file: l.file,
    line: l.line,
    request_ts: l.requestTime,
    elb_status: l.elbStatus,
    target_status: l.targetStatus,
    client_h: l.clientAddr,
    client_p: l.clientPort,
    target_h: l.targetAddr,
    target_p: l.targetPort,
    request_processing: l.requestProcessingSeconds,
    target_processing: l.targetProcessingSeconds,
    response_processing: l.responseProcessingSeconds,
    method: l.method,
    path: l.path,
    trace_id: l.traceId,
    error_reason: l.errorReason,
    raw: l.raw,
  };
}

export function flowLogRow(r: FlowRowView, node: string): Row {
  return {
    ts: r.start,
    node,
    file: r.file,
    line: r.line,
    end_ts: r.end,
    interface_id: r.interfaceId,
    src_h: r.srcAddr,
    src_p: r.srcPort,
    dst_h: r.dstAddr,
    dst_p: r.dstPort,
    protocol: r.protocol,
    action: r.action,
    tcp_flags: r.tcpFlags,
    raw: r.raw,
  };
}

// ---- back from rows ----

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true';
const boolOrNull = (v: unknown): boolean | null => (v === null || v === undefined ? null : bool(v));
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : []);

export function connViewOf(r: Row, marks: TcpMark[]): ConnView {
  const starts = nums(r.idle_gap_start);
  const ends = nums(r.idle_gap_end);
  const alert = strOrNull(r.tls_alert);
  return {
    uid: String(r.uid),
    communityId: strOrNull(r.community_id),
    capturePoint: String(r.capture_point),
    capturePoints: Array.isArray(r.capture_points) ? r.capture_points.map(String) : [String(r.capture_point)],
    ...joinKeysOf(r),
    clientAddr: String(r.orig_h),
    clientPort: num(r.orig_p),
    serverAddr: String(r.resp_h),
    serverPort: num(r.resp_p),
    startTime: num(r.ts),
    endTime: num(r.end_ts),
    connState: String(r.conn_state),
    history: String(r.history),
    rttSeconds: numOrNull(r.rtt),
    synTimes: nums(r.syn_ts),
    synAckTime: numOrNull(r.synack_ts),
    refused: bool(r.refused),
    closedBy: strOrNull(r.closed_by) as ConnView['closedBy'],
    closeHow: strOrNull(r.close_how) as ConnView['closeHow'],
    maxIdleSeconds: num(r.max_idle),
    idleGaps: starts.map((s, i) => ({ start: s, end: ends[i] ?? s, seconds: (ends[i] ?? s) - s })),
    gapBytes: num(r.missed_bytes),
    midstream: bool(r.midstream),
    marks,
    requests: num(r.requests),
    tlsFailure: alert === null ? null : { alert, from: r.tls_alert_from === 'client' ? 'client' : 'server' },
  };
}

export function markOf(r: Row): TcpMark {
  return {
    time: num(r.ts),
    fromClient: bool(r.from_client),
    kind: String(r.kind) as TcpMark['kind'],
    length: num(r.length),
    idleBeforeSeconds: num(r.idle_before),
    acksAllPeerData: boolOrNull(r.acks_all_peer_data),
  };
}

export function legViewOf(r: Row): LegView {
  return {
    uid: String(r.uid),
    capturePoint: String(r.capture_point),
    ...joinKeysOf(r),
    open: false,
    clientAddr: String(r.orig_h),
    clientPort: num(r.orig_p),
    serverAddr: String(r.resp_h),
    serverPort: num(r.resp_p),
    startTime: num(r.ts),
    endTime: num(r.end_ts),
    clientPayloadBytes: num(r.orig_payload_bytes),
    serverFinTimes: nums(r.resp_fin_ts),
    serverRstTimes: nums(r.resp_rst_ts),
  };
}

export function txViewOf(r: Row): TxView {
  const v = String(r.http_version);
  let endedBy = strOrNull(r.ended_by);
  if ((endedBy === 'fin' || endedBy === 'rst') && r.ended_by_dir === 'client') endedBy = 'client-close';
  return {
    uid: String(r.uid),
    connUid: String(r.conn_uid),
    httpVersion: v === '2' ? 'HTTP/2' : `HTTP/${v}`,
    streamId: numOrNull(r.stream_id),
    method: strOrNull(r.method),
    host: strOrNull(r.host),
    path: strOrNull(r.path),
    status: numOrNull(r.status),
    traceId: strOrNull(r.trace_id),
    requestFirstByteTime: numOrNull(r.req_first_ts),
    requestLastByteTime: numOrNull(r.req_last_ts),
    responseFirstByteTime: numOrNull(r.resp_first_ts),
    responseLastByteTime: numOrNull(r.resp_last_ts),
    requestIndexOnConnection: numOrNull(r.request_index),
    idleBeforeRequestSeconds: numOrNull(r.idle_before),
    outcome: String(r.outcome),
    endedBy,
    errorCode: strOrNull(r.error_code),
    goaway: goawayOf(r),
    malformedReason: strOrNull(r.malformed_reason),
    responseHeadBytes: numOrNull(r.resp_head_bytes),
    responseContentLength: numOrNull(r.resp_content_length),
    responseBodyBytes: num(r.response_body_bytes),
    clientAddr: String(r.orig_h),
    clientPort: num(r.orig_p),
    serverAddr: String(r.resp_h),
    serverPort: num(r.resp_p),
  };
}

export function lbLogViewOf(r: Row): LbLogView {
  return {
    kind: String(r.kind) as LbLogView['kind'],
    file: String(r.file),
    line: num(r.line),
    time: num(r.ts),
    requestTime: numOrNull(r.request_ts),
    elbStatus: numOrNull(r.elb_status),
    targetStatus: numOrNull(r.target_status),
    clientAddr: strOrNull(r.client_h),
    clientPort: numOrNull(r.client_p),
    targetAddr: strOrNull(r.target_h),
    targetPort: numOrNull(r.target_p),
    requestProcessingSeconds: numOrNull(r.request_processing),
    targetProcessingSeconds: numOrNull(r.target_processing),
    responseProcessingSeconds: numOrNull(r.response_processing),
    method: strOrNull(r.method),
    path: strOrNull(r.path),
    traceId: strOrNull(r.trace_id),
    errorReason: strOrNull(r.error_reason),
    raw: String(r.raw),
  };
}

export function flowRowViewOf(r: Row): FlowRowView {
  const a = strOrNull(r.action);
  return {
    file: String(r.file),
    line: num(r.line),
    start: num(r.ts),
    end: num(r.end_ts),
    interfaceId: strOrNull(r.interface_id),
    srcAddr: String(r.src_h),
    dstAddr: String(r.dst_h),
    srcPort: numOrNull(r.src_p),
    dstPort: numOrNull(r.dst_p),
    protocol: numOrNull(r.protocol),
    action: a === 'ACCEPT' || a === 'REJECT' ? a : null,
    tcpFlags: numOrNull(r.tcp_flags),
    raw: String(r.raw),
  };
}

// ---- the stage records, rebuilt from rows (for replaying a store into the analysis session) ----

/** A ConnectionRecord from a conns row and its marks: the fields the analysis reads are exact, counters it does not read are 0. */
export function connectionRecordOf(r: Row, markRowsOfConn: Row[]): ConnectionRecord {
  const marks = markRowsOfConn.map((m) => ({ ...markOf(m), packet: num(m.packet) }));
  const starts = nums(r.idle_gap_start);
  const ends = nums(r.idle_gap_end);
  const finTimes = nums(r.resp_fin_ts);
  const rstTimes = nums(r.resp_rst_ts);
  const idleOf = (t: number) => marks.find((m) => m.time === t)?.idleBeforeSeconds ?? 0;
  const acksOf = (t: number) => marks.find((m) => m.time === t)?.acksAllPeerData ?? null;
  const keys = joinKeysOf(r);
  const rec: ConnectionRecord & Record<string, unknown> = {
    uid: String(r.uid),
    communityId: String(r.community_id),
    capturePoint: String(r.capture_point),
    capturePoints: Array.isArray(r.capture_points) ? (r.capture_points as string[]).map(String) : [],
    ipVersion: String(r.orig_h).includes(':') ? 6 : 4,
    clientAddr: String(r.orig_h),
    clientPort: num(r.orig_p),
    serverAddr: String(r.resp_h),
    serverPort: num(r.resp_p),
    startTime: num(r.ts),
    endTime: num(r.end_ts),
    durationSeconds: num(r.duration),
    endCause: String(r.end_cause) as ConnectionRecord['endCause'],
    packetsFromClient: num(r.orig_pkts),
    packetsFromServer: num(r.resp_pkts),
    ipBytesFromClient: num(r.orig_ip_bytes),
    ipBytesFromServer: num(r.resp_ip_bytes),
    payloadBytesFromClient: num(r.orig_payload_bytes),
    payloadBytesFromServer: num(r.resp_payload_bytes),
    streamBytesFromClient: num(r.orig_bytes),
    streamBytesFromServer: num(r.resp_bytes),
    gapBytesFromClient: num(r.missed_bytes),
    gapBytesFromServer: 0,
    gapsFromClient: 0,
    gapsFromServer: 0,
    handshakeRttSeconds: numOrNull(r.rtt),
    synToSynAckSeconds: numOrNull(r.rtt),
    synAckToAckSeconds: null,
    clientMss: null,
    serverMss: null,
    clientWindowScale: null,
    serverWindowScale: null,
    sackPermitted: false,
    connState: String(r.conn_state) as ConnectionRecord['connState'],
    history: String(r.history),
    closedBy: strOrNull(r.closed_by) as ConnectionRecord['closedBy'],
    closeHow: strOrNull(r.close_how) as ConnectionRecord['closeHow'],
    closeTime: null,
    resets: rstTimes.map((t) => ({ time: t, from: 'server' as const, packet: -1, state: 'idle' as const, idleSeconds: idleOf(t), idleBeforeRequestSeconds: null, seqState: 'unknown' as const, acksAllPeerData: acksOf(t), unackedPeerBytes: 0, unackedOwnBytes: 0 })),
    fins: finTimes.map((t) => ({ time: t, from: 'server' as const, packet: -1, idleSeconds: idleOf(t), requestOutstanding: false, acksAllPeerData: acksOf(t) })),
    idleGaps: starts.map((s, i) => ({ start: s, end: ends[i] ?? s, seconds: (ends[i] ?? s) - s })),
    idleGapCount: starts.length,
    maxIdleSeconds: num(r.max_idle),
    midstream: bool(r.midstream),
    synTimes: nums(r.syn_ts),
    synAckTime: numOrNull(r.synack_ts),
    refused: bool(r.refused),
    duplicatePackets: 0,
    retransmissionsFromClient: 0,
    retransmissionsFromServer: 0,
    retransmittedBytesFromClient: 0,
    retransmittedBytesFromServer: 0,
    outOfOrderFromClient: 0,
    outOfOrderFromServer: 0,
    inconsistentOverlapBytes: 0,
    bufferOverflows: 0,
    unackedBytesFromClient: 0,
    unackedBytesFromServer: 0,
    events: 0,
    eventCounts: {},
    previousUid: strOrNull(r.previous_uid),
    marks,
    // The path model's join keys, in the flow record's names.
    clientIsn: keys.clientIsn,
    serverIsn: keys.serverIsn,
    firstPayloadFromClient: keys.clientFirstPayload,
    firstPayloadFromServer: keys.serverFirstPayload,
  };
  return rec;
}

/** The ICMP error a conns row recorded, or null. */
export function icmpErrorOf(r: Row): NonNullable<ConnView['icmpError']> | null {
  if (r.icmp_error_ts === null || r.icmp_error_ts === undefined) return null;
  return { time: num(r.icmp_error_ts), from: String(r.icmp_error_from), type: num(r.icmp_error_type), code: num(r.icmp_error_code) };
}

/** The HTTP/2 GOAWAY that cut a transaction row's stream, or null (none, or a row of schema version 1). */
export function goawayOf(r: Row): { time: number; lastStreamId: number } | null {
  if (r.goaway_ts === null || r.goaway_ts === undefined || r.goaway_last_stream === null || r.goaway_last_stream === undefined) return null;
  return { time: num(r.goaway_ts), lastStreamId: num(r.goaway_last_stream) };
}

/** The ConnInfo a transaction row was seen on. */
export function connInfoOf(r: Row): ConnInfo {
  return {
    uid: String(r.conn_uid),
    communityId: '',
    capturePoint: String(r.capture_point),
    clientAddr: String(r.orig_h),
    clientPort: num(r.orig_p),
    serverAddr: String(r.resp_h),
    serverPort: num(r.resp_p),
    startTime: num(r.ts),
    previousPacketTime: NaN,
  };
}

export function transactionOf(r: Row): HttpTransaction {
  const headers: HttpTransaction['requestHeaders'] = {};
  if (r.trace_id !== null && r.trace_id !== undefined) headers['x-amzn-trace-id'] = String(r.trace_id);
  if (r.user_agent !== null && r.user_agent !== undefined) headers['user-agent'] = String(r.user_agent);
  if (r.host !== null && r.host !== undefined) headers.host = String(r.host);
  return {
    uid: String(r.uid),
    connUid: String(r.conn_uid),
    httpVersion: String(r.http_version),
    streamId: numOrNull(r.stream_id),
    method: strOrNull(r.method),
    scheme: null,
    authority: strOrNull(r.host),
    path: strOrNull(r.path),
    status: numOrNull(r.status),
    interimStatuses: [],
    requestHeaders: headers,
    responseHeaders: {},
    requestBodyBytes: num(r.request_body_bytes),
    responseBodyBytes: num(r.response_body_bytes),
    // Since schema version 2 (the head size and declared length decide two verdicts); NULL in rows written before.
    responseHeadBytes: numOrNull(r.resp_head_bytes),
    responseContentLength: numOrNull(r.resp_content_length),
    requestFirstByteTime: numOrNull(r.req_first_ts),
    requestLastByteTime: numOrNull(r.req_last_ts),
    responseFirstByteTime: numOrNull(r.resp_first_ts),
    responseLastByteTime: numOrNull(r.resp_last_ts),
    durationSeconds: numOrNull(r.duration),
    requestIndexOnConnection: num(r.request_index),
    idleBeforeRequestSeconds: numOrNull(r.idle_before),
    outcome: String(r.outcome) as HttpTransaction['outcome'],
    endedBy: strOrNull(r.ended_by) as HttpTransaction['endedBy'],
    endedByDirection: strOrNull(r.ended_by_dir) as HttpTransaction['endedByDirection'],
    errorCode: strOrNull(r.error_code),
    // Since schema version 2; rows written before have ended_by 'goaway' only (grouped by connection, timed by the request).
    goaway: goawayOf(r),
    malformedReason: strOrNull(r.malformed_reason),
    headersIncomplete: false,
    upgrade: null,
    anomalies: [],
    client: `${String(r.orig_h)}:${num(r.orig_p)}`,
    server: `${String(r.resp_h)}:${num(r.resp_p)}`,
  };
}
