/**
 * `analyze`: captures (+ key logs, access logs, flow logs) → Report.
 *
 * One streaming pass over the logs, then one over the captures (flow → TLS → HTTP), feeding the
 * Correlator, which keeps only what may need explaining; then correlation, verdicts, and the
 * report model. Memory follows live connections and errors, not the size of the inputs.
 */
import { readFile } from 'node:fs/promises';
import { Correlator } from '../correlate/correlate.js';
import { albLogView, clbLogView, flowRowView } from '../correlate/from-logs.js';
import { connView, txView } from '../correlate/from-records.js';
import type { Case, ConnView, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import { diagnose, learnKeepAlive, resetFindingIds } from '../diagnose/rules.js';
import { processCaptures, type PipelineOptions } from '../flow/pipeline.js';
import type { FlowHandler } from '../flow/table.js';
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo, StreamSink } from '../flow/stream.js';
import { createHttpSink } from '../http/session.js';
import type { HttpTransaction } from '../http/transaction.js';
import { readLogs, type LogRecord } from '../logs/read.js';
import { KeyLog, formatKeyLogIssue } from '../tls/keylog.js';
import { createAppSink, type AppSink, type AppSinkOptions } from '../tls/sniff.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import type { Report, ReportConnection, ReportLogs, ReportStats, ReportTransaction } from './model.js';
import { SCHEMA_VERSION } from './model.js';

export const GENERATOR = 'mirrorlens 0.1.0';

export interface AnalyzeInputs {
  captures: string[];
  keylogs?: string[];
  albLogs?: string[];
  nlbLogs?: string[];
  flowLogs?: string[];
}

export interface AnalyzeOptions {
  /** Include every connection and transaction in the report (memory then grows with the input). */
  all?: boolean;
  flow?: PipelineOptions;
  maxSkewSeconds?: number;
  /** Called now and then while captures are read (for a progress bar). */
  onProgress?(p: { file: string; packets: number }): void;
  /**
   * Keep the key-log texts (files and embedded blocks) for the evidence exporter. Off by default:
   * a long capture can embed its keys many times over, and memory must not grow with it.
   */
  keepKeyLogTexts?: boolean;
  /** Non-fatal problems (bad key-log lines, bad log lines, capture warnings). */
  onWarning?(message: string): void;
}

/** What the evidence exporter needs beyond the report. */
export interface AnalysisContext {
  /** Client randoms (hex) each kept TLS connection used, by connection uid. */
  clientRandomsByUid: Map<string, string[]>;
  /** Raw key-log text sources (files and DSBs), to extract only the lines a finding needs (empty unless keepKeyLogTexts). */
  keyLogTexts: string[];
  connections: Map<string, ConnView>;
}

function side(role: string): ReportConnection['role'] {
  return role === 'client-side' || role === 'target-side' ? role : 'unknown';
}

/**
 * Adds key log files to `keys` (and their texts to `keep`, when given). A function of its own:
 * a suspended async function keeps its locals, and analyze() would hold the last file's whole
 * text for the rest of the run.
 */
async function readKeyLogs(files: string[], keys: KeyLog, note: (m: string) => void, keep: string[] | null): Promise<void> {
  for (const k of files) {
    let text: string;
    try {
      text = await readFile(k, 'utf8');
    } catch (e) {
      throw new MirrorlensError(ErrorCode.FileOpen, `cannot read key log: ${(e as Error).message}`, { file: k });
    }
    keep?.push(text);
    for (const issue of keys.addText(text, k)) note(formatKeyLogIssue(issue));
  }
}

export async function analyze(inputs: AnalyzeInputs, opts: AnalyzeOptions = {}): Promise<{ report: Report; context: AnalysisContext }> {
  const started = performance.now();
  const warn = opts.onWarning ?? (() => {});
  const warnings: string[] = [];
  const note = (m: string) => {
    if (warnings.length < 100) warnings.push(m);
    warn(m);
  };
  resetFindingIds();

  // Key logs.
  const keys = new KeyLog();
  const keyLogTexts: string[] = [];
  await readKeyLogs(inputs.keylogs ?? [], keys, note, opts.keepKeyLogTexts ? keyLogTexts : null);

  // Logs.
  const corr = new Correlator({ maxSkewSeconds: opts.maxSkewSeconds });
  const logs: ReportLogs = { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null };
  const onLog = (r: LogRecord) => {
    logs.records++;
    logs.byKind[r.kind] = (logs.byKind[r.kind] ?? 0) + 1;
    if (r.kind === 'alb' || r.kind === 'clb') {
      const s = r.elbStatusCode === null ? '-' : String(r.elbStatusCode);
      logs.byElbStatus[s] = (logs.byElbStatus[s] ?? 0) + 1;
      if (r.elbStatusCode !== null && r.elbStatusCode >= 500) logs.errors5xx++;
      // Only the lines the Correlator keeps need a view (with its formatted evidence line).
      if (Correlator.keepsLogStatus(r.elbStatusCode)) corr.addLog(r.kind === 'alb' ? albLogView(r) : clbLogView(r));
      else if (r.kind === 'alb') corr.noteLogTarget(r.targetAddr, r.targetPort);
      else corr.noteLogTarget(r.backendAddr, r.backendPort);
    } else if (r.kind === 'flow') {
      const v = flowRowView(r);
      if (v) corr.addFlowRow(v);
    }
  };
  const onBadLine = (b: { file: string; line: number; reason: string }) => {
    logs.badLines++;
    if (logs.badLines <= 20) note(`${b.file}:${b.line}: ${b.reason}`);
  };
  const lbLogs = [...(inputs.albLogs ?? []), ...(inputs.nlbLogs ?? [])];
  if (lbLogs.length) {
    const s = await readLogs(lbLogs, onLog, { onBadLine });
    logs.files += s.files.length;
  }
  if ((inputs.flowLogs ?? []).length) {
    corr.markFlowLogsGiven();
    const s = await readLogs(inputs.flowLogs!, onLog, { format: 'flow', onBadLine });
    logs.files += s.files.length;
  }

  // Captures.
  const session = new AnalysisSession(keys, corr, { all: opts.all, onWarning: note });
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
      onPacket: opts.onProgress
        ? (() => {
            let n = 0;
            const cb = opts.onProgress;
            return () => {
              if ((++n & 0xffff) === 0) cb({ file: '', packets: n });
            };
          })()
        : undefined,
    },
    opts.flow,
  );
  stats.packets = summary.packets;
  stats.bytes = summary.files.reduce((a, f) => a + f.bytes, 0);
  if (summary.firstTime !== null) corr.notePacketTime(summary.firstTime);
  if (summary.lastTime !== null) corr.notePacketTime(summary.lastTime);
  const dp = summary.decodeProblems;
  if (dp.truncated + dp.malformed > 0) note(`${dp.truncated} truncated and ${dp.malformed} malformed packets (decoded as far as possible)`);
  if (summary.flow.evictedConnections > 0) note(`${summary.flow.evictedConnections} connections evicted at the connection-table cap`);

  const { findings, connections, transactions } = session.explain();
  logs.clockSkewSeconds = corr.skewEstimated ? corr.skewSeconds : null;
  stats.elapsedSeconds = Math.round(performance.now() - started) / 1000;
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    generator: GENERATOR,
    inputs: {
      captures: inputs.captures,
      keylogs: inputs.keylogs ?? [],
      albLogs: inputs.albLogs ?? [],
      nlbLogs: inputs.nlbLogs ?? [],
      flowLogs: inputs.flowLogs ?? [],
    },
    findings,
    connections,
    transactions,
    logs,
    stats,
  };
  return { report, context: { clientRandomsByUid: session.clientRandomsByUid, keyLogTexts, connections: session.connectionMap() } };
}

/**
 * The per-connection wiring shared by batch `analyze` and live `listen --analyze`: every TCP
 * connection gets a TLS-sniffing sink whose plaintext (or raw bytes) feeds an HTTP sink; finished
 * transactions and connection records go to the Correlator; statistics are counted.
 */
export class AnalysisSession {
  readonly stats: ReportStats = {
    captures: 0,
    packets: 0,
    bytes: 0,
    connections: 0,
    tcpConnections: 0,
    tlsSessions: 0,
    tlsDecrypted: 0,
    httpTransactions: 0,
    httpResponses: 0,
    findingsByKind: {},
    warnings: [],
    elapsedSeconds: 0,
  };
  readonly clientRandomsByUid = new Map<string, string[]>();
  private readonly live = new Map<string, AppSink>();
  private readonly allTx: TxView[] = [];
  private readonly allConns: ConnView[] = [];
  private readonly finConns: ConnView[] = [];

  constructor(
    readonly keys: KeyLog,
    readonly corr: Correlator,
    private readonly opts: { all?: boolean; onWarning?(m: string): void; tls?: AppSinkOptions } = {},
  ) {}

  handler(): FlowHandler {
    return {
      onConnectionStart: (conn: ConnInfo): StreamSink | null => {
        this.corr.noteConnectionStart(conn.clientAddr, conn.serverAddr, conn.startTime);
        const sink = createAppSink(conn, this.keys, (c, info) => createHttpSink(c, { alpn: info.alpn, tls: info.tls !== null }, (tx) => this.onTransaction(c, tx)), this.opts.tls);
        this.live.set(conn.uid, sink);
        return sink;
      },
      onConnectionEnd: (rec: ConnectionRecord) => this.onConnectionEnd(rec),
    };
  }

  private onTransaction(conn: ConnInfo, tx: HttpTransaction): void {
    this.stats.httpTransactions++;
    if (tx.status !== null) this.stats.httpResponses++;
    // A view only for what is kept: most transactions succeed and the Correlator drops them.
    if (!this.opts.all && !this.corr.wantsTransaction(tx.outcome, tx.status, tx.requestHeaders['x-amzn-trace-id'] ?? null)) return;
    const v = txView(tx, conn);
    this.corr.addTransaction(v);
    if (this.opts.all) this.allTx.push(v);
  }

  private onConnectionEnd(rec: ConnectionRecord): void {
    this.stats.tcpConnections++;
    this.stats.connections++;
    const sink = this.live.get(rec.uid);
    this.live.delete(rec.uid);
    const v = connView(rec);
    const tls = sink?.tls ?? null;
    if (tls && !tls.handshakeComplete) {
      const fatal = tls.alerts.find((a) => a.level === 'fatal' && !a.encrypted);
      if (fatal) v.tlsFailure = { alert: fatal.description ?? `alert ${fatal.code ?? '?'}`, from: fatal.dir === 0 ? 'client' : 'server' };
    }
    this.corr.addConnection(v);
    this.corr.addLeg({
      uid: rec.uid,
      clientAddr: rec.clientAddr,
      clientPort: rec.clientPort,
      serverAddr: rec.serverAddr,
      serverPort: rec.serverPort,
      startTime: rec.startTime,
      endTime: rec.endTime,
      clientPayloadBytes: rec.payloadBytesFromClient,
      serverFinTimes: rec.fins.filter((f) => f.from === 'server').map((f) => f.time),
      serverRstTimes: rec.resets.filter((r) => r.from === 'server').map((r) => r.time),
    });
    if (this.opts.all) this.allConns.push(v);
    if (v.marks.some((m) => m.kind === 'fin' && !m.fromClient)) {
      if (this.finConns.length >= 1000) this.finConns.shift();
      this.finConns.push(v);
    }
    if (tls) {
      this.stats.tlsSessions++;
      if (tls.decrypted) this.stats.tlsDecrypted++;
      if (this.corr.isKept(rec.uid) && tls.clientRandoms.length) this.clientRandomsByUid.set(rec.uid, [...tls.clientRandoms]);
    }
  }

  /** Drops what is kept about connections the Correlator no longer keeps (live analysis, after a prune). */
  forgetUnkept(): void {
    for (const uid of this.clientRandomsByUid.keys()) if (!this.corr.isKept(uid)) this.clientRandomsByUid.delete(uid);
  }

  connectionMap(): Map<string, ConnView> {
    const m = new Map<string, ConnView>();
    for (const c of this.corr.keptConnections()) m.set(c.uid, c);
    for (const c of this.allConns) m.set(c.uid, c);
    return m;
  }

  /** Correlates what was collected and explains every case. */
  explain(cases: Case[] = this.corr.build()): { findings: Finding[]; connections: ReportConnection[]; transactions: ReportTransaction[] } {
    const learned = learnKeepAlive(this.finConns);
    const findings = cases.map((c) => diagnose(c, { learnedTimeouts: learned }));
    for (const f of findings) this.stats.findingsByKind[f.kind] = (this.stats.findingsByKind[f.kind] ?? 0) + 1;
    const involved = new Set(findings.flatMap((f) => f.connectionUids));
    const all = this.opts.all === true;
    const connections: ReportConnection[] = [...this.connectionMap().values()]
      .filter((c) => all || involved.has(c.uid))
      .map((c) => ({
        uid: c.uid,
        communityId: c.communityId,
        role: side(this.corr.roleOf(c)),
        client: endpoint(c.clientAddr, c.clientPort)!,
        server: endpoint(c.serverAddr, c.serverPort)!,
        capturePoint: c.capturePoint,
        startTime: c.startTime,
        endTime: c.endTime,
        connState: c.connState,
        history: c.history,
        closedBy: c.closedBy,
        closeHow: c.closeHow,
        maxIdleSeconds: c.maxIdleSeconds,
        requests: c.requests,
      }));
    const txSource = all ? this.allTx : cases.flatMap((c) => [c.clientTx, c.targetTx].filter((t): t is TxView => t !== null));
    const transactions: ReportTransaction[] = txSource.map((t) => ({
      uid: t.uid,
      connUid: t.connUid,
      side: side(this.corr.roleOf(t)),
      httpVersion: t.httpVersion,
      method: t.method,
      host: t.host,
      path: t.path,
      status: t.status,
      traceId: t.traceId,
      requestTime: t.requestFirstByteTime,
      responseTime: t.responseFirstByteTime,
      requestIndexOnConnection: t.requestIndexOnConnection,
      idleBeforeRequestSeconds: t.idleBeforeRequestSeconds,
      outcome: t.outcome,
      endedBy: t.endedBy,
    }));
    return { findings, connections, transactions };
  }
}
