/**
 * Where the allocations (and so the garbage collector's work) come from.
 *
 * Preloaded, it records a sampling heap profile of the whole process, objects already collected
 * included (so short-lived garbage counts), and writes it at exit:
 *
 *   ALLOC_PROFILE=/tmp/analyze.heapprofile node --import ./bench/alloc-profile.mjs dist/cli/entry.js analyze ...
 *
 * (tsc's output, one file per module: stages are named by file; bin/mirrorlens.js runs the
 * bundle, whose files hold many modules.)
 *
 * Run directly, it summarises such a profile: sampled bytes by pipeline stage (innermost
 * mirrorlens frame on the allocating stack) and by allocating function:
 *
 *   node bench/alloc-profile.mjs /tmp/analyze.heapprofile [--top 25]
 *
 * Bytes are V8's sampled estimate (one sample per ~4 KiB allocated by default), fine for shares.
 */
import { Session } from 'node:inspector';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];

if (!isMain) {
  const out = process.env.ALLOC_PROFILE ?? 'alloc.heapprofile';
  const interval = Number(process.env.ALLOC_PROFILE_INTERVAL ?? 4096);
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (err) => {
    if (err) process.stderr.write(`alloc-profile: cannot start sampling: ${err.message}\n`);
  });
  process.on('exit', () => {
    // The in-process inspector session answers synchronously, so this completes before exit.
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (err) process.stderr.write(`alloc-profile: ${err.message}\n`);
      else writeFileSync(out, JSON.stringify(res.profile));
    });
  });
} else {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args[ti + 1]) : 25;
  const file = args.find((a, i) => !a.startsWith('--') && (ti < 0 || i !== ti + 1));
  if (!file) {
    process.stderr.write('usage: node bench/alloc-profile.mjs FILE.heapprofile [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const stageOf = (url) => /\/(?:dist|src)\/([^/]+)\/[^/]+\.[jt]s$/.exec(url)?.[1] ?? null;
  const byFn = new Map();
  const byStage = new Map();
  let total = 0;
  const add = (m, k, n) => m.set(k, (m.get(k) ?? 0) + n);
  const walk = (node, stage) => {
    const cf = node.callFrame;
    const here = cf.url.includes('node_modules') ? null : stageOf(cf.url);
    const st = here ?? stage;
    if (node.selfSize > 0) {
      total += node.selfSize;
      const where = cf.url ? `${cf.url.replace(/^.*\/(?=(?:dist|src|node_modules|bin)\/)/, '')}:${cf.lineNumber + 1}` : '(native)';
      add(byFn, `${cf.functionName || '(anonymous)'} ${where} [${st ?? 'outside mirrorlens code'}]`, node.selfSize);
      add(byStage, st ?? 'outside mirrorlens code', node.selfSize);
    }
    for (const c of node.children ?? []) walk(c, st);
  };
  walk(profile.head, null);
  const pct = (n) => `${((100 * n) / total).toFixed(1)} %`;
  const mib = (n) => (n / 2 ** 20).toFixed(0);
  console.log(`sampled allocations: ${mib(total)} MiB\n\n| stage | share of bytes allocated |\n|---|---:|`);
  for (const [s, n] of [...byStage].sort((a, b) => b[1] - a[1])) console.log(`| ${s} | ${pct(n)} |`);
  console.log(`\n| # | allocating function | MiB | share |\n|---:|---|---:|---:|`);
  [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([f, n], i) => console.log(`| ${i + 1} | \`${f}\` | ${mib(n)} | ${pct(n)} |`));
}
