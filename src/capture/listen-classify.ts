/**
 * Looks at the outermost IP header of a frame (Ethernet with optional VLAN tags, or raw IP) and
 * fills a reused FilterPacket: what the mirror filter, the ingress/egress decision and the
 * "original length" of a truncated mirrored packet need. Built on the wire views; no allocation
 * per packet.
 *
 * Deliberately not the full PacketDecoder walk: AWS evaluates its filter on the mirrored packet's
 * own (outermost) IP header, and so do we, even when that packet itself carries a tunnel.
 * Usable by `read`/`analyze` to apply the same filter to frames of any capture.
 */
import { EthernetView, VlanView, isVlanTpid, EtherType, LinkType } from '../wire/link.js';
import { Ipv4View } from '../wire/ipv4.js';
import { Ipv6View } from '../wire/ipv6.js';
import { Status } from '../wire/status.js';
import { emptyFilterPacket, mirrorFilterKeeps, MirrorDirection, type FilterPacket, type MirrorFilter } from './filter.js';

const MAX_VLAN_TAGS = 4;

export class FrameClassifier {
  /** Filled by classify(); ipVersion 0 when the frame holds no (complete-header) IP packet. */
  readonly packet: FilterPacket = emptyFilterPacket();
  /** Offset of the Ethernet header (dst MAC at +0, src MAC at +6), -1 for raw IP. */
  macOffset = -1;
  /** Offset of the IP header, -1 when none. */
  ipOffset = -1;
  /** Offset and captured length of the transport header + payload (after IP/extension headers). */
  l4Offset = -1;
  l4Length = 0;
  /** Non-first fragment: no transport header in this packet. */
  laterFragment = false;
  /**
   * Frame length according to the IP header (link header + IP total length), 0 when unknown:
   * larger than the captured length when the mirror session truncated the packet (PacketLength).
   */
  declaredLength = 0;

  private readonly eth = new EthernetView();
  private readonly vlan = new VlanView();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();

  /** `linkType` is LinkType.Ethernet (1) or LinkType.Raw (101). Returns packet.ipVersion (0, 4 or 6). */
  classify(linkType: number, b: Uint8Array, off: number, len: number): number {
    const p = this.packet;
    p.ipVersion = 0;
    p.protocol = 0;
    p.srcPort = -1;
    p.dstPort = -1;
    p.bytes = b;
    this.macOffset = -1;
    this.ipOffset = -1;
    this.l4Offset = -1;
    this.l4Length = 0;
    this.laterFragment = false;
    this.declaredLength = 0;
    const end = off + len;
    let ipOff: number;
    let etherType: number;
    if (linkType === LinkType.Ethernet) {
      if (this.eth.check(b, off, len) !== Status.Ok) return 0;
      this.macOffset = off;
      etherType = this.eth.etherType;
      ipOff = off + 14;
      for (let i = 0; i < MAX_VLAN_TAGS && isVlanTpid(etherType); i++) {
        if (this.vlan.check(b, ipOff, end - ipOff, etherType) !== Status.Ok) return 0;
        etherType = this.vlan.etherType;
        ipOff += 4;
      }
    } else {
      ipOff = off;
      if (len < 1) return 0;
      const v = b[off]! >>> 4;
      etherType = v === 4 ? EtherType.Ipv4 : v === 6 ? EtherType.Ipv6 : 0;
    }
    const ipLen = end - ipOff;
    if (etherType === EtherType.Ipv4) {
      const v = this.ip4;
      if (v.check(b, ipOff, ipLen) !== Status.Ok) return 0;
      p.ipVersion = 4;
      p.srcAddrOffset = ipOff + 12;
      p.dstAddrOffset = ipOff + 16;
      p.protocol = v.protocol;
      this.declaredLength = v.totalLength > 0 ? ipOff - off + v.totalLength : 0;
      this.laterFragment = v.fragmentOffset !== 0;
      this.l4Offset = v.upperOffset;
      this.l4Length = v.upperLength;
    } else if (etherType === EtherType.Ipv6) {
      const v = this.ip6;
      const st = v.check(b, ipOff, ipLen);
      // Truncated inside the extension headers: addresses are still known (fixed header complete).
      if (st !== Status.Ok && !(st === Status.Truncated && ipLen >= 40)) return 0;
      p.ipVersion = 6;
      p.srcAddrOffset = v.srcOffset;
      p.dstAddrOffset = v.dstOffset;
      p.protocol = v.nextHeader;
      this.declaredLength = v.jumbo ? 0 : ipOff - off + 40 + v.payloadLength;
      this.laterFragment = v.isFragment && v.fragmentOffset !== 0;
      if (st === Status.Ok) {
        this.l4Offset = v.upperOffset;
        this.l4Length = v.upperLength;
      }
    } else {
      return 0;
    }
    this.ipOffset = ipOff;
    if ((p.protocol === 6 || p.protocol === 17 || p.protocol === 132) && !this.laterFragment && this.l4Offset >= 0 && this.l4Length >= 4) {
      const q = this.l4Offset;
      p.srcPort = (b[q]! << 8) | b[q + 1]!;
      p.dstPort = (b[q + 2]! << 8) | b[q + 3]!;
    }
    return p.ipVersion;
  }
}

/** Compares `n` bytes of a at ao with b at bo. */
export function bytesEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * The mirror filter applied to frames of any capture (for `read` / `analyze`): classify the
 * mirrored frame (Ethernet or raw IP) and evaluate the rules. The direction comes from the
 * packet's epb_flags as `mirrorlens listen` writes them (bits 0-1: 1 inbound = ingress,
 * 2 outbound = egress), else Unknown (kept when either rule list accepts).
 *
 * For a capture of the *encapsulated* stream (e.g. tcpdump on the target), pass the frame after
 * the VXLAN header (the mirrored packet), as AWS evaluates its rules on that packet.
 */
export class MirrorFrameFilter {
  private readonly cls = new FrameClassifier();

  constructor(readonly filter: MirrorFilter) {}

  keeps(linkType: number, b: Uint8Array, off: number, len: number, epbFlags = 0): boolean {
    this.cls.classify(linkType, b, off, len);
    const d = epbFlags & 3;
    const dir = d === 1 ? MirrorDirection.Ingress : d === 2 ? MirrorDirection.Egress : MirrorDirection.Unknown;
    return mirrorFilterKeeps(this.filter, this.cls.packet, dir);
  }
}
