/**
 * GENEVE header (RFC 8926 §3.4, https://www.rfc-editor.org/rfc/rfc8926#section-3.4), UDP 6081:
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Variable-Length Options                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Opt Len counts 4-byte words. Each option (§3.5):
 * ```
 * |          Option Class         |      Type     |R|R|R| Length  |
 * |                 Variable-Length Option Data                   |
 * ```
 * Length (5 bits) counts 4-byte words of data, excluding the 4-byte option header. (gopacket masks
 * it with 0x0f; that is wrong for RFC 8926.) The high bit of Type is "critical".
 *
 * Protocol Type is an EtherType: 0x6558 (Transparent Ethernet Bridging) puts an Ethernet frame
 * next; AWS Gateway Load Balancer uses 0x0800 / 0x86DD (the bare IP packet) and adds three options
 * of class 0x0108 (AWS): type 1 GWLB endpoint id (8 bytes), type 2 attachment id (8 bytes), type 3
 * flow cookie (4 bytes). Version other than 0 is Unsupported (RFC 8926: "MUST be dropped").
 */
import { Status } from './status.js';

export const GENEVE_OFFSETS = { verOptLen: 0, flags: 1, protocolType: 2, vni: 4, reserved: 7, options: 8, headerLength: 8 } as const;

export const GENEVE_OPTION_OFFSETS = { optionClass: 0, type: 2, length: 3, data: 4 } as const;

/** AWS Gateway Load Balancer option class and types (aws-gateway-load-balancer-tunnel-handler). */
export const GWLB_OPTION_CLASS = 0x0108;
export const GwlbOptionType = { EndpointId: 1, AttachmentId: 2, FlowCookie: 3 } as const;

/** 6-bit Opt Len: at most 63 words, so at most 63 options. */
const MAX_OPTIONS = 63;

export class GeneveView {
  offset = 0;
  version = 0;
  /** Options length in bytes. */
  optionsLength = 0;
  oam = false;
  critical = false;
  protocolType = 0;
  vni = 0;
  /** Header plus options. */
  headerLength = 8;
  optionCount = 0;
  private readonly optClass = new Uint16Array(MAX_OPTIONS);
  private readonly optType = new Uint8Array(MAX_OPTIONS);
  private readonly optDataOffset = new Int32Array(MAX_OPTIONS);
  private readonly optDataLength = new Uint16Array(MAX_OPTIONS);
  /** All three AWS GWLB options (class 0x0108, types 1-3) were present with their sizes. */
  hasGwlb = false;
  /** GWLB endpoint id / attachment id as two unsigned 32-bit halves; flow cookie unsigned 32-bit. */
  gwlbEndpointIdHi = 0;
  gwlbEndpointIdLo = 0;
  gwlbAttachmentIdHi = 0;
  gwlbAttachmentIdLo = 0;
  gwlbFlowCookie = 0;
  /** Which of the GWLB options were seen (bit 1 endpoint, 2 attachment, 4 cookie). */
  gwlbSeen = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    this.optionCount = 0;
    this.hasGwlb = false;
    this.gwlbSeen = 0;
    this.gwlbEndpointIdHi = this.gwlbEndpointIdLo = 0;
    this.gwlbAttachmentIdHi = this.gwlbAttachmentIdLo = 0;
    this.gwlbFlowCookie = 0;
    if (len < 8) return Status.Truncated;
    const b0 = b[off]!;
    this.version = b0 >>> 6;
    this.optionsLength = (b0 & 0x3f) * 4;
    this.oam = (b[off + 1]! & 0x80) !== 0;
    this.critical = (b[off + 1]! & 0x40) !== 0;
    this.protocolType = (b[off + 2]! << 8) | b[off + 3]!;
    this.vni = (b[off + 4]! << 16) | (b[off + 5]! << 8) | b[off + 6]!;
    this.headerLength = 8 + this.optionsLength;
    if (this.version !== 0) return Status.Unsupported;
    if (len < this.headerLength) return Status.Truncated;
    let p = off + 8;
    const end = off + this.headerLength;
    while (p < end) {
      if (p + 4 > end) return Status.Malformed;
      const cls = (b[p]! << 8) | b[p + 1]!;
      const type = b[p + 2]!;
      const dlen = (b[p + 3]! & 0x1f) * 4;
      if (p + 4 + dlen > end) return Status.Malformed;
      const i = this.optionCount++;
      this.optClass[i] = cls;
      this.optType[i] = type;
      this.optDataOffset[i] = p + 4;
      this.optDataLength[i] = dlen;
      if (cls === GWLB_OPTION_CLASS) this.gwlbOption(b, type, p + 4, dlen);
      p += 4 + dlen;
    }
    this.hasGwlb = this.gwlbSeen === 7;
    return Status.Ok;
  }

  private gwlbOption(b: Uint8Array, type: number, p: number, dlen: number): void {
    if (type === GwlbOptionType.EndpointId && dlen === 8) {
      this.gwlbEndpointIdHi = u32(b, p);
      this.gwlbEndpointIdLo = u32(b, p + 4);
      this.gwlbSeen |= 1;
    } else if (type === GwlbOptionType.AttachmentId && dlen === 8) {
      this.gwlbAttachmentIdHi = u32(b, p);
      this.gwlbAttachmentIdLo = u32(b, p + 4);
      this.gwlbSeen |= 2;
    } else if (type === GwlbOptionType.FlowCookie && dlen === 4) {
      this.gwlbFlowCookie = u32(b, p);
      this.gwlbSeen |= 4;
    }
  }

  optionClass(i: number): number {
    return this.optClass[i]!;
  }

  /** Option type byte (high bit = critical). */
  optionType(i: number): number {
    return this.optType[i]!;
  }

  /** Absolute offset of option i's data. */
  optionDataOffset(i: number): number {
    return this.optDataOffset[i]!;
  }

  /** Option i's data length in bytes (header excluded). */
  optionDataLength(i: number): number {
    return this.optDataLength[i]!;
  }

  /** GWLB endpoint id as 16 hex digits (allocates). */
  gwlbEndpointIdHex(): string {
    return hex64(this.gwlbEndpointIdHi, this.gwlbEndpointIdLo);
  }

  gwlbAttachmentIdHex(): string {
    return hex64(this.gwlbAttachmentIdHi, this.gwlbAttachmentIdLo);
  }

  gwlbEndpointId(): bigint {
    return (BigInt(this.gwlbEndpointIdHi) << 32n) | BigInt(this.gwlbEndpointIdLo);
  }

  gwlbAttachmentId(): bigint {
    return (BigInt(this.gwlbAttachmentIdHi) << 32n) | BigInt(this.gwlbAttachmentIdLo);
  }

  /** Flow cookie as 8 hex digits (allocates). */
  gwlbFlowCookieHex(): string {
    return this.gwlbFlowCookie.toString(16).padStart(8, '0');
  }

  copyFrom(o: GeneveView): void {
    this.offset = o.offset;
    this.version = o.version;
    this.optionsLength = o.optionsLength;
    this.oam = o.oam;
    this.critical = o.critical;
    this.protocolType = o.protocolType;
    this.vni = o.vni;
    this.headerLength = o.headerLength;
    this.optionCount = o.optionCount;
    this.optClass.set(o.optClass);
    this.optType.set(o.optType);
    this.optDataOffset.set(o.optDataOffset);
    this.optDataLength.set(o.optDataLength);
    this.hasGwlb = o.hasGwlb;
    this.gwlbEndpointIdHi = o.gwlbEndpointIdHi;
    this.gwlbEndpointIdLo = o.gwlbEndpointIdLo;
    this.gwlbAttachmentIdHi = o.gwlbAttachmentIdHi;
    this.gwlbAttachmentIdLo = o.gwlbAttachmentIdLo;
    this.gwlbFlowCookie = o.gwlbFlowCookie;
    this.gwlbSeen = o.gwlbSeen;
  }
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function hex64(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
