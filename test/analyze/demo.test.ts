// `npm run demo`: the bundled lab example gives the idle-timeout-reset verdict, in every format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli as run } from '../cli-harness.js';

test('demo prints the idle-timeout-reset verdict for the 502, with the RST sender, idle time, evidence and fix', async () => {
  const { code, out, err } = await run(['demo']);
  assert.equal(code, 0, err);
  assert.match(err, /mirrorlens analyze examples\/idle-reset\/\S+\.pcapng --keylog examples\/idle-reset\/keys\.log --alb-log examples\/idle-reset\/alb-access\.log/);
  assert.match(out, /#1 idle-timeout-reset 502/);
  assert.match(out, /request: GET \/api\/checkout/);
  assert.match(out, /RST sent by 10\.0\.1\.20:80/);
  assert.match(out, /idle before the request: \d\.\d\d s/);
  assert.match(out, /alb-log +examples\/idle-reset\/alb-access\.log:2: .*elb_status 502 target_status -/);
  assert.match(out, /Enable TCP keepalive/);
  assert.match(out, /2 TLS sessions \(2 decrypted\)/);
  assert.ok(!out.includes('\x1b'), 'no colour when stdout is not a terminal');
});

test('demo --format json follows the report schema', async () => {
  const { code, out } = await run(['demo', '--format', 'json']);
  assert.equal(code, 0);
  const r = JSON.parse(out) as { schemaVersion: number; findings: { kind: string; status: number; resetBy: string; request: { time: string }; idleSeconds: number; evidence: { source: string }[] }[] };
  assert.equal(r.schemaVersion, 2);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.equal(f.kind, 'idle-timeout-reset');
  assert.equal(f.status, 502);
  assert.equal(f.resetBy, '10.0.1.20:80');
  assert.match(f.request.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(f.idleSeconds > 3);
  assert.deepEqual([...new Set(f.evidence.map((e) => e.source))].sort(), ['alb-log', 'http', 'packet']);
});

test('analyze on a file that is not a capture fails with one clear line', async () => {
  const { code, err } = await run(['analyze', 'package.json']);
  assert.equal(code, 4);
  assert.equal(err.trim().split('\n').length, 1);
  assert.match(err, /^mirrorlens analyze: package\.json.*not a (pcap|capture)/i);
});

test('demo exits as analyze does: 0 when it finds nothing, 1 only for what --fail-on names', async () => {
  // A directory whose capture holds no load-balancer error (--example is joined to examples/).
  const none = await run(['demo', '--example', '../test/fixtures/wire-lab']);
  assert.equal(none.code, 0, none.err);
  assert.match(none.out, /No load-balancer errors found/);
  const failing = await run(['demo', '--fail-on', 'error']);
  assert.equal(failing.code, 1, failing.err);
  assert.match(failing.out, /#1 idle-timeout-reset 502/);
  const noneFailing = await run(['demo', '--example', '../test/fixtures/wire-lab', '--fail-on', 'info']);
  assert.equal(noneFailing.code, 0, noneFailing.err);
  const bad = await run(['demo', '--format', 'yaml']);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
});
