// An HTTP/2 GOAWAY through correlation and the verdict, on hand-built records shaped like the lab's
// h2-goaway run: a client sends streams 1, 3, 5, 7, 9 on one connection; the server answers 1 and
// 3, then GOAWAY (last-stream-id 3); streams 5, 7, 9 are cut, and the client sends them again on
// new connections. One GOAWAY is one finding; retried-and-answered is info, anything lost is error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Correlator } from '../correlate/correlate.js';
import type { ConnView, LbLogView, TxView } from '../correlate/views.js';
import { diagnose } from './rules.js';

const T0 = 1_764_000_000;
const CLIENT = '10.0.0.2';
const LB: [string, number] = ['10.0.0.10', 443];
const GOAWAY_AT = T0 + 0.02;

function conn(uid: string, port: number, over: Partial<ConnView> = {}): ConnView {
  return {
    uid, communityId: null, capturePoint: 'client-side', capturePoints: ['client-side'], clientIsn: null, serverIsn: null, clientFirstPayload: null, serverFirstPayload: null,
    clientAddr: CLIENT, clientPort: port, serverAddr: LB[0], serverPort: LB[1], startTime: T0, endTime: T0 + 0.1, connState: 'SF', history: 'ShADadFf', rttSeconds: 0.001,
    synTimes: [T0], synAckTime: T0 + 0.001, refused: false, closedBy: 'server', closeHow: 'fin', maxIdleSeconds: 0, idleGaps: [], gapBytes: 0, midstream: false, marks: [], requests: 1, tlsFailure: null,
    ...over,
  };
}

function tx(c: ConnView, streamId: number, path: string, t: number, over: Partial<TxView> = {}): TxView {
  return {
    uid: `${c.uid}-${streamId}`, connUid: c.uid, httpVersion: 'HTTP/2', streamId, method: 'GET', host: 'shop.example', path, status: 200, traceId: null,
    requestFirstByteTime: t, requestLastByteTime: t, responseFirstByteTime: t + 0.005, responseLastByteTime: t + 0.006, requestIndexOnConnection: (streamId + 1) / 2, idleBeforeRequestSeconds: 0,
    outcome: 'complete', endedBy: null, malformedReason: null, responseHeadBytes: null, responseContentLength: null, responseBodyBytes: 10,
    clientAddr: c.clientAddr, clientPort: c.clientPort, serverAddr: c.serverAddr, serverPort: c.serverPort,
    ...over,
  };
}

function cut(c: ConnView, streamId: number, path: string, code = 'NO_ERROR'): TxView {
  return tx(c, streamId, path, T0 + 0.01, { status: null, outcome: 'no-response', endedBy: 'goaway', errorCode: code, goaway: { time: GOAWAY_AT, lastStreamId: 3 }, responseFirstByteTime: null, responseLastByteTime: null, responseBodyBytes: 0 });
}

interface Run {
  /** Retries: path → status (null: the retry was itself cut off without an answer); absent: not retried. */
  retries: Record<string, number | null>;
  code?: string;
  /** Access-log lines (ALB logs 000 for what a GOAWAY cut) for these cut paths. */
  logged?: string[];
}

function log000(path: string, line: number): LbLogView {
  return {
    kind: 'alb', file: 'alb.log', line, time: GOAWAY_AT, requestTime: T0 + 0.01, elbStatus: 0, targetStatus: null, clientAddr: CLIENT, clientPort: 40000, targetAddr: null, targetPort: null,
    requestProcessingSeconds: null, targetProcessingSeconds: null, responseProcessingSeconds: null, method: 'GET', path: `https://shop.example:443${path}`, traceId: null, errorReason: null, raw: `h2 ... 000 - "GET https://shop.example:443${path} HTTP/2.0"`,
  };
}

/** The records as the analysis session hands them over: wantsTransaction / wantsRetry decide what is built. */
function correlate({ retries, code = 'NO_ERROR', logged = [] }: Run): ReturnType<Correlator['build']> {
  const k = new Correlator();
  logged.forEach((p, i) => k.addLog(log000(p, i + 1)));
  const a = conn('CA', 40000);
  const add = (t: TxView) => {
    if (k.wantsTransaction(t.outcome, t.status, t.traceId) || k.wantsRetry(t.clientAddr, t.method, t.path, t.requestFirstByteTime)) k.addTransaction(t);
  };
  add(tx(a, 1, '/a', T0 + 0.01));
  add(tx(a, 3, '/b', T0 + 0.01));
  for (const [id, p] of [[5, '/c'], [7, '/d'], [9, '/e']] as const) add(cut(a, id, p, code));
  const conns = [a];
  let port = 40001;
  for (const [p, status] of Object.entries(retries)) {
    const c = conn(`C${p.slice(1)}`, port++, { startTime: GOAWAY_AT + 0.002 });
    conns.push(c);
    add(status === null
      ? tx(c, 1, p, GOAWAY_AT + 0.005, { status: null, outcome: 'no-response', endedBy: 'rst', responseFirstByteTime: null, responseLastByteTime: null })
      : tx(c, 1, p, GOAWAY_AT + 0.005, { status }));
  }
  // An unrelated answered request from the same client after the GOAWAY is not kept.
  const other = conn('Cother', 40100);
  conns.push(other);
  add(tx(other, 1, '/unrelated', GOAWAY_AT + 0.01));
  for (const c of conns) {
    k.addLeg({ uid: c.uid, capturePoint: c.capturePoint, clientAddr: c.clientAddr, clientPort: c.clientPort, serverAddr: c.serverAddr, serverPort: c.serverPort, startTime: c.startTime, endTime: c.endTime, clientIsn: null, serverIsn: null, clientFirstPayload: null, serverFirstPayload: null, clientPayloadBytes: 100, serverFinTimes: [], serverRstTimes: [], open: false });
    k.addConnection(c);
  }
  return k.build();
}

test('a GOAWAY that cut three streams, each retried and answered, is one info finding naming the retries', () => {
  const cases = correlate({ retries: { '/c': 200, '/d': 200, '/e': 200 } });
  assert.equal(cases.length, 1, 'one GOAWAY, one incident');
  const g = cases[0]!.goaway!;
  assert.deepEqual(g.streams.map((s) => [s.tx.streamId, s.retry?.connUid ?? null]), [[5, 'Cc'], [7, 'Cd'], [9, 'Ce']]);
  const f = diagnose(cases[0]!);
  assert.equal(f.kind, 'http2-goaway');
  assert.equal(f.severity, 'info', f.summary);
  assert.match(f.summary, /GOAWAY \(NO_ERROR, last-stream-id 3\) with 3 requests it had not processed \(streams 5, 7, 9: GET \/c, GET \/d and GET \/e\)/);
  assert.match(f.summary, /sent all 3 again on new connections and each was answered \(200, 200, 200\): no request was lost/);
  assert.deepEqual(f.goaway?.streams.map((s) => `${s.streamId} ${s.path} ${s.outcome} ${s.retry?.connectionUid ?? '-'} ${s.retry?.status ?? '-'}`), ['5 /c retried Cc 200', '7 /d retried Cd 200', '9 /e retried Ce 200']);
  assert.equal(f.goaway?.from, '10.0.0.10:443');
  assert.equal(f.goaway?.lastStreamId, 3);
  assert.deepEqual([f.goaway?.retried, f.goaway?.failed], [3, 0]);
  assert.equal(f.request?.path, '/c');
  assert.ok(f.evidence.some((e) => /GOAWAY NO_ERROR last-stream-id 3 from 10\.0\.0\.10:443 on connection CA/.test(e.text)));
  assert.ok(f.evidence.some((e) => /stream 9 GET \/e: cut by the GOAWAY, retried .* on connection Ce \(stream 1\): answered 200/.test(e.text)));
  assert.deepEqual(f.causes.map((c) => c.id), ['000-h2-goaway'], 'the catalogue cause');
  assert.match(f.advice.join(' '), /Nothing failed/);
  // The ladder: the GOAWAY, the other cut streams, each retry and its answer (on its connection).
  const labels = f.timeline.marks.map((m) => m.label);
  for (const l of ['GOAWAY NO_ERROR last-stream-id 3', 'GET /d (stream 7)', 'retry GET /e on Ce', 'HTTP 200 to the retry on Ce']) assert.ok(labels.includes(l), `${l} in ${labels.join(' | ')}`);
});

test('a GOAWAY whose cut request was never sent again is an error naming it, and the retried ones', () => {
  const f = diagnose(correlate({ retries: { '/c': 200, '/e': 200 } })[0]!);
  assert.equal(f.severity, 'error');
  assert.match(f.summary, /1 of 3 was lost: GET \/d was never sent again; 2 were retried and answered/);
  assert.deepEqual(f.goaway?.streams.map((s) => s.outcome), ['retried', 'not-retried', 'retried']);
  assert.match(f.advice[0]!, /Make the client retry requests above the GOAWAY last-stream-id on a new connection/, 'the catalogue\'s fix');
  assert.match(f.advice[1]!, /were not processed \(RFC 9113 §6\.8\), so even non-idempotent ones are safe to send again/);
});

test('a GOAWAY whose retries all failed is an error; the failed retries are named with their status', () => {
  const cases = correlate({ retries: { '/c': 503, '/d': null, '/e': 200 } });
  const g = cases.find((c) => c.goaway)!;
  const f = diagnose(g);
  assert.equal(f.severity, 'error');
  assert.match(f.summary, /2 of 3 were lost: GET \/c \(retry: 503\) and GET \/d \(retry: no-response\) failed again on retry \(why is the retry's own finding\); 1 was retried and answered/);
  assert.deepEqual(f.goaway?.streams.map((s) => s.outcome), ['retry-failed', 'retry-failed', 'retried']);
  // The failed retries are incidents of their own (their own cause), not folded into the GOAWAY.
  assert.equal(cases.filter((c) => !c.goaway).length, 2);
});

test('nothing retried: an error with every cut request lost', () => {
  const cases = correlate({ retries: {} });
  assert.equal(cases.length, 1);
  const f = diagnose(cases[0]!);
  assert.equal(f.severity, 'error');
  assert.match(f.summary, /3 of 3 were lost: GET \/c, GET \/d and GET \/e were never sent again\./);
});

test('a GOAWAY with an error code whose requests were all retried and answered is a warning, not info', () => {
  const f = diagnose(correlate({ retries: { '/c': 200, '/d': 200, '/e': 200 }, code: 'ENHANCE_YOUR_CALM' })[0]!);
  assert.equal(f.severity, 'warning');
  assert.match(f.summary, /But ENHANCE_YOUR_CALM says the sender saw an error/);
  assert.match(f.advice[0]!, /ENHANCE_YOUR_CALM is an error/);
});

test('000 log lines for two streams of one GOAWAY are that one incident: one case, the first line on it, the other claimed', () => {
  const cases = correlate({ retries: { '/c': 200, '/d': 200, '/e': 200 }, logged: ['/c', '/d'] });
  assert.equal(cases.length, 1, cases.map((c) => `${c.origin} ${c.log?.path ?? ''}`).join('; '));
  assert.equal(cases[0]!.log?.line, 1);
  assert.equal(cases[0]!.goaway?.streams.length, 3);
  assert.ok(cases[0]!.claims.some((c) => c.uid === 'log:alb.log:2'), 'the second line is claimed by the case');
  const f = diagnose(cases[0]!);
  assert.equal(f.kind, 'http2-goaway');
  assert.equal(f.severity, 'info');
  assert.deepEqual(f.causes.map((c) => c.id), ['000-h2-goaway']);
});
