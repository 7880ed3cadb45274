/**
 * Silences: an idle gap (IdleGap, `idle-gap` event) is recorded when a connection was silent
 * (no packet either way) longer than the threshold (process.ts measures the silence before every
 * packet); and the request/response turns that say how long a connection was idle before the
 * request a reset or FIN crossed (the NLB idle-timeout signature, docs/flow.md).
 */
import type { Connection, ConnTable } from './connection.js';
import { addMark } from './marks.js';
import type { IdleGap } from './record.js';
import type { TcpSegment } from './segment.js';
import type { Direction } from './stream.js';

/** Records the silence of `idle` seconds since `lastTime` that `seg` ended (the first 100 kept, all counted). */
export function recordIdleGap(conn: Connection, seg: TcpSegment, dir: Direction, lastTime: number, idle: number): void {
  conn.idleGapCount++;
  const gap: IdleGap = { start: lastTime, end: seg.time, seconds: idle };
  if ((conn.idleGaps ??= []).length < 100) conn.idleGaps.push(gap);
  conn.emit('idle-gap', seg.time, dir, seg.index, seg.seq, seg.ack, -1, seg.payloadLength, { idleSeconds: idle, start: gap.start, end: gap.end });
}

/**
 * Request/response turns: the first new client bytes after a response (or none) start a request.
 * Called for new payload bytes only (not retransmissions); the first data after an idle gap is
 * kept as a mark.
 */
export function newPayload(t: ConnTable, conn: Connection, seg: TcpSegment, dir: Direction, idle: number): void {
  if (dir === 0) {
    if (!conn.awaitingResponse) {
      conn.awaitingResponse = true;
      conn.idleBeforeRequest = idle;
      if (idle > t.idleGapThreshold) addMark(conn, 'data', seg, dir, idle, null, t.maxMarks);
    }
  } else {
    if ((conn.awaitingResponse || conn.lastPayloadDir !== 1) && idle > t.idleGapThreshold) addMark(conn, 'data', seg, dir, idle, null, t.maxMarks);
    conn.awaitingResponse = false;
  }
  conn.lastPayloadDir = dir;
}
