// Property tests (fast-check) for the HTTP sink: no input makes it throw, and generated
// conversations give the same transactions for any chunking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHttpSink } from './session.js';
import { specConn } from './spec/runner.js';
import type { HttpTransaction } from './transaction.js';

type Piece = { dir: 0 | 1; bytes: Uint8Array };

function run(pieces: Piece[], cuts: number[], alpn: string | null = null): HttpTransaction[] {
  const conn = specConn();
  const out: HttpTransaction[] = [];
  const sink = createHttpSink(conn, { alpn, tls: false }, (t) => out.push(t));
  const off = [0, 0];
  let t = 0;
  pieces.forEach((p, i) => {
    const cut = p.bytes.length > 1 ? 1 + ((cuts[i % cuts.length] ?? 0) % (p.bytes.length - 1)) : 0;
    const parts = cut > 0 ? [p.bytes.subarray(0, cut), p.bytes.subarray(cut)] : [p.bytes];
    t += 1;
    for (const part of parts) {
      conn.previousPacketTime = t - 1;
      sink.data(p.dir, part, 0, part.length, off[p.dir]!, t);
      off[p.dir]! += part.length;
    }
  });
  sink.end(0, 'fin', t + 1);
  sink.end(1, 'fin', t + 1);
  return out;
}

const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

interface Exchange {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  reqBody: number;
  chunked: boolean;
  status: number;
  resBody: number;
  resChunks: number;
}

const exchange = fc.record({
  method: fc.constantFrom('GET' as const, 'POST' as const, 'HEAD' as const),
  path: fc.stringMatching(/^\/[a-z0-9/_.-]{0,20}$/),
  reqBody: fc.nat({ max: 300 }),
  chunked: fc.boolean(),
  status: fc.constantFrom(200, 201, 204, 301, 304, 404, 500, 502, 503),
  resBody: fc.nat({ max: 2000 }),
  resChunks: fc.integer({ min: 1, max: 4 }),
});

function render(xs: Exchange[]): { client: Uint8Array; server: Uint8Array } {
  let c = '';
  let s = '';
  for (const x of xs) {
    const body = x.method === 'POST' ? 'b'.repeat(x.reqBody) : '';
    if (x.method === 'POST' && x.chunked) {
      c += `POST ${x.path} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n`;
      if (body.length > 0) c += `${body.length.toString(16)}\r\n${body}\r\n`;
      c += '0\r\n\r\n';
    } else {
      c += `${x.method} ${x.path} HTTP/1.1\r\nHost: h\r\n${x.method === 'POST' ? `Content-Length: ${body.length}\r\n` : ''}\r\n${body}`;
    }
    const noBody = x.method === 'HEAD' || x.status === 204 || x.status === 304;
    if (x.chunked && !noBody) {
      s += `HTTP/1.1 ${x.status} X\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const per = Math.ceil(x.resBody / x.resChunks);
      for (let left = x.resBody; left > 0; left -= per) {
        const n = Math.min(per, left);
        s += `${n.toString(16)}\r\n${'r'.repeat(n)}\r\n`;
      }
      s += '0\r\n\r\n';
    } else {
      s += `HTTP/1.1 ${x.status} X\r\nContent-Length: ${x.resBody}\r\n\r\n${noBody ? '' : 'r'.repeat(x.resBody)}`;
    }
  }
  return { client: enc(c), server: enc(s) };
}

/** Splits a stream into pieces at the given fractions. */
function segments(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const pos = [...new Set(cuts.map((f) => Math.floor(f * b.length)))].filter((p) => p > 0 && p < b.length).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of pos) {
    out.push(b.subarray(last, p));
    last = p;
  }
  out.push(b.subarray(last));
  return out;
}

test('generated keep-alive conversations: every exchange is paired, sized and complete, for any segmentation', () => {
  fc.assert(
    fc.property(
      fc.array(exchange, { minLength: 1, maxLength: 6 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      (xs, cc, sc) => {
        const { client, server } = render(xs);
        const pieces: Piece[] = [...segments(client, cc).map((bytes) => ({ dir: 0 as const, bytes })), ...segments(server, sc).map((bytes) => ({ dir: 1 as const, bytes }))];
        const txs = run(pieces, [0]);
        assert.equal(txs.length, xs.length);
        txs.forEach((t, i) => {
          const x = xs[i]!;
          assert.equal(t.method, x.method);
          assert.equal(t.path, x.path);
          assert.equal(t.status, x.status);
          assert.equal(t.outcome, 'complete');
          assert.equal(t.requestIndexOnConnection, i + 1);
          assert.equal(t.requestBodyBytes, x.method === 'POST' ? x.reqBody : 0);
          const noBody = x.method === 'HEAD' || x.status === 204 || x.status === 304;
          assert.equal(t.responseBodyBytes, noBody ? 0 : x.resBody);
        });
        // The same bytes in one piece per direction give the same transactions (times aside).
        const whole = run([{ dir: 0, bytes: client }, { dir: 1, bytes: server }], [0]);
        const strip = (a: HttpTransaction[]): unknown[] => a.map((t) => [t.method, t.path, t.status, t.requestBodyBytes, t.responseBodyBytes, t.outcome, t.anomalies]);
        assert.deepEqual(strip(txs), strip(whole));
      },
    ),
    { numRuns: 300 },
  );
});

test('arbitrary bytes in both directions never throw, as HTTP/1 or as HTTP/2', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ dir: fc.constantFrom(0 as const, 1 as const), bytes: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      fc.constantFrom(null, 'h2', 'http/1.1'),
      (pieces, cuts, alpn) => {
        run(pieces, cuts, alpn);
      },
    ),
    { numRuns: 500 },
  );
});

test('HTTP-looking noise never throws: random start lines, fields and framing', () => {
  const token = fc.constantFrom('GET ', 'HTTP/1.1 ', '200 ', '\r\n', '\n', 'Content-Length: ', 'Transfer-Encoding: chunked', '0\r\n', 'ffff\r\n', ': ', ' ', 'Upgrade: h2c', 'Connection: upgrade', '101', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'x', '12');
  fc.assert(
    fc.property(fc.array(fc.record({ dir: fc.constantFrom(0 as const, 1 as const), s: fc.array(token, { maxLength: 30 }) }), { maxLength: 8 }), fc.array(fc.nat(), { minLength: 1 }), (raw, cuts) => {
      run(
        raw.map((r) => ({ dir: r.dir, bytes: enc(r.s.join('')) })),
        cuts,
      );
    }),
    { numRuns: 500 },
  );
});

test('structurally valid HTTP/2 frame sequences with random flags and payloads never throw and every transaction is well formed', () => {
  const frame = fc.record({
    type: fc.integer({ min: 0, max: 11 }),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.constantFrom(0, 1, 2, 3, 5, 7, 0x7fffffff),
    payload: fc.uint8Array({ maxLength: 64 }),
  });
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const encode = (f: { type: number; flags: number; stream: number; payload: Uint8Array }): Uint8Array => {
    const b = new Uint8Array(9 + f.payload.length);
    b[0] = 0;
    b[1] = f.payload.length >> 8;
    b[2] = f.payload.length & 0xff;
    b[3] = f.type;
    b[4] = f.flags;
    b[5] = (f.stream >>> 24) & 0x7f;
    b[6] = (f.stream >>> 16) & 0xff;
    b[7] = (f.stream >>> 8) & 0xff;
    b[8] = f.stream & 0xff;
    b.set(f.payload, 9);
    return b;
  };
  fc.assert(
    fc.property(
      fc.array(fc.record({ dir: fc.constantFrom(0 as const, 1 as const), f: frame }), { maxLength: 25 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      (frames, cuts) => {
        const pieces: Piece[] = [{ dir: 0, bytes: preface }, ...frames.map((x) => ({ dir: x.dir, bytes: encode(x.f) }))];
        const txs = run(pieces, cuts, 'h2');
        for (const t of txs) {
          assert.ok(['complete', 'no-response', 'incomplete', 'malformed'].includes(t.outcome));
          assert.equal(t.uid, `${t.connUid}-${t.requestIndexOnConnection}`);
          assert.ok(t.requestBodyBytes >= 0 && t.responseBodyBytes >= 0);
        }
        assert.equal(new Set(txs.map((t) => t.uid)).size, txs.length, 'one transaction per uid');
      },
    ),
    { numRuns: 1000 },
  );
});
