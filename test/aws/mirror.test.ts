// `aws mirror plan|apply|destroy` through the real AWS SDK against a local EC2 + ELBv2 endpoint that
// checks every request against the API model the SDK ships (fake-aws.ts), and the CloudFormation
// template against the resource types' published property schemas.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../cli-harness.js';
import { startFakeAws, type FakeAws, type FakeWorld } from './fake-aws.js';

// Facts from the CloudFormation resource schemas (the registry schemas as cfn-lint ships them:
// https://github.com/aws-cloudformation/cfn-lint/tree/main/src/cfnlint/data/schemas/providers/us_east_1,
// files aws-ec2-trafficmirrortarget.json, -trafficmirrorfilter.json, -trafficmirrorfilterrule.json,
// -trafficmirrorsession.json). Every one has additionalProperties: false. Id / TrafficMirrorFilterRuleId
// are read-only (never written by a template).
type PropType = 'string' | 'integer' | 'tags' | 'strings' | 'portRange' | 'direction' | 'action' | 'ipv4-network';
const SCHEMAS: Record<string, { props: Record<string, PropType>; required: string[] }> = {
  'AWS::EC2::TrafficMirrorTarget': {
    props: { Description: 'string', GatewayLoadBalancerEndpointId: 'string', NetworkInterfaceId: 'string', NetworkLoadBalancerArn: 'string', Tags: 'tags' },
    required: [],
  },
  'AWS::EC2::TrafficMirrorFilter': { props: { Description: 'string', NetworkServices: 'strings', Tags: 'tags' }, required: [] },
  'AWS::EC2::TrafficMirrorFilterRule': {
    props: {
      Description: 'string',
      DestinationCidrBlock: 'ipv4-network',
      DestinationPortRange: 'portRange',
      Protocol: 'integer',
      RuleAction: 'action',
      RuleNumber: 'integer',
      SourceCidrBlock: 'ipv4-network',
      SourcePortRange: 'portRange',
      Tags: 'tags',
      TrafficDirection: 'direction',
      TrafficMirrorFilterId: 'string',
    },
    required: ['RuleAction', 'SourceCidrBlock', 'RuleNumber', 'DestinationCidrBlock', 'TrafficMirrorFilterId', 'TrafficDirection'],
  },
  'AWS::EC2::TrafficMirrorSession': {
    props: { Description: 'string', NetworkInterfaceId: 'string', PacketLength: 'integer', SessionNumber: 'integer', Tags: 'tags', TrafficMirrorFilterId: 'string', TrafficMirrorTargetId: 'string', VirtualNetworkId: 'integer' },
    required: ['TrafficMirrorTargetId', 'NetworkInterfaceId', 'TrafficMirrorFilterId', 'SessionNumber'],
  },
};

/** Violations of the schemas above (and dangling Refs) in a template. */
function checkTemplate(t: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }): string[] {
  const bad: string[] = [];
  const isRef = (v: unknown): boolean => typeof v === 'object' && v !== null && 'Ref' in v && typeof (v as { Ref: unknown }).Ref === 'string';
  for (const [id, r] of Object.entries(t.Resources)) {
    const s = SCHEMAS[r.Type];
    if (!s) {
      bad.push(`${id}: unknown type ${r.Type}`);
      continue;
    }
    for (const req of s.required) if (r.Properties[req] === undefined) bad.push(`${id}: required ${req} missing`);
    for (const [k, v] of Object.entries(r.Properties)) {
      const type = s.props[k];
      if (!type) {
        bad.push(`${id}: ${k} is not a property of ${r.Type}`);
        continue;
      }
      if (isRef(v)) {
        if (!t.Resources[(v as { Ref: string }).Ref]) bad.push(`${id}: ${k} refers to a missing resource`);
        continue;
      }
      const ok =
        type === 'string' ? typeof v === 'string'
        : type === 'integer' ? Number.isInteger(v)
        : type === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string')
        : type === 'tags' ? Array.isArray(v) && v.every((x: { Key?: unknown; Value?: unknown }) => typeof x.Key === 'string' && typeof x.Value === 'string' && Object.keys(x).length === 2)
        : type === 'portRange' ? typeof v === 'object' && v !== null && Number.isInteger((v as { FromPort: unknown }).FromPort) && Number.isInteger((v as { ToPort: unknown }).ToPort) && Object.keys(v).length === 2
        : type === 'direction' ? v === 'ingress' || v === 'egress'
        : type === 'action' ? v === 'accept' || v === 'reject'
        : typeof v === 'string' && /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v);
      if (!ok) bad.push(`${id}: ${k} = ${JSON.stringify(v)} is not a valid ${type}`);
    }
  }
  return bad;
}

const ALB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188';
const NLB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/mirror/0123456789abcdef';
const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/73e2d6bc24d8a067';

function world(): FakeWorld {
  return {
    enis: [
      { NetworkInterfaceId: 'eni-0a1b2c3d4e5f60001', PrivateIpAddress: '10.0.1.10', Groups: [{ GroupId: 'sg-0000000000000a1b0' }], Description: 'ELB app/web/50dc6c495c0c9188', RequesterManaged: true },
      { NetworkInterfaceId: 'eni-0a1b2c3d4e5f60002', PrivateIpAddress: '10.0.2.10', Groups: [{ GroupId: 'sg-0000000000000a1b0' }], Description: 'ELB app/web/50dc6c495c0c9188', RequesterManaged: true },
      { NetworkInterfaceId: 'eni-0a1b2c3d4e5f60003', PrivateIpAddress: '10.0.1.20', Groups: [{ GroupId: 'sg-0000000000000a1b1' }], Attachment: { InstanceId: 'i-0123456789abcdef0', DeviceIndex: 0 } },
      { NetworkInterfaceId: 'eni-0a1b2c3d4e5f60004', PrivateIpAddress: '10.0.1.21', Groups: [{ GroupId: 'sg-0000000000000a1b1' }], Attachment: { InstanceId: 'i-0123456789abcdef1', DeviceIndex: 0 } },
      { NetworkInterfaceId: 'eni-0a1b2c3d4e5f60009', PrivateIpAddress: '10.0.9.9', Groups: [{ GroupId: 'sg-0000000000000a1b9' }], Attachment: { InstanceId: 'i-0123456789abcdef9', DeviceIndex: 0 } },
    ],
    instances: [
      { InstanceId: 'i-0123456789abcdef0', InstanceType: 'c5.large' },
      { InstanceId: 'i-0123456789abcdef1', InstanceType: 'm6i.large' },
      { InstanceId: 'i-0123456789abcdef9', InstanceType: 'c5n.xlarge' },
    ],
    // The target admits VXLAN from 10.0.1.0/24 only.
    securityGroups: [{ GroupId: 'sg-0000000000000a1b9', IpPermissions: [{ IpProtocol: 'udp', FromPort: 4789, ToPort: 4789, IpRanges: [{ CidrIp: '10.0.1.0/24' }] }] }],
    loadBalancers: [
      { LoadBalancerName: 'web', LoadBalancerArn: ALB_ARN, Type: 'application' },
      { LoadBalancerName: 'mirror', LoadBalancerArn: NLB_ARN, Type: 'network' },
    ],
    listeners: { [NLB_ARN]: [{ Port: 80, Protocol: 'TCP' }] },
    targetHealth: { [TG_ARN]: [{ Id: 'i-0123456789abcdef0', Port: 8080 }, { Id: '10.0.1.21', Port: 8080 }] },
  };
}

let aws: FakeAws;
let dir: string;
const TARGET = 'eni-0a1b2c3d4e5f60009';

before(async () => {
  aws = await startFakeAws(world());
  Object.assign(process.env, aws.env); // the SDK's credential chain reads process.env
  dir = mkdtempSync(join(tmpdir(), 'ml-aws-mirror-'));
});
after(async () => {
  await aws.stop();
  rmSync(dir, { recursive: true, force: true });
});

const mutating = (from: number): string[] => aws.requests.slice(from).map((r) => r.action).filter((a) => /^(Create|Delete|Modify)/.test(a));

test('plan --offline prints the AWS CLI commands and a template that the resource schemas accept, and calls nothing', async () => {
  const from = aws.requests.length;
  const r = await runCli(['aws', 'mirror', 'plan', '--offline', '--source', 'eni-0a1b2c3d4e5f60003', '--source', 'eni-0a1b2c3d4e5f60004', '--target', TARGET, '--name', 'web', '--vni', '42'], aws.env);
  assert.equal(r.code, 0, r.err);
  assert.equal(aws.requests.length, from);
  assert.match(r.out, /^TARGET=\$\(aws ec2 create-traffic-mirror-target --network-interface-id eni-0a1b2c3d4e5f60009 /m);
  assert.match(r.out, /--tag-specifications 'ResourceType=traffic-mirror-target,Tags=\[\{Key=mirrorlens:stack,Value=web\},\{Key=Name,Value=mirrorlens-web\}\]'/);
  assert.match(r.out, /^aws ec2 create-traffic-mirror-filter-rule --traffic-mirror-filter-id "\$FILTER" --traffic-direction ingress --rule-number 100 --rule-action accept --protocol 6 --source-cidr-block 0\.0\.0\.0\/0 --destination-cidr-block 0\.0\.0\.0\/0/m);
  assert.equal(r.out.match(/^aws ec2 create-traffic-mirror-session /gm)?.length, 2);
  assert.match(r.out, /--session-number 1 --virtual-network-id 42/);
  assert.match(r.out, /# note: mirroring adds 54 bytes/);
  const yamlText = r.out.slice(r.out.indexOf('AWSTemplateFormatVersion'));
  const t = parse(yamlText) as Parameters<typeof checkTemplate>[0];
  assert.deepEqual(checkTemplate(t), []);
  assert.deepEqual(Object.values(t.Resources).map((x) => x.Type).sort(), [
    'AWS::EC2::TrafficMirrorFilter',
    'AWS::EC2::TrafficMirrorFilterRule',
    'AWS::EC2::TrafficMirrorFilterRule',
    'AWS::EC2::TrafficMirrorSession',
    'AWS::EC2::TrafficMirrorSession',
    'AWS::EC2::TrafficMirrorTarget',
  ]);
});

test('the schema check fails on what CloudFormation would refuse', () => {
  const t = { Resources: { S: { Type: 'AWS::EC2::TrafficMirrorSession', Properties: { NetworkInterfaceId: 'eni-1', SessionNumber: '1', OwnerId: 'x', TrafficMirrorFilterId: { Ref: 'Nope' } } } } };
  assert.deepEqual(checkTemplate(t), [
    'S: required TrafficMirrorTargetId missing',
    'S: SessionNumber = "1" is not a valid integer',
    'S: OwnerId is not a property of AWS::EC2::TrafficMirrorSession',
    'S: TrafficMirrorFilterId refers to a missing resource',
  ]);
});

test('plan finds the ALB and target-group interfaces, checks the target, and changes nothing', async () => {
  const from = aws.requests.length;
  const r = await runCli(['aws', 'mirror', 'plan', '--alb', 'web', '--target-group', TG_ARN, '--target', TARGET, '--name', 'web'], aws.env);
  assert.equal(r.code, 1, r.out + r.err); // ran and found problems (docs/cli.md: 1, as analyze --fail-on)
  assert.deepEqual(mutating(from), []);
  assert.match(r.out, /# note: --alb web \(application\): eni-0a1b2c3d4e5f60001, eni-0a1b2c3d4e5f60002/);
  assert.match(r.out, /# note: --target-group .*: eni-0a1b2c3d4e5f60003, eni-0a1b2c3d4e5f60004/);
  // 10.0.2.10 is outside the security group's 10.0.1.0/24; m6i cannot be a mirror source.
  assert.match(r.out, /# PROBLEM: the target eni-0a1b2c3d4e5f60009's security groups \(sg-0000000000000a1b9\) do not admit UDP 4789 \(VXLAN\) from eni-0a1b2c3d4e5f60002 \(10\.0\.2\.10\)/);
  assert.doesNotMatch(r.out, /do not admit UDP 4789 \(VXLAN\) from eni-0a1b2c3d4e5f60001/);
  assert.match(r.out, /# PROBLEM: eni-0a1b2c3d4e5f60004 is attached to i-0123456789abcdef1 \(m6i\.large\): Traffic Mirroring is not available/);
  assert.match(r.out, /eni-0a1b2c3d4e5f60001 is managed by AWS/);
  const filterCalls = aws.requests.slice(from).filter((x) => x.action === 'DescribeNetworkInterfaces').map((x) => x.params.Filters);
  assert.deepEqual(filterCalls[0], [{ Name: 'description', Values: ['ELB app/web/50dc6c495c0c9188'] }]);
});

test('a source given by its private address is planned on the interface that holds it; an unknown address is one clear error', async () => {
  const from = aws.requests.length;
  const r = await runCli(['aws', 'mirror', 'plan', '--source', '10.0.1.20', '--target', TARGET, '--name', 'incident-f1'], aws.env);
  assert.equal(r.code, 0, r.out + r.err);
  assert.deepEqual(mutating(from), []);
  assert.match(r.out, /# note: --source 10\.0\.1\.20: eni-0a1b2c3d4e5f60003/);
  assert.match(r.out, /--network-interface-id eni-0a1b2c3d4e5f60003/);
  const calls = aws.requests.slice(from).filter((x) => x.action === 'DescribeNetworkInterfaces').map((x) => x.params.Filters);
  assert.deepEqual(calls[0], [{ Name: 'addresses.private-ip-address', Values: ['10.0.1.20'] }]);
  const bad = await runCli(['aws', 'mirror', 'plan', '--source', '10.0.7.7', '--target', TARGET], aws.env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /no network interface holds 10\.0\.7\.7/);
  const off = await runCli(['aws', 'mirror', 'plan', '--offline', '--source', '10.0.1.20', '--target', TARGET], aws.env);
  assert.equal(off.code, 2);
  assert.match(off.err, /--source 10\.0\.1\.20 \(an address\) needs AWS/);
});

test('an NLB target without a UDP 4789 listener is a problem', async () => {
  const r = await runCli(['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f60003', '--target', NLB_ARN], aws.env);
  assert.equal(r.code, 1);
  assert.match(r.out, /# PROBLEM: .*has no UDP listener on port 4789/);
  assert.match(r.out, /--network-load-balancer-arn arn:aws:elasticloadbalancing/);
});

test('apply creates tagged resources with the parameters the EC2 API defines; again, it changes nothing; destroy removes exactly them', async () => {
  // Someone else's session on a source interface: never touched.
  const foreign = { TrafficMirrorSessionId: 'tms-0000000000000beef', NetworkInterfaceId: 'eni-0a1b2c3d4e5f60003', TrafficMirrorTargetId: 'tmt-00000000000000001', TrafficMirrorFilterId: 'tmf-00000000000000001', SessionNumber: 2, Tags: [{ Key: 'team', Value: 'sec' }] };
  aws.sessions.push(foreign);
  const args = ['aws', 'mirror', 'apply', '--source', 'eni-0a1b2c3d4e5f60003', '--source', 'eni-0a1b2c3d4e5f60001', '--target', TARGET, '--name', 'web'];
  let from = aws.requests.length;
  const r1 = await runCli(args, aws.env);
  assert.equal(r1.code, 0, r1.err);
  assert.deepEqual(mutating(from), ['CreateTrafficMirrorTarget', 'CreateTrafficMirrorFilter', 'CreateTrafficMirrorFilterRule', 'CreateTrafficMirrorFilterRule', 'CreateTrafficMirrorSession', 'CreateTrafficMirrorSession']);
  const create = aws.requests.slice(from).find((x) => x.action === 'CreateTrafficMirrorSession')!;
  assert.equal(create.params.NetworkInterfaceId, 'eni-0a1b2c3d4e5f60003');
  assert.equal(create.params.SessionNumber, 1);
  assert.deepEqual(create.params.TagSpecifications, [{ ResourceType: 'traffic-mirror-session', Tags: [{ Key: 'mirrorlens:stack', Value: 'web' }, { Key: 'Name', Value: 'mirrorlens-web' }] }]);
  assert.match(r1.out, /stack 'web': 6 created, 0 unchanged, 0 removed/);
  assert.match(r1.out, /on the target: mirrorlens listen --out DIR --session \d+=eni-0a1b2c3d4e5f60001 --session \d+=eni-0a1b2c3d4e5f60003/);

  from = aws.requests.length;
  const r2 = await runCli(args, aws.env);
  assert.equal(r2.code, 0, r2.err);
  assert.deepEqual(mutating(from), []);
  assert.match(r2.out, /stack 'web': 0 created, 6 unchanged, 0 removed/);

  // A narrower filter and one source fewer: the rules and the session that differ are replaced or removed.
  const rules = join(dir, 'https.yaml');
  writeFileSync(rules, 'ingress:\n  - { ruleNumber: 100, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: 443 }\negress:\n  - { ruleNumber: 100, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0 }\n');
  from = aws.requests.length;
  const r3 = await runCli(['aws', 'mirror', 'apply', '--source', 'eni-0a1b2c3d4e5f60003', '--target', TARGET, '--name', 'web', '--filter', rules], aws.env);
  assert.equal(r3.code, 0, r3.err);
  assert.deepEqual(mutating(from), ['DeleteTrafficMirrorFilterRule', 'CreateTrafficMirrorFilterRule', 'DeleteTrafficMirrorSession']);
  const rule = aws.requests.slice(from).find((x) => x.action === 'CreateTrafficMirrorFilterRule')!;
  assert.deepEqual(rule.params.DestinationPortRange, { FromPort: 443, ToPort: 443 });

  const dry = await runCli(['aws', 'mirror', 'destroy', '--name', 'web', '--dry-run'], aws.env);
  assert.match(dry.out, /would delete session tms-/);
  assert.equal(aws.sessions.length, 2);
  from = aws.requests.length;
  const r4 = await runCli(['aws', 'mirror', 'destroy', '--name', 'web'], aws.env);
  assert.equal(r4.code, 0, r4.err);
  assert.deepEqual(mutating(from), ['DeleteTrafficMirrorSession', 'DeleteTrafficMirrorFilter', 'DeleteTrafficMirrorTarget']);
  assert.deepEqual(aws.sessions, [foreign]);
  assert.equal(aws.targets.length, 0);
  const again = await runCli(['aws', 'mirror', 'destroy', '--name', 'web'], aws.env);
  assert.match(again.out, /nothing is tagged mirrorlens:stack=web/);
});

test('every request the SDK sent was valid for the EC2 / ELBv2 API model', () => {
  assert.deepEqual(aws.requests.filter((r) => r.action.includes('!')), []);
});

test('bad input: one clear line and a non-zero exit', async () => {
  const cases: [string[], number, RegExp][] = [
    [['aws', 'mirror', 'plan', '--target', TARGET], 2, /^mirrorlens aws: aws mirror: no source network interface/],
    [['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f60009', '--target', TARGET, '--offline'], 2, /cannot be both a source and the target/],
    [['aws', 'mirror', 'plan', '--source', 'i-123', '--target', TARGET], 2, /--source wants a network interface id/],
    [['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f60003', '--target', 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/y'], 2, /only a Network Load Balancer can be a mirror target/],
    [['aws', 'mirror', 'apply', '--source', 'eni-0a1b2c3d4e5f60003', '--target', TARGET, '--filter', join(dir, 'missing.yaml')], 3, /missing\.yaml: cannot read filter file/],
    [['aws', 'mirror', 'plan', '--alb', 'nope', '--target', TARGET], 6, /^mirrorlens aws: --alb nope: DescribeLoadBalancers \(elasticloadbalancing:DescribeLoadBalancers\) failed: LoadBalancerNotFound/],
    [['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f6ffff', '--target', TARGET], 6, /eni-0a1b2c3d4e5f6ffff,eni-0a1b2c3d4e5f60009: DescribeNetworkInterfaces .*InvalidNetworkInterfaceID\.NotFound/],
    [['aws', 'mirror', 'teleport'], 2, /wants plan, apply or destroy/],
    [['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f60003', '--target', TARGET, '--script-out', join(dir, 'no-dir', 'plan.sh')], 5, /no-dir\/plan\.sh: cannot write the AWS CLI commands: directory .* does not exist/],
    [['aws', 'mirror', 'plan', '--source', 'eni-0a1b2c3d4e5f60003', '--target', TARGET, '--template-out', dir], 5, /cannot write the CloudFormation template: is a directory/],
  ];
  for (const [args, code, re] of cases) {
    const r = await runCli(args, aws.env);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assert.match(r.err, re);
  }
});

test('the model check refuses unknown parameters, missing required ones and undocumented filters', async () => {
  const { loadModel, decodeRequest, documentsFilter } = await import('./query-model.js');
  const m = await loadModel('client-ec2');
  const ok = new URLSearchParams('Action=CreateTrafficMirrorSession&Version=2016-11-15&NetworkInterfaceId=eni-1&TrafficMirrorTargetId=tmt-1&TrafficMirrorFilterId=tmf-1&SessionNumber=1&TagSpecification.1.ResourceType=traffic-mirror-session&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v');
  assert.deepEqual(decodeRequest(m, 'CreateTrafficMirrorSession', ok).TagSpecifications, [{ ResourceType: 'traffic-mirror-session', Tags: [{ Key: 'k', Value: 'v' }] }]);
  assert.throws(() => decodeRequest(m, 'CreateTrafficMirrorSession', new URLSearchParams(ok.toString() + '&Bogus=1')), /Bogus is not recognized/);
  assert.throws(() => decodeRequest(m, 'CreateTrafficMirrorSession', new URLSearchParams(ok.toString().replace('&SessionNumber=1', ''))), /must contain the parameter SessionNumber/);
  assert.throws(() => decodeRequest(m, 'CreateTrafficMirrorSession', new URLSearchParams(ok.toString().replace('TagSpecification.1', 'TagSpecifications.1'))), /not recognized/);
  assert.equal(documentsFilter(m, 'DescribeNetworkInterfaces', 'attachment.instance-id'), true);
  assert.equal(documentsFilter(m, 'DescribeNetworkInterfaces', 'instance-id'), false);
});
