import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tuning = fileURLToPath(new URL('./gc-tuning.ts', import.meta.url));

// A child process makes 200 MiB of short-lived garbage while keeping a few MiB alive, like the
// pipeline does, and reports the young generation's size and whether the tuning was applied.
function youngGenMiB(apply: boolean, nodeOptions = ''): { applied: boolean; newSpaceMiB: number } {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { tuneGarbageCollector } from ${JSON.stringify(tuning)};
    const applied = ${apply} ? tuneGarbageCollector() : false;
    const keep = [];
    let sink = 0;
    for (let i = 0; i < 200_000; i++) {
      const o = { a: new Array(100).fill(i), s: 'x'.repeat(i % 64) };
      if (i % 100 === 0) keep.push(o);
      if (keep.length > 1000) keep.shift();
      sink += o.a.length;
    }
    const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(JSON.stringify({ applied, newSpaceMiB: ns.space_size / 1048576, sink }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('the tuning keeps the young generation at its initial size under a stream of garbage', () => {
  const tuned = youngGenMiB(true);
  const plain = youngGenMiB(false);
  assert.equal(tuned.applied, true);
  assert.ok(tuned.newSpaceMiB <= 4, `tuned young generation ${tuned.newSpaceMiB} MiB`);
  assert.ok(plain.newSpaceMiB > tuned.newSpaceMiB, `untuned ${plain.newSpaceMiB} MiB vs tuned ${tuned.newSpaceMiB} MiB`);
});

test('heap flags of the user win: no tuning when NODE_OPTIONS sets them', () => {
  const r = youngGenMiB(true, '--max-semi-space-size=8');
  assert.equal(r.applied, false);
});

test('a large live heap puts V8 defaults back', () => {
  // 64 MiB threshold for the test; the child keeps ~100 MiB of small objects alive, then waits
  // past the once-a-second check.
  const script = `
    import { tuneGarbageCollector, gcTuningState } from ${JSON.stringify(tuning)};
    tuneGarbageCollector(process.execArgv, '', 64 * 1024 * 1024);
    const before = gcTuningState();
    const keep = [];
    for (let i = 0; i < 1_000_000; i++) keep.push({ a: i, b: 'k' + i, c: [i, i + 1] });
    setTimeout(() => console.log(JSON.stringify({ before, after: gcTuningState(), n: keep.length })), 1500);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.before, 'small-heap');
  assert.equal(out.after, 'defaults-restored');
});
