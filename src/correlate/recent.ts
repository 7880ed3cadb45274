/**
 * The connections that ended recently and were not kept (Correlator): held a while, so that a NAT
 * peer kept later can bring them along, and so that a case can cite them. Oldest first.
 *
 * `MapRecent` holds the views themselves. A caller that can make a connection's view again when
 * asked (the targeted analysis, from its survey rows) gives the Correlator its own, which holds
 * numbers instead: every view held here for the whole window outlives V8's young generation, so
 * each connection otherwise left a view, its uid and a map entry as old-generation garbage (4.5 MB
 * over the 21 000 connections of the 10x bench capture, collected only at the next full GC).
 */
import { EvictionQueue } from './eviction.js';
import type { ConnView } from './views.js';

export interface RecentConns {
  /** Connections held. */
  readonly size: number;
  get(uid: string): ConnView | undefined;
  /** Adds `c` as the newest (an entry with its uid is replaced). */
  add(c: ConnView): void;
  delete(uid: string): void;
  /** Drops the oldest while more than `max` are held or the oldest ended before `before`. */
  evict(before: number, max: number): void;
  /** Drops every one that ended before `time`. */
  dropEndedBefore(time: number): void;
}

export class MapRecent implements RecentConns {
  private readonly byUid = new Map<string, ConnView>();
  /** The same order, for evicting the oldest without iterating `byUid` (eviction.ts). */
  private readonly order = new EvictionQueue<ConnView>();
  private readonly current = (x: ConnView): boolean => this.byUid.get(x.uid) === x;

  get size(): number {
    return this.byUid.size;
  }

  get(uid: string): ConnView | undefined {
    return this.byUid.get(uid);
  }

  add(c: ConnView): void {
    this.byUid.set(c.uid, c);
    this.order.push(c);
  }

  delete(uid: string): void {
    this.byUid.delete(uid);
  }

  evict(before: number, max: number): void {
    for (;;) {
      const r = this.order.oldest(this.current);
      if (r === undefined || (this.byUid.size <= max && r.endTime >= before)) return;
      this.order.dropOldest();
      this.byUid.delete(r.uid);
    }
  }

  dropEndedBefore(time: number): void {
    for (const [uid, c] of this.byUid) if (c.endTime < time) this.byUid.delete(uid);
  }
}
