// One small capture per verdict, built packet by packet (VXLAN-encapsulated, both ENIs of the
// load balancer mirrored), analyzed end to end through the real pipeline (reader → decoder → flow
// → HTTP → correlation → verdict) with ALB access-log lines in the AWS format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { albLine, backTalk, frontTalk, T0, writeScenario } from './scenario.js';
import { Talk } from '../flow/packets.js';

const TRACE_WARM = 'Root=1-6924a8a0-aaaaaaaaaaaaaaaaaaaaaaaa';
const TRACE_FAIL = 'Root=1-6924aa0a-bbbbbbbbbbbbbbbbbbbbbbbb';

function req(path: string, trace?: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\n${trace ? `X-Amzn-Trace-Id: ${trace}\r\n` : ''}\r\n`;
}
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';
const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const GATEWAY_TIMEOUT = 'HTTP/1.1 504 Gateway Time-out\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/** A client connection to the LB that sends one request and gets `response` back. */
function clientExchange(at: number, path: string, response: string, port: number, answerAt = at + 0.01): Talk {
  const c = frontTalk(port);
  c.handshake(at - 0.002);
  c.send(0, at, req(path));
  c.ack(1, at + 0.0005);
  c.send(1, answerAt, response);
  c.ack(0, answerAt + 0.0005);
  c.fin(0, answerAt + 0.001);
  c.fin(1, answerAt + 0.0012);
  c.ack(0, answerAt + 0.0015);
  return c;
}

/** A pooled LB → target connection that served one warm-up request at T0+1. */
function pooledBack(): Talk {
  const b = backTalk();
  b.handshake(T0 + 0.998);
  b.send(0, T0 + 1, req('/warm', TRACE_WARM));
  b.ack(1, T0 + 1.0004);
  b.send(1, T0 + 1.005, OK);
  b.ack(0, T0 + 1.0055);
  return b;
}

async function run(name: string, front: Talk[], back: Talk[], logs: string[], extra: { flowLog?: string } = {}): Promise<Finding[]> {
  const s = writeScenario(name, front, back, logs);
  const flowLogs: string[] = [];
  if (extra.flowLog !== undefined) {
    const p = join(s.dir, 'flow.log');
    writeFileSync(p, extra.flowLog);
    flowLogs.push(p);
  }
  const { report } = await analyze({ captures: [s.capture], albLogs: logs.length ? [s.albLog] : [], flowLogs });
  return report.findings;
}

test('idle-reset: a request on a pooled connection idle 361 s answered by a RST → idle-timeout-reset naming the NLB 350 s timeout', async () => {
  const warm = clientExchange(T0 + 1, '/warm', OK, 50000, T0 + 1.006);
  const back = pooledBack();
  const tFail = T0 + 362;
  const front = clientExchange(tFail - 0.002, '/orders', BAD_GATEWAY, 50001, tFail + 0.001);
  back.send(0, tFail, req('/orders', TRACE_FAIL));
  back.rst(1, tFail + 0.0003, false); // the NLB no longer knows the flow: RST, no ACK
  const logs = [
    albLine({ time: T0 + 1.006, requestTime: T0 + 1, client: ['198.51.100.7', 50000], processing: ['0.000', '0.005', '0.000'], elbStatus: 200, targetStatus: 200, request: 'GET http://api.example.com:80/warm HTTP/1.1', traceId: TRACE_WARM }),
    albLine({ time: tFail + 0.001, requestTime: tFail - 0.002, client: ['198.51.100.7', 50001], processing: ['0.002', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE_FAIL }),
  ];
  const findings = await run('idle-reset', [warm, front], [back], logs);
  assert.equal(findings.length, 1, JSON.stringify(findings.map((f) => f.kind)));
  const f = findings[0]!;
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.status, 502);
  assert.equal(f.resetBy, '10.0.2.9:8080');
  assert.equal(f.client, '198.51.100.7:50001');
  assert.deepEqual(f.request && { method: f.request.method, path: f.request.path }, { method: 'GET', path: '/orders' });
  assert.equal(f.targetConnection?.server, '10.0.2.9:8080');
  assert.ok(f.idleSeconds !== null && Math.abs(f.idleSeconds - 360.9945) < 0.01, `idle ${f.idleSeconds}`);
  assert.ok(f.timeoutFits.some((t) => t.seconds === 350));
  assert.ok(f.evidence.some((e) => e.source === 'alb-log'));
  assert.ok(f.evidence.some((e) => e.source === 'packet' && /RST 10\.0\.2\.9:8080/.test(e.text)));
});

test('the same capture without logs still finds the idle-timeout-reset from the client-side 502', async () => {
  const back = pooledBack();
  const tFail = T0 + 362;
  const front = clientExchange(tFail - 0.002, '/orders', BAD_GATEWAY, 50001, tFail + 0.001);
  back.send(0, tFail, req('/orders', TRACE_FAIL));
  back.rst(1, tFail + 0.0003, false);
  const findings = await run('idle-reset-nolog', [front], [back], []);
  assert.deepEqual(findings.map((f) => f.kind), ['idle-timeout-reset']);
  assert.equal(findings[0]!.status, 502);
});

test('keepalive-race: the target FIN (not acknowledging the request) crosses the request → keepalive-race', async () => {
  const back = pooledBack();
  const tFail = T0 + 6.005;
  const ackBefore = back.nxt[0];
  const front = clientExchange(tFail - 0.002, '/orders', BAD_GATEWAY, 50001, tFail + 0.001);
  back.send(0, tFail, req('/orders', TRACE_FAIL));
  back.frames.push({ time: tFail + 0.0001, frame: back.build(1, 'FA', tFail + 0.0001, { ack: ackBefore }) });
  back.nxt[1] = (back.nxt[1] + 1) >>> 0;
  back.rst(1, tFail + 0.0003, false);
  const findings = await run('keepalive-race', [front], [back], [
    albLine({ time: tFail + 0.001, requestTime: tFail - 0.002, client: ['198.51.100.7', 50001], processing: ['0.002', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE_FAIL }),
  ]);
  assert.deepEqual(findings.map((f) => f.kind), ['keepalive-race']);
  assert.match(findings[0]!.summary, /FIN after about 5\.00 s idle/);
});

test('refused: a SYN answered by RST → target-connection-refused', async () => {
  const b = backTalk(41005);
  b.syn(T0 + 1);
  b.frames.push({ time: T0 + 1.0003, frame: b.build(1, 'RA', T0 + 1.0003, { seq: 0, window: 0 }) });
  const front = clientExchange(T0 + 0.999, '/x', BAD_GATEWAY, 50002, T0 + 1.001);
  const findings = await run('refused', [front], [b], [
    albLine({ time: T0 + 1.001, requestTime: T0 + 0.999, client: ['198.51.100.7', 50002], processing: ['-1', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/x HTTP/1.1' }),
  ]);
  assert.deepEqual(findings.map((f) => f.kind), ['target-connection-refused']);
  assert.equal(findings[0]!.resetBy, '10.0.2.9:8080');
});

test('syn-drop: unanswered SYNs → target-connect-timeout; with a REJECT flow-log row → flow-log-reject', async () => {
  const build = () => {
    const b = backTalk(41006);
    b.syn(T0 + 1);
    b.synRetry(T0 + 2);
    b.synRetry(T0 + 4);
    b.synRetry(T0 + 8);
    return b;
  };
  const line = albLine({ time: T0 + 11, requestTime: T0 + 0.999, client: ['198.51.100.7', 50003], processing: ['-1', '-1', '-1'], elbStatus: 504, request: 'GET http://api.example.com:80/slow HTTP/1.1' });
  let findings = await run('syn-drop', [clientExchange(T0 + 0.999, '/slow', GATEWAY_TIMEOUT, 50003, T0 + 11)], [build()], [line]);
  assert.deepEqual(findings.map((f) => f.kind), ['target-connect-timeout']);
  assert.match(findings[0]!.summary, /4 tries/);
  const flow = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123456789012 eni-0a1b2c3d 10.0.1.4 10.0.2.9 41006 8080 6 4 240 ${T0} ${T0 + 60} REJECT OK\n`;
  findings = await run('syn-drop-flow', [clientExchange(T0 + 0.999, '/slow', GATEWAY_TIMEOUT, 50003, T0 + 11)], [build()], [line], { flowLog: flow });
  assert.deepEqual(findings.map((f) => f.kind), ['flow-log-reject']);
  assert.ok(findings[0]!.evidence.some((e) => e.source === 'flow-log'));
});

test('slow target: request acknowledged, silence, the LB gives up with FIN → target-response-timeout', async () => {
  const b = backTalk(41007);
  b.handshake(T0 + 0.998);
  b.send(0, T0 + 1, req('/report', TRACE_FAIL));
  b.ack(1, T0 + 1.0004);
  b.fin(0, T0 + 61);
  b.ack(1, T0 + 61.0004);
  const front = clientExchange(T0 + 0.999, '/report', GATEWAY_TIMEOUT, 50004, T0 + 61.001);
  const findings = await run('slow', [front], [b], [
    albLine({ time: T0 + 61.001, requestTime: T0 + 0.999, client: ['198.51.100.7', 50004], processing: ['0.001', '-1', '-1'], elbStatus: 504, request: 'GET http://api.example.com:80/report HTTP/1.1', traceId: TRACE_FAIL }),
  ]);
  assert.deepEqual(findings.map((f) => f.kind), ['target-response-timeout']);
  assert.match(findings[0]!.summary, /1 min 0 s|60\.0 s/);
});

test('a healthy capture yields no finding', async () => {
  const back = pooledBack();
  const warm = clientExchange(T0 + 1, '/warm', OK, 50000, T0 + 1.006);
  const findings = await run('healthy', [warm], [back], [
    albLine({ time: T0 + 1.006, requestTime: T0 + 1, client: ['198.51.100.7', 50000], processing: ['0.000', '0.005', '0.000'], elbStatus: 200, targetStatus: 200, request: 'GET http://api.example.com:80/warm HTTP/1.1', traceId: TRACE_WARM }),
  ]);
  assert.deepEqual(findings, []);
});

/** Both legs around an NLB mirrored: ALB → NLB (10.0.3.5:80) and NLB → target, client IP preserved. */
function throughNlb(): { toNlb: Talk; toTarget: Talk } {
  const toNlb = new Talk(['10.0.1.4', 41000], ['10.0.3.5', 80], 31000, 41000);
  const toTarget = new Talk(['10.0.1.4', 41000], ['10.0.2.9', 8080], 31000, 41000);
  for (const [t, d] of [[toNlb, 0], [toTarget, 0.0002]] as const) {
    t.handshake(T0 + 0.998 + d);
    t.send(0, T0 + 1 + d, req('/warm', TRACE_WARM));
    t.ack(1, T0 + 1.0004 + d);
    t.send(1, T0 + 1.005 + d, OK);
    t.ack(0, T0 + 1.0055 + d);
  }
  return { toNlb, toTarget };
}

const nlbLog = (tFail: number) =>
  albLine({ time: tFail + 0.001, requestTime: tFail - 0.002, client: ['198.51.100.7', 50001], target: ['10.0.3.5', 80], processing: ['0.002', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE_FAIL });

test('both legs mirrored: the NLB → target leg never carried the request, so the RST was the hop\'s own → idle-timeout-reset, high confidence', async () => {
  const { toNlb, toTarget } = throughNlb();
  const tFail = T0 + 40;
  const front = clientExchange(tFail - 0.002, '/orders', BAD_GATEWAY, 50001, tFail + 0.001);
  toNlb.send(0, tFail, req('/orders', TRACE_FAIL));
  toNlb.rst(1, tFail + 0.0003, false);
  const findings = await run('two-legs-idle', [front], [toNlb, toTarget], [nlbLog(tFail)]);
  assert.deepEqual(findings.map((f) => f.kind), ['idle-timeout-reset']);
  assert.equal(findings[0]!.confidence, 'high');
  assert.equal(findings[0]!.resetBy, '10.0.3.5:80');
  assert.ok(findings[0]!.evidence.some((e) => /target leg \(10\.0\.1\.4:41000 → 10\.0\.2\.9:8080, joined by tcp-isn\) carried no request/.test(e.text)));
  assert.deepEqual(findings[0]!.legs.map((l) => [l.role, l.seen, l.joinedBy?.key ?? null]), [['client', true, 'client-endpoint+request-line+time'], ['lb', true, 'x-amzn-trace-id'], ['target', true, 'tcp-isn']]);
});

test('both legs mirrored: the request reached the target and the target reset it → target-reset by the target, not an idle timeout', async () => {
  const { toNlb, toTarget } = throughNlb();
  const tFail = T0 + 40;
  const front = clientExchange(tFail - 0.002, '/orders', BAD_GATEWAY, 50001, tFail + 0.001);
  toNlb.send(0, tFail, req('/orders', TRACE_FAIL));
  toTarget.send(0, tFail + 0.0002, req('/orders', TRACE_FAIL));
  toTarget.rst(1, tFail + 0.0003, false);
  toNlb.rst(1, tFail + 0.0004, false);
  const findings = await run('two-legs-target', [front], [toNlb, toTarget], [nlbLog(tFail)]);
  assert.deepEqual(findings.map((f) => f.kind), ['target-reset']);
  assert.equal(findings[0]!.resetBy, '10.0.2.9:8080');
  assert.match(findings[0]!.summary, /reached the target/);
});
