// Lab teardown leaves no namespace, process or temp file behind: after a scenario that fails
// part-way, after an abort (what SIGINT does), and when the CLI itself gets SIGINT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenario } from '../../src/lab/runner.js';
import { clean } from '../../src/lab/doctor.js';
import { findScenario } from '../../src/lab/scenarios.js';
import { labSkipReason } from './env.js';

const skip = labSkipReason();
const ENTRY = resolve(import.meta.dirname, '../../src/cli/entry.ts');

function namespaces(pid: number): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`mlab${pid}`));
}

/** Processes whose command line mentions `needle` (the run's temp dir or output dir). */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(`${p}: ${cmd}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function tempDirs(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`mlab${pid}`));
}

function assertClean(pid: number, outDir: string): void {
  assert.deepEqual(namespaces(pid), [], 'no lab namespace left');
  assert.deepEqual(processesMentioning(`/mlab${pid}`), [], 'no process of the run left (temp dir)');
  assert.deepEqual(processesMentioning(outDir), [], 'no process of the run left (output dir)');
  assert.deepEqual(tempDirs(pid), [], 'no temp dir left');
}

for (const stage of ['topology', 'daemons', 'client'] as const) {
  test(`a scenario failing after ${stage} leaves nothing behind`, { skip }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'mlab-teardown-'));
    try {
      await assert.rejects(runScenario(findScenario('idle-reset')!, { outDir: out, failAfter: stage, analyze: false }), /forced failure/);
      assertClean(process.pid, out);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('an aborted run (SIGINT in the CLI) tears down while the client waits', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mlab-teardown-'));
  try {
    const ac = new AbortController();
    const run = runScenario(findScenario('idle-reset')!, {
      outDir: out,
      signal: ac.signal,
      analyze: false,
      log: (l) => {
        if (l.includes('GET /api/cart')) setTimeout(() => ac.abort(), 300);
      },
    });
    await assert.rejects(run, /interrupted/);
    assertClean(process.pid, out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('SIGINT to `mirrorlens lab run` tears down and exits non-zero', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mlab-teardown-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'lab', 'run', 'idle-reset', '--out', out, '--no-analyze'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await new Promise<void>((resolveP, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab did not reach the client step: ${err}`)), 60_000);
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('GET /api/cart')) {
          clearTimeout(timer);
          resolveP();
        }
      });
    });
    assert.ok(namespaces(child.pid!).length > 0, 'namespaces exist while it runs');
    child.kill('SIGINT');
    const code = await exited;
    assert.notEqual(code, 0);
    assert.match(err, /interrupted/);
    assertClean(child.pid!, out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('lab clean removes leftover lab namespaces and ends the processes in them', { skip }, async () => {
  // Its own prefix, so runs of other tests in parallel are not touched.
  const prefix = `mlabclean${process.pid}`;
  const ns = `${prefix}-x`;
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '300'], { stdio: 'ignore', detached: true });
  const gone = new Promise<void>((r) => sleeper.on('close', () => r()));
  await new Promise((r) => setTimeout(r, 300));
  const rep = await clean(prefix);
  assert.deepEqual(rep.namespaces, [ns]);
  assert.ok(rep.processes.includes(sleeper.pid!), `sleep ${sleeper.pid} ended: ${rep.processes.join(',')}`);
  await gone;
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!left.includes(ns), 'namespace removed');
});
