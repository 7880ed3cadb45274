/**
 * The store from the command line, embedded (no server): analyze --store and logs --store write,
 * query asks (table, --json, --csv, filters, sql), analyze --store explains from the records.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../cli-harness.js';

const ex = join(import.meta.dirname, '../../examples/idle-reset');
const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-store-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const store = join(tmp, 'records');

test('analyze --store and logs --store write; query and analyze --store read', async () => {
  const a = await runCli(['analyze', join(ex, 'idle-reset.pcapng'), '--keylog', join(ex, 'keys.log'), '--store', store, '--node', 'tester']);
  assert.equal(a.code, 0, a.err);
  assert.match(a.err, /recording to .* as node tester/);
  assert.match(a.err, /store .*: \d+ records, \d+ stored/);
  const l = await runCli(['logs', join(ex, 'alb-access.log'), '--store', store, '--node', 'logs']);
  assert.equal(l.code, 0, l.err);

  const f = await runCli(['query', 'findings', '--store', store, '--json']);
  assert.equal(f.code, 0, f.err);
  const findings = f.out.trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
  assert.ok(findings.length >= 1);

  const tx = await runCli(['query', 'transactions', '--store', store, '--status', '5xx', '--path', '/api', '--csv']);
  assert.equal(tx.code, 0, tx.err);
  const lines = tx.out.trim().split('\n');
  assert.match(lines[0]!, /^ts,node,uid,/);
  assert.ok(lines.length >= 2, tx.out);
  assert.ok(lines.slice(1).every((x) => x.includes('/api')));

  const none = await runCli(['query', 'transactions', '--store', store, '--path', '/nothing%', '--json']);
  assert.equal(none.out, '');

  const c = await runCli(['query', 'conns', '--store', store, '--min-idle', '4']);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^ts\s+node\s+uid/);
  assert.match(c.out, /RSTR|RSTO|RSTOS0|RSTRH|SF|S1/);

  const s = await runCli(['query', 'sql', '--store', store, 'SELECT node, count(*) AS n FROM conns GROUP BY node ORDER BY node', '--json']);
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(s.out.trim().split('\n').map((x) => (JSON.parse(x) as { node: string }).node), ['tester']);

  const r = await runCli(['analyze', '--store', store, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as { findings: { kind: string }[] };
  assert.ok(report.findings.some((x) => x.kind === 'idle-timeout-reset'), r.out.slice(0, 500));

  const w = await runCli(['query', 'findings', '--store', store, '--since', '1h', '--json']);
  assert.equal(w.out, '', 'the example is older than an hour');
});

test('query: bad input is one line and a usage exit code', async () => {
  const noStore = await runCli(['query', 'findings']);
  assert.equal(noStore.code, 2);
  assert.match(noStore.err, /--store URL is required/);
  const what = await runCli(['query', 'everything', '--store', store]);
  assert.equal(what.code, 2);
  const bad = await runCli(['query', 'sql', '--store', store, 'SELECT nope FROM conns']);
  assert.equal(bad.code, 6); // ML_STORE (docs/cli.md)
  assert.equal(bad.err.trim().split('\n').length, 1);
  assert.match(bad.err, /query failed/);
  const notStore = await runCli(['query', 'findings', '--store', tmp]);
  assert.equal(notStore.code, 6);
  assert.match(notStore.err, /no mirrorlens store here/);
});
