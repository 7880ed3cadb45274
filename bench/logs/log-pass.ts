/**
 * The analysis's log pass alone, cold, as one `analyze` process runs it: readLogInputs of one ALB
 * log into a LogTape (what a targeted analysis does), in a fresh Node process per run from the
 * built code (dist/: run `npm run build` first), alternating the native ALB scan and the
 * JavaScript one (MIRRORLENS_NO_NATIVE=1):
 *
 *   node --import tsx bench/logs/log-pass.ts ALB_LOG [--runs 7]
 *
 * Each run prints the pass's wall and CPU time (process.cpuUsage around the pass: every thread,
 * JIT compilation included) and a digest of what the pass produced, which must be the same both ways.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '7' } } });
const file = positionals[0];
if (file === undefined) {
  console.error('usage: log-pass.ts ALB_LOG [--runs N]');
  process.exit(2);
}
const dist = new URL('../../dist/', import.meta.url).href;
const child = `
import { createHash } from 'node:crypto';
const { readLogInputs } = await import(${JSON.stringify(dist + 'analyze/log-pass.js')});
const { LogTape } = await import(${JSON.stringify(dist + 'analyze/log-tape.js')});
const { nativeAlbScan } = await import(${JSON.stringify(dist + 'logs/alb-scan-native.js')});
const c0 = process.cpuUsage();
const t0 = performance.now();
const tape = new LogTape();
const notes = [];
const logs = await readLogInputs({ captures: [], albLogs: [process.argv[1]], nlbLogs: [] }, tape, (m) => notes.push(m), null, null);
const wallMs = performance.now() - t0;
const c = process.cpuUsage(c0);
const d = tape.data();
const digest = createHash('sha1').update(JSON.stringify([logs, notes, d.lines, d.targets, d.times, [...d.clients4], [...d.clients6]])).digest('hex').slice(0, 12);
console.log(JSON.stringify({ native: nativeAlbScan() !== null, wallMs, cpuMs: (c.user + c.system) / 1000, records: logs.records, digest }));
`;
interface Run {
  native: boolean;
  wallMs: number;
  cpuMs: number;
  records: number;
  digest: string;
}
const runs: Record<'native' | 'javascript', Run[]> = { native: [], javascript: [] };
console.log(`log pass of ${file}, ${values.runs} runs each, alternating; ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (let i = 0; i < Number(values.runs); i++) {
  for (const side of ['native', 'javascript'] as const) {
    const env = { ...process.env, MIRRORLENS_NO_NATIVE: side === 'javascript' ? '1' : '' };
    const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child, file], { env, encoding: 'utf8' })) as Run;
    if (r.native !== (side === 'native')) throw new Error(`the ${side} run did not take the ${side} scan (is the addon built? node scripts/build-native.mjs)`);
    runs[side].push(r);
    console.log(`${side.padEnd(10)} ${r.wallMs.toFixed(1).padStart(7)} ms wall ${r.cpuMs.toFixed(1).padStart(7)} ms CPU  ${r.records} records, digest ${r.digest}`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const digests = new Set([...runs.native, ...runs.javascript].map((r) => r.digest));
for (const side of ['native', 'javascript'] as const) {
  const rs = runs[side];
  console.log(`${side}: median ${median(rs.map((r) => r.wallMs)).toFixed(1)} ms wall, ${median(rs.map((r) => r.cpuMs)).toFixed(1)} ms CPU (min ${Math.min(...rs.map((r) => r.cpuMs)).toFixed(1)}, max ${Math.max(...rs.map((r) => r.cpuMs)).toFixed(1)})`);
}
console.log(digests.size === 1 ? 'same results both ways' : `RESULTS DIFFER: ${[...digests].join(' ')}`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (digests.size !== 1) process.exit(1);
