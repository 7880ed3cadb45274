/**
 * How a connection closes: each RST (ResetRecord: from whom, in what state, idle how long, where
 * its sequence number falls) and each FIN (FinRecord), who closed it first and how, and the moment
 * it counts as closed (FIN both ways, or a RST), after which the table lets it linger
 * (FlowTable.markClosed).
 */
import type { Connection, ConnTable } from './connection.js';
import { scaledWindow, unacked, type Endpoint } from './endpoint.js';
import { addMark } from './marks.js';
import type { FinRecord, ResetRecord, ResetState, SeqState, TcpEvent } from './record.js';
import type { TcpSegment } from './segment.js';
import { seqDiff } from './seq.js';
import type { Direction } from './stream.js';

/** Where a RST's sequence number falls for its receiver (RFC 5961's check). */
function seqStateOfRst(fwd: Endpoint, rev: Endpoint, seq: number): SeqState {
  // The receiver expects the sender's next sequence number (what it last acknowledged).
  if (!rev.lastAckValid && !fwd.nextSeqValid) return 'unknown';
  const expected = rev.lastAckValid ? rev.lastAck : fwd.nextSeq;
  if (seq === expected || (fwd.nextSeqValid && seq === fwd.nextSeq)) return 'exact';
  if (rev.window >= 0) {
    const w = scaledWindow(rev, fwd, rev.window);
    const d = seqDiff(seq, expected);
    if (d >= 0 && d < Math.max(w, 1)) return 'in-window';
  }
  return 'out-of-window';
}

/** A RST: its record, mark and event; the connection is closed. */
export function onReset(t: ConnTable, conn: Connection, fwd: Endpoint, rev: Endpoint, seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null): void {
  const now = seg.time;
  let state: ResetState;
  if (!conn.established) state = 'handshake';
  else if (conn.awaitingResponse) state = 'request-outstanding';
  else if (unacked(conn.c, conn.s) > 0 || unacked(conn.s, conn.c) > 0) state = 'mid-transfer';
  else state = 'idle';
  const seqState = seqStateOfRst(fwd, rev, seg.seq | 0);
  const unackedPeer = unacked(rev, fwd);
  const unackedOwn = unacked(fwd, rev);
  const r: ResetRecord = {
    time: now,
    from: dir === 0 ? 'client' : 'server',
    packet: seg.index,
    state,
    idleSeconds: idle,
    idleBeforeRequestSeconds: state === 'request-outstanding' ? conn.idleBeforeRequest : null,
    seqState,
    acksAllPeerData: acksAll,
    unackedPeerBytes: unackedPeer,
    unackedOwnBytes: unackedOwn,
  };
  if ((conn.resets ??= []).length < 32) conn.resets.push(r);
  addMark(conn, 'rst', seg, dir, idle, acksAll, t.maxMarks);
  const detail: Partial<TcpEvent> = { state, idleSeconds: idle, seqState, unackedPeerBytes: unackedPeer, unackedOwnBytes: unackedOwn };
  if (state === 'request-outstanding') detail.idleBeforeRequestSeconds = conn.idleBeforeRequest;
  conn.emit('reset', now, dir, seg.index, seg.seq, seg.ack, fwd.stream.initialized ? fwd.stream.offsetOf(seg.seq) : 0, seg.payloadLength, detail);
  if (conn.closedBy < 0) {
    conn.closedBy = dir;
    conn.closeHow = 'rst';
    conn.closeTime = now;
  }
  t.markClosed(conn, now);
}

/** A sender's first FIN: its record and mark; FIN both ways closes the connection. */
export function onFin(t: ConnTable, conn: Connection, fwd: Endpoint, seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null): void {
  fwd.finSeen = true;
  const fin: FinRecord = { time: seg.time, from: dir === 0 ? 'client' : 'server', packet: seg.index, idleSeconds: idle, requestOutstanding: conn.awaitingResponse, acksAllPeerData: acksAll };
  (conn.fins ??= []).push(fin);
  addMark(conn, 'fin', seg, dir, idle, acksAll, t.maxMarks);
  if (conn.closedBy < 0) {
    conn.closedBy = dir;
    conn.closeHow = 'fin';
    conn.closeTime = seg.time;
  }
  if (conn.c.finSeen && conn.s.finSeen) t.markClosed(conn, seg.time);
}
