/**
 * The native capture reader's side outputs (native/analyze/read.h, `ml_read_result_js`) as the
 * JavaScript reader gives them: each input's CaptureSummary and first/last times, the Decryption
 * Secrets Blocks in order, the ICMP error packets JavaScript decodes itself, and the capture point
 * names. Interface strings come as bytes and are decoded here exactly as the parser decodes them.
 */
import { PacketRecord, type CaptureSummary, type InterfaceInfo } from './record.js';

/** One interface as the addon gives it (strings as UTF-8 bytes). */
export interface NativeInterface {
  section: number;
  sectionInterfaceId: number;
  linkType: number;
  snaplen: number;
  tsresol: number;
  tsOffsetSec: number;
  fcsLength: number | null;
  speedBps: number | null;
  name: Uint8Array | null;
  description: Uint8Array | null;
  os: Uint8Array | null;
  hardware: Uint8Array | null;
  comment: Uint8Array | null;
  /** if_filter after its type byte. */
  filter: Uint8Array | null;
  filterType: number;
}

export interface NativeFile {
  format: 'pcap' | 'pcapng';
  packets: number;
  bytes: number;
  secretsBlocks: number;
  firstTime: number | null;
  lastTime: number | null;
  interfaces: NativeInterface[];
}

/** An ICMPv4 error packet for JavaScript to decode (flow/icmp-error.ts): its frame, copied. */
export interface NativePacket {
  /** Number among the packets in the window (processCaptures' beforeDecode n). */
  packet: number;
  byteOffset: number;
  input: number;
  linkType: number;
  /** Capture point id (an index into `points`). */
  point: number;
  time: number;
  data: Uint8Array;
}

/** What `ml_read_result_js` makes. */
export interface NativeReadResult {
  packets: number;
  outsideWindow: number;
  /** Packets decoded (= the tracker's stats.packets). */
  decoded: number;
  truncated: number;
  malformed: number;
  unsupported: number;
  /** TCP segments handed on (= the tracker's tcpPackets). */
  segments: number;
  nonTcp: number;
  skipped: number;
  firstTime: number | null;
  lastTime: number | null;
  files: NativeFile[];
  /** `lines`: a TLS key log block's lines as the native first pass checked them (tls/keylog-native.ts). */
  dsbs: { type: number; input: number; data: Uint8Array; lines?: Int32Array }[];
  icmp: NativePacket[];
  /** Capture point names by id (0: ''). */
  points: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function text(b: Uint8Array | null): string | null {
  return b === null ? null : utf8.decode(b);
}

/** The InterfaceInfo the parser makes (parser.ts newInterface + idb) from the addon's fields. */
export function interfaceInfoOf(i: NativeInterface, id: number): InterfaceInfo {
  const exp = i.tsresol & 0x7f;
  const units = Number((i.tsresol & 0x80) === 0 ? 10n ** BigInt(exp) : 1n << BigInt(exp));
  return {
    id,
    section: i.section,
    sectionInterfaceId: i.sectionInterfaceId,
    linkType: i.linkType,
    name: text(i.name),
    description: text(i.description),
    snaplen: i.snaplen,
    tsresol: i.tsresol,
    unitsPerSecond: units,
    tsResolutionNs: 1e9 / units,
    tsOffsetSec: i.tsOffsetSec,
    os: text(i.os),
    hardware: text(i.hardware),
    filter: i.filter === null ? null : i.filterType === 0 ? utf8.decode(i.filter) : `(filter type ${i.filterType}, ${i.filter.length} bytes)`,
    comment: text(i.comment),
    fcsLength: i.fcsLength,
    speedBps: i.speedBps,
  };
}

/** Each input's CaptureSummary, as readCapture resolves it for a file read without warnings. */
export function nativeCaptureSummaries(inputs: readonly string[], r: NativeReadResult): CaptureSummary[] {
  return r.files.map((f, k) => ({
    file: inputs[k]!,
    format: f.format,
    packets: f.packets,
    bytes: f.bytes,
    warnings: 0,
    warningList: [],
    truncated: false,
    gzip: false,
    secretsBlocks: f.secretsBlocks,
    interfaces: f.interfaces.map((i, id) => interfaceInfoOf(i, id)),
  }));
}

/** PipelineSummary.fileTimes. */
export function nativeFileTimes(inputs: readonly string[], r: NativeReadResult): { file: string; firstTime: number | null; lastTime: number | null }[] {
  return r.files.map((f, k) => ({ file: inputs[k]!, firstTime: f.firstTime, lastTime: f.lastTime }));
}

/**
 * Calls `fn` with each ICMP error packet as a PacketRecord (one reused record, valid during the
 * call: decode it with a PacketDecoder, then flow/icmp-error.ts icmpErrorEvent with the point name).
 */
export function forEachNativePacket(r: NativeReadResult, fn: (rec: PacketRecord, p: NativePacket, point: string) => void): void {
  const rec = new PacketRecord();
  for (const p of r.icmp) {
    rec.index = 0;
    rec.linkType = p.linkType;
    rec.time = p.time;
    rec.data = p.data;
    rec.offset = 0;
    rec.capturedLength = p.data.length;
    rec.originalLength = p.data.length;
    rec.byteOffset = p.byteOffset;
    fn(rec, p, r.points[p.point] ?? '');
  }
}
