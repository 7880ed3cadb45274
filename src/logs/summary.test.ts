import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogsSummariser } from './summary.js';
import { parseAlbLine, type AlbLogRecord } from './alb.js';
import { compileFlowFormat, parseFlowLine, type FlowLogRecord } from './flow.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');
const lines = (name: string): string[] => readFileSync(join(fixtures, name), 'utf8').split('\n').filter((l) => l.length > 0);

const FLOW_FMT = compileFlowFormat(['version', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status', 'reject-reason']);
function flow(src: string, dst: string, sport: number, dport: number, action: string, opts: { proto?: number; eni?: string; reason?: string } = {}): FlowLogRecord {
  const r = parseFlowLine(`8 ${opts.eni ?? 'eni-1'} ${src} ${dst} ${sport} ${dport} ${opts.proto ?? 6} 3 180 1700000000 1700000060 ${action} OK ${opts.reason ?? '-'}`, FLOW_FMT);
  assert.equal(r.kind, 'flow');
  return r as FlowLogRecord;
}

test('the AWS ping example: ACCEPT in, REJECT back → network ACL', () => {
  const s = new LogsSummariser();
  for (const l of lines('flow-v2-doc.log')) s.add(parseFlowLine(l) as FlowLogRecord);
  const f = s.report().flow!;
  assert.equal(f.records, 7);
  assert.equal(f.accepted, 3);
  assert.equal(f.rejected, 2);
  assert.equal(f.noData, 1);
  assert.equal(f.skipData, 1);
  const nacl = f.findings.filter((x) => x.verdict === 'network-acl');
  assert.equal(nacl.length, 1);
  assert.equal(nacl[0]!.client, '203.0.113.12');
  assert.equal(nacl[0]!.server, '172.31.16.139');
  assert.match(nacl[0]!.detail, /^203\.0\.113\.12 → 172\.31\.16\.139 ACCEPT but 172\.31\.16\.139 → 203\.0\.113\.12 REJECT: a network ACL/);
  const sg = f.findings.filter((x) => x.verdict === 'security-group-or-network-acl');
  assert.equal(sg.length, 1);
  assert.equal(sg[0]!.server, '172.31.9.12:3389');
  assert.deepEqual(
    f.byInterface.map((i) => [i.interfaceId, i.accepted, i.rejected, i.noData, i.skipData]),
    [['eni-1235b8ca123456789', 3, 2, 1, 0], ['eni-11111111aaaaaaaaa', 0, 0, 0, 1]],
  );
});

test('a TCP conversation accepted both ways is not a finding', () => {
  const s = new LogsSummariser();
  s.add(flow('10.0.0.5', '10.0.1.9', 40000, 443, 'ACCEPT'));
  s.add(flow('10.0.1.9', '10.0.0.5', 443, 40000, 'ACCEPT'));
  const f = s.report().flow!;
  assert.deepEqual(f.findings, []);
  assert.deepEqual(f.findingCounts, { allowed: 1 });
});

test('request REJECT with no accepted traffic → security group or network ACL; BPA named', () => {
  const s = new LogsSummariser();
  s.add(flow('198.51.100.7', '10.0.1.9', 50000, 22, 'REJECT'));
  s.add(flow('198.51.100.8', '10.0.1.9', 50001, 443, 'REJECT', { reason: 'BPA' }));
  const f = s.report().flow!;
  assert.deepEqual(f.findings.map((x) => x.verdict).sort(), ['block-public-access', 'security-group-or-network-acl']);
});

test('expected traffic: absent → routing; rejected; one-way with rejected replies → network ACL; both ways', () => {
  const s = new LogsSummariser({
    expect: [
      { src: '10.0.0.5', dst: '10.9.9.9', dstPort: 443 },
      { src: '198.51.100.7', dst: '10.0.1.9', dstPort: 22 },
      { src: '10.0.0.5', dst: '10.0.1.9', dstPort: 8080 },
      { src: '10.0.0.5', dst: '10.0.1.9', dstPort: 443 },
    ],
  });
  s.add(flow('198.51.100.7', '10.0.1.9', 50000, 22, 'REJECT'));
  s.add(flow('10.0.0.5', '10.0.1.9', 40001, 8080, 'ACCEPT'));
  s.add(flow('10.0.1.9', '10.0.0.5', 8080, 40001, 'REJECT'));
  s.add(flow('10.0.0.5', '10.0.1.9', 40000, 443, 'ACCEPT'));
  s.add(flow('10.0.1.9', '10.0.0.5', 443, 40000, 'ACCEPT'));
  const ex = s.report().flow!.expectations;
  assert.deepEqual(ex.map((x) => x.verdict), ['absent', 'rejected', 'accepted-one-way', 'accepted']);
  assert.match(ex[0]!.detail, /Check routing first/);
  assert.match(ex[2]!.detail, /network ACL/);
});

test('ALB: counts by status, target, error reason, minute; 5xx kept with meaning', () => {
  const s = new LogsSummariser({ maxErrorLines: 1 });
  for (const l of lines('alb-2023-doc.log')) s.add(parseAlbLine(l) as AlbLogRecord);
  const base = lines('alb-current-doc.log')[0]!;
  const r502 = parseAlbLine(base.replace('0.000 0.001 0.000 200 200', '0.001 -1 -1 502 -').replace('"10.0.0.1:80" "200"', '"10.0.0.1:80" "-"')) as AlbLogRecord;
  s.add(r502);
  s.add(r502);
  const h = s.report().http!;
  assert.equal(h.requests, 9);
  assert.deepEqual(h.byElbStatusCode, { '200': 4, '101': 2, '502': 3 });
  assert.deepEqual(h.byTargetStatusCode, { '200': 4, '101': 2, '-': 3 });
  assert.deepEqual(h.byErrorReason, { LambdaInvalidResponse: 1 });
  assert.deepEqual(h.byPattern, { '502-lambda': 1, '502-target-closed': 2 });
  assert.equal(h.errors, 3);
  assert.equal(h.fiveXxCount, 3);
  assert.equal(h.errorLineCount, 3);
  assert.equal(h.errorLines.length, 1); // capped, all counted
  assert.equal(h.errorLines[0]!.pattern, '502-lambda');
  assert.deepEqual(h.byTarget[0], { target: '10.0.0.1:80', requests: 4, elb5xx: 2, target5xx: 0 });
  // The load balancer's own 4xx are listed too; the target's 404s are only counted.
  const s2 = new LogsSummariser();
  s2.add(parseAlbLine(base.replace('0.000 0.001 0.000 200 200', '0.001 0.002 -1 460 -')) as AlbLogRecord);
  s2.add(parseAlbLine(base.replace('0.000 0.001 0.000 200 200', '0.001 0.002 0.000 404 404')) as AlbLogRecord);
  const h2 = s2.report().http!;
  assert.deepEqual(h2.errorLines.map((l) => l.pattern), ['460-client-closed']);
  assert.equal(h2.errors, 2);
  assert.equal(h2.fiveXxCount, 0);
  assert.deepEqual(h.perMinute.map((m) => [m.minute, m.requests, m.elb5xx]), [['2018-07-02T22:23Z', 7, 2], ['2018-11-30T22:23Z', 2, 1]]);
});

test('TLS logs: NLB and ALB protocol spellings merge; mTLS failures in words', async () => {
  const { parseNlbLine } = await import('./nlb.js');
  const { parseAlbConnectionLine } = await import('./alb-conn.js');
  const s = new LogsSummariser();
  for (const l of lines('nlb-doc.log')) s.add(parseNlbLine(l) as never);
  for (const l of lines('alb-conn-doc.log')) s.add(parseAlbConnectionLine(l) as never);
  const t = s.report().tls!;
  assert.equal(t.connections, 4);
  assert.deepEqual(t.byTlsProtocol, { 'TLSv1.2': 4 });
  assert.deepEqual(t.verifyFailures, [{ code: 'ClientCertUntrusted', count: 1, meaning: 'the client certificate does not chain to a CA in the trust store' }]);
});
