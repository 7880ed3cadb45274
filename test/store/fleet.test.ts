/**
 * The fleet, with real parts: the lab's idle reset (curl → nginx "ALB" → conntrack "NLB" → Node
 * target, mirrored by the kernel as VXLAN), the ALB's ENI sessions sent to one `listen --store
 * clickhouse://...` and the target's ENI session to another, a real ClickHouse server (Debian's,
 * started here), killed while the listeners run and started again. Then the ALB log is loaded
 * with `logs --store`, and `analyze --store` names the idle reset: the same findings `analyze`
 * gives on the merged capture of both listeners, every record in the store exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runScenario } from '../../src/lab/runner.js';
import { findScenario } from '../../src/lab/scenarios.js';
import { runCli } from '../cli-harness.js';
import { labSkipReason } from '../lab/env.js';
import { ClickHouseServer, clickHouseMissing } from './clickhouse-server.js';
import { NsBridge } from './ns-bridge.js';

const skip = labSkipReason() || clickHouseMissing() || false;

describe('fleet: two listeners, one ClickHouse, one analysis', { skip }, () => {
  const tmp = skip ? '' : mkdtempSync(join(tmpdir(), 'mirrorlens-fleet-'));
  const ch = new ClickHouseServer();
  after(async () => {
    await ch.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('idle reset: ALB ENI on one listener, target ENI on another, ClickHouse killed and restarted mid-run', { timeout: 240_000 }, async () => {
    await ch.start();
    const bridge = new NsBridge(tmp, ch.port);
    const nsPort = 18123;
    const db = 'fleet';
    let fault: Promise<void> = Promise.resolve();
    let faultNote = '';
    const outDir = join(tmp, 'run');
    let result;
    try {
      result = await runScenario(findScenario('idle-reset')!, {
        outDir,
        fleet: {
          listenArgs: (name) => ['--store', `clickhouse://127.0.0.1:${nsPort}/${db}`, '--node', name, '--spool', join(tmp, `spool-${name}`)],
          onTopology: async (ns) => {
            await bridge.start(ns, nsPort);
            // The server goes away abruptly while the listeners record, and comes back.
            fault = (async () => {
              await new Promise((r) => setTimeout(r, 2500));
              await ch.kill();
              faultNote = `killed at ${new Date().toISOString()}`;
              await new Promise((r) => setTimeout(r, 1500));
              await ch.start();
              faultNote += `, back at ${new Date().toISOString()}`;
            })();
          },
        },
      });
    } finally {
      await fault;
      await bridge.stop();
    }
    assert.ok(result.ok, `lab checks: ${JSON.stringify(result.checks.filter((c) => !c.ok))} ${result.listenSummary ?? ''}`);
    assert.ok(faultNote.includes('back at'), 'the server was killed and restarted during the run');

    // Each listener says how many records it produced and that all are stored.
    const summaries = [...(result.listenSummary ?? '').matchAll(/store \S+\/fleet: (\d+) records, (\d+) stored/g)];
    assert.equal(summaries.length, 2, result.listenSummary);
    for (const m of summaries) assert.equal(m[1], m[2], `every record stored: ${result.listenSummary}`);
    const produced = summaries.reduce((a, m) => a + Number(m[1]), 0);

    const store = `${ch.url}/${db}`;
    const l = await runCli(['logs', join(outDir, 'alb-access.log'), '--store', store, '--node', 'alb-logs']);
    assert.equal(l.code, 0, l.err);

    // Exactly once: rows per table add up to what the listeners produced, no uid twice.
    const tables = ['conns', 'marks', 'transactions', 'tls', 'findings', 'captures'];
    let inStore = 0;
    for (const t of tables) inStore += Number((await ch.query(`SELECT count() FROM ${db}.${t} WHERE node IN ('alb-eni', 'target-eni')`)).trim());
    assert.equal(inStore, produced);
    assert.equal((await ch.query(`SELECT count() FROM (SELECT uid FROM ${db}.conns GROUP BY uid HAVING count() > 1)`)).trim(), '0');
    assert.equal((await ch.query(`SELECT count() FROM (SELECT uid FROM ${db}.transactions GROUP BY uid HAVING count() > 1)`)).trim(), '0');
    const nodes = (await ch.query(`SELECT DISTINCT node FROM ${db}.conns ORDER BY node`)).trim().split('\n');
    assert.deepEqual(nodes, ['alb-eni', 'target-eni']);

    // The analysis over the store = the analysis of the merged capture (the lab's analyze.json).
    const merged = JSON.parse(readFileSync(join(outDir, 'analyze.json'), 'utf8')) as { findings: Record<string, unknown>[] };
    const a = await runCli(['analyze', '--store', store, '--format', 'json']);
    assert.equal(a.code, 0, a.err);
    const fromStore = JSON.parse(a.out) as { findings: Record<string, unknown>[] };
    const kinds = fromStore.findings.map((f) => f.kind);
    assert.ok(kinds.includes('idle-timeout-reset'), `analyze --store: ${kinds.join(', ')}`);
    // The verdict on the target leg (recorded by the other listener) is the merged capture's, field
    // for field, and nothing else differs at error or warning severity: the client leg's TLS is
    // decrypted live by its listener with the key log growing while it runs, and the transactions
    // it recorded pair requests and responses as a batch read of the merged capture does.
    const idle = (fs: Record<string, unknown>[]) => fs.filter((f) => f.kind === 'idle-timeout-reset').map((f) => ({ targetConnection: f.targetConnection, resetBy: f.resetBy, idleSeconds: f.idleSeconds, status: f.status, confidence: f.confidence, timeoutFits: f.timeoutFits, advice: f.advice }));
    assert.deepEqual(idle(fromStore.findings), idle(merged.findings), `store: ${kinds.join(', ')}; merged: ${merged.findings.map((f) => f.kind).join(', ')}`);
    const loud = (fs: Record<string, unknown>[]) =>
      fs.filter((f) => f.severity === 'error' || f.severity === 'warning').map((f) => `${f.kind} ${f.severity} ${f.status ?? '-'} ${(f.request as { path?: string } | null)?.path ?? '-'}`);
    assert.deepEqual(loud(fromStore.findings), loud(merged.findings));

    // The ALB ENI's listener named the idle reset live (its lb leg shows it; the target ENI's
    // listener alone cannot: a request the target never got needs the access log), with the
    // client's status, as batch analysis of its capture does.
    const liveAlb = (await ch.query(`SELECT kind, status, path FROM ${db}.findings WHERE node = 'alb-eni' AND severity IN ('error', 'warning') ORDER BY kind FORMAT TSV`)).trim();
    assert.equal(liveAlb, 'idle-timeout-reset\t502\t/api/checkout', `live findings of the ALB ENI's listener: ${liveAlb}`);

    // The listeners' live findings are in the store, each once.
    const q = await runCli(['query', 'findings', '--store', store, '--since', '1h', '--json']);
    assert.equal(q.code, 0, q.err);
    const ids = q.out.trim() ? q.out.trim().split('\n').map((x) => (JSON.parse(x) as { id: string }).id) : [];
    assert.equal(ids.length, Number((await ch.query(`SELECT uniqExact(id) FROM ${db}.findings`)).trim()));
    assert.equal(new Set(ids).size, ids.length);
  });
});
