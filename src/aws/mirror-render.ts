/**
 * `aws mirror plan` output: the AWS CLI commands that make the mirror set-up (a POSIX shell script
 * that passes the ids from one command to the next) and the same set-up as a CloudFormation
 * template (AWS::EC2::TrafficMirrorTarget, ::TrafficMirrorFilter, ::TrafficMirrorFilterRule,
 * ::TrafficMirrorSession). Pure functions of the spec.
 */
import { stringify } from 'yaml';
import type { MirrorFilterRule } from '../capture/filter.js';
import { allRules, STACK_TAG, type MirrorSpec } from './mirror-spec.js';

/** Single-quotes a word for POSIX sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tagSpec(resourceType: string, name: string): string {
  return `ResourceType=${resourceType},Tags=[{Key=${STACK_TAG},Value=${name}},{Key=Name,Value=mirrorlens-${name}}]`;
}

/** The rule as CreateTrafficMirrorFilterRule parameters (API names), for the CLI and the SDK alike. */
export function ruleParams(r: MirrorFilterRule): {
  TrafficDirection: 'ingress' | 'egress';
  RuleNumber: number;
  RuleAction: 'accept' | 'reject';
  Protocol?: number;
  SourceCidrBlock: string;
  DestinationCidrBlock: string;
  SourcePortRange?: { FromPort: number; ToPort: number };
  DestinationPortRange?: { FromPort: number; ToPort: number };
  Description?: string;
} {
  return {
    TrafficDirection: r.direction,
    RuleNumber: r.ruleNumber,
    RuleAction: r.action,
    ...(r.protocol !== undefined ? { Protocol: r.protocol } : {}),
    SourceCidrBlock: r.source.text,
    DestinationCidrBlock: r.destination.text,
    ...(r.sourcePorts ? { SourcePortRange: { FromPort: r.sourcePorts.from, ToPort: r.sourcePorts.to } } : {}),
    ...(r.destinationPorts ? { DestinationPortRange: { FromPort: r.destinationPorts.from, ToPort: r.destinationPorts.to } } : {}),
    ...(r.description ? { Description: r.description } : {}),
  };
}

export function describeTarget(s: MirrorSpec): string {
  return `mirrorlens ${s.name}: mirror target`;
}

/** The AWS CLI commands, as a shell script. */
export function renderCliScript(s: MirrorSpec, region: string | undefined): string {
  const r = region ? ` --region ${shQuote(region)}` : '';
  const q = shQuote;
  const lines: string[] = [
    '#!/bin/sh',
    `# VPC Traffic Mirroring for mirrorlens stack '${s.name}' (made by 'mirrorlens aws mirror plan'; running it creates the resources).`,
    "# 'mirrorlens aws mirror apply' does the same through the API and can be run again safely;",
    `# 'mirrorlens aws mirror destroy --name ${s.name}' removes what either made.`,
    'set -eu',
  ];
  if (s.target.kind === 'existing-target') {
    lines.push(`TARGET=${q(s.target.id)}`);
  } else {
    const flag = s.target.kind === 'network-interface' ? '--network-interface-id' : s.target.kind === 'network-load-balancer' ? '--network-load-balancer-arn' : '--gateway-load-balancer-endpoint-id';
    lines.push(
      `TARGET=$(aws ec2 create-traffic-mirror-target${r} ${flag} ${q(s.target.id)} --description ${q(describeTarget(s))} \\`,
      `  --tag-specifications ${q(tagSpec('traffic-mirror-target', s.name))} \\`,
      '  --query TrafficMirrorTarget.TrafficMirrorTargetId --output text)',
    );
  }
  lines.push(
    `FILTER=$(aws ec2 create-traffic-mirror-filter${r} --description ${q(`mirrorlens ${s.name}: ${s.filter.source}`)} \\`,
    `  --tag-specifications ${q(tagSpec('traffic-mirror-filter', s.name))} \\`,
    '  --query TrafficMirrorFilter.TrafficMirrorFilterId --output text)',
  );
  for (const rule of allRules(s.filter)) {
    const p = ruleParams(rule);
    let cmd = `aws ec2 create-traffic-mirror-filter-rule${r} --traffic-mirror-filter-id "$FILTER" --traffic-direction ${p.TrafficDirection} --rule-number ${p.RuleNumber} --rule-action ${p.RuleAction}`;
    if (p.Protocol !== undefined) cmd += ` --protocol ${p.Protocol}`;
    cmd += ` --source-cidr-block ${q(p.SourceCidrBlock)} --destination-cidr-block ${q(p.DestinationCidrBlock)}`;
    if (p.SourcePortRange) cmd += ` --source-port-range FromPort=${p.SourcePortRange.FromPort},ToPort=${p.SourcePortRange.ToPort}`;
    if (p.DestinationPortRange) cmd += ` --destination-port-range FromPort=${p.DestinationPortRange.FromPort},ToPort=${p.DestinationPortRange.ToPort}`;
    if (p.Description) cmd += ` --description ${q(p.Description)}`;
    lines.push(cmd);
  }
  for (const eni of s.sources) {
    let cmd = `aws ec2 create-traffic-mirror-session${r} --network-interface-id ${q(eni)} --traffic-mirror-target-id "$TARGET" --traffic-mirror-filter-id "$FILTER" --session-number ${s.sessionNumber}`;
    if (s.virtualNetworkId !== undefined) cmd += ` --virtual-network-id ${s.virtualNetworkId}`;
    if (s.packetLength !== undefined) cmd += ` --packet-length ${s.packetLength}`;
    cmd += ` --description ${q(`mirrorlens ${s.name}: ${eni}`)} \\\n  --tag-specifications ${q(tagSpec('traffic-mirror-session', s.name))}`;
    lines.push(cmd);
  }
  return lines.join('\n') + '\n';
}

/** A CloudFormation logical id from free text: letters and digits only. */
function logicalId(prefix: string, s: string): string {
  return prefix + s.replace(/[^A-Za-z0-9]/g, '');
}

export interface CfnTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Description: string; Value: unknown }>;
}

/** The CloudFormation template (an object; see renderTemplateYaml). */
export function buildTemplate(s: MirrorSpec): CfnTemplate {
  const tags = [
    { Key: STACK_TAG, Value: s.name },
    { Key: 'Name', Value: `mirrorlens-${s.name}` },
  ];
  const resources: CfnTemplate['Resources'] = {};
  let targetRef: unknown;
  if (s.target.kind === 'existing-target') {
    targetRef = s.target.id;
  } else {
    const prop = s.target.kind === 'network-interface' ? 'NetworkInterfaceId' : s.target.kind === 'network-load-balancer' ? 'NetworkLoadBalancerArn' : 'GatewayLoadBalancerEndpointId';
    resources.MirrorTarget = { Type: 'AWS::EC2::TrafficMirrorTarget', Properties: { [prop]: s.target.id, Description: describeTarget(s), Tags: tags } };
    targetRef = { Ref: 'MirrorTarget' };
  }
  resources.MirrorFilter = { Type: 'AWS::EC2::TrafficMirrorFilter', Properties: { Description: `mirrorlens ${s.name}: ${s.filter.source}`, Tags: tags } };
  for (const rule of allRules(s.filter)) {
    const p = ruleParams(rule);
    resources[logicalId(`Rule${rule.direction === 'ingress' ? 'In' : 'Out'}`, String(rule.ruleNumber))] = {
      Type: 'AWS::EC2::TrafficMirrorFilterRule',
      Properties: { TrafficMirrorFilterId: { Ref: 'MirrorFilter' }, ...p },
    };
  }
  for (const eni of s.sources) {
    resources[logicalId('Session', eni)] = {
      Type: 'AWS::EC2::TrafficMirrorSession',
      Properties: {
        NetworkInterfaceId: eni,
        TrafficMirrorTargetId: targetRef,
        TrafficMirrorFilterId: { Ref: 'MirrorFilter' },
        SessionNumber: s.sessionNumber,
        ...(s.virtualNetworkId !== undefined ? { VirtualNetworkId: s.virtualNetworkId } : {}),
        ...(s.packetLength !== undefined ? { PacketLength: s.packetLength } : {}),
        Description: `mirrorlens ${s.name}: ${eni}`,
        Tags: tags,
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `VPC Traffic Mirroring for mirrorlens stack '${s.name}' (mirrorlens aws mirror plan)`,
    Resources: resources,
    Outputs: {
      TrafficMirrorTargetId: { Description: 'the mirror target', Value: targetRef },
      TrafficMirrorFilterId: { Description: 'the mirror filter', Value: { Ref: 'MirrorFilter' } },
    },
  };
}

export function renderTemplateYaml(s: MirrorSpec): string {
  return stringify(buildTemplate(s), { lineWidth: 0 });
}
