/**
 * The anomaly registry (Zeek "weirds"): every odd thing a decoder notices is a named, documented
 * record, not an exception. Decoders note anomalies as small integer ids (no allocation); whoever
 * reports them (flow, CLI, report) looks the definition up here and applies its de-duplication
 * policy with an AnomalyLog.
 *
 * Severity: `info` (expected in mirrored traffic, e.g. truncation by PacketLength), `warn` (a peer
 * or the network misbehaves), `error` (bytes we could not decode).
 * De-duplication: `every` (each occurrence is reported), `per-connection` (once per uid),
 * `per-capture` (once per capture/run; later ones are only counted).
 */
import { Layer } from './layer.js';

export type AnomalySeverity = 'info' | 'warn' | 'error';
export type AnomalyDedup = 'every' | 'per-connection' | 'per-capture';

export interface AnomalyDef {
  /** Numeric id (index into ANOMALIES). */
  readonly id: number;
  /** Stable kebab-case name, as in reports and JSON. */
  readonly code: string;
  /** Layer.* where it is noticed. */
  readonly layer: number;
  readonly severity: AnomalySeverity;
  readonly dedup: AnomalyDedup;
  readonly description: string;
}

const defs: Omit<AnomalyDef, 'id'>[] = [
  { code: 'link-type-unsupported', layer: Layer.Frame, severity: 'error', dedup: 'per-capture', description: 'the capture link type is not one the decoder knows' },
  { code: 'frame-truncated', layer: Layer.Frame, severity: 'info', dedup: 'per-capture', description: 'the captured bytes end inside a header (snaplen or mirror PacketLength)' },
  { code: 'ethertype-unsupported', layer: Layer.Ethernet, severity: 'info', dedup: 'per-capture', description: 'an EtherType (or 802.3 length/LLC frame) that is not decoded, e.g. ARP, LLDP' },
  { code: 'ipv4-bad-version', layer: Layer.Ipv4, severity: 'error', dedup: 'every', description: 'the version nibble of an IPv4 header is not 4' },
  { code: 'ipv4-bad-header-length', layer: Layer.Ipv4, severity: 'error', dedup: 'every', description: 'IHL below 5 words, or Total Length below the header length' },
  { code: 'ipv4-options-malformed', layer: Layer.Ipv4, severity: 'warn', dedup: 'per-connection', description: 'IPv4 options with a length below 2 or past the header' },
  { code: 'ipv4-payload-truncated', layer: Layer.Ipv4, severity: 'info', dedup: 'per-capture', description: 'Total Length exceeds the captured bytes (snaplen / Traffic Mirroring PacketLength)' },
  { code: 'ipv4-tso-length-zero', layer: Layer.Ipv4, severity: 'info', dedup: 'per-capture', description: 'Total Length 0 (TSO/GSO capture); the captured length is used' },
  { code: 'ipv4-fragment', layer: Layer.Ipv4, severity: 'info', dedup: 'per-connection', description: 'an IPv4 fragment; non-first fragments carry no transport header and are not reassembled' },
  { code: 'ipv4-bad-checksum', layer: Layer.Ipv4, severity: 'warn', dedup: 'every', description: 'IPv4 header checksum wrong (only when checksum validation is on)' },
  { code: 'ipv6-bad-version', layer: Layer.Ipv6, severity: 'error', dedup: 'every', description: 'the version nibble of an IPv6 header is not 6' },
  { code: 'ipv6-ext-header-malformed', layer: Layer.Ipv6, severity: 'error', dedup: 'every', description: 'an extension header runs past the payload, or too many extension headers' },
  { code: 'ipv6-payload-truncated', layer: Layer.Ipv6, severity: 'info', dedup: 'per-capture', description: 'Payload Length exceeds the captured bytes' },
  { code: 'ipv6-jumbo-or-tso', layer: Layer.Ipv6, severity: 'info', dedup: 'per-capture', description: 'Payload Length 0 (jumbogram or TSO/GSO capture); the captured length is used' },
  { code: 'ipv6-fragment', layer: Layer.Ipv6, severity: 'info', dedup: 'per-connection', description: 'an IPv6 Fragment header; non-first fragments carry no transport header' },
  { code: 'ip-protocol-unsupported', layer: Layer.Ipv4, severity: 'info', dedup: 'per-capture', description: 'an IP protocol that is not decoded (GRE, ESP, SCTP...)' },
  { code: 'tcp-bad-header-length', layer: Layer.Tcp, severity: 'error', dedup: 'every', description: 'TCP data offset below 5 words' },
  { code: 'tcp-options-malformed', layer: Layer.Tcp, severity: 'warn', dedup: 'per-connection', description: 'a TCP option with length below 2 or past the header; the walk stops there' },
  { code: 'tcp-bad-checksum', layer: Layer.Tcp, severity: 'warn', dedup: 'every', description: 'TCP checksum wrong (only when checksum validation is on)' },
  { code: 'udp-bad-length', layer: Layer.Udp, severity: 'error', dedup: 'every', description: 'UDP Length below 8' },
  { code: 'udp-length-mismatch', layer: Layer.Udp, severity: 'warn', dedup: 'per-connection', description: 'UDP Length differs from the IP payload length' },
  { code: 'udp-bad-checksum', layer: Layer.Udp, severity: 'warn', dedup: 'every', description: 'UDP checksum wrong (only when checksum validation is on)' },
  { code: 'icmp-bad-checksum', layer: Layer.Icmpv4, severity: 'warn', dedup: 'every', description: 'ICMP checksum wrong (only when checksum validation is on)' },
  { code: 'vxlan-i-flag-clear', layer: Layer.Vxlan, severity: 'warn', dedup: 'per-capture', description: 'VXLAN header without the I (valid VNI) flag; decoded anyway' },
  { code: 'vxlan-reserved-nonzero', layer: Layer.Vxlan, severity: 'info', dedup: 'per-capture', description: 'VXLAN reserved bits set (ignored, as RFC 7348 says)' },
  { code: 'geneve-version-unsupported', layer: Layer.Geneve, severity: 'error', dedup: 'per-capture', description: 'GENEVE version other than 0' },
  { code: 'geneve-options-malformed', layer: Layer.Geneve, severity: 'error', dedup: 'every', description: 'a GENEVE option runs past the options length' },
  { code: 'geneve-critical-options', layer: Layer.Geneve, severity: 'info', dedup: 'per-capture', description: 'GENEVE C bit set: critical options present' },
  { code: 'gwlb-options-incomplete', layer: Layer.Geneve, severity: 'warn', dedup: 'per-capture', description: 'some but not all of the AWS GWLB options (class 0x0108 types 1-3) present' },
  { code: 'tunnel-protocol-unsupported', layer: Layer.Geneve, severity: 'info', dedup: 'per-capture', description: 'GENEVE Protocol Type other than Ethernet, IPv4, IPv6' },
  { code: 'tunnel-depth-exceeded', layer: Layer.Frame, severity: 'warn', dedup: 'per-capture', description: 'more nested tunnels than maxDepth; the rest is left undecoded' },
  { code: 'layer-limit-exceeded', layer: Layer.Frame, severity: 'warn', dedup: 'per-capture', description: 'more layers (VLAN tags...) than the decoder keeps; the rest is left undecoded' },
];

export const ANOMALIES: readonly AnomalyDef[] = defs.map((d, id) => Object.freeze({ ...d, id }));

const byCode = new Map(ANOMALIES.map((d) => [d.code, d]));

/** Numeric id of an anomaly code (throws RangeError on unknown codes: a programming error). */
export function anomalyId(code: string): number {
  const d = byCode.get(code);
  if (!d) throw new RangeError(`unknown anomaly code '${code}'`);
  return d.id;
}

/** Anomaly ids as constants for decoders (A.Ipv4Fragment, ...). */
export const A = {
  LinkTypeUnsupported: anomalyId('link-type-unsupported'),
  FrameTruncated: anomalyId('frame-truncated'),
  EtherTypeUnsupported: anomalyId('ethertype-unsupported'),
  Ipv4BadVersion: anomalyId('ipv4-bad-version'),
  Ipv4BadHeaderLength: anomalyId('ipv4-bad-header-length'),
  Ipv4OptionsMalformed: anomalyId('ipv4-options-malformed'),
  Ipv4PayloadTruncated: anomalyId('ipv4-payload-truncated'),
  Ipv4TsoLengthZero: anomalyId('ipv4-tso-length-zero'),
  Ipv4Fragment: anomalyId('ipv4-fragment'),
  Ipv4BadChecksum: anomalyId('ipv4-bad-checksum'),
  Ipv6BadVersion: anomalyId('ipv6-bad-version'),
  Ipv6ExtHeaderMalformed: anomalyId('ipv6-ext-header-malformed'),
  Ipv6PayloadTruncated: anomalyId('ipv6-payload-truncated'),
  Ipv6JumboOrTso: anomalyId('ipv6-jumbo-or-tso'),
  Ipv6Fragment: anomalyId('ipv6-fragment'),
  IpProtocolUnsupported: anomalyId('ip-protocol-unsupported'),
  TcpBadHeaderLength: anomalyId('tcp-bad-header-length'),
  TcpOptionsMalformed: anomalyId('tcp-options-malformed'),
  TcpBadChecksum: anomalyId('tcp-bad-checksum'),
  UdpBadLength: anomalyId('udp-bad-length'),
  UdpLengthMismatch: anomalyId('udp-length-mismatch'),
  UdpBadChecksum: anomalyId('udp-bad-checksum'),
  IcmpBadChecksum: anomalyId('icmp-bad-checksum'),
  VxlanIFlagClear: anomalyId('vxlan-i-flag-clear'),
  VxlanReservedNonZero: anomalyId('vxlan-reserved-nonzero'),
  GeneveVersionUnsupported: anomalyId('geneve-version-unsupported'),
  GeneveOptionsMalformed: anomalyId('geneve-options-malformed'),
  GeneveCriticalOptions: anomalyId('geneve-critical-options'),
  GwlbOptionsIncomplete: anomalyId('gwlb-options-incomplete'),
  TunnelProtocolUnsupported: anomalyId('tunnel-protocol-unsupported'),
  TunnelDepthExceeded: anomalyId('tunnel-depth-exceeded'),
  LayerLimitExceeded: anomalyId('layer-limit-exceeded'),
} as const;

/** One reported anomaly occurrence (allocated only when reported). */
export interface AnomalyRecord {
  code: string;
  severity: AnomalySeverity;
  layer: number;
  description: string;
  /** 1-based frame number of the first occurrence reported. */
  packetIndex: number;
  /** Connection uid, '' when not tied to a connection. */
  uid: string;
  /** Occurrences so far under the same de-duplication key (1 on first report). */
  count: number;
}

/**
 * Counts anomalies and decides which ones to report according to each one's de-duplication
 * policy. Memory: one entry per (code) for per-capture, per (code, uid) for per-connection.
 */
export class AnomalyLog {
  private readonly totals = new Float64Array(ANOMALIES.length);
  private readonly firstPacket = new Float64Array(ANOMALIES.length);
  private readonly seen = new Map<string, number>();

  /**
   * Counts one occurrence seen in packet `packetIndex` (1-based frame number) of connection `uid`;
   * returns the record to report when the de-duplication policy says so, else null.
   */
  record(id: number, packetIndex: number, uid = ''): AnomalyRecord | null {
    if (this.firstPacket[id] === 0) this.firstPacket[id] = packetIndex;
    if (!this.note(id, uid)) return null;
    const d = ANOMALIES[id]!;
    return { code: d.code, severity: d.severity, layer: d.layer, description: d.description, packetIndex, uid, count: this.total(id) };
  }

  /**
   * Counts one occurrence; returns true when it should be reported (first per its dedup key).
   */
  note(id: number, uid = ''): boolean {
    const def = ANOMALIES[id];
    if (!def) throw new RangeError(`unknown anomaly id ${id}`);
    this.totals[id]!++;
    if (def.dedup === 'every') return true;
    const key = def.dedup === 'per-capture' ? def.code : `${def.code}\u0000${uid}`;
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    return n === 0;
  }

  /** Total occurrences of an anomaly, reported or not. */
  total(id: number): number {
    return this.totals[id] ?? 0;
  }

  /** Codes with their totals and first frame (0 when counted with note() only), non-zero only. */
  summary(): { code: string; severity: AnomalySeverity; count: number; firstPacket: number; description: string }[] {
    const out: { code: string; severity: AnomalySeverity; count: number; firstPacket: number; description: string }[] = [];
    for (const d of ANOMALIES) {
      if (this.totals[d.id]! > 0) out.push({ code: d.code, severity: d.severity, count: this.totals[d.id]!, firstPacket: this.firstPacket[d.id]!, description: d.description });
    }
    return out;
  }

  /** Forgets per-connection keys of a finished connection (bounded memory in long runs). */
  forgetConnection(uid: string): void {
    for (const d of ANOMALIES) if (d.dedup === 'per-connection') this.seen.delete(`${d.code}\u0000${uid}`);
  }
}
