/**
 * What `mirrorlens aws mirror` sets up: a VPC Traffic Mirroring target, one filter with its rules
 * (from the rules file `listen --filter` reads, or a default), and one session per source network
 * interface, all tagged `mirrorlens:stack = NAME` so that `apply` finds what it made before and
 * `destroy` removes exactly that.
 *
 * AWS facts used (https://docs.aws.amazon.com/vpc/latest/mirroring/):
 * - targets are a network interface, a Network Load Balancer (a UDP 4789 listener) or a Gateway
 *   Load Balancer endpoint; an interface cannot be a source and a target at once;
 * - sessions: number 1-32766 (lower = evaluated first), at most 3 per source interface;
 *   VirtualNetworkId is the VXLAN VNI (random and account-unique when not given); PacketLength
 *   truncates each mirrored packet to that many bytes after the VXLAN header (1-8500 for an NLB);
 * - a filter holds at most 10 rules; rule numbers are unique per direction; protocol is an IANA
 *   number, ports apply to TCP/UDP only; no matching rule → not mirrored.
 */
import { isIP } from 'node:net';
import type { MirrorFilter, MirrorFilterRule } from '../capture/filter.js';
import { parseMirrorFilter } from '../capture/filter.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const STACK_TAG = 'mirrorlens:stack';
export const MAX_RULES_PER_FILTER = 10;
export const MAX_SESSIONS_PER_SOURCE = 3;
/** Bytes Traffic Mirroring adds to each packet (VXLAN encapsulation, IPv4 / IPv6 outer header). */
export const MIRROR_OVERHEAD_IPV4 = 54;
export const MIRROR_OVERHEAD_IPV6 = 74;
/** Largest source MTU mirrored without truncation to a standalone target (9001 - 54). */
export const MAX_UNTRUNCATED_MTU = 8947;
/** Largest packet a Gateway Load Balancer delivers without truncation (8500 - 54). */
export const GWLB_MAX_UNTRUNCATED = 8446;

export type TargetKind = 'network-interface' | 'network-load-balancer' | 'gateway-load-balancer-endpoint' | 'existing-target';

export interface TargetSpec {
  kind: TargetKind;
  /** eni-..., the NLB's ARN, vpce-..., or tmt-... */
  id: string;
}

export interface MirrorSpec {
  /** Stack name: the value of every resource's mirrorlens:stack tag. */
  name: string;
  /** Source network interfaces (eni-...), resolved. */
  sources: string[];
  target: TargetSpec;
  /** Filter rules, by direction then number. */
  filter: MirrorFilter;
  /** True when the rules came from the built-in default (no --filter). */
  defaultFilter: boolean;
  sessionNumber: number;
  virtualNetworkId: number | undefined;
  packetLength: number | undefined;
}

const ENI = /^eni-[0-9a-f]{8,17}$/;
const VPCE = /^vpce-[0-9a-f]{8,17}$/;
const TMT = /^tmt-[0-9a-f]{8,17}$/;
const NLB_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** A private address given as a source (`--source 10.0.2.30`): its interface is looked up. */
export function isSourceAddress(s: string): boolean {
  return isIP(s) !== 0;
}

export function parseSourceId(s: string): string {
  if (!ENI.test(s) && !isSourceAddress(s)) throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --source wants a network interface id (eni-...) or a private IP address, got '${s}'`);
  return s;
}

/** `--target`: eni-..., an NLB ARN, vpce-... (GWLB endpoint) or tmt-... (an existing target). */
export function parseTarget(s: string): TargetSpec {
  if (ENI.test(s)) return { kind: 'network-interface', id: s };
  if (NLB_ARN.test(s)) return { kind: 'network-load-balancer', id: s };
  if (VPCE.test(s)) return { kind: 'gateway-load-balancer-endpoint', id: s };
  if (TMT.test(s)) return { kind: 'existing-target', id: s };
  if (/^arn:.*:loadbalancer\/(app|gwy)\//.test(s)) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --target: only a Network Load Balancer can be a mirror target (for a Gateway Load Balancer give its endpoint, vpce-...), got '${s}'`);
  }
  throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --target wants eni-..., a Network Load Balancer ARN, vpce-... or tmt-..., got '${s}'`);
}

/** The default filter: all TCP, both directions, IPv4 (mirrorlens analyses TCP). */
export const DEFAULT_FILTER_TEXT = `ingress:
  - { ruleNumber: 100, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, description: all TCP in }
egress:
  - { ruleNumber: 100, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, description: all TCP out }
`;

export function defaultFilter(): MirrorFilter {
  return parseMirrorFilter(DEFAULT_FILTER_TEXT, '(default: all TCP)');
}

export function allRules(f: MirrorFilter): MirrorFilterRule[] {
  return [...f.ingress, ...f.egress];
}

/** Checks what AWS would refuse, before anything is planned or made. */
export function validateSpec(s: MirrorSpec): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s.name)) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --name must be 1-63 letters, digits, '.', '_' or '-', got '${s.name}'`);
  }
  if (s.sources.length === 0) throw new MirrorlensError(ErrorCode.Usage, 'aws mirror: no source network interface (give --source eni-..., --alb NAME or --target-group ARN)');
  if (s.target.kind === 'network-interface' && s.sources.includes(s.target.id)) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: ${s.target.id} cannot be both a source and the target (AWS does not allow it)`);
  }
  const rules = allRules(s.filter);
  if (rules.length === 0) throw new MirrorlensError(ErrorCode.Usage, `aws mirror: the filter ${s.filter.source} has no rule: nothing would be mirrored`);
  if (rules.length > MAX_RULES_PER_FILTER) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: the filter ${s.filter.source} has ${rules.length} rules; AWS allows ${MAX_RULES_PER_FILTER} per filter`);
  }
  if (!Number.isInteger(s.sessionNumber) || s.sessionNumber < 1 || s.sessionNumber > 32766) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --session-number must be 1-32766, got ${s.sessionNumber}`);
  }
  if (s.virtualNetworkId !== undefined && (!Number.isInteger(s.virtualNetworkId) || s.virtualNetworkId < 0 || s.virtualNetworkId > 0xffffff)) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --vni must be a 24-bit VXLAN id (0-16777215), got ${s.virtualNetworkId}`);
  }
  if (s.packetLength !== undefined) {
    const max = s.target.kind === 'network-load-balancer' ? 8500 : 65535;
    if (!Number.isInteger(s.packetLength) || s.packetLength < 1 || s.packetLength > max) {
      throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --packet-length must be 1-${max}${max === 8500 ? ' for a Network Load Balancer target' : ''}, got ${s.packetLength}`);
    }
  }
}

/** The advice every plan carries about truncation (AWS: traffic-mirroring-network-limitations). */
export function mtuAdvice(s: MirrorSpec): string[] {
  const out: string[] = [];
  if (s.packetLength !== undefined) {
    out.push(
      `--packet-length ${s.packetLength}: each mirrored packet is cut to ${s.packetLength} bytes after the VXLAN header; TLS records and HTTP bodies beyond that cannot be decrypted or parsed (leave it unset to mirror whole packets)`,
    );
  }
  if (s.target.kind === 'network-interface' || s.target.kind === 'existing-target') {
    out.push(
      `mirroring adds ${MIRROR_OVERHEAD_IPV4} bytes (IPv4; ${MIRROR_OVERHEAD_IPV6} for IPv6): to a standalone target, packets larger than its MTU minus that are truncated. With jumbo frames (MTU 9001) set the sources' MTU to ${MAX_UNTRUNCATED_MTU} or less (ip link set dev eth0 mtu ${MAX_UNTRUNCATED_MTU}); 'mirrorlens listen' counts truncated packets`,
    );
  } else if (s.target.kind === 'gateway-load-balancer-endpoint') {
    out.push(`a Gateway Load Balancer carries at most 8500 bytes: mirrored packets larger than ${GWLB_MAX_UNTRUNCATED} bytes (IPv4) are truncated; the appliances behind it receive GENEVE on UDP 6081 and must admit it from the load balancer`);
  } else {
    out.push('a Network Load Balancer target mirrors at most 8500 bytes of each packet (the default PacketLength for NLB targets), and needs a UDP listener on port 4789');
  }
  return out;
}
