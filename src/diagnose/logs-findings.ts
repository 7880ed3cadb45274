/**
 * Logs-only incidents as findings (the report contract): the cause when the lines decide it,
 * `undecided` with the candidates when they do not, and in either case what the log proves, the
 * sample lines as evidence and what to capture next.
 */
import type { Cause, CauseConfidence } from '../logs/causes/index.js';
import type { Confidence, Evidence, Finding, FindingKind, FindingLeg } from './finding.js';
import { groupDigits, incidentHeadline, incidentPlan, incidentProves, type LogIncident } from './logs-only.js';
import { nextFindingId } from './rules.js';
import { SEVERITY } from './verdict.js';
import { causeRef } from './why.js';

function confidence(c: CauseConfidence): Confidence {
  return c === 'none' ? 'low' : c;
}

const LEG_NOTES: Record<FindingLeg['role'], string> = {
  client: 'not captured (logs only): would show what the client sent and got',
  lb: 'not captured (logs only): would show how the load balancer\'s connection to the target ended',
  target: 'not captured (logs only): would show what reached the target and what it sent back',
};

export function logIncidentFinding(inc: LogIncident): Finding {
  const id = nextFindingId();
  const decided: Cause | null = inc.decided;
  const kind = (decided ? decided.kind : 'undecided') as FindingKind;
  const proves = incidentProves(inc);
  const headline = incidentHeadline(inc);
  const open = decided ? null : inc.causes.length > 1 ? inc.causes.map((c) => c.title).join('; ') : null;
  const summary = `${headline}: ${proves[0]}.${decided && decided.packets === null ? '' : open ? ` The log cannot tell apart: ${open}.` : ''}`;
  const src: Evidence['source'] = inc.service === 'nlb' ? 'nlb-log' : 'alb-log';
  const evidence: Evidence[] = [
    ...proves.slice(1).map((p) => ({ time: null, source: src, text: p })),
    ...inc.samples.map((s) => ({ time: s.time, source: src, text: `${s.file}:${s.line}: ${s.raw}` })),
    ...inc.flowRows.map((s) => ({ time: s.time, source: 'flow-log' as const, text: `${s.file}:${s.line}: ${s.raw}` })),
  ];
  if (inc.count > inc.samples.length) evidence.push({ time: inc.last, source: src, text: `… ${groupDigits(inc.count - inc.samples.length)} more lines like these (${inc.clients.size} client address${inc.clients.size === 1 ? '' : 'es'}${inc.paths.size ? `, paths ${[...inc.paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([p, n]) => `${p} (${groupDigits(n)})`).join(', ')}` : ''})` });
  const plan = decided && decided.confidence.withPackets === 'none' ? null : incidentPlan(inc, id.toLowerCase());
  const advice = decided ? [...decided.fix] : inc.causes.map((c) => `If ${c.title}: ${c.fix[0]}`);
  const sev = kind === 'undecided' ? (inc.status !== null && inc.status >= 500 ? 'error' : 'warning') : SEVERITY[kind];
  const conf: Confidence = decided ? (inc.flowRows.length && inc.causes.length > 1 ? 'medium' : confidence(decided.confidence.logsOnly)) : 'low';
  const target = inc.targetAddr !== null ? `${inc.targetAddr.includes(':') ? `[${inc.targetAddr}]` : inc.targetAddr}${inc.targetPort !== null ? `:${inc.targetPort}` : ''}` : null;
  return {
    id,
    kind,
    severity: sev,
    confidence: conf,
    summary,
    status: inc.status,
    request: { method: inc.firstRequest.method, path: inc.firstRequest.path, time: inc.first },
    client: inc.clients.size === 1 ? inc.firstRequest.client : null,
    targetConnection: null,
    resetBy: null,
    idleSeconds: null,
    timeoutFits: [],
    evidence,
    advice,
    missing: plan ? [`packets of ${target ?? 'the path'} while it happens (see capture next)`] : [],
    connectionUids: [],
    legs: (['client', 'lb', 'target'] as const).map((role) => ({ role, seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: role === 'target' && target ? `${LEG_NOTES.target} (${target})` : LEG_NOTES[role] })),
    timeline: { legs: [], marks: [] },
    causes: decided ? [causeRef(decided)] : [],
    candidates: decided ? [] : inc.causes.map(causeRef),
    occurrences: { count: inc.count, firstTime: inc.first, lastTime: inc.last },
    captureNext: plan,
  };
}
