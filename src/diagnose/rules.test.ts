// Table tests of the verdict rules on hand-built cases (the capture-level tests are in
// test/analyze/). Times are seconds; the target connection is 10.0.1.5:41000 -> 10.0.2.9:8080.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Case } from '../correlate/case.js';
import type { FlowMatch } from '../correlate/flow-match.js';
import { emptyPath, newLeg, type LegJoin, type PathLeg } from '../correlate/path.js';
import type { ConnView, FlowRowView, LbLogView, TcpMark, TxView } from '../correlate/views.js';
import { diagnose } from './rules.js';

const T0 = 1_764_000_000;

function conn(marks: Partial<TcpMark>[], over: Partial<ConnView> = {}): ConnView {
  return {
    uid: 'Ctarget1',
    communityId: null,
    capturePoint: '42',
    capturePoints: ['42'],
    clientIsn: 1000,
    serverIsn: 2000,
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: '10.0.1.5',
    clientPort: 41000,
    serverAddr: '10.0.2.9',
    serverPort: 8080,
    startTime: T0,
    endTime: T0 + 400,
    connState: 'RSTR',
    history: 'ShADadR',
    rttSeconds: 0.0005,
    synTimes: [T0],
    synAckTime: T0 + 0.0005,
    refused: false,
    closedBy: 'server',
    closeHow: 'rst',
    maxIdleSeconds: 360,
    idleGaps: [],
    gapBytes: 0,
    midstream: false,
    marks: marks.map((m) => ({ time: T0, fromClient: false, kind: 'data', length: 0, idleBeforeSeconds: 0, acksAllPeerData: null, ...m })),
    requests: 2,
    tlsFailure: null,
    ...over,
  };
}

function tx(over: Partial<TxView> = {}): TxView {
  return {
    uid: 'Ctarget1-2',
    connUid: 'Ctarget1',
    httpVersion: 'HTTP/1.1',
    responseHeadBytes: null,
    responseContentLength: null,
    responseBodyBytes: 0,
    streamId: null,
    method: 'GET',
    host: 'api',
    path: '/orders',
    status: null,
    traceId: 'Root=1-abc',
    requestFirstByteTime: T0 + 360,
    requestLastByteTime: T0 + 360,
    responseFirstByteTime: null,
    responseLastByteTime: null,
    requestIndexOnConnection: 2,
    idleBeforeRequestSeconds: 359.5,
    outcome: 'no-response',
    endedBy: 'rst',
    malformedReason: null,
    clientAddr: '10.0.1.5',
    clientPort: 41000,
    serverAddr: '10.0.2.9',
    serverPort: 8080,
    ...over,
  };
}

interface LegSpec {
  tx?: TxView | null;
  conn?: ConnView | null;
  attempts?: ConnView[];
  joinedBy?: LegJoin | null;
}

function leg(role: PathLeg['role'], spec: LegSpec): PathLeg {
  const l = newLeg(role, spec.joinedBy ?? null);
  l.tx = spec.tx ?? null;
  l.conn = spec.conn ?? null;
  l.attempts = spec.attempts ?? [];
  const c = l.conn ?? l.attempts[0];
  if (c) {
    l.leg = { ...c, open: false, clientPayloadBytes: 0, serverFinTimes: c.marks.filter((m) => m.kind === 'fin' && !m.fromClient).map((m) => m.time), serverRstTimes: [] };
  }
  return l;
}

interface KaseSpec extends Partial<Omit<Case, 'path' | 'flowRows'>> {
  client?: LegSpec;
  lb?: LegSpec;
  target?: LegSpec;
  flowRows?: FlowRowView[];
  idleCandidates?: Case['path']['idleCandidates'];
}

function kase(o: KaseSpec): Case {
  const path = emptyPath();
  if (o.client) path.client = leg('client', o.client);
  if (o.lb) path.lb = leg('lb', o.lb);
  if (o.target) path.target = leg('target', o.target);
  path.idleCandidates = o.idleCandidates ?? [];
  const rows: FlowMatch[] = (o.flowRows ?? []).map((row) => ({ row, key: 'five-tuple', confidence: 'high', side: 'pre-nat' }));
  const { client: _c, lb: _l, target: _t, flowRows: _f, idleCandidates: _i, ...rest } = o;
  return {
    origin: 'alb-log',
    status: 502,
    log: null,
    path,
    coverage: { client: true, lb: true, target: true },
    flowRows: rows,
    captureCovers: true,
    flowLogsGiven: false,
    inFlowLogs: false,
    skewSeconds: 0,
    time: T0 + 360,
    claims: [],
    goaway: null,
    ...rest,
  };
}

test('a prompt RST to a request after 359 s idle is an idle-timeout-reset fitting the NLB 350 s timeout', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', idleBeforeSeconds: 0.0003, acksAllPeerData: false }]);
  const f = diagnose(kase({ lb: { tx: tx(), conn: c } }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'high');
  assert.equal(f.resetBy, '10.0.2.9:8080');
  assert.equal(f.idleSeconds, 359.5);
  assert.ok(f.timeoutFits.some((t) => t.name.startsWith('NLB') && t.seconds === 350));
  assert.match(f.advice.join(' '), /keepalive/i);
});

test('the idle verdict does not need a known timeout: 7 s idle then RST is still idle-timeout-reset, medium confidence', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 7 }), conn: c } }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'medium');
  assert.deepEqual(f.timeoutFits, []);
});

test('a RST seconds after a request on a busy connection is a target-reset', () => {
  const c = conn([{ time: T0 + 362, kind: 'rst', acksAllPeerData: true }]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 0.01 }), conn: c } }));
  assert.equal(f.kind, 'target-reset');
});

test('a target FIN crossing the request is a keepalive-race with the learned keep-alive time', () => {
  const c = conn([
    { time: T0 + 360.0002, kind: 'fin', idleBeforeSeconds: 5.0, acksAllPeerData: false },
    { time: T0 + 360.0004, kind: 'rst', acksAllPeerData: false },
  ]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 5 }), conn: c } }));
  assert.equal(f.kind, 'keepalive-race');
  assert.match(f.summary, /5\.00 s/);
  assert.match(f.advice.join(' '), /keepAliveTimeout/);
});

test('a FIN long after the request was received is target-closed-before-response', () => {
  const c = conn([{ time: T0 + 365, kind: 'fin', idleBeforeSeconds: 5, acksAllPeerData: true }]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), conn: c } }));
  assert.equal(f.kind, 'target-closed-before-response');
});

test('the load balancer closing after silence is target-response-timeout', () => {
  const c = conn([{ time: T0 + 420, kind: 'fin', fromClient: true, idleBeforeSeconds: 60 }]);
  const f = diagnose(kase({ status: 504, lb: { tx: tx({ idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), conn: c } }));
  assert.equal(f.kind, 'target-response-timeout');
  assert.match(f.summary, /60\.0 s|1 min/);
});

test('a SYN answered by RST is target-connection-refused; unanswered SYNs are target-connect-timeout', () => {
  const refused = conn([], { refused: true, synAckTime: null, connState: 'REJ' });
  assert.equal(diagnose(kase({ lb: { attempts: [refused] } })).kind, 'target-connection-refused');
  const dropped = conn([], { synTimes: [T0, T0 + 1, T0 + 3], synAckTime: null, connState: 'S0' });
  const f = diagnose(kase({ status: 504, lb: { attempts: [dropped] } }));
  assert.equal(f.kind, 'target-connect-timeout');
  assert.match(f.summary, /3 tries/);
});

test('unanswered SYNs with a REJECT flow-log row are flow-log-reject; with flow logs but no row, not-in-flow-logs', () => {
  const dropped = conn([], { synTimes: [T0], synAckTime: null, connState: 'S0' });
  const row = { file: 'f.log', line: 2, start: T0, end: T0 + 60, interfaceId: 'eni-1', srcAddr: '10.0.1.5', dstAddr: '10.0.2.9', srcPort: 41000, dstPort: 8080, protocol: 6, action: 'REJECT' as const, tcpFlags: 2, raw: '2 123 eni-1 ... REJECT OK' };
  assert.equal(diagnose(kase({ status: 504, lb: { attempts: [dropped] }, flowRows: [row], flowLogsGiven: true })).kind, 'flow-log-reject');
  assert.equal(diagnose(kase({ status: 504, lb: { attempts: [dropped] }, flowLogsGiven: true })).kind, 'not-in-flow-logs');
});

test('no evidence at all is unexplained and names what is missing', () => {
  const f = diagnose(kase({ coverage: { client: true, lb: false, target: false } }));
  assert.equal(f.kind, 'unexplained');
  assert.ok(f.missing.some((m) => /target-side packets/.test(m)));
});

test('status 460 is client-closed; a complete 503 from the target is target-error-response', () => {
  assert.equal(diagnose(kase({ status: 460 })).kind, 'client-closed');
  const f = diagnose(kase({ status: 503, lb: { tx: tx({ status: 503, outcome: 'complete', responseFirstByteTime: T0 + 360.1 }) } }));
  assert.equal(f.kind, 'target-error-response');
});

test('the timeline has both legs, the idle mark and the RST', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }]);
  const clientTx = tx({ uid: 'Cc-1', connUid: 'Cc', clientAddr: '198.51.100.7', clientPort: 50000, serverAddr: '10.0.1.5', serverPort: 443, status: 502, outcome: 'complete', responseFirstByteTime: T0 + 360.001 });
  const f = diagnose(kase({ lb: { tx: tx(), conn: c }, client: { tx: clientTx } }));
  assert.equal(f.timeline.legs.length, 2);
  assert.deepEqual(f.legs.map((l) => [l.role, l.seen]), [['client', true], ['lb', true], ['target', false]]);
  assert.ok(f.timeline.marks.some((m) => m.kind === 'rst' && m.leg === 1 && m.dir === 1));
  assert.ok(f.timeline.marks.some((m) => m.kind === 'idle'));
  assert.ok(f.timeline.marks.some((m) => m.kind === 'response' && m.leg === 0 && m.label === 'HTTP 502'));
  assert.deepEqual(f.connectionUids, ['Cc', 'Ctarget1']);
});

test('a target connection whose TLS handshake ended in a fatal alert is tls-handshake-failure', () => {
  const failed = conn([], { tlsFailure: { alert: 'handshake_failure', from: 'server' }, connState: 'SF' });
  const f = diagnose(kase({ lb: { attempts: [failed] } }));
  assert.equal(f.kind, 'tls-handshake-failure');
  assert.match(f.summary, /target sent the fatal alert "handshake_failure"/);
  assert.ok(f.evidence.some((e) => e.source === 'tls'));
});

test('a FIN that arrives late (delayed by a hop) but does not acknowledge the request is still the keep-alive race', () => {
  // Seen in the lab: the NLB hop delayed the target's FIN by 0.7 s; its ACK number stops short of
  // the request bytes, so the target closed before it saw the request.
  const c = conn([
    { time: T0 + 360.7, kind: 'fin', idleBeforeSeconds: 0.7, acksAllPeerData: false },
    { time: T0 + 360.86, kind: 'rst', acksAllPeerData: null },
  ]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 2.17 }), conn: c } }));
  assert.equal(f.kind, 'keepalive-race');
  assert.equal(f.confidence, 'high');
  assert.match(f.summary, /about 2\.17 s idle/);
});

test('a FIN that acknowledges the request, then silence, is target-closed-before-response', () => {
  const c = conn([{ time: T0 + 360.7, kind: 'fin', idleBeforeSeconds: 0.7, acksAllPeerData: true }]);
  assert.equal(diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 2.17, endedBy: 'fin' }), conn: c } })).kind, 'target-closed-before-response');
});

test('HTTP/2 RST_STREAM and GOAWAY endings, a malformed response and a capture gap each get their own verdict', () => {
  const c = conn([]);
  assert.equal(diagnose(kase({ lb: { tx: tx({ endedBy: 'rst-stream', httpVersion: 'HTTP/2', streamId: 5 }), conn: c } })).kind, 'http2-stream-reset');
  assert.equal(diagnose(kase({ lb: { tx: tx({ endedBy: 'goaway', httpVersion: 'HTTP/2', streamId: 7 }), conn: c } })).kind, 'http2-goaway');
  const m = diagnose(kase({ lb: { tx: tx({ outcome: 'malformed', malformedReason: 'invalid status line' }), conn: c } }));
  assert.equal(m.kind, 'malformed-response');
  assert.match(m.summary, /invalid status line/);
  const g = diagnose(kase({ lb: { tx: tx({ outcome: 'incomplete', endedBy: null, idleBeforeRequestSeconds: 0.01 }), conn: conn([], { gapBytes: 1448 }) } }));
  assert.equal(g.kind, 'capture-gap');
  assert.ok(g.missing.length > 0);
});

test('a client-side HTTP/2 stream reset with no target-side evidence is http2-stream-reset', () => {
  const f = diagnose(kase({ status: null, client: { tx: tx({ endedBy: 'rst-stream', httpVersion: 'HTTP/2', streamId: 3 }) } }));
  assert.equal(f.kind, 'http2-stream-reset');
});

test('the load balancer closing first after a silent wait is target-response-timeout even when the target then answers the close with FIN (lab slow-target)', () => {
  const c = conn([
    { time: T0 + 362.006, kind: 'fin', fromClient: true, idleBeforeSeconds: 2.006 },
    { time: T0 + 362.031, kind: 'fin', fromClient: false, idleBeforeSeconds: 0.025, acksAllPeerData: true },
  ]);
  const f = diagnose(kase({ status: 504, lb: { tx: tx({ requestFirstByteTime: T0 + 360, idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), conn: c } }));
  assert.equal(f.kind, 'target-response-timeout');
  assert.match(f.summary, /2\.01 s/);
});

// ---- Verdicts from any subset of legs (the path model) ----

const NLB = '10.0.1.20';
/** The target leg behind an NLB without client IP preservation: the NLB's address and its own port. */
function targetConn(marks: Partial<TcpMark>[], over: Partial<ConnView> = {}): ConnView {
  return conn(marks, { uid: 'Cbehind', clientAddr: NLB, clientPort: 33999, serverAddr: '10.0.2.30', serverPort: 8080, ...over });
}
const ISN_JOIN: LegJoin = { key: 'tcp-isn', confidence: 'high', detail: 'client ISN 1000 and server ISN 2000 on both sides' };

test('target leg only: the request arrived and the target answered RST → target-reset by the target, high', () => {
  const t = targetConn([{ time: T0 + 360.01, kind: 'rst', acksAllPeerData: true }]);
  const f = diagnose(kase({ target: { tx: tx({ connUid: 'Cbehind', idleBeforeRequestSeconds: 0.2, clientAddr: NLB, clientPort: 33999, serverAddr: '10.0.2.30' }), conn: t } }));
  assert.equal(f.kind, 'target-reset');
  assert.equal(f.confidence, 'high');
  assert.equal(f.resetBy, '10.0.2.30:8080');
  assert.deepEqual(f.legs.map((l) => [l.role, l.seen]), [['client', false], ['lb', false], ['target', true]]);
  assert.match(f.legs[1]!.note, /not captured/);
});

test('target leg only: the target sent FIN before the request reached it → keepalive-race, high', () => {
  const t = targetConn([
    { time: T0 + 359.8, kind: 'fin', idleBeforeSeconds: 2.1, acksAllPeerData: true },
    { time: T0 + 360.001, kind: 'rst', acksAllPeerData: null },
  ]);
  const f = diagnose(kase({ target: { tx: tx({ connUid: 'Cbehind', idleBeforeRequestSeconds: 0.2 }), conn: t } }));
  assert.equal(f.kind, 'keepalive-race');
  assert.equal(f.confidence, 'high');
});

test('lb and target legs joined by ISN, the target leg without the request, a prompt RST after idle on the lb leg → idle-timeout-reset, high, naming the join', () => {
  const l = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }], { serverAddr: NLB, serverPort: 80 });
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 7, serverAddr: NLB, serverPort: 80 }), conn: l }, target: { conn: targetConn([]), joinedBy: ISN_JOIN } }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'high', '7 s fits no known timeout: the target leg is what makes it sure');
  assert.equal(f.resetBy, `${NLB}:80`);
  assert.deepEqual(f.legs[2]!.joinedBy?.key, 'tcp-isn');
  assert.ok(f.evidence.some((e) => /target never saw it/.test(e.text)));
  assert.deepEqual(f.timeline.legs.map((x) => x.role), ['lb', 'target']);
});

test('a prompt RST after idle on the lb leg is the target\'s own when the target leg shows the request arrived → target-reset', () => {
  const l = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }], { serverAddr: NLB, serverPort: 80 });
  const t = targetConn([{ time: T0 + 360.0002, kind: 'rst', acksAllPeerData: true }]);
  const f = diagnose(kase({ lb: { tx: tx({ idleBeforeRequestSeconds: 7 }), conn: l }, target: { tx: tx({ uid: 'Cbehind-2', connUid: 'Cbehind', requestFirstByteTime: T0 + 360.0001, idleBeforeRequestSeconds: 7 }), conn: t, joinedBy: ISN_JOIN } }));
  assert.equal(f.kind, 'target-reset');
  assert.equal(f.resetBy, '10.0.2.30:8080');
});

const LOG: LbLogView = {
  kind: 'alb', file: 'alb.log', line: 2, time: T0 + 360.001, requestTime: T0 + 360, elbStatus: 502, targetStatus: null, clientAddr: '198.51.100.7', clientPort: 50000,
  targetAddr: NLB, targetPort: 80, requestProcessingSeconds: 0, targetProcessingSeconds: -1, responseProcessingSeconds: -1, method: 'GET', path: '/orders', traceId: 'Root=1-abc', errorReason: null, raw: 'https ... 502 -',
};

test('target side only, the request never on it: a connection open and idle at the logged 502 → idle-timeout-reset, medium, naming the missing lb leg', () => {
  const idleConn = targetConn([], { endTime: T0 + 355.5, closeHow: null, closedBy: null });
  const f = diagnose(kase({ log: LOG, coverage: { client: false, lb: false, target: true }, idleCandidates: [{ conn: idleConn, idleSeconds: 4.5, serverFinBefore: null, resetByHopAfter: null }] }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'medium');
  assert.equal(f.idleSeconds, 4.5);
  assert.match(f.summary, /target never saw the request/);
  assert.ok(f.missing.some((m) => /load balancer → NAT hop leg/.test(m)));
  assert.deepEqual(f.legs.map((l) => l.seen), [false, false, true]);
});

test('target side only: the target had just sent FIN on the idle connection → keepalive-race, medium', () => {
  const closing = targetConn([{ time: T0 + 359.9, kind: 'fin', idleBeforeSeconds: 2 }], { endTime: T0 + 359.9, closeHow: 'fin', closedBy: 'server' });
  const f = diagnose(kase({ log: LOG, idleCandidates: [{ conn: closing, idleSeconds: 2.1, serverFinBefore: T0 + 359.9, resetByHopAfter: null }] }));
  assert.equal(f.kind, 'keepalive-race');
  assert.equal(f.confidence, 'medium');
});

test('client leg only: unexplained, naming the target-side packets it needs', () => {
  const f = diagnose(kase({ log: LOG, coverage: { client: true, lb: false, target: false }, client: { tx: tx({ uid: 'Cc-1', connUid: 'Cc', status: 502, outcome: 'complete' }) } }));
  assert.equal(f.kind, 'unexplained');
  assert.ok(f.missing.some((m) => /target-side packets/.test(m)));
  assert.deepEqual(f.legs.map((l) => l.seen), [true, false, false]);
});

test('a request cut by the end of the capture is capture-end (info), not an error', () => {
  const f = diagnose(kase({ status: null, client: { tx: tx({ uid: 'Cc-1', connUid: 'Cc', endedBy: 'capture-end', outcome: 'no-response' }) } }));
  assert.equal(f.kind, 'capture-end');
  assert.equal(f.severity, 'info');
});

test('SYNs on the lb leg and a REJECT on the target ENI after the NAT hop → flow-log-reject naming the post-NAT row', () => {
  const dropped = conn([], { synTimes: [T0, T0 + 1], synAckTime: null, connState: 'S0', serverAddr: NLB, serverPort: 80 });
  const row: FlowRowView = { file: 'flow.log', line: 7, start: T0, end: T0 + 2, interfaceId: 'eni-target', srcAddr: NLB, dstAddr: '10.0.2.30', srcPort: 40001, dstPort: 8080, protocol: 6, action: 'REJECT', tcpFlags: 2, raw: '2 123 eni-target REJECT OK' };
  const c = kase({ status: 504, lb: { attempts: [dropped] }, flowLogsGiven: true });
  c.flowRows = [{ row, key: 'nat-source', confidence: 'medium', side: 'post-nat' }];
  const f = diagnose(c);
  assert.equal(f.kind, 'flow-log-reject');
  assert.match(f.summary, /behind the NAT hop/);
  assert.ok(f.evidence.some((e) => e.source === 'flow-log' && /after the NAT hop/.test(e.text)));
});

test('every finding quotes the AWS cause its verdict maps to: the ALB\'s own 502 cause, then the hops\' idle timeouts the idle time fits (NLB and NAT gateway: both 350 s)', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', idleBeforeSeconds: 0.0003, acksAllPeerData: false }]);
  const f = diagnose(kase({ lb: { tx: tx(), conn: c } }));
  assert.deepEqual(f.causes.map((w) => w.id), ['502-closed-with-request-outstanding', 'nlb-idle-timeout', 'nat-idle-timeout']);
  assert.match(f.causes[0]!.source, /load-balancer-troubleshooting\.html#http-502-issues$/);
  assert.deepEqual(f.candidates, []);
});

test('a response head over 32 KB answered 502 by the load balancer is response-headers-too-large (not a timeout)', () => {
  const c = conn([{ time: T0 + 360.01, kind: 'fin', fromClient: true, idleBeforeSeconds: 0.001 }], { connState: 'SF' });
  const t = tx({ status: 200, responseHeadBytes: 40_123, responseContentLength: 2, responseBodyBytes: 2, responseFirstByteTime: T0 + 360.002, outcome: 'complete', endedBy: null });
  const f = diagnose(kase({ lb: { tx: t, conn: c } }));
  assert.equal(f.kind, 'response-headers-too-large');
  assert.match(f.summary, /response head of 39\.2 KiB \(40123 bytes\), over the 32 KiB/);
  assert.deepEqual(f.causes.map((w) => w.id), ['502-response-headers-too-large']);
  // The same head passed on with the target's own status is not this cause.
  assert.notEqual(diagnose(kase({ status: 200, lb: { tx: t, conn: c } })).kind, 'response-headers-too-large');
});

test('Content-Length 1000 with 500 body bytes, then silence until the load balancer closes: content-length-mismatch', () => {
  const c = conn([{ time: T0 + 362.1, kind: 'fin', fromClient: true, idleBeforeSeconds: 2.09 }], { connState: 'SF' });
  const t = tx({ status: 200, responseHeadBytes: 40, responseContentLength: 1000, responseBodyBytes: 500, responseFirstByteTime: T0 + 360.005, responseLastByteTime: T0 + 360.006, outcome: 'incomplete', endedBy: 'client-close' });
  const f = diagnose(kase({ status: 504, lb: { tx: t, conn: c } }));
  assert.equal(f.kind, 'content-length-mismatch');
  assert.equal(f.confidence, 'high');
  assert.match(f.summary, /Content-Length 1000 but sent 500 body bytes \(500 missing\), then nothing for 2\.09 s until the load balancer closed the connection \(FIN\)/);
  assert.deepEqual(f.causes.map((w) => w.id), ['504-content-length-over-body']);
  // A target that closed after sending part of the body is not waiting: not this cause.
  const closed = conn([{ time: T0 + 360.007, kind: 'fin', idleBeforeSeconds: 0.001 }]);
  assert.notEqual(diagnose(kase({ status: 502, lb: { tx: t, conn: closed } })).kind, 'content-length-mismatch');
});

test('the load balancer resetting its own connection with the request outstanding, and a 502: deregistered-in-flight', () => {
  const c = conn([{ time: T0 + 361.5, kind: 'rst', fromClient: true, idleBeforeSeconds: 1.5 }], { connState: 'RSTO' });
  const t = tx({ idleBeforeRequestSeconds: 0.2, requestIndexOnConnection: 1, outcome: 'no-response', endedBy: 'client-close' });
  const f = diagnose(kase({ lb: { tx: t, conn: c } }));
  assert.equal(f.kind, 'deregistered-in-flight');
  assert.equal(f.resetBy, '10.0.1.5:41000');
  assert.deepEqual(f.causes.map((w) => w.id), ['502-deregistration-delay']);
  // The load balancer's FIN at its timeout with a 504 stays a response timeout.
  const fin = conn([{ time: T0 + 362, kind: 'fin', fromClient: true, idleBeforeSeconds: 2 }]);
  assert.equal(diagnose(kase({ status: 504, lb: { tx: t, conn: fin } })).kind, 'target-response-timeout');
});

test('an unexplained 502 with its log line lists the documented causes the line fits and what to capture', () => {
  const log: LbLogView = {
    kind: 'alb', file: 'alb.log', line: 7, time: T0 + 360, requestTime: T0 + 359.99, elbStatus: 502, targetStatus: null, clientAddr: '198.51.100.7', clientPort: 50000,
    targetAddr: '10.0.2.9', targetPort: 8080, requestProcessingSeconds: null, targetProcessingSeconds: null, responseProcessingSeconds: null, method: 'GET', path: '/x', traceId: null, errorReason: null, raw: 'line',
  };
  const f = diagnose(kase({ log, captureCovers: false, coverage: { client: false, lb: false, target: false } }));
  assert.equal(f.kind, 'unexplained');
  assert.deepEqual(f.candidates.map((w) => w.id), ['502-rst-on-connect', '502-icmp-unreachable', '502-target-tls-handshake', '502-closed-with-request-outstanding']);
  assert.match(f.captureNext!.commands.join('\n'), /aws mirror plan --source 10\.0\.2\.9 /);
});

test('SYNs unanswered and the target interface\'s flow log REJECTing its replies: return-path-blocked, not a security group', () => {
  const lbAtt = conn([{ time: T0, kind: 'syn', fromClient: true }], { synAckTime: null, connState: 'S0', history: 'S', serverAddr: '10.0.1.20', serverPort: 80 });
  const tAtt = conn([{ time: T0 + 0.001, kind: 'syn', fromClient: true }], { uid: 'Ct2', synAckTime: null, connState: 'S0', history: 'S', clientAddr: '10.0.1.20', clientPort: 46473 });
  const reject: FlowRowView = { file: 'flow.log', line: 3, start: T0 - 1, end: T0 + 2, interfaceId: 'eni-0target', srcAddr: '10.0.2.9', dstAddr: '10.0.1.20', srcPort: 8080, dstPort: 46473, protocol: 6, action: 'REJECT', tcpFlags: 18, raw: 'row' };
  const f = diagnose(kase({ status: 504, lb: { attempts: [lbAtt] }, target: { attempts: [tAtt] }, flowRows: [reject], flowLogsGiven: true }));
  assert.equal(f.kind, 'return-path-blocked');
  assert.match(f.summary, /flow log REJECTs its replies: 10\.0\.2\.9:8080 → 10\.0\.1\.20:46473 on eni-0target/);
  assert.deepEqual(f.causes.map((w) => w.id), ['504-nacl-return-path']);
  // A REJECT of the SYNs themselves (toward the target) stays a security-group / network-ACL reject.
  const fwd: FlowRowView = { ...reject, srcAddr: '10.0.1.20', srcPort: 46473, dstAddr: '10.0.2.9', dstPort: 8080, tcpFlags: 2 };
  assert.equal(diagnose(kase({ status: 504, lb: { attempts: [lbAtt] }, target: { attempts: [tAtt] }, flowRows: [fwd], flowLogsGiven: true })).kind, 'flow-log-reject');
});

test('a SYN answered by an ICMP host unreachable quoting it: target-unreachable, with who sent it', () => {
  const att = conn([{ time: T0, kind: 'syn', fromClient: true }], { synAckTime: null, connState: 'S0', history: 'S', icmpError: { time: T0 + 0.0002, from: '10.0.1.1', type: 3, code: 1 } });
  const f = diagnose(kase({ lb: { attempts: [att] } }));
  assert.equal(f.kind, 'target-unreachable');
  assert.match(f.summary, /answered by ICMP destination unreachable \(host unreachable\) from 10\.0\.1\.1, 0\.20 ms after it/);
  assert.equal(f.resetBy, '10.0.1.1');
  assert.deepEqual(f.causes.map((w) => w.id), ['502-icmp-unreachable']);
  const prohibited = conn([{ time: T0, kind: 'syn', fromClient: true }], { synAckTime: null, connState: 'S0', icmpError: { time: T0, from: '10.0.1.1', type: 3, code: 13 } });
  assert.match(diagnose(kase({ lb: { attempts: [prohibited] } })).advice[0]!, /administratively prohibited/);
});
