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
import type { Daemon } from '../../src/lab/proc.js';
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
    // Every step has its own deadline and a name: a hang fails that step, saying which one, with
    // the progress so far, the processes' stderr and the server's error log.
    const t0 = Date.now();
    const progress: string[] = [];
    const daemons: Daemon[] = [];
    const abort = new AbortController();
    let labRun: Promise<unknown> = Promise.resolve();
    const diagnosis = (): string =>
      [
        'progress:',
        ...progress,
        ...daemons.map((d) => `${d.name} (pid ${d.pid}, ${d.child.exitCode !== null || d.child.signalCode !== null ? `exited ${d.child.signalCode ?? d.child.exitCode}` : 'running'}) stderr:\n${d.stderr().trim().split('\n').slice(-12).join('\n') || '(empty)'}`),
        `clickhouse (port ${ch.port}, ${ch.running ? 'running' : 'not running'}) ${ch.errorTail()}`,
      ].join('\n');
    let lastNote = Date.now();
    const note = (line: string): void => {
      lastNote = Date.now();
      progress.push(`${((lastNote - t0) / 1000).toFixed(1)}s ${line}`);
    };
    // `stallMs`: a step made of steps (the lab run, whose progress lines name them) also fails when
    // none of them says anything for that long, naming the last one.
    const step = async <T>(name: string, ms: number, work: Promise<T>, stallMs = 0): Promise<T> => {
      note(`${name}...`);
      const t1 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setInterval(() => {
          if (Date.now() - t1 > ms) reject(new Error(`fleet: step "${name}" did not finish within ${ms / 1000} s (last progress: ${progress.at(-1)})`));
          else if (stallMs && Date.now() - lastNote > stallMs) reject(new Error(`fleet: step "${name}" stalled: nothing for ${stallMs / 1000} s after "${progress.at(-1)}"`));
        }, 250);
      });
      try {
        const r = await Promise.race([work, late]);
        note(`${name} done`);
        return r;
      } finally {
        clearInterval(timer);
      }
    };
    try {
      await run();
    } catch (e) {
      abort.abort();
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${err.message}\n${diagnosis()}`;
      // The run's processes (ours, by pid) go, so a lab run stuck on one of them reaches its teardown.
      // (each daemon's process group: nginx's workers too, which would otherwise hold its pipes open)
      for (const d of daemons) {
        try {
          process.kill(-d.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // ...and its namespaces are gone before the test process ends (a forced timeout left them behind).
      await Promise.race([labRun.catch(() => {}), new Promise((r) => setTimeout(r, 30_000))]);
      throw err;
    }

    async function run(): Promise<void> {
      await step('ClickHouse start', 60_000, ch.start());
      const bridge = new NsBridge(tmp, ch.port);
      const nsPort = 18123;
      const db = 'fleet';
      let fault: Promise<void> = Promise.resolve();
      let faultNote = '';
      const outDir = join(tmp, 'run');
      let result;
      try {
        result = await step(
          'lab run',
          170_000,
          (labRun = runScenario(findScenario('idle-reset')!, {
            outDir,
            signal: abort.signal,
            log: note,
            onDaemon: (d) => daemons.push(d),
            fleet: {
              listenArgs: (name) => ['--store', `clickhouse://127.0.0.1:${nsPort}/${db}`, '--node', name, '--spool', join(tmp, `spool-${name}`)],
              onTopology: async (ns) => {
                await step('namespace bridge up', 15_000, bridge.start(ns, nsPort));
                // The server goes away abruptly while the listeners record, and comes back.
                fault = (async () => {
                  await new Promise((r) => setTimeout(r, 2500));
                  await step('ClickHouse kill', 15_000, ch.kill());
                  faultNote = `killed at ${new Date().toISOString()}`;
                  await new Promise((r) => setTimeout(r, 1500));
                  await step('ClickHouse restart', 60_000, ch.start());
                  faultNote += `, back at ${new Date().toISOString()}`;
                })();
                fault.catch(() => {});
              },
            },
          })),
          60_000,
        );
      } finally {
        await step('ClickHouse kill/restart finished', 80_000, fault);
        await step('namespace bridge stop', 15_000, bridge.stop());
      }
      assert.ok(result.ok, `lab checks: ${JSON.stringify(result.checks.filter((c) => !c.ok))} ${result.listenSummary ?? ''}`);
      assert.ok(faultNote.includes('back at'), 'the server was killed and restarted during the run');

      // Each listener says how many records it produced and that all are stored.
      const summaries = [...(result.listenSummary ?? '').matchAll(/store \S+\/fleet: (\d+) records, (\d+) stored/g)];
      assert.equal(summaries.length, 2, result.listenSummary);
      for (const m of summaries) assert.equal(m[1], m[2], `every record stored: ${result.listenSummary}`);
      const produced = summaries.reduce((a, m) => a + Number(m[1]), 0);

      const store = `${ch.url}/${db}`;
      const l = await step('logs --store', 60_000, runCli(['logs', join(outDir, 'alb-access.log'), '--store', store, '--node', 'alb-logs']));
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
      const a = await step('analyze --store', 90_000, runCli(['analyze', '--store', store, '--format', 'json']));
      assert.equal(a.code, 0, a.err);
      const fromStore = JSON.parse(a.out) as { findings: Record<string, unknown>[] };
      const kinds = fromStore.findings.map((f) => f.kind);
      assert.ok(kinds.includes('idle-timeout-reset'), `analyze --store: ${kinds.join(', ')}`);
      // The verdict on the target leg (recorded by the other listener) is the merged capture's, field
      // for field, and nothing else differs at error or warning severity: the client leg's TLS is
      // decrypted live by its listener with the key log growing while it runs, and the transactions
      // it recorded pair requests and responses as a batch read of the merged capture does.
      // Idle time to the microsecond: ClickHouse 18.16 parses the float text of an insert to the
      // nearest double or one next to it (JSONEachRow 4.613057 is read back 4.6130569999999995;
      // toFloat64('4.613057') = 4.613057 is 0 there), so a value through the store may differ
      // from the merged capture's in the last bit (3 runs in 51 failed on exactly that).
      const microseconds = (x: unknown): unknown => (typeof x === 'number' ? Math.round(x * 1e6) / 1e6 : x);
      const idle = (fs: Record<string, unknown>[]) => fs.filter((f) => f.kind === 'idle-timeout-reset').map((f) => ({ targetConnection: f.targetConnection, resetBy: f.resetBy, idleSeconds: microseconds(f.idleSeconds), status: f.status, confidence: f.confidence, timeoutFits: f.timeoutFits, advice: f.advice }));
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
      const q = await step('query findings --store', 60_000, runCli(['query', 'findings', '--store', store, '--since', '1h', '--json']));
      assert.equal(q.code, 0, q.err);
      const ids = q.out.trim() ? q.out.trim().split('\n').map((x) => (JSON.parse(x) as { id: string }).id) : [];
      assert.equal(ids.length, Number((await ch.query(`SELECT uniqExact(id) FROM ${db}.findings`)).trim()));
      assert.equal(new Set(ids).size, ids.length);
    }
  });
});
