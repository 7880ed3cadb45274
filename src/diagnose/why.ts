/**
 * The "why" of a finding in AWS's words: the verdict catalogue's entries a verdict maps to (the
 * load balancer's own cause for the status it answered first, then a hop's: the NLB's or NAT
 * gateway's idle timeout the idle time fits), and, where the evidence does not decide, the causes
 * the log line fits with what to capture to tell them apart.
 */
import type { LbLogView } from '../correlate/views.js';
import { candidateCauses, causeById, causesForVerdict, matchCauses, type Cause, type LogLineFacts } from '../logs/causes/index.js';
import { capturePlan } from './capture-plan.js';
import type { FindingCaptureNext, FindingCause, FindingKind, TimeoutFit } from './finding.js';

export function causeRef(c: Cause): FindingCause {
  return { id: c.id, title: c.title, aws: c.aws.says, source: c.aws.source };
}

/**
 * The documented causes a verdict maps to. `status` is the one the load balancer answered (from its
 * log, or the client-side response), `service` which load balancer logged it.
 */
export function citeVerdict(kind: FindingKind, status: number | null, service: 'alb' | 'clb' | 'nlb' | null, fits: readonly TimeoutFit[] = []): Cause[] {
  const all = causesForVerdict(kind);
  const lbService = service === 'clb' ? 'clb' : 'alb';
  const own = all.filter((c) => c.service === lbService && c.status !== null && (status === null || c.status === status));
  const out: Cause[] = own.length ? [own[0]!] : [];
  if (out.length === 0 && status === null) {
    const first = all.find((c) => c.service === lbService && c.status !== null);
    if (first) out.push(first);
  }
  // A hop's own documented behaviour, when the measured idle time names the hop.
  if (kind === 'idle-timeout-reset') {
    if (fits.some((f) => f.name.startsWith('NLB'))) out.push(causeById('nlb-idle-timeout')!);
    if (fits.some((f) => f.name.startsWith('NAT'))) out.push(causeById('nat-idle-timeout')!);
  }
  if (out.length === 0 && service === 'nlb') out.push(...all.filter((c) => c.service === 'nlb').slice(0, 1));
  return out;
}

/** The catalogue's view of a correlated log line (the fields a correlation view keeps). */
export function logViewFacts(l: LbLogView): LogLineFacts {
  return {
    log: l.kind,
    type: null,
    elbStatus: l.elbStatus,
    targetStatus: l.targetStatus,
    times: [l.requestProcessingSeconds, l.targetProcessingSeconds, l.responseProcessingSeconds],
    elapsedSeconds: l.requestTime !== null ? l.time - l.requestTime : null,
    targetSet: l.targetAddr !== null,
    errorReason: l.errorReason,
    actions: ['forward'],
    classification: null,
    targetStatusListSet: null,
    tlsAlert: null,
    tlsCompleted: null,
  };
}

/** The causes a logged error fits, most likely first. */
export function logCandidates(l: LbLogView): Cause[] {
  return candidateCauses(matchCauses(logViewFacts(l))).map((m) => m.cause);
}

/** What to capture to tell a logged error's candidates apart (one request: at least 10 minutes around its time of day). */
export function captureForLog(l: LbLogView, causes: readonly Cause[], name: string): FindingCaptureNext | null {
  const advice = causes.map((c) => c.capture).filter((a) => a !== null);
  if (advice.length === 0) return null;
  return capturePlan({ targetAddr: l.targetAddr, targetPort: l.targetPort, elb: null, targetGroupArn: null, listenerPort: null, count: 1, spanSeconds: 0, name, advice });
}
