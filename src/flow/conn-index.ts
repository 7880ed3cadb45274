/**
 * Finding a packet's connection: the hashes its numeric key is made of (FlowTable.ingestSegment
 * adds the two ends' hashes, so both directions give the same key; no key string per packet), and
 * the index of tracked connections by key.
 */
import type { Connection } from './connection.js';
import type { TcpSegment } from './segment.js';

/** One step of a 32-bit multiplicative hash (also used for the duplicate fingerprints). */
export function mix32(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x5bd1e995);
  return (h ^ (h >>> 15)) | 0;
}

/** Hash of a segment's source (`src`) or destination address. */
export function addrHash(seg: TcpSegment, src: boolean): number {
  if (seg.ipVersion === 4) return mix32(0x1234567, src ? seg.src4 : seg.dst4);
  const d = seg.addrData;
  let o = src ? seg.srcOffset : seg.dstOffset;
  let h = 0x7654321;
  for (let i = 0; i < 4; i++, o += 4) h = mix32(h, (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!);
  return h;
}

/** Hash of a capture point name (FlowOptions.perCapturePoint). */
export function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Tracked connections by key hash: an array of chain heads whose size is a power of two and at
 * least the number of connections, chained through `Connection.bucketNext`. (A Map<number,
 * Connection> cost about 68 bytes per connection; this costs 8 to 16.)
 */
export class ConnIndex {
  private heads: (Connection | null)[] = new Array<Connection | null>(1024).fill(null);
  private count = 0;

  /** The first connection of the chain `key` falls in (the chain also holds other keys). */
  chain(key: number): Connection | null {
    return this.heads[key & (this.heads.length - 1)]!;
  }

  add(conn: Connection): void {
    if (++this.count > this.heads.length) this.grow();
    this.push(this.heads, conn);
  }

  remove(conn: Connection): void {
    const i = conn.keyHash & (this.heads.length - 1);
    let prev: Connection | null = this.heads[i]!;
    if (prev === conn) {
      this.heads[i] = conn.bucketNext;
    } else {
      while (prev !== null && prev.bucketNext !== conn) prev = prev.bucketNext;
      if (prev === null) return;
      prev.bucketNext = conn.bucketNext;
    }
    conn.bucketNext = null;
    this.count--;
  }

  private push(heads: (Connection | null)[], conn: Connection): void {
    const i = conn.keyHash & (heads.length - 1);
    conn.bucketNext = heads[i]!;
    heads[i] = conn;
  }

  private grow(): void {
    const old = this.heads;
    const heads = new Array<Connection | null>(old.length * 2).fill(null);
    for (let head of old) {
      while (head !== null) {
        const next = head.bucketNext;
        this.push(heads, head);
        head = next;
      }
    }
    this.heads = heads;
  }
}
