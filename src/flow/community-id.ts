/**
 * Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec).
 *
 *   sha1( seed:u16be | srcIP | dstIP | proto:u8 | 0:u8 | srcPort:u16be | dstPort:u16be )
 *
 * with the endpoints ordered so that (srcIP, srcPort) is the smaller pair (IPs compared as
 * unsigned byte strings, ports numerically when the IPs are equal); the result is "1:" followed by
 * the base64 of the 20-byte digest. Computed once per connection (not per packet).
 */
import { createHash } from 'node:crypto';

export const IPPROTO_TCP = 6;

/**
 * @param a first endpoint's address bytes (4 or 16)
 * @param b second endpoint's address bytes (same length as `a`)
 */
export function communityId(a: Uint8Array, aPort: number, b: Uint8Array, bPort: number, proto = IPPROTO_TCP, seed = 0): string {
  let cmp = 0;
  for (let i = 0; i < a.length && cmp === 0; i++) cmp = a[i]! - b[i]!;
  const swap = cmp > 0 || (cmp === 0 && aPort > bPort);
  const [x, xp, y, yp] = swap ? [b, bPort, a, aPort] : [a, aPort, b, bPort];
  const buf = new Uint8Array(2 + x.length * 2 + 2 + 4);
  let o = 0;
  buf[o++] = (seed >>> 8) & 0xff;
  buf[o++] = seed & 0xff;
  buf.set(x, o);
  o += x.length;
  buf.set(y, o);
  o += y.length;
  buf[o++] = proto;
  buf[o++] = 0;
  buf[o++] = xp >>> 8;
  buf[o++] = xp & 0xff;
  buf[o++] = yp >>> 8;
  buf[o++] = yp & 0xff;
  return `1:${createHash('sha1').update(buf).digest('base64')}`;
}

/** IPv4 address (unsigned 32-bit number) as 4 bytes. */
export function ipv4Bytes(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}
