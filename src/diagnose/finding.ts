/**
 * A finding: one incident (a load-balancer error, a failed transaction or connection attempt)
 * explained once, with the evidence of every leg of its path that was captured. This is the unit
 * of the report contract (docs/report-schema.md, schemaVersion 2). Plain data, JSON-ready; times are
 * seconds since the Unix epoch in memory and ISO-8601 strings in the rendered JSON.
 */

export const FINDING_KINDS = [
  'idle-timeout-reset',
  'keepalive-race',
  'target-reset',
  'target-closed-before-response',
  'target-connection-refused',
  'target-connect-timeout',
  'target-response-timeout',
  'malformed-response',
  'tls-handshake-failure',
  'http2-stream-reset',
  'http2-goaway',
  'client-closed',
  'capture-gap',
  'flow-log-reject',
  'not-in-flow-logs',
  'target-error-response',
  'capture-end',
  // Causes the packet signatures prove (src/logs/causes/: the verdict catalogue).
  'target-unreachable',
  'response-headers-too-large',
  'content-length-mismatch',
  'return-path-blocked',
  'deregistered-in-flight',
  // Causes an access log decides by itself (analyze without captures).
  'lambda-error',
  'no-registered-targets',
  'request-rejected',
  'auth-error',
  'waf-error',
  'fixed-response',
  'lb-capacity',
  'client-tls-failure',
  /** Logs only: the lines fit several documented causes; `candidates` lists them, `captureNext` says how to settle it. */
  'undecided',
  'unexplained',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export type Severity = 'error' | 'warning' | 'info';
export type Confidence = 'high' | 'medium' | 'low';
export type EvidenceSource = 'packet' | 'alb-log' | 'nlb-log' | 'flow-log' | 'tls' | 'http';

export interface Evidence {
  time: number | null;
  source: EvidenceSource;
  text: string;
}

export interface FindingRequest {
  method: string | null;
  path: string | null;
  time: number | null;
}

export interface TargetConnectionRef {
  uid: string;
  client: string;
  server: string;
}

/** A known idle timeout the measured idle time is consistent with. */
export interface TimeoutFit {
  name: string;
  seconds: number;
  /** How the measured value relates: 'just-above' (expired by it), 'range' (within a configurable range). */
  relation: 'just-above' | 'within-range';
}

/** One arrow or mark of the ladder diagram. */
export interface TimelineMark {
  time: number;
  /** Index into Timeline.legs. */
  leg: number;
  /** 0: left → right (client → server of that leg); 1: right → left; -1: a note on the leg. */
  dir: 0 | 1 | -1;
  kind: 'syn' | 'synack' | 'data' | 'request' | 'response' | 'fin' | 'rst' | 'idle' | 'log' | 'note';
  label: string;
}

export interface TimelineLeg {
  /** The path leg this lane draws (see FindingLeg). */
  role: 'client' | 'lb' | 'target';
  name: string;
  uid: string | null;
  left: string;
  right: string;
}

export interface Timeline {
  legs: TimelineLeg[];
  marks: TimelineMark[];
}

/** How a leg was joined to the rest of the path (correlate/path.ts JoinKey). */
export interface FindingJoin {
  key: string;
  confidence: Confidence;
  detail: string;
}

/**
 * One leg of the incident's path: client ↔ load balancer (`client`), the load balancer's own
 * connection onward (`lb`), and the connection as the target received it behind a NAT hop
 * (`target`). Every finding lists all three, seen or not.
 */
export interface FindingLeg {
  role: 'client' | 'lb' | 'target';
  /** The capture holds this leg of this request. */
  seen: boolean;
  uid: string | null;
  client: string | null;
  server: string | null;
  capturePoints: string[];
  /** What joined it to the rest of the path (null: the leg the incident was found on, or not seen). */
  joinedBy: FindingJoin | null;
  /** What it showed, or (not seen) what it would have added. */
  note: string;
}

/** A documented cause (an entry of the verdict catalogue, docs/verdicts.md) in AWS's words, with the link. */
export interface FindingCause {
  id: string;
  title: string;
  /** What AWS says, short paraphrase. */
  aws: string;
  source: string;
}

/** What to capture next to settle a finding the inputs cannot (docs/analyze.md, logs-only analysis). */
export interface FindingCaptureNext {
  /** What to mirror (or where to capture) and why it settles it. */
  where: string;
  seconds: number;
  /** Why that long. */
  duration: string;
  /** The filter rules file to write (listen --filter / aws mirror plan --filter) and its YAML. */
  filterFile: string;
  filterYaml: string;
  /** What else to collect. */
  also: string[];
  /** Commands, in order (lines starting with # are comments). */
  commands: string[];
}

/** How often a logs-only incident's lines came, and when (first and last log line). */
export interface FindingOccurrences {
  count: number;
  firstTime: number;
  lastTime: number;
}

/** One request an HTTP/2 GOAWAY cut, and what became of it. */
export interface FindingGoawayStream {
  streamId: number | null;
  method: string | null;
  path: string | null;
  requestTime: number | null;
  /** `retried`: sent again on another connection and answered; `retry-failed`: sent again, not answered (or 5xx); `not-retried`: never sent again (lost). */
  outcome: 'retried' | 'retry-failed' | 'not-retried';
  retry: { connectionUid: string; streamId: number | null; status: number | null; requestTime: number | null; outcome: string } | null;
}

/** An HTTP/2 GOAWAY and every request it cut (one finding for all of them). */
export interface FindingGoaway {
  /** The connection it shut down, and who sent it (the peer that did not open the cut streams). */
  connectionUid: string;
  from: string | null;
  time: number;
  lastStreamId: number | null;
  errorCode: string | null;
  streams: FindingGoawayStream[];
  /** Counts of the streams by outcome. */
  retried: number;
  failed: number;
}

export interface Finding {
  id: string;
  kind: FindingKind;
  severity: Severity;
  confidence: Confidence;
  summary: string;
  status: number | null;
  request: FindingRequest | null;
  client: string | null;
  targetConnection: TargetConnectionRef | null;
  resetBy: string | null;
  idleSeconds: number | null;
  timeoutFits: TimeoutFit[];
  evidence: Evidence[];
  advice: string[];
  /** Evidence the verdict lacks (always non-empty for 'unexplained'). */
  missing: string[];
  /** Connection uids involved (for --evidence exports and cross-references). */
  connectionUids: string[];
  /** The path's legs: which were seen for this request, how they were joined, what a missing one would add. */
  legs: FindingLeg[];
  timeline: Timeline;
  /** Why, in AWS's words: the documented causes the verdict maps to, the load balancer's own first (then a hop's). */
  causes: FindingCause[];
  /** The documented causes the evidence fits but cannot tell apart (kind `undecided`, or `unexplained` with a log line). */
  candidates: FindingCause[];
  /** Logs only: one incident stands for this many log lines (null: one request). */
  occurrences: FindingOccurrences | null;
  /** What to capture next to settle it (null: nothing a capture would add). */
  captureNext: FindingCaptureNext | null;
  /** An HTTP/2 GOAWAY's cut requests and their retries (kind http2-goaway; absent or null otherwise). */
  goaway?: FindingGoaway | null;
}
