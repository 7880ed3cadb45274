// Table tests of the verdict rules on hand-built cases (the capture-level tests are in
// test/analyze/). Times are seconds; the target connection is 10.0.1.5:41000 -> 10.0.2.9:8080.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Case, ConnView, TcpMark, TxView } from '../correlate/views.js';
import { diagnose } from './rules.js';

const T0 = 1_764_000_000;

function conn(marks: Partial<TcpMark>[], over: Partial<ConnView> = {}): ConnView {
  return {
    uid: 'Ctarget1',
    communityId: null,
    capturePoint: '42',
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

function kase(over: Partial<Case>): Case {
  return {
    origin: 'alb-log',
    status: 502,
    log: null,
    clientTx: null,
    clientConn: null,
    targetTx: null,
    targetConn: null,
    targetAttempts: [],
    flowRows: [],
    captureCovers: true,
    targetSideSeen: true,
    flowLogsGiven: false,
    inFlowLogs: false,
    nextLeg: null,
    nextLegTx: null,
    skewSeconds: 0,
    ...over,
  };
}

test('a prompt RST to a request after 359 s idle is an idle-timeout-reset fitting the NLB 350 s timeout', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', idleBeforeSeconds: 0.0003, acksAllPeerData: false }]);
  const f = diagnose(kase({ targetTx: tx(), targetConn: c }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'high');
  assert.equal(f.resetBy, '10.0.2.9:8080');
  assert.equal(f.idleSeconds, 359.5);
  assert.ok(f.timeoutFits.some((t) => t.name.startsWith('NLB') && t.seconds === 350));
  assert.match(f.advice.join(' '), /keepalive/i);
});

test('the idle verdict does not need a known timeout: 7 s idle then RST is still idle-timeout-reset, medium confidence', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }]);
  const f = diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 7 }), targetConn: c }));
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.confidence, 'medium');
  assert.deepEqual(f.timeoutFits, []);
});

test('a RST seconds after a request on a busy connection is a target-reset', () => {
  const c = conn([{ time: T0 + 362, kind: 'rst', acksAllPeerData: true }]);
  const f = diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 0.01 }), targetConn: c }));
  assert.equal(f.kind, 'target-reset');
});

test('a target FIN crossing the request is a keepalive-race with the learned keep-alive time', () => {
  const c = conn([
    { time: T0 + 360.0002, kind: 'fin', idleBeforeSeconds: 5.0, acksAllPeerData: false },
    { time: T0 + 360.0004, kind: 'rst', acksAllPeerData: false },
  ]);
  const f = diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 5 }), targetConn: c }));
  assert.equal(f.kind, 'keepalive-race');
  assert.match(f.summary, /5\.00 s/);
  assert.match(f.advice.join(' '), /keepAliveTimeout/);
});

test('a FIN long after the request was received is target-closed-before-response', () => {
  const c = conn([{ time: T0 + 365, kind: 'fin', idleBeforeSeconds: 5, acksAllPeerData: true }]);
  const f = diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), targetConn: c }));
  assert.equal(f.kind, 'target-closed-before-response');
});

test('the load balancer closing after silence is target-response-timeout', () => {
  const c = conn([{ time: T0 + 420, kind: 'fin', fromClient: true, idleBeforeSeconds: 60 }]);
  const f = diagnose(kase({ status: 504, targetTx: tx({ idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), targetConn: c }));
  assert.equal(f.kind, 'target-response-timeout');
  assert.match(f.summary, /60\.0 s|1 min/);
});

test('a SYN answered by RST is target-connection-refused; unanswered SYNs are target-connect-timeout', () => {
  const refused = conn([], { refused: true, synAckTime: null, connState: 'REJ' });
  assert.equal(diagnose(kase({ targetAttempts: [refused] })).kind, 'target-connection-refused');
  const dropped = conn([], { synTimes: [T0, T0 + 1, T0 + 3], synAckTime: null, connState: 'S0' });
  const f = diagnose(kase({ status: 504, targetAttempts: [dropped] }));
  assert.equal(f.kind, 'target-connect-timeout');
  assert.match(f.summary, /3 tries/);
});

test('unanswered SYNs with a REJECT flow-log row are flow-log-reject; with flow logs but no row, not-in-flow-logs', () => {
  const dropped = conn([], { synTimes: [T0], synAckTime: null, connState: 'S0' });
  const row = { file: 'f.log', line: 2, start: T0, end: T0 + 60, interfaceId: 'eni-1', srcAddr: '10.0.1.5', dstAddr: '10.0.2.9', srcPort: 41000, dstPort: 8080, protocol: 6, action: 'REJECT' as const, tcpFlags: 2, raw: '2 123 eni-1 ... REJECT OK' };
  assert.equal(diagnose(kase({ status: 504, targetAttempts: [dropped], flowRows: [row], flowLogsGiven: true })).kind, 'flow-log-reject');
  assert.equal(diagnose(kase({ status: 504, targetAttempts: [dropped], flowLogsGiven: true })).kind, 'not-in-flow-logs');
});

test('no evidence at all is unexplained and names what is missing', () => {
  const f = diagnose(kase({ targetSideSeen: false }));
  assert.equal(f.kind, 'unexplained');
  assert.ok(f.missing.some((m) => /target-side packets/.test(m)));
});

test('status 460 is client-closed; a complete 503 from the target is target-error-response', () => {
  assert.equal(diagnose(kase({ status: 460 })).kind, 'client-closed');
  const f = diagnose(kase({ status: 503, targetTx: tx({ status: 503, outcome: 'complete', responseFirstByteTime: T0 + 360.1 }) }));
  assert.equal(f.kind, 'target-error-response');
});

test('the timeline has both legs, the idle mark and the RST', () => {
  const c = conn([{ time: T0 + 360.0003, kind: 'rst', acksAllPeerData: false }]);
  const clientTx = tx({ uid: 'Cc-1', connUid: 'Cc', clientAddr: '198.51.100.7', clientPort: 50000, serverAddr: '10.0.1.5', serverPort: 443, status: 502, outcome: 'complete', responseFirstByteTime: T0 + 360.001 });
  const f = diagnose(kase({ targetTx: tx(), targetConn: c, clientTx }));
  assert.equal(f.timeline.legs.length, 2);
  assert.ok(f.timeline.marks.some((m) => m.kind === 'rst' && m.leg === 1 && m.dir === 1));
  assert.ok(f.timeline.marks.some((m) => m.kind === 'idle'));
  assert.ok(f.timeline.marks.some((m) => m.kind === 'response' && m.leg === 0 && m.label === 'HTTP 502'));
  assert.deepEqual(f.connectionUids, ['Cc', 'Ctarget1']);
});

test('a target connection whose TLS handshake ended in a fatal alert is tls-handshake-failure', () => {
  const failed = conn([], { tlsFailure: { alert: 'handshake_failure', from: 'server' }, connState: 'SF' });
  const f = diagnose(kase({ targetAttempts: [failed] }));
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
  const f = diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 2.17 }), targetConn: c }));
  assert.equal(f.kind, 'keepalive-race');
  assert.equal(f.confidence, 'high');
  assert.match(f.summary, /about 2\.17 s idle/);
});

test('a FIN that acknowledges the request, then silence, is target-closed-before-response', () => {
  const c = conn([{ time: T0 + 360.7, kind: 'fin', idleBeforeSeconds: 0.7, acksAllPeerData: true }]);
  assert.equal(diagnose(kase({ targetTx: tx({ idleBeforeRequestSeconds: 2.17, endedBy: 'fin' }), targetConn: c })).kind, 'target-closed-before-response');
});

test('HTTP/2 RST_STREAM and GOAWAY endings, a malformed response and a capture gap each get their own verdict', () => {
  const c = conn([]);
  assert.equal(diagnose(kase({ targetTx: tx({ endedBy: 'rst-stream', httpVersion: 'HTTP/2', streamId: 5 }), targetConn: c })).kind, 'http2-stream-reset');
  assert.equal(diagnose(kase({ targetTx: tx({ endedBy: 'goaway', httpVersion: 'HTTP/2', streamId: 7 }), targetConn: c })).kind, 'http2-goaway');
  const m = diagnose(kase({ targetTx: tx({ outcome: 'malformed', malformedReason: 'invalid status line' }), targetConn: c }));
  assert.equal(m.kind, 'malformed-response');
  assert.match(m.summary, /invalid status line/);
  const g = diagnose(kase({ targetTx: tx({ outcome: 'incomplete', endedBy: null, idleBeforeRequestSeconds: 0.01 }), targetConn: conn([], { gapBytes: 1448 }) }));
  assert.equal(g.kind, 'capture-gap');
  assert.ok(g.missing.length > 0);
});

test('a client-side HTTP/2 stream reset with no target-side evidence is http2-stream-reset', () => {
  const f = diagnose(kase({ status: null, clientTx: tx({ endedBy: 'rst-stream', httpVersion: 'HTTP/2', streamId: 3 }) }));
  assert.equal(f.kind, 'http2-stream-reset');
});

test('the load balancer closing first after a silent wait is target-response-timeout even when the target then answers the close with FIN (lab slow-target)', () => {
  const c = conn([
    { time: T0 + 362.006, kind: 'fin', fromClient: true, idleBeforeSeconds: 2.006 },
    { time: T0 + 362.031, kind: 'fin', fromClient: false, idleBeforeSeconds: 0.025, acksAllPeerData: true },
  ]);
  const f = diagnose(kase({ status: 504, targetTx: tx({ requestFirstByteTime: T0 + 360, idleBeforeRequestSeconds: 0.1, endedBy: 'fin' }), targetConn: c }));
  assert.equal(f.kind, 'target-response-timeout');
  assert.match(f.summary, /2\.01 s/);
});
