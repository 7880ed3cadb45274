import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlbLine, type AlbLogRecord } from './alb.js';
import type { LineError } from './types.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');
const lines = (name: string): string[] => readFileSync(join(fixtures, name), 'utf8').split('\n').filter((l) => l.length > 0);

function ok(line: string): AlbLogRecord {
  const r = parseAlbLine(line);
  if (r.kind === 'error') assert.fail(`unexpected error: ${r.reason}`);
  return r;
}

function err(line: string): string {
  const r = parseAlbLine(line);
  assert.equal(r.kind, 'error', 'expected a line error');
  return (r as LineError).reason;
}

test('the AWS 33-field example (current docs, quoted lists, conn_trace_id, transform fields) parses to the exact record', () => {
  const [line] = lines('alb-current-doc.log');
  assert.deepEqual(ok(line!), {
    kind: 'alb',
    type: 'http',
    time: 1530570180.186641,
    timeString: '2018-07-02T22:23:00.186641Z',
    elb: 'app/my-loadbalancer/50dc6c495c0c9188',
    clientAddr: '192.168.131.39',
    clientPort: 2817,
    targetAddr: '10.0.0.1',
    targetPort: 80,
    requestProcessingSeconds: 0,
    targetProcessingSeconds: 0.001,
    responseProcessingSeconds: 0,
    elbStatusCode: 200,
    targetStatusCode: 200,
    receivedBytes: 34,
    sentBytes: 366,
    request: { method: 'GET', url: 'http://www.example.com:80/', protocol: 'HTTP/1.1', raw: 'GET http://www.example.com:80/ HTTP/1.1' },
    host: 'www.example.com',
    port: 80,
    path: '/',
    query: null,
    userAgent: 'curl/7.46.0',
    sslCipher: null,
    sslProtocol: null,
    targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067',
    traceId: 'Root=1-58337262-36d228ad5d99923122bbe354',
    domainName: null,
    chosenCertArn: null,
    matchedRulePriority: 0,
    requestCreationTime: 1530570168.364,
    requestCreationTimeString: '2018-07-02T22:22:48.364000Z',
    actionsExecuted: ['forward'],
    redirectUrl: null,
    errorReason: null,
    targetPortList: ['10.0.0.1:80'],
    targetStatusCodeList: [200],
    classification: null,
    classificationReason: null,
    connTraceId: 'TID_1234abcd5678ef90',
    transformedHost: null,
    transformedUri: null,
    requestTransformStatus: null,
    extra: [],
    fieldCount: 33,
    file: '',
    line: 0,
  });
});

test('the seven 2023 AWS examples (unquoted list fields) parse with the documented values', () => {
  const recs = lines('alb-2023-doc.log').map(ok);
  assert.deepEqual(recs.map((r) => r.type), ['http', 'https', 'h2', 'ws', 'wss', 'http', 'http']);
  assert.deepEqual(recs.map((r) => r.fieldCount), [29, 29, 29, 29, 29, 29, 29]);
  const [http, https, h2, ws, wss, lambdaOk, lambdaFail] = recs as [AlbLogRecord, AlbLogRecord, AlbLogRecord, AlbLogRecord, AlbLogRecord, AlbLogRecord, AlbLogRecord];
  assert.deepEqual(http.targetPortList, ['10.0.0.1:80']);
  assert.deepEqual(http.targetStatusCodeList, [200]);
  assert.equal(https.sslCipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(https.sslProtocol, 'TLSv1.2');
  assert.equal(https.domainName, 'www.example.com');
  assert.equal(https.chosenCertArn, 'arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012');
  assert.deepEqual(https.actionsExecuted, ['authenticate', 'forward']);
  assert.equal(https.requestProcessingSeconds, 0.086);
  assert.equal(https.matchedRulePriority, 1);
  assert.equal(h2.request.protocol, 'HTTP/2.0');
  assert.equal(h2.host, '10.0.2.105');
  assert.equal(h2.port, 773);
  assert.deepEqual(h2.actionsExecuted, ['redirect']);
  assert.equal(h2.redirectUrl, 'https://example.com:80/');
  assert.equal(ws.elbStatusCode, 101);
  assert.equal(ws.userAgent, null);
  assert.equal(wss.targetAddr, '10.0.0.171');
  assert.equal(wss.targetGroupArn, 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067');
  // Lambda targets: target:port is `-`, lists quoted `-`.
  assert.equal(lambdaOk.targetAddr, null);
  assert.equal(lambdaOk.targetPort, null);
  assert.deepEqual(lambdaOk.targetPortList, []);
  assert.deepEqual(lambdaOk.targetStatusCodeList, []);
  assert.equal(lambdaFail.elbStatusCode, 502);
  assert.equal(lambdaFail.targetStatusCode, null);
  assert.equal(lambdaFail.errorReason, 'LambdaInvalidResponse');
});

const BASE =
  'https 2024-05-01T10:00:00.000001Z app/lb/1 10.1.2.3:40000 10.0.0.9:8080 0.001 -1 -1 502 - 120 0 "POST https://api.example.com:443/v1/items?id=7&x=%20 HTTP/1.1" "curl/8.5.0" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:tg "Root=1-66321f50-0123456789abcdef01234567" "api.example.com" "session-reused" 3 2024-05-01T09:59:59.900000Z "forward" "-" "-" "10.0.0.9:8080" "-" "-" "-" TID_abc "-" "-" "-"';

test('-1 processing times and - status become null, never 0', () => {
  const r = ok(BASE);
  assert.equal(r.requestProcessingSeconds, 0.001);
  assert.equal(r.targetProcessingSeconds, null);
  assert.equal(r.responseProcessingSeconds, null);
  assert.equal(r.targetStatusCode, null);
  assert.equal(r.sentBytes, 0);
  assert.deepEqual(r.targetStatusCodeList, []);
  assert.equal(r.chosenCertArn, 'session-reused');
  assert.equal(r.path, '/v1/items');
  assert.equal(r.query, 'id=7&x=%20');
  assert.equal(r.time, Date.UTC(2024, 4, 1, 10) / 1000 + 0.000001);
});

test('`-` everywhere it is allowed', () => {
  const r = ok('http 2024-05-01T10:00:00Z app/lb/1 10.1.2.3:40000 - -1 -1 -1 400 - 0 - "- - - " "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-" - "-" "-" "-"');
  assert.equal(r.targetAddr, null);
  assert.equal(r.requestProcessingSeconds, null);
  assert.equal(r.sentBytes, null);
  assert.deepEqual(r.request, { method: null, url: null, protocol: null, raw: '- - - ' });
  assert.equal(r.host, null);
  assert.equal(r.path, null);
  assert.equal(r.matchedRulePriority, null);
  assert.equal(r.requestCreationTime, null);
  assert.deepEqual(r.actionsExecuted, []);
  for (const k of ['userAgent', 'sslCipher', 'targetGroupArn', 'traceId', 'domainName', 'connTraceId', 'transformedHost', 'requestTransformStatus'] as const) assert.equal(r[k], null, k);
});

test('matched_rule_priority keeps -1 (error during rule evaluation) apart from - and 0', () => {
  assert.equal(ok(BASE.replace(' 3 2024-05-01T09:59:59', ' -1 2024-05-01T09:59:59')).matchedRulePriority, -1);
});

test('IPv6 client and target addresses', () => {
  const r = ok(BASE.replace('10.1.2.3:40000 10.0.0.9:8080', '2001:db8:1234:a100:8d6e:3477:df66:f105:51234 [2001:db8::9]:8080'));
  assert.equal(r.clientAddr, '2001:db8:1234:a100:8d6e:3477:df66:f105');
  assert.equal(r.clientPort, 51234);
  assert.equal(r.targetAddr, '2001:db8::9');
  assert.equal(r.targetPort, 8080);
});

test('quotes and escapes inside the user agent and request', () => {
  const r = ok(BASE.replace('"curl/8.5.0"', String.raw`"Mozilla/5.0 \"quoted\" (x; y) \\ end"`).replace('HTTP/1.1"', 'HTTP/1.1"'));
  assert.equal(r.userAgent, 'Mozilla/5.0 "quoted" (x; y) \\ end');
  const spaced = ok(BASE.replace('/v1/items?id=7&x=%20', '/a b/c'));
  assert.equal(spaced.request.url, 'https://api.example.com:443/a b/c');
  assert.equal(spaced.request.protocol, 'HTTP/1.1');
  assert.equal(spaced.path, '/a b/c');
});

test('control characters in fields are kept as data (escaping is the renderer\'s job)', () => {
  const r = ok(BASE.replace('"curl/8.5.0"', '"evil\x1b[2Jua"'));
  assert.equal(r.userAgent, 'evil\x1b[2Jua');
});

test('extra trailing fields are kept in extra; missing trailing fields are null', () => {
  const more = ok(`${BASE} "TransformSuccess-next" future2`);
  assert.deepEqual(more.extra, ['TransformSuccess-next', 'future2']);
  assert.equal(more.fieldCount, 35);
  const old = BASE.split(' "forward"')[0]!; // stops after request_creation_time (22 fields)
  const r = ok(old);
  assert.equal(r.fieldCount, 22);
  assert.equal(r.requestCreationTimeString, '2024-05-01T09:59:59.900000Z');
  assert.deepEqual(r.actionsExecuted, []);
  assert.equal(r.connTraceId, null);
  const minimal = ok('http 2016-08-10T22:08:42.945958Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1"');
  assert.equal(minimal.userAgent, null);
  assert.equal(minimal.fieldCount, 13);
});

test('transform fields when a rewrite ran', () => {
  const r = ok(BASE.replace(/"-" "-" "-"$/, '"internal.example.com" "/v2/items?id=7" "TransformSuccess"'));
  assert.equal(r.transformedHost, 'internal.example.com');
  assert.equal(r.transformedUri, '/v2/items?id=7');
  assert.equal(r.requestTransformStatus, 'TransformSuccess');
});

test('bad lines say which field is wrong', () => {
  assert.match(err('http 2024-05-01T10:00:00Z app/lb/1'), /3 fields, expected at least 13/);
  assert.match(err(BASE.replace('2024-05-01T10:00:00.000001Z', 'yesterday')), /field 2 \(time\).*'yesterday'/);
  assert.match(err(BASE.replace('10.1.2.3:40000', '10.1.2.3')), /field 4 \(client:port\)/);
  assert.match(err(BASE.replace('0.001 -1 -1', '0.001 fast -1')), /field 7 \(target_processing_time\).*'fast'/);
  assert.match(err(BASE.replace(' 502 - ', ' 5O2 - ')), /field 9 \(elb_status_code\)/);
  assert.match(err(BASE.replace(' 120 0 ', ' 120 -5 ')), /field 12 \(sent_bytes\)/);
  assert.match(err(`${BASE} "unterminated`), /unterminated quoted field \(opening quote at column \d+\)/);
  // A quote lost mid-line shifts the fields after it: the shift is caught, not parsed as data.
  assert.match(err(BASE.replace('"curl/8.5.0"', '"curl/8.5.0')), /field 22 \(request_creation_time\)/);
});

test('traceRootOf takes the Root from a trace id with or without Self/Parent parts', async () => {
  const { traceRootOf } = await import('./alb.js');
  assert.equal(traceRootOf('Root=1-58337262-36d228ad5d99923122bbe354'), '1-58337262-36d228ad5d99923122bbe354');
  assert.equal(traceRootOf('Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678'), '1-67891233-abcdef012345678912345678');
  assert.equal(traceRootOf('Parent=x'), null);
  assert.equal(traceRootOf(null), null);
});
