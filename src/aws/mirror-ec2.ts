/**
 * `aws mirror` against AWS (EC2 and ELBv2 APIs through the SDK): find the source interfaces of a
 * load balancer or target group, check the target (security group open to VXLAN from the sources,
 * an NLB's UDP 4789 listener, instance types where mirroring is not available), and make or remove
 * the tagged resources. `apply` converges: what the stack already has and matches is kept, what
 * differs is replaced, sessions for interfaces no longer named are removed.
 */
import {
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorFilterRuleCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  DeleteTrafficMirrorFilterCommand,
  DeleteTrafficMirrorFilterRuleCommand,
  DeleteTrafficMirrorSessionCommand,
  DeleteTrafficMirrorTargetCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeTrafficMirrorFiltersCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
  type NetworkInterface,
  type Tag,
  type TrafficMirrorFilter,
  type TrafficMirrorFilterRule,
  type TrafficMirrorSession,
  type TrafficMirrorTarget,
} from '@aws-sdk/client-ec2';
import { DescribeListenersCommand, DescribeLoadBalancersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsError, baseClientConfig } from '../capture/sources/aws-config.js';
import { parseCidr } from '../capture/filter.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { allRules, STACK_TAG, type MirrorSpec } from './mirror-spec.js';
import { describeTarget, ruleParams } from './mirror-render.js';

export interface AwsClients {
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  region: string | undefined;
}

export function makeClients(region: string | undefined, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const e = baseClientConfig('EC2', { region, env });
  const l = baseClientConfig('ELASTIC_LOAD_BALANCING_V2', { region, env });
  return { ec2: new EC2Client(e), elb: new ElasticLoadBalancingV2Client(l), region: e.region };
}

async function call<T>(what: string, action: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw awsError(e, what, action);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding the sources

/** The network interfaces of a load balancer by name (ENI description "ELB app/NAME/ID"). */
export async function loadBalancerInterfaces(c: AwsClients, name: string): Promise<{ enis: string[]; type: string }> {
  const lbs = await call(`--alb ${name}`, 'DescribeLoadBalancers (elasticloadbalancing:DescribeLoadBalancers)', () => c.elb.send(new DescribeLoadBalancersCommand({ Names: [name] })));
  const lb = lbs.LoadBalancers?.[0];
  if (!lb?.LoadBalancerArn) throw new MirrorlensError(ErrorCode.Aws, 'no such load balancer', { file: `--alb ${name}` });
  const m = /:loadbalancer\/((?:app|net|gwy)\/[^/]+\/[0-9a-f]+)$/.exec(lb.LoadBalancerArn);
  if (!m) throw new MirrorlensError(ErrorCode.Aws, `unexpected load balancer ARN ${lb.LoadBalancerArn}`, { file: `--alb ${name}` });
  const r = await call(`--alb ${name}`, 'DescribeNetworkInterfaces (ec2:DescribeNetworkInterfaces)', () =>
    c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: [`ELB ${m[1]}`] }] })),
  );
  const enis = (r.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!).filter(Boolean).sort();
  if (enis.length === 0) throw new MirrorlensError(ErrorCode.Aws, `no network interface described "ELB ${m[1]}"`, { file: `--alb ${name}` });
  return { enis, type: lb.Type ?? 'application' };
}

/** The network interfaces of a target group's registered targets (instances or IP addresses). */
export async function targetGroupInterfaces(c: AwsClients, arn: string): Promise<string[]> {
  const h = await call(arn, 'DescribeTargetHealth (elasticloadbalancing:DescribeTargetHealth)', () => c.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
  const ids = (h.TargetHealthDescriptions ?? []).map((d) => d.Target?.Id).filter((x): x is string => typeof x === 'string');
  const instances = ids.filter((x) => x.startsWith('i-'));
  const ips = ids.filter((x) => /^[0-9a-f:.]+$/i.test(x) && !x.startsWith('i-'));
  const out = new Set<string>();
  const add = (list: NetworkInterface[] | undefined, primaryOnly: boolean): void => {
    for (const n of list ?? []) if (n.NetworkInterfaceId && (!primaryOnly || n.Attachment?.DeviceIndex === 0)) out.add(n.NetworkInterfaceId);
  };
  if (instances.length) {
    const r = await call(arn, 'DescribeNetworkInterfaces (ec2:DescribeNetworkInterfaces)', () =>
      c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: instances }] })),
    );
    add(r.NetworkInterfaces, true);
  }
  if (ips.length) {
    const r = await call(arn, 'DescribeNetworkInterfaces (ec2:DescribeNetworkInterfaces)', () =>
      c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ips }] })),
    );
    add(r.NetworkInterfaces, false);
  }
  if (out.size === 0) throw new MirrorlensError(ErrorCode.Aws, 'no registered target with a network interface (Lambda targets cannot be mirrored)', { file: arn });
  return [...out].sort();
}

/** The network interfaces that hold these private addresses (`--source 10.0.2.30`): one per address, or an error naming it. */
export async function interfacesByAddress(c: AwsClients, addrs: readonly string[]): Promise<Map<string, string>> {
  const r = await call(`--source ${addrs.join(', ')}`, 'DescribeNetworkInterfaces (ec2:DescribeNetworkInterfaces)', () =>
    c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [...addrs] }] })),
  );
  const out = new Map<string, string>();
  for (const n of r.NetworkInterfaces ?? []) {
    const held = [n.PrivateIpAddress, ...(n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress)].filter((x): x is string => typeof x === 'string');
    for (const a of addrs) if (held.includes(a) && n.NetworkInterfaceId && !out.has(a)) out.set(a, n.NetworkInterfaceId);
  }
  const missing = addrs.filter((a) => !out.has(a));
  if (missing.length) throw new MirrorlensError(ErrorCode.Aws, `no network interface holds ${missing.join(', ')} in this region`, { file: `--source ${missing[0]}` });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * Instance families where Traffic Mirroring is not available (traffic-mirroring-network-limitations
 * page, checked 2026-12-05; the list changes: a warning, never a refusal).
 */
const NO_MIRRORING = /^(m6a|m6i|m6in|m7a|m7g|m7i|m8g|c6a|c6i|c6in|c6gn|c7a|c7g|c7i|c8g|r6a|r6i|r7a|r7g|r7i|x2idn|x2iedn|i4i|inf2|p5|trn1|hpc6a|hpc7a|t2)\./;

export interface CheckResult {
  /** Problems that will stop mirrored packets from arriving. */
  problems: string[];
  /** Things worth knowing. */
  notes: string[];
}

function protoAdmitsUdp(p: string | undefined): boolean {
  return p === '-1' || p === 'udp' || p === '17';
}

function cidrContains(cidr: string, ip: string): boolean {
  try {
    const c = parseCidr(cidr);
    const a = parseCidr(ip);
    if (c.family !== a.family) return false;
    let bits = c.prefixLength;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((c.address[i]! & mask) !== (a.address[i]! & mask)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Checks the spec against the account: target security group and listener, source instance types. */
export async function checkSpec(c: AwsClients, s: MirrorSpec): Promise<CheckResult> {
  const res: CheckResult = { problems: [], notes: [] };
  const ids = s.target.kind === 'network-interface' ? [...s.sources, s.target.id] : [...s.sources];
  const nis = await call(ids.join(','), 'DescribeNetworkInterfaces (ec2:DescribeNetworkInterfaces)', () => c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids })));
  const byId = new Map((nis.NetworkInterfaces ?? []).map((n) => [n.NetworkInterfaceId!, n]));
  for (const id of ids) if (!byId.has(id)) res.problems.push(`${id}: no such network interface in this account and region`);

  // Sources: requester-managed (load balancer, NAT gateway) interfaces, instance types.
  const instanceIds = new Map<string, string>();
  for (const eni of s.sources) {
    const n = byId.get(eni);
    if (!n) continue;
    if (n.RequesterManaged) res.notes.push(`${eni} is managed by AWS (${n.Description ?? 'a service'}): AWS limits which such interfaces can be mirrored; if the session is refused, mirror the targets' interfaces instead`);
    if (n.Attachment?.InstanceId) instanceIds.set(n.Attachment.InstanceId, eni);
  }
  if (instanceIds.size > 0) {
    const r = await call('source instances', 'DescribeInstances (ec2:DescribeInstances)', () => c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [...instanceIds.keys()] })));
    for (const resv of r.Reservations ?? []) {
      for (const i of resv.Instances ?? []) {
        const t = i.InstanceType ?? '';
        if (NO_MIRRORING.test(t) || t.endsWith('.metal')) {
          res.problems.push(`${instanceIds.get(i.InstanceId ?? '')} is attached to ${i.InstanceId} (${t}): Traffic Mirroring is not available on this instance type; capture on the host itself (tcpdump) or mirror another interface on the path`);
        }
      }
    }
  }

  if (s.target.kind === 'network-interface') {
    const t = byId.get(s.target.id);
    if (t) res.problems.push(...(await checkTargetSecurityGroups(c, t, s.sources.map((id) => byId.get(id)).filter((n): n is NetworkInterface => n !== undefined))));
  } else if (s.target.kind === 'network-load-balancer') {
    const l = await call(s.target.id, 'DescribeListeners (elasticloadbalancing:DescribeListeners)', () => c.elb.send(new DescribeListenersCommand({ LoadBalancerArn: s.target.id })));
    const udp = (l.Listeners ?? []).some((x) => x.Port === 4789 && (x.Protocol === 'UDP' || x.Protocol === 'TCP_UDP'));
    if (!udp) res.problems.push(`${s.target.id} has no UDP listener on port 4789: the session can be made but nothing is mirrored through it (add a UDP:4789 listener forwarding to the mirrorlens hosts)`);
    res.notes.push('behind the Network Load Balancer, the mirrorlens hosts receive VXLAN from the source interfaces\' addresses (UDP keeps the client address): their security groups must admit UDP 4789 from the sources');
  }
  return res;
}

/** Does some security group of the target admit UDP 4789 from every source? */
async function checkTargetSecurityGroups(c: AwsClients, target: NetworkInterface, sources: NetworkInterface[]): Promise<string[]> {
  const groupIds = (target.Groups ?? []).map((g) => g.GroupId!).filter(Boolean);
  if (groupIds.length === 0) return [];
  const r = await call(target.NetworkInterfaceId!, 'DescribeSecurityGroups (ec2:DescribeSecurityGroups)', () => c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds })));
  const perms = (r.SecurityGroups ?? []).flatMap((g) => g.IpPermissions ?? []);
  const problems: string[] = [];
  for (const src of sources) {
    const ip = src.PrivateIpAddress ?? '';
    const srcGroups = new Set((src.Groups ?? []).map((g) => g.GroupId));
    const admitted = perms.some((p) => {
      if (!protoAdmitsUdp(p.IpProtocol)) return false;
      if (p.IpProtocol !== '-1' && !((p.FromPort ?? 0) <= 4789 && (p.ToPort ?? 65535) >= 4789)) return false;
      if ((p.IpRanges ?? []).some((x) => x.CidrIp && cidrContains(x.CidrIp, ip))) return true;
      return (p.UserIdGroupPairs ?? []).some((g) => g.GroupId !== undefined && srcGroups.has(g.GroupId));
    });
    if (!admitted) {
      const viaPrefixList = perms.some((p) => protoAdmitsUdp(p.IpProtocol) && (p.PrefixListIds ?? []).length > 0);
      problems.push(
        `the target ${target.NetworkInterfaceId}'s security groups (${groupIds.join(', ')}) do not admit UDP 4789 (VXLAN) from ${src.NetworkInterfaceId} (${ip})${viaPrefixList ? ' unless a prefix list holds it (not checked)' : ''}: aws ec2 authorize-security-group-ingress --group-id ${groupIds[0]} --protocol udp --port 4789 --cidr ${ip}/32`,
      );
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The stack's resources

function tagged(tags: Tag[] | undefined, name: string): boolean {
  return (tags ?? []).some((t) => t.Key === STACK_TAG && t.Value === name);
}

function tagSpecifications(resourceType: 'traffic-mirror-target' | 'traffic-mirror-filter' | 'traffic-mirror-session', name: string) {
  return [{ ResourceType: resourceType, Tags: [{ Key: STACK_TAG, Value: name }, { Key: 'Name', Value: `mirrorlens-${name}` }] }];
}

export interface StackResources {
  targets: TrafficMirrorTarget[];
  filters: TrafficMirrorFilter[];
  sessions: TrafficMirrorSession[];
}

/** Everything tagged mirrorlens:stack=NAME (listed in full and matched by tag here). */
export async function findStack(c: AwsClients, name: string): Promise<StackResources> {
  const targets: TrafficMirrorTarget[] = [];
  const filters: TrafficMirrorFilter[] = [];
  const sessions: TrafficMirrorSession[] = [];
  let token: string | undefined;
  do {
    const r = await call(`stack ${name}`, 'DescribeTrafficMirrorTargets (ec2:DescribeTrafficMirrorTargets)', () => c.ec2.send(new DescribeTrafficMirrorTargetsCommand({ NextToken: token })));
    targets.push(...(r.TrafficMirrorTargets ?? []).filter((t) => tagged(t.Tags, name)));
    token = r.NextToken;
  } while (token);
  do {
    const r = await call(`stack ${name}`, 'DescribeTrafficMirrorFilters (ec2:DescribeTrafficMirrorFilters)', () => c.ec2.send(new DescribeTrafficMirrorFiltersCommand({ NextToken: token })));
    filters.push(...(r.TrafficMirrorFilters ?? []).filter((t) => tagged(t.Tags, name)));
    token = r.NextToken;
  } while (token);
  do {
    const r = await call(`stack ${name}`, 'DescribeTrafficMirrorSessions (ec2:DescribeTrafficMirrorSessions)', () => c.ec2.send(new DescribeTrafficMirrorSessionsCommand({ NextToken: token })));
    sessions.push(...(r.TrafficMirrorSessions ?? []).filter((t) => tagged(t.Tags, name)));
    token = r.NextToken;
  } while (token);
  return { targets, filters, sessions };
}

/** A comparable text for a rule, from the API's shape. */
function ruleKey(r: { TrafficDirection?: string; RuleNumber?: number; RuleAction?: string; Protocol?: number; SourceCidrBlock?: string; DestinationCidrBlock?: string; SourcePortRange?: { FromPort?: number; ToPort?: number }; DestinationPortRange?: { FromPort?: number; ToPort?: number } }): string {
  const pr = (x?: { FromPort?: number; ToPort?: number }) => (x ? `${x.FromPort}-${x.ToPort}` : '*');
  return [r.TrafficDirection, r.RuleNumber, r.RuleAction, r.Protocol ?? 'all', r.SourceCidrBlock, r.DestinationCidrBlock, pr(r.SourcePortRange), pr(r.DestinationPortRange)].join(' ');
}

function targetMatches(t: TrafficMirrorTarget, s: MirrorSpec): boolean {
  switch (s.target.kind) {
    case 'network-interface':
      return t.NetworkInterfaceId === s.target.id;
    case 'network-load-balancer':
      return t.NetworkLoadBalancerArn === s.target.id;
    case 'gateway-load-balancer-endpoint':
      return t.GatewayLoadBalancerEndpointId === s.target.id;
    default:
      return t.TrafficMirrorTargetId === s.target.id;
  }
}

export interface ApplyResult {
  created: string[];
  kept: string[];
  deleted: string[];
  /** Source ENI → VNI of its session, for 'listen --session VNI=NAME'. */
  sessions: { eni: string; sessionId: string; vni: number | undefined }[];
}

/** Makes the stack match the spec. Safe to run again: an unchanged spec changes nothing. */
export async function applySpec(c: AwsClients, s: MirrorSpec, log: (line: string) => void): Promise<ApplyResult> {
  const res: ApplyResult = { created: [], kept: [], deleted: [], sessions: [] };
  const have = await findStack(c, s.name);
  const ec2 = c.ec2;

  // Target
  let targetId: string;
  if (s.target.kind === 'existing-target') {
    targetId = s.target.id;
  } else {
    const mine = have.targets.find((t) => targetMatches(t, s));
    const other = have.targets.find((t) => !targetMatches(t, s));
    if (other && !mine) {
      throw new MirrorlensError(ErrorCode.Usage, `aws mirror: stack '${s.name}' already mirrors to ${other.TrafficMirrorTargetId} (${other.NetworkInterfaceId ?? other.NetworkLoadBalancerArn ?? other.GatewayLoadBalancerEndpointId}); destroy it first or choose another --name`);
    }
    if (mine) {
      targetId = mine.TrafficMirrorTargetId!;
      res.kept.push(targetId);
    } else {
      const r = await call(s.target.id, 'CreateTrafficMirrorTarget (ec2:CreateTrafficMirrorTarget)', () =>
        ec2.send(
          new CreateTrafficMirrorTargetCommand({
            ...(s.target.kind === 'network-interface' ? { NetworkInterfaceId: s.target.id } : s.target.kind === 'network-load-balancer' ? { NetworkLoadBalancerArn: s.target.id } : { GatewayLoadBalancerEndpointId: s.target.id }),
            Description: describeTarget(s),
            TagSpecifications: tagSpecifications('traffic-mirror-target', s.name),
          }),
        ),
      );
      targetId = r.TrafficMirrorTarget!.TrafficMirrorTargetId!;
      res.created.push(targetId);
      log(`created target ${targetId} (${s.target.id})`);
    }
  }

  // Filter and rules: keep matching rules, remove the others, add the missing ones.
  let filter = have.filters[0];
  if (!filter) {
    const r = await call(`stack ${s.name}`, 'CreateTrafficMirrorFilter (ec2:CreateTrafficMirrorFilter)', () =>
      ec2.send(new CreateTrafficMirrorFilterCommand({ Description: `mirrorlens ${s.name}: ${s.filter.source}`, TagSpecifications: tagSpecifications('traffic-mirror-filter', s.name) })),
    );
    filter = r.TrafficMirrorFilter!;
    res.created.push(filter.TrafficMirrorFilterId!);
    log(`created filter ${filter.TrafficMirrorFilterId}`);
  } else {
    res.kept.push(filter.TrafficMirrorFilterId!);
  }
  const filterId = filter.TrafficMirrorFilterId!;
  const want = new Map(allRules(s.filter).map((r) => [ruleKey(ruleParams(r)), r]));
  const existing: TrafficMirrorFilterRule[] = [...(filter.IngressFilterRules ?? []), ...(filter.EgressFilterRules ?? [])];
  for (const r of existing) {
    const k = ruleKey(r);
    if (want.has(k)) {
      want.delete(k);
      res.kept.push(r.TrafficMirrorFilterRuleId!);
    } else {
      await call(r.TrafficMirrorFilterRuleId!, 'DeleteTrafficMirrorFilterRule (ec2:DeleteTrafficMirrorFilterRule)', () => ec2.send(new DeleteTrafficMirrorFilterRuleCommand({ TrafficMirrorFilterRuleId: r.TrafficMirrorFilterRuleId! })));
      res.deleted.push(r.TrafficMirrorFilterRuleId!);
      log(`deleted rule ${r.TrafficMirrorFilterRuleId} (${k})`);
    }
  }
  for (const [k, rule] of want) {
    const r = await call(filterId, 'CreateTrafficMirrorFilterRule (ec2:CreateTrafficMirrorFilterRule)', () =>
      ec2.send(new CreateTrafficMirrorFilterRuleCommand({ TrafficMirrorFilterId: filterId, ...ruleParams(rule) })),
    );
    res.created.push(r.TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId!);
    log(`created rule ${r.TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId} (${k})`);
  }

  // Sessions: one per source; replaced when anything differs; removed for sources no longer named.
  for (const sess of have.sessions) {
    const same =
      s.sources.includes(sess.NetworkInterfaceId ?? '') &&
      sess.TrafficMirrorTargetId === targetId &&
      sess.TrafficMirrorFilterId === filterId &&
      sess.SessionNumber === s.sessionNumber &&
      (s.virtualNetworkId === undefined || sess.VirtualNetworkId === s.virtualNetworkId) &&
      (sess.PacketLength ?? undefined) === s.packetLength;
    if (same) {
      res.kept.push(sess.TrafficMirrorSessionId!);
      res.sessions.push({ eni: sess.NetworkInterfaceId!, sessionId: sess.TrafficMirrorSessionId!, vni: sess.VirtualNetworkId });
    } else {
      await call(sess.TrafficMirrorSessionId!, 'DeleteTrafficMirrorSession (ec2:DeleteTrafficMirrorSession)', () => ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: sess.TrafficMirrorSessionId! })));
      res.deleted.push(sess.TrafficMirrorSessionId!);
      log(`deleted session ${sess.TrafficMirrorSessionId} (${sess.NetworkInterfaceId})`);
    }
  }
  for (const eni of s.sources) {
    if (res.sessions.some((x) => x.eni === eni)) continue;
    const r = await call(eni, 'CreateTrafficMirrorSession (ec2:CreateTrafficMirrorSession)', () =>
      ec2.send(
        new CreateTrafficMirrorSessionCommand({
          NetworkInterfaceId: eni,
          TrafficMirrorTargetId: targetId,
          TrafficMirrorFilterId: filterId,
          SessionNumber: s.sessionNumber,
          VirtualNetworkId: s.virtualNetworkId,
          PacketLength: s.packetLength,
          Description: `mirrorlens ${s.name}: ${eni}`,
          TagSpecifications: tagSpecifications('traffic-mirror-session', s.name),
        }),
      ),
    );
    const sess = r.TrafficMirrorSession!;
    res.created.push(sess.TrafficMirrorSessionId!);
    res.sessions.push({ eni, sessionId: sess.TrafficMirrorSessionId!, vni: sess.VirtualNetworkId });
    log(`created session ${sess.TrafficMirrorSessionId} (${eni}${sess.VirtualNetworkId !== undefined ? `, VNI ${sess.VirtualNetworkId}` : ''})`);
  }
  res.sessions.sort((a, b) => (a.eni < b.eni ? -1 : 1));
  return res;
}

/** Removes the stack's sessions, then its filters (their rules go with them), then its targets. */
export async function destroyStack(c: AwsClients, name: string, dryRun: boolean, log: (line: string) => void): Promise<string[]> {
  const have = await findStack(c, name);
  const gone: string[] = [];
  for (const s of have.sessions) {
    if (!dryRun) await call(s.TrafficMirrorSessionId!, 'DeleteTrafficMirrorSession (ec2:DeleteTrafficMirrorSession)', () => c.ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: s.TrafficMirrorSessionId! })));
    gone.push(s.TrafficMirrorSessionId!);
    log(`${dryRun ? 'would delete' : 'deleted'} session ${s.TrafficMirrorSessionId} (${s.NetworkInterfaceId})`);
  }
  for (const f of have.filters) {
    if (!dryRun) await call(f.TrafficMirrorFilterId!, 'DeleteTrafficMirrorFilter (ec2:DeleteTrafficMirrorFilter)', () => c.ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: f.TrafficMirrorFilterId! })));
    gone.push(f.TrafficMirrorFilterId!);
    log(`${dryRun ? 'would delete' : 'deleted'} filter ${f.TrafficMirrorFilterId} and its ${(f.IngressFilterRules?.length ?? 0) + (f.EgressFilterRules?.length ?? 0)} rules`);
  }
  for (const t of have.targets) {
    if (!dryRun) await call(t.TrafficMirrorTargetId!, 'DeleteTrafficMirrorTarget (ec2:DeleteTrafficMirrorTarget)', () => c.ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: t.TrafficMirrorTargetId! })));
    gone.push(t.TrafficMirrorTargetId!);
    log(`${dryRun ? 'would delete' : 'deleted'} target ${t.TrafficMirrorTargetId}`);
  }
  return gone;
}
