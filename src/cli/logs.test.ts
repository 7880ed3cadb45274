import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from './main.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(['logs', ...args], { stdout, stderr, env: {} });
  return { code, out, err };
}

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ml-cli-logs-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const BASE = readFileSync(join(fixtures, 'alb-current-doc.log'), 'utf8').trim();
const R502 = BASE.replace('0.000 0.001 0.000 200 200', '0.001 -1 -1 502 -').replace('"10.0.0.1:80" "200"', '"10.0.0.1:80" "-"');

test('text summary explains the 502 in plain words and lists the line', async (t) => {
  const d = tmp(t);
  const f = join(d, 'alb.log');
  writeFileSync(f, `${BASE}\n${R502}\n`);
  const { code, out, err } = await run([f]);
  assert.equal(code, 0);
  assert.equal(err, '');
  assert.match(out, /^1 file, 2 lines, 2 records \(ALB access log 2\), 0 bad lines$/m);
  assert.match(out, /by elb_status_code: {4}200 1 · 502 1/);
  assert.match(out, /502-target-closed \(1\): the load balancer answered 502 itself after sending the request: the target connection closed or reset before any response/);
  assert.match(out, /the log cannot tell apart: a keep-alive race/);
  assert.match(out, /AWS: https:\/\/docs\.aws\.amazon\.com\/elasticloadbalancing\/latest\/application\/load-balancer-troubleshooting\.html#http-502-issues/);
  assert.match(out, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2 2018-07-02T22:23:00.186641Z elb 502 target - 192\\.168\\.131\\.39:2817 -> 10\\.0\\.0\\.1:80 times 0\\.001/-1/-1`));
});

test('hostile log fields cannot inject terminal escapes, in text, in bad-line reports and in JSON', async (t) => {
  const d = tmp(t);
  const f = join(d, 'evil.log');
  const evil = R502.replace('GET http://www.example.com:80/ HTTP/1.1', 'GET http://www.example.com:80/\x1b[2J\x9b31m HTTP/1.1');
  const badTime = BASE.replace('2018-07-02T22:23:00.186641Z', '2018-07-02T22:23:00\x1b]0;pwned\x07');
  writeFileSync(f, `${evil}\n${badTime}\n`);
  const text = await run([f]);
  assert.ok(!/[\x1b\x07\x9b]/.test(text.out + text.err), 'raw control characters in output');
  assert.match(text.out, /\\x1b\[2J\\x9b31m/);
  assert.match(text.err, /evil\.log:2: field 2 \(time\).*\\x1b\]0;pwned\\x07/);
  const json = await run([f, '--json']);
  assert.ok(!/[\x1b\x07\x9b]/.test(json.out));
  const report = JSON.parse(json.out) as { http: { errorLines: { request: string }[] } };
  assert.equal(report.http.errorLines[0]!.request, 'GET http://www.example.com:80/\x1b[2J\x9b31m HTTP/1.1');
});

test('--json carries the summary, the http section and the flow triage', async () => {
  const { code, out } = await run([join(fixtures, 'flow-v2-doc.log'), join(fixtures, 'alb-2023-doc.log'), '--json', '--expect', '10.0.0.5>10.0.0.6:443']);
  assert.equal(code, 0);
  const r = JSON.parse(out) as { summary: { records: number }; http: { requests: number }; flow: { findings: { verdict: string }[]; expectations: { verdict: string }[] } };
  assert.equal(r.summary.records, 14);
  assert.equal(r.http.requests, 7);
  assert.ok(r.flow.findings.some((x) => x.verdict === 'network-acl'));
  assert.deepEqual(r.flow.expectations.map((x) => x.verdict), ['absent']);
});

test('usage errors are one line with exit code 2', async () => {
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /^mirrorlens logs: give at least one PATH/);
  const fmt = await run(['x', '--log-format', 'apache']);
  assert.equal(fmt.code, 2);
  assert.match(fmt.err, /--log-format must be one of alb, alb-conn, nlb, clb, flow, got 'apache'/);
  // --format is the output format in every command; the input format has its own option.
  const old = await run(['x', '--format', 'alb']);
  assert.equal(old.code, 2);
  assert.match(old.err, /--format is the output format \(text, json\); for the input format say --log-format alb/);
  const exp = await run(['x', '--expect', 'nonsense']);
  assert.equal(exp.code, 2);
});

test('a missing file is one clear line, exit 3; a file of only bad lines is one error, exit 4', async (t) => {
  const missing = await run(['/nonexistent/alb.log']);
  assert.equal(missing.code, 3);
  assert.equal(missing.err, 'mirrorlens logs: /nonexistent/alb.log: cannot open: no such file or directory\n');
  const d = tmp(t);
  const f = join(d, 'junk.log');
  writeFileSync(f, Array.from({ length: 15 }, (_, i) => `junk ${i}`).join('\n'));
  const junk = await run([f, '--bad-lines', '2']);
  assert.equal(junk.code, 4);
  assert.equal(junk.err, `mirrorlens logs: ${f}: not an ALB, NLB or Classic LB access log or a VPC flow log: no line of it is one (the format is detected from each file's lines)\n`);
  assert.equal(junk.out, '');
  // A log with some records: its bad lines are shown (up to --bad-lines), then counted.
  const mixed = join(d, 'mixed.log');
  writeFileSync(mixed, [BASE, ...Array.from({ length: 5 }, (_, i) => `junk ${i}`)].join('\n'));
  const some = await run([mixed, '--bad-lines', '2']);
  assert.equal(some.code, 0, some.err);
  assert.equal(some.err.split('\n').filter(Boolean).length, 3);
  assert.match(some.err, /\.\.\. and 3 more bad lines/);
  assert.match(some.out, /5 bad lines/);
});

test('NLB TLS log: failed handshakes explained from the catalogue, with the AWS page, each line listed; --json carries them', async (t) => {
  const d = tmp(t);
  const f = join(d, 'nlb.log');
  const ok = readFileSync(join(fixtures, 'nlb-doc.log'), 'utf8').split('\n')[0]!;
  const alert = ok.replace(' 246 - arn:', ' 246 48 arn:').replace('ECDHE-RSA-AES128-SHA tlsv12', '- -');
  const left = ok.replace(/ 246 - arn:\S+ - ECDHE-RSA-AES128-SHA tlsv12 /, ' 246 - - - - - ');
  assert.notEqual(alert, ok);
  assert.notEqual(left, ok);
  writeFileSync(f, `${ok}\n${alert}\n${left}\n`);
  const { code, out, err } = await run([f]);
  assert.equal(code, 0);
  assert.equal(err, '');
  assert.match(out, /TLS connections \(ALB connection logs \/ NLB access logs\): 3, 2 without a completed handshake/);
  assert.match(out, /^ {2}nlb-tls-alert \(1\): the client ended the TLS handshake with the listener by an alert/m);
  assert.match(out, /^ {4}1\. client rejected the NLB's TLS handshake \(alert\): Read the alert/m);
  assert.match(out, /^ {2}nlb-tls-incomplete \(1\): the TLS handshake with the listener did not complete and the client sent no alert$/m);
  assert.match(out, /^ {4}AWS: https:\/\/docs\.aws\.amazon\.com\/elasticloadbalancing\/latest\/network\/load-balancer-access-logs\.html$/m);
  assert.match(out, /Failed handshakes \(2 of 2\):/);
  assert.match(out, /nlb\.log:2 2018-12-20T02:59:40 72\.21\.218\.154:51341 -> 172\.100\.100\.185:443 sni my-network-loadbalancer/);
  assert.match(out, /^ {4}nlb-tls-alert: alert 48 unknown_ca: the client does not trust/m);
  assert.match(out, /^ {4}nlb-tls-incomplete: no valid ClientHello arrived \(no certificate chosen\)$/m);
  const j = JSON.parse((await run([f, '--json', '--limit', '1'])).out) as { tls: { byPattern: Record<string, number>; failureLineCount: number; failureLines: { line: number; causes: string[]; incomingTlsAlert: number | null }[] } };
  assert.deepEqual(j.tls.byPattern, { 'nlb-tls-alert': 1, 'nlb-tls-incomplete': 1 });
  assert.equal(j.tls.failureLineCount, 2);
  assert.deepEqual(j.tls.failureLines.map((l) => [l.line, l.causes, l.incomingTlsAlert]), [[2, ['nlb-tls-client-alert'], 48]]);
});

test('Classic LB log: its own errors (HTTP 503, a TCP connection never passed to an instance) with the catalogue cause and the AWS page', async (t) => {
  const d = tmp(t);
  const f = join(d, 'clb.log');
  const doc = readFileSync(join(fixtures, 'clb-doc.log'), 'utf8').trim();
  const lines = [
    doc,
    '2015-05-13T23:39:44.945958Z my-loadbalancer 192.168.131.39:2818 - -1 -1 -1 503 - 0 0 "GET http://www.example.com:80/a HTTP/1.1" "curl/7.38.0" - -',
    '2015-05-13T23:39:45.945958Z my-loadbalancer 192.168.131.39:2819 - -1 -1 -1 - - 57 0 "- - - " "-" - -',
  ];
  writeFileSync(f, `${lines.join('\n')}\n`);
  const { code, out, err } = await run([f]);
  assert.equal(code, 0);
  assert.equal(err, '');
  assert.match(out, /Access logs \(ALB\/CLB\): 6 requests, 1 with an error status, 1 5xx/);
  assert.match(out, /^ {2}503-no-targets \(1\): the load balancer answered 503 itself: there was no instance to send the request to$/m);
  assert.match(out, /^ {4}AWS: https:\/\/docs\.aws\.amazon\.com\/elasticloadbalancing\/latest\/classic\/ts-elb-error-message\.html#ts-elb-errorcodes-http503$/m);
  assert.match(out, /^ {2}clb-tcp-not-dispatched \(1\): the Classic Load Balancer logged a TCP\/SSL connection it never passed to an instance/m);
  assert.match(out, /^ {4}AWS: https:\/\/docs\.aws\.amazon\.com\/elasticloadbalancing\/latest\/classic\/access-log-collection\.html#access-log-entry-syntax$/m);
  assert.match(out, /Error lines: 5xx and the load balancer's own 4xx \(2 of 2\)/);
  assert.match(out, /clb\.log:6 2015-05-13T23:39:45\.945958Z elb - target - 192\.168\.131\.39:2819 -> - times -1\/-1\/-1 "- - - "/);
});
