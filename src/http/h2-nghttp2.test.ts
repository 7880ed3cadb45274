// HTTP/2 against a real peer: Node's http2 module (nghttp2's framing and HPACK encoder, Huffman and
// dynamic table) as client and server on loopback, through a recording TCP relay. The recorded
// bytes of both directions, at any segmentation, must give back exactly the requests nghttp2 sent:
// paths, statuses, and header values chosen at random (every printable byte, so every Huffman code
// in that range is exercised, and repeats hit the dynamic table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import fc from 'fast-check';
import { createHttpSink } from './session.js';
import { specConn } from './spec/runner.js';
import type { HttpTransaction } from './transaction.js';

interface Rec {
  dir: 0 | 1;
  bytes: Buffer;
}

async function exchange(requests: Array<{ path: string; ua: string; trace: string; xff: string; status: number }>): Promise<Rec[]> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const i = Number(headers['x-index']);
    const status = requests[i]!.status;
    if (status === 204) stream.respond({ ':status': status, 'content-type': 'text/plain' }, { endStream: true });
    else {
      stream.respond({ ':status': status, 'content-type': 'text/plain' });
      stream.end(`r${i}`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = (server.address() as net.AddressInfo).port;
  const recs: Rec[] = [];
  const relay = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    c.on('data', (b: Buffer) => {
      recs.push({ dir: 0, bytes: Buffer.from(b) });
      if (!up.writableEnded) up.write(b);
    });
    up.on('data', (b: Buffer) => {
      recs.push({ dir: 1, bytes: Buffer.from(b) });
      if (!c.writableEnded) c.write(b);
    });
    c.on('end', () => up.end());
    up.on('end', () => c.end());
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as net.AddressInfo).port;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  // Sequential requests, so the dynamic table carries state from one to the next.
  for (let i = 0; i < requests.length; i++) {
    const q = requests[i]!;
    await new Promise<void>((resolve, reject) => {
      const req = client.request({ ':path': q.path, 'user-agent': q.ua, 'x-amzn-trace-id': q.trace, 'x-forwarded-for': q.xff, 'x-index': String(i) });
      req.on('response', () => {});
      req.on('data', () => {});
      req.on('end', () => resolve());
      req.on('error', reject);
      req.end();
    });
  }
  await new Promise<void>((r) => client.close(() => r()));
  await new Promise<void>((r) => relay.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  return recs;
}

function replay(recs: Rec[], cut: number): HttpTransaction[] {
  const conn = specConn();
  const out: HttpTransaction[] = [];
  const sink = createHttpSink(conn, { alpn: null, tls: false }, (t) => out.push(t));
  const off = [0, 0];
  recs.forEach((r, i) => {
    const k = r.bytes.length > 1 ? 1 + ((cut * (i + 1)) % (r.bytes.length - 1)) : r.bytes.length;
    for (const part of [r.bytes.subarray(0, k), r.bytes.subarray(k)]) {
      if (part.length === 0) continue;
      sink.data(r.dir, part, 0, part.length, off[r.dir]!, i);
      off[r.dir]! += part.length;
    }
  });
  sink.end(0, 'fin', recs.length);
  sink.end(1, 'fin', recs.length);
  return out;
}

const printable = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}[\x21-\x7e]$/);

test('nghttp2 (node:http2) h2c prior knowledge: paths, statuses and header values decode exactly, at any segmentation', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          path: fc.stringMatching(/^\/[A-Za-z0-9/_.~%-]{0,30}$/),
          ua: fc.oneof(fc.constant('curl/8.5.0'), printable),
          trace: fc.oneof(fc.constant('Root=1-65a1b2c3-0123456789abcdef01234567'), printable),
          xff: fc.constantFrom('203.0.113.9', '198.51.100.7, 10.0.0.1'),
          status: fc.constantFrom(200, 204, 404, 500, 502, 503),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      fc.nat({ max: 1000 }),
      async (requests, cut) => {
        const recs = await exchange(requests);
        const txs = replay(recs, cut).sort((a, b) => a.streamId! - b.streamId!);
        assert.equal(txs.length, requests.length);
        txs.forEach((t, i) => {
          const q = requests[i]!;
          assert.equal(t.httpVersion, '2');
          assert.equal(t.streamId, 2 * i + 1);
          assert.equal(t.method, 'GET');
          assert.equal(t.path, q.path);
          assert.equal(t.status, q.status);
          assert.equal(t.requestHeaders['user-agent'], q.ua);
          assert.equal(t.requestHeaders['x-amzn-trace-id'], q.trace);
          assert.equal(t.requestHeaders['x-forwarded-for'], q.xff);
          assert.equal(t.responseHeaders['content-type'], 'text/plain');
          assert.equal(t.responseBodyBytes, q.status === 204 ? 0 : `r${i}`.length);
          assert.equal(t.outcome, 'complete');
          assert.equal(t.headersIncomplete, false);
        });
      },
    ),
    { numRuns: 25 },
  );
});
