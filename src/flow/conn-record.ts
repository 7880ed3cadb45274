/**
 * What a connection leaves when it ends: its streams closed (the bytes the peer acknowledged but
 * the capture never delivered become gaps), a `syn-unanswered` event when its SYNs got no packet
 * back, and the ConnectionRecord (Zeek conn.log style, see record.ts and docs/flow.md).
 */
import type { Connection } from './connection.js';
import { connState } from './conn-state.js';
import { unacked, type Endpoint } from './endpoint.js';
import { recordMarks } from './marks.js';
import type { ConnectionRecord, EndCause } from './record.js';
import type { EndReason } from './stream.js';

/** Closes both streams of an ending connection (`time`: when it ended), then reports unanswered SYNs. */
export function closeOut(conn: Connection, cause: EndCause, time: number): void {
  const reason: EndReason =
    cause === 'closed' || (cause === 'port-reuse' && conn.closed) ? (conn.closeHow === 'rst' ? 'rst' : 'fin') : cause === 'port-reuse' || cause === 'evicted' ? 'evicted' : cause === 'timeout' ? 'timeout' : 'capture-end';
  for (const [ep, peer] of [[conn.c, conn.s], [conn.s, conn.c]] as const) {
    let endOffset = -1;
    if (ep.stream.initialized && peer.lastAckValid) {
      endOffset = ep.stream.offsetOf(peer.lastAck);
      // The ACK of a FIN covers one sequence number that is not a byte.
      if (ep.finSeen && ep.stream.finOffset >= 0 && endOffset > ep.stream.finOffset) endOffset = ep.stream.finOffset;
      if (endOffset > ep.stream.maxEnd + 1) endOffset = ep.stream.maxEnd; // an ACK far beyond what was seen: do not invent a huge gap
    }
    ep.stream.close(reason, Math.max(time, conn.lastTime), endOffset);
  }
  if (conn.c.synCount > 0 && conn.s.packets === 0) {
    const times = conn.c.synTimes();
    conn.emit('syn-unanswered', times[0] ?? conn.startTime, 0, -1, conn.c.isn, NaN, 0, 0, { synCount: conn.c.synCount, retries: conn.c.synCount - 1, synTimes: times });
  }
}

/** The record of an ended connection (read before it leaves the slab). */
export function connectionRecord(conn: Connection, cause: EndCause, maxMarks: number): ConnectionRecord {
  const c = conn.c;
  const s = conn.s;
  const history = (conn.flipped ? '^' : '') + conn.historyText;
  const streamBytes = (ep: Endpoint) => (ep.stream.initialized ? Math.max(ep.stream.next, ep.stream.maxEnd) : 0);
  const cs = connState(c.state, s.state, history, streamBytes(c), streamBytes(s));
  const end = Math.max(conn.lastTime, conn.startTime);
  const synTime = c.lastSynTime();
  const nn = (x: number) => (Number.isNaN(x) ? null : x);
  return {
    uid: conn.uid,
    communityId: conn.communityId,
    capturePoint: conn.capturePoint,
    capturePoints: [conn.capturePoint, ...(conn.extraCapturePoints ?? [])],
    ipVersion: conn.ipVersion,
    clientAddr: conn.clientAddr,
    clientPort: conn.clientPort,
    serverAddr: conn.serverAddr,
    serverPort: conn.serverPort,
    startTime: conn.startTime,
    endTime: end,
    durationSeconds: end - conn.startTime,
    endCause: cause,
    packetsFromClient: c.packets,
    packetsFromServer: s.packets,
    ipBytesFromClient: c.ipBytes,
    ipBytesFromServer: s.ipBytes,
    payloadBytesFromClient: c.payloadBytes,
    payloadBytesFromServer: s.payloadBytes,
    streamBytesFromClient: streamBytes(c),
    streamBytesFromServer: streamBytes(s),
    gapBytesFromClient: c.stream.gapBytes,
    gapBytesFromServer: s.stream.gapBytes,
    gapsFromClient: c.stream.gapCount,
    gapsFromServer: s.stream.gapCount,
    handshakeRttSeconds: nn(conn.handshakeAckTime - synTime),
    synToSynAckSeconds: nn(conn.synAckTime - synTime),
    synAckToAckSeconds: nn(conn.handshakeAckTime - conn.synAckTime),
    clientMss: c.mss >= 0 ? c.mss : null,
    serverMss: s.mss >= 0 ? s.mss : null,
    clientWindowScale: c.windowScale >= 0 ? c.windowScale : null,
    serverWindowScale: s.windowScale >= 0 ? s.windowScale : null,
    sackPermitted: c.sackPermitted && s.sackPermitted,
    connState: cs,
    history,
    closedBy: conn.closedBy < 0 ? null : conn.closedBy === 0 ? 'client' : 'server',
    closeHow: conn.closeHow,
    closeTime: nn(conn.closeTime),
    resets: conn.resets ?? [],
    fins: conn.fins ?? [],
    idleGaps: conn.idleGaps ?? [],
    idleGapCount: conn.idleGapCount,
    maxIdleSeconds: conn.maxIdle,
    midstream: conn.midstream,
    clientIsn: c.synCount > 0 ? c.isn >>> 0 : null,
    serverIsn: s.synCount > 0 ? s.isn >>> 0 : null,
    firstPayloadFromClient: c.firstPayload(),
    firstPayloadFromServer: s.firstPayload(),
    synTimes: c.synTimes(),
    synAckTime: nn(conn.synAckTime),
    refused: conn.refused,
    duplicatePackets: conn.duplicates,
    retransmissionsFromClient: c.retransmissions,
    retransmissionsFromServer: s.retransmissions,
    retransmittedBytesFromClient: c.stream.retransmittedBytes,
    retransmittedBytesFromServer: s.stream.retransmittedBytes,
    outOfOrderFromClient: c.outOfOrder,
    outOfOrderFromServer: s.outOfOrder,
    inconsistentOverlapBytes: c.stream.inconsistentBytes + s.stream.inconsistentBytes,
    bufferOverflows: conn.overflows,
    unackedBytesFromClient: unacked(c, s),
    unackedBytesFromServer: unacked(s, c),
    events: conn.events,
    eventCounts: conn.eventCounts ?? {},
    previousUid: conn.previousUid,
    marks: recordMarks(conn, maxMarks),
  };
}
