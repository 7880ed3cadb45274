/**
 * The leg index: every connection seen, compact, looked up by what joins the legs of one TCP
 * connection across a NAT hop (path.ts): the client's initial sequence number, and the first
 * payload segment's fingerprint in each direction for connections picked up mid-stream.
 *
 * Capped (the oldest legs are forgotten first) and prunable by time, so memory is bounded by the
 * cap and, live, by the retention window. Open connections (live analysis) are indexed as soon as
 * their SYN is seen and replaced by their final view when they end.
 */
import { EvictionQueue } from './eviction.js';
import type { LegJoin } from './path.js';
import type { LegView, PayloadPrint } from './views.js';

/** SYNs of two legs of one connection are seen within this many seconds of each other. */
export const ISN_WINDOW_SECONDS = 2;
/** The same first segment is seen on both sides of a hop within this many seconds. */
export const PRINT_WINDOW_SECONDS = 1;
/**
 * Legs that may share one client ISN (or first-segment fingerprint) and still be joined by it:
 * the legs of one connection through its hops, and a few retries. A value shared by more is no
 * key: a SYN flood or scan tool sending one fixed sequence number to thousands of addresses would
 * otherwise join them all, and every lookup would walk them all (quadratic time).
 */
export const MAX_KEY_SHARERS = 8;

/** Legs indexed by default before the oldest are forgotten. */
export const DEFAULT_MAX_LEGS = 200_000;

/**
 * Where solo legs (LegIndex.addSolo) between one client and one server ip:port were seen: the
 * earliest start and latest end, which is all the correlation reads of them (role coverage).
 */
export interface SoloSpan {
  readonly clientAddr: string;
  readonly serverAddr: string;
  readonly serverPort: number;
  startTime: number;
  endTime: number;
}

/** A NAT peer of a leg: the same TCP connection seen on the other side of an address-rewriting hop. */
export interface NatPeer {
  leg: LegView;
  join: LegJoin;
}

function synTime(l: LegView): number {
  return l.startTime;
}

function printsMatch(a: PayloadPrint | null, b: PayloadPrint | null): boolean {
  return a !== null && b !== null && a.fingerprint === b.fingerprint && a.seq === b.seq && a.ack === b.ack && a.length === b.length && Math.abs(a.time - b.time) <= PRINT_WINDOW_SECONDS;
}

function sameEndpoints(a: LegView, b: LegView): boolean {
  return a.clientAddr === b.clientAddr && a.clientPort === b.clientPort && a.serverAddr === b.serverAddr && a.serverPort === b.serverPort;
}

export class LegIndex {
  /** Every leg by uid, in order of last update (oldest first), for capping and pruning. */
  private readonly byUid = new Map<string, LegView>();
  /** The same order, for evicting the oldest at the cap without iterating `byUid` (eviction.ts). */
  private readonly order = new EvictionQueue<LegView>();
  /** uids by client ISN, and by first-payload fingerprint (either direction). */
  private readonly byIsn = new Map<number, string[]>();
  private readonly byPrint = new Map<number, string[]>();
  /** Keys seen on more than MAX_KEY_SHARERS legs: joined by no more (kept, so a key stays retired). */
  private readonly sharedIsn = new Set<number>();
  private readonly sharedPrint = new Set<number>();

  /**
   * Solo legs: legs no other leg can ever be joined to or from (no first-payload prints, and no
   * other connection of the capture has their client ISN with a SYN within ISN_WINDOW_SECONDS:
   * the batch analysis knows this from its survey). They are held as time spans per client and
   * server ip:port, not one by one: memory that does not grow with the connections. The last one
   * added stays whole until the next leg comes (the Correlator looks it up, and may drop it, while
   * adding its connection).
   */
  private pendingSolo: LegView | null = null;
  /** Whether the pending solo leg's uid is in byIsn (see addSolo). */
  private pendingCounted = false;
  /** By client address, server address, server port (nested: no key made per leg). */
  private readonly soloSpans = new Map<string, Map<string, Map<number, SoloSpan>>>();
  private soloCount = 0;

  constructor(readonly maxLegs = DEFAULT_MAX_LEGS) {}

  /** Legs indexed (solo legs included). */
  get size(): number {
    return this.byUid.size + this.soloCount + (this.pendingSolo !== null ? 1 : 0);
  }

  get(uid: string): LegView | undefined {
    return this.byUid.get(uid) ?? (this.pendingSolo !== null && this.pendingSolo.uid === uid ? this.pendingSolo : undefined);
  }

  /**
   * Adds a solo leg (see pendingSolo), replacing the index's entry for its uid (its open leg).
   * `counted`: other legs share its client ISN (further apart in time than a join allows), so it
   * still counts among the key's sharers (MAX_KEY_SHARERS), as add() would count it. Callers use
   * it only while the legs stay under the cap: solo legs are never evicted.
   */
  addSolo(l: LegView, counted: boolean): void {
    this.flushSolo();
    const old = this.byUid.get(l.uid);
    if (old) {
      this.remove(old);
      this.order.noteStale(this.current);
    }
    if (counted && l.clientIsn !== null) push(this.byIsn, this.sharedIsn, l.clientIsn, l.uid);
    this.pendingSolo = l;
    this.pendingCounted = counted;
  }

  private flushSolo(): void {
    const l = this.pendingSolo;
    if (l === null) return;
    this.pendingSolo = null;
    this.soloCount++;
    let byServer = this.soloSpans.get(l.clientAddr);
    if (byServer === undefined) this.soloSpans.set(l.clientAddr, (byServer = new Map()));
    let byPort = byServer.get(l.serverAddr);
    if (byPort === undefined) byServer.set(l.serverAddr, (byPort = new Map()));
    const s = byPort.get(l.serverPort);
    if (s === undefined) byPort.set(l.serverPort, { clientAddr: l.clientAddr, serverAddr: l.serverAddr, serverPort: l.serverPort, startTime: l.startTime, endTime: l.endTime });
    else {
      if (l.startTime < s.startTime) s.startTime = l.startTime;
      if (l.endTime > s.endTime) s.endTime = l.endTime;
    }
  }

  /** The solo legs' spans (see SoloSpan). */
  *solos(): IterableIterator<SoloSpan> {
    this.flushSolo();
    for (const byServer of this.soloSpans.values()) for (const byPort of byServer.values()) yield* byPort.values();
  }

  /** Whether `x` is the index's leg for its uid (not replaced or removed since it was added). */
  private readonly current = (x: LegView): boolean => this.byUid.get(x.uid) === x;

  /** Adds or replaces a leg (a connection that started or ended). */
  add(l: LegView): void {
    const old = this.byUid.get(l.uid);
    if (old) this.remove(old);
    this.byUid.set(l.uid, l);
    this.order.push(l);
    if (old) this.order.noteStale(this.current);
    if (l.clientIsn !== null) push(this.byIsn, this.sharedIsn, l.clientIsn, l.uid);
    if (l.clientFirstPayload) push(this.byPrint, this.sharedPrint, l.clientFirstPayload.fingerprint, l.uid);
    if (l.serverFirstPayload) push(this.byPrint, this.sharedPrint, l.serverFirstPayload.fingerprint, l.uid);
    if (this.byUid.size > this.maxLegs) {
      const oldest = this.order.oldest(this.current);
      if (oldest !== undefined) {
        this.order.dropOldest();
        this.remove(oldest);
      }
    }
  }

  /** Forgets one leg (an attempt of a flood, only counted). */
  delete(uid: string): void {
    const p = this.pendingSolo;
    if (p !== null && p.uid === uid) {
      if (this.pendingCounted && p.clientIsn !== null) pull(this.byIsn, p.clientIsn, uid);
      this.pendingSolo = null;
      return;
    }
    const l = this.byUid.get(uid);
    if (l) {
      this.remove(l);
      this.order.noteStale(this.current);
    }
  }

  private remove(l: LegView): void {
    this.byUid.delete(l.uid);
    if (l.clientIsn !== null) pull(this.byIsn, l.clientIsn, l.uid);
    if (l.clientFirstPayload) pull(this.byPrint, l.clientFirstPayload.fingerprint, l.uid);
    if (l.serverFirstPayload) pull(this.byPrint, l.serverFirstPayload.fingerprint, l.uid);
  }

  /** Forgets legs that ended before `time` (live analysis). */
  prune(time: number): void {
    // (Deleting from a Map while iterating it is safe.)
    for (const l of this.byUid.values()) {
      if (!l.open && l.endTime < time) {
        this.remove(l);
        this.order.noteStale(this.current);
      }
    }
    this.flushSolo();
    for (const byServer of this.soloSpans.values()) for (const byPort of byServer.values()) for (const [k, sp] of byPort) if (sp.endTime < time) byPort.delete(k);
    // Retired keys are learned again if still shared (a flood that goes on re-retires its ISN).
    this.sharedIsn.clear();
    this.sharedPrint.clear();
  }

  /** The legs held one by one (not the solo legs: solos()). */
  values(): IterableIterator<LegView> {
    return this.byUid.values();
  }

  /**
   * The other legs of the same TCP connection: same client ISN with SYNs within 2 s (and the
   * same server ISN when both legs saw the SYN-ACK), or the same first segment in either
   * direction within 1 s. A leg with the very same endpoints is the same leg seen twice, not a
   * peer.
   */
  natPeers(l: LegView): NatPeer[] {
    const out: NatPeer[] = [];
    // (Asked of most connections, which have no peer: nothing more is made until a candidate.)
    let seen = null as Set<string> | null;
    if (l.clientIsn !== null) {
      const uids = this.byIsn.get(l.clientIsn);
      for (let i = 0; uids !== undefined && i < uids.length; i++) {
        const uid = uids[i]!;
        const o = this.byUid.get(uid);
        if (!o || uid === l.uid || seen?.has(uid) === true || sameEndpoints(o, l)) continue;
        if (Math.abs(synTime(o) - synTime(l)) > ISN_WINDOW_SECONDS) continue;
        if (o.serverIsn !== null && l.serverIsn !== null && o.serverIsn !== l.serverIsn) continue;
        (seen ??= new Set()).add(uid);
        const both = o.serverIsn !== null && l.serverIsn !== null;
        out.push({
          leg: o,
          join: {
            key: 'tcp-isn',
            confidence: 'high',
            detail: both ? `client ISN ${l.clientIsn} and server ISN ${l.serverIsn} on both sides` : `client ISN ${l.clientIsn} on both sides (SYN-ACK not seen on one)`,
          },
        });
      }
    }
    for (let side = 0; side < 2; side++) {
      const p = side === 0 ? l.clientFirstPayload : l.serverFirstPayload;
      if (!p) continue;
      const uids = this.byPrint.get(p.fingerprint);
      for (let i = 0; uids !== undefined && i < uids.length; i++) {
        const uid = uids[i]!;
        const o = this.byUid.get(uid);
        if (!o || uid === l.uid || seen?.has(uid) === true || sameEndpoints(o, l)) continue;
        const fromClient = printsMatch(p, o.clientFirstPayload) || printsMatch(p, o.serverFirstPayload);
        if (!fromClient) continue;
        (seen ??= new Set()).add(uid);
        out.push({
          leg: o,
          join: { key: 'tcp-first-payload', confidence: 'high', detail: `the same first segment (seq ${p.seq}, ack ${p.ack}, ${p.length} bytes) on both sides` },
        });
      }
    }
    return out;
  }
}

/**
 * Of two legs of one connection, the one nearer the load balancer: the one whose SYN (or first
 * segment) was seen first; on a tie, the one whose client is the other's client (client IP
 * preservation keeps it) and whose server is not the other's client (source NAT to the hop's own
 * address puts the hop's address on the far leg's client side).
 */
export function upstreamOf(a: LegView, b: LegView): LegView {
  if (b.clientAddr === a.serverAddr && a.clientAddr !== b.serverAddr) return a;
  if (a.clientAddr === b.serverAddr && b.clientAddr !== a.serverAddr) return b;
  return a.startTime <= b.startTime ? a : b;
}

function push(m: Map<number, string[]>, shared: Set<number>, k: number, uid: string): void {
  if (shared.has(k)) return;
  const list = m.get(k);
  if (!list) m.set(k, [uid]);
  else if (list.length < MAX_KEY_SHARERS) list.push(uid);
  else {
    // No key any more: its legs are joined by it no more (see MAX_KEY_SHARERS).
    shared.add(k);
    m.delete(k);
  }
}

function pull(m: Map<number, string[]>, k: number, uid: string): void {
  const list = m.get(k);
  if (!list) return;
  const i = list.indexOf(uid);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) m.delete(k);
}
