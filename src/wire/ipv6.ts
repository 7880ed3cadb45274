/**
 * IPv6 header (RFC 8200 §3, https://www.rfc-editor.org/rfc/rfc8200#section-3):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Source Address (128 bits)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Destination Address (128 bits)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Extension headers are walked (Hop-by-Hop 0, Routing 43, Fragment 44, Destination Options 60,
 * AH 51, Mobility 135, HIP 139, Shim6 140); `nextHeader` is the protocol after the last one. ESP
 * (50) ends the walk: what follows is encrypted. Generic extension header:
 * ```
 * | Next Header (8) | Hdr Ext Len (8, in 8-octet units, not counting the first 8) | data ... |
 * ```
 * AH counts its length in 4-octet units minus 2 (RFC 4302). Fragment header (8 bytes):
 * ```
 * | Next Header | Reserved | Fragment Offset (13) | Res (2) | M | Identification (32) |
 * ```
 * Payload Length 0 is a jumbogram (RFC 2675, Hop-by-Hop option 0xC2) or a TSO/GSO capture:
 * the captured length is used.
 */
import { Status } from './status.js';
import { IpProtocol } from './ipv4.js';

export const IPV6_OFFSETS = {
  versionClassFlow: 0,
  payloadLength: 4,
  nextHeader: 6,
  hopLimit: 7,
  src: 8,
  dst: 24,
  headerLength: 40,
} as const;

/** At most this many extension headers are walked; more is treated as malformed. */
export const MAX_IPV6_EXT_HEADERS = 16;

export class Ipv6View {
  offset = 0;
  trafficClass = 0;
  flowLabel = 0;
  /** Payload Length field (bytes after the fixed 40-byte header, extension headers included). */
  payloadLength = 0;
  hopLimit = 0;
  /** Next Header field of the fixed header. */
  firstNextHeader = 0;
  /** The protocol after the last extension header walked (6 TCP, 17 UDP, 58 ICMPv6, 59 none, 50 ESP...). */
  nextHeader = 0;
  /** Absolute offsets of the 16-byte addresses. */
  srcOffset = 0;
  dstOffset = 0;
  /** Fixed header + extension headers. */
  headerLength = 40;
  extHeaderCount = 0;
  readonly extHeaderTypes = new Uint8Array(MAX_IPV6_EXT_HEADERS);
  /** A Fragment extension header was seen. */
  isFragment = false;
  fragmentOffset = 0;
  moreFragments = false;
  fragmentId = 0;
  /** Payload Length 0: jumbogram or TSO capture; lengths come from the capture (or the Jumbo option). */
  jumbo = false;
  /** Declared length exceeds the captured bytes. */
  truncated = false;
  upperOffset = 0;
  upperLength = 0;
  declaredUpperLength = 0;
  /** End offset (relative to the header) from a Jumbo Payload option; 0 when none. */
  private jumboEnd = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    this.extHeaderCount = 0;
    this.isFragment = false;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.fragmentId = 0;
    this.jumbo = false;
    this.jumboEnd = 0;
    this.truncated = false;
    this.headerLength = 40;
    this.upperOffset = off;
    this.upperLength = 0;
    this.srcOffset = off + 8;
    this.dstOffset = off + 24;
    if (len < 40) return Status.Truncated;
    const b0 = b[off]!;
    if (b0 >>> 4 !== 6) return Status.Malformed;
    this.trafficClass = ((b0 & 0x0f) << 4) | (b[off + 1]! >>> 4);
    this.flowLabel = ((b[off + 1]! & 0x0f) << 16) | (b[off + 2]! << 8) | b[off + 3]!;
    const pl = (b[off + 4]! << 8) | b[off + 5]!;
    this.payloadLength = pl;
    this.firstNextHeader = b[off + 6]!;
    this.hopLimit = b[off + 7]!;
    let declaredEnd: number; // relative to off
    if (pl === 0) {
      this.jumbo = true;
      declaredEnd = len;
    } else declaredEnd = 40 + pl;
    const end = declaredEnd > len ? len : declaredEnd;
    if (declaredEnd > len) this.truncated = true;

    let nh = this.firstNextHeader;
    let p = 40;
    for (;;) {
      let extLen: number;
      if (nh === IpProtocol.HopByHop || nh === IpProtocol.Routing || nh === IpProtocol.DestOptions || nh === IpProtocol.Mobility || nh === IpProtocol.Hip || nh === IpProtocol.Shim6) {
        if (p + 2 > end) return this.extEnds(p, end, declaredEnd);
        extLen = (b[off + p + 1]! + 1) * 8;
        if (nh === IpProtocol.HopByHop && this.jumbo && p + extLen <= end) this.findJumbo(b, off + p + 2, off + p + extLen);
      } else if (nh === IpProtocol.Fragment) {
        extLen = 8;
        if (p + 8 > end) return this.extEnds(p, end, declaredEnd);
        const fo = (b[off + p + 2]! << 8) | b[off + p + 3]!;
        this.isFragment = true;
        this.fragmentOffset = fo & 0xfff8;
        this.moreFragments = (fo & 1) !== 0;
        this.fragmentId = ((b[off + p + 4]! << 24) | (b[off + p + 5]! << 16) | (b[off + p + 6]! << 8) | b[off + p + 7]!) >>> 0;
      } else if (nh === IpProtocol.Ah) {
        if (p + 2 > end) return this.extEnds(p, end, declaredEnd);
        extLen = (b[off + p + 1]! + 2) * 4;
      } else break;
      if (this.extHeaderCount >= MAX_IPV6_EXT_HEADERS) return Status.Malformed;
      if (p + extLen > end) return this.extEnds(p + extLen, end, declaredEnd);
      this.extHeaderTypes[this.extHeaderCount++] = nh;
      nh = b[off + p]!;
      p += extLen;
    }
    this.nextHeader = nh;
    this.headerLength = p;
    this.upperOffset = off + p;
    this.upperLength = end - p;
    this.declaredUpperLength = (this.jumboEnd > 0 ? this.jumboEnd : declaredEnd) - p;
    if (this.declaredUpperLength < 0) this.declaredUpperLength = 0;
    return Status.Ok;
  }

  /** An extension header does not fit: cut by the capture (Truncated) or by the declared length (Malformed). */
  private extEnds(need: number, end: number, declaredEnd: number): Status {
    return need > declaredEnd && end === declaredEnd ? Status.Malformed : Status.Truncated;
  }

  private findJumbo(b: Uint8Array, p: number, end: number): void {
    while (p < end) {
      const t = b[p]!;
      if (t === 0) {
        p++;
        continue;
      }
      if (p + 1 >= end) return;
      const l = b[p + 1]!;
      if (t === 0xc2 && l === 4 && p + 6 <= end) {
        // Jumbo Payload Length counts everything after the fixed header; +40 makes it an end offset.
        this.jumboEnd = (((b[p + 2]! << 24) | (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!) >>> 0) + 40;
        return;
      }
      p += 2 + l;
    }
  }

  copyFrom(o: Ipv6View): void {
    this.offset = o.offset;
    this.trafficClass = o.trafficClass;
    this.flowLabel = o.flowLabel;
    this.payloadLength = o.payloadLength;
    this.hopLimit = o.hopLimit;
    this.firstNextHeader = o.firstNextHeader;
    this.nextHeader = o.nextHeader;
    this.srcOffset = o.srcOffset;
    this.dstOffset = o.dstOffset;
    this.headerLength = o.headerLength;
    this.extHeaderCount = o.extHeaderCount;
    this.extHeaderTypes.set(o.extHeaderTypes);
    this.isFragment = o.isFragment;
    this.fragmentOffset = o.fragmentOffset;
    this.moreFragments = o.moreFragments;
    this.fragmentId = o.fragmentId;
    this.jumbo = o.jumbo;
    this.truncated = o.truncated;
    this.upperOffset = o.upperOffset;
    this.upperLength = o.upperLength;
    this.declaredUpperLength = o.declaredUpperLength;
    this.jumboEnd = o.jumboEnd;
  }
}

/**
 * RFC 5952 text form of the 16-byte address at b[off..off+16): lower case, leading zeros dropped,
 * the longest run (leftmost on ties) of two or more zero groups as "::", and the IPv4-mapped form
 * ::ffff:a.b.c.d. Allocates a string.
 */
export function ipv6ToString(b: Uint8Array, off: number): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) g[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += g[i]!.toString(16);
  }
  return s;
}

/** Parses an IPv6 address (any RFC 4291 text form, IPv4 tail allowed) into 16 bytes; false if invalid. */
export function parseIpv6(s: string, out: Uint8Array, outOff = 0): boolean {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    const v4 = text.slice(lastColon + 1).split('.');
    if (v4.length !== 4) return false;
    for (const part of v4) {
      if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return false;
    }
    tail.push((Number(v4[0]) << 8) | Number(v4[1]), (Number(v4[2]) << 8) | Number(v4[3]));
    text = text.slice(0, lastColon + 1); // "1:2:3:4:5:6:" or "::ffff:" or "::"
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parse = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const part of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
      out.push(parseInt(part, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return false;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parse(halves[1]!);
    if (!rest) return false;
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return false;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  if (groups.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    out[outOff + 2 * i] = groups[i]! >>> 8;
    out[outOff + 2 * i + 1] = groups[i]! & 0xff;
  }
  return true;
}
