/**
 * What one leg of a path shows about the failed request, read the way an engineer reads a ladder
 * diagram: when the request crossed the leg, how long the connection had been idle before, and
 * what came back first — a RST, a FIN (crossing the request, or acknowledging it), the load
 * balancer giving up, or nothing. The verdict rules (rules.ts) reason over these facts for
 * whichever legs were captured.
 */
import type { PathLeg } from '../correlate/path.js';
import type { ConnView, TcpMark, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';

/** How soon after the request a RST/FIN counts as "the answer to it" (seconds). */
export function promptWindow(conn: ConnView | null): number {
  const rtt = conn?.rttSeconds ?? null;
  return Math.max(0.25, rtt !== null ? rtt * 8 : 0);
}

function firstAfter(marks: TcpMark[], t: number): TcpMark | null {
  let best: TcpMark | null = null;
  for (const m of marks) if (m.time >= t && (best === null || m.time < best.time)) best = m;
  return best;
}

/** A back leg (load balancer → hop or target) that carried the request. */
export interface LegFacts {
  leg: PathLeg;
  conn: ConnView | null;
  tx: TxView;
  /** When the request's first byte crossed this leg. */
  reqT: number;
  /** Seconds of silence on the connection before the request. */
  idle: number | null;
  /** The connection carried requests before this one (a pooled connection). */
  reused: boolean;
  /** The "at once" window for this leg's round-trip time. */
  window: number;
  server: string;
  client: string;
  /** First FIN from the server side from just before the request on, before any answer. */
  serverFin: TcpMark | null;
  /** First RST from the server side after the request, before any answer. */
  serverRst: TcpMark | null;
  /** The client side (the load balancer, or the hop relaying it) closing first: it gave up. */
  clientGaveUp: TcpMark | null;
  /** The server's FIN crossed the request: sent before it, or not acknowledging its bytes. */
  finCrossed: boolean;
  /** The crossing is proven (FIN before the request, or its ACK not covering the request). */
  finCrossedSure: boolean;
}

export function legFacts(leg: PathLeg): LegFacts | null {
  const tx = leg.tx;
  if (!tx || tx.requestFirstByteTime === null) return null;
  const conn = leg.conn;
  const reqT = tx.requestFirstByteTime;
  const window = promptWindow(conn);
  const marks = conn?.marks ?? [];
  const server = conn ? endpoint(conn.serverAddr, conn.serverPort)! : endpoint(tx.serverAddr, tx.serverPort)!;
  const client = conn ? endpoint(conn.clientAddr, conn.clientPort)! : endpoint(tx.clientAddr, tx.clientPort)!;
  const clientGaveUp = firstAfter(marks.filter((m) => m.fromClient && (m.kind === 'fin' || m.kind === 'rst')), reqT);
  const beforeAnswer = (t: number) => (tx.responseFirstByteTime === null || t < tx.responseFirstByteTime) && (clientGaveUp === null || t <= clientGaveUp.time);
  // A FIN sent during the silence before the request (it is then the last packet before it) crossed it.
  const idle = tx.idleBeforeRequestSeconds;
  let serverFin = firstAfter(marks.filter((m) => !m.fromClient && m.kind === 'fin'), reqT - Math.max(window, (idle ?? 0) + 0.001));
  if (serverFin && !beforeAnswer(serverFin.time)) serverFin = null;
  let serverRst = firstAfter(marks.filter((m) => !m.fromClient && m.kind === 'rst'), reqT - 0.000001);
  if (serverRst && !beforeAnswer(serverRst.time)) serverRst = null;
  const finCrossedSure = serverFin !== null && (serverFin.acksAllPeerData === false || serverFin.time <= reqT);
  const finCrossed = finCrossedSure || (serverFin !== null && serverFin.acksAllPeerData === null && serverFin.time <= reqT + window);
  return {
    leg,
    conn,
    tx,
    reqT,
    idle,
    reused: (tx.requestIndexOnConnection ?? 2) > 1,
    window,
    server,
    client,
    serverFin,
    serverRst,
    clientGaveUp,
    finCrossed,
    finCrossedSure,
  };
}

/** The RST came at once, did not acknowledge the request, on a reused connection idle ≥ 1 s: what a hop that forgot the connection sends. */
export function looksLikeHopReset(f: LegFacts): boolean {
  const r = f.serverRst;
  return r !== null && r.time - f.reqT <= f.window && r.acksAllPeerData !== true && f.idle !== null && f.idle >= 1 && f.reused;
}
