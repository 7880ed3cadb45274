/**
 * A connection's IPv6 address pair kept as eight 32-bit words (client 0..3, server 4..7): what the
 * flow table and the survey store per IPv6 connection instead of two strings, and the text made
 * from it on demand. Made once per connection, never per packet.
 */

import { ipv6ToString } from '../wire/ipv6.js';
import type { TcpSegment } from './segment.js';

/** Client words 0..3, server words 4..7, big-endian as on the wire (written into `into` when given). */
export function addrPair6(seg: TcpSegment, clientIsSrc: boolean, into: Int32Array | null = null): Int32Array {
  const a = into ?? new Int32Array(8);
  const d = seg.addrData;
  const co = clientIsSrc ? seg.srcOffset : seg.dstOffset;
  const so = clientIsSrc ? seg.dstOffset : seg.srcOffset;
  for (let i = 0; i < 4; i++) {
    a[i] = (d[co + i * 4]! << 24) | (d[co + i * 4 + 1]! << 16) | (d[co + i * 4 + 2]! << 8) | d[co + i * 4 + 3]!;
    a[4 + i] = (d[so + i * 4]! << 24) | (d[so + i * 4 + 1]! << 16) | (d[so + i * 4 + 2]! << 8) | d[so + i * 4 + 3]!;
  }
  return a;
}

/** The address at word `w` (0: client, 4: server) as text. */
export function addr6Text(a: Int32Array, w: number): string {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 4; i++) v.setInt32(i * 4, a[w + i]!);
  return ipv6ToString(b, 0);
}
