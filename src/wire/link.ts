/**
 * Link layers: Ethernet II (IEEE 802.3 framing with an EtherType), IEEE 802.1Q / 802.1ad VLAN tags,
 * Linux cooked capture v1 (SLL) and v2 (SLL2), BSD null/loopback, and the pcap link-type numbers.
 *
 * Ethernet II (https://standards.ieee.org/ieee/802.3/7071/):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Destination MAC (6 bytes)                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       Source MAC (6 bytes)    +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     EtherType / Length        |  payload ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * EtherType values <= 1500 are an 802.3 length (LLC/SNAP follows): not decoded (Unsupported).
 *
 * VLAN tag (IEEE 802.1Q; TPID 0x8100, 0x88a8 for 802.1ad S-tags, 0x9100/0x9200 pre-standard QinQ):
 * ```
 * | TPID (16) | PCP(3) DEI(1) VID(12) | inner EtherType (16) |
 * ```
 * Here a tag view covers the 4 bytes after the TPID: TCI and the next EtherType.
 *
 * Linux cooked v1, LINKTYPE_LINUX_SLL = 113 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html):
 * ```
 * | packet type (16) | ARPHRD type (16) | addr length (16) | address (8 bytes) | protocol (16) |
 * ```
 * Linux cooked v2, LINKTYPE_LINUX_SLL2 = 276 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
 * ```
 * | protocol (16) | reserved (16) | interface index (32) | ARPHRD (16) | packet type (8) |
 * | addr length (8) | address (8 bytes) |
 * ```
 * BSD loopback: LINKTYPE_NULL = 0 (4-byte address family in the capturing host's byte order),
 * LINKTYPE_LOOP = 108 (same, always big-endian). AF_INET is 2 everywhere; AF_INET6 is 10 (Linux),
 * 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
 */
import { Status } from './status.js';

/** pcap / pcapng link types (https://www.tcpdump.org/linktypes.html) that the decoder understands. */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** Some BSD-derived writers store DLT_RAW (12, or 14 on OpenBSD) instead of LINKTYPE_RAW. */
export const LINKTYPE_RAW_BSD = 12;
export const LINKTYPE_RAW_OPENBSD = 14;

export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  Ipv6: 0x86dd,
  QinQ: 0x88a8,
  QinQ9100: 0x9100,
  QinQ9200: 0x9200,
  TransparentEthernet: 0x6558,
} as const;

/** True for the TPIDs that announce a VLAN tag. */
export function isVlanTpid(etherType: number): boolean {
  return etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100 || etherType === 0x9200;
}

export const ETHERNET_OFFSETS = { dst: 0, src: 6, etherType: 12, headerLength: 14 } as const;

/** Ethernet II header view. */
export class EthernetView {
  offset = 0;
  etherType = 0;
  headerLength = 14;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    if (len < 14) return Status.Truncated;
    this.etherType = (b[off + 12]! << 8) | b[off + 13]!;
    return Status.Ok;
  }

  /** MAC address as "aa:bb:cc:dd:ee:ff" (allocates; for printing). */
  static macToString(b: Uint8Array, off: number): string {
    let s = '';
    for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[off + i]!.toString(16).padStart(2, '0');
    return s;
  }
}

export const VLAN_OFFSETS = { tci: 0, etherType: 2, headerLength: 4 } as const;

/** One 802.1Q tag (the 4 bytes after its TPID). */
export class VlanView {
  offset = 0;
  tpid = 0;
  vid = 0;
  pcp = 0;
  dei = false;
  etherType = 0;

  check(b: Uint8Array, off: number, len: number, tpid: number): Status {
    this.offset = off;
    this.tpid = tpid;
    if (len < 4) return Status.Truncated;
    const tci = (b[off]! << 8) | b[off + 1]!;
    this.pcp = tci >>> 13;
    this.dei = (tci & 0x1000) !== 0;
    this.vid = tci & 0x0fff;
    this.etherType = (b[off + 2]! << 8) | b[off + 3]!;
    return Status.Ok;
  }
}

export const SLL_OFFSETS = { packetType: 0, arphrd: 2, addrLength: 4, addr: 6, protocol: 14, headerLength: 16 } as const;

/** Linux cooked capture v1 header. */
export class SllView {
  offset = 0;
  packetType = 0;
  arphrd = 0;
  protocol = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    if (len < 16) return Status.Truncated;
    this.packetType = (b[off]! << 8) | b[off + 1]!;
    this.arphrd = (b[off + 2]! << 8) | b[off + 3]!;
    this.protocol = (b[off + 14]! << 8) | b[off + 15]!;
    return Status.Ok;
  }
}

export const SLL2_OFFSETS = { protocol: 0, reserved: 2, ifIndex: 4, arphrd: 8, packetType: 10, addrLength: 11, addr: 12, headerLength: 20 } as const;

/** Linux cooked capture v2 header. */
export class Sll2View {
  offset = 0;
  protocol = 0;
  ifIndex = 0;
  arphrd = 0;
  packetType = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    if (len < 20) return Status.Truncated;
    this.protocol = (b[off]! << 8) | b[off + 1]!;
    this.ifIndex = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
    this.arphrd = (b[off + 8]! << 8) | b[off + 9]!;
    this.packetType = b[off + 10]!;
    return Status.Ok;
  }
}

/** BSD null / loopback header: 4-byte address family. */
export class NullView {
  offset = 0;
  family = 0;
  /** 4 or 6 when the family names IPv4 / IPv6, else 0. */
  ipVersion: 0 | 4 | 6 = 0;

  /** `bigEndian`: true for LINKTYPE_LOOP; LINKTYPE_NULL is host order, so both orders are tried. */
  check(b: Uint8Array, off: number, len: number, bigEndian: boolean): Status {
    this.offset = off;
    this.ipVersion = 0;
    if (len < 4) return Status.Truncated;
    const be = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
    const le = ((b[off + 3]! << 24) | (b[off + 2]! << 16) | (b[off + 1]! << 8) | b[off]!) >>> 0;
    // Host order unknown for NULL: the family is a small number, so the order giving one wins.
    this.family = bigEndian ? be : le <= 0xffff ? le : be;
    const f = this.family;
    if (f === 2) this.ipVersion = 4;
    else if (f === 10 || f === 24 || f === 28 || f === 30) this.ipVersion = 6;
    return Status.Ok;
  }
}
