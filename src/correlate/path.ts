/**
 * The path model. Every connection seen at any capture point is a *leg*; the legs one request
 * crossed make its *path*:
 *
 *   client ──(client leg)── load balancer ──(lb leg)── NAT hop ──(target leg)── target
 *            TLS, terminated           TCP, one connection through the hop
 *
 * - A hop that terminates TCP (an ALB, a proxy, an NLB TLS listener) ends one connection and
 *   opens another: its legs are joined *per request* — by the X-Amzn-Trace-Id the ALB adds, else
 *   by the request line and its timing.
 * - A hop that only rewrites addresses (an NLB TCP listener, a NAT gateway, conntrack, a GWLB)
 *   keeps one TCP connection: its legs are joined by *sequence numbers* — the SYN's initial
 *   sequence number in each direction, or, for a connection picked up mid-stream, the same first
 *   segment (seq, ack, payload) on both sides within a short window. Never by ports alone: an NLB
 *   without client IP preservation rewrites the source address and port.
 *
 * Roles: `client` is the client ↔ load balancer leg; `lb` is the connection as the load
 * balancer opened it (to the target, or to a NAT hop in front of it); `target` is the connection
 * as the target received it behind a NAT hop. With no NAT hop the `lb` leg reaches the target.
 * Every join records its key and how much it can be trusted.
 */
import type { ConnView, LegView, TxView } from './views.js';

export type LegRole = 'client' | 'lb' | 'target';
export const LEG_ROLES: readonly LegRole[] = ['client', 'lb', 'target'];

export type JoinConfidence = 'high' | 'medium' | 'low';

/** What joined a leg to the rest of its path. */
export type JoinKey =
  /** Same client SYN sequence number (and server SYN-ACK number when both are seen): one TCP connection through a NAT hop. */
  | 'tcp-isn'
  /** Same first segment (seq, ack, length, payload bytes) within a short window: a mid-stream pickup through a NAT hop. */
  | 'tcp-first-payload'
  /** The X-Amzn-Trace-Id the load balancer added to the request (equal to the access log's trace_id). */
  | 'x-amzn-trace-id'
  /** The load balancer's client ip:port, the request line and the time (client leg ↔ access log). */
  | 'client-endpoint+request-line+time'
  /** The logged target ip:port, the request line and the time (lb leg ↔ access log). */
  | 'target-endpoint+request-line+time'
  /** The request line and the time only (a request sent while the other was outstanding). */
  | 'request-line+time'
  /** Time only: a failed connection attempt while the request was outstanding. */
  | 'time';

export interface LegJoin {
  key: JoinKey;
  confidence: JoinConfidence;
  /** In words, for the report ("client ISN 3107786009 and server ISN 2850898572 on both sides"). */
  detail: string;
}

/** One leg of a failed request's path, with what it carried of that request. */
export interface PathLeg {
  role: LegRole;
  /** The connection, compact (null when the leg is known only from a transaction or not at all). */
  leg: LegView | null;
  /** The connection in full, when it was kept (it had trouble, or it is part of a path that did). */
  conn: ConnView | null;
  /** The request as this leg carried it (null: not seen on this leg). */
  tx: TxView | null;
  /** Failed connection attempts on this leg near the request (refused, unanswered SYNs, TLS failure). */
  attempts: ConnView[];
  /** How this leg was joined to the path (null for the leg the error was first found on). */
  joinedBy: LegJoin | null;
}

/**
 * A leg found open at the request's time on the target side when the request itself is not on
 * it (target leg captured, lb leg not): how long it had been idle then. Lets a target-only capture
 * name an idle reset ("the target never saw the request; its connection from the NLB had been idle
 * 4.5 s").
 */
export interface IdleCandidate {
  conn: ConnView;
  /** Seconds since the last packet on it, at the request's time. */
  idleSeconds: number;
  /** The target sent a FIN on it shortly before the request (closing an idle keep-alive connection). */
  serverFinBefore: number | null;
  /** Later, a RST from the hop's side answered the target on it (the hop had forgotten the connection). */
  resetByHopAfter: number | null;
}

export interface Path {
  client: PathLeg | null;
  lb: PathLeg | null;
  target: PathLeg | null;
  /** Target-side connections open and idle at the request's time, longest idle first (only when no target leg carried the request). */
  idleCandidates: IdleCandidate[];
}

export function emptyPath(): Path {
  return { client: null, lb: null, target: null, idleCandidates: [] };
}

export function pathLegs(p: Path): PathLeg[] {
  const out: PathLeg[] = [];
  if (p.client) out.push(p.client);
  if (p.lb) out.push(p.lb);
  if (p.target) out.push(p.target);
  return out;
}

export function newLeg(role: LegRole, joinedBy: LegJoin | null = null): PathLeg {
  return { role, leg: null, conn: null, tx: null, attempts: [], joinedBy };
}

/** The connection uid a path leg stands for (its connection, its transaction's, or its first attempt's). */
export function legUid(l: PathLeg): string | null {
  return l.conn?.uid ?? l.leg?.uid ?? l.tx?.connUid ?? l.attempts[0]?.uid ?? null;
}

/** Whether some connection of this role was captured around the request (so a missing leg means something). */
export interface RoleCoverage {
  client: boolean;
  lb: boolean;
  target: boolean;
}
