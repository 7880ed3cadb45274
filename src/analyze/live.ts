/**
 * Live analysis (`mirrorlens listen --analyze`): the batch pipeline fed frame by frame from the
 * mirror listener, with key logs followed as they grow. Every half second the flow table's clock
 * advances, the correlation is rebuilt from what is kept (errors only), and each incident is
 * explained once: as soon as a connection that decides it has been recorded and the legs still to
 * come have arrived (the client's answer, when the client side is mirrored), or a few seconds
 * later at the latest, with what is known then. An incident is remembered by the (connection,
 * time) pairs of all its legs, so finding it again from another leg does not report it twice.
 */
import { PacketRecord } from '../capture/record.js';
import { Correlator } from '../correlate/correlate.js';
import type { Case } from '../correlate/case.js';
import { allRetried, RETRY_WINDOW_SECONDS } from '../correlate/goaway.js';
import type { Finding } from '../diagnose/finding.js';
import { FlowTable, type FlowOptions } from '../flow/table.js';
import { KeyLog, formatKeyLogIssue, type Watcher } from '../tls/keylog.js';
import { PacketDecoder } from '../wire/packet.js';
import type { Recorder } from '../store/recorder.js';
import { ANALYZE_IDLE_GAP_SECONDS } from './options.js';
import { createHttpSink } from '../http/session.js';
import { appSinkFactory } from '../tls/sniff.js';
import { provideDissectors } from './dissectors.js';

// Live analysis dissects from its first packet: its stages are loaded with it.
provideDissectors({ createHttpSink, appSinkFactory });
import { AnalysisSession } from './session.js';

export interface LiveOptions {
  keylogs?: string[];
  onFinding(f: Finding): void;
  onWarning?(message: string): void;
  flow?: FlowOptions;
  /** How often to look for new findings (default 500 ms). */
  tickMs?: number;
  /** A case whose deciding connection is still open is explained anyway after this (default 5 s). */
  settleSeconds?: number;
  /** Forget what is older than this once reported, and key-log secrets logged longer ago (default 900 s). */
  retainSeconds?: number;
  /** The clock (seconds since the epoch); tests pass their own. */
  now?: () => number;
  /** Records connections, transactions, TLS sessions and findings into a store. */
  recorder?: Recorder | null;
}

/** Two claims on one connection this close in time are the same incident. */
const SAME_INCIDENT_SECONDS = 2;

/** A recorded connection or failed request decides the case (a complete 5xx answer alone waits for the legs behind it). */
function decided(c: Case): boolean {
  // An HTTP/2 GOAWAY: its cut requests' retries may still come (batch looks RETRY_WINDOW_SECONDS ahead).
  if (c.goaway && !allRetried(c.goaway)) return false;
  const back = [c.path.lb, c.path.target];
  if (back.some((l) => l !== null && ((l.conn !== null && l.tx !== null) || l.attempts.length > 0))) return true;
  const ctx = c.path.client?.tx;
  return ctx !== undefined && ctx !== null && ctx.outcome !== 'complete';
}

/**
 * Legs that may still arrive: the client's answer, when client legs are mirrored near the case's
 * time and this one has none yet. (A leg not known to be behind the load balancer counts as a
 * client leg: without an access log live often cannot tell, and a client's HTTPS is decrypted only
 * once the key log that curl or the browser writes has been read, which may be well after the
 * target's side of the failure is over.)
 */
function waitingForLegs(c: Case): boolean {
  return c.path.client === null && c.coverage.client && c.origin !== 'alb-log';
}

export class LiveAnalyzer {
  readonly keys: KeyLog;
  private readonly corr = new Correlator();
  private readonly session: AnalysisSession;
  private readonly table: FlowTable;
  private readonly dec = new PacketDecoder();
  private readonly rec = new PacketRecord();
  /** Reported incidents: connection uid → the times claimed on it. */
  private readonly reported = new Map<string, number[]>();
  private readonly watchers: Watcher[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastPacketTime = 0;
  private frames = 0;
  findings = 0;

  constructor(private readonly o: LiveOptions) {
    this.keys = new KeyLog({ now: o.now });
    this.session = new AnalysisSession(this.keys, this.corr, { onWarning: o.onWarning, tls: { keyWaitSeconds: 10 }, recorder: o.recorder, rolesAtStart: true });
    this.table = new FlowTable(this.session.handler(), { closeLingerSeconds: 0.5, reorderWindowSeconds: 0.05, idleGapThresholdSeconds: ANALYZE_IDLE_GAP_SECONDS, ...o.flow });
  }

  start(): void {
    for (const k of this.o.keylogs ?? []) {
      this.watchers.push(this.keys.follow(k, (issues) => issues.forEach((i) => this.o.onWarning?.(formatKeyLogIssue(i)))));
    }
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 500);
    this.timer.unref();
  }

  /** One decapsulated frame from the listener. */
  frame(linkType: number, tsSec: number, tsNsec: number, data: Uint8Array, offset: number, length: number, originalLength: number, capturePoint: string): void {
    const r = this.rec;
    r.index = ++this.frames;
    r.linkType = linkType;
    r.tsSec = tsSec;
    r.tsNsec = tsNsec;
    r.time = tsSec + tsNsec / 1e9;
    r.data = data;
    r.offset = offset;
    r.capturedLength = length;
    r.originalLength = originalLength;
    this.dec.decode(linkType, data, offset, length);
    this.lastPacketTime = r.time;
    this.table.ingest(r, this.dec, capturePoint);
  }

  /** Advances the clock and reports every case that is settled. */
  tick(final = false): void {
    const now = this.o.now ? this.o.now() : Date.now() / 1000;
    if (!final && this.lastPacketTime > 0) this.table.advanceTime(Math.max(now, this.lastPacketTime));
    const settle = this.o.settleSeconds ?? 5;
    const fresh: Case[] = [];
    for (const c of this.corr.build(now)) {
      if (this.wasReported(c)) continue;
      const ready = decided(c) && !waitingForLegs(c);
      // A GOAWAY whose requests were not all retried waits out the retry window, as batch looks that far.
      const wait = c.goaway && !allRetried(c.goaway) ? Math.max(settle, c.goaway.time - c.time + RETRY_WINDOW_SECONDS) : settle;
      if (!final && !ready && now - c.time < wait) continue;
      this.markReported(c);
      fresh.push(c);
    }
    if (fresh.length) {
      const { findings } = this.session.explain(fresh);
      for (const f of findings) {
        this.findings++;
        this.o.onFinding(f);
      }
    }
    const retain = this.o.retainSeconds ?? 900;
    if (!final && now - retain > 0) {
      const horizon = now - retain;
      // Keys logged before the horizon: their connections have their keys in hand by now, or
      // never showed up (the key log grows with every TLS session, for days).
      this.keys.forgetBefore(horizon);
      if (this.frames > 0) {
        this.corr.prune(horizon);
        this.session.forgetUnkept();
        for (const [k, ts] of this.reported) if (ts.every((t) => t < horizon)) this.reported.delete(k);
      }
    }
  }

  private wasReported(c: Case): boolean {
    return c.claims.some((cl) => (this.reported.get(cl.uid) ?? []).some((t) => Math.abs(t - cl.time) < SAME_INCIDENT_SECONDS));
  }

  private markReported(c: Case): void {
    for (const cl of c.claims) {
      const list = this.reported.get(cl.uid);
      if (list) list.push(cl.time);
      else this.reported.set(cl.uid, [cl.time]);
    }
  }

  /** Flushes every connection and reports what is left. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers) w.close();
    this.table.finish();
    this.tick(true);
  }
}
