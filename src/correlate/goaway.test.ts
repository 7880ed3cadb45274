// Which later request is the retry of a stream a GOAWAY cut, and what the watch keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupGoaways, RETRY_WINDOW_SECONDS, RetryWatch } from './goaway.js';
import type { TxView } from './views.js';

const T0 = 1_764_000_000;

function tx(uid: string, connUid: string, path: string, t: number, over: Partial<TxView> = {}): TxView {
  return {
    uid, connUid, httpVersion: 'HTTP/2', streamId: 1, method: 'GET', host: null, path, status: 200, traceId: null,
    requestFirstByteTime: t, requestLastByteTime: t, responseFirstByteTime: t + 0.01, responseLastByteTime: t + 0.01, requestIndexOnConnection: 1, idleBeforeRequestSeconds: 0,
    outcome: 'complete', endedBy: null, malformedReason: null, responseHeadBytes: null, responseContentLength: null, responseBodyBytes: 0,
    clientAddr: '10.0.0.2', clientPort: 40000, serverAddr: '10.0.0.10', serverPort: 443,
    ...over,
  };
}

function cut(streamId: number, path: string): TxView {
  return tx(`CA-${streamId}`, 'CA', path, T0, { streamId, status: null, outcome: 'no-response', endedBy: 'goaway', errorCode: 'NO_ERROR', goaway: { time: T0 + 0.01, lastStreamId: 3 } });
}

test('the retry is the first later request with the same client, method and path on another connection', () => {
  const [g] = groupGoaways([cut(5, '/c')], [tx('CC-1', 'CC', '/c', T0 + 0.5), tx('CB-1', 'CB', '/c', T0 + 0.05)]);
  assert.equal(g!.streams[0]!.retry?.uid, 'CB-1');
});

test('not a retry: the same connection, another client, another method, before the GOAWAY, or after the window', () => {
  const cands = [
    tx('CA-11', 'CA', '/c', T0 + 0.02),
    tx('CX-1', 'CX', '/c', T0 + 0.02, { clientAddr: '10.0.0.3' }),
    tx('CY-1', 'CY', '/c', T0 + 0.02, { method: 'POST' }),
    tx('CZ-1', 'CZ', '/c', T0 - 1),
    tx('CW-1', 'CW', '/c', T0 + 0.01 + RETRY_WINDOW_SECONDS + 0.1),
  ];
  const [g] = groupGoaways([cut(5, '/c')], cands);
  assert.equal(g!.streams[0]!.retry, null);
});

test('one request is the retry of one cut stream only; streams of one GOAWAY are one group in stream order', () => {
  const groups = groupGoaways([cut(7, '/c'), cut(5, '/c')], [tx('CB-1', 'CB', '/c', T0 + 0.05)]);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0]!.streams.map((s) => [s.tx.streamId, s.retry?.uid ?? null]), [[5, 'CB-1'], [7, null]]);
});

test('a stream given twice (a view made again) is one stream', () => {
  const [g] = groupGoaways([cut(5, '/c'), cut(5, '/c'), cut(7, '/d')], []);
  assert.deepEqual(g!.streams.map((s) => s.tx.streamId), [5, 7]);
});

test('the watch wants only requests a GOAWAY cut, within the window, and forgets them after it', () => {
  const w = new RetryWatch();
  assert.equal(w.wants('10.0.0.2', 'GET', '/c', T0 + 1), false, 'nothing watched');
  w.watch(cut(5, '/c'));
  assert.equal(w.wants('10.0.0.2', 'GET', '/c', T0 + 1), true);
  assert.equal(w.wants('10.0.0.2', 'GET', '/d', T0 + 1), false);
  assert.equal(w.wants('10.0.0.2', 'GET', '/c', T0 + 0.01 + RETRY_WINDOW_SECONDS + 1), false, 'after the window');
  w.keep(tx('CB-1', 'CB', '/c', T0 + 1));
  w.prune(T0 + RETRY_WINDOW_SECONDS + 5);
  assert.equal(w.size, 0);
  assert.equal(w.candidates().length, 0);
});
