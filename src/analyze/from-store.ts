/**
 * `analyze --store URL --since T --until T`: correlation and verdicts over the records every node
 * wrote to a store in a time window, instead of over packets. The records are replayed into the
 * same analysis session a capture feeds, in the order a batch analysis produces them (logs first,
 * then transactions, then connections as they end), so the client leg recorded by one listener
 * and the target leg recorded by another give the finding the merged capture would.
 */
import { Correlator, traceRoot } from '../correlate/correlate.js';
import type { LbLogView } from '../correlate/views.js';
import type { TimeWindow } from '../capture/window.js';
import { resetFindingIds } from '../diagnose/rules.js';
import type { StoreReader } from '../store/open.js';
import { connInfoOf, connectionRecordOf, flowRowViewOf, icmpErrorOf, lbLogViewOf, transactionOf } from '../store/records.js';
import type { Row } from '../store/schema.js';
import { KeyLog } from '../tls/keylog.js';
import { readLogInputs } from './log-pass.js';
import { assembleReport } from './assemble.js';
import type { Report } from './model.js';
import { type AnalyzeInputs, type AnalyzeOptions } from './options.js';
import { AnalysisSession } from './session.js';

export interface StoreAnalysis {
  report: Report;
  /** Rows read, by table. */
  rows: Record<string, number>;
  nodes: string[];
}

/** What a connection that is not kept needs: its endpoints and times (roles), and what joins it to the other legs of its path. */
const LEG_COLUMNS = [
  'ts', 'node', 'uid', 'community_id', 'capture_point', 'capture_points', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'end_ts', 'duration', 'conn_state', 'history',
  'orig_payload_bytes', 'resp_payload_bytes', 'syn_ts', 'synack_ts', 'refused', 'midstream', 'closed_by', 'close_how', 'end_cause', 'max_idle', 'missed_bytes', 'rtt',
  'resp_fin_ts', 'resp_rst_ts', 'requests', 'tls_alert', 'tls_alert_from', 'icmp_error_ts', 'icmp_error_from', 'icmp_error_type', 'icmp_error_code', 'previous_uid',
  'isn_orig', 'isn_resp', 'orig_first_seq', 'orig_first_ack', 'orig_first_len', 'orig_first_fp', 'orig_first_ts', 'resp_first_seq', 'resp_first_ack', 'resp_first_len', 'resp_first_fp', 'resp_first_ts',
].join(', ');

/** Seconds read around the window so that a request at its edge finds its log line and connection. */
export const STORE_MARGIN_SECONDS = 15;

export async function analyzeStore(reader: StoreReader, window: TimeWindow, inputs: Omit<AnalyzeInputs, 'captures'> = {}, opts: AnalyzeOptions = {}): Promise<StoreAnalysis> {
  const started = performance.now();
  const warnings: string[] = [];
  const note = (m: string) => {
    if (warnings.length < 100) warnings.push(m);
    opts.onWarning?.(m);
  };
  resetFindingIds();
  const m = STORE_MARGIN_SECONDS;
  const lo = Number.isFinite(window.since) ? window.since - m : null;
  const hi = Number.isFinite(window.until) ? window.until + m : null;
  /** ts within the window (with margin). */
  const within = (col = 'ts') => [lo === null ? '' : `${col} >= ${lo}`, hi === null ? '' : `${col} <= ${hi}`].filter(Boolean).join(' AND ') || '1 = 1';
  /** [ts, end_ts] overlapping the window. */
  const overlapping = () => [lo === null ? '' : `end_ts >= ${lo}`, hi === null ? '' : `ts <= ${hi}`].filter(Boolean).join(' AND ') || '1 = 1';
  const rows: Record<string, number> = {};
  const q = async (table: string, sql: string): Promise<Row[]> => {
    const r = await reader.query(sql);
    rows[table] = (rows[table] ?? 0) + r.length;
    return r;
  };

  const corr = new Correlator({ maxSkewSeconds: opts.maxSkewSeconds });
  const logs = await readLogInputs({ captures: [], ...inputs }, corr, note, null, null, window);

  // Log lines recorded by `logs --store` / `analyze --store` (5xx lines, their targets, flow-log rows and conversations).
  // The conversations first, before any log line: they only say what the flow logs hold (the
  // correlation keeps no row for them as evidence).
  const pairs = await q('flow_pairs', `SELECT * FROM flow_pairs WHERE ${overlapping()}`);
  for (const p of pairs) {
    corr.addFlowRow({ file: String(p.file), line: 0, start: Number(p.ts), end: Number(p.end_ts), interfaceId: null, srcAddr: String(p.src_h), dstAddr: String(p.dst_h), srcPort: null, dstPort: p.dst_p === null ? null : Number(p.dst_p), protocol: 6, action: null, tcpFlags: null, raw: '' });
  }
  const logLines: LbLogView[] = [];
  for (const r of await q('lb_log', `SELECT * FROM lb_log WHERE ${within()} ORDER BY ts, file, line`)) {
    const v = lbLogViewOf(r);
    logLines.push(v);
    corr.addLog(v);
    logs.records++;
    logs.byKind[String(r.kind)] = (logs.byKind[String(r.kind)] ?? 0) + 1;
    const s = r.elb_status === null ? '-' : String(r.elb_status);
    logs.byElbStatus[s] = (logs.byElbStatus[s] ?? 0) + 1;
    if (typeof r.elb_status === 'number' && r.elb_status >= 500) logs.errors5xx++;
  }
  const targetAddrs = new Set<string>();
  for (const l of logLines) if (l.targetAddr !== null) targetAddrs.add(l.targetAddr);
  for (const r of await q('lb_targets', `SELECT target_h, target_p FROM lb_targets WHERE ${overlapping()}`)) {
    corr.noteLogTarget(String(r.target_h), Number(r.target_p));
    targetAddrs.add(String(r.target_h));
  }
  // The rows the correlation can keep: REJECTs, and rows to or from a logged target (it keeps those near an error).
  const addrs = [...targetAddrs].map((a) => reader.literal(a)).join(', ');
  const rowFilter = addrs ? `(action = 'REJECT' OR dst_h IN (${addrs}) OR src_h IN (${addrs}))` : "action = 'REJECT'";
  const rejects = await q('flow_log', `SELECT * FROM flow_log WHERE ${overlapping()} AND ${rowFilter} ORDER BY file, line`);
  if (pairs.length || rejects.length) corr.markFlowLogsGiven();
  for (const r of rejects) corr.addFlowRow(flowRowViewOf(r));

  // Packets' records: transactions, then connections in the order they ended. Only what the
  // correlation can keep is read whole: failed transactions, those carrying the trace id of a kept
  // log line, connections with key packets recorded (kept, or closed by their server); of the
  // others, what joins legs and counts roles.
  const session = new AnalysisSession(new KeyLog(), corr, { all: opts.all, onWarning: note });
  const roots = [...new Set(logLines.map((l) => traceRoot(l.traceId)).filter((x): x is string => x !== null && /^[0-9a-z-]+$/.test(x)))];
  const wantedTx: string[] = ["outcome <> 'complete'", 'status >= 500'];
  // The retries of requests an HTTP/2 GOAWAY cut (the same client, method and path; answered, so not
  // failed): the correlation tells a retried GOAWAY from one that lost requests by them.
  const retryKey = "concat(orig_h, '|', coalesce(method, ''), '|', coalesce(path, ''))";
  wantedTx.push(`${retryKey} IN (SELECT ${retryKey} FROM transactions WHERE ${within()} AND ended_by = 'goaway')`);
  for (let i = 0; i < roots.length; i += 200) wantedTx.push(`(${roots.slice(i, i + 200).map((r) => `lower(trace_id) LIKE '%${r}%'`).join(' OR ')})`);
  const txSql = opts.all ? `SELECT * FROM transactions WHERE ${within()} ORDER BY ts, uid` : `SELECT * FROM transactions WHERE ${within()} AND (${wantedTx.join(' OR ')}) ORDER BY ts, uid`;
  for (const r of await q('transactions', txSql)) session.replayTransaction(connInfoOf(r), transactionOf(r));
  const counted = await q('transactions', `SELECT count(*) AS n, sum(CASE WHEN status IS NULL THEN 0 ELSE 1 END) AS r FROM transactions WHERE ${within()}`);
  rows.transactions = Number(counted[0]?.n ?? 0);
  const full = await q('conns', `SELECT * FROM conns WHERE ${overlapping()}${opts.all ? '' : ` AND uid IN (SELECT uid FROM marks${hi === null ? '' : ` WHERE ts <= ${hi}`})`}`);
  const light = opts.all ? [] : await q('conns', `SELECT ${LEG_COLUMNS} FROM conns WHERE ${overlapping()} AND uid NOT IN (SELECT uid FROM marks${hi === null ? '' : ` WHERE ts <= ${hi}`})`);
  rows.conns = full.length + light.length;
  const conns = [...full, ...light].sort((a, b) => Number(a.end_ts) - Number(b.end_ts) || (String(a.uid) < String(b.uid) ? -1 : String(a.uid) > String(b.uid) ? 1 : 0));
  const marksByUid = new Map<string, Row[]>();
  if (conns.length) {
    let first = Infinity;
    let last = -Infinity;
    for (const c of conns) {
      first = Math.min(first, Number(c.ts));
      last = Math.max(last, Number(c.end_ts));
    }
    const wanted = new Set(conns.map((c) => String(c.uid)));
    for (const mk of await q('marks', `SELECT * FROM marks WHERE ts >= ${first - 1} AND ts <= ${last + 1} ORDER BY ts`)) {
      const uid = String(mk.uid);
      if (!wanted.has(uid)) continue;
      let l = marksByUid.get(uid);
      if (!l) marksByUid.set(uid, (l = []));
      l.push(mk);
    }
  }
  for (const c of conns) {
    corr.noteConnectionStart(String(c.orig_h), String(c.resp_h), Number(c.ts));
    const alert = c.tls_alert === null || c.tls_alert === undefined ? null : { alert: String(c.tls_alert), from: c.tls_alert_from === 'client' ? ('client' as const) : ('server' as const) };
    session.replayConnection(connectionRecordOf(c, marksByUid.get(String(c.uid)) ?? []), alert, icmpErrorOf(c));
  }
  const captures = await q('captures', `SELECT * FROM captures WHERE ${overlapping()} ORDER BY ts, node, file`);
  const stats = session.stats;
  stats.httpTransactions = rows.transactions;
  stats.httpResponses = Number(counted[0]?.r ?? 0);
  stats.warnings = warnings;
  stats.captures = captures.length;
  for (const c of captures) {
    corr.notePacketTime(Number(c.ts));
    corr.notePacketTime(Number(c.end_ts));
    stats.packets += Number(c.packets);
    stats.bytes += Number(c.bytes);
  }
  const tls = await q('tls', `SELECT count(*) AS n, sum(CASE WHEN decrypted THEN 1 ELSE 0 END) AS d FROM tls WHERE ${within()}`).catch(() => []);
  stats.tlsSessions = Number(tls[0]?.n ?? 0);
  stats.tlsDecrypted = Number(tls[0]?.d ?? 0);
  const nodes = [...new Set([...conns, ...captures].map((r) => String(r.node)))].sort();
  if (conns.length === 0 && rows.lb_log === 0) note(`no records in ${reader.where} for this window`);

  const report = assembleReport({
    started,
    corr,
    stats,
    inputs: {
      captures: captures.map((c) => String(c.file)),
      keylogs: [],
      albLogs: inputs.albLogs ?? [],
      nlbLogs: inputs.nlbLogs ?? [],
      flowLogs: inputs.flowLogs ?? [],
    },
    explained: session.explain(),
    logs,
    accessLogsGiven: (rows.lb_log ?? 0) > 0 || (inputs.albLogs ?? []).length + (inputs.nlbLogs ?? []).length > 0,
  });
  return { report, rows, nodes };
}
