/**
 * TCP header (RFC 9293 §3.1, https://www.rfc-editor.org/rfc/rfc9293#section-3.1):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           [Options]                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Options decoded: MSS (kind 2, RFC 9293), Window Scale (3, RFC 7323), SACK-Permitted (4) and SACK
 * (5, RFC 2018), Timestamps (8, RFC 7323). Every other option is kept raw (kind, offset, length).
 * A broken option list (length < 2 or past the header) stops the walk and sets `optionsMalformed`;
 * the header is still usable (as in Wireshark).
 */
import { Status } from './status.js';

export const TCP_OFFSETS = {
  srcPort: 0,
  dstPort: 2,
  seq: 4,
  ack: 8,
  dataOffset: 12,
  flags: 13,
  window: 14,
  checksum: 16,
  urgentPointer: 18,
  options: 20,
  minHeaderLength: 20,
} as const;

export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

export const TcpOption = { End: 0, Nop: 1, Mss: 2, WindowScale: 3, SackPermitted: 4, Sack: 5, Timestamps: 8 } as const;

/** At most 40 bytes of options, so at most 40 options (all 1-byte NOPs). */
const MAX_OPTIONS = 40;

export class TcpView {
  offset = 0;
  srcPort = 0;
  dstPort = 0;
  /** Sequence and acknowledgment numbers, unsigned 32-bit. */
  seq = 0;
  ack = 0;
  headerLength = 0;
  /** FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128. */
  flags = 0;
  /** The AE / NS bit (RFC 3540, now reserved/AccECN). */
  ns = false;
  window = 0;
  checksum = 0;
  urgentPointer = 0;
  /** MSS option value, -1 if absent. */
  mss = -1;
  /** Window scale shift count, -1 if absent. */
  windowScale = -1;
  sackPermitted = false;
  sackCount = 0;
  private readonly sack = new Uint32Array(8);
  hasTimestamps = false;
  tsVal = 0;
  tsEcr = 0;
  optionsMalformed = false;
  /** Options not decoded above (kind, absolute offset of the option, total length). */
  rawOptionCount = 0;
  private readonly rawKind = new Uint8Array(MAX_OPTIONS);
  private readonly rawOffset = new Int32Array(MAX_OPTIONS);
  private readonly rawLength = new Uint8Array(MAX_OPTIONS);

  check(b: Uint8Array, off: number, len: number): Status {
    this.offset = off;
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.sackCount = 0;
    this.hasTimestamps = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.optionsMalformed = false;
    this.rawOptionCount = 0;
    if (len < 20) return Status.Truncated;
    this.srcPort = (b[off]! << 8) | b[off + 1]!;
    this.dstPort = (b[off + 2]! << 8) | b[off + 3]!;
    this.seq = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
    this.ack = ((b[off + 8]! << 24) | (b[off + 9]! << 16) | (b[off + 10]! << 8) | b[off + 11]!) >>> 0;
    const doff = b[off + 12]!;
    this.headerLength = (doff >>> 4) * 4;
    this.ns = (doff & 1) !== 0;
    this.flags = b[off + 13]!;
    this.window = (b[off + 14]! << 8) | b[off + 15]!;
    this.checksum = (b[off + 16]! << 8) | b[off + 17]!;
    this.urgentPointer = (b[off + 18]! << 8) | b[off + 19]!;
    if (this.headerLength < 20) return Status.Malformed;
    if (len < this.headerLength) return Status.Truncated;
    if (this.headerLength > 20) this.walkOptions(b, off + 20, off + this.headerLength);
    return Status.Ok;
  }

  private walkOptions(b: Uint8Array, p: number, end: number): void {
    while (p < end) {
      const kind = b[p]!;
      if (kind === TcpOption.End) return;
      if (kind === TcpOption.Nop) {
        p++;
        continue;
      }
      if (p + 1 >= end) {
        this.optionsMalformed = true;
        return;
      }
      const l = b[p + 1]!;
      if (l < 2 || p + l > end) {
        this.optionsMalformed = true;
        return;
      }
      if (kind === TcpOption.Mss && l === 4) this.mss = (b[p + 2]! << 8) | b[p + 3]!;
      else if (kind === TcpOption.WindowScale && l === 3) this.windowScale = b[p + 2]!;
      else if (kind === TcpOption.SackPermitted && l === 2) this.sackPermitted = true;
      else if (kind === TcpOption.Sack && (l - 2) % 8 === 0) {
        for (let q = p + 2; q < p + l && this.sackCount < 4; q += 8) {
          this.sack[this.sackCount * 2] = (b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!;
          this.sack[this.sackCount * 2 + 1] = (b[q + 4]! << 24) | (b[q + 5]! << 16) | (b[q + 6]! << 8) | b[q + 7]!;
          this.sackCount++;
        }
      } else if (kind === TcpOption.Timestamps && l === 10) {
        this.hasTimestamps = true;
        this.tsVal = ((b[p + 2]! << 24) | (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!) >>> 0;
        this.tsEcr = ((b[p + 6]! << 24) | (b[p + 7]! << 16) | (b[p + 8]! << 8) | b[p + 9]!) >>> 0;
      } else if (this.rawOptionCount < MAX_OPTIONS) {
        const i = this.rawOptionCount++;
        this.rawKind[i] = kind;
        this.rawOffset[i] = p;
        this.rawLength[i] = l;
      }
      p += l;
    }
  }

  /** Left edge of SACK block i (0 <= i < sackCount). */
  sackLeft(i: number): number {
    return this.sack[i * 2]!;
  }

  sackRight(i: number): number {
    return this.sack[i * 2 + 1]!;
  }

  rawOptionKind(i: number): number {
    return this.rawKind[i]!;
  }

  /** Absolute offset (in the decoded buffer) of raw option i, its kind byte. */
  rawOptionOffset(i: number): number {
    return this.rawOffset[i]!;
  }

  /** Total length of raw option i (kind and length bytes included). */
  rawOptionLength(i: number): number {
    return this.rawLength[i]!;
  }

  /** Flags as tshark prints them in `tcp.flags.str` order, e.g. "SYN, ACK" style compact "SA". */
  static flagsToString(flags: number): string {
    let s = '';
    if (flags & TcpFlag.CWR) s += 'C';
    if (flags & TcpFlag.ECE) s += 'E';
    if (flags & TcpFlag.URG) s += 'U';
    if (flags & TcpFlag.ACK) s += 'A';
    if (flags & TcpFlag.PSH) s += 'P';
    if (flags & TcpFlag.RST) s += 'R';
    if (flags & TcpFlag.SYN) s += 'S';
    if (flags & TcpFlag.FIN) s += 'F';
    return s === '' ? '.' : s;
  }
}
