// analyze with logs and no capture (the usual first step): what the logs prove, grouped per
// incident, what they cannot tell apart, and what to capture next — through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-harness.js';
import { describeMirrorFilter, parseMirrorFilter } from '../../src/capture/filter.js';

const T0 = Date.parse('2026-11-25T14:02:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

function albLine(ms: number, target: string, times: string, elb: number, waitedMs = 3, reason = '-'): string {
  return (
    `https ${iso(ms)} app/shop-alb/50dc6c495c0c9188 198.51.100.${(ms % 200) + 1}:${40000 + (ms % 1000)} ${target} ${times} ${elb} - 120 0 ` +
    `"GET https://shop.example.com:443/api/cart HTTP/1.1" "curl/8" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067 ` +
    `"Root=1-6b074829-e5db896de010e9049da886d5" "shop.example.com" "-" 0 ${iso(ms - waitedMs)} "forward" "-" "${reason}" "${target}" "-" "-" "-" TID_1 "-" "-" "-"`
  );
}

// AWS's own Lambda failure example (aws-facts §3.4), one line.
const AWS_LAMBDA_502 =
  'http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "LambdaInvalidResponse" "-" "-" "-" "-"';

function fixture(t: { after: (fn: () => void) => void }): { alb: string; flow: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ml-logs-only-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  for (let i = 0; i < 1214; i++) lines.push(albLine(T0 + Math.floor((i * 420_000) / 1214), '10.0.2.30:8080', '-1 -1 -1', 502));
  for (let i = 0; i < 50; i++) lines.push(albLine(T0 + i * 1000 + 7, '10.0.2.31:8080', '0.000 0.004 0.000', 200).replace(' 200 - ', ' 200 200 '));
  lines.push(albLine(T0 + 30_000, '10.0.2.32:8080', '-1 -1 -1', 504, 10_001), albLine(T0 + 90_000, '10.0.2.32:8080', '-1 -1 -1', 504, 10_002));
  lines.push(AWS_LAMBDA_502);
  const alb = join(dir, 'alb.log');
  writeFileSync(alb, `${lines.join('\n')}\n`);
  const s = Math.floor(T0 / 1000);
  const flow = join(dir, 'flow.log');
  writeFileSync(
    flow,
    [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      `2 123456789012 eni-0target 10.0.1.10 10.0.2.32 41000 8080 6 3 180 ${s} ${s + 60} ACCEPT OK`,
      `2 123456789012 eni-0target 10.0.2.32 10.0.1.10 8080 41000 6 3 180 ${s} ${s + 60} REJECT OK`,
    ].join('\n') + '\n',
  );
  return { alb, flow };
}

test('analyze with an ALB log and no capture: incidents, what the log proves, what it cannot tell apart, what to capture next', async (t) => {
  const { alb, flow } = fixture(t);
  const r = await runCli(['analyze', '--alb-log', alb, '--flow-log', flow]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Logs only \(no capture given\): 1 217 error lines in 3 incidents/m);
  assert.doesNotMatch(r.out, /capture does not cover/);
  // The Lambda example: decided by error_reason, the AWS cause quoted with its link, nothing to capture.
  assert.match(r.out, /#1 lambda-error 502 {2}\(error, high confidence\)/);
  assert.match(r.out, /error_reason LambdaInvalidResponse \(1×\): the Lambda function response is malformed/);
  assert.match(r.out, /why \(AWS\): The target is a Lambda function .* — https:\/\/docs\.aws\.amazon\.com\/elasticloadbalancing\/latest\/application\/load-balancer-troubleshooting\.html#http-502-issues/);
  // The burst of 502s: aggregated, undecided, with the candidates and the capture plan.
  assert.match(r.out, /#2 undecided 502 .*\n.*\n {2}1 214 × 502 with target_status - and -1 processing times on target 10\.0\.2\.30:8080 between 2026-11-25 14:02 and 14:08 UTC: the load balancer answered 502 itself and never dispatched the request/);
  assert.match(r.out, /the log fits these documented causes and cannot tell them apart:\n {4}1\. target refused the connection \(RST to the SYN\)/);
  assert.match(r.out, /capture next, to settle it:\n {4}mirror the target's network interface \(10\.0\.2\.30, port 8080\)/);
  assert.match(r.out, /mirrorlens aws mirror plan --source 10\.0\.2\.30 --target LISTENER-ENI --filter capture-f2\.yaml --name incident-f2/);
  // The 504s after 10 s: the flow log's REJECT of the target's replies decides the network ACL.
  assert.match(r.out, /#3 return-path-blocked 504 {2}\(error, medium confidence\)/);
  assert.match(r.out, /2 × 504 with target_status - and -1 processing times on target 10\.0\.2\.32:8080 between 2026-11-25 14:02 and 14:03 UTC/);
  assert.match(r.out, /the load balancer waited 10\.0 s before answering \(its 10 s connect timeout\)/);
  assert.match(r.out, /flow-log .*10\.0\.2\.32:8080 → 10\.0\.1\.10:41000 REJECT/);
  assert.match(r.out, /why \(AWS\): The network ACL for the subnet did not allow traffic from the targets to the load balancer nodes on the ephemeral ports/);
});

test('the JSON report carries the occurrences, candidates and a filter file the project\'s own parser accepts; --fail-on error fails', async (t) => {
  const { alb } = fixture(t);
  const r = await runCli(['analyze', '--alb-log', alb, '--json', '--fail-on', 'error']);
  assert.equal(r.code, 1, r.err);
  const rep = JSON.parse(r.out) as { findings: { kind: string; occurrences: { count: number; firstTime: string; lastTime: string } | null; candidates: { id: string }[]; causes: { id: string; source: string }[]; captureNext: { filterYaml: string; filterFile: string; seconds: number } | null }[] };
  const f = rep.findings.find((x) => x.kind === 'undecided')!;
  assert.deepEqual(f.occurrences, { count: 1214, firstTime: '2026-11-25T14:02:00.000000Z', lastTime: '2026-11-25T14:08:59.654000Z' });
  assert.deepEqual(f.candidates.map((c) => c.id), ['502-rst-on-connect', '502-icmp-unreachable', '502-target-tls-handshake', '502-closed-with-request-outstanding']);
  assert.equal(f.captureNext!.seconds, 600);
  assert.match(describeMirrorFilter(parseMirrorFilter(f.captureNext!.filterYaml, f.captureNext!.filterFile)).join('\n'), /egress 100 accept proto 6 10\.0\.2\.30\/32:8080-8080/);
  // Without the flow log the 504s stay undecided between the two documented connect-timeout causes.
  const g = rep.findings.find((x) => x.kind === 'undecided' && x.candidates[0]?.id === '504-connect-timeout')!;
  assert.deepEqual(g.candidates.map((c) => c.id), ['504-connect-timeout', '504-nacl-return-path']);
});

test('--around selects the incident window among the log lines', async (t) => {
  const { alb } = fixture(t);
  const r = await runCli(['analyze', '--alb-log', alb, '--around', '2018-11-30T22:23:00Z±1m', '--json']);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as { findings: { kind: string }[] };
  assert.deepEqual(rep.findings.map((f) => f.kind), ['lambda-error']);
});
