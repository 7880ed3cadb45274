/**
 * A Case: one incident to explain — an error (an access-log line, a failed transaction, a failed
 * connection attempt) with its path (every leg it crossed that was captured, each joined by a
 * named key), the flow-log rows of those legs' addresses, and what the capture covers.
 */
import type { FlowMatch } from './flow-match.js';
import type { GoawayGroup } from './goaway.js';
import type { Path, RoleCoverage } from './path.js';
import type { LbLogView } from './views.js';

export interface Case {
  /** What the incident was first found from. */
  origin: 'alb-log' | 'client-transaction' | 'target-transaction' | 'target-connection';
  status: number | null;
  log: LbLogView | null;
  path: Path;
  /** Which roles of legs the capture has at all around this time (a missing leg of a captured role means something). */
  coverage: RoleCoverage;
  flowRows: FlowMatch[];
  /** Whether the capture covers the case's time at all (else 'no packets' is no evidence). */
  captureCovers: boolean;
  /** Whether flow logs were given (so absence means something). */
  flowLogsGiven: boolean;
  /** Whether the flow logs have any row for the lb leg's connection(s) of this case. */
  inFlowLogs: boolean;
  /** Clock offset applied to log times (log − capture), seconds. */
  skewSeconds: number;
  /** When the request was received (capture clock), or the attempt began. */
  time: number;
  /** (connection uid, time) pairs this case explains: live analysis reports each incident once. */
  claims: { uid: string; time: number }[];
  /** An HTTP/2 GOAWAY: every stream it cut (this case's request among them) and each one's retry; null otherwise. */
  goaway: GoawayGroup | null;
}
