/**
 * Correlation: keeps what may need explaining, then assembles one Case per incident — a failed
 * request (or connection attempt) with its path: the legs it crossed (path.ts), each with the
 * request as that leg carried it and the key that joined it, the access-log line, the flow-log
 * rows of every leg's addresses before and after a NAT hop.
 *
 * Streaming: callers add records as the pipeline produces them; only what may need explaining is
 * kept (error log lines, failed transactions, connections with trouble and the legs joined to
 * them, connections idle around an error's time), plus a compact, capped index of every
 * connection for joining legs. Memory grows with the number of errors, not with the capture.
 *
 * Roles: the load balancer's own addresses are the ones that accept connections (from clients)
 * and open them (to targets); log lines name clients and targets directly; the X-Amzn-Trace-Id an
 * ALB adds marks a request behind it. Clock skew between logs and capture is estimated from
 * strongly joined pairs and applied to the rest; inputs whose times do not overlap are not joined
 * (time-sanity.ts).
 */
import { ownString, ownStringOrNull } from '../logs/lines.js';
import { assembleCases, type BuildContext } from './assemble.js';
import { DEFAULT_MAX_LEGS, LegIndex, upstreamOf } from './legs.js';
import type { Case } from './case.js';
import type { LegRole, RoleCoverage } from './path.js';
import { byTraceRoot, ep, isFailedTx, logWindow, pathOnly, traceRoot } from './keys.js';
import { MapRecent, type RecentConns } from './recent.js';
import { isGoawayCut, RetryWatch } from './goaway.js';
import { ErrorMatch, ErrorWindows, DatalessAttempts, datalessAttempt, type AttemptSummary } from './syn-attempts.js';
import { TimeSanity } from './time-sanity.js';
import type { ConnView, FlowRowView, LbLogView, LegView, PayloadPrint, TxView } from './views.js';
import { hasMark } from './views.js';

export interface CorrelateOptions {
  /** Largest log ↔ capture clock difference tolerated when matching, seconds (default 10). */
  maxSkewSeconds?: number;
  /** Extra slack around a log line's request interval, seconds (default 2). */
  slackSeconds?: number;
  /** Connections indexed for joining path legs (default 200,000; the oldest are forgotten first). */
  maxLegs?: number;
  /** Where the connections that ended recently are held (default: their views, MapRecent). */
  recent?: RecentConns;
}

interface AddrStats {
  asServer: number;
  asClient: number;
  /** Latest time the address was seen (connection start or end), for `prune`. */
  last: number;
  /** `Correlator.addrEpoch` when the entry was last moved to the end of the map. */
  epoch: number;
}

/** Counts per epoch of the address map: an address moves to the end of it at most once per epoch. */
const ADDR_EPOCH_COUNTS = 1024;

/** What the flow stage's live connection object offers for joining an open leg (see flow/stream.ts ConnInfo). */
export interface OpenConn {
  readonly uid: string;
  readonly capturePoint: string;
  readonly clientAddr: string;
  readonly clientPort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  readonly startTime: number;
  readonly clientIsn?: number | null;
  readonly serverIsn?: number | null;
  readonly lastPacketTime?: number;
  /** NaN until the server's SYN-ACK. */
  readonly synAckTime?: number;
  readonly clientSynTimes?: number[];
  readonly clientFirstPayload?: PayloadPrint | null;
  readonly serverFirstPayload?: PayloadPrint | null;
}

/** An open connection whose SYNs have gone unanswered this long is a failed attempt, for live analysis. */
const OPEN_ATTEMPT_SECONDS = 1;

export { ep, isFailedTx, logWindow, pathOnly, traceRoot } from './keys.js';

/** Connections kept for an error log line because they were open and idle around its time (target-only captures). */
const IDLE_CANDIDATES_PER_LOG = 16;
/** Connections ended this recently are held a while, so a NAT peer kept later can bring them along. */
const RECENT_SECONDS = 30;
const RECENT_MAX = 20_000;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export class Correlator {
  readonly maxSkew: number;
  readonly slack: number;
  private readonly logs: LbLogView[] = [];
  private readonly txs: TxView[] = [];
  private readonly conns = new Map<string, ConnView>();
  private readonly wantedConns = new Set<string>();
  /** Connections that ended recently and were not kept (time order), for promotion with a NAT peer. */
  private readonly recent: RecentConns;
  private readonly flowRows: FlowRowView[] = [];
  private readonly flowSeen = new Set<string>();
  /** Connection counts by address, least recently seen first (an address seen again moves to the end). */
  private readonly addrs = new Map<string, AddrStats>();
  /** Addresses of `addrs` that both accepted and opened connections, kept as the counts change. */
  private readonly lbSeen = new Set<string>();
  private addrCounts = 0;
  private addrEpoch = 0;
  /** Connection attempts that carried no data: summarised per destination, a bounded number kept whole. */
  private readonly attempts = new DatalessAttempts();
  /** Kept error log lines by target and client endpoint, to tell which attempts match one. */
  private readonly errorWindows = new ErrorWindows();
  private flowLogsGiven = false;
  readonly legs: LegIndex;
  /** Attempt views of open connections made by the last build (live analysis). */
  private readonly provisional: ConnView[] = [];
  /** Open connections (live analysis), refreshed into the leg index at each build. */
  private readonly open = new Map<string, OpenConn>();
  /** Transactions kept only for their trace id (the same request on another leg), by root|connUid. */
  private readonly traced = new Map<string, TxView>();
  private readonly wantedRoots = new Set<string>();
  /** Requests an HTTP/2 GOAWAY cut, and the answered requests that may be their retries (goaway.ts). */
  private readonly retries = new RetryWatch();
  private firstPacket = Infinity;
  private lastPacket = -Infinity;
  /** Log targets (ip|port) and their addresses named by any log line. */
  private readonly logTargets = new Set<string>();
  private readonly logTargetAddrs = new Set<string>();
  /** Error log windows (log clock, widened by the skew tolerance) for keeping idle candidates; sorted lazily. */
  private windows: { from: number; to: number; kept: number }[] = [];
  private windowsSorted = true;
  readonly time = new TimeSanity();
  skewSeconds = 0;
  skewEstimated = false;

  constructor(opts: CorrelateOptions = {}) {
    this.maxSkew = opts.maxSkewSeconds ?? 10;
    this.slack = opts.slackSeconds ?? 2;
    this.legs = new LegIndex(opts.maxLegs ?? DEFAULT_MAX_LEGS);
    this.recent = opts.recent ?? new MapRecent();
  }

  /** Widens the capture's covered time span (call with each connection's start/end). */
  notePacketTime(t: number): void {
    if (t < this.firstPacket) this.firstPacket = t;
    if (t > this.lastPacket) this.lastPacket = t;
  }

  /**
   * A connection began: its endpoints feed role inference at once (live analysis needs roles
   * early), and, given the live connection object, it is indexed as an open leg.
   */
  noteConnectionStart(clientAddr: string, serverAddr: string, time = -Infinity, conn?: OpenConn): void {
    this.count(serverAddr, time, 1, 0);
    this.count(clientAddr, time, 0, 1);
    if (conn) this.noteOpenLeg(conn);
  }

  /**
   * Indexes a connection that began as an open leg, without counting its endpoints (batch
   * analysis counts them when it ends: a connection that turns out to be an attempt of a flood is
   * then never an entry of the address counts).
   */
  noteOpenLeg(conn: OpenConn): void {
    this.open.set(conn.uid, conn);
    this.legs.add(openLeg(conn));
  }

  /**
   * Records the compact view of a connection that ended, for joining legs (call before
   * addConnection). `solo`: no other leg can be joined to it or from it, 'counted' when other
   * legs share its client ISN (LegIndex.addSolo).
   */
  addLeg(l: LegView, solo: false | 'alone' | 'counted' = false): void {
    this.open.delete(l.uid);
    if (solo === false) this.legs.add(l);
    else this.legs.addSolo(l, solo === 'counted');
  }

  /**
   * Every connection's endpoints feed role inference; only those that may explain an error are
   * kept. An attempt that carried no data (unanswered, refused, reset after the handshake) is
   * counted in its destination's summary and kept whole only within a budget (a SYN flood or scan
   * is a summary, not a case per SYN). Returns false for an unanswered or refused attempt only
   * counted: its leg is dropped too.
   */
  addConnection(c: ConnView): boolean {
    this.notePacketTime(c.startTime);
    this.notePacketTime(c.endTime);
    this.count(c.serverAddr, c.endTime, 1, 0);
    const outcome = this.wantedConns.has(c.uid) ? null : datalessAttempt(c);
    let summarised = false;
    if (outcome !== null) {
      const leg = this.legs.get(c.uid);
      // The far leg of a connection a NAT hop answered (joined by ISN) is evidence: kept whole.
      const peered = leg !== undefined && this.legs.natPeers(leg).length > 0;
      const errorMatch = this.errorWindows.size === 0 ? ErrorMatch.None : this.errorWindows.match(ep(c.serverAddr, c.serverPort), ep(c.clientAddr, c.clientPort), c.startTime, this.maxSkew + this.slack);
      summarised = !this.attempts.add(c, outcome, { errorMatch, fromLoadBalancer: this.lbSeen.has(c.clientAddr), joined: peered });
      // Only counted: its source is not counted either (a flood's spoofed sources would each be
      // an entry of `addrs`; a source that only ever sends SYNs is no load balancer). A reset
      // handshake stays a leg, held a while like any connection (a NAT peer may still want it).
      if (summarised && outcome !== 'reset') {
        this.legs.delete(c.uid);
        return false;
      }
    }
    this.count(c.clientAddr, c.endTime, 0, 1);
    const trouble = !summarised && (c.refused || c.tlsFailure !== null || (c.icmpError ?? null) !== null || (c.synTimes.length > 0 && c.synAckTime === null && !c.midstream) || hasMark(c, 'rst'));
    if (trouble || this.wantedConns.has(c.uid) || this.peerKept(c.uid) || this.idleAroundError(c)) this.keep(c);
    else {
      this.recent.add(c);
      this.recent.evict(c.endTime - RECENT_SECONDS, RECENT_MAX);
    }
    return true;
  }

  /** What every unanswered connection attempt added up to, per destination (most attempts first). */
  attemptSummaries(): AttemptSummary[] {
    const tol = this.maxSkew + this.slack;
    return this.attempts.summaries((server, from, to) => {
      let n = 0;
      for (const l of this.logs) {
        if (l.targetAddr === null || l.time < from - tol || l.time > to + tol) continue;
        if (server === null ? this.attempts.isSummarisedAsOther(l.targetAddr) : l.targetAddr === server) n++;
      }
      return n;
    });
  }

  private keep(c: ConnView): void {
    this.conns.set(c.uid, c);
    this.recent.delete(c.uid);
    const leg = this.legs.get(c.uid);
    if (!leg) return;
    // Its NAT peers that ended a moment ago come along (the far leg of a failed connection).
    for (const p of this.legs.natPeers(leg)) {
      const r = this.recent.get(p.leg.uid);
      if (r) {
        this.recent.delete(r.uid);
        this.conns.set(r.uid, r);
      }
    }
  }

  private peerKept(uid: string): boolean {
    const leg = this.legs.get(uid);
    if (!leg) return false;
    return this.legs.natPeers(leg).some((p) => this.conns.has(p.leg.uid) || this.wantedConns.has(p.leg.uid));
  }

  /**
   * A connection open and idle around an error log line's time: with only the target's side
   * captured, it may be the one the failed request was meant for (capped per line).
   */
  private idleAroundError(c: ConnView): boolean {
    if (this.windows.length === 0 || c.synTimes.length > 0 && c.synAckTime === null) return false;
    if (!this.windowsSorted) {
      this.windows.sort((a, b) => a.from - b.from);
      this.windowsSorted = true;
    }
    const closedAt = c.closeHow !== null ? c.endTime : Infinity;
    let kept = false;
    for (const w of this.windows) {
      if (w.from > closedAt) break;
      if (w.to < c.startTime || w.kept >= IDLE_CANDIDATES_PER_LOG) continue;
      const trailing = c.closeHow === null && c.endTime < w.to;
      const gap = c.idleGaps.some((g) => g.start < w.to && g.end > w.from);
      if (trailing || gap) {
        w.kept++;
        kept = true;
      }
    }
    return kept;
  }

  /** Transactions: kept when they may be or explain an error. */
  addTransaction(tx: TxView): void {
    const root = traceRoot(tx.traceId);
    if (root !== null && this.wantedRoots.has(root)) this.traced.set(`${root}|${tx.connUid}`, tx);
    if (!isFailedTx(tx.outcome, tx.status)) {
      if (this.retries.wants(tx.clientAddr, tx.method, tx.path, tx.requestFirstByteTime)) this.retries.keep(tx);
      return;
    }
    this.txs.push(tx);
    this.wantedConns.add(tx.connUid);
    if (isGoawayCut(tx)) this.retries.watch(tx);
  }

  /**
   * Whether addTransaction would keep a transaction with these fields now (failed, or carrying
   * the trace id of a kept log line), so that callers build a TxView only for those: most
   * transactions are answered 200 and would be dropped at once.
   */
  wantsTransaction(outcome: string, status: number | null, traceId: string | null): boolean {
    if (isFailedTx(outcome, status)) return true;
    const root = traceRoot(traceId);
    return root !== null && this.wantedRoots.has(root);
  }

  /**
   * Whether addTransaction would keep an answered request as the possible retry of one an HTTP/2
   * GOAWAY cut (same client address, method and path, within the retry window). One map lookup,
   * and none while no GOAWAY is being watched.
   */
  wantsRetry(clientAddr: string, method: string | null, path: string | null, time: number | null): boolean {
    return this.retries.size > 0 && this.retries.wants(clientAddr, method, path, time);
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

  addLog(l: LbLogView): void {
    this.noteLogTarget(l.targetAddr, l.targetPort);
    this.time.noteLogTime(l.file, l.time);
    if (!Correlator.keepsLogStatus(l.elbStatus)) return;
    this.logs.push(l);
    const root = traceRoot(l.traceId);
    if (root !== null) this.wantedRoots.add(root);
    const [from, to] = logWindow(l);
    this.errorWindows.add(
      l.targetAddr !== null && l.targetPort !== null ? ep(l.targetAddr, l.targetPort) : null,
      l.clientAddr !== null && l.clientPort !== null ? ep(l.clientAddr, l.clientPort) : null,
      from,
      to,
    );
    const tol = this.maxSkew + this.slack;
    this.windows.push({ from: from - tol, to: to + tol, kept: 0 });
    this.windowsSorted = false;
  }

  addFlowRow(r: FlowRowView): void {
    this.flowLogsGiven = true;
    this.time.noteLogTime(r.file, r.start);
    // The row's strings are slices of the log's read chunk: what is kept gets copies of its own.
    const forward = `${r.srcAddr}|${r.dstAddr}|${r.dstPort ?? ''}`;
    const backward = `${r.dstAddr}|${r.srcAddr}|${r.srcPort ?? ''}`;
    if (!this.flowSeen.has(forward)) this.flowSeen.add(ownString(forward));
    if (!this.flowSeen.has(backward)) this.flowSeen.add(ownString(backward));
    // Kept: REJECTs, and rows to a logged target near an error (the pre-NAT rows that lead to
    // the post-NAT ones when no back leg was captured).
    const toLogTarget = this.logTargets.has(ep(r.dstAddr, r.dstPort)) || this.logTargetAddrs.has(r.srcAddr);
    if (r.action === 'REJECT' || (toLogTarget && this.nearError(r.start, r.end))) {
      this.flowRows.push({ ...r, interfaceId: ownStringOrNull(r.interfaceId), srcAddr: ownString(r.srcAddr), dstAddr: ownString(r.dstAddr), raw: ownString(r.raw) });
    }
  }

  private nearError(from: number, to: number): boolean {
    return this.windows.some((w) => w.from <= to + 1 && w.to >= from - 1);
  }

  /** Flow-log files were given even if they held no row (absence then means something). */
  markFlowLogsGiven(): void {
    this.flowLogsGiven = true;
  }

  private count(addr: string, time: number, asServer: number, asClient: number): void {
    let s = this.addrs.get(addr);
    if (!s) {
      s = { asServer: 0, asClient: 0, last: time, epoch: this.addrEpoch };
      this.addrs.set(addr, s);
    } else if (s.epoch !== this.addrEpoch) {
      // To the end, so that the map stays (roughly) least recently seen first for prune(); at most
      // once per epoch of ADDR_EPOCH_COUNTS counts. A V8 Map keeps a deleted entry in its hash
      // chain until the table is rebuilt, so deleting and re-adding one key on every connection
      // (the server address of a SYN flood: 100 000 connections, one server) made each lookup of
      // it walk a chain as long as the connections so far: quadratic time.
      this.addrs.delete(addr);
      this.addrs.set(addr, s);
      s.epoch = this.addrEpoch;
    }
    if (++this.addrCounts % ADDR_EPOCH_COUNTS === 0) this.addrEpoch++;
    s.asServer += asServer;
    s.asClient += asClient;
    if (time > s.last) s.last = time;
    if (s.asServer > 0 && s.asClient > 0) this.lbSeen.add(addr);
  }

  /** Addresses that both accept and open connections: the load balancer's. */
  lbAddresses(): Set<string> {
    return new Set(this.lbSeen);
  }

  private lbCache: Set<string> | null = null;

  private side(x: { clientAddr: string; serverAddr: string; serverPort: number }, lb: Set<string>): 'client' | 'target' | 'unknown' {
    if (this.logTargets.has(ep(x.serverAddr, x.serverPort)) || lb.has(x.clientAddr)) return 'target';
    if (lb.has(x.serverAddr)) return 'client';
    if (this.logTargetAddrs.has(x.serverAddr)) return 'target';
    return 'unknown';
  }

  roleOf(c: { clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): 'client-side' | 'target-side' | 'unknown' {
    const s = this.side(c, this.lbCache ?? this.lbAddresses());
    return s === 'client' ? 'client-side' : s === 'target' ? 'target-side' : 'unknown';
  }

  /** The index entry of a connection (open ones are refreshed from their live objects at each build). */
  private legOf(uid: string): LegView | null {
    return this.legs.get(uid) ?? null;
  }

  /** Of a back (load balancer → target) leg, its place on the path: as the load balancer sent it, or as the target got it behind a NAT hop. */
  private backRole(l: { uid: string; clientAddr: string; clientPort: number; serverAddr: string; serverPort: number }): LegRole {
    const leg = this.legOf(l.uid);
    if (leg) {
      for (const p of this.legs.natPeers(leg)) return this.upstream(leg, p.leg) === leg ? 'lb' : 'target';
    }
    return this.backRoleByAddress(l);
  }

  /** backRole of a leg with no NAT peer. */
  private backRoleByAddress(l: { clientAddr: string; serverAddr: string; serverPort: number }): LegRole {
    if (this.logTargets.has(ep(l.serverAddr, l.serverPort)) || this.lbSeen.has(l.clientAddr)) return 'lb';
    return this.logTargets.size > 0 ? 'target' : 'lb';
  }

  private upstream(a: LegView, b: LegView): LegView {
    const at = this.logTargets.has(ep(a.serverAddr, a.serverPort));
    const bt = this.logTargets.has(ep(b.serverAddr, b.serverPort));
    if (at !== bt) return at ? a : b;
    return upstreamOf(a, b);
  }

  /**
   * All cases, in time order. `now` (live analysis): connections still open whose SYNs have gone
   * unanswered for a second are taken as failed attempts already (the flow stage ends them only at
   * its idle timeout).
   */
  build(now?: number): Case[] {
    // Views of open attempts made by the last build: made again below if still unanswered.
    for (const v of this.provisional) if (this.conns.get(v.uid) === v) this.conns.delete(v.uid);
    this.provisional.length = 0;
    const lb = this.lbAddresses();
    // A load balancer's target-facing address may never accept connections (multi-homed, as an
    // ALB's are): it is also known as the client of connections to logged targets, and as the
    // client of requests carrying an X-Amzn-Trace-Id (which an ALB adds to every target request).
    for (const tx of this.txs) {
      if (tx.traceId !== null || this.logTargets.has(ep(tx.serverAddr, tx.serverPort))) lb.add(tx.clientAddr);
    }
    for (const tx of this.traced.values()) lb.add(tx.clientAddr);
    // (Not the sources of a flood or scan of a logged target: they are clients of its connections too.)
    const noLb: ReadonlySet<string> = new Set();
    for (const c of this.conns.values()) {
      if (this.logTargets.has(ep(c.serverAddr, c.serverPort)) && !(datalessAttempt(c) !== null && !this.attempts.mayExplain(c, noLb))) lb.add(c.clientAddr);
    }
    this.lbCache = lb;
    // Open connections (live): their index entries as of now.
    for (const o of this.open.values()) this.legs.add(openLeg(o));

    const clientTxs: TxView[] = [];
    const backTxs: TxView[] = [];
    for (const tx of this.txs) (this.side(tx, lb) === 'target' ? backTxs : clientTxs).push(tx); // unknown: the side the user sees
    // A target's complete answer to a request whose log line is an error (a 502 for a 200 with a
    // head over 32 KB): the load balancer rejected what the target sent; it is the back leg's request.
    const failed = new Set(this.txs);
    for (const tx of this.traced.values()) if (!failed.has(tx) && this.side(tx, lb) === 'target') backTxs.push(tx);
    const backByRoot = byTraceRoot(backTxs);
    const txsByConn = new Map<string, TxView[]>();
    for (const tx of [...this.txs, ...this.traced.values()]) {
      const list = txsByConn.get(tx.connUid);
      if (list) {
        if (!list.includes(tx)) list.push(tx);
      } else txsByConn.set(tx.connUid, [tx]);
    }
    // Attempts to a flooded or scanned destination explain nothing unless the load balancer made them.
    const attempts = [...this.conns.values()].filter(
      (c) => (c.refused || c.tlsFailure !== null || (c.icmpError ?? null) !== null || (c.synTimes.length > 0 && c.synAckTime === null && !c.midstream)) && (datalessAttempt(c) === null || this.attempts.mayExplain(c, lb)),
    );
    if (now !== undefined) attempts.push(...this.openAttempts(now));

    // Clock skew (log − capture) from strong joins: trace id, or client ip:port + request line.
    const offsets: number[] = [];
    const tracedByRoot = byTraceRoot(this.traced.values());
    for (const l of this.logs) {
      if (l.requestTime === null) continue;
      const root = traceRoot(l.traceId);
      const t = root ? skewAnchor(backByRoot.get(root) ?? [], l) ?? skewAnchor(tracedByRoot.get(root) ?? [], l) : undefined;
      const off = t ? l.requestTime + Math.max(0, l.requestProcessingSeconds ?? 0) - t.requestFirstByteTime! : null;
      if (off !== null && Math.abs(off) <= this.maxSkew + this.slack) {
        offsets.push(off);
        continue;
      }
      if (l.clientAddr === null) continue;
      let best: number | null = null;
      for (const x of clientTxs) {
        if (x.clientAddr !== l.clientAddr || x.clientPort !== l.clientPort || x.path !== pathOnly(l.path) || x.requestFirstByteTime === null) continue;
        const d = l.requestTime - x.requestFirstByteTime;
        if (Math.abs(d) <= this.maxSkew + this.slack && (best === null || Math.abs(d) < Math.abs(best))) best = d;
      }
      if (best !== null) offsets.push(best);
    }
    const est = median(offsets);
    if (est !== null && Math.abs(est) <= this.maxSkew) {
      this.skewSeconds = Math.abs(est) < 0.0005 ? 0 : est;
      this.skewEstimated = true;
    }
    const tol = this.skewEstimated ? this.slack : this.maxSkew + this.slack;

    const ctx: BuildContext = {
      lb,
      clientTxs,
      backTxs,
      backByRoot,
      txsByConn,
      retryCandidates: [...this.retries.candidates(), ...this.txs],
      attempts,
      logs: [...this.logs].sort((a, b) => a.time - b.time),
      skew: this.skewSeconds,
      tol,
      flowRows: this.flowRows,
      flowLogsGiven: this.flowLogsGiven,
      inFlowLogs: (c) => this.flowSeen.has(`${c.clientAddr}|${c.serverAddr}|${c.serverPort}`),
      conn: (uid) => this.conns.get(uid) ?? this.recent.get(uid) ?? null,
      leg: (uid) => this.legOf(uid),
      natPeers: (l) => this.legs.natPeers(l),
      upstream: (a, b) => this.upstream(a, b),
      backRole: (x) => this.backRole(x),
      isLogTarget: (addr, port) => this.logTargets.has(ep(addr, port)),
      captureCovers: (t, file) => this.captureCovers(t, tol, file),
      coverage: this.coverage(lb),
      keptConns: () => this.conns.values(),
      side: (x) => this.side(x, lb),
    };
    return assembleCases(ctx);
  }

  /** Open connections (live) still waiting for a SYN-ACK a second after their first SYN, as attempt views. */
  private openAttempts(now: number): ConnView[] {
    const out: ConnView[] = [];
    for (const o of this.open.values()) {
      if (o.clientIsn === null || o.clientIsn === undefined || o.synAckTime === undefined || !Number.isNaN(o.synAckTime)) continue;
      const syns = o.clientSynTimes ?? [o.startTime];
      if (now - (syns[0] ?? o.startTime) < OPEN_ATTEMPT_SECONDS) continue;
      const v: ConnView = {
        uid: o.uid,
        communityId: null,
        capturePoint: o.capturePoint,
        capturePoints: [o.capturePoint],
        clientIsn: o.clientIsn,
        serverIsn: null,
        clientFirstPayload: null,
        serverFirstPayload: null,
        clientAddr: o.clientAddr,
        clientPort: o.clientPort,
        serverAddr: o.serverAddr,
        serverPort: o.serverPort,
        startTime: o.startTime,
        endTime: o.lastPacketTime ?? o.startTime,
        connState: 'S0',
        history: 'S',
        rttSeconds: null,
        synTimes: syns,
        synAckTime: null,
        refused: false,
        closedBy: null,
        closeHow: null,
        maxIdleSeconds: 0,
        idleGaps: [],
        gapBytes: 0,
        midstream: false,
        marks: syns.map((t) => ({ time: t, fromClient: true, kind: 'syn' as const, length: 0, idleBeforeSeconds: 0, acksAllPeerData: null })),
        requests: 0,
        tlsFailure: null,
      };
      out.push(v);
      if (!this.conns.has(v.uid)) {
        this.conns.set(v.uid, v);
        this.provisional.push(v);
      }
    }
    return out;
  }

  private captureCovers(t: number, tol: number, logFile: string | null): boolean {
    if (logFile !== null && !this.time.logOverlaps(logFile, this.maxSkew + this.slack)) return false;
    if (this.time.spans().length > 0) return this.time.covers(t, tol);
    return t >= this.firstPacket - tol && t <= this.lastPacket + tol;
  }

  /** The time ranges over which connections of each role were captured. */
  private coverage(lb: Set<string>): (t: number) => RoleCoverage {
    const ranges: Record<LegRole, [number, number]> = { client: [Infinity, -Infinity], lb: [Infinity, -Infinity], target: [Infinity, -Infinity] };
    const widen = (r: LegRole, a: number, b: number) => {
      if (a < ranges[r][0]) ranges[r][0] = a;
      if (b > ranges[r][1]) ranges[r][1] = b;
    };
    for (const l of this.legs.values()) {
      const s = this.side(l, lb);
      // Unknown: the side the user sees, as for transactions.
      if (s === 'target') widen(this.backRole(l), l.startTime, l.endTime);
      else widen('client', l.startTime, l.endTime);
    }
    // Solo legs have no NAT peer.
    for (const l of this.legs.solos()) {
      const s = this.side(l, lb);
      if (s === 'target') widen(this.backRoleByAddress(l), l.startTime, l.endTime);
      else widen('client', l.startTime, l.endTime);
    }
    // An open leg's end is now.
    const margin = 60;
    return (t) => ({
      client: t >= ranges.client[0] - margin && t <= ranges.client[1] + margin,
      lb: t >= ranges.lb[0] - margin && t <= ranges.lb[1] + margin,
      target: t >= ranges.target[0] - margin && t <= ranges.target[1] + margin,
    });
  }

  /** Whether a connection (by uid) is kept: it had trouble, or a kept transaction ran on it. */
  isKept(uid: string): boolean {
    return this.conns.has(uid) || this.wantedConns.has(uid);
  }

  /** Warnings about inputs that do not overlap in time (files and ranges named). */
  timeWarnings(): string[] {
    return this.time.warnings(this.maxSkew + this.slack);
  }

  /**
   * Forgets what happened before `time` (live analysis: keeps memory bounded over days of
   * capture once the findings about it were reported).
   */
  prune(time: number): void {
    this.attempts.renewKeepBudget();
    const keepTx = this.txs.filter((t) => (t.requestFirstByteTime ?? Infinity) >= time);
    this.txs.length = 0;
    this.txs.push(...keepTx);
    for (const [k, t] of this.traced) if ((t.requestFirstByteTime ?? Infinity) < time) this.traced.delete(k);
    this.retries.prune(time);
    const keepLogs = this.logs.filter((l) => l.time >= time);
    this.logs.length = 0;
    this.logs.push(...keepLogs);
    for (const [uid, c] of this.conns) {
      if (c.endTime < time) {
        this.conns.delete(uid);
        this.wantedConns.delete(uid);
      }
    }
    this.recent.dropEndedBefore(time);
    const keepRows = this.flowRows.filter((r) => r.end >= time);
    this.flowRows.length = 0;
    this.flowRows.push(...keepRows);
    this.windows = this.windows.filter((w) => w.to >= time);
    // Addresses not seen since: the map is in order of last use, oldest first.
    for (const [addr, st] of this.addrs) {
      if (st.last >= time) break;
      this.addrs.delete(addr);
      this.lbSeen.delete(addr);
    }
    this.legs.prune(time);
  }

  /** Kept connections (for the report's connection list). */
  keptConnections(): ConnView[] {
    return [...this.conns.values()];
  }
}

/** The leg index entry of a connection still open (live analysis), from the flow stage's live object. */
function openLeg(o: OpenConn): LegView {
  const last = o.lastPacketTime ?? o.startTime;
  return {
    uid: o.uid,
    capturePoint: o.capturePoint,
    clientAddr: o.clientAddr,
    clientPort: o.clientPort,
    serverAddr: o.serverAddr,
    serverPort: o.serverPort,
    startTime: o.startTime,
    endTime: Number.isFinite(last) ? last : o.startTime,
    clientIsn: o.clientIsn ?? null,
    serverIsn: o.serverIsn ?? null,
    clientFirstPayload: o.clientFirstPayload ?? null,
    serverFirstPayload: o.serverFirstPayload ?? null,
    clientPayloadBytes: 0,
    serverFinTimes: [],
    serverRstTimes: [],
    open: true,
  };
}

/**
 * The transaction a log line's clock is compared with: of those carrying its trace id (`txs`), the one to
 * the target the line names, else the earliest (the first hop behind the load balancer). Never
 * "whichever was recorded first": the estimate must not depend on the order transactions ended
 * (a store replays two listeners' records in another order than one capture produces them).
 */
function skewAnchor(txs: readonly TxView[], l: LbLogView): TxView | undefined {
  let best: TxView | undefined;
  let bestLogged = false;
  for (const x of txs) {
    if (x.requestFirstByteTime === null) continue;
    const logged = l.targetAddr !== null && x.serverAddr === l.targetAddr && x.serverPort === l.targetPort;
    if (best === undefined || (logged && !bestLogged) || (logged === bestLogged && x.requestFirstByteTime < best.requestFirstByteTime!)) {
      best = x;
      bestLogged = logged;
    }
  }
  return best;
}
