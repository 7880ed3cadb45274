/**
 * `mirrorlens aws mirror plan|apply|destroy`: VPC Traffic Mirroring set up (and checked) from the
 * tool. See docs/aws.md.
 */
import type { CliIO, Command } from './command.js';
import { parseCommandArgs } from './command.js';
import { loadMirrorFilter } from '../capture/filter.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { EXIT } from './exit.js';
import { checkOutputFile, writeOutputFile } from './output.js';
import { defaultFilter, mtuAdvice, isSourceAddress, parseSourceId, parseTarget, validateSpec, type MirrorSpec } from '../aws/mirror-spec.js';
import { renderCliScript, renderTemplateYaml } from '../aws/mirror-render.js';
import type { AwsClients } from '../aws/mirror-ec2.js';

const USAGE = `Usage: mirrorlens aws mirror plan|apply|destroy [options]

VPC Traffic Mirroring for mirrorlens: a mirror target, a filter with its rules and
one session per source network interface, every resource tagged mirrorlens:stack=NAME.

  plan     print the AWS CLI commands and a CloudFormation template; changes nothing
           (reads the account to find sources and check the target, unless --offline)
  apply    create them through the EC2 API; running it again changes nothing, a changed
           spec replaces what differs
  destroy  remove exactly what is tagged mirrorlens:stack=NAME (sessions, filter, target)

Sources (at least one):
  --source ENI|IP        a network interface to mirror (eni-..., or a private IP address
                         whose interface is looked up); repeatable
  --alb NAME             the interfaces of a load balancer, by name
  --target-group ARN     the interfaces of a target group's registered targets
Target (plan, apply):
  --target ID            eni-... (the host running 'mirrorlens listen'), a Network Load
                         Balancer ARN (UDP 4789 listener), vpce-... (Gateway Load Balancer
                         endpoint) or tmt-... (an existing mirror target)
Options:
  --filter FILE          mirror filter rules: the JSON/YAML file 'listen --filter' reads
                         (default: all TCP, both directions)
  --name NAME            stack name (default: mirrorlens)
  --session-number N     session priority on the source, 1-32766 (default 1)
  --vni N                VXLAN id of the sessions (default: AWS picks one per session)
  --packet-length N      mirror only the first N bytes of each packet (default: all)
  --region REGION        AWS region (default: AWS_REGION or the profile's)
  --offline              plan without calling AWS (no --alb/--target-group, no checks)
  --script-out FILE      plan: write the AWS CLI commands to FILE
  --template-out FILE    plan: write the CloudFormation template to FILE
  --dry-run              destroy: list what would be removed, remove nothing

Exit codes: 0 done and every check passed, 1 a check found a problem (the PROBLEM
lines; apply still applies), 2 usage, 3 the --filter file cannot be read, 4 it
has a mistake, 5 --script-out/--template-out cannot be written, 6 AWS refused a
call or lacks a resource (docs/cli.md).
`;

interface Parsed {
  action: 'plan' | 'apply' | 'destroy';
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

function parse(argv: string[]): Parsed {
  const [group, action, ...rest] = argv;
  if (group !== 'mirror') throw new MirrorlensError(ErrorCode.Usage, `aws: unknown subcommand '${group ?? ''}' (aws mirror plan|apply|destroy; see 'mirrorlens aws --help')`);
  if (action !== 'plan' && action !== 'apply' && action !== 'destroy') {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror: wants plan, apply or destroy, got '${action ?? ''}'`);
  }
  const { values, positionals } = parseCommandArgs('aws mirror', rest, {
    source: { type: 'string', multiple: true },
    alb: { type: 'string', multiple: true },
    'target-group': { type: 'string', multiple: true },
    target: { type: 'string' },
    filter: { type: 'string' },
    name: { type: 'string' },
    'session-number': { type: 'string' },
    vni: { type: 'string' },
    'packet-length': { type: 'string' },
    region: { type: 'string' },
    offline: { type: 'boolean' },
    'script-out': { type: 'string' },
    'template-out': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new MirrorlensError(ErrorCode.Usage, `aws mirror: unexpected argument '${positionals[0]}'`);
  return { action, values };
}

function intOption(values: Parsed['values'], name: string): number | undefined {
  const v = values[name] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new MirrorlensError(ErrorCode.Usage, `aws mirror: --${name} wants a whole number, got '${v}'`);
  return Number(v);
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { action, values } = parse(argv);
  const name = (values.name as string | undefined) ?? 'mirrorlens';
  const region = (values.region as string | undefined) ?? undefined;
  const offline = values.offline === true;
  const out = (s: string): void => void io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const err = (s: string): void => void io.stderr.write(`mirrorlens aws mirror: ${s}\n`);

  if (action === 'destroy') {
    for (const k of ['source', 'alb', 'target-group', 'target', 'filter']) {
      if (values[k] !== undefined) throw new MirrorlensError(ErrorCode.Usage, `aws mirror destroy: --${k} is not used: destroy removes what is tagged mirrorlens:stack=${name}`);
    }
    if (offline) throw new MirrorlensError(ErrorCode.Usage, 'aws mirror destroy: --offline makes no sense here');
    const { makeClients, destroyStack } = await import('../aws/mirror-ec2.js');
    const gone = await destroyStack(makeClients(region, io.env), name, values['dry-run'] === true, out);
    if (gone.length === 0) out(`nothing is tagged mirrorlens:stack=${name} in ${region ?? 'this region'}`);
    return EXIT.ok;
  }

  if (values['dry-run'] !== undefined) throw new MirrorlensError(ErrorCode.Usage, `aws mirror ${action}: --dry-run is for destroy (plan never changes anything)`);
  if (values.target === undefined) throw new MirrorlensError(ErrorCode.Usage, `aws mirror ${action}: --target is required (eni-..., an NLB ARN, vpce-... or tmt-...)`);
  const target = parseTarget(values.target as string);
  const given = ((values.source as string[] | undefined) ?? []).map(parseSourceId);
  const sources = given.filter((x) => !isSourceAddress(x));
  const sourceAddrs = given.filter(isSourceAddress);
  const albs = (values.alb as string[] | undefined) ?? [];
  const groups = (values['target-group'] as string[] | undefined) ?? [];
  const filterFile = values.filter as string | undefined;
  const spec: MirrorSpec = {
    name,
    sources,
    target,
    filter: filterFile !== undefined ? loadMirrorFilter(filterFile) : defaultFilter(),
    defaultFilter: filterFile === undefined,
    sessionNumber: intOption(values, 'session-number') ?? 1,
    virtualNetworkId: intOption(values, 'vni'),
    packetLength: intOption(values, 'packet-length'),
  };
  if (offline && (albs.length > 0 || groups.length > 0 || sourceAddrs.length > 0)) {
    throw new MirrorlensError(ErrorCode.Usage, `aws mirror plan --offline: ${sourceAddrs.length ? `--source ${sourceAddrs[0]} (an address)` : '--alb and --target-group'} need${sourceAddrs.length ? 's' : ''} AWS; give --source eni-... instead`);
  }
  if (offline && action === 'apply') throw new MirrorlensError(ErrorCode.Usage, 'aws mirror apply: --offline makes no sense here');
  if (action === 'apply' && (values['script-out'] !== undefined || values['template-out'] !== undefined)) {
    throw new MirrorlensError(ErrorCode.Usage, 'aws mirror apply: --script-out and --template-out are for plan');
  }

  // Checked before AWS is asked anything: a plan never ends in an output it cannot write.
  if (values['script-out'] !== undefined) await checkOutputFile(values['script-out'] as string, 'the AWS CLI commands');
  if (values['template-out'] !== undefined) await checkOutputFile(values['template-out'] as string, 'the CloudFormation template');

  const notes: string[] = [];
  let problems: string[] = [];
  let clients: AwsClients | undefined;
  if (!offline) {
    const ec2 = await import('../aws/mirror-ec2.js');
    clients = ec2.makeClients(region, io.env);
    if (sourceAddrs.length) {
      const byAddr = await ec2.interfacesByAddress(clients, sourceAddrs);
      for (const [a, eni] of byAddr) {
        spec.sources.push(eni);
        notes.push(`--source ${a}: ${eni}`);
      }
    }
    for (const a of albs) {
      const lb = await ec2.loadBalancerInterfaces(clients, a);
      spec.sources.push(...lb.enis);
      notes.push(`--alb ${a} (${lb.type}): ${lb.enis.join(', ')}`);
    }
    for (const g of groups) {
      const enis = await ec2.targetGroupInterfaces(clients, g);
      spec.sources.push(...enis);
      notes.push(`--target-group ${g}: ${enis.join(', ')}`);
    }
    spec.sources = [...new Set(spec.sources)];
    validateSpec(spec);
    const check = await ec2.checkSpec(clients, spec);
    problems = check.problems;
    notes.push(...check.notes);
  } else {
    validateSpec(spec);
    notes.push('--offline: the target security group and the sources were not checked');
  }
  notes.push(...mtuAdvice(spec));
  if (spec.defaultFilter) notes.push('filter: all TCP both ways (the default; --filter FILE to narrow it)');

  if (action === 'plan') {
    const lines = [`# mirrorlens aws mirror plan: stack '${name}', ${spec.sources.length} source${spec.sources.length === 1 ? '' : 's'} -> ${spec.target.id}`];
    for (const p of problems) lines.push(`# PROBLEM: ${p}`);
    for (const n of notes) lines.push(`# note: ${n}`);
    const script = renderCliScript(spec, region ?? clients?.region);
    const template = renderTemplateYaml(spec);
    if (values['script-out'] !== undefined) {
      await writeOutputFile(values['script-out'] as string, script, 'the AWS CLI commands');
      lines.push(`# AWS CLI commands written to ${values['script-out'] as string}`);
    }
    if (values['template-out'] !== undefined) {
      await writeOutputFile(values['template-out'] as string, template, 'the CloudFormation template');
      lines.push(`# CloudFormation template written to ${values['template-out'] as string} (aws cloudformation deploy --template-file ${values['template-out'] as string} --stack-name mirrorlens-${name})`);
    }
    out(lines.join('\n'));
    if (values['script-out'] === undefined) out(`\n# --- AWS CLI commands ---\n${script}`);
    if (values['template-out'] === undefined) out(`\n# --- CloudFormation template (aws cloudformation deploy --template-file FILE --stack-name mirrorlens-${name}) ---\n${template}`);
    return problems.length > 0 ? EXIT.found : EXIT.ok;
  }

  // apply
  for (const p of problems) err(`PROBLEM: ${p}`);
  for (const n of notes) err(`note: ${n}`);
  const { applySpec } = await import('../aws/mirror-ec2.js');
  const res = await applySpec(clients!, spec, out);
  out(`stack '${name}': ${res.created.length} created, ${res.kept.length} unchanged, ${res.deleted.length} removed`);
  const named = res.sessions.filter((s) => s.vni !== undefined).map((s) => `--session ${s.vni}=${s.eni}`);
  if (named.length > 0) out(`on the target: mirrorlens listen --out DIR ${named.join(' ')}`);
  return problems.length > 0 ? EXIT.found : EXIT.ok;
}

export const command: Command = {
  summary: 'set up VPC Traffic Mirroring for mirrorlens: aws mirror plan|apply|destroy',
  usage: USAGE,
  run,
};
