/**
 * SYN flood benchmark: `mirrorlens analyze` against `mirrorlens conns` on the same capture of
 * 100 000 and 1 000 000 unanswered SYNs (each from its own source, to one server, 100 000 a
 * second, VXLAN-encapsulated, with 10 real 502 exchanges and their ALB log lines among them;
 * test/analyze/synflood.ts writes them), and 100 000 whose SYNs all carry one sequence number. analyze must stay within 2x of conns' CPU time, and its
 * memory must follow conns' (the flow table's live connections), not grow per attempt: the flood
 * is one line of the report.
 *
 *   npm run bench:synflood [-- --runs 3] [--sizes 100000,1000000]
 *
 * CPU seconds (user + sys) and peak RSS from GNU time; medians of the runs, conns and analyze
 * alternating so that machine load falls on both alike.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSynFlood } from '../../test/analyze/synflood.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, sizes: { type: 'string' } } });
const runs = Number(values.runs ?? 3);
// "100000f": every SYN with one sequence number (some flood tools do; no join key for the path model).
const sizes = (values.sizes ?? '100000,1000000,100000f').split(',').map((x) => ({ n: Number(x.replace(/f$/, '')), fixedIsn: x.endsWith('f') }));
const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'bench/out');
const BIN = join(ROOT, 'bin/mirrorlens.js');

interface Run {
  cpuSeconds: number;
  maxRssMiB: number;
  stdout: string;
}

function timed(args: string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`mirrorlens ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { cpuSeconds: user! + sys!, maxRssMiB: rssKb! / 1024, stdout: r.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

mkdirSync(OUT, { recursive: true });
console.log(`synflood benchmark: ${runs} run(s) each, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const rows: string[] = [];
for (const { n, fixedIsn } of sizes) {
  const prefix = join(OUT, `synflood-${n}${fixedIsn ? '-fixed-isn' : ''}`);
  if (!existsSync(`${prefix}.pcapng`) || !existsSync(`${prefix}.alb.log`)) generateSynFlood(n, prefix, { fixedIsn });
  const conns: Run[] = [];
  const ana: Run[] = [];
  for (let i = 0; i < runs; i++) {
    conns.push(timed(['conns', `${prefix}.pcapng`]));
    ana.push(timed(['analyze', `${prefix}.pcapng`, '--alb-log', `${prefix}.alb.log`, '--format', 'json']));
  }
  const report = JSON.parse(ana[0]!.stdout) as { findings: unknown[]; scans: { attempts: number; kind: string }[] };
  if (report.scans[0]?.attempts !== n || report.scans[0]?.kind !== 'flood') throw new Error(`analyze did not summarise the flood: ${JSON.stringify(report.scans)}`);
  const c = median(conns.map((r) => r.cpuSeconds));
  const a = median(ana.map((r) => r.cpuSeconds));
  const cm = median(conns.map((r) => r.maxRssMiB));
  const am = median(ana.map((r) => r.maxRssMiB));
  rows.push(
    `| ${n.toLocaleString('en-US')}${fixedIsn ? ', one ISN' : ''} | ${c.toFixed(2)} | ${a.toFixed(2)} | **${(a / c).toFixed(2)}x** | ${cm.toFixed(0)} | ${am.toFixed(0)} | ${(((am - cm) * 1048576) / n).toFixed(0)} B | ${report.findings.length} |`,
  );
}
console.log('\n| SYN-only connections | conns CPU s | analyze CPU s | analyze / conns | conns peak RSS MiB | analyze peak RSS MiB | analyze - conns, per connection | findings |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
