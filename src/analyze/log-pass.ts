/**
 * The batch analysis's pass over the load-balancer and VPC flow logs, before the captures: every
 * line is counted for the report's `logs` section, and what the Correlator keeps is handed to it
 * (only the lines it keeps get a view).
 */
import { Correlator } from '../correlate/correlate.js';
import { albLogView, clbLogView, flowRowView } from '../correlate/from-logs.js';
import type { FlowRowView, LbLogView } from '../correlate/views.js';
import { readLogs, type LogRecord } from '../logs/read.js';
import type { AlbLineFacts } from '../logs/alb-scan.js';
import { isAllTime, widenWindow, type TimeWindow } from '../capture/window.js';
import type { Recorder } from '../store/recorder.js';
import { requireRecords } from '../logs/require.js';
import type { ReportLogs } from './model.js';
import type { AnalyzeInputs } from './options.js';
import type { Incident } from '../capture/incident.js';
import { CONTEXT_SECONDS, logLineSelected } from './incident.js';
import type { LogIncidents } from '../diagnose/logs-only.js';

/**
 * What the log pass hands its lines to: the Correlator, or a tape that holds them for one
 * (log-tape.ts: a targeted analysis feeds them to each correlation it runs).
 */
export interface LogSink {
  readonly time: { noteLogTime(file: string, t: number): void };
  addLog(v: LbLogView): void;
  noteLogTarget(targetAddr: string | null, targetPort: number | null): void;
  addFlowRow(v: FlowRowView): void;
  markFlowLogsGiven(): void;
  /** Every load-balancer line's client (a targeted analysis: which client connections the logs cover). */
  noteLogClient?(clientAddr: string | null, clientPort: number | null): void;
  /** noteLogClient for a dotted-quad address given as a number (the quick path: no string cut). */
  noteLogClientV4?(clientAddr: number, clientPort: number): void;
}

/** byElbStatus's keys for the status codes (the same strings as String(code)). */
const STATUS_TEXT: string[] = [];
function statusText(s: number | null): string {
  if (s === null) return '-';
  return s < 1000 ? (STATUS_TEXT[s] ??= String(s)) : String(s);
}

/**
 * Reads the inputs' logs into `corr`; bad lines are counted, the first 20 noted.
 * `incident` selects the 5xx lines handed to the Correlator (its window, client, trace id); its
 * window, or `window` when given, also prunes S3 / CloudWatch Logs listings to what can hold it.
 */
export async function readLogInputs(
  inputs: AnalyzeInputs,
  corr: LogSink,
  note: (m: string) => void,
  rec: Recorder | null = null,
  incident: Incident | null = null,
  listingWindow?: TimeWindow,
  /** Logs-only analysis (no capture given): every selected error line and flow-log REJECT goes here too. */
  logsOnly: LogIncidents | null = null,
): Promise<ReportLogs> {
  const window = listingWindow ?? (incident !== null && !isAllTime(incident.window) ? widenWindow(incident.window, CONTEXT_SECONDS) : undefined);
  const logs: ReportLogs = { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null };
  /** A load-balancer line counted: by kind and status, its time noted (its client is noted by the caller). */
  const countLbLine = (kind: 'alb' | 'clb', file: string, time: number, status: number | null): void => {
    logs.records++;
    logs.byKind[kind] = (logs.byKind[kind] ?? 0) + 1;
    corr.time.noteLogTime(file, time);
    const s = statusText(status);
    logs.byElbStatus[s] = (logs.byElbStatus[s] ?? 0) + 1;
    if (status !== null && status >= 500) logs.errors5xx++;
  };
  const onLog = (r: LogRecord) => {
    if (r.kind === 'alb' || r.kind === 'clb') {
      countLbLine(r.kind, r.file, r.time, r.elbStatusCode);
      corr.noteLogClient?.(r.clientAddr, r.clientPort);
      // Only the lines the Correlator keeps need a view (with its formatted evidence line).
      const selected = incident === null || logLineSelected(incident, r.time, r.clientAddr, r.clientPort, r.kind === 'alb' ? r.traceId : null);
      if (selected && logsOnly) {
        if (r.kind === 'alb') logsOnly.addAlb(r);
        else logsOnly.addClb(r);
      }
      if (selected && Correlator.keepsLogStatus(r.elbStatusCode)) {
        const v = r.kind === 'alb' ? albLogView(r) : clbLogView(r);
        corr.addLog(v);
        rec?.lbLog(v);
      } else if (r.kind === 'alb') corr.noteLogTarget(r.targetAddr, r.targetPort);
      else corr.noteLogTarget(r.backendAddr, r.backendPort);
      if (rec) {
        if (r.kind === 'alb') rec.lbTarget(r.file, r.targetAddr, r.targetPort, r.time);
        else rec.lbTarget(r.file, r.backendAddr, r.backendPort, r.time);
      }
      return;
    }
    logs.records++;
    logs.byKind[r.kind] = (logs.byKind[r.kind] ?? 0) + 1;
    if (r.kind === 'nlb') {
      if (logsOnly && (incident === null || logLineSelected(incident, r.time, r.clientAddr, r.clientPort, null))) logsOnly.addNlb(r);
    } else if (r.kind === 'flow') {
      logsOnly?.addFlow(r);
      const v = flowRowView(r);
      if (v) {
        corr.addFlowRow(v);
        rec?.flowRow(v);
      }
    }
  };
  // The lines nothing keeps (2xx, 3xx, most 4xx: nearly all) are only counted: their few fields
  // are read in place (alb-scan.ts) and no record is built. The same counts and notes as onLog.
  let lastTargetAddr: string | null = null;
  let lastTargetPort: number | null = null;
  const onAlbFacts = (f: AlbLineFacts): boolean => {
    if (Correlator.keepsLogStatus(f.elbStatusCode)) return false;
    countLbLine('alb', f.file, f.time, f.elbStatusCode);
    if (corr.noteLogClient !== undefined) {
      if (f.clientV4 >= 0 && corr.noteLogClientV4 !== undefined) corr.noteLogClientV4(f.clientV4, f.clientPort);
      else corr.noteLogClient(f.clientAddr, f.clientPort);
    }
    // (noteLogTarget is idempotent: a target named again by the next line is not noted again.)
    if (f.targetAddr !== lastTargetAddr || f.targetPort !== lastTargetPort) {
      corr.noteLogTarget(f.targetAddr, f.targetPort);
      lastTargetAddr = f.targetAddr;
      lastTargetPort = f.targetPort;
    }
    return true;
  };
  const onBadLine = (b: { file: string; line: number; reason: string }) => {
    logs.badLines++;
    if (logs.badLines <= 20) note(`${b.file}:${b.line}: ${b.reason}`);
  };
  const lbLogs = [...(inputs.albLogs ?? []), ...(inputs.nlbLogs ?? [])];
  if (lbLogs.length) {
    // (The recorder and a logs-only analysis want every line's record.)
    const quick = rec === null && logsOnly === null ? { onAlbFacts } : {};
    const s = await readLogs(lbLogs, onLog, { onBadLine, ...quick, ...(window ? { window } : {}) });
    logs.files += s.files.length;
    requireRecords(s, 'an ALB, NLB or Classic LB access log');
  }
  if ((inputs.flowLogs ?? []).length) {
    corr.markFlowLogsGiven();
    const s = await readLogs(inputs.flowLogs!, onLog, { format: 'flow', onBadLine, ...(window ? { window } : {}) });
    logs.files += s.files.length;
    requireRecords(s, 'a VPC flow log');
  }
  rec?.endLogs();
  return logs;
}
