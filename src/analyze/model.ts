/**
 * The analyze report model, schemaVersion 2 (documented in docs/report-schema.md). Text, JSON and
 * HTML are pure renderers of a Report. In memory, times are seconds since the Unix epoch; the JSON
 * renderer writes them as ISO-8601 strings.
 */
import type { Finding, FindingKind } from '../diagnose/finding.js';
import type { AttemptSummary } from '../correlate/syn-attempts.js';

export const SCHEMA_VERSION = 2 as const;

export interface ReportConnection {
  uid: string;
  communityId: string | null;
  role: 'client-side' | 'target-side' | 'unknown';
  client: string;
  server: string;
  capturePoint: string;
  startTime: number;
  endTime: number;
  connState: string;
  history: string;
  closedBy: string | null;
  closeHow: string | null;
  maxIdleSeconds: number;
  requests: number;
}

export interface ReportTransaction {
  uid: string;
  connUid: string;
  side: 'client-side' | 'target-side' | 'unknown';
  httpVersion: string | null;
  method: string | null;
  host: string | null;
  path: string | null;
  status: number | null;
  traceId: string | null;
  requestTime: number | null;
  responseTime: number | null;
  requestIndexOnConnection: number | null;
  idleBeforeRequestSeconds: number | null;
  outcome: string;
  endedBy: string | null;
}

export interface ReportLogs {
  files: number;
  records: number;
  badLines: number;
  byKind: Record<string, number>;
  /** elb_status_code → count, for ALB/CLB lines. */
  byElbStatus: Record<string, number>;
  errors5xx: number;
  /** Estimated clock offset log − capture in seconds (null when not estimable). */
  clockSkewSeconds: number | null;
}

export interface ReportStats {
  captures: number;
  packets: number;
  bytes: number;
  connections: number;
  tcpConnections: number;
  tlsSessions: number;
  tlsDecrypted: number;
  httpTransactions: number;
  httpResponses: number;
  findingsByKind: Partial<Record<FindingKind, number>>;
  warnings: string[];
  elapsedSeconds: number;
  /** Which connections were read through TLS and HTTP, and why (absent from older reports). */
  dissection?: ReportDissection;
}

/**
 * How much of the capture was dissected. `targeted` (the default): every connection was tracked
 * (TCP), and only the connections a finding can need were read through TLS and HTTP (the other
 * connections' transactions are not in httpTransactions / httpResponses). `full`: every connection
 * was read (--all, --full, --store, or a capture the targeted passes could not follow: `fallback`),
 * `reason` says which.
 */
export interface ReportDissection {
  mode: 'targeted' | 'full';
  /** Why the full pipeline ran ('--all lists every connection and transaction', ...). */
  reason?: string;
  /** What decided the client side: 'access log', or 'none: every client-side connection read'. */
  logs?: string;
  connections: number;
  /** Connections read through TLS and HTTP. */
  dissected: number;
  /** Passes over the captures (the survey, then each second pass). */
  passes?: number;
  /** Times the correlation ran (again when it cited a connection not read yet). */
  correlations?: number;
  /** Dissected connections by reason (a connection counts under each of its reasons). */
  byReason?: Record<string, number>;
  /**
   * Where a targeted analysis's first pass (capture read, decode, survey) ran: 'native' (the C
   * reader and survey of the mirrorlens_analyze addon, on a worker thread while the logs were read)
   * or 'javascript' (the reference; the same results), with `firstPassNote` saying why not native
   * (the addon missing or stale, MIRRORLENS_NO_NATIVE=1, or what the native reader declined).
   */
  firstPass?: 'native' | 'javascript';
  firstPassNote?: string;
  /** Why a targeted analysis fell back to reading everything. */
  fallback?: string;
}

/**
 * Connection attempts that carried no data (SYNs never answered, refused, or handshakes reset
 * before any data), summarised per destination address: a SYN flood or scan is one entry, not
 * one finding per attempt.
 */
export interface ReportScan extends AttemptSummary {
  /** One line saying all of it. */
  summary: string;
}

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  generator: string;
  inputs: { captures: string[]; keylogs: string[]; albLogs: string[]; nlbLogs: string[]; flowLogs: string[] };
  findings: Finding[];
  connections: ReportConnection[];
  transactions: ReportTransaction[];
  /** Connection attempts that carried no data, per destination (empty when there were none). */
  scans: ReportScan[];
  logs: ReportLogs;
  stats: ReportStats;
}
