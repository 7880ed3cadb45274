import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H1Anomaly, Http1Parser, type H1Handler } from './h1-parser.js';

function recorder(): { h: H1Handler; log: string[] } {
  const log: string[] = [];
  const h: H1Handler = {
    onMessageBegin: (so) => log.push(`begin ${so}`),
    onHeadersComplete: (head) => (log.push(`head ${head.method} ${head.target}`), 0),
    onBody: (n) => log.push(`body ${n}`),
    onMessageComplete: () => log.push('complete'),
    onMessageGap: (n) => log.push(`gap ${n}`),
    onMessageAbort: (why) => log.push(`abort ${why}`),
    onError: (reason) => log.push(`error ${reason}`),
    onAnomaly: (code) => log.push(`anomaly ${code}`),
  };
  return { h, log };
}

test('a direction that never carries HTTP/1 is given up after 1 MiB of searching (bounded work and memory)', () => {
  const { h, log } = recorder();
  const p = new Http1Parser('request', h);
  // "SSH-2.0-x\r\n" then text lines that are not request lines, 2 MiB in 1448-byte segments.
  const junk = Buffer.from(`SSH-2.0-x\r\n${'not a request line at all\r\n'.repeat(80000)}`, 'latin1');
  for (let i = 0; i < junk.length; i += 1448) p.data(junk, i, Math.min(1448, junk.length - i), i, 0);
  const late = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\n', 'latin1');
  p.data(late, 0, late.length, junk.length, 0);
  assert.equal(log.filter((l) => l === `anomaly ${H1Anomaly.NotHttp}`).length, 1);
  assert.ok(!log.some((l) => l.startsWith('head')));
});

test('a direction that carried HTTP/1 keeps searching after junk, however long', () => {
  const { h, log } = recorder();
  const p = new Http1Parser('request', h);
  const first = Buffer.from('GET /a HTTP/1.1\r\nHost: h\r\n\r\n', 'latin1');
  p.data(first, 0, first.length, 0, 0);
  p.gap(first.length, 10, 0);
  const junk = Buffer.from('x\r\n'.repeat(500000), 'latin1');
  p.data(junk, 0, junk.length, first.length + 10, 0);
  const late = Buffer.from('GET /b HTTP/1.1\r\nHost: h\r\n\r\n', 'latin1');
  p.data(late, 0, late.length, first.length + 10 + junk.length, 0);
  assert.deepEqual(
    log.filter((l) => l.startsWith('head')),
    ['head GET /a', 'head GET /b'],
  );
});

test('events for a chunked body with a gap inside a chunk: the framing carries on', () => {
  const { h, log } = recorder();
  const p = new Http1Parser('response', h);
  // HTTP/1.1 200 OK / Transfer-Encoding: chunked / a (10) ... gap of 4 ... rest, then 0 CRLF CRLF
  const a = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n012', 'latin1');
  p.data(a, 0, a.length, 0, 0);
  p.gap(a.length, 4, 0);
  const b = Buffer.from('789\r\n0\r\n\r\n', 'latin1');
  p.data(b, 0, b.length, a.length + 4, 0);
  assert.deepEqual(
    log.filter((l) => !l.startsWith('anomaly')),
    ['begin 0', 'head  ', 'body 3', 'gap 4', 'body 3', 'complete'],
  );
});
