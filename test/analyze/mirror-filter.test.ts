// analyze --mirror-filter: the AWS Traffic Mirror filter rules that `listen --filter` takes,
// applied to the mirrored packets inside the VXLAN encapsulation of the bundled lab capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-harness.js';

const EX = 'examples/idle-reset';
const BASE = ['analyze', `${EX}/idle-reset.pcapng`, '--keylog', `${EX}/keys.log`, '--alb-log', `${EX}/alb-access.log`, '--format', 'json'];

function withFilter(yaml: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ml-mf-'));
  const path = join(dir, 'filter.yaml');
  writeFileSync(path, yaml);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

type Out = { findings: { kind: string; missing: string[] }[]; stats: { packets: number; tcpConnections: number } };

test('a filter keeping only HTTPS drops the target leg: the 502 is then unexplained and says what is missing', async () => {
  const f = withFilter(['rules:', ...['ingress', 'egress'].flatMap((d) => [`  - {ruleNumber: 100, direction: ${d}, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: 443}`, `  - {ruleNumber: 200, direction: ${d}, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, sourcePorts: 443}`])].join('\n'));
  try {
    const all = JSON.parse((await runCli(BASE)).out) as Out;
    const r = await runCli([...BASE, '--mirror-filter', f.path]);
    assert.equal(r.code, 0, r.err);
    const only443 = JSON.parse(r.out) as Out;
    assert.deepEqual(all.findings.map((x) => x.kind), ['idle-timeout-reset']);
    assert.ok(only443.stats.tcpConnections < all.stats.tcpConnections);
    assert.deepEqual(only443.findings.map((x) => x.kind), ['unexplained']);
    assert.ok(only443.findings[0]!.missing.some((m) => /target-side/.test(m)));
  } finally {
    f.done();
  }
});

test('a filter file that does not parse is one clear error naming the file', async () => {
  const f = withFilter('rules: [ {ruleNumber: x');
  try {
    const r = await runCli([...BASE, '--mirror-filter', f.path]);
    assert.notEqual(r.code, 0);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, /filter\.yaml/);
  } finally {
    f.done();
  }
});
