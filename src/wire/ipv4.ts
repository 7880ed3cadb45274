/**
 * IPv4 header (RFC 791 §3.1, https://www.rfc-editor.org/rfc/rfc791#section-3.1):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Flags: bit 0 reserved ("evil bit"), DF, MF. Total Length 0 is accepted as "TSO/GSO, length from
 * the capture" (as Wireshark does). A Total Length beyond the captured bytes is *not* an error:
 * Traffic Mirroring's PacketLength and snaplen truncate packets; `truncated` says so and the payload
 * is what was captured. Bytes after Total Length (Ethernet padding) are not payload.
 */
import { Status } from './status.js';
import { finish, sumBytes } from './checksum.js';

export const IPV4_OFFSETS = {
  versionIhl: 0,
  tos: 1,
  totalLength: 2,
  id: 4,
  flagsFragment: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  src: 12,
  dst: 16,
  options: 20,
  minHeaderLength: 20,
} as const;

export const IpProtocol = {
  HopByHop: 0,
  Icmpv4: 1,
  Igmp: 2,
  IpInIp: 4,
  Tcp: 6,
  Udp: 17,
  Ipv6: 41,
  Routing: 43,
  Fragment: 44,
  Gre: 47,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  NoNext: 59,
  DestOptions: 60,
  Sctp: 132,
  Mobility: 135,
  Hip: 139,
  Shim6: 140,
} as const;

export class Ipv4View {
  /** Offset of the header in the buffer. */
  offset = 0;
  headerLength = 0;
  /** Total Length as in the header (0 for TSO packets). */
  totalLength = 0;
  tos = 0;
  id = 0;
  ttl = 0;
  protocol = 0;
  checksum = 0;
  /** Source address as an unsigned 32-bit number (ipv4ToString to print). */
  src = 0;
  dst = 0;
  reservedFlag = false;
  dontFragment = false;
  moreFragments = false;
  /** Fragment offset in bytes. */
  fragmentOffset = 0;
  /** MF set or a non-zero fragment offset. */
  isFragment = false;
  /** Total Length exceeds the captured bytes: the payload was cut (snaplen / mirror PacketLength). */
  truncated = false;
  /** Total Length was 0 and the captured length was used (TSO/GSO capture). */
  tsoLength = false;
  /** Options are present but their TLV structure is broken (decoding goes on). */
  optionsMalformed = false;
  optionCount = 0;
  /** Offset and length of the upper-layer payload within the captured bytes (clamped to them). */
  upperOffset = 0;
  upperLength = 0;
  /** Upper-layer length according to the header (what the sender sent). */
  declaredUpperLength = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    this.truncated = false;
    this.tsoLength = false;
    this.optionsMalformed = false;
    this.optionCount = 0;
    this.upperOffset = off;
    this.upperLength = 0;
    if (len < 20) return Status.Truncated;
    const vi = b[off]!;
    if (vi >>> 4 !== 4) return Status.Malformed;
    const hl = (vi & 0x0f) * 4;
    this.headerLength = hl;
    if (hl < 20) return Status.Malformed;
    if (len < hl) return Status.Truncated;
    this.tos = b[off + 1]!;
    const total = (b[off + 2]! << 8) | b[off + 3]!;
    this.totalLength = total;
    this.id = (b[off + 4]! << 8) | b[off + 5]!;
    const ff = (b[off + 6]! << 8) | b[off + 7]!;
    this.reservedFlag = (ff & 0x8000) !== 0;
    this.dontFragment = (ff & 0x4000) !== 0;
    this.moreFragments = (ff & 0x2000) !== 0;
    this.fragmentOffset = (ff & 0x1fff) * 8;
    this.isFragment = this.moreFragments || this.fragmentOffset !== 0;
    this.ttl = b[off + 8]!;
    this.protocol = b[off + 9]!;
    this.checksum = (b[off + 10]! << 8) | b[off + 11]!;
    this.src = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
    this.dst = ((b[off + 16]! << 24) | (b[off + 17]! << 16) | (b[off + 18]! << 8) | b[off + 19]!) >>> 0;
    let end: number;
    if (total === 0) {
      this.tsoLength = true;
      end = len;
    } else {
      if (total < hl) return Status.Malformed;
      if (total > len) {
        this.truncated = true;
        end = len;
      } else end = total;
    }
    this.upperOffset = off + hl;
    this.upperLength = end - hl;
    this.declaredUpperLength = total === 0 ? end - hl : total - hl;
    if (hl > 20) this.walkOptions(b, off + 20, off + hl);
    return Status.Ok;
  }

  private walkOptions(b: Uint8Array, p: number, end: number): void {
    let n = 0;
    while (p < end) {
      const kind = b[p]!;
      if (kind === 0) break; // End of Option List
      n++;
      if (kind === 1) {
        p++;
        continue;
      }
      if (p + 1 >= end) {
        this.optionsMalformed = true;
        break;
      }
      const l = b[p + 1]!;
      if (l < 2 || p + l > end) {
        this.optionsMalformed = true;
        break;
      }
      p += l;
    }
    this.optionCount = n;
  }

  /** Header checksum valid? (Needs the whole header, which check() guarantees.) */
  checksumOk(b: Uint8Array): boolean {
    return finish(sumBytes(b, this.offset, this.headerLength, 0)) === 0;
  }

  /** Copies every field from another view (used to keep the outer tunnel header). */
  copyFrom(o: Ipv4View): void {
    this.offset = o.offset;
    this.headerLength = o.headerLength;
    this.totalLength = o.totalLength;
    this.tos = o.tos;
    this.id = o.id;
    this.ttl = o.ttl;
    this.protocol = o.protocol;
    this.checksum = o.checksum;
    this.src = o.src;
    this.dst = o.dst;
    this.reservedFlag = o.reservedFlag;
    this.dontFragment = o.dontFragment;
    this.moreFragments = o.moreFragments;
    this.fragmentOffset = o.fragmentOffset;
    this.isFragment = o.isFragment;
    this.truncated = o.truncated;
    this.tsoLength = o.tsoLength;
    this.optionsMalformed = o.optionsMalformed;
    this.optionCount = o.optionCount;
    this.upperOffset = o.upperOffset;
    this.upperLength = o.upperLength;
    this.declaredUpperLength = o.declaredUpperLength;
  }
}

/** Dotted quad of an unsigned 32-bit address (allocates a string). */
export function ipv4ToString(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Parses a dotted quad into an unsigned 32-bit number, or -1 when it is not one. */
export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return -1;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const v = Number(m[i]);
    if (v > 255) return -1;
    n = n * 256 + v;
  }
  return n;
}
