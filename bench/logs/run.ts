/**
 * Logs benchmark: readLogs over a 1 GiB ALB access log, side by side with `wc -l` on the same file
 * in the same run (the disk / page-cache speed limit), N runs each, median with min/max and the
 * peak RSS of each pass (measured in a child process per pass).
 *
 *   npm run bench:logs                 (5 runs; generates bench/out/alb-1g.log if absent)
 *   npm run bench:logs -- --runs 3 --bytes 268435456
 */
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from './generate.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, bytes: { type: 'string' }, file: { type: 'string' } } });
const runs = Number(values.runs ?? 5);
const bytes = Number(values.bytes ?? 1 << 30);
const file = values.file ?? join(import.meta.dirname, `../out/alb-${bytes === 1 << 30 ? '1g' : bytes}.log`);

if (!existsSync(file) || statSync(file).size < bytes * 0.99) {
  process.stderr.write(`generating ${file} (${bytes} bytes)...\n`);
  await generate(bytes, file);
}
const size = statSync(file).size;

interface Pass {
  seconds: number;
  /** user + system CPU seconds (0 when unknown). */
  cpuSeconds: number;
  lines: number;
  maxRssBytes: number;
}

const HAVE_TIME = existsSync('/usr/bin/time');

function wc(): Pass {
  const t0 = process.hrtime.bigint();
  // GNU time reports wc's peak RSS; without it, RSS is shown as 0.
  const r = HAVE_TIME ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'wc', '-l', file], { encoding: 'utf8' }) : spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`wc failed: ${r.stderr}`);
  const [rssKb, user, sys] = HAVE_TIME ? r.stderr.trim().split('\n').pop()!.split(' ').map(Number) : [0, 0, 0];
  return { seconds, cpuSeconds: user! + sys!, lines: Number(r.stdout.trim().split(/\s+/)[0]), maxRssBytes: rssKb! * 1024 };
}

function ours(mode: 'read' | 'summary'): Pass {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'one.ts'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`one.ts failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Pass & { badLines: number };
  if (j.badLines !== 0) throw new Error(`${j.badLines} bad lines in the benchmark file`);
  return j;
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

const loadBefore = loadavg()[0]!;
// Warm the page cache once so that every pass reads the same way.
wc();
const results: Record<string, Pass[]> = { 'wc -l': [], 'readLogs (parse only)': [], 'readLogs + summary (logs command)': [] };
for (let i = 0; i < runs; i++) {
  results['wc -l']!.push(wc());
  results['readLogs (parse only)']!.push(ours('read'));
  results['readLogs + summary (logs command)']!.push(ours('summary'));
}
const lines = results['wc -l']![0]!.lines;
const mib = size / (1 << 20);
console.log(`file: ${file} (${size} bytes, ${lines} lines); ${runs} runs each, interleaved`);
console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`);
console.log(`1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (other work on the machine slows every pass alike)`);
console.log('| pass | median s | min s | max s | lines/s (median) | MiB/s (median) | CPU s (median) | MiB per CPU s | peak RSS MiB (max) |');
console.log('|---|---|---|---|---|---|---|---|---|');
const wcMedian = stats(results['wc -l']!.map((p) => p.seconds)).median;
for (const [name, passes] of Object.entries(results)) {
  for (const p of passes) if (p.lines !== lines) throw new Error(`${name} counted ${p.lines} lines, wc -l ${lines}`);
  const s = stats(passes.map((p) => p.seconds));
  const rss = Math.max(...passes.map((p) => p.maxRssBytes)) / (1 << 20);
  const cpu = stats(passes.map((p) => p.cpuSeconds)).median;
  console.log(
    `| ${name} | ${s.median.toFixed(2)} | ${s.min.toFixed(2)} | ${s.max.toFixed(2)} | ${Math.round(lines / s.median)} | ${(mib / s.median).toFixed(0)} | ${cpu.toFixed(2)} | ${cpu > 0 ? (mib / cpu).toFixed(0) : '?'} | ${rss.toFixed(0)} |`,
  );
}
const readMedian = stats(results['readLogs (parse only)']!.map((p) => p.seconds)).median;
console.log(`readLogs takes ${(readMedian / wcMedian).toFixed(1)}x the time of wc -l on the same file`);
