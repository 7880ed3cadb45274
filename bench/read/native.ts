/**
 * The first pass's capture read + decode + segmentOf, native (native/analyze/read.c through the
 * addon's readSegments with collect 0: the segments are counted, not copied) against the
 * JavaScript (processCaptures with a tracker doing what the survey does before its table: segmentOf
 * and the counts), alternating in one process, after a first run of each (printed: what one
 * `mirrorlens analyze` process pays, before the JavaScript is optimised):
 *
 *   node --import tsx bench/read/native.ts [--runs N] CAPTURE...
 *
 * Prints each run's wall and CPU seconds, the medians, their ratio, and the load average.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import type { FlowStats } from '../../src/flow/options.js';
import { processCaptures, type PacketTracker } from '../../src/flow/pipeline.js';
import { SEGMENT_OK, segmentOf, TcpSegment } from '../../src/flow/segment.js';

const { values, positionals } = parseArgs({ options: { runs: { type: 'string' } }, allowPositionals: true });
const runs = Number(values.runs ?? 5);
if (positionals.length === 0) {
  process.stderr.write('usage: native.ts [--runs N] CAPTURE...\n');
  process.exit(2);
}
const { addon, why } = loadAnalyzeNative();
if (!addon) {
  process.stderr.write(`no native addon: ${why}\n`);
  process.exit(2);
}
const readSegments = addon.readSegments as (p: string[], o: object) => { status: string; why: string; result: { segments: number; decoded: number } };

async function js(): Promise<number> {
  const seg = new TcpSegment();
  const stats = { packets: 0, tcpPackets: 0, nonTcpPackets: 0, skippedPackets: 0 } as FlowStats;
  let sum = 0;
  const tracker: PacketTracker = {
    stats,
    ingest(rec, pkt) {
      stats.packets++;
      if (segmentOf(seg, rec, pkt) === SEGMENT_OK) {
        stats.tcpPackets++;
        sum += seg.payloadLength;
      }
    },
    finish() {},
  };
  await processCaptures(positionals, {}, { tracker, beforeDecode: () => true });
  return stats.tcpPackets + (sum & 0);
}

function native(): number {
  const r = readSegments(positionals, { collect: 0 });
  if (r.status !== 'ok') throw new Error(`native declined: ${r.why}`);
  return r.result.segments;
}

async function timed(fn: () => number | Promise<number>): Promise<{ wall: number; cpu: number; n: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const n = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, n };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const load0 = loadavg()[0]!;
const jn = await timed(js);
const nn = await timed(native);
if (jn.n !== nn.n) throw new Error(`segments differ: JavaScript ${jn.n}, native ${nn.n}`);
// The first run of each is what one `mirrorlens analyze` process pays (the JavaScript not yet optimised).
process.stdout.write(`first run: JavaScript ${jn.wall.toFixed(3)} s wall ${jn.cpu.toFixed(3)} s CPU; native ${nn.wall.toFixed(3)} s wall ${nn.cpu.toFixed(3)} s CPU\n`);
const J = { wall: [] as number[], cpu: [] as number[] };
const N = { wall: [] as number[], cpu: [] as number[] };
for (let i = 0; i < runs; i++) {
  const a = await timed(js);
  const b = await timed(native);
  J.wall.push(a.wall);
  J.cpu.push(a.cpu);
  N.wall.push(b.wall);
  N.cpu.push(b.cpu);
  process.stdout.write(`run ${i + 1}: JavaScript ${a.wall.toFixed(3)} s wall ${a.cpu.toFixed(3)} s CPU; native ${b.wall.toFixed(3)} s wall ${b.cpu.toFixed(3)} s CPU\n`);
}
const f = (x: number): string => x.toFixed(3);
process.stdout.write(
  `${nn.n} segments; medians of ${runs}: JavaScript ${f(median(J.wall))} s wall ${f(median(J.cpu))} s CPU, native ${f(median(N.wall))} s wall ${f(median(N.cpu))} s CPU ` +
    `(${(median(J.wall) / median(N.wall)).toFixed(1)}x wall, ${(median(J.cpu) / median(N.cpu)).toFixed(1)}x CPU); load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}\n`,
);
