/**
 * Marks: the key packets of a connection kept for ladder diagrams (ConnectionRecord.marks): FINs,
 * RSTs, keep-alives and the first data after an idle gap, stored flat (MARK_FIELDS numbers each,
 * no object per mark) and bounded; the SYN and SYN-ACK marks are rebuilt from the handshake
 * times when the record is made, not stored.
 */
import type { Connection } from './connection.js';
import type { TcpMark } from './record.js';
import type { TcpSegment } from './segment.js';
import type { Direction } from './stream.js';

const MARK_KINDS: readonly TcpMark['kind'][] = ['syn', 'synack', 'fin', 'rst', 'data', 'keep-alive'];
const MARK_FIELDS = 7;

function marksOf(m: number[] | null): TcpMark[] {
  const out: TcpMark[] = [];
  if (m === null) return out;
  for (let i = 0; i + MARK_FIELDS <= m.length; i += MARK_FIELDS) {
    out.push({ time: m[i + 1]!, fromClient: m[i + 6] === 1, kind: MARK_KINDS[m[i]!]!, length: m[i + 2]!, packet: m[i + 3]!, idleBeforeSeconds: m[i + 4]!, acksAllPeerData: m[i + 5] === -1 ? null : m[i + 5] === 1 });
  }
  return out;
}

/** SYN / SYN-ACK marks, rebuilt from the handshake fields (not stored per connection). */
function handshakeMarks(conn: Connection): TcpMark[] {
  const out: TcpMark[] = [];
  const syns = conn.c.synTimes();
  let prev = NaN;
  for (const t of syns) {
    out.push({ time: t, fromClient: true, kind: 'syn', length: 0, packet: -1, idleBeforeSeconds: Number.isNaN(prev) ? 0 : t - prev, acksAllPeerData: null });
    prev = t;
  }
  if (!Number.isNaN(conn.synAckTime)) {
    out.push({ time: conn.synAckTime, fromClient: false, kind: 'synack', length: 0, packet: -1, idleBeforeSeconds: Number.isNaN(prev) ? 0 : Math.max(0, conn.synAckTime - prev), acksAllPeerData: null });
  }
  return out;
}

/**
 * Keeps a key packet (at most `maxMarks`; when full, the oldest after the first 8 is dropped: the
 * handshake stays, the most recent are kept).
 */
export function addMark(conn: Connection, kind: TcpMark['kind'], seg: TcpSegment, dir: Direction, idle: number, acksAll: boolean | null, maxMarks: number): void {
  if (maxMarks <= 0) return;
  const m = (conn.markNums ??= []);
  if (m.length >= maxMarks * MARK_FIELDS) m.splice(Math.min(8, maxMarks - 1) * MARK_FIELDS, MARK_FIELDS);
  m.push(MARK_KINDS.indexOf(kind), seg.time, seg.payloadLength, seg.index, idle, acksAll === null ? -1 : acksAll ? 1 : 0, dir === 0 ? 1 : 0);
}

/** The marks of a connection's record, in order: the handshake's, then the kept ones. */
export function recordMarks(conn: Connection, maxMarks: number): TcpMark[] {
  return maxMarks > 0 ? handshakeMarks(conn).concat(marksOf(conn.markNums)) : [];
}
