// The path model end to end on built captures: client → ALB (10.0.1.4) → NLB (10.0.3.5:80) →
// target (10.0.2.9:8080), the NLB in both NAT modes (client IP preservation on: the ALB's
// source ip:port reaches the target; off, the AWS default for IP targets: the NLB's own address
// and a port of its own), mirrored on every subset of legs the way AWS users can (the ALB's ENI,
// the target's ENI, both), with the ALB access log (and VPC flow logs for syn-drop). Each
// combination must name the failed request once, with the right verdict, and nothing else at
// error or warning severity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { Talk } from '../flow/packets.js';
import { T0, writeScenario } from './scenario.js';
import { ALB, build, CLIENT, D, EXPECT, OK, req, TARGET, TRACE_FAIL, TRACE_WARM, VIP, type Mirror, type Nat, type Story } from './path-scenarios.js';

const ALB_FRONT = '203.0.113.4';

async function run(story: Story, nat: Nat, mirror: Mirror): Promise<Finding[]> {
  const b = build(story, nat);
  const withLb = mirror !== 'target';
  const withTarget = mirror !== 'lb';
  const s = writeScenario(`${story}-${nat}-${mirror}`, withLb ? b.front : [], withLb ? b.lb : [], b.log, withTarget ? b.tgt : []);
  const flowLogs: string[] = [];
  if (b.flow.length) {
    const p = join(s.dir, 'flow.log');
    writeFileSync(p, `${b.flow.join('\n')}\n`);
    flowLogs.push(p);
  }
  const { report } = await analyze({ captures: [s.capture], albLogs: [s.albLog], flowLogs });
  return report.findings;
}

for (const story of Object.keys(EXPECT) as Story[]) {
  for (const nat of ['preserve', 'snat'] as const) {
    for (const mirror of ['lb', 'target', 'all'] as const) {
      test(`${story}, NLB ${nat}, mirrored ${mirror}: one ${EXPECT[story]} finding, nothing else`, async () => {
        const fs = await run(story, nat, mirror);
        const loud = fs.filter((f) => f.severity !== 'info');
        assert.deepEqual(
          loud.map((f) => `${f.kind} ${f.request?.path}`),
          [`${EXPECT[story]} /orders`],
          fs.map((f) => `${f.kind}: ${f.summary} [${f.legs.map((l) => `${l.role}:${l.seen ? 'seen' : '-'}`).join(' ')}]`).join('\n'),
        );
        const f = loud[0]!;
        assert.equal(f.status, story === 'slow-target' || story === 'syn-drop' ? 504 : 502);
        const seen = Object.fromEntries(f.legs.map((l) => [l.role, l.seen]));
        if (story !== 'syn-drop') {
          assert.equal(seen.lb, mirror !== 'target', 'lb leg seen');
          assert.equal(seen.target, mirror !== 'lb', 'target leg seen');
        }
        if (mirror === 'all' && story !== 'syn-drop') {
          const t = f.legs.find((l) => l.role === 'target')!;
          assert.ok(t.joinedBy !== null, 'the target leg names its join');
        }
      });
    }
  }
}

test('legs through an NLB are never joined by ports alone: same client ip:port, different sequence numbers', async () => {
  // Client IP preservation keeps the ALB's ip:port on both legs, but these are two different
  // connections (another connection reused the port on the far side): not one path.
  const lb = new Talk([ALB, 41000], VIP, 31000, 38777);
  const other = new Talk([ALB, 41000], TARGET, 990000, 998888);
  lb.handshake(T0 + 0.998);
  lb.send(0, T0 + 1, req('/warm', TRACE_WARM));
  lb.send(1, T0 + 1.004, OK);
  other.handshake(T0 + 0.9982);
  other.send(0, T0 + 1.0002, req('/other', 'Root=1-6924a8a0-cccccccccccccccccccccccc'));
  other.send(1, T0 + 1.004, OK);
  const tFail = T0 + 40;
  lb.send(0, tFail, req('/orders', TRACE_FAIL));
  lb.rst(1, tFail + 0.0003, false);
  const s = writeScenario('ports-alone', [], [lb], [], [other]);
  const { report } = await analyze({ captures: [s.capture] });
  assert.equal(report.findings.length, 1);
  const f = report.findings[0]!;
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.legs.find((l) => l.role === 'target')!.seen, false, 'the other connection is not this path\'s target leg');
});

test('a connection picked up mid-stream on both sides of the NLB is joined by its first segment (tcp-first-payload), never by ports', async () => {
  // The capture starts after the handshake: no SYN on either leg. The NLB (no client IP
  // preservation) rewrote address and port; sequence numbers and payload passed unchanged.
  const lb = new Talk([ALB, 41000], VIP, 31000, 38777);
  const tgt = new Talk([VIP[0], 50123], TARGET, 31000, 38777);
  lb.send(0, T0 + 1, req('/warm', TRACE_WARM));
  tgt.send(0, T0 + 1 + D, req('/warm', TRACE_WARM));
  tgt.send(1, T0 + 1.004, OK);
  lb.send(1, T0 + 1.004 + D, OK);
  const tFail = T0 + 40;
  lb.send(0, tFail, req('/orders', TRACE_FAIL));
  lb.rst(1, tFail + 0.0003, false);
  const s = writeScenario('midstream', [], [lb], [], [tgt]);
  const { report } = await analyze({ captures: [s.capture] });
  assert.equal(report.findings.length, 1, report.findings.map((f) => f.kind).join());
  const f = report.findings[0]!;
  assert.equal(f.kind, 'idle-timeout-reset');
  const t = f.legs.find((l) => l.role === 'target')!;
  assert.equal(t.seen, true);
  assert.equal(t.joinedBy?.key, 'tcp-first-payload');
  assert.equal(f.confidence, 'high', 'the target leg shows the request never arrived');
});

test('mid-stream legs whose first segments differ are not joined', async () => {
  const lb = new Talk([ALB, 41000], VIP, 31000, 38777);
  const other = new Talk([VIP[0], 50123], TARGET, 31000, 38777);
  lb.send(0, T0 + 1, req('/warm', TRACE_WARM));
  other.send(0, T0 + 1 + D, req('/other', TRACE_WARM)); // same numbers, other bytes
  lb.send(0, T0 + 40, req('/orders', TRACE_FAIL));
  lb.rst(1, T0 + 40.0003, false);
  const s = writeScenario('midstream-other', [], [lb], [], [other]);
  const { report } = await analyze({ captures: [s.capture] });
  const f = report.findings.find((x) => x.kind === 'idle-timeout-reset' || x.request?.path === '/orders')!;
  assert.equal(f.legs.find((l) => l.role === 'target')!.seen, false);
});

test('no logs: a client 504 and the SYNs the load balancer sent meanwhile are one incident, even before its address is known as the load balancer\'s', async () => {
  // The ALB's ENI mirrored, no access or flow log (live has none): the request never went out,
  // so no request behind the ALB names its address; its unanswered SYNs are still the attempt
  // behind the client's 504 (not on the client's side of it), not a second incident.
  // The ALB's client-facing address is not the one it opens connections from (as in AWS and the
  // lab): no address both accepts and opens connections.
  const b = build('syn-drop', 'snat');
  const tFail = T0 + 40;
  const front = new Talk([CLIENT, 50001], [ALB_FRONT, 443], 11000, 21000);
  front.handshake(tFail - 0.004);
  front.send(0, tFail - 0.002, 'GET /orders HTTP/1.1\r\nHost: api.example.com\r\n\r\n');
  front.ack(1, tFail - 0.0015);
  front.send(1, tFail + 2.001, 'HTTP/1.1 504 Gateway Time-out\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  front.ack(0, tFail + 2.0015);
  const s = writeScenario('syn-drop-nolog', [front], b.lb, [], []);
  const { report } = await analyze({ captures: [s.capture] });
  const loud = report.findings.filter((f) => f.severity !== 'info');
  assert.deepEqual(
    loud.map((f) => `${f.kind} ${f.status} ${f.request?.path}`),
    ['target-connect-timeout 504 /orders'],
    report.findings.map((f) => `${f.kind}: ${f.summary}`).join('\n'),
  );
  assert.equal(loud[0]!.legs.find((l) => l.role === 'client')!.seen, true);
});
