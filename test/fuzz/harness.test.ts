// The fuzz harness itself: each failure kind is caught and kept as a reproducer that replays (the
// canary targets crash, hang, blow the heap and quote a key log on purpose), and an input is made
// again from its seed alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCorpus } from '../../fuzz/corpus.js';
import { Rng, inputSeed } from '../../fuzz/mutate.js';
import { TARGETS } from '../../fuzz/targets.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RUN = ['--expose-gc', '--import', 'tsx', join(ROOT, 'fuzz/run.ts')];

test('a crash, a hang, a memory blow-up and a secret leak are each caught and kept as a reproducer that replays', () => {
  const out = mkdtempSync(join(tmpdir(), 'ml-fuzz-'));
  try {
    // The hang canary with a short hang limit; the others with a long one (on a loaded machine,
    // filling 128 MiB can take longer than the hang canary's limit).
    const fast = spawnSync(process.execPath, [...RUN, '--targets', 'canary-hang', '--inputs', '2', '--hang-ms', '1500', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    const rest = spawnSync(process.execPath, [...RUN, '--targets', 'canary-crash,canary-memory,canary-leak', '--inputs', '2', '--hang-ms', '120000', '--heap-mb', '128', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(fast.status, 1, fast.stdout + fast.stderr);
    assert.equal(rest.status, 1, rest.stdout + rest.stderr);
    const r = { stdout: fast.stdout + rest.stdout };
    for (const [target, kind] of [['canary-crash', 'crash'], ['canary-hang', 'hang'], ['canary-memory', 'memory'], ['canary-leak', 'leak']]) {
      assert.match(r.stdout, new RegExp(`${target} +2 inputs .* 2 ${kind}`), r.stdout);
      const dirs = readdirSync(join(out, target!));
      assert.equal(dirs.length, 1, `${target}: one reproducer per distinct failure`);
      const meta = JSON.parse(readFileSync(join(out, target!, dirs[0]!, 'reproducer.json'), 'utf8')) as { kind: string; seed: number; input: number };
      assert.equal(meta.kind, kind);
      assert.ok(Number.isInteger(meta.seed) && Number.isInteger(meta.input));
    }
    // The leak reproducer holds the key log; its message masks the hex it found.
    const leakDir = join(out, 'canary-leak', readdirSync(join(out, 'canary-leak'))[0]!);
    assert.ok(existsSync(join(leakDir, 'keys.log')));
    assert.match(readFileSync(join(leakDir, 'reproducer.json'), 'utf8'), /<64 hex digits, from a key log>/);
    const replay = spawnSync(process.execPath, [...RUN, '--replay', leakDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(replay.status, 1);
    assert.match(replay.stdout, /^leak: /);
    assert.match(r.stdout, /fuzz: \d+ inputs, \d+ failures \(seed \d+\)/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('an input is made again from its seed alone, for every target', () => {
  const corpus = loadCorpus();
  for (const t of TARGETS) {
    for (const i of [0, 1, 977]) {
      const a = t.make(corpus, new Rng(inputSeed(42, t.name, i)));
      const b = t.make(corpus, new Rng(inputSeed(42, t.name, i)));
      assert.deepEqual(b, a, `${t.name} input ${i}`);
    }
    const x = t.make(corpus, new Rng(inputSeed(42, t.name, 1)));
    const y = t.make(corpus, new Rng(inputSeed(43, t.name, 1)));
    assert.notDeepEqual(x, y, `${t.name}: another seed, another input`);
  }
});

test('saved failures are replayed before any random input: they pass, and one that fails again fails the run', () => {
  // The repository's own (fixed) failures pass, for every in-process target.
  const inProcess = TARGETS.filter((t) => !t.name.startsWith('canary')).map((t) => t.name);
  const ok = spawnSync(process.execPath, [...RUN, '--targets', inProcess.join(','), '--inputs', '0'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const n = Number(/fuzz: (\d+) saved failures replayed \(fuzz\/regressions\), 0 fail again/.exec(ok.stdout)?.[1]);
  assert.ok(n >= 1, ok.stdout);
  // A saved crash that crashes again stops the run before the seed's inputs, whatever the seed.
  const dir = mkdtempSync(join(tmpdir(), 'ml-fuzz-reg-'));
  try {
    mkdirSync(join(dir, 'canary-crash', 'crash-x'), { recursive: true });
    writeFileSync(join(dir, 'canary-crash', 'crash-x', 'reproducer.json'), JSON.stringify({ target: 'canary-crash', kind: 'crash', meta: {} }));
    cpSync(join(ROOT, 'fuzz/regressions/packet'), join(dir, 'packet'), { recursive: true });
    const bad = spawnSync(process.execPath, [...RUN, '--targets', 'packet,canary-crash', '--inputs', '5', '--regressions', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /regression .*canary-crash\/crash-x fails again: crash: /);
    assert.match(bad.stdout, /saved failures replayed .*, 1 fail again/);
    assert.doesNotMatch(bad.stdout, /fuzz: seed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
