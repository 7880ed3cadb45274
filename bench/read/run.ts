/**
 * Read benchmark: readCapture + PacketDecoder.decode over a generated VXLAN mirror capture, side
 * by side with `tshark -r FILE -q -z io,stat,0` on the same file in the same run, at 1x and 4x
 * file sizes (memory must be flat in file size). Each pass runs in its own process; peak RSS
 * comes from GNU time (tshark, and our whole process) and process.resourceUsage() (ours).
 *
 *   npm run bench:read                         (300 000 and 1 200 000 packets, 3 runs of ours, 1 of tshark)
 *   npm run bench:read -- --packets 100000 --runs 5 --tshark-runs 2
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from './generate.js';

const { values } = parseArgs({
  options: { packets: { type: 'string' }, runs: { type: 'string' }, 'tshark-runs': { type: 'string' }, 'skip-4x-tshark': { type: 'boolean' } },
});
const base = Number(values.packets ?? 300_000);
const runs = Number(values.runs ?? 3);
const tsharkRuns = Number(values['tshark-runs'] ?? 1);
const outDir = join(import.meta.dirname, '../out');
mkdirSync(outDir, { recursive: true });

interface Pass {
  /** Wall seconds of the whole process (start-up included). */
  wallSeconds: number;
  /** Seconds spent reading (ours: after start-up; tshark: same as wall). */
  seconds: number;
  /** user + system CPU seconds (ours: of the reading; tshark: of the whole process). */
  cpuSeconds: number;
  packets: number;
  maxRssBytes: number;
}

function timed(cmd: string, args: string[]): { stdout: string; wallSeconds: number; maxRssBytes: number; cpuSeconds: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { stdout: r.stdout, wallSeconds, maxRssBytes: rssKb! * 1024, cpuSeconds: user! + sys! };
}

function ours(mode: 'decode' | 'read', file: string): Pass & { maxBuffered: number; vxlan: number; processCpuSeconds: number } {
  const r = timed(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'one.ts'), mode, file]);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { packets: number; seconds: number; cpuSeconds: number; maxBuffered: number; vxlan: number; ok: number; warnings: number };
  if (j.warnings !== 0) throw new Error(`reader warned on ${file}`);
  if (mode === 'decode' && (j.ok !== j.packets || j.vxlan !== j.packets)) throw new Error(`decoder: ${j.ok} ok, ${j.vxlan} VXLAN of ${j.packets}`);
  return { wallSeconds: r.wallSeconds, seconds: j.seconds, cpuSeconds: j.cpuSeconds, packets: j.packets, maxRssBytes: r.maxRssBytes, maxBuffered: j.maxBuffered, vxlan: j.vxlan, processCpuSeconds: r.cpuSeconds };
}

function tshark(file: string): Pass {
  const r = timed('tshark', ['-r', file, '-q', '-z', 'io,stat,0']);
  // "|  0.000 <> Dur |  300000 | 190000000 |": the frame count of the single interval.
  const m = /\|\s*Frames\s*\|\s*Bytes\s*\|[\s\S]*?\|[^|]*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/.exec(r.stdout);
  const packets = m ? Number(m[1]) : NaN;
  return { wallSeconds: r.wallSeconds, seconds: r.wallSeconds, cpuSeconds: r.cpuSeconds, packets, maxRssBytes: r.maxRssBytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const mb = (b: number): string => (b / 1e6).toFixed(1);
const results: Record<string, unknown>[] = [];
const loadBefore = loadavg()[0]!;
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, load ${loadBefore.toFixed(2)}`);
const tv = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
console.log(`reference: ${tv}`);

for (const scale of [1, 4]) {
  const packets = base * scale;
  const file = join(outDir, `read-${packets}.pcapng`);
  if (!existsSync(file)) {
    const g = generate(file, packets);
    console.log(`generated ${file.replace(outDir, 'bench/out')}: ${packets} packets, ${mb(g.bytes)} MB in ${g.seconds.toFixed(2)} s (writer ${mb(g.bytes / g.seconds)} MB/s)`);
  }
  const size = statSync(file).size;
  const dec = Array.from({ length: runs }, () => ours('decode', file));
  const rd = Array.from({ length: runs }, () => ours('read', file));
  const ts = scale === 4 && values['skip-4x-tshark'] ? [] : Array.from({ length: tsharkRuns }, () => tshark(file));
  for (const p of [...dec, ...rd, ...ts]) if (p.packets !== packets) throw new Error(`counted ${p.packets} packets, expected ${packets}`);
  const decS = median(dec.map((p) => p.seconds));
  const decCpu = median(dec.map((p) => p.cpuSeconds));
  const decWall = median(dec.map((p) => p.wallSeconds));
  const decProcCpu = median(dec.map((p) => p.processCpuSeconds));
  const rdS = median(rd.map((p) => p.seconds));
  const rdCpu = median(rd.map((p) => p.cpuSeconds));
  const tsS = ts.length ? median(ts.map((p) => p.wallSeconds)) : NaN;
  const tsCpu = ts.length ? median(ts.map((p) => p.cpuSeconds)) : NaN;
  const rate = (sec: number): { packetsPerSec: number; mbPerSec: number } => ({ packetsPerSec: packets / sec, mbPerSec: size / 1e6 / sec });
  const row = {
    scale,
    packets,
    fileBytes: size,
    readDecode: { seconds: decS, cpuSeconds: decCpu, wallSeconds: decWall, processCpuSeconds: decProcCpu, wall: rate(decS), cpu: rate(decCpu), maxRssBytes: Math.max(...dec.map((p) => p.maxRssBytes)), maxBuffered: Math.max(...dec.map((p) => p.maxBuffered)) },
    readOnly: { seconds: rdS, cpuSeconds: rdCpu, wall: rate(rdS), cpu: rate(rdCpu), maxRssBytes: Math.max(...rd.map((p) => p.maxRssBytes)) },
    tshark: ts.length ? { seconds: tsS, cpuSeconds: tsCpu, wall: rate(tsS), cpu: rate(tsCpu), maxRssBytes: Math.max(...ts.map((p) => p.maxRssBytes)) } : null,
  };
  results.push(row);
  const line = (name: string, sec: number, cpu: number, rss: number, extra = ''): void =>
    console.log(
      `  ${name.padEnd(12)} wall ${sec.toFixed(2).padStart(7)} s ${(packets / sec / 1e6).toFixed(2).padStart(6)} Mpkt/s ${(size / 1e6 / sec).toFixed(0).padStart(5)} MB/s | cpu ${cpu.toFixed(2).padStart(7)} s ${(packets / cpu / 1e6).toFixed(2).padStart(6)} Mpkt/s ${(size / 1e6 / cpu).toFixed(0).padStart(5)} MB/s | peak RSS ${mb(rss)} MB${extra}`,
    );
  console.log(`\n${scale}x: ${packets} packets, ${mb(size)} MB (median of ${runs} runs for ours, ${ts.length} for tshark)`);
  line('read+decode', decS, decCpu, row.readDecode.maxRssBytes, `; parser buffer peak ${row.readDecode.maxBuffered} B`);
  line('read only', rdS, rdCpu, row.readOnly.maxRssBytes);
  if (ts.length) {
    line('tshark', tsS, tsCpu, row.tshark!.maxRssBytes);
    console.log(`  ratio (read+decode vs tshark): ${(tsCpu / decCpu).toFixed(1)}x by CPU time, ${(tsS / decS).toFixed(1)}x by wall time;`);
    console.log(`  whole processes incl. start-up: ${(tsCpu / decProcCpu).toFixed(1)}x by CPU (${decProcCpu.toFixed(2)} s vs ${tsCpu.toFixed(2)} s), ${(tsS / decWall).toFixed(1)}x by wall (${decWall.toFixed(2)} s vs ${tsS.toFixed(2)} s)`);
  }
}
const [a, b] = results as { readDecode: { maxRssBytes: number } }[];
console.log(`\nmemory flat in file size: peak RSS ${mb(a!.readDecode.maxRssBytes)} MB at 1x, ${mb(b!.readDecode.maxRssBytes)} MB at 4x (${((b!.readDecode.maxRssBytes / a!.readDecode.maxRssBytes - 1) * 100).toFixed(1)} %)`);
console.log(`load average before ${loadBefore.toFixed(2)}, after ${loadavg()[0]!.toFixed(2)} (other work on the machine skews all figures alike)`);
writeFileSync(join(outDir, 'read-results.json'), JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, tshark: tv, results }, null, 2));
