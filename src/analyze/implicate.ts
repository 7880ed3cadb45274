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
 */
import { LegIndex } from '../correlate/legs.js';
import { logWindow } from '../correlate/keys.js';
import type { LbLogView } from '../correlate/views.js';
import type { IcmpErrorEvent } from '../flow/options.js';
import { COMPLEX_NAMES, type SurveyConn } from '../flow/survey.js';
import { endpointKey, type LogTapeData } from './log-tape.js';
import { surveyLegView } from './survey-views.js';

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

/** The dissected connections and why: uid → Why bits (Tcp stands for the connection's Complex bits). */
export class Implicated {
  readonly why = new Map<string, number>();
  constructor(private readonly byUid: Map<string, SurveyConn>) {}

  has(uid: string): boolean {
    return this.why.has(uid);
  }

  get size(): number {
    return this.why.size;
  }

  /** Adds a reason; true when the connection was not implicated before. */
  add(c: SurveyConn, why: number): boolean {
    const old = this.why.get(c.uid);
    this.why.set(c.uid, (old ?? 0) | why);
    return old === undefined;
  }

  /** Connections by reason name, for the report's stats (a connection counts under each of its reasons). */
  byReason(): Record<string, number> {
    const out: Record<string, number> = {};
    const bump = (k: string): void => {
      out[k] = (out[k] ?? 0) + 1;
    };
    for (const [uid, why] of this.why) {
      for (const [bit, name] of Object.entries(WHY_NAMES)) if ((why & Number(bit)) !== 0) bump(name);
      if ((why & Why.Tcp) !== 0) {
        const c = this.byUid.get(uid)!;
        for (const [bit, name] of Object.entries(COMPLEX_NAMES)) if ((c.complex & Number(bit)) !== 0) bump(`tcp:${name}`);
      }
    }
    return out;
  }
}

export interface ImplicateInput {
  /** Every connection the survey saw, in the order they ended. */
  conns: SurveyConn[];
  byUid: Map<string, SurveyConn>;
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

function sides(conns: SurveyConn[], logs: LogTapeData | null): Map<SurveyConn, Side> {
  const out = new Map<SurveyConn, Side>();
  // Addresses that accept connections and open others: a load balancer's (or a proxy's).
  const servers = new Set<string>();
  const clients = new Set<string>();
  for (const c of conns) {
    servers.add(c.serverAddr);
    clients.add(c.clientAddr);
  }
  const targets = new Set((logs?.targets ?? []).map(([a, p]) => endpointKey(a, p)));
  const logClients = new Set(logs?.clients ?? []);
  // The load balancer's front (ip:port its logged clients connected to) and its back addresses
  // (clients of connections to logged targets, or addresses that also accept connections).
  const front = new Set<string>();
  const backAddrs = new Set<string>();
  for (const c of conns) {
    if (logClients.has(endpointKey(c.clientAddr, c.clientPort))) front.add(endpointKey(c.serverAddr, c.serverPort));
    if (targets.has(endpointKey(c.serverAddr, c.serverPort))) backAddrs.add(c.clientAddr);
  }
  for (const c of conns) {
    const server = endpointKey(c.serverAddr, c.serverPort);
    let side = Side.Unknown;
    if (front.has(server) || logClients.has(endpointKey(c.clientAddr, c.clientPort))) side = Side.Client;
    else if (targets.has(server) || backAddrs.has(c.clientAddr) || (servers.has(c.clientAddr) && clients.has(c.clientAddr))) side = Side.Back;
    else if (servers.has(c.serverAddr) && clients.has(c.serverAddr)) side = Side.Client;
    out.set(c, side);
  }
  return out;
}

/** The first implication, before any connection was dissected. */
export function implicate(inp: ImplicateInput): Implicated {
  const imp = new Implicated(inp.byUid);
  const { conns, logs } = inp;
  for (const c of conns) if (c.complex !== 0) imp.add(c, Why.Tcp);
  const side = sides(conns, logs);
  const tol = inp.toleranceSeconds + HOP_SECONDS;

  if (logs === null) {
    // The load balancer's own answers are only on its client side: read all but its back.
    for (const c of conns) if (side.get(c) !== Side.Back || inp.traceIdWithoutLogs) imp.add(c, inp.traceIdWithoutLogs ? Why.Incident : Why.NoLogs);
  } else {
    // Error lines: their client's connections, and what was open behind the load balancer then.
    const windows: [number, number][] = [];
    const byClient = new Map<string, LbLogView[]>();
    for (const l of logs.lines) {
      const [from, to] = logWindow(l);
      windows.push([from - tol, to + tol]);
      if (l.clientAddr !== null && l.clientPort !== null) {
        const k = endpointKey(l.clientAddr, l.clientPort);
        const list = byClient.get(k);
        if (list) list.push(l);
        else byClient.set(k, [l]);
      }
    }
    const errorTimes = new Intervals(windows);
    const logClients = new Set(logs.clients);
    let first = Infinity;
    let last = -Infinity;
    for (const [, f, t] of logs.times) {
      if (f < first) first = f;
      if (t > last) last = t;
    }
    for (const c of conns) {
      const s = side.get(c)!;
      const ck = endpointKey(c.clientAddr, c.clientPort);
      const lines = byClient.get(ck);
      if (lines !== undefined && lines.some((l) => windowMeets(l, tol, c))) imp.add(c, Why.ErrorLog);
      else if (s !== Side.Client && !errorTimes.empty && errorTimes.overlaps(c.startTime, c.endTime)) imp.add(c, Why.ErrorLog);
      const carried = c.c.payloadBytes + c.s.payloadBytes > 0;
      if (s === Side.Client && carried && !logClients.has(ck)) imp.add(c, Why.Uncovered);
      else if (carried && !(payloadFrom(c) >= first - tol && payloadTo(c) <= last + tol)) imp.add(c, Why.Uncovered);
    }
  }

  // ICMP errors quoting a connection.
  if (inp.icmpErrors.length > 0) {
    const byEp = new Map<string, SurveyConn[]>();
    for (const c of conns) {
      for (const k of [`${c.clientAddr}|${c.clientPort}|${c.serverAddr}|${c.serverPort}`, `${c.serverAddr}|${c.serverPort}|${c.clientAddr}|${c.clientPort}`]) {
        const l = byEp.get(k);
        if (l) l.push(c);
        else byEp.set(k, [c]);
      }
    }
    for (const e of inp.icmpErrors) for (const c of byEp.get(`${e.srcAddr}|${e.srcPort}|${e.dstAddr}|${e.dstPort}`) ?? []) imp.add(c, Why.Icmp);
  }
  closeOver(imp, conns, inp.byUid);
  return imp;
}

function windowMeets(l: LbLogView, tol: number, c: SurveyConn): boolean {
  const [from, to] = logWindow(l);
  return c.endTime >= from - tol && c.startTime <= to + tol;
}

function payloadFrom(c: SurveyConn): number {
  const a = c.c.firstPayloadTime;
  const b = c.s.firstPayloadTime;
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b);
}

function payloadTo(c: SurveyConn): number {
  const a = c.c.lastPayloadTime;
  const b = c.s.lastPayloadTime;
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
}

/**
 * Joined connections come along: the other legs of one TCP connection through a NAT hop (the
 * path model's ISN join) and the connections before and after it on the same 5-tuple, until
 * nothing changes. Returns the connections added.
 */
export function closeOver(imp: Implicated, conns: SurveyConn[], byUid: Map<string, SurveyConn>): SurveyConn[] {
  const legs = new LegIndex(Number.MAX_SAFE_INTEGER);
  for (const c of conns) if (c.c.synCount > 0) legs.add(surveyLegView(c));
  const successor = new Map<string, SurveyConn>();
  for (const c of conns) if (c.previousUid !== null) successor.set(c.previousUid, c);
  const added: SurveyConn[] = [];
  const queue = [...imp.why.keys()];
  while (queue.length > 0) {
    const c = byUid.get(queue.pop()!)!;
    const joined: [SurveyConn, number][] = [];
    const leg = legs.get(c.uid);
    if (leg) for (const p of legs.natPeers(leg)) joined.push([byUid.get(p.leg.uid)!, Why.NatPeer]);
    if (c.previousUid !== null && byUid.has(c.previousUid)) joined.push([byUid.get(c.previousUid)!, Why.PortReuse]);
    const next = successor.get(c.uid);
    if (next) joined.push([next, Why.PortReuse]);
    for (const [o, why] of joined) {
      if (imp.add(o, why)) {
        added.push(o);
        queue.push(o.uid);
      }
    }
  }
  return added;
}

/**
 * After a second pass: connections open while a failed request was outstanding (its other legs:
 * the one the load balancer sent it on, the target's). Returns the connections added.
 */
export function implicateAround(imp: Implicated, conns: SurveyConn[], byUid: Map<string, SurveyConn>, windows: [number, number][]): SurveyConn[] {
  if (windows.length === 0) return [];
  const iv = new Intervals(windows.map(([a, b]) => [a - HOP_SECONDS, b + HOP_SECONDS]));
  const added: SurveyConn[] = [];
  for (const c of conns) if (!imp.has(c.uid) && iv.overlaps(c.startTime, c.endTime) && imp.add(c, Why.FailedRequest)) added.push(c);
  return added.concat(closeOver(imp, conns, byUid));
}
