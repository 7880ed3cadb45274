/**
 * Sequence analysis and TCP events: Wireshark's tcp_analyze_sequence_number (4.0), same conditions
 * in the same order (zero-window probe, zero window, keep-alive, window update, window full,
 * keep-alive ACK, duplicate ACK, acked-unseen, retransmission / fast / spurious, out-of-order),
 * then reassembly; and the reorder-window deadlines (holes given up as gaps, acked-unseen checks).
 * The deliberate differences from Wireshark are listed in docs/flow.md, TCP events.
 *
 * Per packet: no allocation (events are objects only when one is raised and a handler listens).
 */
import { TRUNCATED_TAG, type Connection, type ConnTable } from './connection.js';
import { scaleKnown, scaledWindow, type Endpoint } from './endpoint.js';
import { newPayload } from './idle.js';
import { addMark } from './marks.js';
import { Seg } from './reassembly.js';
import type { TcpEventType } from './record.js';
import type { TcpSegment } from './segment.js';
import { seqDiff, seqGt, seqLe, seqLt } from './seq.js';
import type { Direction } from './stream.js';

// TCP flags (segment.ts; module-local copies: V8 optimises those better than imported ones, and
// this runs for every packet).
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;

/**
 * Wireshark's tcp_analyze_sequence_number (4.0), except that reordering is judged by sequence
 * coverage (did these bytes arrive before?) instead of by arrival time, and holes are reported
 * after the reorder window instead of at once. Then reassembly.
 */
export function analyze(t: ConnTable, conn: Connection, fwd: Endpoint, rev: Endpoint, seg: TcpSegment, dir: Direction, idle: number): void {
  const f = seg.flags;
  const seq = seg.seq | 0;
  const ack = seg.ack | 0;
  const len = seg.payloadLength;
  const now = seg.time;
  const win = seg.window;
  const noSFR = (f & (SYN | FIN | RST)) === 0;
  const ackOk = (f & ACK) !== 0;
  const idx = seg.index;
  const streamOff = fwd.stream.initialized ? fwd.stream.offsetOf(seq) : 0;
  let keepAlive = false;
  let zeroWindowProbe = false;
  let dupAck = false;
  // The sequence state before this packet, read once: the checks below compare against it and
  // nothing changes it before "Update the sequence state".
  const fwdNextSeqValid = fwd.nextSeqValid;
  const fwdNextSeq = fwd.nextSeq;
  const fwdWindow = fwd.window;
  const revWindow = rev.window;
  /** Same sequence number and ACK as the sender's previous segment (window update, keep-alive ACK, duplicate ACK). */
  const sameSeqAndAck = fwdNextSeqValid && seq === fwdNextSeq && fwd.lastAckValid && ack === fwd.lastAck && noSFR;

  // Mid-stream pickup: the first byte (or FIN) seen is offset 0.
  if (!fwd.stream.initialized && (len > 0 || (f & FIN) !== 0)) fwd.stream.init(seq);

  // ZERO WINDOW PROBE
  if (len === 1 && fwdNextSeqValid && seq === fwdNextSeq && revWindow === 0) {
    zeroWindowProbe = true;
    conn.emit('zero-window-probe', now, dir, idx, seq, ack, streamOff, len);
  }
  // ZERO WINDOW
  if (win === 0 && noSFR) {
    fwd.zeroWindows++;
    conn.historyRepeat('W', dir === 0, fwd.zeroWindows);
    conn.emit('zero-window', now, dir, idx, seq, ack, streamOff, len, { windowBytes: 0 });
  }
  let skipToFinished = zeroWindowProbe;
  // KEEP ALIVE
  if (!skipToFinished && (len === 0 || len === 1) && fwdNextSeqValid && seq === ((fwdNextSeq - 1) | 0) && noSFR) {
    keepAlive = true;
    skipToFinished = true;
    conn.emit('keep-alive', now, dir, idx, seq, ack, streamOff, len, { idleSeconds: idle });
    addMark(conn, 'keep-alive', seg, dir, idle, null, t.maxMarks);
  }
  // WINDOW UPDATE
  if (!skipToFinished && len === 0 && win !== 0 && fwdWindow >= 0 && win !== fwdWindow && sameSeqAndAck) {
    skipToFinished = true;
    conn.emit('window-update', now, dir, idx, seq, ack, streamOff, len, { windowBytes: scaledWindow(fwd, rev, win) });
  }
  // WINDOW FULL
  if (!skipToFinished && len > 0 && noSFR && rev.lastAckValid && revWindow >= 0 && scaleKnown(rev, fwd)) {
    const revWindowBytes = scaledWindow(rev, fwd, revWindow);
    const edge = (rev.lastAck + revWindowBytes) | 0;
    if (((seq + len) | 0) === edge) conn.emit('window-full', now, dir, idx, seq, ack, streamOff, len, { windowBytes: revWindowBytes });
  }
  // KEEP ALIVE ACK
  if (!skipToFinished && len === 0 && win !== 0 && win === fwdWindow && sameSeqAndAck && rev.lastWasKeepAlive) {
    skipToFinished = true;
    conn.emit('keep-alive-ack', now, dir, idx, seq, ack, streamOff, len);
  }
  // DUPLICATE ACK
  if (!skipToFinished && len === 0 && win !== 0 && win === fwdWindow && sameSeqAndAck) {
    dupAck = true;
    fwd.dupAckNum++;
    conn.emit('duplicate-ack', now, dir, idx, seq, ack, streamOff, len, { dupAckNum: fwd.dupAckNum });
  }
  if (!dupAck && fwd.dupAckNum !== 0) fwd.dupAckNum = 0;

  // ACKED UNSEEN SEGMENT: judged after the reorder window (the data may be reordered behind the ACK).
  if (ackOk && rev.maxSeqValid && seqGt(ack, rev.maxSeqToBeAcked) && rev.ackUnseen === null && !(rev.ackUnseenReported && seqLe(ack, rev.ackUnseenReportedAck))) {
    rev.ackUnseen = { time: now, ack, index: idx };
    conn.pending = true;
  }

  // Reassembly (tells whether the bytes are new).
  let segFlags = 0;
  if (len > 0 && (f & RST) === 0) {
    const captured = seg.capturedPayload < len ? seg.capturedPayload : len;
    if (captured > 0) segFlags = fwd.stream.segment(seq, seg.data, seg.payloadOffset, captured, now, idx);
    if (captured < len) {
      fwd.truncatedBytes += len - captured;
      fwd.stream.missing((seq + captured) | 0, len - captured, now, TRUNCATED_TAG);
    }
    if (segFlags & Seg.Inconsistent) conn.emit('inconsistent-overlap', now, dir, idx, seq, ack, streamOff, len);
    if (segFlags & Seg.New) newPayload(t, conn, seg, dir, idle);
  }

  // RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER
  if (!keepAlive && (len > 0 || (f & (SYN | FIN)) !== 0)) {
    const notAdvanced = fwdNextSeqValid && seqLt(seq, fwdNextSeq);
    if (notAdvanced) {
      let type: TcpEventType | null = null;
      if (rev.dupAckNum >= 2 && rev.lastAckValid && rev.lastAck === seq && now - rev.lastAckTime < 0.02) type = 'fast-retransmission';
      else if (len > 0 && (segFlags & Seg.New) !== 0 && (segFlags & Seg.Old) === 0) type = 'out-of-order';
      else if (len > 0 && rev.lastAckValid && seqLe((seq + len) | 0, rev.lastAck)) type = 'spurious-retransmission';
      else if (!zeroWindowProbe) type = 'retransmission';
      if (type === 'out-of-order') {
        fwd.outOfOrder++;
        conn.emit(type, now, dir, idx, seq, ack, streamOff, len, { reorderDelaySeconds: now - fwd.nextSeqTime });
      } else if (type !== null) {
        fwd.retransmissions++;
        // Zeek marks T for retransmitted payload only (not SYN/FIN retries).
        if (len > 0) conn.historyRepeat('T', dir === 0, ++fwd.payloadRetransmissions);
        conn.emit(type, now, dir, idx, seq, ack, streamOff, len);
      }
    }
  }

  // Update the sequence state.
  let nextSeq = (seq + len) | 0;
  if ((f & (SYN | FIN)) !== 0) nextSeq = (nextSeq + 1) | 0;
  if ((len > 0 || (f & (SYN | FIN)) !== 0) && !zeroWindowProbe) {
    // (Nothing above changed the sender's sequence state: the values read at the start hold.)
    let senderNextSeq = fwdNextSeq;
    if (!fwdNextSeqValid || seqGt(nextSeq, fwdNextSeq)) {
      fwd.nextSeq = nextSeq;
      fwd.nextSeqValid = true;
      fwd.nextSeqTime = now;
      senderNextSeq = nextSeq;
    }
    if (!fwd.maxSeqValid || seq === fwd.maxSeqToBeAcked) {
      fwd.maxSeqToBeAcked = senderNextSeq;
      fwd.maxSeqValid = true;
    }
  } else if (!fwdNextSeqValid && (f & RST) === 0) {
    // A pure ACK as the first packet of a direction: its seq is the sender's next sequence number.
    fwd.nextSeq = seq;
    fwd.nextSeqValid = true;
    fwd.nextSeqTime = now;
    fwd.maxSeqToBeAcked = seq;
    fwd.maxSeqValid = true;
  }
  if ((f & RST) === 0) fwd.noteWindowAndAck(win, ackOk, ack, now);
  fwd.lastWasKeepAlive = keepAlive;

  // FIN: the stream ends at its sequence number.
  if ((f & FIN) !== 0 && (f & RST) === 0) fwd.stream.fin((seq + len) | 0, now, idx);
}

/**
 * Reorder-window deadlines of one connection at `now`: holes held longer than `window` become gaps,
 * and acked-unseen checks older than `window` are decided. Returns whether anything is still
 * pending (the table keeps the connection on its pending list then).
 */
export function resolvePending(conn: Connection, now: number, window: number): boolean {
  const w = window;
  for (let d = 0; d < 2; d++) {
    const ep = d === 0 ? conn.c : conn.s;
    if (ep.stream.hasHeld) ep.stream.expire(now, w);
    const pa = ep.ackUnseen;
    if (pa !== null && now - pa.time >= w) {
      // The peer acknowledged bytes of `ep` that the capture has not delivered within the window.
      if (!ep.maxSeqValid || seqGt(pa.ack, ep.maxSeqToBeAcked)) {
        const missing = ep.maxSeqValid ? seqDiff(pa.ack, ep.maxSeqToBeAcked) : 0;
        conn.emit('acked-unseen-segment', pa.time, (1 - d) as Direction, pa.index, NaN, pa.ack, -1, 0, { missingBytes: missing });
        ep.ackUnseenReported = true;
        ep.ackUnseenReportedAck = pa.ack;
      }
      ep.maxSeqToBeAcked = ep.nextSeq;
      ep.ackUnseen = null;
    }
  }
  const still = conn.c.stream.hasHeld || conn.s.stream.hasHeld || conn.c.ackUnseen !== null || conn.s.ackUnseen !== null;
  conn.pending = still;
  return still;
}
