// Correlation on hand-built records: ALB log line ↔ client-side transaction (client ip:port,
// request line, time) ↔ target-side transaction (trace id) ↔ connection; skew estimation; failed
// connection attempts; cases without logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Correlator, traceRoot } from './correlate.js';
import type { ConnView, LbLogView, LegView, TxView } from './views.js';

const T0 = 1_764_000_000;
const LB = '10.0.1.5';

function conn(uid: string, client: [string, number], server: [string, number], over: Partial<ConnView> = {}): ConnView {
  return {
    uid,
    communityId: null,
    capturePoint: '',
    capturePoints: [''],
    clientIsn: null,
    serverIsn: null,
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: client[0],
    clientPort: client[1],
    serverAddr: server[0],
    serverPort: server[1],
    startTime: T0,
    endTime: T0 + 10,
    connState: 'SF',
    history: 'ShADadFf',
    rttSeconds: 0.001,
    synTimes: [T0],
    synAckTime: T0 + 0.001,
    refused: false,
    closedBy: null,
    closeHow: null,
    maxIdleSeconds: 0,
    idleGaps: [],
    gapBytes: 0,
    midstream: false,
    marks: [],
    requests: 1,
    tlsFailure: null,
    ...over,
  };
}

function legOf(c: ConnView): LegView {
  return {
    uid: c.uid,
    capturePoint: c.capturePoint,
    clientAddr: c.clientAddr,
    clientPort: c.clientPort,
    serverAddr: c.serverAddr,
    serverPort: c.serverPort,
    startTime: c.startTime,
    endTime: c.endTime,
    clientIsn: c.clientIsn,
    serverIsn: c.serverIsn,
    clientFirstPayload: c.clientFirstPayload,
    serverFirstPayload: c.serverFirstPayload,
    clientPayloadBytes: 10,
    serverFinTimes: c.marks.filter((m) => m.kind === 'fin' && !m.fromClient).map((m) => m.time),
    serverRstTimes: c.marks.filter((m) => m.kind === 'rst' && !m.fromClient).map((m) => m.time),
    open: false,
  };
}

/** A connection ended: its leg, then its full view (as the analysis session does). */
function ended(k: Correlator, ...cs: ConnView[]): void {
  for (const c of cs) {
    k.addLeg(legOf(c));
    k.addConnection(c);
  }
}

function tx(uid: string, c: ConnView, t: number, over: Partial<TxView> = {}): TxView {
  return {
    uid,
    connUid: c.uid,
    httpVersion: 'HTTP/1.1',
    responseHeadBytes: null,
    responseContentLength: null,
    responseBodyBytes: 0,
    streamId: null,
    method: 'GET',
    host: null,
    path: '/a',
    status: 502,
    traceId: null,
    requestFirstByteTime: t,
    requestLastByteTime: t,
    responseFirstByteTime: t + 0.01,
    responseLastByteTime: t + 0.01,
    requestIndexOnConnection: 1,
    idleBeforeRequestSeconds: 0,
    outcome: 'complete',
    endedBy: null,
    malformedReason: null,
    clientAddr: c.clientAddr,
    clientPort: c.clientPort,
    serverAddr: c.serverAddr,
    serverPort: c.serverPort,
    ...over,
  };
}

function log(t: number, over: Partial<LbLogView> = {}): LbLogView {
  return {
    kind: 'alb',
    file: 'alb.log',
    line: 1,
    time: t + 0.01,
    requestTime: t,
    elbStatus: 502,
    targetStatus: null,
    clientAddr: '198.51.100.7',
    clientPort: 50000,
    targetAddr: '10.0.2.9',
    targetPort: 8080,
    requestProcessingSeconds: 0,
    targetProcessingSeconds: null,
    responseProcessingSeconds: null,
    method: 'GET',
    path: 'https://api.example.com:443/a',
    traceId: 'Root=1-6925a800-0123456789abcdef01234567',
    errorReason: null,
    raw: 'https 2025-... 502 - ...',
    ...over,
  };
}

test('traceRoot extracts the Root part in lower case', () => {
  assert.equal(traceRoot('Self=1-x;Root=1-6925A800-0123456789abcdef01234567;Parent=1'), '1-6925a800-0123456789abcdef01234567');
  assert.equal(traceRoot(null), null);
});

test('an ALB 502 line joins its client transaction, the target transaction by trace id, and the target connection; skew is estimated', () => {
  const skew = 2.5; // log clock ahead of capture clock
  const cc = conn('Cclient', ['198.51.100.7', 50000], [LB, 443]);
  const tc = conn('Ctarget', [LB, 41000], ['10.0.2.9', 8080], { marks: [{ time: T0 + 5.0002, fromClient: false, kind: 'rst', length: 0, idleBeforeSeconds: 0, acksAllPeerData: false }] });
  const other = conn('Cother', [LB, 41001], ['10.0.2.9', 8080]);
  const k = new Correlator();
  const ctx = tx('Cclient-1', cc, T0 + 5);
  const ttx = tx('Ctarget-2', tc, T0 + 5.0001, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, traceId: 'Root=1-6925a800-0123456789abcdef01234567' });
  const decoy = tx('Cother-1', other, T0 + 5.0001, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, traceId: 'Root=1-6925a800-ffffffffffffffffffffffff' });
  k.addTransaction(ctx);
  k.addTransaction(ttx);
  k.addTransaction(decoy);
  ended(k, cc, tc, other);
  k.addLog(log(T0 + 5 + skew));
  const cases = k.build();
  assert.ok(Math.abs(k.skewSeconds - skew) < 0.001, `skew ${k.skewSeconds}`);
  const c = cases.find((x) => x.origin === 'alb-log')!;
  assert.equal(c.path.client?.tx?.uid, 'Cclient-1');
  assert.equal(c.path.client?.joinedBy?.key, 'client-endpoint+request-line+time');
  assert.equal(c.path.lb?.tx?.uid, 'Ctarget-2');
  assert.equal(c.path.lb?.joinedBy?.key, 'x-amzn-trace-id');
  assert.equal(c.path.lb?.conn?.uid, 'Ctarget');
  assert.equal(c.status, 502);
  // The decoy target failure is not claimed by the log line and becomes its own case.
  assert.ok(cases.some((x) => x.origin === 'target-transaction' && x.path.lb?.tx?.uid === 'Cother-1'));
  assert.deepEqual([...k.lbAddresses()], [LB]);
});

test('many ALB 502 lines: each joins the target transaction carrying its own trace root (any case), the one to the logged target first', () => {
  // The lines are looked up by trace root (keys.ts byTraceRoot), not by scanning every
  // transaction for each line: the joins must be the ones a scan in transaction order gives.
  const k = new Correlator();
  const n = 300;
  const root = (i: number): string => `1-6925a800-${i.toString(16).padStart(24, '0')}`;
  for (let i = 0; i < n; i++) {
    const t = T0 + 5 + i;
    const port = 50000 + i;
    const when = { startTime: t - 1, endTime: t + 1, synTimes: [t - 1], synAckTime: t - 0.999 };
    const cc = conn(`Cc${i}`, ['198.51.100.7', port], [LB, 443], when);
    // Two target-side requests with the line's root: an earlier one to another target, then the
    // one to the logged target (it wins the join); and one with another root at the same time.
    const elsewhere = conn(`Ce${i}`, [LB, 30000 + i], ['10.0.2.8', 8080], when);
    const logged = conn(`Ct${i}`, [LB, 40000 + i], ['10.0.2.9', 8080], when);
    const decoy = conn(`Cd${i}`, [LB, 20000 + i], ['10.0.2.9', 8080], when);
    const upper = i % 2 === 0 ? `Root=${root(i).toUpperCase()}` : `Self=1-x;Root=${root(i)}`;
    k.addTransaction(tx(`Cc${i}-1`, cc, t));
    k.addTransaction(tx(`Ce${i}-1`, elsewhere, t + 0.0001, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, traceId: upper }));
    k.addTransaction(tx(`Ct${i}-1`, logged, t + 0.0002, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, traceId: `Root=${root(i)}` }));
    k.addTransaction(tx(`Cd${i}-1`, decoy, t + 0.0001, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, traceId: `Root=${root(n + i)}` }));
    ended(k, cc, elsewhere, logged, decoy);
    k.addLog(log(t, { clientPort: port, traceId: `Root=${root(i)}`, line: i + 1 }));
  }
  const cases = k.build();
  const byLine = new Map(cases.filter((x) => x.origin === 'alb-log').map((x) => [x.log!.line, x]));
  assert.equal(byLine.size, n);
  for (let i = 0; i < n; i++) {
    const c = byLine.get(i + 1)!;
    assert.equal(c.path.client?.tx?.uid, `Cc${i}-1`);
    const back = [c.path.lb?.tx?.uid, c.path.target?.tx?.uid].filter((u) => u !== undefined).sort();
    assert.deepEqual(back, [`Ce${i}-1`, `Ct${i}-1`], `line ${i + 1}`);
  }
  // The skew anchor of each line is the request to its logged target, sent 0.2 ms after the logged time.
  assert.ok(Math.abs(k.skewSeconds) < 0.001, `skew ${k.skewSeconds}`);
  // Every decoy (another root) is a case of its own.
  assert.equal(cases.filter((x) => x.origin === 'target-transaction' && x.path.lb?.tx?.uid?.startsWith('Cd')).length, n);
});

test('without logs, a client-side 502 is joined to the target request sent while it was outstanding', () => {
  const cc = conn('Cc', ['198.51.100.7', 50000], [LB, 443]);
  const tc = conn('Ct', [LB, 41000], ['10.0.2.9', 8080]);
  const k = new Correlator();
  k.addTransaction(tx('Cc-1', cc, T0 + 1, { responseFirstByteTime: T0 + 1.2 }));
  k.addTransaction(tx('Ct-3', tc, T0 + 1.05, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null }));
  ended(k, cc, tc);
  const cases = k.build();
  assert.equal(cases.length, 1);
  assert.equal(cases[0]!.origin, 'client-transaction');
  assert.equal(cases[0]!.path.lb?.tx?.uid, 'Ct-3');
  assert.equal(cases[0]!.path.lb?.joinedBy?.key, 'request-line+time');
});

test('a 504 log line with no target request picks up the unanswered SYNs to that target', () => {
  const cc = conn('Cc', ['198.51.100.7', 50000], [LB, 443]);
  const syn = conn('Cs', [LB, 41005], ['10.0.2.9', 8080], { synTimes: [T0 + 1, T0 + 2, T0 + 4], synAckTime: null, connState: 'S0', startTime: T0 + 1 });
  const k = new Correlator();
  ended(k, cc, syn);
  k.addFlowRow({ file: 'flow.log', line: 3, start: T0, end: T0 + 60, interfaceId: 'eni-1', srcAddr: LB, dstAddr: '10.0.2.9', srcPort: 41005, dstPort: 8080, protocol: 6, action: 'REJECT', tcpFlags: 2, raw: '...' });
  k.addLog(log(T0 + 1, { elbStatus: 504, time: T0 + 11, traceId: null }));
  const [c] = k.build();
  assert.equal(c!.path.lb?.attempts[0]?.uid, 'Cs');
  assert.equal(c!.flowRows.length, 1);
  assert.equal(c!.inFlowLogs, true);
});

test('successful transactions are not kept (memory follows errors, not traffic)', () => {
  const cc = conn('Cc', ['198.51.100.7', 50000], [LB, 443]);
  const k = new Correlator();
  for (let i = 0; i < 1000; i++) k.addTransaction(tx(`Cc-${i}`, cc, T0 + i, { status: 200 }));
  ended(k, cc);
  assert.equal(k.build().length, 0);
  assert.equal(k.keptConnections().length, 0);
});

test('wantsTransaction, keepsLogStatus and noteLogTarget agree with what addTransaction and addLog keep', () => {
  for (const [s, kept] of [[502, true], [504, true], [500, true], [460, true], [0, true], [200, false], [404, false], [499, false], [null, false]] as const) {
    assert.equal(Correlator.keepsLogStatus(s), kept, `elb status ${s}`);
  }
  const k = new Correlator();
  assert.equal(k.wantsTransaction('complete', 200, null), false);
  assert.equal(k.wantsTransaction('complete', 502, null), true);
  assert.equal(k.wantsTransaction('no-response', null, null), true);
  const traced = 'Self=1-x;Root=1-6925A800-0123456789abcdef01234567';
  assert.equal(k.wantsTransaction('complete', 200, traced), false, 'no log line asked for this trace yet');
  k.addLog(log(T0)); // a 502 line with Root=1-6925a800-0123456789abcdef01234567
  assert.equal(k.wantsTransaction('complete', 200, traced), true, 'a kept log line names its trace');
  assert.equal(k.wantsTransaction('complete', 200, 'Root=1-6925a800-ffffffffffffffffffffffff'), false);
  // A 200 line not kept still teaches the target (role inference), exactly as noteLogTarget does.
  const c = conn('C', [LB, 41000], ['10.0.2.9', 8080]);
  const viaLog = new Correlator();
  viaLog.addLog(log(T0, { elbStatus: 200 }));
  const viaNote = new Correlator();
  viaNote.noteLogTarget('10.0.2.9', 8080);
  assert.equal(new Correlator().roleOf(c), 'unknown');
  assert.equal(viaLog.roleOf(c), 'target-side');
  assert.equal(viaNote.roleOf(c), 'target-side');
  assert.equal(viaLog.build().length, 0);
});

test('prune forgets addresses and path legs not seen since (live analysis over days), and keeps the load balancer', () => {
  const corr = new Correlator();
  const TARGET: [string, number] = ['10.0.2.9', 8080];
  const sizes = () => {
    const c = corr as unknown as { addrs: Map<string, unknown>; legs: { size: number } };
    return { addrs: c.addrs.size, legs: c.legs.size };
  };
  let peak = { addrs: 0, legs: 0 };
  // 20 000 clients, one a second for 20 000 s, each through the LB to the target; pruned every
  // 100 s with a 300 s horizon.
  for (let i = 0; i < 20_000; i++) {
    const t = T0 + i;
    const client: [string, number] = [`198.18.${i >> 8}.${i & 255}`, 40000 + (i % 20000)];
    const front = conn(`F${i}`, client, [LB, 443], { startTime: t, endTime: t + 1 });
    const back = conn(`B${i}`, [LB, 30000 + (i % 20000)], TARGET, { startTime: t, endTime: t + 1 });
    for (const c of [front, back]) {
      corr.noteConnectionStart(c.clientAddr, c.serverAddr, c.startTime);
      ended(corr, c);
    }
    if (i % 100 === 99) {
      corr.prune(t - 300);
      const s = sizes();
      peak = { addrs: Math.max(peak.addrs, s.addrs), legs: Math.max(peak.legs, s.legs) };
    }
  }
  // 300-400 s of clients (one address and one leg each), the LB and the target, and the LB's legs.
  assert.ok(peak.addrs <= 402, `${peak.addrs} addresses kept`);
  assert.ok(peak.legs <= 802, `${peak.legs} legs kept`);
  assert.deepEqual([...corr.lbAddresses()], [LB]);
});
