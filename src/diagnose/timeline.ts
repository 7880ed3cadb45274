/**
 * What a finding shows of its incident: a timeline with one lane per leg of the path (the ladder
 * diagram's columns: client, load balancer, NAT hop, target), the evidence of every leg in time
 * order, and the legs list saying which were seen, how they were joined, and what a missing one
 * would add.
 */
import type { Case } from '../correlate/case.js';
import { LEG_ROLES, pathLegs, type LegRole, type PathLeg } from '../correlate/path.js';
import type { ConnView, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import type { Evidence, FindingLeg, Timeline, TimelineMark } from './finding.js';
import { formatSeconds } from './timeouts.js';
import type { Verdict } from './verdict.js';

const FLOW_KEY_WORDS: Record<string, string> = {
  'five-tuple': 'same addresses and ports',
  'preserved-client': 'load balancer source ip:port kept by the NLB',
  'nat-source': 'the NAT hop\'s own address, same time',
  'log-target': 'the logged target and the request time',
};

function laneName(role: LegRole, c: Case): string {
  const hop = c.path.target !== null || (role === 'target' && c.path.lb === null);
  if (role === 'client') return 'client ↔ LB';
  if (role === 'lb') return hop ? 'LB ↔ hop' : 'LB ↔ target';
  return c.path.lb ? 'hop ↔ target' : 'LB/hop ↔ target';
}

function ends(c: ConnView): { client: string; server: string } {
  return { client: endpoint(c.clientAddr, c.clientPort)!, server: endpoint(c.serverAddr, c.serverPort)! };
}

/** The connection a leg stands for, in full when kept (the first attempt for a failed connect). */
function legConn(l: PathLeg): ConnView | null {
  return l.conn ?? l.attempts[0] ?? null;
}

function legEnds(l: PathLeg): { client: string | null; server: string | null } {
  const c = legConn(l);
  if (c) return ends(c);
  if (l.leg) return { client: endpoint(l.leg.clientAddr, l.leg.clientPort), server: endpoint(l.leg.serverAddr, l.leg.serverPort) };
  if (l.tx) return { client: endpoint(l.tx.clientAddr, l.tx.clientPort), server: endpoint(l.tx.serverAddr, l.tx.serverPort) };
  return { client: null, server: null };
}

/** Lanes: the path's legs seen (client, lb, target), or an idle candidate standing for the target leg. */
function lanes(c: Case): { role: LegRole; leg: PathLeg }[] {
  const out = pathLegs(c.path).map((leg) => ({ role: leg.role, leg }));
  const best = c.path.idleCandidates[0];
  if (best && !c.path.target && !c.path.lb) out.push({ role: 'target', leg: { role: 'target', leg: null, conn: best.conn, tx: null, attempts: [], joinedBy: null } });
  return out;
}

export function buildTimeline(c: Case, v: Verdict): Timeline {
  const legs: Timeline['legs'] = [];
  const marks: TimelineMark[] = [];
  const laneOf: Partial<Record<LegRole, number>> = {};
  for (const { role, leg } of lanes(c)) {
    const e = legEnds(leg);
    laneOf[role] = legs.length;
    legs.push({
      role,
      name: laneName(role, c),
      uid: legConn(leg)?.uid ?? leg.leg?.uid ?? leg.tx?.connUid ?? null,
      left: e.client ?? (role === 'client' ? 'client' : 'load balancer'),
      right: e.server ?? (role === 'client' ? 'load balancer' : 'target'),
    });
  }
  if (legs.length === 0 && c.log) {
    // Log only: the load balancer's lane with the log line.
    laneOf.client = 0;
    legs.push({ role: 'client', name: laneName('client', c), uid: null, left: endpoint(c.log.clientAddr, c.log.clientPort) ?? 'client', right: 'load balancer' });
  }
  const focus = c.time;
  const addTx = (tx: TxView | null, lane: number | undefined) => {
    if (!tx || lane === undefined) return;
    if (tx.requestFirstByteTime !== null) marks.push({ time: tx.requestFirstByteTime, leg: lane, dir: 0, kind: 'request', label: `${tx.method ?? '?'} ${tx.path ?? '?'}` });
    if (tx.responseFirstByteTime !== null) marks.push({ time: tx.responseFirstByteTime, leg: lane, dir: 1, kind: 'response', label: tx.status !== null ? `HTTP ${tx.status}` : 'response' });
  };
  const addConn = (conn: ConnView | null, lane: number | undefined) => {
    if (!conn || lane === undefined) return;
    for (const m of conn.marks) {
      if (m.kind === 'data' || m.kind === 'keep-alive') continue;
      if (m.kind !== 'syn' && m.kind !== 'synack' && Math.abs(m.time - focus) > 600) continue;
      marks.push({ time: m.time, leg: lane, dir: m.fromClient ? 0 : 1, kind: m.kind, label: m.kind === 'synack' ? 'SYN-ACK' : m.kind.toUpperCase() });
    }
  };
  for (const { role, leg } of lanes(c)) {
    const lane = laneOf[role];
    addTx(leg.tx, lane);
    addConn(leg.conn, lane);
    for (const a of leg.attempts) addConn(a, lane);
  }
  if (v.idleSeconds !== null && v.idleRole !== null && laneOf[v.idleRole] !== undefined) {
    const lane = laneOf[v.idleRole]!;
    const l = c.path[v.idleRole];
    const at = l?.tx?.requestFirstByteTime ?? focus;
    marks.push({ time: at - v.idleSeconds, leg: lane, dir: -1, kind: 'note', label: 'last packet before idle' });
    marks.push({ time: at - v.idleSeconds, leg: lane, dir: -1, kind: 'idle', label: `idle ${formatSeconds(v.idleSeconds)}` });
  }
  for (const m of v.extraMarks ?? []) {
    const lane = laneOf[m.role];
    if (lane !== undefined) marks.push({ time: m.time, leg: lane, dir: m.dir, kind: m.kind, label: m.label });
  }
  if (c.log && c.log.elbStatus !== null) {
    // A note on the load balancer's lifeline (the column right of the client leg).
    const lbCol = laneOf.client !== undefined ? laneOf.client + 1 : 0;
    marks.push({ time: c.log.time - c.skewSeconds, leg: lbCol, dir: -1, kind: 'log', label: `access log: ${c.log.elbStatus}${c.log.targetStatus === null ? ' (target_status_code -)' : ` (target ${c.log.targetStatus})`}` });
  }
  marks.sort((a, b) => a.time - b.time);
  return { legs, marks: marks.slice(0, 200) };
}

const ROLE_WORDS: Record<LegRole, string> = { client: 'client leg', lb: 'lb leg', target: 'target leg' };

export function buildEvidence(c: Case, v: Verdict): Evidence[] {
  const ev: Evidence[] = [];
  if (c.log) ev.push({ time: c.log.time - c.skewSeconds, source: c.log.kind === 'nlb' ? 'nlb-log' : 'alb-log', text: `${c.log.file}:${c.log.line}: ${c.log.raw}` });
  const txText = (tx: TxView, side: string) =>
    `${side} ${tx.httpVersion ?? 'HTTP'} ${tx.method ?? '?'} ${tx.path ?? '?'} → ${tx.status ?? 'no response'}${tx.endedBy ? ` (ended by ${tx.endedBy})` : ''}, request #${tx.requestIndexOnConnection ?? '?'} on connection ${tx.connUid}${tx.idleBeforeRequestSeconds !== null ? `, idle ${formatSeconds(tx.idleBeforeRequestSeconds)} before it` : ''}${tx.traceId ? `, X-Amzn-Trace-Id ${tx.traceId}` : ''}`;
  for (const l of pathLegs(c.path)) {
    const name = ROLE_WORDS[l.role];
    if (l.tx) ev.push({ time: l.tx.requestFirstByteTime, source: 'http', text: txText(l.tx, `${name}:`) });
    if (l.joinedBy && (l.joinedBy.key === 'tcp-isn' || l.joinedBy.key === 'tcp-first-payload')) {
      const e = legEnds(l);
      ev.push({ time: l.leg?.startTime ?? null, source: 'packet', text: `${name} ${e.client} → ${e.server} is the same TCP connection behind the NAT hop: ${l.joinedBy.detail}` });
    }
    const conn = l.conn;
    const reqT = l.tx?.requestFirstByteTime ?? c.time;
    if (conn) {
      const { client, server } = ends(conn);
      for (const m of conn.marks) {
        if (m.kind !== 'rst' && m.kind !== 'fin') continue;
        if (Math.abs(m.time - reqT) > 30) continue;
        const from = m.fromClient ? client : server;
        const to = m.fromClient ? server : client;
        const acks = m.acksAllPeerData === null ? '' : m.acksAllPeerData ? ', acknowledging all data sent to it' : ', NOT acknowledging the request bytes';
        ev.push({ time: m.time, source: 'packet', text: `${name}: ${m.kind.toUpperCase()} ${from} → ${to} after ${formatSeconds(m.idleBeforeSeconds)} of silence on the connection${acks}` });
      }
    }
    for (const a of l.attempts) {
      const { client, server } = ends(a);
      if (a.tlsFailure) ev.push({ time: a.startTime, source: 'tls', text: `${name}: TLS handshake ${client} → ${server} failed: fatal alert ${a.tlsFailure.alert} from the ${a.tlsFailure.from}` });
      if (a.refused) ev.push({ time: a.startTime, source: 'packet', text: `${name}: SYN ${client} → ${server} answered by RST` });
      else if (a.synAckTime === null) ev.push({ time: a.startTime, source: 'packet', text: `${name}: SYN ${client} → ${server} unanswered (${a.synTimes.length} SYNs, connection state ${a.connState})` });
    }
  }
  for (const cand of c.path.lb || c.path.target ? [] : c.path.idleCandidates) {
    const { client, server } = ends(cand.conn);
    ev.push({ time: c.time - cand.idleSeconds, source: 'packet', text: `target side: connection ${cand.conn.uid} ${client} → ${server} open and idle ${formatSeconds(cand.idleSeconds)} at the request's time; no request arrived on it${cand.serverFinBefore !== null ? '; the target had sent FIN on it' : ''}` });
  }
  for (const m of c.flowRows) {
    ev.push({ time: m.row.start, source: 'flow-log', text: `${m.row.file}:${m.row.line}: ${m.row.raw} (${m.side === 'post-nat' ? 'after the NAT hop' : 'before the NAT hop'}; matched by ${FLOW_KEY_WORDS[m.key] ?? m.key})` });
  }
  ev.push(...v.extraEvidence);
  ev.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
  return ev;
}

const UNSEEN: Record<LegRole, string> = {
  client: 'not captured: would show the status the client got and whether it gave up first (mirror the load balancer\'s client-facing ENI, with the client\'s TLS key log)',
  lb: 'not captured: would show what the load balancer sent and the RST, FIN or silence it got back (mirror the load balancer\'s ENI)',
  target: 'not captured: would show whether the request reached the target behind the NAT hop (mirror the target\'s ENI)',
};

export function buildLegs(c: Case, v: Verdict): FindingLeg[] {
  const lanesByRole = new Map(lanes(c).map((x) => [x.role, x.leg]));
  return LEG_ROLES.map((role): FindingLeg => {
    const l = lanesByRole.get(role);
    const note = v.legNotes[role];
    if (!l) {
      const unseen = role === 'target' && c.path.lb && !c.path.target ? `${c.coverage.target ? 'not seen for this request (the target side was captured, but no connection there had this one\'s sequence numbers)' : 'not captured: if a NAT hop (an NLB, a NAT gateway) sits in front of the target, mirroring the target\'s ENI would show whether the request reached it'}` : UNSEEN[role];
      return { role, seen: false, uid: null, client: null, server: null, capturePoints: [], joinedBy: null, note: note ?? unseen };
    }
    const conn = legConn(l);
    const e = legEnds(l);
    const cps = conn?.capturePoints ?? (l.leg ? [l.leg.capturePoint] : []);
    const shown = l.tx ? `carried the request${l.tx.status !== null ? ` (answered ${l.tx.status})` : ''}` : l.attempts.length ? 'failed connection attempt' : l.conn || l.leg ? 'the connection, without the request' : '';
    return {
      role,
      seen: true,
      uid: conn?.uid ?? l.leg?.uid ?? l.tx?.connUid ?? null,
      client: e.client,
      server: e.server,
      capturePoints: cps.filter((x) => x !== ''),
      joinedBy: l.joinedBy ? { key: l.joinedBy.key, confidence: l.joinedBy.confidence, detail: l.joinedBy.detail } : null,
      note: note ?? shown,
    };
  });
}
