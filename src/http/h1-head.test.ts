// The HTTP/1 head as onHeadersComplete sees it, and the fast path (fields read from the bytes)
// against the general path (strings and regular expressions): same events for any head, well
// formed or not, at any chunking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Http1Parser, type H1Handler, type H1Head } from './h1-parser.js';

/** Everything a handler can read from a head, as one comparable record. */
function describeHead(head: H1Head): unknown {
  const byName: Record<string, boolean[]> = {};
  for (const n of ['host', 'content-length', 'connection', 'x-amzn-trace-id']) {
    byName[n] = Array.from({ length: head.fieldCount }, (_, i) => head.fieldNameIs(i, n));
  }
  return {
    method: head.method,
    target: head.target,
    status: head.status,
    reason: head.reason,
    version: [head.versionMajor, head.versionMinor],
    close: head.close,
    upgrade: head.upgrade,
    bodyKind: head.bodyKind,
    contentLength: head.contentLength,
    fieldCount: head.fieldCount,
    fields: head.fields,
    each: Array.from({ length: head.fieldCount }, (_, i) => [head.fieldName(i), head.fieldValue(i), head.fieldNameLength(i)]),
    byName,
    keepAliveValues: Array.from({ length: head.fieldCount }, (_, i) => head.fieldValueEquals(i, 'keep-alive')),
  };
}

function recorder(log: unknown[]): H1Handler {
  return {
    onMessageBegin: (so, _t, first) => log.push(['begin', so, first]),
    onHeadersComplete: (head) => (log.push(['head', describeHead(head)]), 0),
    onBody: (n) => log.push(['body', n]),
    onMessageComplete: () => log.push(['complete']),
    onMessageGap: (n) => log.push(['gap', n]),
    onMessageAbort: (why) => log.push(['abort', why]),
    onError: (reason, detail, so) => log.push(['error', reason, detail, so]),
    onAnomaly: (code, detail) => log.push(['anomaly', code, detail]),
  };
}

/** The events of one parser fed `bytes` cut at `cuts` (sorted offsets). */
function events(kind: 'request' | 'response', bytes: Uint8Array, cuts: number[], fastHeads: boolean): unknown[] {
  const log: unknown[] = [];
  const p = new Http1Parser(kind, recorder(log), { fastHeads });
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= from) continue;
    p.data(bytes, from, cut - from, from, 0);
    from = cut;
  }
  p.end(0);
  return log;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

test('head accessors: names as sent, values trimmed, names compared in any case without strings', () => {
  const bytes = latin1('GET /a?b=1 HTTP/1.1\r\nHost:  example.com \r\nX-Amzn-Trace-Id: Root=1-2-3\r\nCONTENT-LENGTH: 0\r\nEmpty:\r\n\r\n');
  let seen: unknown = null;
  const log: unknown[] = [];
  const h = recorder(log);
  h.onHeadersComplete = (head) => {
    seen = describeHead(head);
    return 0;
  };
  new Http1Parser('request', h).data(bytes, 0, bytes.length, 0, 0);
  assert.deepEqual(seen, {
    method: 'GET',
    target: '/a?b=1',
    status: 0,
    reason: '',
    version: [1, 1],
    close: false,
    upgrade: null,
    bodyKind: 'none',
    contentLength: 0,
    fieldCount: 4,
    fields: ['Host', 'example.com', 'X-Amzn-Trace-Id', 'Root=1-2-3', 'CONTENT-LENGTH', '0', 'Empty', ''],
    each: [
      ['Host', 'example.com', 4],
      ['X-Amzn-Trace-Id', 'Root=1-2-3', 15],
      ['CONTENT-LENGTH', '0', 14],
      ['Empty', '', 5],
    ],
    byName: {
      host: [true, false, false, false],
      'content-length': [false, false, true, false],
      connection: [false, false, false, false],
      'x-amzn-trace-id': [false, true, false, false],
    },
    keepAliveValues: [false, false, false, false],
  });
});

test('the head is valid only during onHeadersComplete: afterwards it holds no fields (nor the bytes)', () => {
  const bytes = latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok');
  let kept: H1Head | null = null;
  const h = recorder([]);
  h.onHeadersComplete = (head) => {
    kept = head;
    assert.equal(head.fieldCount, 2);
    return 0;
  };
  new Http1Parser('response', h).data(bytes, 0, bytes.length, 0, 0);
  assert.equal(kept!.fieldCount, 0);
  assert.deepEqual(kept!.fields, []);
});

/** Pieces of heads: mostly well formed, with every oddity the general path names. */
const token = fc.constantFrom('GET', 'POST', 'HEAD', 'CONNECT', 'M-SEARCH', 'G@T', '', 'get');
const targetChar = fc.constantFrom('/', 'a', '?', '=', '%', '\n', '\x01', '\xa0', '\x85', '\t', '\r', ' ', 'é');
const target = fc.oneof(fc.constantFrom('/', '/api/v1?x=1', '*', 'example.com:443'), fc.string({ unit: targetChar, maxLength: 6 }));
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.x', 'HTTP/1.1 ', 'HTTP/1.1\r', 'http/1.1');
const gap = fc.constantFrom(' ', ' ', ' ', '  ', '\t');
const status = fc.constantFrom('200', '204', '101', '304', '100', '502', '20', '2000', 'abc');
const reason = fc.constantFrom('', ' OK', ' OK', ' Bad Gateway', ' ', '  OK', ' A\rB', ' A\nB', ' ok\x01', ' Not Found');
const name = fc.constantFrom(
  'Host', 'Content-Length', 'content-length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'X-Amzn-Trace-Id', 'Keep-Alive',
  'User-Agent', 'X-Forwarded-For', 'Content-Type', 'A', 'Bad Name', 'Name ', 'Na\x01me', '', ' Folded',
);
const valueChar = fc.constantFrom('a', 'Z', '0', '5', ',', ' ', '\t', '\r', '\n', '\x01', '\x7f', '\xa0', 'é', ';', '=');
const value = fc.oneof(
  fc.constantFrom('chunked', 'gzip, chunked', 'close', 'keep-alive', 'Keep-Alive', 'upgrade', 'Upgrade, close', 'websocket', '5', '0', '5, 5', '5, 6', ' 12 ', '1x', '', 'h2c'),
  fc.string({ unit: valueChar, maxLength: 8 }),
);
const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r\r\n');
const field = fc.tuple(name, fc.constantFrom(':', ':', ': ', ' :', ''), value, eol).map(([n, c, v, e]) => `${n}${c}${v}${e}`);
const startLine = (kind: 'request' | 'response') =>
  kind === 'request'
    ? fc.tuple(token, gap, target, gap, version, eol).map((p) => p.join(''))
    : fc.tuple(version, gap, status, reason, eol).map((p) => p.join(''));
const message = (kind: 'request' | 'response') =>
  fc
    .tuple(startLine(kind), fc.array(field, { maxLength: 6 }), eol, fc.constantFrom('', 'hello', '5\r\nhello\r\n0\r\n\r\n', '0\r\nX-T: 1\r\n\r\n'))
    .map(([s, f, e, body]) => `${s}${f.join('')}${e}${body}`);

for (const kind of ['request', 'response'] as const) {
  test(`${kind}s: the fast head path gives exactly the general path's events, at any chunking`, () => {
    fc.assert(
      fc.property(fc.array(message(kind), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), (msgs, rawCuts) => {
        const bytes = latin1(msgs.join(''));
        const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        // (Body events and "first in chunk" depend on the chunking: compare like with like.)
        assert.deepEqual(events(kind, bytes, [], true), events(kind, bytes, [], false));
        assert.deepEqual(events(kind, bytes, cuts, true), events(kind, bytes, cuts, false));
      }),
      { numRuns: 3000 },
    );
  });
}
