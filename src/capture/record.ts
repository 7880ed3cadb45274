/**
 * Records passed from capture readers to later stages (see docs/capture.md).
 *
 * A reader calls back with ONE reused `PacketRecord`: its fields, and the bytes
 * `data[offset .. offset + capturedLength)`, are valid only during the callback. Copy what you keep.
 */

export class PacketRecord {
  /** 1-based frame number across the whole file (all sections), as tshark's frame.number. */
  index = 0;
  /** Interface id unique across the file (0-based order of interface descriptions, as tshark's frame.interface_id). */
  interfaceId = 0;
  /** LINKTYPE_* of the interface (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, 0 null, ...). */
  linkType = 0;
  /** Seconds since the Unix epoch (if_tsoffset applied). Simple Packet Blocks carry no time: 0. */
  tsSec = 0;
  /** Nanoseconds within the second, 0..999999999. */
  tsNsec = 0;
  /** tsSec + tsNsec / 1e9 as a float (µs precision at current epochs). */
  time = 0;
  /** Bytes present in `data` for this packet. */
  capturedLength = 0;
  /** Length on the wire (≥ capturedLength when the capture truncated the packet). */
  originalLength = 0;
  /** Buffer holding the packet: read `data[offset .. offset + capturedLength)`. */
  data: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** First opt_comment of the packet, or null. */
  comment: string | null = null;
  /** epb_flags (direction in bits 0-1, reception type, FCS length, ...), 0 when absent. */
  flags = 0;
  /** Byte offset of the packet's block / record header in the (decompressed) file. */
  byteOffset = 0;
}

export interface InterfaceInfo {
  /** Unique across the file: the 0-based order of interface descriptions (PacketRecord.interfaceId). */
  id: number;
  /** 0-based section number (pcapng Section Header Blocks seen before it, minus one). */
  section: number;
  /** Interface id within its section (what EPBs in that section refer to). */
  sectionInterfaceId: number;
  linkType: number;
  name: string | null;
  description: string | null;
  /** Snapshot length; 0 = no limit. */
  snaplen: number;
  /** Raw if_tsresol byte (6 when absent; pcap: 6 for µs, 9 for ns magic). */
  tsresol: number;
  /** Timestamp units per second (1e6, 1e9, 2^n...). */
  unitsPerSecond: number;
  /** Smallest representable time step in nanoseconds (1000 for µs, 1 for ns, may be fractional). */
  tsResolutionNs: number;
  /** if_tsoffset seconds added to every timestamp. */
  tsOffsetSec: number;
  os: string | null;
  hardware: string | null;
  /** if_filter as text (libpcap filter strings), or null. */
  filter: string | null;
  comment: string | null;
  /** if_fcslen, or the FCS length announced in a pcap header, or null when unknown. */
  fcsLength: number | null;
  speedBps: number | null;
}

export interface CaptureWarning {
  message: string;
  /** Byte offset in the (decompressed) capture where the problem starts. */
  byteOffset: number;
  file: string;
}

export interface ReadOptions {
  /** Decryption Secrets Block: `data` is valid only during the call. */
  onSecrets?(type: number, data: Uint8Array, byteOffset: number): void;
  onInterface?(info: InterfaceInfo): void;
  onWarning?(w: CaptureWarning): void;
  signal?: AbortSignal;
  /** Stop after this many packets (no warning). */
  maxPackets?: number;
}

export interface CaptureSummary {
  file: string;
  format: 'pcap' | 'pcapng';
  /** Packets delivered to the callback. */
  packets: number;
  /** Bytes of the (decompressed) capture consumed. */
  bytes: number;
  /** Warnings raised (also passed to onWarning). */
  warnings: number;
  /** The first warnings (at most 100), for callers without onWarning. */
  warningList: CaptureWarning[];
  /** Reading stopped before a clean end: the file was cut mid-block, or a corrupt block stopped it. */
  truncated: boolean;
  /** The input was gzip-compressed. */
  gzip: boolean;
  /** Decryption Secrets Blocks seen. */
  secretsBlocks: number;
  interfaces: InterfaceInfo[];
}
