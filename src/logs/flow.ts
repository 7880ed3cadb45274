/**
 * VPC flow log records: the default format (all version-2 fields) and custom formats, whose field
 * list is the header line of each file delivered to S3 (or `--fields`). Every field of versions
 * 2 to 8 is known by name; unknown fields (newer versions, Transit Gateway fields) are kept by name
 * in `extra`. `-` ("not applicable or could not be computed") becomes null.
 *
 *   default: version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
 *            start end action log-status
 *
 * Sources: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html and
 * https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html
 */
import { tokenize, type TokenizeResult } from './tokenize.js';
import { parseUint } from './fields.js';
import { lineError, type LineError } from './types.js';

export interface FlowLogRecord {
  kind: 'flow';
  // version 2 (the default format)
  version: number | null;
  accountId: string | null;
  interfaceId: string | null;
  srcaddr: string | null;
  dstaddr: string | null;
  srcport: number | null;
  dstport: number | null;
  /** IANA protocol number; protocolName is its keyword (`tcp`, `udp`, `icmp`, ...). */
  protocol: number | null;
  protocolName: string | null;
  packets: number | null;
  bytes: number | null;
  /** First / last packet of the aggregation interval, seconds since the epoch. */
  start: number | null;
  end: number | null;
  /** `ACCEPT` | `REJECT` (null for `-`, as on NODATA/SKIPDATA records). */
  action: string | null;
  /** `OK` | `NODATA` (no traffic in the interval) | `SKIPDATA` (records skipped). */
  logStatus: string | null;
  // version 3
  vpcId: string | null;
  subnetId: string | null;
  instanceId: string | null;
  /** OR of the TCP flags seen in the interval: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32. */
  tcpFlags: number | null;
  /** tcpFlags decoded, e.g. 18 → ['SYN', 'ACK'], 19 → ['FIN', 'SYN', 'ACK']. */
  tcpFlagNames: string[];
  /** `IPv4` | `IPv6` | `EFA`. */
  type: string | null;
  pktSrcaddr: string | null;
  pktDstaddr: string | null;
  // version 4
  region: string | null;
  azId: string | null;
  sublocationType: string | null;
  sublocationId: string | null;
  // version 5
  pktSrcAwsService: string | null;
  pktDstAwsService: string | null;
  /** `ingress` | `egress` relative to the interface. */
  flowDirection: string | null;
  /** Egress path code 1..8; trafficPathName says it in words. */
  trafficPath: number | null;
  trafficPathName: string | null;
  // version 7
  ecsClusterArn: string | null;
  ecsClusterName: string | null;
  ecsContainerInstanceArn: string | null;
  ecsContainerInstanceId: string | null;
  ecsContainerId: string | null;
  ecsSecondContainerId: string | null;
  ecsServiceName: string | null;
  ecsTaskDefinitionArn: string | null;
  ecsTaskArn: string | null;
  ecsTaskId: string | null;
  // version 8
  /** `BPA` (VPC Block Public Access) or null for any other reason. */
  rejectReason: string | null;
  /** Fields this version of mirrorlens does not know, by the name the format gives them. */
  extra: Record<string, string>;
  fieldCount: number;
  file: string;
  line: number;
}

type FieldType = 'int' | 'str';

interface FieldDef {
  name: string;
  prop: keyof FlowLogRecord;
  version: number;
  type: FieldType;
}

function f(name: string, prop: keyof FlowLogRecord, version: number, type: FieldType = 'str'): FieldDef {
  return { name, prop, version, type };
}

/** Every VPC flow log field of versions 2-8, by AWS name. */
export const FLOW_FIELDS: readonly FieldDef[] = [
  f('version', 'version', 2, 'int'),
  f('account-id', 'accountId', 2),
  f('interface-id', 'interfaceId', 2),
  f('srcaddr', 'srcaddr', 2),
  f('dstaddr', 'dstaddr', 2),
  f('srcport', 'srcport', 2, 'int'),
  f('dstport', 'dstport', 2, 'int'),
  f('protocol', 'protocol', 2, 'int'),
  f('packets', 'packets', 2, 'int'),
  f('bytes', 'bytes', 2, 'int'),
  f('start', 'start', 2, 'int'),
  f('end', 'end', 2, 'int'),
  f('action', 'action', 2),
  f('log-status', 'logStatus', 2),
  f('vpc-id', 'vpcId', 3),
  f('subnet-id', 'subnetId', 3),
  f('instance-id', 'instanceId', 3),
  f('tcp-flags', 'tcpFlags', 3, 'int'),
  f('type', 'type', 3),
  f('pkt-srcaddr', 'pktSrcaddr', 3),
  f('pkt-dstaddr', 'pktDstaddr', 3),
  f('region', 'region', 4),
  f('az-id', 'azId', 4),
  f('sublocation-type', 'sublocationType', 4),
  f('sublocation-id', 'sublocationId', 4),
  f('pkt-src-aws-service', 'pktSrcAwsService', 5),
  f('pkt-dst-aws-service', 'pktDstAwsService', 5),
  f('flow-direction', 'flowDirection', 5),
  f('traffic-path', 'trafficPath', 5, 'int'),
  f('ecs-cluster-arn', 'ecsClusterArn', 7),
  f('ecs-cluster-name', 'ecsClusterName', 7),
  f('ecs-container-instance-arn', 'ecsContainerInstanceArn', 7),
  f('ecs-container-instance-id', 'ecsContainerInstanceId', 7),
  f('ecs-container-id', 'ecsContainerId', 7),
  f('ecs-second-container-id', 'ecsSecondContainerId', 7),
  f('ecs-service-name', 'ecsServiceName', 7),
  f('ecs-task-definition-arn', 'ecsTaskDefinitionArn', 7),
  f('ecs-task-arn', 'ecsTaskArn', 7),
  f('ecs-task-id', 'ecsTaskId', 7),
  f('reject-reason', 'rejectReason', 8),
];

const BY_NAME = new Map<string, number>(FLOW_FIELDS.map((d, i) => [d.name, i]));

/** The default (version 2) format; it cannot be changed in AWS. */
export const DEFAULT_FLOW_FIELDS: readonly string[] = FLOW_FIELDS.filter((d) => d.version === 2).map((d) => d.name);

export const PROTOCOL_NAMES: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipip', 6: 'tcp', 17: 'udp', 41: 'ipv6', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp', 89: 'ospf', 132: 'sctp',
};

export const TRAFFIC_PATHS: Record<number, string> = {
  1: 'through another resource in the same VPC',
  2: 'through an internet gateway or a gateway VPC endpoint',
  3: 'through a virtual private gateway',
  4: 'through an intra-region VPC peering connection',
  5: 'through an inter-region VPC peering connection',
  6: 'through a local gateway',
  7: 'through a gateway VPC endpoint (Nitro)',
  8: 'through an internet gateway (Nitro)',
};

const TCP_FLAG_BITS: readonly [number, string][] = [[1, 'FIN'], [2, 'SYN'], [4, 'RST'], [8, 'PSH'], [16, 'ACK'], [32, 'URG'], [64, 'ECE'], [128, 'CWR']];

export function tcpFlagNames(flags: number | null): string[] {
  const out: string[] = [];
  if (flags === null) return out;
  for (const [bit, name] of TCP_FLAG_BITS) if (flags & bit) out.push(name);
  return out;
}

/** A field list compiled once per file: for each position, the index in FLOW_FIELDS or -1. */
export interface FlowFormat {
  fields: readonly string[];
  slots: Int16Array;
  /** Highest version among the known fields (AWS's `version` rule). */
  version: number;
}

/** Normalises `${srcaddr}`, `srcaddr`, `src_addr`-style names to AWS's hyphenated name. */
export function normaliseFlowFieldName(s: string): string {
  let n = s.trim();
  if (n.startsWith('${') && n.endsWith('}')) n = n.substring(2, n.length - 1);
  return n.replace(/_/g, '-').toLowerCase();
}

export function compileFlowFormat(fields: readonly string[]): FlowFormat {
  const names = fields.map(normaliseFlowFieldName).filter((x) => x.length > 0);
  const slots = new Int16Array(names.length);
  let version = 2;
  for (let i = 0; i < names.length; i++) {
    const k = BY_NAME.get(names[i]!);
    slots[i] = k === undefined ? -1 : k;
    if (k !== undefined) version = Math.max(version, FLOW_FIELDS[k]!.version);
  }
  return { fields: names, slots, version };
}

export const DEFAULT_FLOW_FORMAT: FlowFormat = compileFlowFormat(DEFAULT_FLOW_FIELDS);

/**
 * True when the tokens look like a flow-log header line (every token a field name, at least two
 * of them known), which is how S3-delivered files start.
 */
export function isFlowHeader(tokens: readonly string[], count: number): boolean {
  if (count < 2) return false;
  let known = 0;
  for (let i = 0; i < count; i++) {
    const name = normaliseFlowFieldName(tokens[i]!);
    if (!/^[a-z][a-z0-9-]*$/.test(name)) return false;
    if (BY_NAME.has(name)) known++;
  }
  return known >= 2;
}

function emptyRecord(n: number): FlowLogRecord {
  return {
    kind: 'flow',
    version: null, accountId: null, interfaceId: null, srcaddr: null, dstaddr: null, srcport: null, dstport: null,
    protocol: null, protocolName: null, packets: null, bytes: null, start: null, end: null, action: null, logStatus: null,
    vpcId: null, subnetId: null, instanceId: null, tcpFlags: null, tcpFlagNames: [], type: null, pktSrcaddr: null, pktDstaddr: null,
    region: null, azId: null, sublocationType: null, sublocationId: null,
    pktSrcAwsService: null, pktDstAwsService: null, flowDirection: null, trafficPath: null, trafficPathName: null,
    ecsClusterArn: null, ecsClusterName: null, ecsContainerInstanceArn: null, ecsContainerInstanceId: null, ecsContainerId: null,
    ecsSecondContainerId: null, ecsServiceName: null, ecsTaskDefinitionArn: null, ecsTaskArn: null, ecsTaskId: null,
    rejectReason: null,
    extra: {},
    fieldCount: n,
    file: '',
    line: 0,
  };
}

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };

/** Parses one flow-log record in the given format (default: version 2). */
export function parseFlowLine(line: string, format: FlowFormat = DEFAULT_FLOW_FORMAT): FlowLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  const want = format.fields.length;
  if (n < want) return lineError(`flow log record has ${n} fields, the format names ${want} (${format.fields.join(' ')})`);
  const rec = emptyRecord(n);
  const r = rec as unknown as Record<string, unknown>;
  for (let i = 0; i < want; i++) {
    const tok = tokens[i]!;
    const slot = format.slots[i]!;
    if (slot < 0) {
      rec.extra[format.fields[i]!] = tok;
      continue;
    }
    if (tok === '-') continue;
    const def = FLOW_FIELDS[slot]!;
    if (def.type === 'int') {
      const v = parseUint(tok);
      if (v !== v) return lineError(`field ${i + 1} (${def.name}) is not a number or '-': '${tok}'`);
      r[def.prop] = v;
    } else {
      r[def.prop] = tok;
    }
  }
  for (let i = want; i < n; i++) rec.extra[`field${i + 1}`] = tokens[i]!;
  if (rec.protocol !== null) rec.protocolName = PROTOCOL_NAMES[rec.protocol] ?? null;
  if (rec.tcpFlags !== null) rec.tcpFlagNames = tcpFlagNames(rec.tcpFlags);
  if (rec.trafficPath !== null) rec.trafficPathName = TRAFFIC_PATHS[rec.trafficPath] ?? null;
  return rec;
}
