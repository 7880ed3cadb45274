/**
 * VPC flow-log lines (default version-2 format, aws-facts §5.1) for what the lab's firewall did:
 * `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status`.
 * One line per flow and direction as an ENI's flow log would have it: the NLB's ENI rejects the
 * ALB's SYNs (REJECT), and accepted flows are logged with ACCEPT.
 */
import type { Pkt } from './packets.js';
import { SYN, ACK } from './packets.js';

export const LAB_ACCOUNT = '123456789012';
export const NLB_ENI = 'eni-0a1b2c3d4e5f60718';

interface Agg {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  reject: boolean;
}

/**
 * Builds flow-log lines for the ALB ↔ NLB flows seen on the ALB's target side. A flow whose SYNs
 * never got a SYN-ACK is REJECT (`rejectedByFirewall` says the lab's firewall dropped them).
 * `ipBytes(p)` is the IP length of a packet (TCP payload + 52 header bytes as the lab's Linux
 * peers send them, with timestamps; 60 for a SYN).
 */
export function flowLogLines(pkts: readonly Pkt[], rejectedByFirewall: boolean): string[] {
  const flows = new Map<string, Agg>();
  const answered = new Set<string>();
  for (const p of pkts) {
    if (p.side !== 'alb-target-side') continue;
    if ((p.flags & (SYN | ACK)) === (SYN | ACK)) answered.add(`${p.dst}:${p.dport}>${p.src}:${p.sport}`);
  }
  for (const p of pkts) {
    if (p.side !== 'alb-target-side') continue;
    const key = `${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    let a = flows.get(key);
    if (!a) {
      a = { src: p.src, sport: p.sport, dst: p.dst, dport: p.dport, packets: 0, bytes: 0, start: p.time, end: p.time, reject: false };
      flows.set(key, a);
    }
    a.packets++;
    a.bytes += p.len + (p.flags & SYN ? 60 : 52);
    a.end = p.time;
  }
  const lines: string[] = [];
  for (const [key, a] of flows) {
    const reject = rejectedByFirewall && !answered.has(key) && a.dport === 80;
    lines.push(
      ['2', LAB_ACCOUNT, NLB_ENI, a.src, a.dst, a.sport, a.dport, 6, a.packets, a.bytes, Math.floor(a.start), Math.ceil(a.end), reject ? 'REJECT' : 'ACCEPT', 'OK'].join(' '),
    );
  }
  return lines;
}
