import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAlbLine, type AlbLogRecord } from './alb.js';
import { parseClbLine, type ClbLogRecord } from './clb.js';
import { explainAlbError, explainClbError, explainErrorReason, explainNlbTls } from './explain.js';
import { parseNlbLine, type NlbLogRecord } from './nlb.js';

// An ALB entry with the fields that matter for explanations as parameters.
function alb(target: string, times: string, elb: string, tgt: string, opts: { errorReason?: string; actions?: string } = {}): AlbLogRecord {
  const line = `http 2024-05-01T10:00:00.000000Z app/lb/1 10.1.2.3:40000 ${target} ${times} ${elb} ${tgt} 120 0 "GET http://a.example:80/ HTTP/1.1" "curl/8" - - arn:tg "Root=1-00000000-000000000000000000000000" "-" "-" 1 2024-05-01T09:59:59.000000Z "${opts.actions ?? 'forward'}" "-" "${opts.errorReason ?? '-'}" "${target}" "${tgt}" "-" "-" TID_1 "-" "-" "-"`;
  const r = parseAlbLine(line);
  assert.equal(r.kind, 'alb', line);
  return r as AlbLogRecord;
}

test('502, target status -, target_processing_time -1: the load balancer answered itself, the target connection failed or closed', () => {
  const x = explainAlbError(alb('10.0.0.9:8080', '0.001 -1 -1', '502', '-'))!;
  assert.equal(x.origin, 'load-balancer');
  assert.equal(x.pattern, '502-target-closed');
  assert.equal(x.meaning, 'the load balancer answered 502 itself after sending the request: the target connection closed or reset before any response');
  assert.deepEqual(x.causes, ['502-closed-with-request-outstanding', '502-deregistration-delay', '502-response-headers-too-large']);
  assert.match(x.likelyCauses[0]!, /keep-alive timeout longer than the load balancer's idle timeout/);
  assert.match(x.open!, /keep-alive race .* a hop between \(NLB, NAT, firewall\)/);
});

test('502 with all three times -1: could not connect to the target', () => {
  const x = explainAlbError(alb('10.0.0.9:8080', '-1 -1 -1', '502', '-'))!;
  assert.equal(x.pattern, '502-connect-failed');
  assert.deepEqual(x.causes, ['502-rst-on-connect', '502-icmp-unreachable', '502-target-tls-handshake', '502-closed-with-request-outstanding']);
  assert.match(x.likelyCauses[0]!, /RST to the SYN/);
  assert.match(x.open!, /ICMP unreachable/);
});

test('502 after the target started answering: unusable response', () => {
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '0.001 0.250 -1', '502', '-'))!.pattern, '502-bad-response');
});

test('502 from the target itself is passed on, not blamed on the load balancer', () => {
  const x = explainAlbError(alb('10.0.0.9:8080', '0.001 0.002 0.000', '502', '502'))!;
  assert.equal(x.origin, 'target');
  assert.equal(x.pattern, '502-from-target');
});

test('502 with a Lambda error_reason (the AWS example)', () => {
  const x = explainAlbError(alb('-', '0.000 0.001 0.000', '502', '-', { errorReason: 'LambdaInvalidResponse' }))!;
  assert.equal(x.pattern, '502-lambda');
  assert.match(x.likelyCauses[0]!, /^error_reason LambdaInvalidResponse: the Lambda function response is malformed/);
  assert.deepEqual(x.causes, ['502-lambda']);
  assert.equal(x.open, null);
});

test('504: idle timeout vs connection timeout', () => {
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '0.001 -1 -1', '504', '-'))!.pattern, '504-idle-timeout');
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '0.001 -1 -1', '504', '-'))!.meaning, 'the load balancer answered 504 itself: the target got the request and did not answer within the idle timeout');
  assert.deepEqual(explainAlbError(alb('10.0.0.9:8080', '0.001 -1 -1', '504', '-'))!.causes, ['504-target-idle-timeout', '504-content-length-over-body']);
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '-1 -1 -1', '504', '-'))!.pattern, '504-connect-timeout');
});

test('the other load-balancer codes from the AWS troubleshooting table', () => {
  const cases: [string, string, RegExp][] = [
    ['503', '503-no-targets', /no target to send the request to/],
    ['460', '460-client-closed', /client closed the connection/],
    ['463', '463-xff-too-long', /more than 30 IP addresses/],
    ['464', '464-protocol-mismatch', /protocol does not match/],
    ['561', '561-idp-error', /identity provider/],
    ['400', '400-bad-request', /malformed/],
    ['403', '403-waf', /WAF/],
    ['408', '408-client-idle', /idle timeout/],
    ['000', '000-goaway', /GOAWAY/],
  ];
  for (const [code, pattern, meaning] of cases) {
    const x = explainAlbError(alb('-', '-1 -1 -1', code, '-'))!;
    assert.equal(x.pattern, pattern, code);
    assert.match(x.meaning, meaning, code);
  }
});

test('a fixed-response rule is named as such', () => {
  assert.equal(explainAlbError(alb('-', '-1 -1 -1', '503', '-', { actions: 'fixed-response' }))!.pattern, '503-fixed-response');
});

test('successful entries have no explanation', () => {
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '0.000 0.001 0.000', '200', '200')), null);
  assert.equal(explainAlbError(alb('10.0.0.9:8080', '0.000 0.001 0.000', '301', '301')), null);
});

test('target 4xx/5xx passed through are attributed to the target', () => {
  const x = explainAlbError(alb('10.0.0.9:8080', '0.000 0.001 0.000', '500', '500'))!;
  assert.equal(x.origin, 'target');
  assert.match(x.meaning, /the target answered 500 itself/);
});

test('Classic LB: instance closed / timed out', () => {
  const r = parseClbLine('2015-05-13T23:39:43.945958Z my-lb 192.168.131.39:2817 10.0.0.1:80 0.000073 -1 -1 504 - 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -') as ClbLogRecord;
  const x = explainClbError(r)!;
  assert.equal(x.pattern, '504-idle-timeout');
  assert.match(x.meaning, /the instance got the request and did not answer/);
});

test('error_reason codes in words, with family fallbacks', () => {
  assert.equal(explainErrorReason('AuthInvalidIdToken'), 'the ID token is not valid');
  assert.equal(explainErrorReason('LambdaSomethingNew'), 'the Lambda target failed (see the Lambda function logs)');
  assert.equal(explainErrorReason('Unknown'), null);
  assert.equal(explainErrorReason(null), null);
});

// The NLB access log's documented example (a completed TLS 1.2 handshake), with the alert, cipher,
// protocol and certificate fields as parameters.
function nlb(alert: string, cipher: string, protocol: string, cert = 'arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99'): NlbLogRecord {
  const line = `tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 ${alert} ${cert} - ${cipher} ${protocol} - my-nlb.example.com - - -`;
  const r = parseNlbLine(line);
  assert.equal(r.kind, 'nlb', line);
  return r as NlbLogRecord;
}

test('NLB TLS log: a completed handshake needs no explanation', () => {
  assert.equal(explainNlbTls(nlb('-', 'ECDHE-RSA-AES128-SHA', 'tlsv12')), null);
});

test('NLB TLS log: an alert from the client names the catalogue cause, and the alert in words', () => {
  const x = explainNlbTls(nlb('48', '-', '-'))!;
  assert.equal(x.origin, 'client');
  assert.equal(x.pattern, 'nlb-tls-alert');
  assert.deepEqual(x.causes, ['nlb-tls-client-alert']);
  assert.match(x.meaning, /the client ended the TLS handshake with the listener by an alert/);
  assert.match(x.likelyCauses[0]!, /^client rejected the NLB's TLS handshake \(alert\): Read the alert: unknown_ca/);
  assert.equal(x.detail, 'alert 48 unknown_ca: the client does not trust the certificate\'s issuer: the chain is incomplete or from a private CA it lacks');
  assert.equal(x.open, null);
  assert.match(explainNlbTls(nlb('70', '-', '-'))!.detail, /^alert 70 protocol_version: no TLS version in common/);
});

test('NLB TLS log: a handshake that did not complete without an alert, with and without a ClientHello', () => {
  const x = explainNlbTls(nlb('-', '-', '-', '-'))!;
  assert.equal(x.pattern, 'nlb-tls-incomplete');
  assert.deepEqual(x.causes, ['nlb-tls-handshake-incomplete']);
  assert.equal(x.detail, 'no valid ClientHello arrived (no certificate chosen)');
  assert.match(x.open!, /health check or scanner/);
  assert.match(explainNlbTls(nlb('-', '-', '-'))!.detail, /^a ClientHello arrived/);
});

const clb = (fields: string) => parseClbLine(`2015-05-13T23:39:43.945958Z my-lb 192.168.131.39:2817 ${fields}`) as ClbLogRecord;

test('Classic LB: the load balancer\'s own 400 and 408 name the CLB troubleshooting causes', () => {
  const x = explainClbError(clb('10.0.0.1:80 0.000073 -1 -1 400 - 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'))!;
  assert.equal(x.pattern, '400-bad-request');
  assert.deepEqual(x.causes, ['clb-400-bad-request']);
  assert.match(x.likelyCauses[0]!, /HTTP CONNECT/);
  assert.deepEqual(explainClbError(clb('- -1 -1 -1 408 - 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'))!.causes, ['clb-408-request-timeout']);
});

test('Classic LB TCP/SSL listener: a line with -1 times names the connection never passed to an instance; a completed one needs nothing', () => {
  // The documented TCP example, then the same connection not dispatched.
  assert.equal(explainClbError(clb('10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -')), null);
  const x = explainClbError(clb('- -1 -1 -1 - - 57 0 "- - - " "-" - -'))!;
  assert.equal(x.pattern, 'clb-tcp-not-dispatched');
  assert.equal(x.origin, 'load-balancer');
  assert.deepEqual(x.causes, ['clb-tcp-not-dispatched']);
  assert.match(x.meaning, /a TCP\/SSL connection it never passed to an instance/);
  assert.match(x.open!, /a client that connected and sent nothing/);
  assert.match(x.likelyCauses[0]!, /BackendConnectionErrors/);
});
