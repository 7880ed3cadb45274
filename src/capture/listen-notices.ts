/**
 * What `mirrorlens listen` tells the operator besides counters: notices limited per kind (a flood
 * of new VNIs must not become a flood of stderr lines), the checklist when nothing arrives, and
 * the MTU advice when mirrored packets arrive cut. Facts: /docs/listen.md and AWS's Traffic
 * Mirroring documentation (packet length, MTU: 54 bytes of VXLAN over IPv4, 74 over IPv6).
 */
import type { BoundSocket } from './listen-engines.js';

/**
 * At most `perWindow` lines of each kind per `windowMs`; the rest are counted and summarised in
 * one line per kind when the window ends ("… 3 812 more new capture points in the last 60 s").
 */
export class NoticeLimiter {
  private windowStart: number;
  private readonly shown = new Map<string, number>();
  private readonly held = new Map<string, { count: number; what: string }>();

  constructor(
    private readonly out: (line: string) => void,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /** Shows `line`, or counts it under `what` (a plural noun phrase for the summary). */
  say(kind: string, line: string, what: string): void {
    this.tick();
    const n = this.shown.get(kind) ?? 0;
    if (n < this.perWindow) {
      this.shown.set(kind, n + 1);
      this.out(n + 1 === this.perWindow ? `${line} (more of these are summarised once a minute)` : line);
      return;
    }
    const h = this.held.get(kind);
    if (h) h.count++;
    else this.held.set(kind, { count: 1, what });
  }

  /** Ends the window when it is over: one summary line per kind that was held back. */
  tick(): void {
    const t = this.now();
    if (t - this.windowStart < this.windowMs) return;
    const secs = Math.round((t - this.windowStart) / 1000);
    for (const h of this.held.values()) this.out(`listen: ${h.count} more ${h.what} in the last ${secs} s (not shown one by one; counts in /metrics)`);
    this.held.clear();
    this.shown.clear();
    this.windowStart = t;
  }
}

/** The checklist printed once when no datagram arrived in `seconds` (docs/listen.md). */
export function noTrafficChecklist(seconds: number, bound: readonly BoundSocket[], ifname?: string): string[] {
  if (ifname) {
    return [
      `listen: no packet on ${ifname} in ${seconds} s. Check: the interface is up and carries traffic (ip -s link show ${ifname}); ` +
        `the name is right (ip link); nothing else holds the traffic away (a bond or bridge member shows it on the master).`,
    ];
  }
  const ports = [...new Set(bound.map((b) => `UDP ${b.port} (${b.kind === 'vxlan' ? 'VXLAN' : 'GENEVE'})`))].join(' and ');
  const addrs = [...new Set(bound.map((b) => (b.address.includes(':') ? `[${b.address}]` : b.address)))].join(', ');
  return [
    `listen: no datagram in ${seconds} s on ${ports || 'the mirror ports'} (bound to ${addrs || 'nothing'}). What stops mirrored traffic, in the order to check:`,
    `  1. security group of this target's ENI: an inbound rule for ${ports || 'UDP 4789'} from the mirror sources (their ENIs' addresses or subnets)`,
    `  2. network ACL of this target's subnet: inbound UDP 4789 (6081 for GWLB) allowed, and the outbound rule of the sources' subnet`,
    `  3. the session's filter: it needs accept rules, in the direction(s) wanted (no matching rule = not mirrored): aws ec2 describe-traffic-mirror-filters`,
    `  4. the session: it exists, on the right source ENI, pointing at this target: aws ec2 describe-traffic-mirror-sessions`,
    `  5. the session's target: the mirror target is this instance's ENI (or an NLB/GWLB endpoint that forwards UDP 4789 to this host): aws ec2 describe-traffic-mirror-targets`,
    `  6. the host firewall: iptables -S / nft list ruleset must accept UDP 4789 (and 6081) in`,
    `  7. the port: AWS always sends VXLAN to UDP 4789; --vxlan-port must be 4789 unless a load balancer forwards to another port; --bind must include the address the traffic is sent to`,
    `  Then: the mirrored ENI must carry traffic right now; see what reaches the host with: tcpdump -ni any udp port 4789`,
  ];
}

/**
 * The MTU advice, once, when a mirrored packet arrived cut: its inner IP header declares more
 * bytes than were mirrored.
 */
export function truncationAdvice(kept: number, original: number): string[] {
  return [
    `listen: mirrored packets arrive cut (first one: ${kept} of ${original} bytes); the pcapng keeps their original length. AWS cuts a mirrored packet ` +
      `to the session's PacketLength, and to the target's MTU when the packet plus the 54-byte VXLAN encapsulation (74 over IPv6) does not fit. For whole ` +
      `packets: leave the session's packet length unset, and give the target an MTU 54 bytes (74 for IPv6) above the sources' (jumbo 9001 targets: set the ` +
      `sources' MTU to at most 8947), or accept cut packets (headers are enough for most findings). Counted as mirror-truncated in the status line and /metrics.`,
  ];
}
