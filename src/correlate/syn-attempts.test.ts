import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Correlator } from './correlate.js';
import { DistinctCounter, ErrorMatch, ErrorWindows, KEEP_MATCHED, KEEP_OTHER, DatalessAttempts, datalessAttempt, isUnansweredAttempt } from './syn-attempts.js';
import { pathLegs } from './path.js';
import type { ConnView, LbLogView } from './views.js';

const T0 = 1_700_000_000;

/** A connection view: an unanswered SYN unless `extra` says otherwise. */
function conn(i: number, extra: Partial<ConnView> = {}): ConnView {
  const t = T0 + i / 1000;
  return {
    uid: `C${i}`,
    communityId: null,
    capturePoint: '',
    capturePoints: [''],
    clientIsn: (i * 2654435761) >>> 0,
    serverIsn: null,
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: `100.64.${(i >> 8) & 0xff}.${i & 0xff}`,
    clientPort: 1024 + (i % 60000),
    serverAddr: '10.0.1.20',
    serverPort: 80,
    startTime: t,
    endTime: t,
    connState: 'S0',
    history: 'S',
    rttSeconds: null,
    synTimes: [t],
    synAckTime: null,
    refused: false,
    closedBy: null,
    closeHow: null,
    maxIdleSeconds: 0,
    idleGaps: [],
    gapBytes: 0,
    midstream: false,
    marks: [{ time: t, fromClient: true, kind: 'syn', length: 0, idleBeforeSeconds: 0, acksAllPeerData: null }],
    requests: 0,
    tlsFailure: null,
    ...extra,
  };
}

function errorLine(time: number, target: string | null, client: string | null): LbLogView {
  const [ta, tp] = target === null ? [null, null] : target.split(':');
  const [ca, cp] = client === null ? [null, null] : client.split(':');
  return {
    kind: 'alb',
    file: 'alb.log',
    line: 1,
    time,
    requestTime: time - 0.01,
    elbStatus: 502,
    targetStatus: null,
    clientAddr: ca ?? null,
    clientPort: cp === null || cp === undefined ? null : Number(cp),
    targetAddr: ta ?? null,
    targetPort: tp === null || tp === undefined ? null : Number(tp),
    requestProcessingSeconds: 0,
    targetProcessingSeconds: -1,
    responseProcessingSeconds: -1,
    method: 'GET',
    path: '/',
    traceId: null,
    errorReason: null,
    raw: '',
  };
}

test('an unanswered attempt is SYNs only: an answer, a reset, data or a mid-stream pickup is not one', () => {
  assert.equal(isUnansweredAttempt(conn(1)), true);
  assert.equal(isUnansweredAttempt(conn(1, { history: 'S', synTimes: [T0, T0 + 1, T0 + 3] })), true, 'retransmitted SYNs');
  assert.equal(isUnansweredAttempt(conn(1, { connState: 'S1', history: 'Sh', synAckTime: T0 })), false);
  assert.equal(isUnansweredAttempt(conn(1, { connState: 'REJ', history: 'Sr', refused: true })), false);
  assert.equal(isUnansweredAttempt(conn(1, { history: 'SD' })), false, 'data after the SYN');
  assert.equal(isUnansweredAttempt(conn(1, { midstream: true })), false);
});

test('attempts that carried no data: unanswered, refused, reset after the handshake; anything with data is none', () => {
  assert.equal(datalessAttempt(conn(1)), 'unanswered');
  assert.equal(datalessAttempt(conn(1, { connState: 'REJ', history: 'Sr', refused: true, closeHow: 'rst' })), 'refused');
  assert.equal(datalessAttempt(conn(1, { connState: 'RSTO', history: 'ShR', synAckTime: T0, closeHow: 'rst' })), 'reset');
  assert.equal(datalessAttempt(conn(1, { connState: 'RSTO', history: 'ShADR', synAckTime: T0, closeHow: 'rst' })), null, 'data, then a reset');
  assert.equal(datalessAttempt(conn(1, { connState: 'SF', history: 'ShAFf', synAckTime: T0, closeHow: 'fin' })), null, 'a handshake closed by FIN');
  assert.equal(datalessAttempt(conn(1, { connState: 'RSTO', history: 'ShR', synAckTime: T0, closeHow: 'rst', tlsFailure: { alert: 'x', from: 'server' } })), null);
  assert.equal(datalessAttempt(conn(1, { midstream: true, synTimes: [] })), null);
});

test('distinct counting is exact up to 4096 values, then an estimate within 3 %', () => {
  const d = new DistinctCounter();
  for (let i = 0; i < 4000; i++) d.add(`10.1.${i >> 8}.${i & 255}`);
  for (let i = 0; i < 4000; i++) d.add(`10.1.${i >> 8}.${i & 255}`);
  assert.deepEqual([d.count, d.exactCount, d.atLeast(4000), d.atLeast(4001)], [4000, true, true, false]);
  for (const n of [10_000, 100_000, 1_000_000]) {
    const e = new DistinctCounter();
    for (let i = 0; i < n; i++) e.add(`100.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(e.exactCount, false);
    assert.ok(Math.abs(e.count - n) / n < 0.03, `${n}: estimated ${e.count}`);
  }
});

test('a flood is summarised: many sources; a scan: many ports; a few SYNs to a dead target: neither', () => {
  const u = new DatalessAttempts();
  const none = { errorMatch: ErrorMatch.None, fromLoadBalancer: false };
  let kept = 0;
  for (let i = 0; i < 3000; i++) if (u.add(conn(i), 'unanswered', none)) kept++;
  for (let p = 1; p <= 300; p++) u.add(conn(5000 + p, { clientAddr: '198.51.100.7', serverAddr: '10.0.2.9', serverPort: p }), p % 2 ? 'refused' : 'reset', none);
  for (let i = 0; i < 6; i++) u.add(conn(9000 + i, { clientAddr: '10.0.0.5', serverAddr: '10.0.3.3', serverPort: 8080, synTimes: [T0, T0 + 1, T0 + 3] }), 'unanswered', none);
  assert.equal(kept, KEEP_OTHER, 'the first attempts are kept whole, the rest only counted');
  const [flood, scan, dead] = u.summaries();
  assert.deepEqual(
    [flood!.kind, flood!.server, flood!.attempts, flood!.sources, flood!.sourcesExact, flood!.portCount, flood!.ports],
    ['flood', '10.0.1.20', 3000, 3000, true, 1, [80]],
  );
  assert.deepEqual(
    [scan!.kind, scan!.server, scan!.attempts, scan!.refused, scan!.reset, scan!.unanswered, scan!.sources, scan!.portCount, scan!.ports.length, scan!.ports[0]],
    ['scan', '10.0.2.9', 300, 150, 150, 0, 1, 300, 16, 1],
  );
  assert.deepEqual([dead!.kind, dead!.attempts, dead!.unanswered, dead!.synPackets, dead!.sources], ['failing', 6, 6, 18, 1]);
  // Attempts to a flooded or scanned destination explain nothing, unless the load balancer made them.
  assert.equal(u.mayExplain(conn(1), new Set()), false);
  assert.equal(u.mayExplain(conn(1), new Set(['100.64.0.1'])), true);
  assert.equal(u.mayExplain(conn(9000, { clientAddr: '10.0.0.5', serverAddr: '10.0.3.3' }), new Set()), true);
});

test('destinations beyond the first 64 share one summary', () => {
  const u = new DatalessAttempts();
  for (let d = 0; d < 100; d++) u.add(conn(d, { serverAddr: `10.9.0.${d}`, clientAddr: '198.51.100.7' }), 'unanswered', { errorMatch: ErrorMatch.None, fromLoadBalancer: false });
  const s = u.summaries();
  assert.equal(s.length, 65);
  assert.deepEqual([s[64]!.server, s[64]!.servers, s[64]!.attempts], [null, 36, 36]);
  assert.equal(u.isSummarisedAsOther('10.9.0.99'), true);
  assert.equal(u.isSummarisedAsOther('10.9.0.1'), false);
});

test('error windows: by client endpoint, or by target within the request interval and the tolerance', () => {
  const w = new ErrorWindows();
  w.add('10.0.1.20|80', '203.0.113.5|4000', T0 + 10, T0 + 11);
  w.add('10.0.1.20|80', null, T0 + 100, T0 + 100.5);
  assert.equal(w.match('10.9.9.9|443', '203.0.113.5|4000', T0 + 5000, 2), ErrorMatch.Client);
  assert.equal(w.match('10.0.1.20|80', 'x|1', T0 + 10.5, 2), ErrorMatch.TargetAndTime);
  assert.equal(w.match('10.0.1.20|80', 'x|1', T0 + 8.5, 2), ErrorMatch.TargetAndTime);
  assert.equal(w.match('10.0.1.20|80', 'x|1', T0 + 7, 2), ErrorMatch.None);
  assert.equal(w.match('10.0.1.20|80', 'x|1', T0 + 50, 2), ErrorMatch.None);
  assert.equal(w.match('10.0.1.20|80', 'x|1', T0 + 102, 2), ErrorMatch.TargetAndTime);
  assert.equal(w.match('10.0.1.20|81', 'x|1', T0 + 10.5, 2), ErrorMatch.None);
});

test('Correlator: a SYN flood on a logged target is one summary and no case; the load balancer\'s own unanswered SYNs still are', () => {
  const corr = new Correlator();
  // The ALB log names 10.0.1.20:80 as a target, with 502s during the flood.
  corr.addLog(errorLine(T0 + 1, '10.0.1.20:80', '203.0.113.9:5000'));
  corr.addLog(errorLine(T0 + 2.5, '10.0.1.20:80', '203.0.113.9:5001'));
  // The load balancer (10.0.0.5) is known: it accepts connections and opens them.
  corr.addConnection(conn(0, { uid: 'Cfront', clientAddr: '203.0.113.9', serverAddr: '10.0.0.5', serverPort: 443, connState: 'SF', history: 'ShADadFf', synAckTime: T0 }));
  corr.addConnection(conn(0, { uid: 'Cback', clientAddr: '10.0.0.5', serverAddr: '10.0.1.20', connState: 'SF', history: 'ShADadFf', synAckTime: T0 }));
  let recorded = 0;
  for (let i = 1; i <= 5000; i++) if (corr.addConnection(conn(i))) recorded++;
  // The LB's own SYN to the target at the second 502, unanswered.
  corr.addConnection(conn(2490, { uid: 'Clb', clientAddr: '10.0.0.5', clientPort: 33000 }));
  // Every flood SYN falls near a 502 to its target: the first KEEP_MATCHED are kept whole for
  // that (the load balancer may not be known yet), then the first KEEP_OTHER others; the rest
  // are only counted (no leg either).
  assert.equal(recorded, KEEP_MATCHED + KEEP_OTHER);
  const cases = corr.build();
  const attempts = cases.flatMap((c) => pathLegs(c.path).flatMap((l) => l.attempts.map((a) => a.uid)));
  assert.deepEqual(attempts, ['Clb'], 'only the load balancer\'s attempt explains a 502');
  const [s] = corr.attemptSummaries();
  assert.deepEqual([s!.kind, s!.attempts, s!.sources, s!.errorsDuring, s!.matchingErrors], ['flood', 5001, 5001, 2, 1]);
});
