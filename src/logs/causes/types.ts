/**
 * The verdict catalogue's shape: one entry per cause AWS documents for an error the load balancer
 * (ALB, NLB, Classic LB) or a NAT gateway produces itself, with what each kind of evidence shows of
 * it. Detections as data with their references (as Suricata keeps rules): adding a cause is adding
 * one entry; `logs` (explanations of log lines), `analyze` without captures (logs-only findings)
 * and the packet verdicts all read the same entries.
 */

export type CauseConfidence = 'high' | 'medium' | 'low' | 'none';

/** A processing time as logged: `-1` (the step never happened), measured (≥ 0), or either. */
export type TimeCond = '-1' | '>=0' | 'any';

/**
 * What a log line of this cause looks like. Absent fields match anything. `basis` says where the
 * signature comes from: AWS documents it, AWS's own examples show it, or it follows from the field
 * definitions (AWS does not tabulate the fields per cause: packets confirm).
 */
export interface LogSignature {
  log: 'alb' | 'clb' | 'nlb';
  /** elb_status_code (any of); `none`: no status logged (a Classic LB TCP/SSL listener's line). */
  elbStatus?: readonly number[] | 'none';
  /** `-` (none), the same code as elb_status_code (passed on), another code, or any code. */
  targetStatus?: 'none' | 'same' | 'other' | 'set';
  /** request_processing_time, target_processing_time, response_processing_time. */
  times?: readonly [TimeCond, TimeCond, TimeCond];
  /** Seconds from request_creation_time to time (the load balancer's wait), when both are logged. */
  elapsedSeconds?: { min?: number; max?: number };
  /** target:port (and target:port_list): `-` or an address. */
  target?: 'none' | 'set';
  /** error_reason codes (any of); `none` for `-`. */
  errorReason?: readonly string[] | 'none';
  /** error_reason prefix (`Lambda`, `Auth`, `WAF`). */
  errorReasonPrefix?: string;
  /** actions_executed must hold all of `has` and none of `lacks`. */
  actions?: { has?: readonly string[]; lacks?: readonly string[] };
  /** Desync classification (any of); `none` for `-`. */
  classification?: readonly string[] | 'none';
  /** target_status_code_list: `-` (no target answered) or codes. */
  targetStatusList?: 'none' | 'set';
  /** Access log type field (any of): `h2`, `grpcs`, ... */
  type?: readonly string[];
  /** NLB TLS log: an incoming TLS alert was logged / the handshake completed (cipher logged). */
  tlsAlert?: 'set' | 'none';
  tlsCompleted?: boolean;
  basis: 'documented' | 'aws-example' | 'field-definitions';
}

/** Where to capture to see this cause in packets, for the logs-only "capture next" advice. */
export interface CaptureAdvice {
  /** The interface to mirror (or host to capture on). */
  where: 'target' | 'lb-target-side' | 'lb-client-side' | 'client' | 'nat';
  /** What the filter keeps: TCP to/from the target's port (both ways), plus ICMP, or the listener port. */
  filter: 'target-port' | 'target-port+icmp' | 'listener-port';
  /** Also collect VPC flow logs of the target's interface (for drops that leave no packet). */
  flowLogs: boolean;
  /** Also the target's key log, for HTTPS target groups (to read the response). */
  targetKeyLog: boolean;
}

/** What packets show of the cause (null: nothing a capture can add). */
export interface PacketSignature {
  /** The analyze verdict kinds (FindingKind names) that name this cause. */
  verdicts: readonly string[];
  /** The signature in words: what the ladder diagram shows. */
  signature: string;
  /** The lab scenario that reproduces it with real parts (null: not reproducible here). */
  lab: string | null;
}

export interface Cause {
  /** Stable id: `<status>-<name>` (`502-keepalive-or-reset`), or `<service>-<name>` (`nat-idle-timeout`). */
  id: string;
  /** Who produces it. */
  service: 'alb' | 'clb' | 'nlb' | 'nat-gateway';
  /** The HTTP status the load balancer logs (0 for ALB's `000`), null for TCP-level causes. */
  status: number | null;
  /** Short title. */
  title: string;
  /** Log-pattern name shared by causes the log fields alone cannot tell apart (`502-connect-failed`). */
  group: string;
  /** The analyze finding kind a finding of this cause carries when the logs alone decide it. */
  kind: string;
  aws: {
    /** What AWS says, short paraphrase. */
    says: string;
    /** The page (with anchor) it says it on. */
    source: string;
  };
  /** What a log line of it looks like (empty: no log records it; see `metrics`). */
  log: readonly LogSignature[];
  /** CloudWatch metrics that count it. */
  metrics: readonly string[];
  packets: PacketSignature | null;
  /** What a finding of this cause cites. */
  evidence: string;
  /** The fix, most direct first. */
  fix: readonly string[];
  confidence: {
    /** How sure the logs alone make it, when this cause is the only one the line fits. */
    logsOnly: CauseConfidence;
    withPackets: CauseConfidence;
  };
  /** Where to capture to settle it (null: packets cannot add anything). */
  capture: CaptureAdvice | null;
}
