/**
 * Adapters from the flow and HTTP stages' records to the compact views correlation keeps.
 */
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo } from '../flow/stream.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { ConnView, LegView, PayloadPrint, TxView } from './views.js';

/** The join keys on a flow record (read by name: the flow stage adds them). */
interface RecordJoinKeys {
  clientIsn?: number | null;
  serverIsn?: number | null;
  firstPayloadFromClient?: PayloadPrint | null;
  firstPayloadFromServer?: PayloadPrint | null;
}

function joinKeys(r: ConnectionRecord): Pick<ConnView, 'clientIsn' | 'serverIsn' | 'clientFirstPayload' | 'serverFirstPayload'> {
  const k = r as ConnectionRecord & RecordJoinKeys;
  return { clientIsn: k.clientIsn ?? null, serverIsn: k.serverIsn ?? null, clientFirstPayload: k.firstPayloadFromClient ?? null, serverFirstPayload: k.firstPayloadFromServer ?? null };
}

/** The compact view of every connection, for joining legs. */
export function legView(r: ConnectionRecord): LegView {
  return {
    uid: r.uid,
    capturePoint: r.capturePoint,
    ...joinKeys(r),
    clientAddr: r.clientAddr,
    clientPort: r.clientPort,
    serverAddr: r.serverAddr,
    serverPort: r.serverPort,
    startTime: r.startTime,
    endTime: r.endTime,
    clientPayloadBytes: r.payloadBytesFromClient,
    serverFinTimes: r.fins.filter((f) => f.from === 'server').map((f) => f.time),
    serverRstTimes: r.resets.filter((x) => x.from === 'server').map((x) => x.time),
    open: false,
  };
}

export function connView(r: ConnectionRecord): ConnView {
  return {
    uid: r.uid,
    communityId: r.communityId,
    capturePoint: r.capturePoint,
    capturePoints: r.capturePoints,
    ...joinKeys(r),
    clientAddr: r.clientAddr,
    clientPort: r.clientPort,
    serverAddr: r.serverAddr,
    serverPort: r.serverPort,
    startTime: r.startTime,
    endTime: r.endTime,
    connState: r.connState,
    history: r.history,
    rttSeconds: r.synToSynAckSeconds ?? r.handshakeRttSeconds,
    synTimes: r.synTimes,
    synAckTime: r.synAckTime,
    refused: r.refused,
    closedBy: r.closedBy,
    closeHow: r.closeHow,
    maxIdleSeconds: r.maxIdleSeconds,
    idleGaps: r.idleGaps,
    gapBytes: r.gapBytesFromClient + r.gapBytesFromServer,
    midstream: r.midstream,
    marks: r.marks.map((m) => ({ time: m.time, fromClient: m.fromClient, kind: m.kind, length: m.length, idleBeforeSeconds: m.idleBeforeSeconds, acksAllPeerData: m.acksAllPeerData })),
    requests: 0,
    tlsFailure: null,
  };
}

export function txView(tx: HttpTransaction, conn: ConnInfo): TxView {
  let endedBy: string | null = tx.endedBy;
  if ((endedBy === 'fin' || endedBy === 'rst') && tx.endedByDirection === 'client') endedBy = 'client-close';
  return {
    uid: tx.uid,
    connUid: tx.connUid,
    httpVersion: tx.httpVersion === '2' ? 'HTTP/2' : `HTTP/${tx.httpVersion}`,
    streamId: tx.streamId,
    method: tx.method,
    host: tx.authority,
    path: tx.path,
    status: tx.status,
    traceId: tx.requestHeaders['x-amzn-trace-id'] ?? null,
    requestFirstByteTime: tx.requestFirstByteTime,
    requestLastByteTime: tx.requestLastByteTime,
    responseFirstByteTime: tx.responseFirstByteTime,
    responseLastByteTime: tx.responseLastByteTime,
    requestIndexOnConnection: tx.requestIndexOnConnection,
    idleBeforeRequestSeconds: tx.idleBeforeRequestSeconds,
    outcome: tx.outcome,
    endedBy,
    errorCode: tx.errorCode,
    goaway: tx.goaway,
    malformedReason: tx.malformedReason,
    responseHeadBytes: tx.responseHeadBytes,
    responseContentLength: tx.responseContentLength,
    responseBodyBytes: tx.responseBodyBytes,
    clientAddr: conn.clientAddr,
    clientPort: conn.clientPort,
    serverAddr: conn.serverAddr,
    serverPort: conn.serverPort,
  };
}
