/**
 * Everything one packet does to its connection, in order: the silence before it (idle gaps,
 * idle.ts), its counters, its SYN options and the handshake's times, Zeek's history letters, the
 * endpoint states (conn-state.ts), the sequence analysis and reassembly (seq-analysis.ts), its part
 * in the close (close.ts), and the reorder-window deadlines it starts. The table (table.ts) found
 * the connection and the direction and dropped duplicates before.
 *
 * This is the per-packet path: no allocation, no closure, no exception. Its function boundaries
 * are the ones V8's inlining was measured with (docs/flow.md, Performance): the steps written out
 * below were inline code of the table's per-packet method, the calls were calls; moving a step into
 * a function of its own changes what V8 inlines (and cost up to 12 % more instructions per packet).
 */
import { onFin, onReset } from './close.js';
import type { Connection, ConnTable } from './connection.js';
import { updateStates } from './conn-state.js';
import { acksAll, segmentPrint, type Endpoint } from './endpoint.js';
import { recordIdleGap } from './idle.js';
import type { TcpSegment } from './segment.js';
import { analyze } from './seq-analysis.js';
import type { Direction } from './stream.js';

// TCP flags (segment.ts; module-local copies: V8 optimises those better than imported ones).
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;

/** Records an endpoint's first payload segment (once per direction; kept out of the per-packet function's body). */
function recordFirstPayload(ep: Endpoint, seg: TcpSegment): void {
  const ack = (seg.flags & ACK) !== 0 ? seg.ack | 0 : 0;
  const len = seg.payloadLength;
  ep.recordFirstPayload(seg.seq | 0, ack, len, segmentPrint(seg.seq >>> 0, ack >>> 0, len, seg.data, seg.payloadOffset, seg.capturedPayload), seg.time);
}

/** Applies one packet (already found to be `conn`'s, in direction `dir`, not a duplicate) to its connection. */
export function processSegment(t: ConnTable, conn: Connection, seg: TcpSegment, dir: Direction): void {
  const now = seg.time;
  const fwd = dir === 0 ? conn.c : conn.s;
  const rev = dir === 0 ? conn.s : conn.c;
  const fromOrig = dir === 0;
  const f = seg.flags;
  const len = seg.payloadLength;
  const budget = t.budget;
  const overflowsBefore = budget.overflows;

  // Time, idle gaps.
  const first = fwd.packets === 0 && rev.packets === 0;
  const lastTime = conn.lastTime;
  const idle = first ? 0 : now - lastTime;
  if (!first && idle > conn.maxIdle) conn.maxIdle = idle;
  if (!first && idle > t.idleGapThreshold) recordIdleGap(conn, seg, dir, lastTime, idle);
  conn.previousPacketTime = first ? NaN : lastTime;
  if (now > lastTime) conn.lastTime = now;
  fwd.countPacket(seg.ipLength, len);

  // Options from SYNs.
  if ((f & SYN) !== 0) {
    if (seg.mss >= 0) fwd.mss = seg.mss;
    if (seg.windowScale >= 0) fwd.windowScale = seg.windowScale > 14 ? 14 : seg.windowScale;
    if (seg.sackPermitted) fwd.sackPermitted = true;
  }

  // Handshake bookkeeping.
  if ((f & SYN) !== 0 && (f & RST) === 0) {
    if (fwd.synCount === 0 || fwd.isn !== (seg.seq | 0)) {
      fwd.isn = seg.seq | 0;
      if (!fwd.stream.initialized) fwd.stream.init((seg.seq + 1) | 0);
    }
    fwd.synCount++;
    if ((f & ACK) === 0 && fromOrig) {
      fwd.addSynTime(now);
      // (SYN and SYN-ACK marks are made from synTimes / synAckTime in the record.)
    } else if ((f & ACK) !== 0 && !fromOrig) {
      if (Number.isNaN(conn.synAckTime)) conn.synAckTime = now;
    }
  }
  if (fromOrig && (f & (SYN | RST | FIN)) === 0 && (f & ACK) !== 0 && !Number.isNaN(conn.synAckTime) && Number.isNaN(conn.handshakeAckTime)) {
    conn.handshakeAckTime = now;
  }

  // History letters (Zeek order: S/H, I/Q, F, R, D, A).
  if ((f & SYN) !== 0) {
    conn.historyOnce((f & ACK) !== 0 ? 'H' : 'S', fromOrig);
    if ((f & RST) !== 0) conn.historyOnce('I', fromOrig);
    if ((f & FIN) !== 0) conn.historyOnce('Q', fromOrig);
  }
  if ((f & FIN) !== 0) conn.historyOnce('F', fromOrig);
  if ((f & RST) !== 0) conn.historyOnce('R', fromOrig);
  if (len > 0) {
    conn.historyOnce('D', fromOrig);
    // The first payload segment each way: the join key of a mid-stream pickup through a NAT hop.
    if (fwd.noPayloadYet) recordFirstPayload(fwd, seg);
  } else if ((f & (SYN | FIN | RST)) === 0 && (f & ACK) !== 0) conn.historyOnce('A', fromOrig);

  // Endpoint states (Zeek's TCP endpoint state machine, simplified).
  updateStates(conn, fwd, rev, f, len, fromOrig);

  // Sequence analysis and reassembly.
  // (Only a RST or FIN record needs it: whether its ACK covers everything the peer sent.)
  const ackAllPeer = (f & (RST | FIN)) !== 0 && (f & ACK) !== 0 ? acksAll(rev, seg.ack | 0) : null;
  analyze(t, conn, fwd, rev, seg, dir, idle);

  // Request/response turns (for reset/FIN state): done in analyze, through newPayload (idle.ts).

  // Close bookkeeping.
  if ((f & RST) !== 0) onReset(t, conn, fwd, rev, seg, dir, idle, ackAllPeer);
  else if ((f & FIN) !== 0 && !fwd.finSeen) onFin(t, conn, fwd, seg, dir, idle, ackAllPeer);

  if (conn.pending || fwd.stream.hasHeld || rev.stream.hasHeld || fwd.ackUnseen !== null || rev.ackUnseen !== null) {
    t.checkPending(conn, now);
  }
  const o = budget.overflows - overflowsBefore;
  if (o !== 0) {
    conn.overflows += o;
    t.stats.bufferOverflows += o;
  }
}
