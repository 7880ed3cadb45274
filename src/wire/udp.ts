/**
 * UDP header (RFC 768, https://www.rfc-editor.org/rfc/rfc768):
 * ```
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |     Source      |   Destination   |
 * |      Port       |      Port       |
 * +--------+--------+--------+--------+
 * |                 |                 |
 * |     Length      |    Checksum     |
 * +--------+--------+--------+--------+
 * |          data octets ...
 * ```
 * Length counts the header. Length 0 is accepted (jumbograms, RFC 2675; TSO captures) and means
 * "to the end of the IP payload". A Length beyond the captured bytes is a truncated capture, not
 * an error; below 8 it is Malformed.
 */
import { Status } from './status.js';

export const UDP_OFFSETS = { srcPort: 0, dstPort: 2, length: 4, checksum: 6, headerLength: 8 } as const;

export class UdpView {
  offset = 0;
  srcPort = 0;
  dstPort = 0;
  /** Length field (header included). */
  length = 0;
  checksum = 0;
  /** Payload within the captured bytes. */
  payloadOffset = 0;
  payloadLength = 0;
  /** Length field says more than was captured. */
  truncated = false;
  /** Length field disagrees with the IP payload length (set by the caller that knows it). */
  lengthMismatch = false;

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    this.truncated = false;
    this.lengthMismatch = false;
    this.payloadOffset = off + 8;
    this.payloadLength = 0;
    if (len < 8) return Status.Truncated;
    this.srcPort = (b[off]! << 8) | b[off + 1]!;
    this.dstPort = (b[off + 2]! << 8) | b[off + 3]!;
    const l = (b[off + 4]! << 8) | b[off + 5]!;
    this.length = l;
    this.checksum = (b[off + 6]! << 8) | b[off + 7]!;
    if (l === 0) {
      this.payloadLength = len - 8;
      return Status.Ok;
    }
    if (l < 8) return Status.Malformed;
    if (l > len) {
      this.truncated = true;
      this.payloadLength = len - 8;
    } else this.payloadLength = l - 8;
    return Status.Ok;
  }

  copyFrom(o: UdpView): void {
    this.offset = o.offset;
    this.srcPort = o.srcPort;
    this.dstPort = o.dstPort;
    this.length = o.length;
    this.checksum = o.checksum;
    this.payloadOffset = o.payloadOffset;
    this.payloadLength = o.payloadLength;
    this.truncated = o.truncated;
    this.lengthMismatch = o.lengthMismatch;
  }
}
