/**
 * VXLAN header (RFC 7348 §5, https://www.rfc-editor.org/rfc/rfc7348#section-5), 8 bytes after the
 * outer UDP header (UDP 4789; Linux's historical default 8472):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * An inner Ethernet frame follows. The I flag "MUST be set to 1 for a valid VXLAN Network ID";
 * receivers ignore reserved bits. We decode anyway when I is clear (`vniValid` false), as tshark
 * does, and flag it. With the Group Policy extension (G bit 0x80) bytes 2-3 hold the group id.
 * AWS Traffic Mirroring puts the session's VirtualNetworkId in the VNI.
 */
import { Status } from './status.js';

export const VXLAN_OFFSETS = { flags: 0, reserved1: 1, vni: 4, reserved2: 7, headerLength: 8 } as const;

export const VXLAN_FLAG_I = 0x08;
export const VXLAN_FLAG_G = 0x80;

export class VxlanView {
  offset = 0;
  flags = 0;
  vni = 0;
  /** The I flag is set. */
  vniValid = false;
  /** A reserved field is non-zero (ignored per RFC 7348; GBP bits excepted). */
  reservedNonZero = false;
  /** VXLAN-GBP group policy id (0 when the G flag is clear). */
  groupPolicyId = 0;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    if (len < 8) return Status.Truncated;
    const f = b[off]!;
    this.flags = f;
    this.vniValid = (f & VXLAN_FLAG_I) !== 0;
    this.vni = (b[off + 4]! << 16) | (b[off + 5]! << 8) | b[off + 6]!;
    const gbp = (f & VXLAN_FLAG_G) !== 0;
    this.groupPolicyId = gbp ? (b[off + 2]! << 8) | b[off + 3]! : 0;
    this.reservedNonZero = (f & 0x77) !== 0 || b[off + 7] !== 0 || (!gbp && (b[off + 1] !== 0 || b[off + 2] !== 0 || b[off + 3] !== 0));
    return Status.Ok;
  }
}
