/**
 * The analysis session: the per-connection wiring of flow → TLS → HTTP → correlate → diagnose,
 * shared by batch `analyze` and live `listen --analyze`.
 */
import type { Correlator } from '../correlate/correlate.js';
import type { Case } from '../correlate/case.js';
import { connView, legView, txView } from '../correlate/from-records.js';
import { pathLegs } from '../correlate/path.js';
import type { ConnView, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import { diagnose, learnKeepAlive } from '../diagnose/rules.js';
import type { FlowHandler } from '../flow/table.js';
import type { IcmpErrorEvent } from '../flow/options.js';
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo, StreamSink } from '../flow/stream.js';
import { createHttpSink } from '../http/session.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { KeyLog } from '../tls/keylog.js';
import { appSinkFactory, type AppSink, type AppSinkOptions } from '../tls/sniff.js';
import type { Recorder } from '../store/recorder.js';
import type { ReportConnection, ReportStats, ReportTransaction } from './model.js';
import type { Incident } from '../capture/incident.js';
import { transactionSelected } from './incident.js';

function side(role: string): ReportConnection['role'] {
  return role === 'client-side' || role === 'target-side' ? role : 'unknown';
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
    private readonly opts: {
      all?: boolean;
      onWarning?(m: string): void;
      tls?: AppSinkOptions;
      recorder?: Recorder | null;
      incident?: Incident | null;
      /**
       * Count each connection's endpoints for role inference when it starts, not only when it
       * ends (live analysis decides roles while connections are open). Batch analysis leaves it
       * off: a connection that turns out to be an attempt of a flood is then never counted (a
       * million spoofed sources would be a million entries). Open legs are indexed either way.
       */
      rolesAtStart?: boolean;
    } = {},
  ) {
    this.appSink = appSinkFactory(keys, (c, info) => createHttpSink(c, { alpn: info.alpn, tls: info.tls !== null }, (tx) => this.onTransaction(c, tx)), opts.tls);
  }

  /** Each connection's TLS-sniffing sink; the HTTP stage after it is made when its first byte arrives. */
  private readonly appSink: (conn: ConnInfo) => AppSink;

  handler(): FlowHandler {
    return {
      onConnectionStart: (conn: ConnInfo): StreamSink | null => {
        if (this.opts.rolesAtStart) this.corr.noteConnectionStart(conn.clientAddr, conn.serverAddr, conn.startTime, conn);
        else this.corr.noteOpenLeg(conn);
        this.opts.recorder?.connectionStart(conn);
        const sink = this.appSink(conn);
        this.live.set(conn.uid, sink);
        return sink;
      },
      onConnectionEnd: (rec: ConnectionRecord) => this.onConnectionEnd(rec),
      onIcmpError: (ev: IcmpErrorEvent) => this.noteIcmpError(ev),
    };
  }

  /** ICMP errors by the connection they quote (bounded: the last 10 000), joined when it ends. */
  private readonly icmpErrors = new Map<string, IcmpErrorEvent>();

  private noteIcmpError(ev: IcmpErrorEvent): void {
    const key = `${ev.srcAddr}|${ev.srcPort}|${ev.dstAddr}|${ev.dstPort}`;
    this.icmpErrors.delete(key);
    this.icmpErrors.set(key, ev);
    if (this.icmpErrors.size > 10_000) this.icmpErrors.delete(this.icmpErrors.keys().next().value!);
  }

  private onTransaction(conn: ConnInfo, tx: HttpTransaction): void {
    this.opts.recorder?.transaction(conn, tx);
    this.replayTransaction(conn, tx);
  }

  /** A transaction read back from a store (or just seen): counted and given to the Correlator. */
  replayTransaction(conn: ConnInfo, tx: HttpTransaction): void {
    this.stats.httpTransactions++;
    if (tx.status !== null) this.stats.httpResponses++;
    // A view only for what is kept: most transactions succeed and the Correlator drops them.
    const traceId = tx.requestHeaders['x-amzn-trace-id'] ?? null;
    if (!this.opts.all && !this.corr.wantsTransaction(tx.outcome, tx.status, traceId) && !this.corr.wantsRetry(conn.clientAddr, tx.method, tx.path, tx.requestFirstByteTime)) return;
    // Outside the incident, a failed transaction is kept only if a kept log line wants it by trace id.
    const incident = this.opts.incident;
    if (incident && !this.opts.all && !transactionSelected(incident, conn, tx) && !this.corr.wantsTransaction('complete', 200, traceId)) return;
    const v = txView(tx, conn);
    this.corr.addTransaction(v);
    if (this.opts.all) this.allTx.push(v);
  }

  private onConnectionEnd(rec: ConnectionRecord): void {
    const sink = this.live.get(rec.uid);
    this.live.delete(rec.uid);
    const tls = sink?.tls ?? null;
    let failure: ConnView['tlsFailure'] = null;
    if (tls && !tls.handshakeComplete) {
      const fatal = tls.alerts.find((a) => a.level === 'fatal' && !a.encrypted);
      if (fatal) failure = { alert: fatal.description ?? `alert ${fatal.code ?? '?'}`, from: fatal.dir === 0 ? 'client' : 'server' };
    }
    const v = this.replayConnection(rec, failure);
    if (tls) {
      this.stats.tlsSessions++;
      if (tls.decrypted) this.stats.tlsDecrypted++;
      if (this.corr.isKept(rec.uid) && tls.clientRandoms.length) this.clientRandomsByUid.set(rec.uid, [...tls.clientRandoms]);
    }
    // Its key packets are recorded when it may need explaining: kept by the correlation, or closed by its server (keep-alive learning).
    this.opts.recorder?.connection(rec, v, tls, this.corr.isKept(rec.uid) || v.marks.some((m) => m.kind === 'fin' && !m.fromClient));
  }

  /**
   * A connection record read back from a store (or just ended), with its TLS handshake failure
   * (and, from a store, the ICMP error recorded with it): given to the Correlator.
   */
  replayConnection(rec: ConnectionRecord, tlsFailure: ConnView['tlsFailure'], icmpError?: ConnView['icmpError']): ConnView {
    this.stats.tcpConnections++;
    this.stats.connections++;
    const v = connView(rec);
    v.tlsFailure = tlsFailure;
    const icmp = this.icmpErrors.get(`${rec.clientAddr}|${rec.clientPort}|${rec.serverAddr}|${rec.serverPort}`);
    if (icmpError !== undefined) v.icmpError = icmpError;
    else if (icmp && icmp.time >= rec.startTime - 1) v.icmpError = { time: icmp.time, from: icmp.from, type: icmp.type, code: icmp.code };
    // The leg first: keeping a connection brings its NAT peers along, looked up in the leg index.
    // (An attempt of a flood or scan is only counted: addConnection drops its leg again.)
    this.corr.addLeg(legView(rec));
    this.corr.addConnection(v);
    if (this.opts.all) this.allConns.push(v);
    if (v.marks.some((m) => m.kind === 'fin' && !m.fromClient)) {
      if (this.finConns.length >= 1000) this.finConns.shift();
      this.finConns.push(v);
    }
    return v;
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
    for (const f of findings) {
      this.stats.findingsByKind[f.kind] = (this.stats.findingsByKind[f.kind] ?? 0) + 1;
      this.opts.recorder?.finding(f);
    }
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
    const txSource = all ? this.allTx : cases.flatMap((c) => pathLegs(c.path).map((l) => l.tx).filter((t): t is TxView => t !== null));
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
