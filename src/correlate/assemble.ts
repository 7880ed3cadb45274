/**
 * Assembling incidents: from each error (an access-log line, then failed client-side
 * transactions, failed transactions behind the load balancer, failed connection attempts, in that
 * order) the path is filled leg by leg, and everything it took is used up, so one incident gives
 * one case however many legs show it:
 *
 * 1. per request across the load balancer: the client leg by client ip:port + request line +
 *    time; the legs behind it by X-Amzn-Trace-Id (the log's trace_id), else by the logged target,
 *    request line and time, else by time while the client's request was outstanding;
 * 2. through a NAT hop: the other side of the same TCP connection by sequence numbers
 *    (legs.ts), and on it the same request (trace id, else time);
 * 3. failed connection attempts while the request was outstanding, and their NAT peers;
 * 4. with only the target's side captured: the target's connections open and idle at the
 *    request's time (the one the request was meant for, if it never arrived);
 * 5. flow-log rows of every leg's addresses, before and after the hop (flow-match.ts);
 * 6. an HTTP/2 GOAWAY: every stream it cut is one incident with each stream's retry (goaway.ts),
 *    whichever of its streams the case was found from.
 */
import type { Case } from './case.js';
import { matchFlowRows } from './flow-match.js';
import { groupGoaways, isGoawayCut, type GoawayGroup } from './goaway.js';
import type { NatPeer } from './legs.js';
import { emptyPath, newLeg, pathLegs, type IdleCandidate, type LegJoin, type LegRole, type Path, type PathLeg, type RoleCoverage } from './path.js';
import type { ConnView, FlowRowView, LbLogView, LegView, TxView } from './views.js';
import { logWindow, pathOnly, traceRoot } from './keys.js';

export interface BuildContext {
  lb: Set<string>;
  clientTxs: TxView[];
  backTxs: TxView[];
  /** backTxs by trace root (keys.ts byTraceRoot), in backTxs's order. */
  backByRoot: Map<string, TxView[]>;
  /** Failed transactions and those kept for their trace id, by connection uid. */
  txsByConn: Map<string, TxView[]>;
  /** Requests that may be the retry of one a GOAWAY cut: answered ones kept for that, and the failed ones. */
  retryCandidates: readonly TxView[];
  attempts: ConnView[];
  logs: LbLogView[];
  skew: number;
  tol: number;
  flowRows: FlowRowView[];
  flowLogsGiven: boolean;
  inFlowLogs(c: ConnView): boolean;
  conn(uid: string): ConnView | null;
  leg(uid: string): LegView | null;
  natPeers(l: LegView): NatPeer[];
  upstream(a: LegView, b: LegView): LegView;
  backRole(x: { uid: string; clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): LegRole;
  isLogTarget(addr: string, port: number): boolean;
  captureCovers(t: number, logFile: string | null): boolean;
  coverage(t: number): RoleCoverage;
  keptConns(): Iterable<ConnView>;
  side(x: { clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): 'client' | 'target' | 'unknown';
}

/** The request being followed along the path. */
interface Req {
  t: number | null;
  root: string | null;
  path: string | null;
}

/** A request crosses a NAT hop within this long (a held FIN or a queue can delay it a little). */
const HOP_DELAY_SECONDS = 5;
/** Idle candidates reported per case. */
const MAX_IDLE_CANDIDATES = 5;

function nearest<T>(xs: T[], t: number, time: (x: T) => number): T | null {
  let best: T | null = null;
  let bd = Infinity;
  for (const x of xs) {
    const d = Math.abs(time(x) - t);
    if (d < bd) {
      bd = d;
      best = x;
    }
  }
  return best;
}

function samePath(a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b;
}

function hasAttempts(l: PathLeg | null): boolean {
  return l !== null && l.attempts.length > 0;
}

export function assembleCases(ctx: BuildContext): Case[] {
  return new Assembler(ctx).run();
}

class Assembler {
  private readonly usedTx = new Set<TxView>();
  private readonly usedAttempt = new Set<ConnView>();
  /** Each stream a GOAWAY cut → its group (all the streams of that GOAWAY). */
  private readonly goaways = new Map<TxView, GoawayGroup>();
  /** The case each GOAWAY group went to. */
  private readonly goawayCases = new Map<GoawayGroup, Case>();

  constructor(private readonly ctx: BuildContext) {}

  run(): Case[] {
    const cut = [...this.ctx.clientTxs, ...this.ctx.backTxs].filter(isGoawayCut);
    if (cut.length) for (const g of groupGoaways(cut, this.ctx.retryCandidates)) for (const st of g.streams) this.goaways.set(st.tx, g);
    const cases: Case[] = [];
    for (const l of this.ctx.logs) {
      if (!this.logOfTakenGoaway(l)) cases.push(this.fromLog(l));
    }
    const byTime = (a: TxView, b: TxView) => (a.requestFirstByteTime ?? 0) - (b.requestFirstByteTime ?? 0);
    for (const x of [...this.ctx.clientTxs].sort(byTime)) if (!this.usedTx.has(x)) cases.push(this.fromClientTx(x));
    for (const t of [...this.ctx.backTxs].sort(byTime)) if (!this.usedTx.has(t)) cases.push(this.fromBackTx(t));
    for (const a of this.ctx.attempts) {
      if (this.usedAttempt.has(a)) continue;
      const lb = this.ctx.lb;
      if (lb.size > 0 && !lb.has(a.clientAddr) && !this.ctx.isLogTarget(a.serverAddr, a.serverPort)) continue;
      cases.push(this.fromAttempt(a));
    }
    return cases.sort((a, b) => a.time - b.time);
  }

  private legWith(role: LegRole, uid: string, join: LegJoin | null): PathLeg {
    const l = newLeg(role, join);
    l.leg = this.ctx.leg(uid);
    l.conn = this.ctx.conn(uid);
    return l;
  }

  /** Puts a back-side transaction on the lb or target leg (the other one when its place is taken). */
  private placeBack(path: Path, tx: TxView, join: LegJoin | null): void {
    let role = this.ctx.backRole({ uid: tx.connUid, clientAddr: tx.clientAddr, clientPort: tx.clientPort, serverAddr: tx.serverAddr, serverPort: tx.serverPort });
    if (path[role]) role = role === 'lb' ? 'target' : 'lb';
    if (path[role]) return;
    const l = this.legWith(role, tx.connUid, join);
    l.tx = tx;
    this.usedTx.add(tx);
    path[role] = l;
  }

  /** The request as another leg carried it: same trace id, else the nearest request on it just after. */
  private requestOn(uid: string, req: Req): TxView | null {
    const list = (this.ctx.txsByConn.get(uid) ?? []).filter((x) => !this.usedTx.has(x));
    let found: TxView | null = null;
    if (req.root !== null) found = list.find((x) => traceRoot(x.traceId) === req.root) ?? null;
    if (!found && req.t !== null) {
      const t = req.t;
      const cands = list.filter((x) => x.requestFirstByteTime !== null && x.requestFirstByteTime >= t - 0.5 && x.requestFirstByteTime <= t + HOP_DELAY_SECONDS && samePath(x.path, req.path) && (req.root === null || x.traceId === null));
      found = nearest(cands, t, (x) => x.requestFirstByteTime!);
    }
    if (found) this.usedTx.add(found);
    return found;
  }

  /** Fills the other back leg from the one known, through the NAT hop (same TCP connection). */
  private expandNat(path: Path, req: Req): void {
    const known = path.lb ?? path.target;
    if (!known) return;
    const uid = known.conn?.uid ?? known.tx?.connUid ?? known.leg?.uid ?? known.attempts[0]?.uid;
    if (uid === undefined) return;
    const leg = known.leg ?? this.ctx.leg(uid);
    if (!leg) return;
    known.leg = leg;
    for (const peer of this.ctx.natPeers(leg)) {
      const mine: LegRole = this.ctx.upstream(leg, peer.leg) === leg ? 'lb' : 'target';
      const other: LegRole = mine === 'lb' ? 'target' : 'lb';
      if (known.role !== mine && !path[mine]) {
        path[known.role] = null;
        known.role = mine;
        path[mine] = known;
      }
      if (path[other]) continue;
      const o = this.legWith(other, peer.leg.uid, peer.join);
      if (known.attempts.length) {
        // A failed attempt's SYNs seen past the hop too.
        const a = this.ctx.conn(peer.leg.uid);
        if (a && !this.usedAttempt.has(a)) {
          o.attempts.push(a);
          this.usedAttempt.add(a);
        }
        o.conn = null;
      } else o.tx = this.requestOn(peer.leg.uid, req);
      path[other] = o;
    }
  }

  private placeAttempts(path: Path, found: ConnView[], join: LegJoin): void {
    for (const a of found) {
      const role = this.ctx.backRole(a);
      let l = path[role];
      if (!l) {
        l = newLeg(role, join);
        path[role] = l;
      }
      if (l.attempts.length === 0) l.leg = this.ctx.leg(a.uid);
      l.attempts.push(a);
      this.usedAttempt.add(a);
    }
  }

  /**
   * Failed connection attempts made while the request was outstanding: to the logged target when
   * there is one; else those the load balancer made (from its known addresses), else any that is
   * not the client's own side of the request (`front`: the client leg, whose server is the load
   * balancer's front and whose client is the client).
   */
  private attemptsNear(from: number, to: number, tol: number, target: [string, number] | null, front: { clientAddr: string; serverAddr: string } | null = null): ConnView[] {
    const free = this.ctx.attempts.filter((a) => !this.usedAttempt.has(a) && a.startTime >= from - tol && a.startTime <= to + tol);
    if (target) {
      const exact = free.filter((a) => a.serverAddr === target[0] && a.serverPort === target[1]);
      if (exact.length) return exact;
    }
    const fromLb = free.filter((a) => this.ctx.lb.has(a.clientAddr));
    if (fromLb.length || front === null) return fromLb;
    return free.filter((a) => a.serverAddr !== front.serverAddr && a.clientAddr !== front.clientAddr && this.ctx.side(a) !== 'client');
  }

  /**
   * Target-side connections open and idle when the request came, none of which carried it: the
   * lb leg was not captured, the target never saw the request. Longest idle first.
   */
  private idleCandidates(path: Path, reqT: number): IdleCandidate[] {
    const onPath = new Set(pathLegs(path).map((l) => l.conn?.uid ?? l.leg?.uid));
    const out: IdleCandidate[] = [];
    for (const c of this.ctx.keptConns()) {
      if (onPath.has(c.uid) || this.ctx.side(c) === 'client') continue;
      if (c.startTime >= reqT || (c.synTimes.length > 0 && c.synAckTime === null)) continue;
      const closedBefore = c.closeHow !== null && c.endTime <= reqT;
      const fin = c.marks.find((m) => m.kind === 'fin' && !m.fromClient && m.time <= reqT && m.time >= reqT - 10);
      if (closedBefore && !fin) continue;
      let idle: number | null = null;
      if (c.endTime <= reqT) idle = reqT - c.endTime;
      else for (const g of c.idleGaps) if (g.start < reqT && g.end > reqT) idle = reqT - g.start;
      if (idle === null && fin) idle = reqT - fin.time;
      if (idle === null || idle < 0.5) continue;
      // Not the connection of another request right then.
      const busy = (this.ctx.txsByConn.get(c.uid) ?? []).some((x) => x.requestFirstByteTime !== null && Math.abs(x.requestFirstByteTime - reqT) < 0.5);
      if (busy) continue;
      // The hop resetting the target's own later packet on it: it had forgotten the connection.
      const hopReset = c.marks.find((m) => m.kind === 'rst' && m.fromClient && m.time > reqT);
      out.push({ conn: c, idleSeconds: idle, serverFinBefore: fin ? fin.time : null, resetByHopAfter: hopReset ? hopReset.time : null });
    }
    return out.sort((a, b) => b.idleSeconds - a.idleSeconds).slice(0, MAX_IDLE_CANDIDATES);
  }

  /** The GOAWAY group of a stream it cut, every stream of it used up by this case (null: not cut by one). */
  private takeGoaway(tx: TxView | null | undefined): GoawayGroup | null {
    const g = tx ? this.goaways.get(tx) ?? null : null;
    if (g) for (const st of g.streams) this.usedTx.add(st.tx);
    return g;
  }

  private finish(origin: Case['origin'], status: number | null, log: LbLogView | null, path: Path, time: number, covers: boolean, window: [number, number] | null, goaway: GoawayGroup | null = null): Case {
    const cov = this.ctx.coverage(time);
    const flowRows = matchFlowRows(path, this.ctx.flowRows, log, window, this.ctx.skew);
    const lbConns = [...(path.lb?.attempts ?? []), ...(path.lb?.conn ? [path.lb.conn] : [])];
    const claims: Case['claims'] = [];
    for (const l of pathLegs(path)) {
      const uid = l.conn?.uid ?? l.tx?.connUid ?? l.leg?.uid;
      if (uid !== undefined) claims.push({ uid, time: l.tx?.requestFirstByteTime ?? time });
      for (const a of l.attempts) claims.push({ uid: a.uid, time: a.startTime });
    }
    if (log) claims.push({ uid: `log:${log.file}:${log.line}`, time });
    if (goaway) for (const st of goaway.streams) claims.push({ uid: st.tx.connUid, time: st.tx.requestFirstByteTime ?? goaway.time });
    const c: Case = {
      origin,
      status,
      log,
      path,
      coverage: { ...cov, lb: cov.lb || path.lb !== null, target: cov.target || path.target !== null, client: cov.client || path.client !== null },
      flowRows,
      captureCovers: covers,
      flowLogsGiven: this.ctx.flowLogsGiven,
      inFlowLogs: lbConns.some((c) => this.ctx.inFlowLogs(c)),
      skewSeconds: this.ctx.skew,
      time,
      claims,
      goaway,
    };
    if (goaway) this.goawayCases.set(goaway, c);
    return c;
  }

  /**
   * A log line (ALB: 000) for another stream of a GOAWAY whose case is already made: the same
   * incident, so the line is claimed by that case instead of making one of its own.
   */
  private logOfTakenGoaway(l: LbLogView): boolean {
    if (this.goawayCases.size === 0 || l.clientAddr === null) return false;
    const [r0, r1] = logWindow(l);
    const lpath = pathOnly(l.path);
    const { skew, tol } = this.ctx;
    for (const [tx, g] of this.goaways) {
      const c = this.goawayCases.get(g);
      if (c === undefined || tx.requestFirstByteTime === null) continue;
      if (tx.clientAddr !== l.clientAddr || tx.clientPort !== l.clientPort || !samePath(tx.path, lpath)) continue;
      if (tx.requestFirstByteTime < r0 - skew - tol || tx.requestFirstByteTime > r1 - skew + tol) continue;
      c.claims.push({ uid: `log:${l.file}:${l.line}`, time: r0 - skew });
      return true;
    }
    return false;
  }

  private fromLog(l: LbLogView): Case {
    const { skew, tol } = this.ctx;
    const [r0, r1] = logWindow(l);
    const reqT = r0 - skew;
    const endT = r1 - skew;
    const path = emptyPath();
    const covers = this.ctx.captureCovers(reqT, l.file);
    // Nothing captured then: the log line alone (with the flow logs of its target) is all there is.
    if (!covers) return this.finish('alb-log', l.elbStatus, l, path, reqT, false, [reqT, endT]);
    const lpath = pathOnly(l.path);

    // The client leg.
    const cands = this.ctx.clientTxs.filter(
      (x) =>
        !this.usedTx.has(x) &&
        x.requestFirstByteTime !== null &&
        (l.clientAddr === null || (x.clientAddr === l.clientAddr && x.clientPort === l.clientPort)) &&
        samePath(x.path, lpath) &&
        x.requestFirstByteTime >= reqT - tol &&
        x.requestFirstByteTime <= endT + tol,
    );
    const clientTx = nearest(cands, reqT, (x) => x.requestFirstByteTime!);
    if (clientTx) {
      const join: LegJoin =
        l.clientAddr !== null
          ? { key: 'client-endpoint+request-line+time', confidence: 'high', detail: `client ${l.clientAddr}:${l.clientPort}, ${l.method ?? '?'} ${lpath ?? '?'}` }
          : { key: 'request-line+time', confidence: 'medium', detail: `${l.method ?? '?'} ${lpath ?? '?'} at the logged time` };
      const cl = this.legWith('client', clientTx.connUid, join);
      cl.tx = clientTx;
      this.usedTx.add(clientTx);
      path.client = cl;
    }

    // The legs behind the load balancer: by trace id, else by logged target + request line + time.
    const root = traceRoot(l.traceId);
    if (root) {
      const same = (this.ctx.backByRoot.get(root) ?? [])
        .filter((x) => !this.usedTx.has(x) && x.requestFirstByteTime !== null && x.requestFirstByteTime >= reqT - tol && x.requestFirstByteTime <= endT + tol)
        .sort((a, b) => Number(this.isTarget(b, l)) - Number(this.isTarget(a, l)) || (a.requestFirstByteTime ?? 0) - (b.requestFirstByteTime ?? 0));
      for (const x of same) if (!path.lb || !path.target) this.placeBack(path, x, { key: 'x-amzn-trace-id', confidence: 'high', detail: `X-Amzn-Trace-Id ${l.traceId}` });
    }
    if (!path.lb && !path.target) {
      const target = l.targetAddr !== null && l.targetPort !== null ? [l.targetAddr, l.targetPort] as const : null;
      const c2 = this.ctx.backTxs.filter(
        (x) =>
          !this.usedTx.has(x) &&
          x.requestFirstByteTime !== null &&
          (target === null || (x.serverAddr === target[0] && x.serverPort === target[1])) &&
          samePath(x.path, lpath) &&
          (root === null || x.traceId === null) &&
          x.requestFirstByteTime >= reqT - tol &&
          x.requestFirstByteTime <= endT + tol,
      );
      const t = nearest(c2, reqT, (x) => x.requestFirstByteTime!);
      if (t) this.placeBack(path, t, { key: 'target-endpoint+request-line+time', confidence: 'medium', detail: `${target ? `target ${target[0]}:${target[1]}, ` : ''}${l.method ?? '?'} ${lpath ?? '?'} at the logged time` });
    }
    const back = path.lb ?? path.target;
    const req: Req = { t: back?.tx?.requestFirstByteTime ?? clientTx?.requestFirstByteTime ?? reqT, root, path: lpath };
    this.expandNat(path, req);

    // No request behind the load balancer: its failed connection attempts then.
    if (!path.lb?.tx && !path.target?.tx) {
      const front = clientTx ?? (l.clientAddr !== null ? { clientAddr: l.clientAddr, serverAddr: '' } : null);
      const found = this.attemptsNear(reqT, endT, tol, l.targetAddr !== null && l.targetPort !== null ? [l.targetAddr, l.targetPort] : null, front);
      if (found.length) {
        this.placeAttempts(path, found, { key: 'time', confidence: 'medium', detail: `connection attempt${found.length > 1 ? 's' : ''} while the request was outstanding` });
        this.expandNat(path, req);
      }
    }
    if (!path.lb && !hasAttempts(path.target) && !path.target?.tx && l.targetStatus === null) path.idleCandidates = this.idleCandidates(path, reqT);
    const goaway = this.takeGoaway(clientTx) ?? this.takeGoaway(path.lb?.tx) ?? this.takeGoaway(path.target?.tx);
    return this.finish('alb-log', l.elbStatus, l, path, clientTx?.requestFirstByteTime ?? reqT, true, [reqT, endT], goaway);
  }

  private isTarget(x: TxView, l: LbLogView): boolean {
    return l.targetAddr !== null && x.serverAddr === l.targetAddr && x.serverPort === l.targetPort;
  }

  private fromClientTx(x: TxView): Case {
    const path = emptyPath();
    const cl = this.legWith('client', x.connUid, null);
    cl.tx = x;
    this.usedTx.add(x);
    path.client = cl;
    const reqT = x.requestFirstByteTime ?? 0;
    const endT = x.responseFirstByteTime ?? x.requestLastByteTime ?? reqT;
    const cands = this.ctx.backTxs.filter((t) => !this.usedTx.has(t) && t.requestFirstByteTime !== null && t.requestFirstByteTime >= reqT - 0.001 && t.requestFirstByteTime <= endT + 0.001 && samePath(t.path, x.path));
    const t = nearest(cands, reqT, (y) => y.requestFirstByteTime!);
    if (t) this.placeBack(path, t, { key: 'request-line+time', confidence: 'medium', detail: `${t.method ?? '?'} ${t.path ?? '?'} sent while the client's request was outstanding` });
    const root = traceRoot(t?.traceId ?? null);
    this.expandNat(path, { t: t?.requestFirstByteTime ?? reqT, root, path: x.path });
    if (!t) {
      const found = this.attemptsNear(reqT, endT, 0.001, null, x);
      if (found.length) {
        this.placeAttempts(path, found, { key: 'time', confidence: 'medium', detail: 'connection attempt while the client\'s request was outstanding' });
        this.expandNat(path, { t: reqT, root: null, path: x.path });
      }
    }
    const goaway = this.takeGoaway(x) ?? this.takeGoaway(t);
    return this.finish('client-transaction', x.status, null, path, reqT, true, null, goaway);
  }

  private fromBackTx(t: TxView): Case {
    const path = emptyPath();
    this.placeBack(path, t, null);
    this.expandNat(path, { t: t.requestFirstByteTime, root: traceRoot(t.traceId), path: t.path });
    const goaway = this.takeGoaway(t) ?? this.takeGoaway(path.lb?.tx) ?? this.takeGoaway(path.target?.tx);
    return this.finish('target-transaction', null, null, path, t.requestFirstByteTime ?? 0, true, null, goaway);
  }

  private fromAttempt(a: ConnView): Case {
    const path = emptyPath();
    const role = this.ctx.backRole(a);
    const l = newLeg(role, null);
    l.leg = this.ctx.leg(a.uid);
    l.attempts.push(a);
    this.usedAttempt.add(a);
    path[role] = l;
    this.expandNat(path, { t: a.startTime, root: null, path: null });
    return this.finish('target-connection', null, null, path, a.startTime, true, null);
  }
}
