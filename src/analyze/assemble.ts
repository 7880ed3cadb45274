/**
 * The report of an analysis session, whichever way it was fed (captures in full or targeted,
 * or records read back from a store): one place builds it, so every mode reports alike.
 */
import type { Correlator } from '../correlate/correlate.js';
import type { Report, ReportLogs, ReportStats } from './model.js';
import { SCHEMA_VERSION } from './model.js';
import { GENERATOR } from './options.js';
import { reportScans } from './scans.js';
import type { AnalysisSession } from './session.js';

export interface ReportParts {
  /** performance.now() when the analysis began. */
  started: number;
  corr: Correlator;
  stats: ReportStats;
  inputs: Report['inputs'];
  explained: ReturnType<AnalysisSession['explain']>;
  logs: ReportLogs;
  /** Whether access logs were given (a scan's summary then says whether they saw it). */
  accessLogsGiven: boolean;
}

export function assembleReport(p: ReportParts): Report {
  const { findings, connections, transactions } = p.explained;
  p.logs.clockSkewSeconds = p.corr.skewEstimated ? p.corr.skewSeconds : null;
  p.stats.elapsedSeconds = Math.round(performance.now() - p.started) / 1000;
  return {
    schemaVersion: SCHEMA_VERSION,
    generator: GENERATOR,
    inputs: p.inputs,
    findings,
    connections,
    transactions,
    scans: reportScans(p.corr.attemptSummaries(), p.accessLogsGiven),
    logs: p.logs,
    stats: p.stats,
  };
}
