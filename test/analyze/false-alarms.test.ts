// Regressions: what analyze must not report. Real captures from the corpus (a gRPC stream
// cancelled after its 200, a browsing sample picked up mid-stream and cut by the end of the
// capture) and built ones (inputs far apart in time must not be joined).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/analyze/analyze.js';
import { Talk } from '../flow/packets.js';
import { albLine, T0, writeScenario } from './scenario.js';

const FIX = 'test/fixtures/http';

test('an HTTP/2 stream cancelled with RST_STREAM after its 200 response is not a failure (wireshark grpc_web)', async () => {
  const { report } = await analyze({ captures: [`${FIX}/wireshark_grpc_web.pcapng.gz`] });
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.status}`), []);
  assert.ok(report.stats.httpResponses >= 10, 'the 200s were parsed');
});

test('a 200 is never an error finding, and a request cut by the end of the capture is capture-end (info) (ja4 http1)', async () => {
  const { report } = await analyze({ captures: [`${FIX}/ja4_http1.pcapng`] });
  assert.deepEqual(report.findings.map((f) => [f.kind, f.severity, f.request?.path]), [['capture-end', 'info', '/inform']]);
});

const req = (p: string, trace: string) => `GET ${p} HTTP/1.1\r\nHost: api.example.com\r\nX-Amzn-Trace-Id: ${trace}\r\n\r\n`;
const TRACE = 'Root=1-6924a8c8-bbbbbbbbbbbbbbbbbbbbbbbb';

/** An idle reset at `t`: a pooled LB → target connection, idle 39 s, answered by a RST. */
function idleReset(t: number, port: number): { front: Talk; back: Talk } {
  const back = new Talk(['10.0.1.4', port], ['10.0.2.9', 8080], port * 7, port * 11);
  back.handshake(t - 39.002);
  back.send(0, t - 39, req('/warm', 'Root=1-6924a8a0-aaaaaaaaaaaaaaaaaaaaaaaa'));
  back.send(1, t - 38.996, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  back.send(0, t, req('/orders', TRACE));
  back.rst(1, t + 0.0003, false);
  const front = new Talk(['198.51.100.7', port + 1], ['10.0.1.4', 443], 1, 2);
  front.handshake(t - 0.004);
  front.send(0, t - 0.002, 'GET /orders HTTP/1.1\r\nHost: api.example.com\r\n\r\n');
  front.send(1, t + 0.001, 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  return { front, back };
}

test('a log nine days before its capture is not joined to it; the report names both files and their ranges', async () => {
  const { front, back } = idleReset(T0 + 40, 41000);
  const logTime = T0 + 40 - 9 * 86400;
  const line = albLine({ time: logTime + 0.001, requestTime: logTime - 0.002, client: ['198.51.100.7', 41001], target: ['10.0.2.9', 8080], processing: ['0.000', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE });
  const s = writeScenario('log-9-days', [front], [back], [line]);
  const warnings: string[] = [];
  const { report } = await analyze({ captures: [s.capture], albLogs: [s.albLog] }, { onWarning: (w) => warnings.push(w) });
  const fromLog = report.findings.find((f) => f.status === 502 && f.evidence.some((e) => e.source === 'alb-log'));
  assert.ok(fromLog, 'the log line still gets its finding');
  assert.equal(fromLog.kind, 'unexplained');
  assert.ok(fromLog.missing.some((m) => /does not cover/.test(m)));
  assert.ok(!fromLog.legs.some((l) => l.seen), 'no leg of the capture joined to it');
  // The capture's own incident is still explained, from its packets.
  assert.ok(report.findings.some((f) => f.kind === 'idle-timeout-reset' && !f.evidence.some((e) => e.source === 'alb-log')));
  const w = warnings.find((x) => /does not overlap/.test(x));
  assert.ok(w, warnings.join('\n'));
  assert.match(w, /alb\.log \(2025-11-15T/);
  assert.match(w, /log-9-days\.pcapng \(2025-11-24T/);
  assert.match(w, /9 days before it/);
});

test('two captures a year apart are two captures: their incidents are not joined into one', async () => {
  const a = idleReset(T0 + 40, 41000);
  const b = idleReset(T0 + 40 + 365 * 86400, 41000); // the same ports and trace id a year later
  const s1 = writeScenario('year-a', [a.front], [a.back], []);
  const s2 = writeScenario('year-b', [b.front], [b.back], []);
  const warnings: string[] = [];
  const { report } = await analyze({ captures: [s1.capture, s2.capture] }, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(report.findings.map((f) => f.kind), ['idle-timeout-reset', 'idle-timeout-reset']);
  for (const f of report.findings) {
    const ts = f.timeline.marks.map((m) => m.time);
    assert.ok(Math.max(...ts) - Math.min(...ts) < 120, `one finding's timeline spans ${Math.max(...ts) - Math.min(...ts)} s`);
  }
  assert.ok(warnings.some((w) => /year-a\.pcapng .* and .*year-b\.pcapng .* are 365 days apart/.test(w)), warnings.join('\n'));
});

test('an access log matched to a capture checks the trace id\'s time too', async () => {
  // Same trace id, but the log line is an hour later than the capture's request (a replayed
  // trace id): not joined, so the capture's incident stays its own.
  const { front, back } = idleReset(T0 + 40, 41000);
  const logTime = T0 + 40 + 3600;
  const s = writeScenario('trace-time', [front], [back], [albLine({ time: logTime, requestTime: logTime - 0.002, client: ['198.51.100.7', 41001], target: ['10.0.2.9', 8080], processing: ['0.000', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE })]);
  const { report } = await analyze({ captures: [s.capture], albLogs: [s.albLog] });
  const logged = report.findings.find((f) => f.evidence.some((e) => e.source === 'alb-log'))!;
  assert.ok(!logged.legs.some((l) => l.seen), 'not joined to the capture an hour earlier');
});
