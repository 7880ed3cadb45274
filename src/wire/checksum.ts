/**
 * The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words. Used only
 * when checksum validation is asked for (Traffic Mirroring truncation and checksum offload leave
 * most captured checksums wrong, so the decoder does not validate by default).
 */

/** Adds bytes [off, off+len) to a running 32-bit partial sum (not folded). */
export function sumBytes(b: Uint8Array, off: number, len: number, sum: number): number {
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  // Keep the partial sum well below 2^53 and in 32 bits for speed.
  return (sum & 0xffff) + Math.floor(sum / 0x10000);
}

/** Folds a partial sum to 16 bits and complements it: 0 means the data (with its checksum) is valid. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Partial sum of the IPv4 pseudo header (RFC 793 §3.1). */
export function pseudoSum4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + (length >>> 16) + (length & 0xffff);
}

/** Partial sum of the IPv6 pseudo header (RFC 8200 §8.1): addresses read from the packet. */
export function pseudoSum6(b: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, length: number): number {
  let s = sumBytes(b, srcOff, 16, 0);
  s = sumBytes(b, dstOff, 16, s);
  return s + nextHeader + (length >>> 16) + (length & 0xffff);
}
