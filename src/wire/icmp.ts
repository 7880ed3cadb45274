/**
 * ICMPv4 (RFC 792, https://www.rfc-editor.org/rfc/rfc792) and ICMPv6 (RFC 4443,
 * https://www.rfc-editor.org/rfc/rfc4443) share the first 8 bytes:
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  rest of header: echo id + seq / unused + next-hop MTU (RFC 1191) / MTU (v6 type 2)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  error messages: as much of the invoking packet as fits (IP header + >= 8 bytes)     |
 * ```
 * Error messages carrying the invoking packet: ICMPv4 destination unreachable (3, code 4 =
 * fragmentation needed), source quench (4), redirect (5), time exceeded (11), parameter problem
 * (12); ICMPv6 destination unreachable (1), packet too big (2), time exceeded (3), parameter
 * problem (4). The embedded header is decoded leniently (it is cut by design): its IP addresses,
 * protocol and, when present, ports and TCP sequence number. An embedded IPv6 header whose
 * extension headers are cut still gives its addresses (protocol -1).
 */
import { Status } from './status.js';
import { Ipv4View } from './ipv4.js';
import { Ipv6View } from './ipv6.js';

export const ICMP_OFFSETS = { type: 0, code: 1, checksum: 2, rest: 4, echoId: 4, echoSeq: 6, nextHopMtu: 6, mtu6: 4, invoking: 8, headerLength: 8 } as const;

export const Icmpv4Type = { EchoReply: 0, DestUnreachable: 3, SourceQuench: 4, Redirect: 5, Echo: 8, TimeExceeded: 11, ParameterProblem: 12 } as const;
export const Icmpv6Type = { DestUnreachable: 1, PacketTooBig: 2, TimeExceeded: 3, ParameterProblem: 4, EchoRequest: 128, EchoReply: 129 } as const;

export class IcmpView {
  offset = 0;
  /** 4 for ICMPv4, 6 for ICMPv6. */
  version: 4 | 6 = 4;
  type = 0;
  code = 0;
  checksum = 0;
  /** The 4 bytes after the checksum, unsigned. */
  restOfHeader = 0;
  /** Echo request/reply identifier and sequence (-1 when not an echo). */
  echoId = -1;
  echoSeq = -1;
  /** Next-hop MTU of ICMPv4 frag-needed, MTU of ICMPv6 packet-too-big; -1 otherwise. */
  mtu = -1;
  /** True for error messages that carry the invoking packet. */
  isError = false;
  /** 0 when no embedded header could be decoded, else 4 or 6. */
  embeddedIpVersion: 0 | 4 | 6 = 0;
  readonly embeddedIp4 = new Ipv4View();
  readonly embeddedIp6 = new Ipv6View();
  /** Embedded IP protocol (after IPv6 extension headers), -1 if none. */
  embeddedProtocol = -1;
  /** Embedded transport ports (TCP/UDP/SCTP) and TCP sequence number, -1 when not captured. */
  embeddedSrcPort = -1;
  embeddedDstPort = -1;
  embeddedTcpSeq = -1;

  check(b: Uint8Array, off: number, len: number, version: 4 | 6): Status {
    this.offset = off;
    this.version = version;
    this.echoId = -1;
    this.echoSeq = -1;
    this.mtu = -1;
    this.isError = false;
    this.embeddedIpVersion = 0;
    this.embeddedProtocol = -1;
    this.embeddedSrcPort = -1;
    this.embeddedDstPort = -1;
    this.embeddedTcpSeq = -1;
    if (len < 4) return Status.Truncated;
    const t = b[off]!;
    this.type = t;
    this.code = b[off + 1]!;
    this.checksum = (b[off + 2]! << 8) | b[off + 3]!;
    if (len < 8) {
      // Echo and error messages all have a 4-byte rest-of-header; only odd types could be shorter.
      return Status.Truncated;
    }
    this.restOfHeader = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
    if (version === 4) {
      if (t === 0 || t === 8 || t === 13 || t === 14) {
        this.echoId = (b[off + 4]! << 8) | b[off + 5]!;
        this.echoSeq = (b[off + 6]! << 8) | b[off + 7]!;
      }
      this.isError = t === 3 || t === 4 || t === 5 || t === 11 || t === 12;
      if (t === 3 && this.code === 4) this.mtu = (b[off + 6]! << 8) | b[off + 7]!;
    } else {
      if (t === 128 || t === 129) {
        this.echoId = (b[off + 4]! << 8) | b[off + 5]!;
        this.echoSeq = (b[off + 6]! << 8) | b[off + 7]!;
      }
      this.isError = t >= 1 && t <= 4;
      if (t === 2) this.mtu = this.restOfHeader;
    }
    if (this.isError && len > 8) this.decodeEmbedded(b, off + 8, len - 8);
    return Status.Ok;
  }

  private decodeEmbedded(b: Uint8Array, p: number, len: number): void {
    const v = b[p]! >>> 4;
    let tOff: number;
    let tLen: number;
    if (v === 4 && this.embeddedIp4.check(b, p, len) === Status.Ok) {
      this.embeddedIpVersion = 4;
      this.embeddedProtocol = this.embeddedIp4.protocol;
      if (this.embeddedIp4.fragmentOffset !== 0) return;
      tOff = this.embeddedIp4.upperOffset;
      tLen = this.embeddedIp4.upperLength;
    } else if (v === 6 && len >= 40) {
      const st = this.embeddedIp6.check(b, p, len);
      if (st !== Status.Ok) {
        // Extension headers cut off: the addresses in the fixed header are still known.
        if (st === Status.Truncated) this.embeddedIpVersion = 6;
        return;
      }
      this.embeddedIpVersion = 6;
      this.embeddedProtocol = this.embeddedIp6.nextHeader;
      if (this.embeddedIp6.fragmentOffset !== 0) return;
      tOff = this.embeddedIp6.upperOffset;
      tLen = this.embeddedIp6.upperLength;
    } else return;
    const proto = this.embeddedProtocol;
    if ((proto === 6 || proto === 17 || proto === 132 || proto === 136) && tLen >= 4) {
      this.embeddedSrcPort = (b[tOff]! << 8) | b[tOff + 1]!;
      this.embeddedDstPort = (b[tOff + 2]! << 8) | b[tOff + 3]!;
      if (proto === 6 && tLen >= 8) {
        this.embeddedTcpSeq = ((b[tOff + 4]! << 24) | (b[tOff + 5]! << 16) | (b[tOff + 6]! << 8) | b[tOff + 7]!) >>> 0;
      }
    }
  }
}
