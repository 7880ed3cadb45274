/**
 * ICMP errors that quote a TCP segment (destination unreachable, time exceeded, ...): made into an
 * IcmpErrorEvent naming the connection the quoted segment belongs to. Rare, so made of strings
 * here, never per TCP packet (FlowTable.ingest and the survey call it for ICMP packets only).
 */
import type { PacketRecord } from '../capture/record.js';
import { ipv4ToString } from '../wire/ipv4.js';
import type { PacketDecoder } from '../wire/packet.js';
import type { IcmpErrorEvent } from './options.js';

/** The event for a decoded ICMPv4 error quoting a TCP segment, or null for any other packet. */
export function icmpErrorEvent(rec: PacketRecord, pkt: PacketDecoder, capturePoint: string): IcmpErrorEvent | null {
  const ic = pkt.icmp;
  if (pkt.transport !== 1 || !pkt.icmpOk || !ic.isError || ic.embeddedIpVersion !== 4 || ic.embeddedProtocol !== 6 || ic.embeddedSrcPort < 0 || pkt.ipVersion !== 4) return null;
  return {
    time: rec.time,
    capturePoint,
    from: ipv4ToString(pkt.ip4.src),
    type: ic.type,
    code: ic.code,
    srcAddr: ipv4ToString(ic.embeddedIp4.src),
    srcPort: ic.embeddedSrcPort,
    dstAddr: ipv4ToString(ic.embeddedIp4.dst),
    dstPort: ic.embeddedDstPort,
  };
}
