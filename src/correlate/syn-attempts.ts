/**
 * Connection attempts that never carried a byte: SYNs never answered (Zeek's conn_state S0),
 * SYNs answered by a RST (REJ: a closed port), and handshakes reset before any data (a half-open
 * scan's SYN, SYN-ACK, RST; an NLB's TCP health check). One is evidence (a load balancer's SYNs
 * to a dead target are a `target-connect-timeout`, its SYN refused a
 * `target-connection-refused`); a hundred thousand from a hundred thousand sources are a SYN
 * flood or a scan, and must not become a hundred thousand findings, nor cost memory per attempt.
 *
 * Every attempt is counted into a bounded summary per destination address (attempts, SYN
 * packets, distinct sources, distinct ports, first and last time, how many matched an error log
 * line); only a bounded number are kept whole for correlation: those that match a kept error log
 * line, those from an address known to be the load balancer's, and the first few others (so a
 * small capture is analysed exactly as before). A destination reached from many sources, or on
 * many ports, is reported as a flood or a scan; its attempts from addresses that are not the
 * load balancer's explain no error.
 */
import type { ConnView } from './views.js';

/** Attempts kept whole because they match a kept error log line (target and time, or client endpoint) or are joined to another leg. */
export const KEEP_MATCHED = 2000;
/** Attempts kept whole because their source is a load-balancer address known at the time. */
export const KEEP_FROM_LB = 2000;
/** Other attempts kept whole (the first ones): a capture with fewer is analysed attempt by attempt. */
export const KEEP_OTHER = 500;
/** Destination addresses summarised one by one; the rest share one summary. */
export const MAX_DESTINATIONS = 64;
/** Distinct sources from which a destination's attempts are a flood (with at least FLOOD_ATTEMPTS attempts). */
export const FLOOD_SOURCES = 50;
export const FLOOD_ATTEMPTS = 100;
/** Distinct ports of one destination from which its attempts are a scan. */
export const SCAN_PORTS = 20;

/**
 * An attempt and nothing else: SYNs from the client (conn_state S0), not picked up mid-stream,
 * nothing from the server (no lower-case letter in the history) and no payload (no D).
 */
export function isUnansweredAttempt(c: ConnView): boolean {
  return c.connState === 'S0' && c.synTimes.length > 0 && c.synAckTime === null && !c.midstream && !/[a-zD]/.test(c.history);
}

/** How a connection that never carried a byte ended. */
export type AttemptOutcome = 'unanswered' | 'refused' | 'reset';

/**
 * What a connection that carried no payload either way, seen from its SYN, was: an unanswered
 * attempt, a refused one (SYN answered by RST), or a handshake reset before any data; null for
 * any other connection.
 */
export function datalessAttempt(c: ConnView): AttemptOutcome | null {
  if (c.midstream || c.synTimes.length === 0 || /[Dd]/.test(c.history) || c.gapBytes > 0) return null;
  if (isUnansweredAttempt(c)) return 'unanswered';
  if (c.refused) return 'refused';
  if (c.synAckTime !== null && c.closeHow === 'rst' && c.tlsFailure === null) return 'reset';
  return null;
}

/** 32-bit FNV-1a of a string, finished with murmur3's fmix32 (spreads the bits for the sketch). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

const EXACT_LIMIT = 4096;
const HLL_BITS = 14;
const HLL_M = 1 << HLL_BITS;
const HLL_ALPHA = 0.7213 / (1 + 1.079 / HLL_M);

/**
 * Distinct values seen: exact (a set of 32-bit hashes) up to 4096, then a HyperLogLog sketch of
 * 16 384 one-byte registers (about 0.8 % standard error; linear counting below 40 000). At most
 * ~100 KB, whatever the count.
 */
export class DistinctCounter {
  private exact: Set<number> | null = new Set();
  private registers: Uint8Array | null = null;

  add(value: string): void {
    const h = hash32(value);
    if (this.exact !== null) {
      this.exact.add(h);
      if (this.exact.size <= EXACT_LIMIT) return;
      this.registers = new Uint8Array(HLL_M);
      for (const x of this.exact) this.addHash(x);
      this.exact = null;
      return;
    }
    this.addHash(h);
  }

  private addHash(h: number): void {
    const r = this.registers!;
    const idx = h >>> (32 - HLL_BITS);
    const rest = (h << HLL_BITS) | (1 << (HLL_BITS - 1)); // a stop bit: rank at most 32 - HLL_BITS + 1
    const rank = Math.clz32(rest) + 1;
    if (rank > r[idx]!) r[idx] = rank;
  }

  /** Whether at least `n` distinct values were seen (n <= 4096: exact; cheap, unlike `count`). */
  atLeast(n: number): boolean {
    return this.exact === null || this.exact.size >= n;
  }

  /** Whether `count` is exact (below 4096 distinct values, hash collisions aside). */
  get exactCount(): boolean {
    return this.exact !== null;
  }

  get count(): number {
    if (this.exact !== null) return this.exact.size;
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      sum += 2 ** -r[i]!;
      if (r[i] === 0) zeros++;
    }
    const raw = (HLL_ALPHA * HLL_M * HLL_M) / sum;
    return Math.round(raw <= 2.5 * HLL_M && zeros > 0 ? HLL_M * Math.log(HLL_M / zeros) : raw);
  }
}

/** What a report says about one destination's attempts that carried no data (report model `scans`). */
export interface AttemptSummary {
  /** Destination address, or null for "every other destination" once MAX_DESTINATIONS are summarised. */
  server: string | null;
  /** Distinct destination addresses (1, except for the shared summary). */
  servers: number;
  /** Up to 16 of the ports tried, lowest first. */
  ports: number[];
  /** Distinct ports tried. */
  portCount: number;
  attempts: number;
  /** Of the attempts: never answered, refused (RST to the SYN), reset after the handshake. */
  unanswered: number;
  refused: number;
  reset: number;
  synPackets: number;
  sources: number;
  /** false: `sources` is an estimate (more than 4096 distinct sources). */
  sourcesExact: boolean;
  firstTime: number;
  lastTime: number;
  /**
   * Attempts that match a kept error log line: the line's client endpoint is the attempt's
   * source, or the attempt is a load-balancer address's SYN to the line's target in its time.
   */
  matchingErrors: number;
  /** Kept error log lines naming this destination address as their target while the attempts lasted. */
  errorsDuring: number;
  /** 'flood': many sources; 'scan': many ports; 'failing': neither (a dead target, a filter, a closed port, health checks). */
  kind: 'flood' | 'scan' | 'failing';
}

class Destination {
  attempts = 0;
  readonly outcomes = { unanswered: 0, refused: 0, reset: 0 };
  synPackets = 0;
  firstTime = Infinity;
  lastTime = -Infinity;
  matchingErrors = 0;
  readonly sources = new DistinctCounter();
  readonly servers = new DistinctCounter();
  /** One bit per port. */
  readonly ports = new Uint8Array(8192);
  portCount = 0;

  constructor(readonly server: string | null) {}

  add(c: ConnView, outcome: AttemptOutcome, matched: boolean): void {
    this.attempts++;
    this.outcomes[outcome]++;
    this.synPackets += c.synTimes.length;
    if (c.startTime < this.firstTime) this.firstTime = c.startTime;
    if (c.endTime > this.lastTime) this.lastTime = c.endTime;
    if (matched) this.matchingErrors++;
    this.sources.add(c.clientAddr);
    if (this.server === null) this.servers.add(c.serverAddr);
    const p = c.serverPort & 0xffff;
    const bit = 1 << (p & 7);
    if ((this.ports[p >> 3]! & bit) === 0) {
      this.ports[p >> 3]! |= bit;
      this.portCount++;
    }
  }

  get kind(): AttemptSummary['kind'] {
    if (this.attempts >= FLOOD_ATTEMPTS && this.sources.atLeast(FLOOD_SOURCES)) return 'flood';
    if (this.portCount >= SCAN_PORTS) return 'scan';
    return 'failing';
  }

  summary(errorsDuring: number): AttemptSummary {
    const ports: number[] = [];
    for (let byte = 0; byte < 8192 && ports.length < 16; byte++) {
      const bits = this.ports[byte]!;
      if (bits === 0) continue;
      for (let b = 0; b < 8 && ports.length < 16; b++) if (bits & (1 << b)) ports.push(byte * 8 + b);
    }
    const sources = this.sources.count;
    return {
      server: this.server,
      servers: this.server === null ? this.servers.count : 1,
      ports,
      portCount: this.portCount,
      attempts: this.attempts,
      unanswered: this.outcomes.unanswered,
      refused: this.outcomes.refused,
      reset: this.outcomes.reset,
      synPackets: this.synPackets,
      // An estimate can exceed the attempts; the attempts bound the sources.
      sources: Math.min(sources, this.attempts),
      sourcesExact: this.sources.exactCount,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      matchingErrors: this.matchingErrors,
      errorsDuring,
      kind: this.kind,
    };
  }
}

/** How an attempt relates to the kept error log lines (ErrorWindows.match). */
export const enum ErrorMatch {
  None = 0,
  /** A line names the attempt's destination as its target, and the attempt falls in its request interval. */
  TargetAndTime = 1,
  /** A line's client endpoint is the attempt's source endpoint. */
  Client = 2,
}

/** Why an attempt is worth keeping whole: it matched an error log line, came from the load balancer, or is joined to another leg. */
export interface AttemptContext {
  errorMatch: ErrorMatch;
  fromLoadBalancer: boolean;
  /** Joined to another leg of the same connection (by ISN, through a NAT hop). */
  joined?: boolean;
}

/** The bounded record of every attempt that carried no data (see the module comment). */
export class DatalessAttempts {
  private readonly byServer = new Map<string, Destination>();
  private other: Destination | null = null;
  private keptMatched = 0;
  private keptFromLb = 0;
  private keptOther = 0;
  /** Attempts counted but not kept whole. */
  summarisedOnly = 0;

  /** Counts an attempt that ended so; true when the caller should keep it whole. */
  add(c: ConnView, outcome: AttemptOutcome, ctx: AttemptContext): boolean {
    let d = this.byServer.get(c.serverAddr);
    if (d === undefined) {
      if (this.byServer.size < MAX_DESTINATIONS) this.byServer.set(c.serverAddr, (d = new Destination(c.serverAddr)));
      else d = this.other ??= new Destination(null);
    }
    // A match by target and time alone means little in a flood (every SYN is near some 5xx): it
    // counts when the load balancer sent the SYN. It is reason enough to keep the attempt whole.
    d.add(c, outcome, ctx.errorMatch === ErrorMatch.Client || (ctx.errorMatch === ErrorMatch.TargetAndTime && ctx.fromLoadBalancer));
    let keep = false;
    if ((ctx.errorMatch !== ErrorMatch.None || ctx.joined === true) && this.keptMatched < KEEP_MATCHED) keep = ++this.keptMatched > 0;
    else if (ctx.fromLoadBalancer && this.keptFromLb < KEEP_FROM_LB) keep = ++this.keptFromLb > 0;
    else if (this.keptOther < KEEP_OTHER) keep = ++this.keptOther > 0;
    if (!keep) this.summarisedOnly++;
    return keep;
  }

  /**
   * After the Correlator forgot what came before some time (live analysis): the attempts kept
   * whole then are gone, so the next ones may be kept again. The summaries stay (bounded).
   */
  renewKeepBudget(): void {
    this.keptMatched = this.keptFromLb = this.keptOther = 0;
  }

  /** Whether attempts to this address are counted in the shared summary of other destinations. */
  isSummarisedAsOther(server: string): boolean {
    return this.other !== null && !this.byServer.has(server);
  }

  /**
   * Whether a kept attempt may explain an error: not when its destination is flooded or scanned
   * and it did not come from a load-balancer address (`lb`, known once everything was read).
   */
  mayExplain(c: ConnView, lb: ReadonlySet<string>): boolean {
    if (lb.has(c.clientAddr)) return true;
    const d = this.byServer.get(c.serverAddr) ?? this.other;
    return d === null || d === undefined || d.kind === 'failing';
  }

  /**
   * One summary per destination, most attempts first; the shared one for the rest last.
   * `errorsDuring(server, from, to)` counts the error log lines naming `server` (null: any other)
   * as their target between the two times.
   */
  summaries(errorsDuring: (server: string | null, from: number, to: number) => number = () => 0): AttemptSummary[] {
    const all = [...this.byServer.values()].sort((a, b) => b.attempts - a.attempts);
    if (this.other !== null) all.push(this.other);
    return all.map((d) => d.summary(errorsDuring(d.server, d.firstTime, d.lastTime)));
  }
}

interface Windows {
  /** [from, to] pairs of the error lines naming one target, sorted by `to` when `sorted`. */
  spans: { from: number; to: number }[];
  sorted: boolean;
  /** Longest to − from seen. */
  maxSpan: number;
}

/** Scan limit per query: a flood of errors makes matching approximate, never slow. */
const MATCH_SCAN = 256;

/**
 * The kept error log lines, indexed for asking whether an attempt matches one: the line names the
 * attempt's destination as its target and the attempt starts within the line's request interval
 * (± a tolerance), or the line's client endpoint is the attempt's source endpoint.
 */
export class ErrorWindows {
  private readonly byTarget = new Map<string, Windows>();
  private readonly clients = new Set<string>();

  get size(): number {
    return this.byTarget.size + this.clients.size;
  }

  /** `target` and `client` as "addr|port" (or null when the line names none); times in capture seconds. */
  add(target: string | null, client: string | null, from: number, to: number): void {
    if (client !== null) this.clients.add(client);
    if (target === null) return;
    let w = this.byTarget.get(target);
    if (w === undefined) this.byTarget.set(target, (w = { spans: [], sorted: true, maxSpan: 0 }));
    w.spans.push({ from, to });
    w.sorted = false;
    if (to - from > w.maxSpan) w.maxSpan = to - from;
  }

  match(target: string, client: string, start: number, tol: number): ErrorMatch {
    if (this.clients.has(client)) return ErrorMatch.Client;
    const w = this.byTarget.get(target);
    if (w === undefined) return ErrorMatch.None;
    if (!w.sorted) {
      w.spans.sort((a, b) => a.to - b.to);
      w.sorted = true;
    }
    const s = w.spans;
    // First span with to >= start - tol.
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]!.to < start - tol) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo, n = 0; i < s.length && n < MATCH_SCAN; i++, n++) {
      const x = s[i]!;
      if (x.to - w.maxSpan > start + tol) break;
      if (x.from - tol <= start) return ErrorMatch.TargetAndTime;
    }
    return ErrorMatch.None;
  }
}
