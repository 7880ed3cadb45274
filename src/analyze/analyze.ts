/**
 * `analyze`: captures (+ key logs, access logs, flow logs) → Report.
 *
 * One streaming pass over the logs, then one over the captures (flow → TLS → HTTP), feeding the
 * Correlator, which keeps only what may need explaining; then correlation, verdicts, and the
 * report model. Memory follows live connections and errors, not the size of the inputs.
 */
import { Correlator } from '../correlate/correlate.js';
import { resetFindingIds } from '../diagnose/rules.js';
import { LogIncidents } from '../diagnose/logs-only.js';
import { logIncidentFinding } from '../diagnose/logs-findings.js';
import type { PipelineSummary } from '../flow/pipeline.js';
import { KeyLog, formatKeyLogIssue } from '../tls/keylog.js';
import { readKeyLogs } from './keylogs.js';
import { readLogInputs } from './log-pass.js';
import type { Report, ReportLogs } from './model.js';
import { ANALYZE_IDLE_GAP_SECONDS, type AnalysisContext, type AnalyzeInputs, type AnalyzeOptions } from './options.js';
import { assembleReport } from './assemble.js';
import { loadDissectors } from './dissectors.js';
import { AnalysisSession } from './session.js';
import { analyzeTargeted } from './targeted.js';
import { keepHeapsTrimmed, startNativeFirstPass } from '../flow/first-pass-native.js';
import { differentialChecks, reportDifference } from './differential.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { caseSelected, packetWindow } from './incident.js';

export async function analyze(inputs: AnalyzeInputs, opts: AnalyzeOptions = {}): Promise<{ report: Report; context: AnalysisContext }> {
  const started = performance.now();
  const warn = opts.onWarning ?? (() => {});
  const warnings: string[] = [];
  const note = (m: string) => {
    if (warnings.length < 100) warnings.push(m);
    warn(m);
  };
  resetFindingIds();

  // Only the connections a finding can need, read through TLS and HTTP (targeted.ts), unless the
  // options or inputs need every connection read (why: stats.dissection.reason).
  const needsFull = fullPipelineReason(inputs, opts);
  // The targeted analysis's first pass starts first, in C on a worker thread when it can
  // (flow/first-pass-native.ts): the key logs and the access logs are read meanwhile.
  const native = needsFull === null && inputs.captures.length > 0 ? startNativeFirstPass(inputs.captures, { idleGapThresholdSeconds: ANALYZE_IDLE_GAP_SECONDS, ...opts.flow }, packetWindow(opts.incident ?? null)) : null;
  // (The full pipeline runs no native pass; glibc's trimming as it would set it: peak RSS without
  // an access log 92.8 -> 84.2 MiB at 1x the bench capture, 110.2 -> 99.9 at 10x.)
  if (needsFull !== null && inputs.captures.length > 0) keepHeapsTrimmed();

  // Key logs.
  const keys = new KeyLog();
  const keyLogTexts: string[] = [];
  try {
    await readKeyLogs(inputs.keylogs ?? [], keys, note, opts.keepKeyLogTexts ? keyLogTexts : null);
  } catch (e) {
    native?.stop(); // (its reading would hold the process until it ends)
    throw e;
  }

  const checking = differentialChecks() && nestedChecks === 0;
  // Under the differential check, the targeted analysis the default skips without an access log
  // is run too and compared with the full one (below).
  const checkWithoutLog = checking && needsFull === NO_ACCESS_LOG;
  let fellBack: string | null = null;
  if (needsFull === null && inputs.captures.length > 0) {
    const fallback = { reason: '' };
    const warningsBefore = warnings.length;
    let t: Awaited<ReturnType<typeof analyzeTargeted>>;
    try {
      t = await analyzeTargeted(inputs, opts, keys, note, opts.keepKeyLogTexts ? keyLogTexts : null, fallback, native);
    } catch (e) {
      native?.stop(); // (an access log refused before the first pass was awaited)
      throw e;
    }
    if (t !== null) {
      const stats = t.session.stats;
      stats.captures = inputs.captures.length;
      stats.warnings = warnings;
      stats.dissection = t.dissection;
      const out = finish(inputs, started, t.corr, t.session, t.summary, t.logs, t.explained, note, { clientRandomsByUid: t.session.clientRandomsByUid, keyLogTexts, connections: t.session.connectionMap() });
      if (checking) await compareModes(inputs, { ...opts, dissect: 'all' }, out.report, true);
      return out;
    }
    // The full pipeline reads everything again: the first attempt's warnings would be doubled.
    warnings.length = warningsBefore;
    keyLogTexts.length = 0;
    fellBack = fallback.reason;
    resetFindingIds();
  }

  // Logs.
  const corr = new Correlator({ maxSkewSeconds: opts.maxSkewSeconds });
  const rec = opts.recorder ?? null;
  const incident = opts.incident ?? null;
  // Without captures, the logs are all there is: logs-only analysis (what they prove, what to capture next).
  const logsOnly = inputs.captures.length === 0 ? new LogIncidents() : null;
  const logs = await readLogInputs(inputs, corr, note, rec, incident, undefined, logsOnly);

  // Captures. (The reader and flow table load here: a targeted analysis with a native first pass
  // may not need them.)
  const { processCaptures } = await import('../flow/pipeline.js');
  if (inputs.captures.length > 0) await loadDissectors();
  const session = new AnalysisSession(keys, corr, { all: opts.all, onWarning: note, recorder: rec, incident });
  const stats = session.stats;
  stats.captures = inputs.captures.length;
  stats.warnings = warnings;
  const summary = await processCaptures(
    inputs.captures,
    {
      ...session.handler(),
      onSecrets(type: number, data: Uint8Array) {
        for (const issue of keys.addDsb(type, data)) note(formatKeyLogIssue(issue));
        if (opts.keepKeyLogTexts) keyLogTexts.push(Buffer.from(data).toString('utf8'));
      },
      onWarning(w: { message: string }) {
        note(w.message);
      },
      onFile: rec ? (f: string) => rec.beginFile(f) : undefined,
      onPacket:
        opts.onProgress || rec
          ? (() => {
              let n = 0;
              const cb = opts.onProgress;
              return (p: { time: number; byteOffset: number; originalLength: number }) => {
                rec?.at(p.time, p.byteOffset, p.originalLength);
                if (cb && (++n & 0xffff) === 0) cb({ file: '', packets: n });
              };
            })()
          : undefined,
    },
    { idleGapThresholdSeconds: ANALYZE_IDLE_GAP_SECONDS, ...opts.flow, window: packetWindow(incident) },
  );
  rec?.endFile();
  let explained: ReturnType<AnalysisSession['explain']>;
  if (logsOnly) {
    explained = { findings: logsOnly.incidents().map(logIncidentFinding), connections: [], transactions: [] };
    for (const f of explained.findings) {
      stats.findingsByKind[f.kind] = (stats.findingsByKind[f.kind] ?? 0) + 1;
      rec?.finding(f);
    }
    if (logsOnly.dropped > 0) note(`${logsOnly.dropped} error lines beyond the first 10 000 incidents were counted but not grouped`);
  } else {
    noteCaptureTimes(corr, summary);
    const cases = corr.build();
    explained = session.explain(incident === null ? cases : cases.filter((c) => caseSelected(incident, c)));
  }
  if (inputs.captures.length > 0) {
    stats.dissection = { mode: 'full', reason: fellBack !== null ? 'the targeted analysis could not follow the capture' : (needsFull ?? ''), connections: stats.tcpConnections, dissected: stats.tcpConnections };
    if (fellBack !== null) stats.dissection.fallback = fellBack;
  }
  const out = finish(inputs, started, corr, session, summary, logs, explained, note, { clientRandomsByUid: session.clientRandomsByUid, keyLogTexts, connections: session.connectionMap() }, logsOnly !== null);
  if (checkWithoutLog) await compareModes(inputs, { ...opts, dissect: 'needed' }, out.report, false);
  return out;
}

/** Analyses running inside a differential check (they are not checked in turn). */
let nestedChecks = 0;

/**
 * The differential check (differential.ts): the same inputs analysed the other way must give the
 * same report; an internal error names the first difference.
 */
async function compareModes(inputs: AnalyzeInputs, other: AnalyzeOptions, report: Report, thisIsTargeted: boolean): Promise<void> {
  nestedChecks++;
  let r: Report;
  try {
    r = (await analyze(inputs, { ...other, onWarning: undefined, onProgress: undefined })).report;
  } finally {
    nestedChecks--;
  }
  const d = thisIsTargeted ? reportDifference(r, report) : reportDifference(report, r);
  if (d !== null) throw new MirrorlensError(ErrorCode.Internal, `the targeted analysis differs from the full one (${inputs.captures.join(', ')}): ${d}`);
}

/**
 * Why these options need every connection read through TLS and HTTP (the full pipeline), or null
 * when only the connections a finding can need are (targeted.ts).
 */
export function fullPipelineReason(inputs: AnalyzeInputs, opts: AnalyzeOptions): string | null {
  if (inputs.captures.length === 0) return null;
  if (opts.dissect === 'all') return 'asked for (--full)';
  if (opts.all) return '--all lists every connection and transaction';
  if (opts.recorder) return '--store records every connection and transaction';
  if (opts.dissect !== 'needed' && (inputs.albLogs ?? []).length === 0) return NO_ACCESS_LOG;
  return null;
}

/**
 * Without an ALB access log nothing says which requests failed: the load balancer's own 5xx
 * answers are on its client side, a target's on clean connections anywhere, so nearly every
 * connection would be read anyway, after a survey that then only costs (on the lab's load capture
 * all 2 116 connections were implicated: 2.5 CPU s against the full pipeline's 2.3).
 */
const NO_ACCESS_LOG = 'no ALB access log to say which requests failed';

/** What the correlation knows of the captures' times (before it builds cases). */
function noteCaptureTimes(corr: Correlator, summary: PipelineSummary): void {
  if (summary.firstTime !== null) corr.notePacketTime(summary.firstTime);
  if (summary.lastTime !== null) corr.notePacketTime(summary.lastTime);
  for (const f of summary.fileTimes) corr.time.noteCapture(f.file, f.firstTime, f.lastTime);
}

/** The report, from a correlation that ran (full or targeted). */
function finish(
  inputs: AnalyzeInputs,
  started: number,
  corr: Correlator,
  session: AnalysisSession,
  summary: PipelineSummary,
  logs: ReportLogs,
  explained: ReturnType<AnalysisSession['explain']>,
  note: (m: string) => void,
  context: AnalysisContext,
  logsOnly = false,
): { report: Report; context: AnalysisContext } {
  const stats = session.stats;
  stats.packets = summary.packets;
  stats.bytes = summary.files.reduce((a, f) => a + f.bytes, 0);
  const dp = summary.decodeProblems;
  if (dp.truncated + dp.malformed > 0) note(`${dp.truncated} truncated and ${dp.malformed} malformed packets (decoded as far as possible)`);
  if (summary.flow.evictedConnections > 0) note(`${summary.flow.evictedConnections} connections evicted at the connection-table cap`);
  // Inputs that do not overlap in time were not joined: say which.
  if (!logsOnly) for (const w of corr.timeWarnings()) note(w);
  const report = assembleReport({
    started,
    corr,
    stats,
    inputs: {
      captures: inputs.captures,
      keylogs: inputs.keylogs ?? [],
      albLogs: inputs.albLogs ?? [],
      nlbLogs: inputs.nlbLogs ?? [],
      flowLogs: inputs.flowLogs ?? [],
    },
    explained,
    logs,
    accessLogsGiven: (inputs.albLogs ?? []).length + (inputs.nlbLogs ?? []).length > 0,
  });
  return { report, context };
}
