import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_TIME,
  formatWindow,
  inWindow,
  isAllTime,
  overlapsWindow,
  parseAround,
  parseDuration,
  parseTime,
  widenWindow,
  windowFromOptions,
} from './window.js';
import { clientMatches, incidentFromOptions, parseClient, parseTraceId, traceIdTime, traceMatches } from './incident.js';

const T = Date.UTC(2024, 4, 1, 12, 3, 17) / 1000; // 2024-05-01T12:03:17Z
const now = (): number => T;

test('an ALB log time, ISO 8601 in its usual forms, and the basic form of listen file names all parse to the same second', () => {
  assert.equal(parseTime('2024-05-01T12:03:17.186641Z'), T + 0.186641);
  assert.equal(parseTime('2024-05-01T12:03:17Z'), T);
  assert.equal(parseTime('2024-05-01T12:03:17'), T, 'no offset means UTC');
  assert.equal(parseTime('2024-05-01 12:03:17'), T);
  assert.equal(parseTime('2024-05-01T14:03:17+02:00'), T);
  assert.equal(parseTime('2024-05-01T07:03:17-0500'), T);
  assert.equal(parseTime('2024-05-01T12:03Z'), T - 17);
  assert.equal(parseTime('2024-05-01'), Date.UTC(2024, 4, 1) / 1000);
  assert.equal(parseTime('20240501T120317.500Z'), T + 0.5);
});

test('epoch seconds, and 13/16/19 digits as milliseconds, microseconds, nanoseconds', () => {
  assert.equal(parseTime(String(T)), T);
  assert.equal(parseTime(`${T}.25`), T + 0.25);
  assert.equal(parseTime(String(T * 1000)), T);
  assert.equal(parseTime(String(T * 1e6)), T);
  assert.equal(parseTime(`${T}000000000`), T);
});

test('times relative to now', () => {
  assert.equal(parseTime('now', now), T);
  assert.equal(parseTime('now-2h', now), T - 7200);
  assert.equal(parseTime('-90s', now), T - 90);
  assert.equal(parseTime('now+1m', now), T + 60);
});

test('--since/--until take a bare duration as that long ago; a bare number stays epoch seconds', () => {
  assert.deepEqual(windowFromOptions({ since: '2h' }, now), { since: T - 7200, until: Infinity });
  assert.deepEqual(windowFromOptions({ since: '1h30m', until: '30m' }, now), { since: T - 5400, until: T - 1800 });
  assert.deepEqual(windowFromOptions({ since: String(T) }, now), { since: T, until: Infinity });
  assert.deepEqual(windowFromOptions({ since: '20240501T120317Z' }, now), { since: T, until: Infinity });
});

test('what is not a time is refused with the accepted forms', () => {
  for (const bad of ['', 'yesterday', '2024-13-01', '2024-02-30T00:00:00Z', '12:03', 'now-abc', '2024-05-01T25:00']) {
    assert.throws(() => parseTime(bad, now), (e: Error) => e instanceof RangeError && /ISO 8601|not a valid/.test(e.message), bad);
  }
});

test('durations', () => {
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('1.5s'), 1.5);
  assert.equal(parseDuration('250ms'), 0.25);
  assert.equal(parseDuration('5m'), 300);
  assert.equal(parseDuration('2h'), 7200);
  assert.equal(parseDuration('1d'), 86400);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('PT1H30M'), 5400);
  assert.equal(parseDuration('pt10s'), 10);
  for (const bad of ['', 'm', '5x', '-5s', '1h30', 'PT', 'P']) assert.throws(() => parseDuration(bad), RangeError, bad);
});

test('--around TIME±DURATION, TIME+-DURATION, and TIME alone (±60 s)', () => {
  assert.deepEqual(parseAround('2024-05-01T12:03:17Z±5m'), { since: T - 300, until: T + 300 });
  assert.deepEqual(parseAround('2024-05-01T14:03:17+02:00+-30s'), { since: T - 30, until: T + 30 });
  assert.deepEqual(parseAround(`${T}`), { since: T - 60, until: T + 60 });
  assert.deepEqual(parseAround('2024-05-01T12:03:17.186641Z'), { since: T + 0.186641 - 60, until: T + 0.186641 + 60 });
});

test('the window from the options: none, since alone, until alone, around narrowed by since', () => {
  assert.equal(windowFromOptions({}), null);
  assert.deepEqual(windowFromOptions({ since: '2024-05-01T12:03:17Z' }), { since: T, until: Infinity });
  assert.deepEqual(windowFromOptions({ until: '2024-05-01T12:03:17Z' }), { since: -Infinity, until: T });
  assert.deepEqual(windowFromOptions({ around: '2024-05-01T12:03:17Z±5m', since: '2024-05-01T12:03:17Z' }), { since: T, until: T + 300 });
  assert.throws(() => windowFromOptions({ since: '2024-05-02', until: '2024-05-01' }), /empty.*--since must come before --until/);
  assert.throws(() => windowFromOptions({ until: 'soon' }), /^RangeError: --until: not a time: 'soon'/);
});

test('window membership, overlap, widening, formatting', () => {
  const w = { since: T, until: T + 10 };
  assert.ok(inWindow(w, T) && inWindow(w, T + 10) && !inWindow(w, T + 10.001) && !inWindow(w, T - 1));
  assert.ok(overlapsWindow(w, T - 100, T) && overlapsWindow(w, T + 10, T + 100) && !overlapsWindow(w, T - 100, T - 1));
  assert.deepEqual(widenWindow(w, 900, 60), { since: T - 900, until: T + 70 });
  assert.deepEqual(widenWindow(ALL_TIME, 900), ALL_TIME);
  assert.ok(isAllTime(ALL_TIME) && isAllTime(null) && !isAllTime(w));
  assert.equal(formatWindow({ since: T, until: Infinity }), '2024-05-01T12:03:17.000Z .. …');
});

test('a client as IP, IP:PORT, [IPv6]:PORT or CIDR, matching the text forms the flow and log stages write', () => {
  const one = parseClient('10.0.1.7');
  assert.ok(clientMatches(one, '10.0.1.7', 5000) && !clientMatches(one, '10.0.1.8', 5000));
  assert.ok(clientMatches(one, '::ffff:10.0.1.7', 1), 'IPv4-mapped');
  const withPort = parseClient('10.0.1.7:53211');
  assert.ok(clientMatches(withPort, '10.0.1.7', 53211) && !clientMatches(withPort, '10.0.1.7', 53212));
  const net = parseClient('10.0.1.0/24');
  assert.ok(clientMatches(net, '10.0.1.200', 1) && !clientMatches(net, '10.0.2.1', 1));
  const v6 = parseClient('[2001:db8::7]:443');
  assert.ok(clientMatches(v6, '2001:db8:0:0:0:0:0:7', 443) && !clientMatches(v6, '2001:db8::7', 80));
  assert.ok(clientMatches(parseClient('2001:db8::/32'), '2001:db8:ffff::1', 9));
  assert.ok(!clientMatches(parseClient('10.0.0.0/8'), '2001:db8::1', 9));
  assert.ok(clientMatches(parseClient('10.1.2.0/23'), '10.1.3.9', 9) && !clientMatches(parseClient('10.1.2.0/23'), '10.1.4.9', 9));
  for (const bad of ['10.0.1', '10.0.1.7:99999', '10.0.1.0/33', 'example.com', '']) assert.throws(() => parseClient(bad), RangeError, bad);
});

test('a trace id pasted as Root=..., as the whole header or bare; its time; matching a log field or header', () => {
  const root = '1-663230a5-abcdef012345678912345678';
  assert.equal(parseTraceId(`Root=${root}`), root);
  assert.equal(parseTraceId(`Self=1-663230a6-111111111111111111111111;Root=${root.toUpperCase()};Sampled=1`), root);
  assert.equal(parseTraceId(`X-Amzn-Trace-Id: Root=${root}`), root);
  assert.equal(parseTraceId(root), root);
  assert.equal(traceIdTime(root), 0x663230a5);
  assert.ok(traceMatches(root, `Root=${root};Parent=53995c3f42cd8ad8`));
  assert.ok(!traceMatches(root, 'Root=1-663230a5-000000000000000000000000') && !traceMatches(root, null));
  for (const bad of ['Root=abc', 'Parent=1', '1-xyz-abc']) assert.throws(() => parseTraceId(bad), RangeError, bad);
});

test('the incident from the options: a trace id alone sets the window around its time', () => {
  assert.equal(incidentFromOptions({}), null);
  const root = '1-663230a5-abcdef012345678912345678';
  const i = incidentFromOptions({ traceId: root })!;
  assert.equal(i.traceRoot, root);
  assert.ok(inWindow(i.window, 0x663230a5) && !inWindow(i.window, 0x663230a5 - 3600));
  const j = incidentFromOptions({ client: '10.0.1.7', since: '2024-05-01' })!;
  assert.equal(j.window.since, Date.UTC(2024, 4, 1) / 1000);
  assert.throws(() => incidentFromOptions({ client: 'x' }), /^RangeError: --client: /);
  assert.throws(() => incidentFromOptions({ traceId: 'x' }), /^RangeError: --trace-id: /);
});
