import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAlbLine, type AlbLogRecord } from '../logs/alb.js';
import { parseFlowLine, type FlowLogRecord } from '../logs/flow.js';
import { parseNlbLine, type NlbLogRecord } from '../logs/nlb.js';
import { parseClbLine, type ClbLogRecord } from '../logs/clb.js';
import { describeMirrorFilter, parseMirrorFilter } from '../capture/filter.js';
import { incidentHeadline, incidentPlan, incidentProves, LogIncidents } from './logs-only.js';

const T0 = Date.parse('2026-11-25T14:02:00Z') / 1000;

/** An ALB line (33 fields) with the fields that matter as parameters; `at` seconds after 14:02:00. */
function alb(at: number, o: { target?: string; times?: string; elb?: string; tgt?: string; reason?: string; waited?: number; actions?: string } = {}): AlbLogRecord {
  const t = new Date((T0 + at) * 1000).toISOString().replace('Z', '000Z');
  const created = new Date((T0 + at - (o.waited ?? 0.003)) * 1000).toISOString().replace('Z', '000Z');
  const target = o.target ?? '10.0.2.30:8080';
  const line =
    `https ${t} app/shop-alb/50dc6c495c0c9188 198.51.100.${(at % 200) + 1}:${40000 + (at % 1000)} ${target} ${o.times ?? '-1 -1 -1'} ${o.elb ?? '502'} ${o.tgt ?? '-'} 120 0 ` +
    `"GET https://shop.example.com:443/api/cart HTTP/1.1" "curl/8" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067 ` +
    `"Root=1-6b074829-e5db896de010e9049da886d5" "shop.example.com" "-" 0 ${created} "${o.actions ?? 'forward'}" "-" "${o.reason ?? '-'}" "${target}" "${o.tgt ?? '-'}" "-" "-" TID_1 "-" "-" "-"`;
  const r = parseAlbLine(line);
  assert.equal(r.kind, 'alb', line);
  return r as AlbLogRecord;
}

test('1 214 × 502 with -1 times on one target in seven minutes: one incident, its headline, four candidates, a capture plan', () => {
  const li = new LogIncidents();
  for (let i = 0; i < 1214; i++) li.addAlb(alb(Math.floor((i * 420) / 1214)));
  li.addAlb(alb(3, { elb: '200', tgt: '200', times: '0.000 0.004 0.000' }));
  const [inc, ...rest] = li.incidents();
  assert.equal(rest.length, 0);
  assert.equal(incidentHeadline(inc!), '1 214 × 502 with target_status - and -1 processing times on target 10.0.2.30:8080 between 2026-11-25 14:02 and 14:08 UTC');
  assert.deepEqual(inc!.causes.map((c) => c.id), ['502-rst-on-connect', '502-icmp-unreachable', '502-target-tls-handshake', '502-closed-with-request-outstanding']);
  assert.equal(inc!.decided, null);
  assert.match(incidentProves(inc!)[0]!, /never dispatched the request: it could not open a connection to the target/);
  assert.equal(inc!.samples.length, 4);
  const plan = incidentPlan(inc!, 'f1')!;
  assert.match(plan.where, /10\.0\.2\.30, port 8080/);
  assert.equal(plan.seconds, 600);
  assert.ok(plan.commands.some((c) => c.startsWith('mirrorlens aws mirror plan --source 10.0.2.30 --target LISTENER-ENI --filter capture-f1.yaml --name incident-f1')));
  assert.ok(plan.commands.some((c) => c.includes('--target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067')));
  // The filter is one the project's own parser (listen --filter, aws mirror plan --filter) accepts.
  const f = describeMirrorFilter(parseMirrorFilter(plan.filterYaml, plan.filterFile)).join('\n');
  assert.match(f, /10\.0\.2\.30\/32/);
  assert.match(f, /ingress 110 accept proto 1 /);
  assert.match(plan.also.join(' '), /flow logs of 10\.0\.2\.30/);
});

test('the same cause on the same target an hour later is another incident; another target is another incident', () => {
  const li = new LogIncidents();
  li.addAlb(alb(0));
  li.addAlb(alb(3600));
  li.addAlb(alb(10, { target: '10.0.2.31:8080' }));
  const incs = li.incidents();
  assert.deepEqual(incs.map((i) => [i.targetAddr, i.count]), [['10.0.2.30', 1], ['10.0.2.31', 1], ['10.0.2.30', 1]]);
  assert.match(incidentHeadline(incs[0]!), /^1 × 502 .* at 2026-11-25 14:02 UTC$/);
});

test('error_reason decides a Lambda 502 from the log alone; nothing to capture', () => {
  const li = new LogIncidents();
  li.addAlb(alb(1, { target: '-', times: '0.000 0.001 0.000', reason: 'LambdaInvalidResponse' }));
  const [inc] = li.incidents();
  assert.equal(inc!.decided?.id, '502-lambda');
  assert.equal(inc!.decidedBy, 'error_reason LambdaInvalidResponse');
  assert.ok(incidentProves(inc!).some((p) => /LambdaInvalidResponse \(1×\): the Lambda function response is malformed/.test(p)));
  assert.equal(incidentPlan(inc!, 'f1'), null);
});

function flow(src: string, dst: string, action: string): FlowLogRecord {
  const [sa, sp] = src.split(':');
  const [da, dp] = dst.split(':');
  const r = parseFlowLine(`2 123456789012 eni-0target ${sa} ${da} ${sp} ${dp} 6 3 180 ${T0 - 30} ${T0 + 60} ${action} OK`);
  assert.equal(r.kind, 'flow');
  return r as FlowLogRecord;
}

test('a 504 after 10 s with nothing dispatched, and the target\'s flow log rejecting its replies: the network ACL on the return path', () => {
  const li = new LogIncidents();
  li.addAlb(alb(5, { elb: '504', waited: 10.001 }));
  li.addAlb(alb(25, { elb: '504', waited: 10.002 }));
  li.addFlow(flow('10.0.1.10:41000', '10.0.2.30:8080', 'ACCEPT'));
  li.addFlow(flow('10.0.2.30:8080', '10.0.1.10:41000', 'REJECT'));
  const [inc] = li.incidents();
  assert.deepEqual(inc!.causes.map((c) => c.id), ['504-connect-timeout', '504-nacl-return-path']);
  assert.equal(inc!.decided?.id, '504-nacl-return-path');
  const proves = incidentProves(inc!);
  assert.ok(proves.some((p) => p === 'the load balancer waited 10.0 s before answering (its 10 s connect timeout)'), proves.join('\n'));
  assert.ok(proves.some((p) => /REJECTs its replies from port 8080/.test(p)));
  assert.equal(inc!.flowRows.length, 1);
});

test('a 504 whose SYNs the flow log rejects on the way in: a security group or network ACL, not the return path', () => {
  const li = new LogIncidents();
  li.addAlb(alb(5, { elb: '504', waited: 10 }));
  li.addFlow(flow('10.0.1.10:41000', '10.0.2.30:8080', 'REJECT'));
  assert.equal(li.incidents()[0]!.decided?.id, '504-connect-timeout');
});

test('NLB TLS log lines with a client alert are an incident of their own', () => {
  const li = new LogIncidents();
  const r = parseNlbLine('tls 2.0 2026-11-25T14:03:00 net/shop-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 48 arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - - - - shop.example.com - - -');
  assert.equal(r.kind, 'nlb');
  li.addNlb(r as NlbLogRecord);
  const [inc] = li.incidents();
  assert.equal(inc!.decided?.id, 'nlb-tls-client-alert');
  assert.match(incidentHeadline(inc!), /^1 × TLS connection failure with the client's TLS alert unknown_ca on net\/shop-nlb\/c6e77e28c25b2234 at 2026-11-25 14:03 UTC$/);
});

test('a 504 the target waited out: the idle timeout read from the wait', () => {
  const li = new LogIncidents();
  li.addAlb(alb(60, { elb: '504', times: '0.001 -1 -1', waited: 60.002 }));
  const [inc] = li.incidents();
  assert.deepEqual(inc!.causes.map((c) => c.id), ['504-target-idle-timeout', '504-content-length-over-body']);
  assert.ok(incidentProves(inc!).includes('the load balancer waited 60.0 s before answering: its idle timeout is about 60.0 s'));
  assert.match(incidentHeadline(inc!), /with target_status - and processing times request 0\.001 s, target -1, response -1 on target/);
});

test('Classic LB TCP/SSL listener lines: one never passed to an instance (times -1) is an undecided incident; a completed one is none', () => {
  const li = new LogIncidents();
  const line = (backend: string, times: string) => parseClbLine(`2026-11-25T14:03:00.000000Z shop-clb 192.168.131.39:2817 ${backend} ${times} - - 57 0 "- - - " "-" - -`) as ClbLogRecord;
  li.addClb(line('10.0.0.1:80', '0.001065 0.000015 0.000023'));
  assert.equal(li.incidents().length, 0);
  li.addClb(line('-', '-1 -1 -1'));
  const [inc] = li.incidents();
  assert.equal(inc!.pattern, 'clb-tcp-not-dispatched');
  assert.deepEqual(inc!.causes.map((c) => c.id), ['clb-tcp-not-dispatched']);
  assert.equal(incidentHeadline(inc!), '1 × TCP/SSL connection with -1 processing times, target:port - at 2026-11-25 14:03 UTC');
});
