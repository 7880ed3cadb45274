/**
 * Implication: which connections a targeted analysis dissects (reads again through TLS and HTTP),
 * decided from the survey of every connection (flow/survey.ts) and what the access logs said.
 * A connection is implicated
 *
 * - by its TCP: anything but a simple connection (Complex bits: a RST, a FIN while a request was
 *   outstanding, unanswered or repeated SYNs, out-of-order or missing bytes, open at the end of
 *   the capture, a TLS alert in the clear, ...);
 * - by an error line of the access log (5xx, 460, 000): the client connections with its client
 *   ip:port, and every connection that is not client-side (towards the targets, on either side of
 *   a NAT hop) open during its request, widened by the clock-skew tolerance;
 * - by the absence of logs: without an access log, every connection not known to be behind the
 *   load balancer (the load balancer's own 5xx answers are only on the client side); with one,
 *   a client connection no log line names (the logs do not cover it), and any connection that
 *   carried bytes outside the logs' time span;
 * - by an ICMP error quoting it;
 * - by being joined to an implicated one: the other legs of the same TCP connection through a NAT
 *   hop (same ISNs: the path model's key), the connections replacing or replaced by it on the same
 *   5-tuple; and, after the second pass, every connection open while a failed request was;
 * - by an HTTP/2 GOAWAY cut on another connection of its client while it was open (its retry may
 *   be on it: targeted.ts);
 * - by being kept or cited by the correlation (targeted.ts checks it after correlating and runs
 *   again with those added).
 *
 * Connections are the survey's rows (flow/survey-records.ts: their end order).
 */
import { ISN_WINDOW_SECONDS, MAX_KEY_SHARERS } from '../correlate/legs.js';
import { logWindow } from '../correlate/keys.js';
import type { LbLogView } from '../correlate/views.js';
import type { IcmpErrorEvent } from '../flow/options.js';
import { COMPLEX_NAMES } from '../flow/survey-facts.js';
import type { SurveyRecords } from '../flow/survey-records.js';
import type { LogTapeData } from './log-tape.js';

/** Why a connection was dissected (bits beside the survey's Complex bits, which count as `tcp`). */
export const Why = {
  Tcp: 1,
  ErrorLog: 2,
  NoLogs: 4,
  Uncovered: 8,
  Icmp: 16,
  NatPeer: 32,
  PortReuse: 64,
  FailedRequest: 128,
  Cited: 256,
  Incident: 512,
  GoawayRetry: 1024,
} as const;

const WHY_NAMES: Record<number, string> = {
  2: 'error-log-line',
  4: 'no-access-log',
  8: 'not-in-access-log',
  16: 'icmp-error',
  32: 'nat-peer',
  64: 'port-reuse',
  128: 'open-during-failed-request',
  256: 'cited-by-correlation',
  512: 'incident',
  1024: 'goaway-retry',
};

/** A request crosses a NAT hop, or a failed request's other legs are open, within this long. */
const HOP_SECONDS = 5;

/**
 * The survey's connections by client ISN, for the path model's join (correlate/legs.ts natPeers:
 * the same client ISN with SYNs within ISN_WINDOW_SECONDS, the same server ISN when both legs saw
 * the SYN-ACK, other endpoints; an ISN shared by more than MAX_KEY_SHARERS connections joins none).
 * The survey's legs have no first-payload fingerprints (they are read only when dissected).
 * Rows sorted by (ISN, row) in one typed array, built once.
 */
class IsnJoins {
  private readonly sorted: Int32Array;
  private readonly isns: Float64Array;
  /** Start times by row: the rows sharing an ISN are far apart in the records, which are read in order best. */
  private readonly starts: Float64Array;
  constructor(private readonly r: SurveyRecords) {
    const n = r.size;
    this.isns = new Float64Array(n).fill(-1);
    this.starts = new Float64Array(n);
    let k = 0;
    for (let row = 0; row < n; row++) {
      this.starts[row] = r.startTime(row);
      if (r.syns(row, 0) > 0) {
        this.isns[row] = r.isn(row, 0)!;
        k++;
      }
    }
    const sorted = new Int32Array(k);
    k = 0;
    for (let row = 0; row < n; row++) if (this.isns[row]! >= 0) sorted[k++] = row;
    const isns = this.isns;
    sorted.sort((a, b) => isns[a]! - isns[b]! || a - b);
    this.sorted = sorted;
  }

  /** Where the row's client ISN starts in `sorted` (-1: no SYN seen). */
  private first(isn: number): number {
    if (isn < 0) return -1;
    const s = this.sorted;
    const isns = this.isns;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (isns[s[mid]!]! < isn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** reach() by row once its ISN's rows were looked at (-1: not yet). */
  private reaches: Int8Array | null = null;

  /**
   * How a NAT join can reach the row's leg: 0 never (no other connection has its client ISN
   * within ISN_WINDOW_SECONDS, nor do any two of the connections sharing it: how many share it
   * then changes no join), 1 never, but two others sharing its ISN are that close (so it counts
   * among the ISN's sharers: MAX_KEY_SHARERS), 2 maybe (another has it within the window).
   */
  reach(row: number): number {
    const isn = this.isns[row]!;
    const lo = this.first(isn);
    if (lo < 0) return 0;
    const rs = (this.reaches ??= new Int8Array(this.isns.length).fill(-1));
    if (rs[row]! >= 0) return rs[row]!;
    const s = this.sorted;
    const isns = this.isns;
    const starts = this.starts;
    let end = lo;
    while (end < s.length && isns[s[end]!] === isn) end++;
    // The ISN's rows by start time: a row is near another when a neighbour in that order is.
    const g = Array.from(s.subarray(lo, end)).sort((a, b) => starts[a]! - starts[b]! || a - b);
    let pair = false;
    for (let k = 0; k < g.length; k++) {
      const t = starts[g[k]!]!;
      const near = (k > 0 && t - starts[g[k - 1]!]! <= ISN_WINDOW_SECONDS) || (k + 1 < g.length && starts[g[k + 1]!]! - t <= ISN_WINDOW_SECONDS);
      rs[g[k]!] = near ? 2 : 0;
      if (near) pair = true;
    }
    if (pair) for (const o of g) if (rs[o] === 0) rs[o] = 1;
    return rs[row]!;
  }

  /** The other legs of the row's TCP connection through a NAT hop, in the order they ended. */
  peers(row: number, out: number[]): void {
    const isn = this.isns[row]!;
    const lo = this.first(isn);
    if (lo < 0) return;
    const s = this.sorted;
    const isns = this.isns;
    let end = lo;
    while (end < s.length && isns[s[end]!] === isn) end++;
    if (end - lo > MAX_KEY_SHARERS) return;
    const r = this.r;
    const starts = this.starts;
    const start = starts[row]!;
    const serverIsn = r.isn(row, 1);
    for (let i = lo; i < end; i++) {
      const o = s[i]!;
      if (o === row || Math.abs(starts[o]! - start) > ISN_WINDOW_SECONDS) continue;
      if (r.sameEndpoints(o, row)) continue;
      const os = r.isn(o, 1);
      if (os !== null && serverIsn !== null && os !== serverIsn) continue;
      out.push(o);
    }
  }
}

/** The dissected connections (rows) and why: Why bits (Tcp stands for the connection's Complex bits). */
export class Implicated {
  private readonly bits: Int32Array;
  /** Rows in the order they were first implicated. */
  private readonly order: number[] = [];
  private joins: IsnJoins | null = null;
  /** Row after each row on its 5-tuple (port reuse; -1: none). */
  private successors: Int32Array | null = null;

  constructor(readonly recs: SurveyRecords) {
    this.bits = new Int32Array(recs.size);
  }

  has(row: number): boolean {
    return this.bits[row] !== 0;
  }

  get size(): number {
    return this.order.length;
  }

  /** The implicated rows, in the order first implicated. */
  rows(): readonly number[] {
    return this.order;
  }

  /** Adds a reason; true when the connection was not implicated before. */
  add(row: number, why: number): boolean {
    const old = this.bits[row]!;
    this.bits[row] = old | why;
    if (old === 0) this.order.push(row);
    return old === 0;
  }

  /** Connections by reason name, for the report's stats (a connection counts under each of its reasons). */
  byReason(): Record<string, number> {
    const out: Record<string, number> = {};
    const bump = (k: string): void => {
      out[k] = (out[k] ?? 0) + 1;
    };
    for (const row of this.order) {
      const why = this.bits[row]!;
      for (const [bit, name] of Object.entries(WHY_NAMES)) if ((why & Number(bit)) !== 0) bump(name);
      if ((why & Why.Tcp) !== 0) {
        const complex = this.recs.complex(row);
        for (const [bit, name] of Object.entries(COMPLEX_NAMES)) if ((complex & Number(bit)) !== 0) bump(`tcp:${name}`);
      }
    }
    return out;
  }

  /** The NAT join of the survey's connections (built on first use). */
  natPeers(row: number, out: number[]): void {
    (this.joins ??= new IsnJoins(this.recs)).peers(row, out);
  }

  /**
   * Whether a NAT join (correlate/legs.ts: by client ISN within ISN_WINDOW_SECONDS; the survey
   * has no first-payload prints) can ever reach the row's leg: see IsnJoins.reach.
   */
  joinReach(row: number): number {
    return (this.joins ??= new IsnJoins(this.recs)).reach(row);
  }

  /** The connection that replaced this one on its 5-tuple (-1: none). */
  successor(row: number): number {
    if (this.successors === null) {
      const r = this.recs;
      const s = new Int32Array(r.size).fill(-1);
      for (let i = 0; i < r.size; i++) {
        const p = r.previous(i);
        if (p >= 0) s[p] = i;
      }
      this.successors = s;
    }
    return this.successors[row]!;
  }
}

export interface ImplicateInput {
  /** Every connection the survey saw (rows in the order they ended). */
  recs: SurveyRecords;
  /** The access logs' tape; null when none was given. */
  logs: LogTapeData | null;
  icmpErrors: IcmpErrorEvent[];
  /** Log ↔ capture clock tolerance (the Correlator's maxSkew + slack). */
  toleranceSeconds: number;
  /** `--trace-id` without access logs: every connection in the window is read. */
  traceIdWithoutLogs: boolean;
}

/** Time intervals, merged and sorted, with a binary-searched overlap test. */
class Intervals {
  private from: number[] = [];
  private to: number[] = [];
  constructor(iv: [number, number][]) {
    iv.sort((a, b) => a[0] - b[0]);
    for (const [f, t] of iv) {
      const n = this.to.length;
      if (n > 0 && f <= this.to[n - 1]!) this.to[n - 1] = Math.max(this.to[n - 1]!, t);
      else {
        this.from.push(f);
        this.to.push(t);
      }
    }
  }
  get empty(): boolean {
    return this.from.length === 0;
  }
  /** Whether [a, b] meets one of the intervals. */
  overlaps(a: number, b: number): boolean {
    // The first interval ending at or after a.
    let lo = 0;
    let hi = this.to.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.to[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.from.length && this.from[lo]! <= b;
  }
}

/** Where a connection stands relative to the load balancer. */
const enum Side {
  Unknown = 0,
  Client = 1,
  Back = 2,
}

/** An endpoint as a number: address id (SurveyRecords) and port. */
function ep(addrId: number, port: number): number {
  return addrId * 65536 + port;
}

/** A logged endpoint as a number (-1: no connection has its address, or no TCP port). */
function logEp(r: SurveyRecords, addr: string, port: number): number {
  if (!(Number.isInteger(port) && port >= 0 && port <= 0xffff)) return -1;
  const id = r.addrId(addr);
  return id < 0 ? -1 : ep(id, port);
}

/** The logged client endpoints as numbers (ep), leaving out addresses no connection has. */
function loggedClients(r: SurveyRecords, t: LogTapeData): Set<number> {
  const out = new Set<number>();
  // IPv4: address * 65536 + port (log-tape.ts), the address as the survey keeps it.
  for (let i = 0; i < t.clients4.length; i++) {
    const k = t.clients4[i]!;
    const id = r.v4AddrId(Math.floor(k / 65536));
    if (id >= 0) out.add(ep(id, k % 65536));
  }
  // Others: endpointKey text.
  for (const k of t.clients6) {
    const bar = k.lastIndexOf('|');
    const e = logEp(r, k.slice(0, bar), Number(k.slice(bar + 1)));
    if (e >= 0) out.add(e);
  }
  return out;
}

const ACCEPTS = 1;
const OPENS = 2;

function sides(r: SurveyRecords, logs: LogTapeData | null, logClients: Set<number>): Uint8Array {
  const n = r.size;
  const out = new Uint8Array(n);
  // Addresses that accept connections and open others: a load balancer's (or a proxy's).
  const roles = new Uint8Array(r.addrCount);
  for (let i = 0; i < n; i++) {
    roles[r.serverAddrId(i)]! |= ACCEPTS;
    roles[r.clientAddrId(i)]! |= OPENS;
  }
  const targets = new Set<number>();
  for (const [a, p] of logs?.targets ?? []) {
    const e = logEp(r, a, p);
    if (e >= 0) targets.add(e);
  }
  // The load balancer's front (ip:port its logged clients connected to) and its back addresses
  // (clients of connections to logged targets, or addresses that also accept connections).
  const front = new Set<number>();
  const backAddrs = new Uint8Array(r.addrCount);
  for (let i = 0; i < n; i++) {
    if (logClients.has(ep(r.clientAddrId(i), r.clientPort(i)))) front.add(ep(r.serverAddrId(i), r.serverPort(i)));
    if (targets.has(ep(r.serverAddrId(i), r.serverPort(i)))) backAddrs[r.clientAddrId(i)] = 1;
  }
  for (let i = 0; i < n; i++) {
    const server = ep(r.serverAddrId(i), r.serverPort(i));
    const ca = r.clientAddrId(i);
    let side = Side.Unknown;
    if (front.has(server) || logClients.has(ep(ca, r.clientPort(i)))) side = Side.Client;
    else if (targets.has(server) || backAddrs[ca] === 1 || roles[ca] === (ACCEPTS | OPENS)) side = Side.Back;
    else if (roles[r.serverAddrId(i)] === (ACCEPTS | OPENS)) side = Side.Client;
    out[i] = side;
  }
  return out;
}

/** The first implication, before any connection was dissected. */
export function implicate(inp: ImplicateInput): Implicated {
  const { recs: r, logs } = inp;
  const n = r.size;
  const imp = new Implicated(r);
  for (let i = 0; i < n; i++) if (r.complex(i) !== 0) imp.add(i, Why.Tcp);
  const logClients = logs === null ? new Set<number>() : loggedClients(r, logs);
  const side = sides(r, logs, logClients);
  const tol = inp.toleranceSeconds + HOP_SECONDS;

  if (logs === null) {
    // The load balancer's own answers are only on its client side: read all but its back.
    for (let i = 0; i < n; i++) if (side[i] !== Side.Back || inp.traceIdWithoutLogs) imp.add(i, inp.traceIdWithoutLogs ? Why.Incident : Why.NoLogs);
  } else {
    // Error lines: their client's connections, and what was open behind the load balancer then.
    const windows: [number, number][] = [];
    const byClient = new Map<number, LbLogView[]>();
    for (const l of logs.lines) {
      const [from, to] = logWindow(l);
      windows.push([from - tol, to + tol]);
      if (l.clientAddr !== null && l.clientPort !== null) {
        const k = logEp(r, l.clientAddr, l.clientPort);
        if (k < 0) continue;
        const list = byClient.get(k);
        if (list) list.push(l);
        else byClient.set(k, [l]);
      }
    }
    const errorTimes = new Intervals(windows);
    let first = Infinity;
    let last = -Infinity;
    for (const [, f, t] of logs.times) {
      if (f < first) first = f;
      if (t > last) last = t;
    }
    for (let i = 0; i < n; i++) {
      const s = side[i];
      const ck = ep(r.clientAddrId(i), r.clientPort(i));
      const lines = byClient.get(ck);
      if (lines !== undefined && lines.some((l) => windowMeets(l, tol, r, i))) imp.add(i, Why.ErrorLog);
      else if (s !== Side.Client && !errorTimes.empty && errorTimes.overlaps(r.startTime(i), r.endTime(i))) imp.add(i, Why.ErrorLog);
      const carried = r.payloadBytes(i, 0) + r.payloadBytes(i, 1) > 0;
      if (s === Side.Client && carried && !logClients.has(ck)) imp.add(i, Why.Uncovered);
      else if (carried && !(payloadFrom(r, i) >= first - tol && payloadTo(r, i) <= last + tol)) imp.add(i, Why.Uncovered);
    }
  }

  // ICMP errors quoting a connection.
  if (inp.icmpErrors.length > 0) {
    const byEp = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const ca = r.clientAddr(i);
      const cp = r.clientPort(i);
      const sa = r.serverAddr(i);
      const sp = r.serverPort(i);
      for (const k of [`${ca}|${cp}|${sa}|${sp}`, `${sa}|${sp}|${ca}|${cp}`]) {
        const l = byEp.get(k);
        if (l) l.push(i);
        else byEp.set(k, [i]);
      }
    }
    for (const e of inp.icmpErrors) for (const i of byEp.get(`${e.srcAddr}|${e.srcPort}|${e.dstAddr}|${e.dstPort}`) ?? []) imp.add(i, Why.Icmp);
  }
  closeOver(imp);
  return imp;
}

function windowMeets(l: LbLogView, tol: number, r: SurveyRecords, i: number): boolean {
  const [from, to] = logWindow(l);
  return r.endTime(i) >= from - tol && r.startTime(i) <= to + tol;
}

function payloadFrom(r: SurveyRecords, i: number): number {
  const a = r.firstPayloadTime(i, 0);
  const b = r.firstPayloadTime(i, 1);
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b);
}

function payloadTo(r: SurveyRecords, i: number): number {
  const a = r.lastPayloadTime(i, 0);
  const b = r.lastPayloadTime(i, 1);
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
}

/**
 * Joined connections come along: the other legs of one TCP connection through a NAT hop (the
 * path model's ISN join) and the connections before and after it on the same 5-tuple, until
 * nothing changes. Returns the rows added.
 */
export function closeOver(imp: Implicated): number[] {
  const r = imp.recs;
  const added: number[] = [];
  const queue = imp.rows().slice();
  const joined: number[] = [];
  while (queue.length > 0) {
    const row = queue.pop()!;
    joined.length = 0;
    imp.natPeers(row, joined);
    const peers = joined.length;
    const prev = r.previous(row);
    if (prev >= 0) joined.push(prev);
    const next = imp.successor(row);
    if (next >= 0) joined.push(next);
    for (let k = 0; k < joined.length; k++) {
      const o = joined[k]!;
      if (imp.add(o, k < peers ? Why.NatPeer : Why.PortReuse)) {
        added.push(o);
        queue.push(o);
      }
    }
  }
  return added;
}

/**
 * After a second pass: connections open while a failed request was outstanding (its other legs:
 * the one the load balancer sent it on, the target's). Returns the rows added.
 */
export function implicateAround(imp: Implicated, windows: [number, number][]): number[] {
  if (windows.length === 0) return [];
  const r = imp.recs;
  const iv = new Intervals(windows.map(([a, b]) => [a - HOP_SECONDS, b + HOP_SECONDS]));
  const added: number[] = [];
  for (let i = 0; i < r.size; i++) if (!imp.has(i) && iv.overlaps(r.startTime(i), r.endTime(i)) && imp.add(i, Why.FailedRequest)) added.push(i);
  return added.concat(closeOver(imp));
}
