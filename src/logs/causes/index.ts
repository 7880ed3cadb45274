/**
 * The verdict catalogue (types.ts says what an entry holds) and its log-signature matcher: which
 * documented causes a log line fits, most likely first, and what the line proves on its own (the
 * group's meaning). `logs` explains lines with it, `analyze` without captures builds its findings
 * from it, and the packet verdicts cite its entries.
 */
import { ALB_5XX } from './alb-5xx.js';
import { ALB_OTHER } from './alb-other.js';
import { NLB_CLB_NAT } from './nlb-clb-nat.js';
import type { Cause, LogSignature, TimeCond } from './types.js';

export type { Cause, CaptureAdvice, CauseConfidence, LogSignature, PacketSignature, TimeCond } from './types.js';
export { ALB_TROUBLESHOOTING } from './alb-5xx.js';

export const CAUSES: readonly Cause[] = [...ALB_5XX, ...ALB_OTHER, ...NLB_CLB_NAT];

const BY_ID = new Map(CAUSES.map((c) => [c.id, c]));

export function causeById(id: string): Cause | undefined {
  return BY_ID.get(id);
}

/** The causes a packet verdict kind names (in catalogue order). */
export function causesForVerdict(kind: string): Cause[] {
  return CAUSES.filter((c) => c.packets !== null && c.packets.verdicts.includes(kind));
}

/**
 * What a log-pattern group proves by itself, and what it leaves open. `{t}` is "target" (ALB) or
 * "instance" (Classic LB).
 */
export const GROUPS: Readonly<Record<string, { proves: string; open: string | null }>> = {
  '502-connect-failed': { proves: 'the load balancer answered 502 itself and never dispatched the request: it could not open a connection to the {t}', open: 'a RST to its SYN, an ICMP unreachable, and a failed TLS handshake (HTTPS target groups) all log the same; less often a {t} closing a reused connection as the request went out logs so too' },
  '502-target-closed': { proves: 'the load balancer answered 502 itself after sending the request: the {t} connection closed or reset before any response', open: 'a keep-alive race (the {t} closing an idle connection as the request went out), a hop between (NLB, NAT, firewall) resetting a connection it forgot, a {t} crash, and a deregistration delay running out all log the same (and a response head over 32 KB can, as the lab\'s nginx logs it)' },
  '502-bad-response': { proves: 'the load balancer answered 502 itself after the {t} began to answer: the response was not usable', open: 'a malformed response and response headers over 32 KB log the same' },
  '502-lambda': { proves: 'the load balancer answered 502 itself: the Lambda target failed', open: null },
  '503-no-targets': { proves: 'the load balancer answered 503 itself: there was no {t} to send the request to', open: null },
  '503-clb': { proves: 'the load balancer answered 503 itself although it had an instance: it had no capacity for the request', open: null },
  '504-connect-timeout': { proves: 'the load balancer answered 504 itself and never dispatched the request: no connection to the {t} within its connect timeout', open: 'SYNs dropped on the way (security group, network ACL, routing, a host firewall, a full listen backlog) and SYN-ACKs dropped on the way back (a network ACL without the ephemeral-port return rule) log the same' },
  '504-idle-timeout': { proves: 'the load balancer answered 504 itself: the {t} got the request and did not answer within the idle timeout', open: 'a slow {t} and one that sent a Content-Length larger than its body can log the same' },
  '504-short-body': { proves: 'the load balancer answered 504 itself although the {t} had started its response: the rest of the response never came', open: null },
  '504-lambda': { proves: 'the load balancer answered 504 itself: the Lambda service did not answer in time', open: null },
  'nlb-tls-alert': { proves: 'the client ended the TLS handshake with the listener by an alert: it refused what the NLB offered (certificate, version or cipher)', open: null },
  'nlb-tls-incomplete': { proves: 'the TLS handshake with the listener did not complete and the client sent no alert', open: 'a client that left during the handshake (a timeout, a health check or scanner) and one that sent something that is not a ClientHello log the same; chosen_cert_arn - says no valid ClientHello arrived' },
  'clb-tcp-not-dispatched': { proves: 'the Classic Load Balancer logged a TCP/SSL connection it never passed to an instance, or that ended before any exchange (processing times -1)', open: 'the load balancer unable to reach an instance, an instance closing the connection before the idle timeout, and a client that connected and sent nothing (or a malformed request) log the same' },
  '504-clb-closed': { proves: 'the load balancer answered 504 itself without dispatching the request: the instance\'s connection was gone', open: null },
};

export interface LogLineFacts {
  log: 'alb' | 'clb' | 'nlb';
  type: string | null;
  elbStatus: number | null;
  targetStatus: number | null;
  /** request, target, response processing seconds; null where logged -1. */
  times: readonly [number | null, number | null, number | null];
  /** time − request_creation_time, when both are logged. */
  elapsedSeconds: number | null;
  targetSet: boolean;
  errorReason: string | null;
  actions: readonly string[];
  classification: string | null;
  /** target_status_code_list has a code (null: the field is not in the line). */
  targetStatusListSet: boolean | null;
  tlsAlert: number | null;
  tlsCompleted: boolean | null;
}

export interface CauseMatch {
  cause: Cause;
  /** Index of the matching signature in cause.log (0: its usual one). */
  signature: number;
  /** Higher is a closer fit. */
  score: number;
}

function timeOk(c: TimeCond, v: number | null): boolean {
  return c === 'any' || (c === '-1' ? v === null : v !== null);
}

/** Score of a signature against a line: -1 when it does not fit, else how many fields it pinned. */
export function signatureScore(s: LogSignature, f: LogLineFacts): number {
  if (s.log !== f.log) return -1;
  let n = 0;
  if (s.elbStatus === 'none') {
    if (f.elbStatus !== null) return -1;
    n++;
  } else if (s.elbStatus) {
    if (f.elbStatus === null || !s.elbStatus.includes(f.elbStatus)) return -1;
    n++;
  }
  if (s.targetStatus) {
    const t = f.targetStatus;
    const ok = s.targetStatus === 'none' ? t === null : s.targetStatus === 'same' ? t !== null && t === f.elbStatus : s.targetStatus === 'other' ? t !== null && t !== f.elbStatus : t !== null;
    if (!ok) return -1;
    n++;
  }
  if (s.times) {
    for (let i = 0; i < 3; i++) if (!timeOk(s.times[i]!, f.times[i]!)) return -1;
    n += s.times.filter((c) => c !== 'any').length;
  }
  if (s.target) {
    if ((s.target === 'set') !== f.targetSet) return -1;
    n++;
  }
  if (s.errorReason) {
    const ok = s.errorReason === 'none' ? f.errorReason === null : f.errorReason !== null && s.errorReason.includes(f.errorReason);
    if (!ok) return -1;
    n += s.errorReason === 'none' ? 1 : 3;
  }
  if (s.errorReasonPrefix) {
    if (f.errorReason === null || !f.errorReason.startsWith(s.errorReasonPrefix)) return -1;
    n += 3;
  }
  if (s.actions) {
    if (s.actions.has && !s.actions.has.every((a) => f.actions.includes(a))) return -1;
    if (s.actions.lacks && s.actions.lacks.some((a) => f.actions.includes(a))) return -1;
    n += 2;
  }
  if (s.classification) {
    const ok = s.classification === 'none' ? f.classification === null : f.classification !== null && s.classification.includes(f.classification);
    if (!ok) return -1;
    n++;
  }
  if (s.targetStatusList && f.targetStatusListSet !== null) {
    if ((s.targetStatusList === 'set') !== f.targetStatusListSet) return -1;
  }
  if (s.type) {
    if (f.type === null || !s.type.includes(f.type)) return -1;
    n++;
  }
  if (s.tlsAlert) {
    if ((s.tlsAlert === 'set') !== (f.tlsAlert !== null)) return -1;
    n++;
  }
  if (s.tlsCompleted !== undefined) {
    if (f.tlsCompleted === null || s.tlsCompleted !== f.tlsCompleted) return -1;
    n++;
  }
  // The wait is a hint, not a condition: timers are configurable (and scaled in the lab).
  if (s.elapsedSeconds && f.elapsedSeconds !== null) {
    const { min = -Infinity, max = Infinity } = s.elapsedSeconds;
    if (f.elapsedSeconds >= min && f.elapsedSeconds <= max) n++;
  }
  return n;
}

/**
 * The causes a log line fits, most likely first: a cause's usual signature before its occasional
 * ones, then the closer fit, then catalogue order.
 */
export function matchCauses(f: LogLineFacts): CauseMatch[] {
  const out: CauseMatch[] = [];
  for (const cause of CAUSES) {
    let best: CauseMatch | null = null;
    cause.log.forEach((s, i) => {
      const score = signatureScore(s, f);
      if (score < 0) return;
      if (best === null || i < best.signature || (i === best.signature && score > best.score)) best = { cause, signature: i, score };
    });
    if (best) out.push(best);
  }
  return out
    .map((m, order) => ({ m, order }))
    .sort((a, b) => (a.m.signature === 0 ? 0 : 1) - (b.m.signature === 0 ? 0 : 1) || b.m.score - a.m.score || a.order - b.order)
    .map((x) => x.m);
}

/** The log-pattern name of a match (`{code}` filled in). */
export function groupName(cause: Cause, elbStatus: number | null): string {
  return cause.group.replace('{code}', elbStatus === null ? '-' : String(elbStatus).padStart(3, '0'));
}

/** The causes of the best-fitting group: the candidates the line cannot tell apart. */
export function candidateCauses(matches: readonly CauseMatch[]): CauseMatch[] {
  if (matches.length === 0) return [];
  const top = matches[0]!;
  const usual = matches.filter((m) => m.signature === 0 && m.score === top.score);
  const rest = matches.filter((m) => !usual.includes(m) && m.cause.status === top.cause.status && m.cause.service === top.cause.service);
  return top.signature === 0 ? [...usual, ...rest] : [...matches];
}
