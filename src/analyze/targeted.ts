/**
 * Targeted analysis: `analyze` doing only the work a finding can need.
 *
 * 1. The access logs are read (log-tape.ts) and every packet goes through the survey
 *    (flow/survey.ts): the FlowTable's connections, in its order, with the TCP facts and join keys
 *    correlation reads and where each connection's packets are; no reassembly, decryption or HTTP.
 * 2. Implication (implicate.ts) picks the connections to dissect: TCP trouble, the access log's
 *    error lines, what the logs do not cover (all client connections when there is no log), ICMP
 *    errors, and what is joined to those.
 * 3. The second pass (second-pass.ts) reads only those connections' packets through the
 *    FlowTable, TLS and HTTP, as the full analysis would; connections open while a failed request
 *    was are added and read in turn.
 * 4. Correlation is fed as the full analysis feeds it, in the same order: each connection's start
 *    and end where the full analysis's FlowTable would have reported them (the survey knows), the
 *    dissected ones with their records and kept transactions, the others with views made from the
 *    survey (survey-views.ts), which are exact in everything correlation reads of a connection it
 *    does not keep. Then every connection the correlation kept or a case cites must have been
 *    dissected: if one was not, it is added and the correlation runs again.
 *
 * The findings are the full analysis's (test/analyze/targeted.test.ts runs both on every lab
 * scenario and capture of the test suite). A second-pass record that disagrees with the survey (a
 * capture the survey cannot follow) makes the analysis fall back to the full pipeline, and the
 * report says so (stats.dissection).
 */
import { Correlator, type CorrelateOptions } from '../correlate/correlate.js';
import type { Case } from '../correlate/case.js';
import { RETRY_WINDOW_SECONDS } from '../correlate/goaway.js';
import { isFailedTx } from '../correlate/keys.js';
import { pathLegs } from '../correlate/path.js';
import { resetFindingIds } from '../diagnose/rules.js';
import type { TimeWindow } from '../capture/window.js';
import type { NativeFirstPassRun } from '../flow/first-pass-native.js';
import type { FlowOptions, IcmpErrorEvent } from '../flow/options.js';
import type { PipelineSummary } from '../flow/pipeline.js';
import { END_AT_PACKET } from '../flow/survey-facts.js';
import type { SurveyRecords } from '../flow/survey-records.js';
import { formatKeyLogIssue, type KeyLog } from '../tls/keylog.js';
import { isTlsSurveyed } from '../tls/record-walk.js';
import { caseSelected, packetWindow } from './incident.js';
import { closeOver, implicate, implicateAround, Why, type Implicated } from './implicate.js';
import { readLogInputs } from './log-pass.js';
import { LogTape, playLogTape, type LogTapeData } from './log-tape.js';
import { SurveyRecent } from './survey-recent.js';
import type { ReportDissection, ReportLogs } from './model.js';
import { ANALYZE_IDLE_GAP_SECONDS, type AnalyzeInputs, type AnalyzeOptions } from './options.js';
import { PHASE_CLOCK, PHASE_FINISH } from './pass-phase.js';
import type { SecondPassEvent } from './second-pass.js';
import { AnalysisSession } from './session.js';
import { surveyConnView, surveyLegCopy, surveyLegView, surveyOpenConn } from './survey-views.js';

/** Correlations run at most this many times (each adds what the last one cited) before the full pipeline is used. */
const MAX_ROUNDS = 6;

/** Around a GOAWAY's retry window (correlate/goaway.ts allows 0.05 s before it). */
const RETRY_MARGIN_SECONDS = 1;

export interface TargetedResult {
  corr: Correlator;
  session: AnalysisSession;
  summary: PipelineSummary;
  logs: ReportLogs;
  explained: ReturnType<AnalysisSession['explain']>;
  dissection: ReportDissection;
}

/** The access logs' part of the report, with the flow logs' counts added. */
function addLogs(a: ReportLogs, b: ReportLogs): ReportLogs {
  const byKind = { ...a.byKind };
  for (const [k, v] of Object.entries(b.byKind)) byKind[k] = (byKind[k] ?? 0) + v;
  const byElbStatus = { ...a.byElbStatus };
  for (const [k, v] of Object.entries(b.byElbStatus)) byElbStatus[k] = (byElbStatus[k] ?? 0) + v;
  return { files: a.files + b.files, records: a.records + b.records, badLines: a.badLines + b.badLines, byKind, byElbStatus, errors5xx: a.errors5xx + b.errors5xx, clockSkewSeconds: null };
}

const EMPTY_LOGS: ReportLogs = { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null };

/**
 * Runs a targeted analysis; null when the second pass disagreed with the survey (the caller then
 * runs the full pipeline), with the reason in `fallback.reason`.
 */
export async function analyzeTargeted(
  inputs: AnalyzeInputs,
  opts: AnalyzeOptions,
  keys: KeyLog,
  note: (m: string) => void,
  keyLogTexts: string[] | null,
  fallback: { reason: string },
  native: NativeFirstPassRun | null = null,
): Promise<TargetedResult | null> {
  const incident = opts.incident ?? null;
  const corrOpts: CorrelateOptions = { maxSkewSeconds: opts.maxSkewSeconds };
  const flow = { idleGapThresholdSeconds: ANALYZE_IDLE_GAP_SECONDS, ...opts.flow };
  const window = packetWindow(incident);

  // The access logs, taped (the flow logs are read into each correlation: see log-tape.ts).
  const lbInputs = { captures: [], albLogs: inputs.albLogs ?? [], nlbLogs: inputs.nlbLogs ?? [] };
  let tape: LogTapeData | null = null;
  let logs = EMPTY_LOGS;
  if (lbInputs.albLogs.length + lbInputs.nlbLogs.length > 0) {
    const t = new LogTape();
    logs = await readLogInputs(lbInputs, t, note, null, incident);
    tape = t.data();
  }

  // Pass 1: the survey — in C on the threadpool when the caller started it (it ran while the logs
  // were read), else (or when it declined) in JavaScript here.
  const progress = opts.onProgress;
  const onSecrets = (type: number, data: Uint8Array, lines: Int32Array | null = null): void => {
    for (const issue of keys.addDsb(type, data, undefined, lines)) note(formatKeyLogIssue(issue));
    keyLogTexts?.push(Buffer.from(data).toString('utf8'));
  };
  const done = native === null ? null : await native.result;
  let first: { summary: PipelineSummary; recs: SurveyRecords; icmp: { ev: IcmpErrorEvent; packet: number }[] };
  let firstPass: Pick<ReportDissection, 'firstPass' | 'firstPassNote'>;
  if (done !== null && !('declined' in done)) {
    for (const d of done.dsbs) onSecrets(d.type, d.data, d.lines);
    if (progress !== undefined && done.summary.flow.packets > 0) progress({ file: '', packets: done.summary.flow.packets });
    first = done;
    firstPass = { firstPass: 'native' };
  } else {
    first = await surveyInJs(inputs, flow, window, onSecrets, note, progress);
    firstPass = { firstPass: 'javascript', firstPassNote: done === null ? 'not tried' : done.declined };
  }
  const { summary, recs, icmp } = first;
  const n = recs.size;

  const probe = new Correlator(corrOpts);
  const imp = implicate({
    recs,
    logs: tape,
    icmpErrors: icmp.map((x) => x.ev),
    toleranceSeconds: probe.maxSkew + probe.slack,
    traceIdWithoutLogs: incident !== null && incident.traceRoot !== null && tape === null,
  });

  // A Correlator with the access logs decides which transactions are kept (trace ids, incident).
  const deciding = new Correlator(corrOpts);
  if (tape) playLogTape(tape, deciding);
  const decider = new AnalysisSession(keys, deciding, { incident });
  let runs: SecondPassEvent[][] = [];
  /** Rows read by a second pass (1). */
  const dissected = new Uint8Array(n);
  /** Transactions and responses of each dissected connection (all, kept or not). */
  const counted = new Map<string, [number, number]>();
  // HTTP/2 GOAWAY cuts found so far, and how many were known when each connection was read: a
  // connection read before a cut of its client was known is read again (its retry was not kept).
  const cuts: GoawayCut[] = [];
  const cutsKnownAt = new Map<number, number>();
  let passes = 1;
  let flowLogsRead = false;

  for (let round = 0; ; round++) {
    // Second passes until no failed request brings in more connections.
    for (;;) {
      const todo: number[] = [];
      for (let row = 0; row < n; row++) if (imp.has(row) && dissected[row] === 0) todo.push(row);
      if (todo.length === 0) break;
      for (const row of todo) {
        dissected[row] = 1;
        cutsKnownAt.set(row, cuts.length);
      }
      // (The second pass, with the reader and flow table, loads when a connection is read.)
      const { dissect } = await import('./second-pass.js');
      // (The pass reads these rows at every packet: their chunks stay in memory meanwhile.)
      recs.pin(todo);
      let r: Awaited<ReturnType<typeof dissect>>;
      try {
        r = await dissect(inputs.captures, recs, todo, decider, { flow, window, lastTime: summary.lastTime });
      } finally {
        recs.unpin();
      }
      passes++;
      const problem = verify(r.events, recs, todo);
      if (problem !== null) {
        fallback.reason = problem;
        return null;
      }
      runs.push(r.events);
      for (const [uid, n] of r.perConnection) counted.set(uid, n);
      implicateAround(imp, failedWindows(r.events, recs));
      const before = cuts.length;
      cuts.push(...goawayCuts(r.events));
      if (cuts.length > before) {
        const again = new Set<string>();
        for (let i = before; i < cuts.length; i++) {
          for (const row of implicateRetries(imp, cuts[i]!)) if (dissected[row] === 1 && cutsKnownAt.get(row)! <= i) again.add(recs.uid(row));
        }
        if (again.size > 0) {
          runs = runs.map((run) => run.filter((e) => !again.has(e.uid)));
          for (const uid of again) {
            dissected[recs.rowOf(uid)] = 0;
            counted.delete(uid);
          }
        }
      }
    }
    if (round >= MAX_ROUNDS) {
      fallback.reason = `the correlation still cited connections not read after ${MAX_ROUNDS} rounds`;
      return null;
    }

    // Correlation, fed as the full analysis feeds it.
    resetFindingIds();
    const corr = new Correlator({ ...corrOpts, recent: new SurveyRecent(recs) });
    if (tape) playLogTape(tape, corr);
    if ((inputs.flowLogs ?? []).length > 0) {
      const f = await readLogInputs({ captures: [], flowLogs: inputs.flowLogs }, corr, flowLogsRead ? () => {} : note, null, incident);
      if (!flowLogsRead) logs = addLogs(logs, f);
      flowLogsRead = true;
    }
    const session = new AnalysisSession(keys, corr, { incident, onWarning: note });
    replay(recs, runs, icmp, session, corr, imp);
    for (const [t, r] of counted.values()) {
      session.stats.httpTransactions += t;
      session.stats.httpResponses += r;
    }
    if (summary.firstTime !== null) corr.notePacketTime(summary.firstTime);
    if (summary.lastTime !== null) corr.notePacketTime(summary.lastTime);
    for (const f of summary.fileTimes) corr.time.noteCapture(f.file, f.firstTime, f.lastTime);
    const cases = corr.build();
    const chosen = incident === null ? cases : cases.filter((c) => caseSelected(incident, c));
    const explained = session.explain(chosen);

    // Everything correlation kept or cites must have been read whole.
    const cited = citedUids(corr, cases, explained.findings);
    let added = 0;
    for (const uid of cited) {
      const row = recs.rowOf(uid);
      if (row >= 0 && imp.add(row, Why.Cited)) added++;
    }
    if (added > 0) {
      closeOver(imp);
      continue;
    }
    const dissection: ReportDissection = {
      mode: 'targeted',
      logs: tape === null ? 'none: every client-side connection read' : 'access log',
      connections: n,
      dissected: imp.size,
      passes,
      correlations: round + 1,
      byReason: imp.byReason(),
      ...firstPass,
    };
    return { corr, session, summary, logs, explained, dissection };
  }
}

/** The first pass in JavaScript: every packet through the survey (FlowSurvey, observing TLS). */
async function surveyInJs(
  inputs: AnalyzeInputs,
  flow: FlowOptions,
  window: TimeWindow | null,
  onSecrets: (type: number, data: Uint8Array) => void,
  note: (m: string) => void,
  progress: AnalyzeOptions['onProgress'],
): Promise<{ summary: PipelineSummary; recs: SurveyRecords; icmp: { ev: IcmpErrorEvent; packet: number }[] }> {
  // (Loaded here: with the native first pass, the JavaScript reader and survey are not needed.)
  const [{ processCaptures }, { FlowSurvey }, { observeTls }] = await Promise.all([import('../flow/pipeline.js'), import('../flow/survey.js'), import('../tls/record-walk.js')]);
  const icmp: { ev: IcmpErrorEvent; packet: number }[] = [];
  let packet = -1;
  const survey = new FlowSurvey(null, { ...flow, observe: observeTls, onIcmpError: (ev) => icmp.push({ ev, packet }) });
  const summary = await processCaptures(
    inputs.captures,
    {
      onSecrets,
      onWarning(w: { message: string }) {
        note(w.message);
      },
    },
    {
      ...flow,
      window,
      tracker: survey,
      beforeDecode: (rec, n, i) => {
        packet = n;
        survey.at(n, i, rec.byteOffset);
        if (progress !== undefined && ((n + 1) & 0xffff) === 0) progress({ file: '', packets: n + 1 });
        return true;
      },
    },
  );
  return { summary, recs: survey.records, icmp };
}

/** A second-pass record that disagrees with the survey (or a connection the pass did not end): the reason, else null. */
function verify(events: SecondPassEvent[], recs: SurveyRecords, todo: number[]): string | null {
  const want = new Map(todo.map((row) => [recs.uid(row), row]));
  let lastOrder = -1;
  for (const e of events) {
    if (e.kind !== 'end') continue;
    const c = want.get(e.uid);
    if (c === undefined) return `the second pass found a connection the survey did not (${e.uid})`;
    want.delete(e.uid);
    const r = e.rec;
    const [start, end, cause, fromClient, fromServer] = [recs.startTime(c), recs.endTime(c), recs.endCause(c), recs.packets(c, 0), recs.packets(c, 1)];
    if (r.startTime !== start || r.endTime !== end || r.endCause !== cause || r.packetsFromClient !== fromClient || r.packetsFromServer !== fromServer) {
      return `connection ${e.uid}: the second pass saw ${r.packetsFromClient}+${r.packetsFromServer} packets ${r.startTime}-${r.endTime} (${r.endCause}), the survey ${fromClient}+${fromServer} ${start}-${end} (${cause})`;
    }
    // (A row is its end order.)
    if (c < lastOrder) return `connection ${e.uid} ended out of the survey's order`;
    lastOrder = c;
  }
  if (want.size > 0) return `the second pass did not end ${want.size} connection(s) of the survey (${[...want.keys()][0]})`;
  return null;
}

/** When each failed request kept by a second pass was outstanding (its other legs were open then). */
function failedWindows(events: SecondPassEvent[], recs: SurveyRecords): [number, number][] {
  const out: [number, number][] = [];
  for (const e of events) {
    if (e.kind !== 'tx' || !isFailedTx(e.tx.outcome, e.tx.status)) continue;
    const row = recs.rowOf(e.uid);
    const from = e.tx.requestFirstByteTime ?? e.tx.responseFirstByteTime ?? (row >= 0 ? recs.startTime(row) : undefined);
    const to = e.tx.responseLastByteTime ?? (row >= 0 ? recs.endTime(row) : undefined) ?? from;
    if (from !== undefined && to !== undefined && from !== null && to !== null) out.push([from, Math.max(from, to)]);
  }
  return out;
}

/** A stream an HTTP/2 GOAWAY cut: its client retries from the same address on another connection. */
interface GoawayCut {
  uid: string;
  clientAddr: string;
  time: number;
}

function goawayCuts(events: SecondPassEvent[]): GoawayCut[] {
  const out: GoawayCut[] = [];
  for (const e of events) {
    if (e.kind !== 'tx' || e.tx.endedBy !== 'goaway') continue;
    const t = e.tx;
    out.push({ uid: e.uid, clientAddr: e.conn.clientAddr, time: t.goaway?.time ?? t.requestLastByteTime ?? t.requestFirstByteTime ?? e.conn.startTime });
  }
  return out;
}

/**
 * The connections a GOAWAY cut's retry may be on (its client's others open in the retry window):
 * implicated (Why.GoawayRetry); returns them all (rows), implicated before or not.
 */
function implicateRetries(imp: Implicated, cut: GoawayCut): number[] {
  const recs = imp.recs;
  const out: number[] = [];
  for (let row = 0; row < recs.size; row++) {
    if (recs.clientAddr(row) !== cut.clientAddr || recs.uid(row) === cut.uid) continue;
    if (recs.endTime(row) < cut.time - RETRY_MARGIN_SECONDS || recs.startTime(row) > cut.time + RETRY_WINDOW_SECONDS + RETRY_MARGIN_SECONDS) continue;
    imp.add(row, Why.GoawayRetry);
    out.push(row);
  }
  return out;
}

/** Uids of every connection the correlation kept or its cases and findings cite. */
function citedUids(corr: Correlator, cases: Case[], findings: { connectionUids: string[] }[]): Set<string> {
  const out = new Set<string>();
  for (const c of corr.keptConnections()) out.add(c.uid);
  for (const k of cases) {
    for (const l of pathLegs(k.path)) {
      if (l.leg) out.add(l.leg.uid);
      if (l.conn) out.add(l.conn.uid);
      if (l.tx) out.add(l.tx.connUid);
      for (const a of l.attempts) out.add(a.uid);
    }
    for (const i of k.path.idleCandidates) out.add(i.conn.uid);
  }
  for (const f of findings) for (const u of f.connectionUids) out.add(u);
  return out;
}

// Sub-orders within one packet's handling, as the FlowTable does it: ends as the clock moves,
// transactions of held data given up on then, an end by port reuse, the new connection's start,
// the packet's own transactions, an ICMP error (a packet of its own).
const SUB_CLOCK_END = 0;
const SUB_CLOCK_TX = 1;
const SUB_PACKET_END = 2;
const SUB_START = 3;
const SUB_PACKET_TX = 4;
const SUB_ICMP = 5;

// What a replay step does (with its reference: a transaction event, a row, an ICMP error).
const STEP_TX = 0;
const STEP_START = 1;
const STEP_END = 2;
const STEP_ICMP = 3;

/**
 * The correlation inputs, each at its place in the full analysis's order: sorted by (packet,
 * sub-order, end order, before/after the end, then the order added). Held in typed arrays and
 * sorted as indices: no object per connection.
 */
class Steps {
  private p: Float64Array;
  private sub: Uint8Array;
  /** End order * 2 + (1: the end itself, 0: a transaction given out just before it). */
  private ord: Float64Array;
  private kind: Uint8Array;
  private ref: Int32Array;
  n = 0;

  constructor(capacity: number) {
    this.p = new Float64Array(capacity);
    this.sub = new Uint8Array(capacity);
    this.ord = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.ref = new Int32Array(capacity);
  }

  add(p: number, sub: number, ord: number, kind: number, ref: number): void {
    const i = this.n++;
    this.p[i] = p;
    this.sub[i] = sub;
    this.ord[i] = ord;
    this.kind[i] = kind;
    this.ref[i] = ref;
  }

  /** Step indices in order. */
  sorted(): Int32Array {
    const idx = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const { p, sub, ord } = this;
    return idx.sort((a, b) => p[a]! - p[b]! || sub[a]! - sub[b]! || ord[a]! - ord[b]! || a - b);
  }

  kindOf(i: number): number {
    return this.kind[i]!;
  }
  refOf(i: number): number {
    return this.ref[i]!;
  }
}

/**
 * Feeds the correlation: every connection's start and end, the dissected connections' records
 * and kept transactions, the ICMP errors, in the order the full analysis produces them.
 */
function replay(recs: SurveyRecords, runs: SecondPassEvent[][], icmp: { ev: IcmpErrorEvent; packet: number }[], session: AnalysisSession, corr: Correlator, imp: Implicated): void {
  const n = recs.size;
  // While the legs stay under the index's cap (nothing is evicted, so the index holds the same
  // legs either way):
  // - a leg no other can be joined to is held as a time span, not one by one (LegIndex.addSolo);
  // - a connection's open leg is not indexed: the survey's has no ISN and no prints, so nothing
  //   can look it up before its final leg replaces it (the index kept each one, stale, until its
  //   next sweep: old-generation garbage for every connection).
  const solos = n <= corr.legs.maxLegs;
  const endP = (row: number): number => recs.endPacket(row);
  const endSub = (row: number): number => (recs.endPhase(row) === END_AT_PACKET ? SUB_PACKET_END : SUB_CLOCK_END);
  const ended = new Map<number, Extract<SecondPassEvent, { kind: 'end' }>>();
  const txs: Extract<SecondPassEvent, { kind: 'tx' }>[] = [];
  let events = 0;
  for (const run of runs) events += run.length;
  const steps = new Steps(events + 2 * n + icmp.length);
  for (const run of runs) {
    for (let i = 0; i < run.length; i++) {
      const e = run[i]!;
      if (e.kind === 'end') {
        ended.set(recs.rowOf(e.uid), e);
        continue;
      }
      // A transaction given out while its connection ended (its streams closed) goes just before that end.
      let j = i + 1;
      while (j < run.length && run[j]!.kind === 'tx' && run[j]!.uid === e.uid && run[j]!.packet === e.packet && run[j]!.phase === e.phase) j++;
      const next = run[j];
      const anchored = e.phase === PHASE_FINISH || (next !== undefined && next.kind === 'end' && next.uid === e.uid && next.packet === e.packet);
      const row = anchored ? recs.rowOf(e.uid) : -1;
      const t = txs.length;
      txs.push(e);
      if (row >= 0) steps.add(endP(row), endSub(row), row * 2, STEP_TX, t);
      else steps.add(e.packet, e.phase === PHASE_CLOCK ? SUB_CLOCK_TX : SUB_PACKET_TX, 0, STEP_TX, t);
    }
  }
  for (let row = 0; row < n; row++) {
    if (!solos) steps.add(recs.firstPacket(row), SUB_START, 0, STEP_START, row);
    steps.add(endP(row), endSub(row), row * 2 + 1, STEP_END, row);
  }
  for (let k = 0; k < icmp.length; k++) steps.add(icmp[k]!.packet, SUB_ICMP, 0, STEP_ICMP, k);
  for (const i of steps.sorted()) {
    const ref = steps.refOf(i);
    switch (steps.kindOf(i)) {
      case STEP_TX: {
        const e = txs[ref]!;
        session.addTransaction(e.conn, e.tx);
        break;
      }
      case STEP_START:
        corr.noteOpenLeg(surveyOpenConn(recs, ref));
        break;
      case STEP_END: {
        const e = ended.get(ref);
        if (e !== undefined) session.applyEnded(e.ended);
        else {
          const reach = solos ? imp.joinReach(ref) : 2;
          const uid = recs.uid(ref);
          const leg = solos && reach === 2 ? surveyLegCopy(recs, ref, uid) : surveyLegView(recs, ref, uid);
          session.replayViews(surveyConnView(recs, ref, uid), leg, undefined, reach === 0 ? 'alone' : reach === 1 ? 'counted' : false);
          if (isTlsSurveyed(recs, ref)) session.stats.tlsSessions++;
        }
        break;
      }
      default:
        session.noteIcmpError(icmp[ref]!.ev);
    }
  }
}
