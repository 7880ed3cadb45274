/**
 * docs/verdicts.md, rendered from the catalogue (a test keeps the file equal to this; regenerate
 * with `UPDATE_GOLDEN=1 node scripts/run-tests.mjs src/logs/causes/doc`).
 */
import { CAUSES } from './index.js';
import type { Cause, LogSignature } from './types.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function signatureText(s: LogSignature): string {
  const parts: string[] = [];
  if (s.log !== 'alb') parts.push(`${s.log.toUpperCase()} log`);
  if (s.type) parts.push(`type ${s.type.join('/')}`);
  if (s.elbStatus === 'none') parts.push('elb - (TCP/SSL listener)');
  else if (s.elbStatus) parts.push(`elb ${s.elbStatus.map((c) => (c === 0 ? '000' : String(c))).join('/')}`);
  if (s.targetStatus) parts.push(`target status ${{ none: '-', same: '= elb', other: '≠ elb (set)', set: 'set' }[s.targetStatus]}`);
  if (s.times) parts.push(`times ${s.times.map((t) => (t === 'any' ? '*' : t)).join(' ')}`);
  if (s.elapsedSeconds) parts.push(`wait ${s.elapsedSeconds.min ?? 0}-${s.elapsedSeconds.max ?? '∞'} s`);
  if (s.target) parts.push(`target:port ${s.target === 'none' ? '-' : 'set'}`);
  if (s.errorReason) parts.push(`error_reason ${s.errorReason === 'none' ? '-' : s.errorReason.join('/')}`);
  if (s.errorReasonPrefix) parts.push(`error_reason ${s.errorReasonPrefix}*`);
  if (s.actions?.has) parts.push(`actions ∋ ${s.actions.has.join(',')}`);
  if (s.actions?.lacks) parts.push(`actions ∌ ${s.actions.lacks.join(',')}`);
  if (s.classification) parts.push(`classification ${s.classification === 'none' ? '-' : s.classification.join('/')}`);
  if (s.targetStatusList) parts.push(`target_status_code_list ${s.targetStatusList === 'none' ? '-' : 'set'}`);
  if (s.tlsAlert) parts.push(`incoming_tls_alert ${s.tlsAlert === 'none' ? '-' : 'set'}`);
  if (s.tlsCompleted !== undefined) parts.push(`tls_cipher ${s.tlsCompleted ? 'set' : '-'}`);
  return `${parts.join(', ')} (${s.basis})`;
}

function entry(c: Cause): string {
  const lines = [
    `### \`${c.id}\`: ${c.title}`,
    '',
    `AWS: ${c.aws.says} ([source](${c.aws.source}))`,
    '',
    '| | |',
    '|---|---|',
    `| status | ${c.status === null ? '— (TCP level)' : c.status === 0 ? '000' : c.status} (${c.service}) |`,
    `| log signature | ${c.log.length ? c.log.map((s, i) => `${i === 0 ? '' : 'or '}${cell(signatureText(s))}`).join('<br>') : 'no log records it'} |`,
    `| log pattern | \`${c.group}\` |`,
    `| metrics | ${c.metrics.length ? c.metrics.map((m) => `\`${m}\``).join(', ') : '—'} |`,
    `| packet signature | ${c.packets ? `${cell(c.packets.signature)} → ${c.packets.verdicts.map((v) => `\`${v}\``).join(', ')}${c.packets.lab ? ` (lab: ${c.packets.lab})` : ''}` : '— (packets add nothing)'} |`,
    `| evidence cited | ${cell(c.evidence)} |`,
    `| confidence | logs only: ${c.confidence.logsOnly}; with packets: ${c.confidence.withPackets} |`,
    `| capture next | ${c.capture ? `mirror ${c.capture.where}, filter ${c.capture.filter}${c.capture.flowLogs ? ', plus its VPC flow logs' : ''}${c.capture.targetKeyLog ? ', plus the target\'s TLS key log' : ''}` : '—'} |`,
    `| fix | ${c.fix.map(cell).join('<br>')} |`,
    '',
  ];
  return lines.join('\n');
}

export function renderCatalogueMarkdown(): string {
  const out = [
    '# The verdict catalogue',
    '',
    '<!-- Generated from src/logs/causes/ by src/logs/causes/doc.ts: edit the catalogue, then',
    '     UPDATE_GOLDEN=1 node scripts/run-tests.mjs src/logs/causes/doc -->',
    '',
    'One entry per cause AWS documents for an error the load balancer or a NAT gateway produces',
    'itself. `logs` explains each log line with it, `analyze` without captures groups the lines by it and',
    'says what to capture next, and every `analyze` finding quotes the entry its verdict maps to.',
    'A log signature\'s basis says whether AWS documents it, shows it in an example, or it follows from',
    'the field definitions (AWS does not tabulate the fields per cause; packets confirm). Times are',
    'request/target/response processing times: `-1` never happened, `>=0` measured, `*` either.',
    '',
  ];
  const sections: [string, (c: Cause) => boolean][] = [
    ['ALB 502', (c) => c.service === 'alb' && c.status === 502],
    ['ALB 503 and 504', (c) => c.service === 'alb' && (c.status === 503 || c.status === 504)],
    ['ALB: the other answers of its own', (c) => c.service === 'alb' && c.status !== 502 && c.status !== 503 && c.status !== 504],
    ['Network Load Balancer', (c) => c.service === 'nlb'],
    ['Classic Load Balancer', (c) => c.service === 'clb'],
    ['NAT gateway', (c) => c.service === 'nat-gateway'],
  ];
  for (const [title, pick] of sections) {
    out.push(`## ${title}`, '');
    for (const c of CAUSES.filter(pick)) out.push(entry(c));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
