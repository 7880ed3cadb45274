/**
 * Oldest-first eviction for a Map used as a bounded cache, without iterating the Map.
 *
 * A V8 Map keeps deleted entries in its table until the table is rebuilt, and an iterator walks
 * over them: evicting the oldest entry with `map.keys().next()` (or a `for...of` that deletes
 * from the front) costs a walk over every entry deleted since the last rebuild. For a cache that
 * evicts on every insert that is quadratic: a million connections through a 200 000-leg index
 * took 268 s for the evictions alone. This queue remembers insertion order in an array instead;
 * entries replaced or removed in the Map are skipped when they come up (`current`), and dropped
 * in one sweep once they are a quarter of the queue (`noteStale`): a cache under its cap evicts
 * nothing, and every replaced entry (a leg's open view, replaced by its final one) was otherwise
 * held until the end.
 */
export class EvictionQueue<T> {
  private items: T[] = [];
  private head = 0;
  /** Entries made stale (replaced or removed in the Map) since the last sweep. */
  private stale = 0;

  push(x: T): void {
    this.items.push(x);
  }

  /** The oldest entry for which `current` holds (skipping and dropping stale ones); undefined when none. */
  oldest(current: (x: T) => boolean): T | undefined {
    while (this.head < this.items.length) {
      const x = this.items[this.head]!;
      if (current(x)) return x;
      this.head++;
    }
    this.compact();
    return undefined;
  }

  /** Drops the entry `oldest` returned. */
  dropOldest(): void {
    this.head++;
    this.compact();
  }

  /**
   * An entry pushed before was replaced or removed in the Map. When stale entries are a quarter
   * of the queue (and more than a few thousand), the queue keeps only those for which `current`
   * holds, in their order: amortised constant time per entry.
   */
  noteStale(current: (x: T) => boolean): void {
    if (++this.stale <= 4096 || this.stale * 4 < this.items.length - this.head) return;
    this.items = this.items.slice(this.head).filter(current);
    this.head = 0;
    this.stale = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.stale = 0;
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
