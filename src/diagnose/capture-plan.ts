/**
 * What to capture next to settle what the logs cannot: which interface to mirror (or host to
 * capture on), with which filter, for how long, as commands ready to run (`mirrorlens aws mirror
 * plan`, `listen`, then `analyze` around the next occurrence). Built from the catalogue's
 * CaptureAdvice of the causes still open and what the log lines say (target ip:port, load
 * balancer, target group, how often the error came).
 */
import type { CaptureAdvice } from '../logs/causes/index.js';

export interface CapturePlanInput {
  /** The target's address and port as logged (null: the log names none). */
  targetAddr: string | null;
  targetPort: number | null;
  /** ALB resource id as logged (`app/NAME/ID`), for `--alb NAME`. */
  elb: string | null;
  targetGroupArn: string | null;
  /** The listener port the clients used (for client-side captures). */
  listenerPort: number | null;
  /** Occurrences and the span they came in (seconds), for the duration. */
  count: number;
  spanSeconds: number;
  /** A short name for files and the stack (`f3`). */
  name: string;
  advice: readonly CaptureAdvice[];
}

export interface CapturePlan {
  /** In words: what to mirror and why it settles it. */
  where: string;
  /** How long to capture, seconds. */
  seconds: number;
  /** Why that long. */
  duration: string;
  /** The filter rules file (listen --filter / aws mirror plan --filter), YAML. */
  filterFile: string;
  filterYaml: string;
  /** Also collect: flow logs of the interface, the target's key log. */
  also: string[];
  /** Commands to run, in order (comments start with #). */
  commands: string[];
}

const WHERE_WORDS: Record<CaptureAdvice['where'], string> = {
  target: "the target's network interface",
  'lb-target-side': "the load balancer's target-facing interface (or, where AWS does not allow mirroring it, the target's interface)",
  'lb-client-side': "the load balancer's client-facing interface (or capture on a client)",
  client: 'a client host (or its interface)',
  nat: "the NAT gateway's side: the instance behind it",
};

function isV6(a: string): boolean {
  return a.includes(':');
}

function host(a: string): string {
  return `${a}/${isV6(a) ? 128 : 32}`;
}

/** The mirror filter (mirrorlens' YAML shape, docs/listen.md) keeping TCP to and from addr:port, and ICMP when asked. */
export function filterYaml(addr: string | null, port: number | null, icmp: boolean): string {
  const any = addr !== null && isV6(addr) ? '::/0' : '0.0.0.0/0';
  const me = addr !== null ? host(addr) : any;
  const icmpProto = addr !== null && isV6(addr) ? 'icmpv6' : 'icmp';
  const dport = port !== null ? `\n    destinationPorts: ${port}` : '';
  const sport = port !== null ? `\n    sourcePorts: ${port}` : '';
  const lines = [
    `# TCP to and from ${addr ?? 'the target'}${port !== null ? ` port ${port}` : ''}${icmp ? ', and ICMP (unreachables quote the SYN they answer)' : ''}`,
    'ingress:',
    `  - ruleNumber: 100\n    action: accept\n    protocol: tcp\n    source: ${any}\n    destination: ${me}${dport}`,
  ];
  if (icmp) lines.push(`  - ruleNumber: 110\n    action: accept\n    protocol: ${icmpProto}\n    source: ${any}\n    destination: ${any}`);
  lines.push('egress:', `  - ruleNumber: 100\n    action: accept\n    protocol: tcp\n    source: ${me}\n    destination: ${any}${sport}`);
  if (icmp) lines.push(`  - ruleNumber: 110\n    action: accept\n    protocol: ${icmpProto}\n    source: ${any}\n    destination: ${any}`);
  return `${lines.join('\n')}\n`;
}

/** ALB name from the log's resource id (`app/my-lb/50dc6c495c0c9188` → `my-lb`). */
export function albName(elb: string | null): string | null {
  const m = elb !== null ? /^app\/([^/]+)\//.exec(elb) : null;
  return m ? m[1]! : null;
}

function roundDuration(seconds: number): number {
  const steps = [600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
  return steps.find((s) => s >= seconds) ?? 86400;
}

function durationWords(s: number): string {
  return s < 3600 ? `${s / 60} minutes` : s < 86400 ? `${s / 3600} hour${s === 3600 ? '' : 's'}` : '24 hours';
}

export function capturePlan(p: CapturePlanInput): CapturePlan {
  const a = p.advice;
  const where = a.some((x) => x.where === 'target') ? 'target' : a[0]?.where ?? 'target';
  const icmp = a.some((x) => x.filter === 'target-port+icmp');
  const clientSide = where === 'lb-client-side' || where === 'client';
  const flowLogs = a.some((x) => x.flowLogs);
  const keyLog = a.some((x) => x.targetKeyLog);
  // Long enough to see it again a few times at the rate it came: three occurrences, at least 10 minutes.
  const rate = p.spanSeconds > 0 ? p.count / p.spanSeconds : 0;
  const need = rate > 0 ? 3 / rate : 3600;
  const seconds = roundDuration(Math.max(600, need));
  const seen = p.count === 1 ? 'it came once' : `${String(p.count).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')} came in ${p.spanSeconds < 120 ? `${Math.round(p.spanSeconds)} s` : `${Math.round(p.spanSeconds / 60)} min`}`;
  const duration =
    rate > 0 && p.count > 1
      ? `${durationWords(seconds)} (${seen}: at that rate it comes again at least three times; start before the time of day it came if it follows a pattern)`
      : `${durationWords(seconds)} around the time it usually comes (${seen}; or leave listen running with rotation until it comes again)`;
  const addr = clientSide ? null : p.targetAddr;
  const port = clientSide ? p.listenerPort : p.targetPort;
  const filterFile = `capture-${p.name}.yaml`;
  const yaml = clientSide ? filterYaml(null, port, false) : filterYaml(addr, port, icmp);
  const also: string[] = [];
  if (flowLogs && p.targetAddr) also.push(`VPC flow logs of ${p.targetAddr}'s interface (with the tcp-flags field) for the same time: drops by a security group or network ACL leave no packet to mirror, only a REJECT row`);
  if (keyLog) also.push('the target\'s TLS key log (SSLKEYLOGFILE, or the server\'s keylog callback) if the target group speaks HTTPS: the response must be read to judge it');
  const stack = `incident-${p.name}`;
  const commands: string[] = [];
  const alb = albName(p.elb);
  if (!clientSide && p.targetAddr) {
    commands.push(`# write the filter below to ${filterFile}; LISTENER-ENI is the interface of the host that runs mirrorlens listen`);
    commands.push(`mirrorlens aws mirror plan --source ${p.targetAddr} --target LISTENER-ENI --filter ${filterFile} --name ${stack}`);
    if (p.targetGroupArn) commands.push(`# or every target of the group: mirrorlens aws mirror plan --target-group ${p.targetGroupArn} --target LISTENER-ENI --filter ${filterFile} --name ${stack}`);
  } else {
    commands.push(`# write the filter below to ${filterFile}; LISTENER-ENI is the interface of the host that runs mirrorlens listen`);
    commands.push(alb ? `mirrorlens aws mirror plan --alb ${alb} --target LISTENER-ENI --filter ${filterFile} --name ${stack}` : `mirrorlens aws mirror plan --source ENI --target LISTENER-ENI --filter ${filterFile} --name ${stack}`);
  }
  commands.push(`mirrorlens aws mirror apply ... (the same options) ; mirrorlens listen --out capture/ --rotate-seconds 300 ; after ${durationWords(seconds)}: mirrorlens aws mirror destroy --name ${stack}`);
  commands.push(`mirrorlens analyze capture/ --alb-log LOGS${flowLogs ? ' --flow-log FLOWLOGS' : ''} --around 'TIME-OF-THE-NEXT-ERROR±5m'`);
  const whereText =
    where === 'target' && p.targetAddr
      ? `${WHERE_WORDS.target} (${p.targetAddr}${p.targetPort !== null ? `, port ${p.targetPort}` : ''}): it carries the load balancer's connections to it, both ways${icmp ? ', and the ICMP that answers them' : ''}`
      : `${WHERE_WORDS[where]}${port !== null ? ` (port ${port})` : ''}`;
  return { where: whereText, seconds, duration, filterFile, filterYaml: yaml, also, commands };
}
