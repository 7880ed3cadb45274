// The lab's generated pieces that need no root: the ALB log_format has the 33 ALB fields in order
// and a line in that shape parses with our ALB parser; flow-log lines parse as VPC flow logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALB_LOG_FORMAT, nginxConfig } from '../../src/lab/nginx.js';
import { flowLogLines } from '../../src/lab/flowlog.js';
import type { Pkt } from '../../src/lab/packets.js';
import { parseAlbLine } from '../../src/logs/alb.js';
import { parseFlowLine } from '../../src/logs/flow.js';
import { isLineError } from '../../src/logs/types.js';
import { CAUSES } from '../../src/logs/causes/index.js';
import { findScenario } from '../../src/lab/scenarios.js';

test('the ALB log_format has the 33 ALB access-log fields', () => {
  // Quoted fields may hold spaces: count tokens the way the ALB parser does.
  const tokens = ALB_LOG_FORMAT.match(/"[^"]*"|\S+/g) ?? [];
  assert.equal(tokens.length, 33);
  assert.equal(tokens[8], '$alb_status');
  assert.equal(tokens[12], '"$alb_request"');
  assert.equal(tokens[17], '"$alb_trace_id"');
});

test('a line in the shape nginx writes parses as an ALB access-log line', () => {
  // What nginx wrote in a lab idle-reset run for the failed request (fields 1-33).
  const line =
    'https 2026-11-25T20:42:17.327000Z app/mlab-alb/50dc6c495c0c9188 198.51.100.10:37826 10.0.1.20:80 0.000 -1 -1 502 - 104 300 "GET https://alb.mlab.test:443/api/checkout HTTP/1.1" "curl/7.88.1 mirrorlens-lab" TLS_AES_256_GCM_SHA384 TLSv1.3 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mlab-targets/73e2d6bc24d8a067 "Root=1-6b074829-e5db896de010e9049da886d5" "alb.mlab.test" "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 0 2026-11-25T20:42:17.326000Z "forward" "-" "-" "10.0.1.20:80" "-" "-" "-" TID_555917513f5a3 "-" "-" "-"';
  const r = parseAlbLine(line);
  assert.ok(!isLineError(r), JSON.stringify(r));
  assert.equal(r.fieldCount, 33);
  assert.equal(r.elbStatusCode, 502);
  assert.equal(r.targetStatusCode, null);
  assert.equal(r.requestProcessingSeconds, 0);
  assert.equal(r.targetProcessingSeconds, null);
  assert.equal(r.path, '/api/checkout');
  assert.equal(r.traceId, 'Root=1-6b074829-e5db896de010e9049da886d5');
});

test('nginx config: trace-id hex table covers the run and the log goes where asked', () => {
  const conf = nginxConfig({
    runDir: '/run/x', accessLog: '/out/alb-access.log', errorLog: '/out/e.log', cert: '/c', key: '/k', albIdleSeconds: 30, readTimeoutSeconds: 2,
    connectTimeoutSeconds: 2, keepaliveConnections: 16, workers: 1, startEpochSeconds: 1795639332, traceSpanSeconds: 10, runId: 'abcdef012345',
  });
  assert.match(conf, /^\s+1795639332 6b074824;$/m);
  assert.match(conf, /^\s+1795639342 6b07482e;$/m);
  assert.match(conf, /access_log \/out\/alb-access\.log alb;/);
  assert.match(conf, /proxy_next_upstream off;/);
  assert.match(conf, /proxy_set_header Connection "";/);
  assert.match(conf, /keepalive 16;/);
  assert.match(conf, /"~\^499:" 460;/, "nginx's 499 is ALB's 460");
  assert.match(conf, /"~\^200:\[0-9\]\+:\[0-9\]\+\$" 504;/, 'a body short of its Content-Length is logged 504');
  assert.match(conf, /proxy_buffer_size 32k;/, "the ALB's 32 KB response header limit");
});

function pkt(p: Partial<Pkt>): Pkt {
  return { time: 0, side: 'alb-target-side', src: '', sport: 0, dst: '', dport: 0, flags: 0, len: 0, seq: 0, ack: 0, stream: 0, uris: [], statuses: [], headerLines: [], responseLines: [], contentLength: null, tlsAlerts: [], tlsHandshake: [], alpn: [], ...p };
}

test('flow-log lines: each ENI with the addresses it saw (the ALB\'s before the NAT, the target\'s after), the SYNs the target\'s security group dropped REJECT, in the default v2 format', () => {
  const pkts = [
    pkt({ time: 100.2, src: '10.0.1.10', sport: 40000, dst: '10.0.1.20', dport: 80, flags: 2 }),
    pkt({ time: 101.2, src: '10.0.1.10', sport: 40000, dst: '10.0.1.20', dport: 80, flags: 2 }),
    pkt({ time: 200.1, src: '10.0.1.10', sport: 40002, dst: '10.0.1.20', dport: 80, flags: 2 }),
    pkt({ time: 200.1, src: '10.0.1.20', sport: 80, dst: '10.0.1.10', dport: 40002, flags: 18 }),
    pkt({ time: 200.1, side: 'target-eni', src: '10.0.1.20', sport: 51234, dst: '10.0.2.30', dport: 8080, flags: 2 }),
  ];
  // The first connection's SYNs after the NLB's source NAT, dropped at the target's ENI.
  const dropped = [
    { time: 100.2, src: '10.0.1.20', sport: 61000, dst: '10.0.2.30', dport: 8080 },
    { time: 101.2, src: '10.0.1.20', sport: 61000, dst: '10.0.2.30', dport: 8080 },
  ];
  const lines = flowLogLines(pkts, dropped);
  assert.equal(lines.length, 5);
  const recs = lines.map((l) => parseFlowLine(l));
  for (const r of recs) assert.ok(!isLineError(r), JSON.stringify(r));
  assert.equal(lines[0], '2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.10 10.0.1.20 40000 80 6 2 120 100 102 ACCEPT OK');
  assert.ok(lines.includes('2 123456789012 eni-0fedcba9876543210 10.0.1.20 10.0.2.30 61000 8080 6 2 120 100 102 REJECT OK'));
  assert.ok(lines.some((l) => / eni-0fedcba9876543210 10\.0\.1\.20 10\.0\.2\.30 51234 8080 6 1 60 200 201 ACCEPT OK$/.test(l)));
});

test('every lab scenario the verdict catalogue names exists, and proves a verdict of that cause', () => {
  for (const c of CAUSES) {
    if (!c.packets?.lab) continue;
    for (const name of c.packets.lab.split(',').map((x) => x.trim())) {
      const sc = findScenario(name);
      assert.ok(sc, `${c.id}: no lab scenario '${name}'`);
      assert.ok(sc.expectKind !== null && c.packets.verdicts.includes(sc.expectKind), `${c.id}: scenario ${name} expects ${sc.expectKind}, not one of ${c.packets.verdicts.join(', ')}`);
    }
  }
});
