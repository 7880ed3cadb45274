// An HTTP/2 GOAWAY from the lab, batch and live (replayed frame by frame: deterministic at any
// load). h2-goaway: curl multiplexes 5 requests on one connection, the "ALB" (nginx
// keepalive_requests 2) answers 2 then GOAWAY last-stream-id 3, curl sends the 3 cut requests again
// on new connections, all answered: one info finding. h2-goaway-lost: Node's http2 client, which
// does not retry: the same GOAWAY loses 3 requests: one error finding. Live waits for the retries
// (up to the retry window) so it never calls lost what batch sees retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/analyze/analyze.js';
import { RETRY_WINDOW_SECONDS } from '../../src/correlate/goaway.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { replayLive } from './live-replay.js';

const RETRIED = { capture: 'test/fixtures/lab/h2-goaway-all.pcapng', keys: 'test/fixtures/lab/h2-goaway-all.keys' };
const LOST = { capture: 'test/fixtures/lab/h2-goaway-lost-all.pcapng', keys: 'test/fixtures/lab/h2-goaway-lost-all.keys' };
/** h2-goaway-retry-failed on a loaded machine: streams 5, 7, 9 reached the ALB after its GOAWAY (they crossed in flight). */
const CROSSED = { capture: 'test/fixtures/lab/h2-goaway-crossed-all.pcapng', keys: 'test/fixtures/lab/h2-goaway-crossed-all.keys' };

function story(f: Finding): string {
  if (!f.goaway) return `${f.kind} ${f.severity} ${f.status} ${f.request?.path}`;
  return `${f.kind} ${f.severity} ${f.goaway.lastStreamId} ${f.goaway.errorCode}: ${f.goaway.streams.map((s) => `${s.streamId} ${s.path} ${s.outcome} ${s.retry?.status ?? '-'}`).join(', ')}`;
}

const RETRIED_STORY = 'http2-goaway info 3 NO_ERROR: 5 /goaway/c retried 200, 7 /goaway/d retried 200, 9 /goaway/e retried 200';
const LOST_STORY = 'http2-goaway error 3 NO_ERROR: 5 /goaway/c not-retried -, 7 /goaway/d not-retried -, 9 /goaway/e not-retried -';

test('batch: a GOAWAY whose 3 cut requests curl retried and got answered is one info finding', async () => {
  const { report } = await analyze({ captures: [RETRIED.capture], keylogs: [RETRIED.keys] });
  assert.deepEqual(report.findings.map(story), [RETRIED_STORY]);
});

test('batch: the same GOAWAY with a client that does not retry is one error finding naming the 3 lost requests', async () => {
  const { report } = await analyze({ captures: [LOST.capture], keylogs: [LOST.keys] });
  assert.deepEqual(report.findings.map(story), [LOST_STORY]);
  assert.match(report.findings[0]!.summary, /3 of 3 were lost: GET \/goaway\/c, GET \/goaway\/d and GET \/goaway\/e were never sent again/);
});

test('live: the retried GOAWAY is printed once, as info, within a second of the GOAWAY', async () => {
  const out = await replayLive([RETRIED.capture], [RETRIED.keys]);
  assert.deepEqual(out.map((x) => story(x.finding)), [RETRIED_STORY]);
  assert.ok(out[0]!.at - out[0]!.finding.goaway!.time <= 1, `printed ${(out[0]!.at - out[0]!.finding.goaway!.time).toFixed(2)} s after the GOAWAY`);
});

test('live: a GOAWAY with requests not (yet) retried waits out the retry window, then prints the error batch gives, once', async () => {
  const out = await replayLive([LOST.capture], [LOST.keys], { tail: RETRY_WINDOW_SECONDS + 3 });
  assert.deepEqual(out.map((x) => story(x.finding)), [LOST_STORY]);
  const waited = out[0]!.at - out[0]!.finding.goaway!.time;
  assert.ok(waited >= RETRY_WINDOW_SECONDS && waited <= RETRY_WINDOW_SECONDS + 1, `printed ${waited.toFixed(2)} s after the GOAWAY`);
});

test('batch and live: streams that reached the ALB after its GOAWAY (crossed in flight) are cut by it; one failed again on retry', async () => {
  const want = ['http2-goaway error 3 NO_ERROR: 5 /crash/c retry-failed 502, 7 /goaway/d retried 200, 9 /goaway/e retried 200', 'target-reset error 502 /crash/c'];
  const { report } = await analyze({ captures: [CROSSED.capture], keylogs: [CROSSED.keys] });
  assert.deepEqual(report.findings.map(story), want);
  const out = await replayLive([CROSSED.capture], [CROSSED.keys]);
  assert.deepEqual(out.map((x) => story(x.finding)).sort(), [...want].sort());
});
