/**
 * VPC flow-log lines (default version-2 format, aws-facts §5.1) for the lab's run, as a VPC-wide
 * flow log would hold them: `version account-id interface-id srcaddr dstaddr srcport dstport
 * protocol packets bytes start end action log-status`, one line per flow and direction, each with
 * the addresses its ENI saw:
 * - the ALB's ENI: its connections to the NLB (before the NAT), ACCEPT;
 * - the target's ENI: the NLB's connections to the target (after the NAT: the ALB's ip:port with
 *   client IP preservation, the NLB's own address and port without), ACCEPT, and REJECT for the
 *   SYNs its security group dropped (recorded by the lab's tap, since dropped packets are not
 *   mirrored).
 */
import type { Pkt } from './packets.js';
import { exec } from './proc.js';
import { SYN } from './packets.js';

export const LAB_ACCOUNT = '123456789012';
export const ALB_ENI = 'eni-0a1b2c3d4e5f60718';
export const TARGET_ENI = 'eni-0fedcba9876543210';

/** A SYN the target's security group dropped, as the tap recorded it. */
export interface DroppedSyn {
  time: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

interface Agg {
  eni: string;
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

/** The SYNs (or, `synAck`, the SYN-ACKs) in one of the lab's drop-tap captures (read with tshark). */
export async function readDroppedSyns(pcap: string, synAck = false): Promise<DroppedSyn[]> {
  const r = await exec('tshark', ['-n', '-r', pcap, '-Y', `tcp.flags.syn == 1 && tcp.flags.ack == ${synAck ? 1 : 0}`, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport'], { allowFail: true });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [t, src, sport, dst, dport] = l.split('\t');
      return { time: Number(t), src: src!, sport: Number(sport), dst: dst!, dport: Number(dport) };
    });
}

export function flowLogLines(pkts: readonly Pkt[], dropped: readonly DroppedSyn[]): string[] {
  const flows = new Map<string, Agg>();
  const add = (eni: string, src: string, sport: number, dst: string, dport: number, time: number, bytes: number, reject: boolean): void => {
    const key = `${eni} ${src}:${sport}>${dst}:${dport}`;
    let a = flows.get(key);
    if (!a) {
      a = { eni, src, sport, dst, dport, packets: 0, bytes: 0, start: time, end: time, reject };
      flows.set(key, a);
    }
    a.packets++;
    a.bytes += bytes;
    a.end = time;
  };
  // IP length: TCP payload + 52 header bytes as the lab's Linux peers send them (timestamps on), 60 for a SYN.
  const ipLen = (p: Pkt) => p.len + (p.flags & SYN ? 60 : 52);
  for (const p of pkts) {
    if (p.side === 'alb-target-side') add(ALB_ENI, p.src, p.sport, p.dst, p.dport, p.time, ipLen(p), false);
    else if (p.side === 'target-eni') add(TARGET_ENI, p.src, p.sport, p.dst, p.dport, p.time, ipLen(p), false);
  }
  for (const d of dropped) add(TARGET_ENI, d.src, d.sport, d.dst, d.dport, d.time, 60, true);
  const lines: string[] = [];
  for (const a of [...flows.values()].sort((x, y) => x.start - y.start)) {
    lines.push([2, LAB_ACCOUNT, a.eni, a.src, a.dst, a.sport, a.dport, 6, a.packets, a.bytes, Math.floor(a.start), Math.ceil(a.end), a.reject ? 'REJECT' : 'ACCEPT', 'OK'].join(' '));
  }
  return lines;
}
