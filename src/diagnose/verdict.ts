/**
 * A verdict: what a rule concludes about one incident, before it becomes a Finding (the cause,
 * how sure, in words, the fix, what is missing), and the shared advice texts.
 */
import type { LegRole } from '../correlate/path.js';
import type { Confidence, Evidence, FindingGoaway, FindingKind, Severity, TimelineMark, TimeoutFit } from './finding.js';
import { formatSeconds } from './timeouts.js';

export interface Verdict {
  kind: FindingKind;
  confidence: Confidence;
  summary: string;
  advice: string[];
  missing: string[];
  resetBy: string | null;
  idleSeconds: number | null;
  /** The leg whose idle time `idleSeconds` is (drawn on its lane). */
  idleRole: LegRole | null;
  fits: TimeoutFit[];
  extraEvidence: Evidence[];
  /** Per leg: what it showed for this verdict, or (unseen) what it would have added. */
  legNotes: Partial<Record<LegRole, string>>;
  /** The severity when it is not the kind's usual one (SEVERITY): a GOAWAY whose requests were all retried is info. */
  severity?: Severity;
  /** http2-goaway: the cut requests and their retries. */
  goaway?: FindingGoaway;
  /** Marks the verdict adds to a leg's lane of the timeline (a GOAWAY, the retries on other connections). */
  extraMarks?: (Omit<TimelineMark, 'leg'> & { role: LegRole })[];
}

export function verdict(kind: FindingKind, confidence: Confidence, summary: string, advice: string[] = [], more: Partial<Verdict> = {}): Verdict {
  return { kind, confidence, summary, advice, missing: [], resetBy: null, idleSeconds: null, idleRole: null, fits: [], extraEvidence: [], legNotes: {}, ...more };
}

export const SEVERITY: Record<FindingKind, Severity> = {
  'idle-timeout-reset': 'error',
  'keepalive-race': 'error',
  'target-reset': 'error',
  'target-closed-before-response': 'error',
  'target-connection-refused': 'error',
  'target-connect-timeout': 'error',
  'target-response-timeout': 'error',
  'malformed-response': 'error',
  'tls-handshake-failure': 'error',
  'http2-stream-reset': 'warning',
  'http2-goaway': 'warning',
  'client-closed': 'info',
  'capture-gap': 'warning',
  'flow-log-reject': 'error',
  'not-in-flow-logs': 'error',
  'target-error-response': 'warning',
  'capture-end': 'info',
  'target-unreachable': 'error',
  'response-headers-too-large': 'error',
  'content-length-mismatch': 'error',
  'return-path-blocked': 'error',
  'deregistered-in-flight': 'error',
  'lambda-error': 'error',
  'no-registered-targets': 'error',
  'request-rejected': 'info',
  'auth-error': 'warning',
  'waf-error': 'error',
  'fixed-response': 'info',
  'lb-capacity': 'error',
  'client-tls-failure': 'warning',
  undecided: 'error',
  unexplained: 'warning',
};

export const KEEPALIVE_ADVICE =
  'Enable TCP keepalive on the pooled connections with an interval below the shortest idle timeout on the path (e.g. net.ipv4.tcp_keepalive_time=60 on the target, SO_KEEPALIVE in the application), so the hop never forgets an idle connection.';

export function idleResetAdvice(nlbFits: boolean, idle: number): string[] {
  const adv = [KEEPALIVE_ADVICE];
  if (nlbFits) {
    adv.push(`Or raise the NLB listener attribute tcp.idle_timeout.seconds above the load balancer's pooled-connection lifetime (measured idle here: ${formatSeconds(idle)}).`);
  }
  adv.push('Or make the upstream pool close idle connections sooner than that hop forgets them (ALB idle_timeout.timeout_seconds below the NLB/NAT timeout; nginx keepalive_timeout in the upstream block).');
  return adv;
}

export function keepAliveRaceAdvice(keepAlive: number): string[] {
  return [
    `Make the target's keep-alive timeout longer than the load balancer's idle timeout (ALB default 60 s): e.g. Node.js server.keepAliveTimeout = 65000 and server.headersTimeout = 66000; nginx keepalive_timeout 75s; Apache KeepAliveTimeout 75; gunicorn --keep-alive 75.`,
    `The target's keep-alive timeout measured here is about ${formatSeconds(keepAlive)}.`,
  ];
}

export const TARGET_RESET_ADVICE = 'Look at the target at that time: process crash or restart, a worker killed mid-request, SO_LINGER 0 closes, or a proxy/firewall between them resetting.';

export const TARGET_CLOSED_ADVICE =
  'Find why the target closes with a request outstanding: a crash after reading the request, a request-size or timeout limit in the target, or a graceful shutdown that does not drain in-flight requests.';

export const RESPONSE_TIMEOUT_ADVICE = [
  'Make the target answer faster, or raise the load balancer idle timeout (ALB idle_timeout.timeout_seconds, default 60 s) above the slowest legitimate response.',
  'Check the target for blocked workers, slow dependencies, or a Content-Length larger than the body it sends.',
];

export const FLOW_REJECT_ADVICE =
  'Allow the load balancer\'s security group (or subnet CIDRs; the NLB\'s own addresses when it does not preserve client IPs) on the target port in the target\'s security group; if the flow log shows ACCEPT one way and REJECT on the return, it is a network ACL (stateless) missing the ephemeral-port return rule (1024-65535).';
