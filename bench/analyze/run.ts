/**
 * analyze benchmark: `mirrorlens analyze` on the lab's `load` capture (thousands of TLS
 * connections, both sides of the "ALB" mirrored, VXLAN-encapsulated) with its key log and ALB log,
 * side by side with tshark decrypting and dissecting the same file in the same run:
 *
 *   tshark -r FILE -o tls.keylog_file:KEYS -Y "http || http2" -T fields -e http.response.code -e http2.headers.status
 *
 * Both must count the same number of HTTP responses (asserted). Then the same traffic repeated 4x
 * in one file shows whether peak memory grows with capture length. Each copy is shifted in time
 * past the previous one and, from the second copy on, its inner IPv4 addresses are moved to other
 * addresses (see remapCopy), so every copy is new connections, as a longer capture would be: with
 * the same 5-tuples repeated, tshark treats the later copies as one stream and stops decrypting.
 *
 * Last, the floor under any Node.js analyzer of this capture (bench/analyze/floor.ts): bare Node
 * start-up plus node:crypto opening each of the capture's encrypted records once, against a
 * twentieth of tshark's time.
 *
 *   sudo npx mirrorlens lab run load --out bench/out/load     (once: makes the input)
 *   npm run bench:analyze [-- --runs 3]
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { readCapture } from '../../src/capture/reader.js';
import { censusOfRecords, decryptRound } from './floor.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, input: { type: 'string' } } });
const runs = Number(values.runs ?? 3);
const ROOT = resolve(import.meta.dirname, '../..');
const inputDir = resolve(values.input ?? join(ROOT, 'bench/out/load'));
const BIN = join(ROOT, 'bin/mirrorlens.js');

if (!existsSync(join(inputDir, 'capture'))) {
  console.error(`no lab capture in ${inputDir}: run 'sudo npx mirrorlens lab run load --out ${inputDir}' first`);
  process.exit(2);
}
const captures = readdirSync(join(inputDir, 'capture')).filter((f) => f.endsWith('.pcapng')).sort().map((f) => join(inputDir, 'capture', f));
const keys = join(inputDir, 'keys.log');
const alb = join(inputDir, 'alb-access.log');

interface Pass {
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  responses: number;
}

function timed(cmd: string, args: string[]): { stdout: string; wallSeconds: number; cpuSeconds: number; maxRssMiB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { stdout: r.stdout, wallSeconds, cpuSeconds: user! + sys!, maxRssMiB: rssKb! / 1024 };
}

function ours(file: string): Pass {
  const r = timed(process.execPath, [BIN, 'analyze', file, '--keylog', keys, '--alb-log', alb, '--format', 'json']);
  const j = JSON.parse(r.stdout) as { stats: { httpResponses: number } };
  return { ...r, responses: j.stats.httpResponses };
}

function tshark(file: string): Pass {
  const r = timed('tshark', ['-n', '-r', file, '-o', `tls.keylog_file:${keys}`, '-Y', 'http || http2', '-T', 'fields', '-e', 'http.response.code', '-e', 'http2.headers.status']);
  let responses = 0;
  for (const line of r.stdout.split('\n')) {
    for (const field of line.split('\t')) for (const v of field.split(',')) if (/^\d{3}$/.test(v.trim())) responses++;
  }
  return { ...r, responses };
}

/** Ones'-complement (RFC 1071) 16-bit addition. */
function onesAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

/**
 * Moves the innermost IPv4 addresses (the mirrored traffic's own, inside VXLAN if the frames are
 * still encapsulated) of copy `k` to other addresses without touching any checksum:
 * an address's two 16-bit words (w0, w1) become (w0 + k, w1 - k) in ones'-complement arithmetic,
 * which keeps the address's contribution to every checksum over it (inner IPv4 header, TCP/UDP
 * pseudo-header, an outer UDP checksum over the whole inner frame) unchanged, and is one-to-one,
 * so the same host stays the same host within a copy and becomes a different one in each copy.
 */
function remapCopy(dec: PacketDecoder, frame: Uint8Array, linkType: number, k: number): void {
  if (k === 0) return;
  dec.decode(linkType, frame, 0, frame.length);
  if (dec.ipVersion !== 4) return;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (const at of [dec.ip4.offset + 12, dec.ip4.offset + 16]) {
    view.setUint16(at, onesAdd(view.getUint16(at), k));
    view.setUint16(at + 2, onesAdd(view.getUint16(at + 2), ~k & 0xffff));
  }
}

/** The same traffic `times` times in one file, each copy shifted past the previous one (remapCopy). */
async function repeated(files: string[], times: number, out: string): Promise<void> {
  if (existsSync(out)) return;
  let first = Infinity;
  let last = -Infinity;
  for (const f of files) await readCapture(f, (r) => {
    if (r.time < first) first = r.time;
    if (r.time > last) last = r.time;
  });
  const span = Math.ceil(last - first) + 30;
  const w = new PcapngWriter({ path: out });
  const dec = new PacketDecoder();
  const ifs = new Map<string, number>();
  for (let k = 0; k < times; k++) {
    for (const [i, f] of files.entries()) {
      await readCapture(f, (r) => {
        const key = `${i}|${r.interfaceId}`;
        let id = ifs.get(key);
        if (id === undefined) {
          id = w.addInterface({ linkType: r.linkType, name: key });
          ifs.set(key, id);
        }
        if (k === 0) {
          w.writePacket(id, r.tsSec + k * span, r.tsNsec, r.data, r.offset, r.capturedLength, r.originalLength);
          return;
        }
        const frame = Uint8Array.from(r.data.subarray(r.offset, r.offset + r.capturedLength));
        remapCopy(dec, frame, r.linkType, k);
        w.writePacket(id, r.tsSec + k * span, r.tsNsec, frame, 0, frame.length, r.originalLength);
      });
    }
  }
  w.close();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function row(name: string, ps: Pass[]): string {
  const w = ps.map((p) => p.wallSeconds);
  const c = ps.map((p) => p.cpuSeconds);
  const m = ps.map((p) => p.maxRssMiB);
  return `| ${name} | ${median(w).toFixed(2)} | ${Math.min(...w).toFixed(2)} | ${Math.max(...w).toFixed(2)} | ${median(c).toFixed(2)} | ${median(m).toFixed(0)} (${Math.min(...m).toFixed(0)}-${Math.max(...m).toFixed(0)}) | ${ps[0]!.responses} |`;
}

const single = captures.length === 1 ? captures[0]! : join(inputDir, 'merged-1x.pcapng');
await repeated(captures, 1, single);
const x4 = join(inputDir, 'repeated-4x-distinct.pcapng');
await repeated(captures, 4, x4);

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`input: ${single} (${(statSync(single).size / 1e6).toFixed(1)} MB), 4x: ${(statSync(x4).size / 1e6).toFixed(1)} MB`);
const results: Record<string, Pass[]> = { ours1: [], tshark1: [], ours4: [], tshark4: [] };
for (let i = 0; i < runs; i++) {
  results.ours1!.push(ours(single));
  results.tshark1!.push(tshark(single));
}
for (let i = 0; i < Math.max(1, runs - 1); i++) {
  results.ours4!.push(ours(x4));
  results.tshark4!.push(tshark(x4));
}
for (const [a, b] of [['ours1', 'tshark1'], ['ours4', 'tshark4']] as const) {
  if (results[a]![0]!.responses !== results[b]![0]!.responses) {
    console.error(`response counts differ: mirrorlens ${results[a]![0]!.responses}, tshark ${results[b]![0]!.responses}`);
    process.exitCode = 1;
  }
}
console.log('| pass | wall s (median) | min | max | CPU s (median) | peak RSS MiB (median, min-max) | HTTP responses |');
console.log('|---|---|---|---|---|---|---|');
console.log(row('mirrorlens analyze, 1x', results.ours1!));
console.log(row('tshark, 1x', results.tshark1!));
console.log(row('mirrorlens analyze, 4x', results.ours4!));
console.log(row('tshark, 4x', results.tshark4!));
const speed = median(results.tshark1!.map((p) => p.wallSeconds)) / median(results.ours1!.map((p) => p.wallSeconds));
const cpu = median(results.tshark1!.map((p) => p.cpuSeconds)) / median(results.ours1!.map((p) => p.cpuSeconds));
const mem = median(results.ours1!.map((p) => p.maxRssMiB)) / median(results.tshark1!.map((p) => p.maxRssMiB));
const growth = median(results.ours4!.map((p) => p.maxRssMiB)) / median(results.ours1!.map((p) => p.maxRssMiB));
console.log(`speed-up (wall) ${speed.toFixed(1)}x, (CPU) ${cpu.toFixed(1)}x; memory ours/tshark ${mem.toFixed(2)}; ours 4x/1x peak RSS ${growth.toFixed(2)}`);

// The floor: what Node's start-up and node:crypto alone cost for this capture.
const census = await censusOfRecords([single]);
const startups: number[] = [];
const decrypts: number[] = [];
for (let i = 0; i < Math.max(3, runs); i++) {
  startups.push(timed(process.execPath, ['-e', '0']).cpuSeconds);
  decrypts.push(decryptRound(census));
}
const floor = median(startups) + median(decrypts);
const budgetCpu = median(results.tshark1!.map((p) => p.cpuSeconds)) / 20;
const budgetWall = median(results.tshark1!.map((p) => p.wallSeconds)) / 20;
const oursCpu = median(results.ours1!.map((p) => p.cpuSeconds));
const ciphers = [...census.bySuite].map(([suite, m]) => `${suite.name} ${[...m.values()].reduce((a, b) => a + b, 0)}`).join(', ');
console.log(
  `floor: ${census.records} encrypted records in ${census.tlsConnections} TLS connections (${ciphers}; ${(census.ciphertextBytes / 1e6).toFixed(1)} MB); ` +
    `node:crypto opens them in ${median(decrypts).toFixed(2)} CPU s (${Math.min(...decrypts).toFixed(2)}-${Math.max(...decrypts).toFixed(2)}, ` +
    `${((median(decrypts) / census.records) * 1e6).toFixed(1)} µs each); bare Node start-up ${median(startups).toFixed(2)} CPU s ` +
    `(${Math.min(...startups).toFixed(2)}-${Math.max(...startups).toFixed(2)})`,
);
console.log(
  `floor ${floor.toFixed(2)} CPU s against 20x tshark's: ${budgetCpu.toFixed(2)} CPU s (${budgetWall.toFixed(2)} s wall); ` +
    `left for everything else (decode, reassembly, TLS key schedules and parsing, HTTP, logs, correlation): ${(budgetCpu - floor).toFixed(2)} CPU s, ` +
    `where mirrorlens spends ${(oursCpu - floor).toFixed(2)}`,
);
