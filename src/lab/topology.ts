/**
 * The lab's network: five network namespaces wired with veth pairs, built with iproute2, tc and
 * iptables, and always removed again.
 *
 *   client ──────── alb ──────── nlb ──────── target
 *   198.51.100.10   198.51.100.1 10.0.1.20     10.0.2.30:8080
 *                   10.0.1.10    (DNAT :80 → target, conntrack, RST on expired flows)
 *                   │ mir0             │ mir0
 *                   └──── collector ───┘     VXLAN (UDP 4789) with the mirrored frames
 *
 * Mirror sessions (VNI → mirrored interface), like VPC Traffic Mirroring sessions on ENIs:
 *   1001 alb-client-side  the ALB's client-facing interface (TLS from the client)
 *   1002 alb-target-side  the ALB's target-facing interface (plain HTTP to the NLB)
 *   1003 target-eni       the NLB's target-facing interface (what the target's ENI sees)
 * Each is `tc ... u32 match-all action mirred egress mirror` on ingress and egress into kernel
 * VXLAN devices whose remote is the collector: one per mirror target port the session goes to
 * (the lab's own complete capture on 4789, and a collector per mirror set being tried).
 *
 * The NLB's NAT mode (`nat`): `preserve` keeps the ALB's source ip:port (client IP preservation
 * on: DNAT only); `snat` also rewrites the source to the NLB's own address and a random port of
 * its own (client IP preservation off, the AWS default for IP targets) — sequence numbers pass
 * unchanged either way, as through a real NLB.
 */
import { exec } from './proc.js';

export const ADDR = {
  client: '198.51.100.10',
  albFront: '198.51.100.1',
  albBack: '10.0.1.10',
  nlbVip: '10.0.1.20',
  nlbPort: 80,
  nlbBack: '10.0.2.1',
  target: '10.0.2.30',
  targetPort: 8080,
  /** Mirror links: ALB ↔ collector and NLB ↔ collector (point-to-point /30s). */
  albMirror: '10.9.9.1',
  collectorFromAlb: '10.9.9.2',
  nlbMirror: '10.9.9.5',
  collectorFromNlb: '10.9.9.6',
  /** The name the client uses for the ALB (resolved with curl --resolve). */
  albHost: 'alb.mlab.test',
} as const;

/** Which ENIs a user mirrored: the ALB's (both its legs), the target's, or all. */
export type MirrorSet = 'lb' | 'target' | 'all';
export const MIRROR_SETS: readonly MirrorSet[] = ['lb', 'target', 'all'];

/** The NLB's NAT mode: client IP preservation on (`preserve`) or off (`snat`, the default for IP targets). */
export type NatMode = 'preserve' | 'snat';
export const NAT_MODES: readonly NatMode[] = ['preserve', 'snat'];

export interface MirrorSession {
  vni: number;
  name: string;
  /** Namespace role and interface mirrored. */
  role: 'alb' | 'nlb';
  dev: string;
}

export const MIRROR_SESSIONS: readonly MirrorSession[] = [
  { vni: 1001, name: 'alb-client-side', role: 'alb', dev: 'front0' },
  { vni: 1002, name: 'alb-target-side', role: 'alb', dev: 'back0' },
  { vni: 1003, name: 'target-eni', role: 'nlb', dev: 'back0' },
];

/** The sessions of a mirror set. */
export function sessionsOf(set: MirrorSet): MirrorSession[] {
  return MIRROR_SESSIONS.filter((m) => set === 'all' || (set === 'lb' ? m.role === 'alb' : m.role === 'nlb'));
}

/** A collector the mirror sessions are sent to: its VXLAN port and the VNIs it gets. */
export interface MirrorTarget {
  port: number;
  vnis: readonly number[];
}

export type Role = 'client' | 'alb' | 'nlb' | 'target' | 'collector';
export const ROLES: readonly Role[] = ['client', 'alb', 'nlb', 'target', 'collector'];

/** Prefix shared by every namespace the lab creates; `lab clean` removes namespaces starting with it. */
export const NS_PREFIX = 'mlab';

export interface TopologyOptions {
  /** Unique per run, e.g. `mlab1234-`. */
  prefix: string;
  /** NLB TCP idle timeout, seconds (conntrack established timeout in the NLB namespace). */
  nlbIdleSeconds: number;
  /** The NLB's NAT mode (default `preserve`). */
  nat?: NatMode;
  /** Where each session is mirrored to (default: every session to the collector's 4789). */
  mirrorTargets?: readonly MirrorTarget[];
}

export class Topology {
  readonly prefix: string;
  readonly ns: Record<Role, string>;
  private created: string[] = [];

  constructor(readonly opts: TopologyOptions) {
    this.prefix = opts.prefix;
    this.ns = {
      client: `${opts.prefix}client`,
      alb: `${opts.prefix}alb`,
      nlb: `${opts.prefix}nlb`,
      target: `${opts.prefix}target`,
      collector: `${opts.prefix}collector`,
    };
  }

  /**
   * Builds the whole network with one shell script (one process instead of ~80: each `ip netns
   * exec` costs ~0.1 s here). `set -e`: the first failing command stops it and is reported.
   */
  async up(): Promise<void> {
    const L: string[] = [];
    const inNs = (r: Role, cmd: string): void => {
      L.push(`ip netns exec ${this.ns[r]} ${cmd}`);
    };
    for (const r of ROLES) {
      L.push(`ip netns add ${this.ns[r]}`);
      L.push(`ip -n ${this.ns[r]} link set lo up`);
      // IPv4 only: no IPv6 router/neighbour solicitations in the mirror.
      inNs(r, 'sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1');
    }
    // veth pairs; offloads off so captures show wire-sized segments with real checksums.
    const link = (a: Role, aDev: string, aAddr: string, b: Role, bDev: string, bAddr: string, prefixLen: number, mtu = 1500): void => {
      L.push(`ip -n ${this.ns[a]} link add ${aDev} mtu ${mtu} type veth peer name ${bDev} mtu ${mtu} netns ${this.ns[b]}`);
      for (const [r, dev, addr] of [[a, aDev, aAddr], [b, bDev, bAddr]] as const) {
        L.push(`ip -n ${this.ns[r]} addr add ${addr}/${prefixLen} dev ${dev}`);
        inNs(r, `ethtool -K ${dev} tso off gso off gro off tx off >/dev/null 2>&1 || true`);
        L.push(`ip -n ${this.ns[r]} link set ${dev} up`);
      }
    };
    link('client', 'cl0', ADDR.client, 'alb', 'front0', ADDR.albFront, 24);
    link('alb', 'back0', ADDR.albBack, 'nlb', 'front0', ADDR.nlbVip, 24);
    link('nlb', 'back0', ADDR.nlbBack, 'target', 'eth0', ADDR.target, 24);
    // Jumbo mirror links, like the 9001-byte MTU of a VPC: a mirrored 1514-byte frame plus 50 bytes of VXLAN fits.
    link('alb', 'mir0', ADDR.albMirror, 'collector', 'fromalb', ADDR.collectorFromAlb, 30, 9001);
    link('nlb', 'mir0', ADDR.nlbMirror, 'collector', 'fromnlb', ADDR.collectorFromNlb, 30, 9001);
    L.push(`ip -n ${this.ns.client} route add default via ${ADDR.albFront}`);
    L.push(`ip -n ${this.ns.target} route add default via ${ADDR.nlbBack}`);

    // The NLB: DNAT VIP:80 → target:8080 with conntrack; the idle timeout scaled down; no
    // mid-stream pickup (tcp_loose=0), so a segment on an expired flow is INVALID and answered
    // with a TCP RST from the VIP, as an NLB does after its idle timeout.
    inNs('nlb', 'sysctl -q -w net.ipv4.ip_forward=1');
    inNs('nlb', `iptables -t nat -A PREROUTING -d ${ADDR.nlbVip} -p tcp --dport ${ADDR.nlbPort} -j DNAT --to-destination ${ADDR.target}:${ADDR.targetPort}`);
    // conntrack is instantiated in the namespace by the first rule using it; its sysctls exist after that.
    inNs('nlb', 'iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset');
    inNs('nlb', 'iptables -A INPUT -p tcp -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset');
    inNs('nlb', `sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0 net.netfilter.nf_conntrack_tcp_timeout_established=${Math.max(1, Math.round(this.opts.nlbIdleSeconds))}`);
    if (this.opts.nat === 'snat') {
      // Client IP preservation off: the NLB's own address and a port of its own toward the target.
      inNs('nlb', `iptables -t nat -A POSTROUTING -o back0 -p tcp -d ${ADDR.target} --dport ${ADDR.targetPort} -j SNAT --to-source ${ADDR.nlbVip} --random-fully`);
    }

    // Mirror sessions into VXLAN devices pointed at the collector. (u32 match-all: this kernel
    // build has no matchall classifier.)
    const targets = this.opts.mirrorTargets ?? [{ port: 4789, vnis: MIRROR_SESSIONS.map((m) => m.vni) }];
    for (const m of MIRROR_SESSIONS) {
      const n = this.ns[m.role];
      const [local, remote] = m.role === 'alb' ? [ADDR.albMirror, ADDR.collectorFromAlb] : [ADDR.nlbMirror, ADDR.collectorFromNlb];
      const devs: string[] = [];
      for (const t of targets) {
        if (!t.vnis.includes(m.vni)) continue;
        const vx = t.port === 4789 ? `vx${m.vni}` : `vx${m.vni}p${t.port}`;
        L.push(`ip -n ${n} link add ${vx} type vxlan id ${m.vni} local ${local} remote ${remote} dstport ${t.port} dev mir0`);
        L.push(`ip -n ${n} link set ${vx} up`);
        devs.push(vx);
      }
      if (devs.length === 0) continue;
      inNs(m.role, `tc qdisc add dev ${m.dev} clsact`);
      const actions = devs.map((d) => `action mirred egress mirror dev ${d}`).join(' ');
      for (const dir of ['ingress', 'egress']) inNs(m.role, `tc filter add dev ${m.dev} ${dir} prio 10 protocol all u32 match u32 0 0 ${actions}`);
    }
    for (const r of ROLES) this.created.push(this.ns[r]);
    await exec('sh', ['-ec', L.join('\n')]);
  }

  /**
   * syn-drop: the target's security group drops the SYNs, as AWS does at the target's ENI: after
   * the NLB (post-NAT addresses), before the ENI's mirror session (dropped packets are not
   * mirrored). A tc filter ahead of the mirror on the NLB's target-facing interface redirects them
   * into a tap (a veth pair whose far end the lab records: what the target ENI's flow log sees).
   */
  async dropSynsAtTarget(): Promise<string> {
    return this.redirectToTap('sgtap', 'egress', `match ip dst ${ADDR.target}/32 match ip dport ${ADDR.targetPort} 0xffff match u8 0x02 0x12 at 33`);
  }

  /**
   * icmp-unreachable: the NLB hop answers SYNs forwarded to the target with an ICMP error (after
   * the DNAT: the kernel translates the quoted header back, so the ALB sees its own SYN quoted).
   */
  async rejectSyns(how: 'icmp-host-unreachable' | 'icmp-port-unreachable' | 'icmp-admin-prohibited'): Promise<void> {
    await exec('iptables', ['-I', 'FORWARD', '1', '-p', 'tcp', '-d', ADDR.target, '--dport', String(ADDR.targetPort), '--syn', '-j', 'REJECT', '--reject-with', how], { ns: this.ns.nlb });
  }

  /**
   * nacl-return: the network ACL of the target's subnet has no outbound rule for the ephemeral
   * ports, so the target's SYN-ACKs to the load balancer are dropped on the way out: after the
   * target sent them, before the target ENI's mirror session (packets a network ACL drops are not
   * mirrored). A tc filter ahead of the mirror on the NLB's target-facing interface (ingress: what
   * the target sends) redirects them into a tap the lab records (what the target ENI's flow log
   * sees).
   */
  async dropSynAcksFromTarget(): Promise<string> {
    return this.redirectToTap('acltap', 'ingress', `match ip src ${ADDR.target}/32 match ip sport ${ADDR.targetPort} 0xffff match u8 0x12 0x12 at 33`);
  }

  /**
   * Redirects the TCP packets `match` selects on the NLB's target-facing interface (`hook`: egress,
   * what goes to the target; ingress, what the target sends) into a veth pair `<tap>0`/`<tap>1`,
   * ahead of the interface's mirror: they are dropped there, and recorded on `<tap>1`, which is
   * returned. What arrives on the tap is only recorded, never routed on.
   */
  private async redirectToTap(tap: string, hook: 'egress' | 'ingress', match: string): Promise<string> {
    const n = this.ns.nlb;
    const L = [
      `ip -n ${n} link add ${tap}0 type veth peer name ${tap}1`,
      `ip -n ${n} link set ${tap}0 up`,
      `ip -n ${n} link set ${tap}1 up`,
      `ip netns exec ${n} iptables -t raw -A PREROUTING -i ${tap}1 -j DROP`,
      `ip netns exec ${n} tc qdisc add dev back0 clsact 2>/dev/null || true`,
      `ip netns exec ${n} tc filter add dev back0 ${hook} prio 1 protocol ip u32 match ip protocol 6 0xff ${match} action mirred egress redirect dev ${tap}0`,
    ];
    await exec('sh', ['-ec', L.join('\n')]);
    return `${tap}1`;
  }

  /**
   * keepalive-race: hold the target's FIN (and the RST behind it) on the NLB → ALB hop for
   * about `holdMs`, so that it crosses the ALB's next request the way a FIN in flight does.
   * This kernel build has no netem, so the hold is an HTB class that every target→ALB payload
   * segment charges (the response to the previous request): the FIN that follows waits until the
   * class has tokens again.
   */
  async holdTargetFins(holdMs: number, chargeBytes: number): Promise<void> {
    const n = this.ns.nlb;
    // rate such that `chargeBytes` on the wire takes holdMs: bits / seconds.
    const rate = Math.max(8, Math.round((chargeBytes * 8) / (holdMs / 1000)));
    await exec('tc', ['qdisc', 'add', 'dev', 'front0', 'root', 'handle', '1:', 'htb', 'default', '1'], { ns: n });
    await exec('tc', ['class', 'add', 'dev', 'front0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit'], { ns: n });
    await exec('tc', ['class', 'add', 'dev', 'front0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', `${rate}bit`, 'ceil', `${rate}bit`, 'burst', '1', 'cburst', '1'], { ns: n, allowFail: false });
    // Everything leaving front0 comes from the target side. (No source match: in mangle
    // POSTROUTING replies still carry the target's address; the NAT reversal comes later.)
    const base = ['-t', 'mangle', '-A', 'POSTROUTING', '-o', 'front0', '-p', 'tcp'];
    await exec('iptables', [...base, '--tcp-flags', 'FIN', 'FIN', '-j', 'CLASSIFY', '--set-class', '1:10'], { ns: n });
    await exec('iptables', [...base, '--tcp-flags', 'RST', 'RST', '-j', 'CLASSIFY', '--set-class', '1:10'], { ns: n });
    await exec('iptables', [...base, '--tcp-flags', 'SYN', 'NONE', '-m', 'length', '--length', '120:65535', '-j', 'CLASSIFY', '--set-class', '1:10'], { ns: n });
  }

  /**
   * h2-goaway: the client's uplink to the ALB at `kbit` (an HTB class; no netem here). curl hands
   * its streams to the connection one transfer at a time; on a loaded machine it sent stream 3 and
   * read the GOAWAY it triggered before sending 5, 7 and 9 (measured: nothing was cut, 1 run in 6).
   * Queued behind the client's earlier packets, stream 3 reaches the ALB tens of milliseconds after
   * curl sent it, so the GOAWAY comes back after curl has sent them all.
   */
  async shapeClientUplink(kbit: number): Promise<void> {
    const n = this.ns.client;
    await exec('tc', ['qdisc', 'add', 'dev', 'cl0', 'root', 'handle', '1:', 'htb', 'default', '10'], { ns: n });
    await exec('tc', ['class', 'add', 'dev', 'cl0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`, 'burst', '1', 'cburst', '1'], { ns: n });
  }

  /** Removes every namespace this topology created (which removes their interfaces too). */
  async down(): Promise<void> {
    for (const name of this.created.reverse()) {
      await exec('ip', ['netns', 'del', name], { allowFail: true });
    }
    this.created = [];
  }
}

/** Namespaces left by lab runs (`lab clean`, tests). */
export async function labNamespaces(prefix = NS_PREFIX): Promise<string[]> {
  const r = await exec('ip', ['netns', 'list'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
