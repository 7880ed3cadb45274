/**
 * The analysis session: the per-connection wiring of flow → TLS → HTTP → correlate → diagnose,
 * shared by batch `analyze` and live `listen --analyze`.
 */
import type { Correlator } from '../correlate/correlate.js';
import type { Case } from '../correlate/case.js';
import { connView, legView, txView } from '../correlate/from-records.js';
import { pathLegs } from '../correlate/path.js';
import type { ConnView, LegView, TxView } from '../correlate/views.js';
import { endpoint, hasMark } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import { diagnose, learnKeepAlive } from '../diagnose/rules.js';
import type { FlowHandler } from '../flow/table.js';
import type { IcmpErrorEvent } from '../flow/options.js';
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo, StreamSink } from '../flow/stream.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { KeyLog } from '../tls/keylog.js';
import type { AppSink, AppSinkOptions } from '../tls/sniff.js';
import { dissectors } from './dissectors.js';
import type { Recorder } from '../store/recorder.js';
import type { ReportConnection, ReportStats, ReportTransaction } from './model.js';
import type { Incident } from '../capture/incident.js';
import { transactionSelected } from './incident.js';

/** A connection that ended, as the session hands it to the Correlator (AnalysisSession.ended). */
export interface EndedConnection {
  /** The flow record (kept only when a recorder needs it). */
  rec: ConnectionRecord | null;
  v: ConnView;
  leg: LegView;
  /** The TLS session (null when not TLS, or when held for later: then only the two facts below). */
  tls: AppSink['tls'];
  isTls: boolean;
  tlsDecrypted: boolean;
  clientRandoms: string[];
}

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
  ) {}

  /**
   * Each connection's TLS-sniffing sink; the HTTP stage after it is made when its first byte
   * arrives. Made at the first connection (the stages are loaded only for runs that dissect:
   * dissectors.ts).
   */
  private appSink: ((conn: ConnInfo) => AppSink) | null = null;

  /**
   * Where the HTTP stage's transactions go: counted and given to the Correlator at once, unless
   * a targeted analysis's second pass holds them to replay them in capture order (targeted.ts).
   */
  onTx: (conn: ConnInfo, tx: HttpTransaction) => void = (conn, tx) => this.onTransaction(conn, tx);

  handler(): FlowHandler {
    return {
      onConnectionStart: (conn: ConnInfo): StreamSink | null => {
        if (this.opts.rolesAtStart) this.corr.noteConnectionStart(conn.clientAddr, conn.serverAddr, conn.startTime, conn);
        else this.corr.noteOpenLeg(conn);
        this.opts.recorder?.connectionStart(conn);
        return this.sinkFor(conn);
      },
      onConnectionEnd: (rec: ConnectionRecord) => this.applyEnded(this.ended(rec)),
      onIcmpError: (ev: IcmpErrorEvent) => this.noteIcmpError(ev),
    };
  }

  /** The TLS and HTTP stages of a connection that starts (its TLS session is read back when it ends). */
  sinkFor(conn: ConnInfo): AppSink {
    if (this.appSink === null) {
      const d = dissectors();
      this.appSink = d.appSinkFactory(this.keys, (c, info) => d.createHttpSink(c, { alpn: info.alpn, tls: info.tls !== null }, (tx) => this.onTx(c, tx)), this.opts.tls);
    }
    const sink = this.appSink(conn);
    this.live.set(conn.uid, sink);
    return sink;
  }

  /** ICMP errors by the connection they quote (bounded: the last 10 000), joined when it ends. */
  private readonly icmpErrors = new Map<string, IcmpErrorEvent>();

  noteIcmpError(ev: IcmpErrorEvent): void {
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
    this.countTransaction(tx);
    if (this.keepsTransaction(conn, tx)) this.addTransaction(conn, tx);
  }

  countTransaction(tx: HttpTransaction): void {
    this.stats.httpTransactions++;
    if (tx.status !== null) this.stats.httpResponses++;
  }

  /**
   * Whether the Correlator keeps this transaction (so a view is made): most transactions
   * succeed and the Correlator drops them. Decided by what the logs said, so it can be asked
   * before the transaction's turn comes (targeted analysis).
   */
  keepsTransaction(conn: ConnInfo, tx: HttpTransaction): boolean {
    if (this.opts.all) return true;
    const traceId = tx.requestHeaders['x-amzn-trace-id'] ?? null;
    if (!this.corr.wantsTransaction(tx.outcome, tx.status, traceId) && !this.corr.wantsRetry(conn.clientAddr, tx.method, tx.path, tx.requestFirstByteTime)) return false;
    // Outside the incident, a failed transaction is kept only if a kept log line wants it by trace id.
    const incident = this.opts.incident;
    return !incident || transactionSelected(incident, conn, tx) || this.corr.wantsTransaction('complete', 200, traceId);
  }

  /**
   * A kept stream an HTTP/2 GOAWAY cut: from now on keepsTransaction wants its retries (the
   * targeted analysis's second pass asks before the correlation is fed).
   */
  watchRetries(conn: ConnInfo, tx: HttpTransaction): void {
    if (tx.endedBy === 'goaway') this.corr.addTransaction(txView(tx, conn));
  }

  addTransaction(conn: ConnInfo, tx: HttpTransaction): void {
    const v = txView(tx, conn);
    this.corr.addTransaction(v);
    if (this.opts.all) this.allTx.push(v);
  }

  /**
   * What a connection that ended leaves for correlation: its views, its TLS handshake failure
   * (a fatal alert in the clear) and its TLS session's facts. (Held by a targeted analysis's
   * second pass until its turn comes, then applied.)
   */
  ended(rec: ConnectionRecord): EndedConnection {
    const sink = this.live.get(rec.uid);
    this.live.delete(rec.uid);
    const tls = sink?.tls ?? null;
    const v = connView(rec);
    if (tls && !tls.handshakeComplete) {
      const fatal = tls.alerts.find((a) => a.level === 'fatal' && !a.encrypted);
      if (fatal) v.tlsFailure = { alert: fatal.description ?? `alert ${fatal.code ?? '?'}`, from: fatal.dir === 0 ? 'client' : 'server' };
    }
    return { rec: this.opts.recorder ? rec : null, v, leg: legView(rec), tls, isTls: tls !== null, tlsDecrypted: tls?.decrypted ?? false, clientRandoms: tls?.clientRandoms.length ? [...tls.clientRandoms] : [] };
  }

  /** Gives an ended connection to the Correlator and counts it. */
  applyEnded(e: EndedConnection): ConnView {
    const v = this.replayViews(e.v, e.leg);
    const uid = v.uid;
    if (e.isTls) {
      this.stats.tlsSessions++;
      if (e.tlsDecrypted) this.stats.tlsDecrypted++;
      if (this.corr.isKept(uid) && e.clientRandoms.length) this.clientRandomsByUid.set(uid, e.clientRandoms);
    }
    // Its key packets are recorded when it may need explaining: kept by the correlation, or closed by its server (keep-alive learning).
    if (e.rec !== null) this.opts.recorder?.connection(e.rec, v, e.tls, this.corr.isKept(uid) || hasMark(v, 'fin', true));
    return v;
  }

  /**
   * A connection record read back from a store (or just ended), with its TLS handshake failure
   * (and, from a store, the ICMP error recorded with it): given to the Correlator.
   */
  replayConnection(rec: ConnectionRecord, tlsFailure: ConnView['tlsFailure'], icmpError?: ConnView['icmpError']): ConnView {
    const v = connView(rec);
    v.tlsFailure = tlsFailure;
    return this.replayViews(v, legView(rec), icmpError);
  }

  /**
   * A connection's views given to the Correlator (the leg first), counted, its ICMP error joined.
   * `soloLeg`: no other leg can be joined to this one or from it (Correlator.addLeg).
   */
  replayViews(v: ConnView, leg: LegView, icmpError?: ConnView['icmpError'], soloLeg: false | 'alone' | 'counted' = false): ConnView {
    this.stats.tcpConnections++;
    this.stats.connections++;
    const icmp = this.icmpErrors.size === 0 ? undefined : this.icmpErrors.get(`${v.clientAddr}|${v.clientPort}|${v.serverAddr}|${v.serverPort}`);
    if (icmpError !== undefined) v.icmpError = icmpError;
    else if (icmp && icmp.time >= v.startTime - 1) v.icmpError = { time: icmp.time, from: icmp.from, type: icmp.type, code: icmp.code };
    // The leg first: keeping a connection brings its NAT peers along, looked up in the leg index.
    // (An attempt of a flood or scan is only counted: addConnection drops its leg again.)
    this.corr.addLeg(leg, soloLeg);
    this.corr.addConnection(v);
    if (this.opts.all) this.allConns.push(v);
    if (hasMark(v, 'fin', true)) {
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
