/**
 * Correlation: joins load-balancer log lines ↔ client-side transactions ↔ target-side transactions
 * ↔ the TCP connections (and failed connection attempts) behind them ↔ flow-log rows, and yields
 * one Case per error to explain.
 *
 * Streaming: callers add records as the pipeline produces them; only what may need explaining is
 * kept (error log lines, failed or 5xx transactions, connections with RST/FIN trouble or a failed
 * handshake, REJECT flow rows), plus small per-address counters. Memory grows with the number of
 * errors, not with the capture.
 *
 * Roles: the load balancer's own addresses are the ones that are a server for some connections and
 * a client for others (it terminates client connections and opens target connections); ALB log
 * lines name clients and targets directly. Clock skew between logs and capture is estimated from
 * strongly joined pairs (trace id, client ip:port + request line) and applied to the rest.
 */
import { traceRootOf } from '../logs/alb.js';
import { ownString, ownStringOrNull } from '../logs/lines.js';
import type { Case, ConnView, FlowRowView, LbLogView, LegView, TxView } from './views.js';

export interface CorrelateOptions {
  /** Largest log ↔ capture clock difference tolerated when matching, seconds (default 10). */
  maxSkewSeconds?: number;
  /** Extra slack around a log line's request interval, seconds (default 2). */
  slackSeconds?: number;
  /** Connections indexed for joining path legs (default 200,000; the oldest are forgotten first). */
  maxLegs?: number;
}

interface AddrStats {
  asServer: number;
  asClient: number;
  /** Latest time the address was seen (connection start or end), for `prune`. */
  last: number;
}

function ep(addr: string, port: number): string {
  return `${addr}|${port}`;
}

/** The Root=... part of an X-Amzn-Trace-Id (or of the ALB log's trace_id), lower-cased for joining; parsing is the logs stage's traceRootOf. */
export function traceRoot(id: string | null): string | null {
  return traceRootOf(id)?.toLowerCase() ?? null;
}

function pathOnly(p: string | null): string | null {
  if (p === null) return null;
  try {
    if (/^[a-z]+:\/\//i.test(p)) {
      const u = new URL(p);
      return u.pathname + u.search;
    }
  } catch {
    /* keep as is */
  }
  return p;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export class Correlator {
  private readonly maxSkew: number;
  private readonly slack: number;
  private readonly logs: LbLogView[] = [];
  private readonly txs: TxView[] = [];
  private readonly conns = new Map<string, ConnView>();
  private readonly wantedConns = new Set<string>();
  private readonly flowRejects: FlowRowView[] = [];
  private readonly flowSeen = new Set<string>();
  /** Connection counts by address, least recently seen first (an address seen again moves to the end). */
  private readonly addrs = new Map<string, AddrStats>();
  /** Addresses of `addrs` that both accepted and opened connections, kept as the counts change. */
  private readonly lbSeen = new Set<string>();
  private flowLogsGiven = false;
  /** Every connection by its client ip:port, compact, for joining the legs of one path (capped; a key given a new leg moves to the end). */
  private readonly legs = new Map<string, LegView[]>();
  private legCount = 0;
  private readonly maxLegs: number;
  /** Transactions on other legs kept only for their trace id (requests that reached the target). */
  private readonly traced = new Map<string, TxView>();
  private firstPacket = Infinity;
  private lastPacket = -Infinity;
  /** Log targets (ip|port) and clients (ip|port) named by any log line. */
  private readonly logTargets = new Set<string>();
  private readonly logTargetAddrs = new Set<string>();
  skewSeconds = 0;
  skewEstimated = false;

  constructor(opts: CorrelateOptions = {}) {
    this.maxSkew = opts.maxSkewSeconds ?? 10;
    this.maxLegs = opts.maxLegs ?? 200_000;
    this.slack = opts.slackSeconds ?? 2;
  }

  /** Widens the capture's covered time span (call with each connection's start/end). */
  notePacketTime(t: number): void {
    if (t < this.firstPacket) this.firstPacket = t;
    if (t > this.lastPacket) this.lastPacket = t;
  }

  /** A connection began: its endpoints feed role inference at once (live analysis needs roles early). */
  noteConnectionStart(clientAddr: string, serverAddr: string, time = -Infinity): void {
    this.count(serverAddr, time, 1, 0);
    this.count(clientAddr, time, 0, 1);
  }

  /** Every connection's endpoints feed role inference; only interesting ones are kept. */
  addConnection(c: ConnView): void {
    this.notePacketTime(c.startTime);
    this.notePacketTime(c.endTime);
    this.count(c.serverAddr, c.endTime, 1, 0);
    this.count(c.clientAddr, c.endTime, 0, 1);
    const trouble =
      c.refused ||
      c.tlsFailure !== null ||
      (c.synTimes.length > 0 && c.synAckTime === null && !c.midstream) ||
      c.marks.some((m) => m.kind === 'rst');
    if (trouble || this.wantedConns.has(c.uid)) this.conns.set(c.uid, c);
  }

  /** Records a compact view of every connection, for joining legs. */
  addLeg(l: LegView): void {
    const key = ep(l.clientAddr, l.clientPort);
    const list = this.legs.get(key);
    if (list) {
      list.push(l);
      // To the end, so that the map stays in order of last use and prune() can stop early.
      this.legs.delete(key);
      this.legs.set(key, list);
    } else this.legs.set(key, [l]);
    if (++this.legCount > this.maxLegs) {
      const oldest = this.legs.keys().next().value as string;
      this.legCount -= this.legs.get(oldest)!.length;
      this.legs.delete(oldest);
    }
  }

  /** Transactions: kept when they may explain or be an error. */
  addTransaction(tx: TxView): void {
    const root = traceRoot(tx.traceId);
    if (root !== null && this.tracedWanted(root)) this.traced.set(`${root}|${tx.connUid}`, tx);
    const failed = tx.outcome !== 'complete' || (tx.status !== null && tx.status >= 500);
    if (!failed) return;
    this.txs.push(tx);
    this.wantedConns.add(tx.connUid);
  }

  /**
   * Whether addTransaction would keep a transaction with these fields now (failed, or carrying
   * the trace id of a kept log line), so that callers build a TxView only for those: most
   * transactions are answered 200 and would be dropped at once.
   */
  wantsTransaction(outcome: string, status: number | null, traceId: string | null): boolean {
    if (outcome !== 'complete' || (status !== null && status >= 500)) return true;
    const root = traceRoot(traceId);
    return root !== null && this.tracedWanted(root);
  }

  /** Whether addLog keeps a load-balancer log line with this elb_status_code (5xx, 460, 000). */
  static keepsLogStatus(s: number | null): boolean {
    return s !== null && (s >= 500 || s === 460 || s === 0);
  }

  /**
   * What addLog records of a line it does not keep: its target (for telling client-side from
   * target-side connections). Lets callers skip building an LbLogView for such lines.
   */
  noteLogTarget(targetAddr: string | null, targetPort: number | null): void {
    if (targetAddr !== null && targetPort !== null) {
      // Called for every log line with fields cut from the log's read chunk: a new key is kept
      // as a string of its own, or it would keep its whole chunk alive.
      const key = ep(targetAddr, targetPort);
      if (!this.logTargets.has(key)) this.logTargets.add(ownString(key));
      if (!this.logTargetAddrs.has(targetAddr)) this.logTargetAddrs.add(ownString(targetAddr));
    }
  }

  private readonly wantedRoots = new Set<string>();

  private tracedWanted(root: string): boolean {
    return this.wantedRoots.has(root);
  }

  addLog(l: LbLogView): void {
    this.noteLogTarget(l.targetAddr, l.targetPort);
    if (Correlator.keepsLogStatus(l.elbStatus)) {
      this.logs.push(l);
      const root = traceRoot(l.traceId);
      if (root !== null) this.wantedRoots.add(root);
    }
  }

  addFlowRow(r: FlowRowView): void {
    this.flowLogsGiven = true;
    // The row's strings are slices of the log's read chunk: what is kept gets copies of its own.
    const forward = `${r.srcAddr}|${r.dstAddr}|${r.dstPort ?? ''}`;
    const backward = `${r.dstAddr}|${r.srcAddr}|${r.srcPort ?? ''}`;
    if (!this.flowSeen.has(forward)) this.flowSeen.add(ownString(forward));
    if (!this.flowSeen.has(backward)) this.flowSeen.add(ownString(backward));
    if (r.action === 'REJECT') {
      this.flowRejects.push({ ...r, interfaceId: ownStringOrNull(r.interfaceId), srcAddr: ownString(r.srcAddr), dstAddr: ownString(r.dstAddr), raw: ownString(r.raw) });
    }
  }

  /** Flow-log files were given even if they held no row (absence then means something). */
  markFlowLogsGiven(): void {
    this.flowLogsGiven = true;
  }

  private count(addr: string, time: number, asServer: number, asClient: number): void {
    let s = this.addrs.get(addr);
    if (!s) s = { asServer: 0, asClient: 0, last: time };
    else this.addrs.delete(addr); // re-inserted below: the map stays least recently seen first
    this.addrs.set(addr, s);
    s.asServer += asServer;
    s.asClient += asClient;
    if (time > s.last) s.last = time;
    if (s.asServer > 0 && s.asClient > 0) this.lbSeen.add(addr);
  }

  /** Addresses that both accept and open connections: the load balancer's. */
  lbAddresses(): Set<string> {
    return new Set(this.lbSeen);
  }

  private side(tx: { clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }, lb: Set<string>): 'client' | 'target' | 'unknown' {
    if (this.logTargets.has(ep(tx.serverAddr, tx.serverPort)) || lb.has(tx.clientAddr)) return 'target';
    if (lb.has(tx.serverAddr)) return 'client';
    if (this.logTargetAddrs.has(tx.serverAddr)) return 'target';
    return 'unknown';
  }

  private lbCache: Set<string> | null = null;

  roleOf(c: { clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): 'client-side' | 'target-side' | 'unknown' {
    const s = this.side(c, this.lbCache ?? this.lbAddresses());
    return s === 'client' ? 'client-side' : s === 'target' ? 'target-side' : 'unknown';
  }

  /** All cases, in time order. */
  build(): Case[] {
    const lb = this.lbAddresses();
    // A load balancer's target-facing address may never accept connections (multi-homed, as an
    // ALB's are): it is also known as the client of connections to logged targets, and as the
    // client of requests carrying an X-Amzn-Trace-Id (which an ALB adds to every target request).
    for (const tx of this.txs) {
      if (tx.traceId !== null || this.logTargets.has(ep(tx.serverAddr, tx.serverPort))) lb.add(tx.clientAddr);
    }
    for (const c of this.conns.values()) if (this.logTargets.has(ep(c.serverAddr, c.serverPort))) lb.add(c.clientAddr);
    this.lbCache = lb;
    const clientTxs: TxView[] = [];
    const targetTxs: TxView[] = [];
    for (const tx of this.txs) {
      const s = this.side(tx, lb);
      if (s === 'target') targetTxs.push(tx);
      else clientTxs.push(tx); // unknown: treat as the side the user sees
    }
    const attempts = [...this.conns.values()].filter((c) => c.refused || c.tlsFailure !== null || (c.synTimes.length > 0 && c.synAckTime === null && !c.midstream));
    const targetSideSeen = [...lb].some((a) => this.addrs.has(a)) ? true : this.logTargetAddrs.size > 0 && [...this.logTargetAddrs].some((a) => (this.addrs.get(a)?.asServer ?? 0) > 0);
    const usedClient = new Set<TxView>();
    const usedTarget = new Set<TxView>();
    const usedAttempt = new Set<ConnView>();
    const cases: Case[] = [];

    // Pass 1: strong joins to estimate the clock skew (log − capture).
    const offsets: number[] = [];
    for (const l of this.logs) {
      const root = traceRoot(l.traceId);
      if (root) {
        const t = targetTxs.find((x) => traceRoot(x.traceId) === root);
        if (t && t.requestFirstByteTime !== null && l.requestTime !== null) {
          offsets.push(l.requestTime + (l.requestProcessingSeconds ?? 0) - t.requestFirstByteTime);
          continue;
        }
      }
      if (l.clientAddr !== null && l.requestTime !== null) {
        const cands = clientTxs.filter((x) => x.clientAddr === l.clientAddr && x.clientPort === l.clientPort && x.path === pathOnly(l.path) && x.requestFirstByteTime !== null);
        const best = nearest(cands, l.requestTime, (x) => x.requestFirstByteTime!);
        if (best && Math.abs(l.requestTime - best.requestFirstByteTime!) <= this.maxSkew + this.slack) offsets.push(l.requestTime - best.requestFirstByteTime!);
      }
    }
    const est = median(offsets);
    if (est !== null && Math.abs(est) <= this.maxSkew) {
      this.skewSeconds = Math.abs(est) < 0.0005 ? 0 : est;
      this.skewEstimated = true;
    }
    const skew = this.skewSeconds;
    const tol = this.skewEstimated ? this.slack : this.maxSkew + this.slack;

    const attemptsNear = (from: number, to: number, target: string | null): ConnView[] =>
      attempts.filter((a) => !usedAttempt.has(a) && a.startTime >= from - tol && a.startTime <= to + tol && (target === null || ep(a.serverAddr, a.serverPort) === target));
    const flowRowsFor = (conns: ConnView[]): FlowRowView[] =>
      this.flowRejects.filter((r) =>
        conns.some(
          (c) =>
            ((r.srcAddr === c.clientAddr && r.dstAddr === c.serverAddr && (r.dstPort === null || r.dstPort === c.serverPort)) ||
              (r.srcAddr === c.serverAddr && r.dstAddr === c.clientAddr && (r.srcPort === null || r.srcPort === c.serverPort))) &&
            c.startTime >= r.start - 60 - tol &&
            c.startTime <= r.end + 60 + tol,
        ),
      );
    const seenInFlowLogs = (conns: ConnView[]) => conns.some((c) => this.flowSeen.has(`${c.clientAddr}|${c.serverAddr}|${c.serverPort}`));
    const covers = (t: number) => t >= this.firstPacket - tol && t <= this.lastPacket + tol;

    const makeCase = (base: Partial<Case> & Pick<Case, 'origin' | 'status'>): Case => {
      const targetConn = base.targetTx ? this.conns.get(base.targetTx.connUid) ?? null : null;
      const clientConn = base.clientTx ? this.conns.get(base.clientTx.connUid) ?? null : null;
      const tAttempts = base.targetAttempts ?? [];
      const rows = flowRowsFor(tAttempts.length ? tAttempts : targetConn ? [targetConn] : []);
      const next = targetConn ? this.nextLegOf(targetConn) : null;
      const root = traceRoot(base.targetTx?.traceId ?? null);
      let nextTx = next && root !== null ? this.traced.get(`${root}|${next.uid}`) ?? null : null;
      const reqT = base.targetTx?.requestFirstByteTime ?? null;
      if (next && !nextTx && reqT !== null) {
        // Without trace ids: a failed request on the next leg just after this one is the same request.
        nextTx = targetTxs.find((t) => t.connUid === next.uid && t.requestFirstByteTime !== null && t.requestFirstByteTime >= reqT && t.requestFirstByteTime <= reqT + 5) ?? null;
      }
      if (nextTx) usedTarget.add(nextTx);
      return {
        log: null,
        clientTx: null,
        targetTx: null,
        nextLeg: next,
        nextLegTx: nextTx,
        targetAttempts: tAttempts,
        captureCovers: true,
        targetSideSeen,
        skewSeconds: skew,
        ...base,
        clientConn,
        targetConn,
        flowRows: rows,
        flowLogsGiven: this.flowLogsGiven,
        inFlowLogs: tAttempts.length > 0 ? seenInFlowLogs(tAttempts) : targetConn ? seenInFlowLogs([targetConn]) : false,
      };
    };

    // Pass 2: one case per error log line.
    for (const l of [...this.logs].sort((a, b) => a.time - b.time)) {
      const reqT = (l.requestTime ?? l.time - Math.max(0, l.requestProcessingSeconds ?? 0) - Math.max(0, l.targetProcessingSeconds ?? 0) - Math.max(0, l.responseProcessingSeconds ?? 0)) - skew;
      const endT = l.time - skew;
      const path = pathOnly(l.path);
      let clientTx: TxView | null = null;
      {
        const cands = clientTxs.filter(
          (x) =>
            !usedClient.has(x) &&
            x.requestFirstByteTime !== null &&
            (l.clientAddr === null || (x.clientAddr === l.clientAddr && x.clientPort === l.clientPort)) &&
            (path === null || x.path === null || x.path === path) &&
            x.requestFirstByteTime >= reqT - tol &&
            x.requestFirstByteTime <= endT + tol,
        );
        clientTx = nearest(cands, reqT, (x) => x.requestFirstByteTime!);
        if (clientTx) usedClient.add(clientTx);
      }
      let targetTx: TxView | null = null;
      const root = traceRoot(l.traceId);
      if (root) {
        // The same trace id is on every leg behind the load balancer: take the leg to the logged
        // target, else the earliest (the first hop).
        const logged = l.targetAddr !== null && l.targetPort !== null ? ep(l.targetAddr, l.targetPort) : null;
        const same = targetTxs.filter((x) => !usedTarget.has(x) && traceRoot(x.traceId) === root);
        targetTx = same.find((x) => ep(x.serverAddr, x.serverPort) === logged) ?? [...same].sort((a, b) => (a.requestFirstByteTime ?? 0) - (b.requestFirstByteTime ?? 0))[0] ?? null;
      }
      if (!targetTx) {
        const target = l.targetAddr !== null && l.targetPort !== null ? ep(l.targetAddr, l.targetPort) : null;
        const cands = targetTxs.filter(
          (x) =>
            !usedTarget.has(x) &&
            x.requestFirstByteTime !== null &&
            (target === null || ep(x.serverAddr, x.serverPort) === target) &&
            (path === null || x.path === null || x.path === path) &&
            (root === null || x.traceId === null) &&
            x.requestFirstByteTime >= reqT - tol &&
            x.requestFirstByteTime <= endT + tol,
        );
        targetTx = nearest(cands, reqT, (x) => x.requestFirstByteTime!);
      }
      if (targetTx) usedTarget.add(targetTx);
      let tAttempts: ConnView[] = [];
      if (!targetTx) {
        const target = l.targetAddr !== null && l.targetPort !== null ? ep(l.targetAddr, l.targetPort) : null;
        tAttempts = attemptsNear(reqT, endT, target);
        if (tAttempts.length === 0 && target !== null) tAttempts = attemptsNear(reqT, endT, null).filter((a) => lb.has(a.clientAddr));
        for (const a of tAttempts) usedAttempt.add(a);
      }
      cases.push(makeCase({ origin: 'alb-log', status: l.elbStatus, log: l, clientTx, targetTx, targetAttempts: tAttempts, captureCovers: covers(reqT) }));
    }

    // Pass 3: client-side errors with no log line.
    for (const x of clientTxs.sort((a, b) => (a.requestFirstByteTime ?? 0) - (b.requestFirstByteTime ?? 0))) {
      if (usedClient.has(x)) continue;
      if (x.outcome === 'complete' && (x.status === null || x.status < 500)) continue;
      const reqT = x.requestFirstByteTime ?? 0;
      const endT = x.responseFirstByteTime ?? x.requestLastByteTime ?? reqT;
      const cands = targetTxs.filter((t) => !usedTarget.has(t) && t.requestFirstByteTime !== null && t.requestFirstByteTime >= reqT - 0.001 && t.requestFirstByteTime <= endT + 0.001 && (t.path === null || x.path === null || t.path === x.path));
      const targetTx = nearest(cands, reqT, (t) => t.requestFirstByteTime!);
      if (targetTx) usedTarget.add(targetTx);
      const tAttempts = targetTx ? [] : attempts.filter((a) => !usedAttempt.has(a) && a.startTime >= reqT - 0.001 && a.startTime <= endT + 0.001);
      for (const a of tAttempts) usedAttempt.add(a);
      usedClient.add(x);
      cases.push(makeCase({ origin: 'client-transaction', status: x.status, clientTx: x, targetTx, targetAttempts: tAttempts }));
    }

    // Pass 4: target-side failures nobody claimed.
    for (const t of targetTxs) {
      if (usedTarget.has(t)) continue;
      if (t.outcome === 'complete' && (t.status === null || t.status < 500)) continue;
      cases.push(makeCase({ origin: 'target-transaction', status: null, targetTx: t }));
    }
    // Pass 5: failed connection attempts from the load balancer nobody claimed.
    for (const a of attempts) {
      if (usedAttempt.has(a)) continue;
      if (lb.size > 0 && !lb.has(a.clientAddr) && !this.logTargets.has(ep(a.serverAddr, a.serverPort))) continue;
      cases.push(makeCase({ origin: 'target-connection', status: null, targetAttempts: [a] }));
    }
    const caseTime = (c: Case) => c.clientTx?.requestFirstByteTime ?? c.targetTx?.requestFirstByteTime ?? (c.log ? c.log.time - skew : null) ?? c.targetAttempts[0]?.startTime ?? 0;
    return cases.sort((a, b) => caseTime(a) - caseTime(b));
  }

  /** Whether a connection (by uid) is kept: it had trouble, or a kept transaction ran on it. */
  isKept(uid: string): boolean {
    return this.conns.has(uid) || this.wantedConns.has(uid);
  }

  /**
   * Forgets what happened before `time` (live analysis: keeps memory bounded over days of
   * capture once the findings about it were reported).
   */
  prune(time: number): void {
    const keepTx = this.txs.filter((t) => (t.requestFirstByteTime ?? Infinity) >= time);
    this.txs.length = 0;
    this.txs.push(...keepTx);
    const keepLogs = this.logs.filter((l) => l.time >= time);
    this.logs.length = 0;
    this.logs.push(...keepLogs);
    for (const [uid, c] of this.conns) {
      if (c.endTime < time) {
        this.conns.delete(uid);
        this.wantedConns.delete(uid);
      }
    }
    const keepRows = this.flowRejects.filter((r) => r.end >= time);
    this.flowRejects.length = 0;
    this.flowRejects.push(...keepRows);
    // Addresses and legs not seen since: both maps are in order of last use, oldest first.
    for (const [addr, st] of this.addrs) {
      if (st.last >= time) break;
      this.addrs.delete(addr);
      this.lbSeen.delete(addr);
    }
    for (const [key, list] of this.legs) {
      if (list.some((l) => l.endTime >= time)) break;
      this.legs.delete(key);
      this.legCount -= list.length;
    }
  }

  /** The leg after `c` on the path: same client ip:port, another server, overlapping in time. */
  nextLegOf(c: ConnView): LegView | null {
    const list = this.legs.get(ep(c.clientAddr, c.clientPort));
    if (!list) return null;
    let best: LegView | null = null;
    for (const l of list) {
      if (l.uid === c.uid || (l.serverAddr === c.serverAddr && l.serverPort === c.serverPort)) continue;
      if (Math.abs(l.startTime - c.startTime) > 2) continue;
      if (best === null || Math.abs(l.startTime - c.startTime) < Math.abs(best.startTime - c.startTime)) best = l;
    }
    return best;
  }

  /** Kept connections (for the report's connection list). */
  keptConnections(): ConnView[] {
    return [...this.conns.values()];
  }
}

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
