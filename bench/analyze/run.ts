/**
 * analyze benchmark: `mirrorlens analyze` on the lab's `load` capture (thousands of TLS
 * connections, both sides of the "ALB" mirrored, VXLAN-encapsulated) with its key log, with and
 * without its ALB access log, side by side with tshark decrypting and dissecting the same file in
 * the same run:
 *
 *   tshark -r FILE -o tls.keylog_file:KEYS -Y "http || http2" -T fields -e http.response.code -e http2.headers.status
 *
 * `analyze` runs as users run it (targeted: every packet surveyed, only the connections a finding
 * can need read through TLS and HTTP). Its answers are checked, untimed, in the same invocation:
 * `analyze --full` must count tshark's HTTP responses, and every timed input is analysed once more
 * with MIRRORLENS_DIFFERENTIAL=1, which runs the full pipeline beside the targeted one and fails on
 * any difference in the report. Then the same traffic 10x in one file (and its ALB log 10x) shows
 * whether peak memory grows with capture length. Each copy is shifted in time past the previous
 * one and, from the second copy on, its inner IPv4 addresses are moved to other addresses (see
 * remapCopy; the log lines' addresses and times move the same way), so every copy is new
 * connections, as a longer capture would be: with the same 5-tuples repeated, tshark treats the
 * later copies as one stream and stops decrypting.
 *
 *   sudo npx mirrorlens lab run load --out bench/out/load     (once: makes the input)
 *   npm run build && npm run bench:analyze [-- --runs 5 --runs10 2] [--with-extra-ca] [--longer 30]
 *
 * `--longer N` also makes the traffic N times (N > 10) and runs `analyze` on it with its log, once
 * (checked against the full pipeline first), without tshark: whether memory stays where it was at
 * 10x as the capture grows further.
 *
 * NODE_EXTRA_CA_CERTS: when it is set, Node reads and parses that certificate bundle at start-up,
 * before any mirrorlens code runs (a Debian bundle: ~150 certificates, about 40 ms of CPU). A
 * default install does not set it, and nothing `analyze` does on local files needs it, so the
 * timed runs drop it from mirrorlens's environment (said in the output); `--with-extra-ca` keeps
 * it. tshark does not read it.
 */
import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { readCapture } from '../../src/capture/reader.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, runs10: { type: 'string' }, input: { type: 'string' }, 'with-extra-ca': { type: 'boolean' }, longer: { type: 'string' } } });
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
/** mirrorlens's environment for the timed runs (see the file comment on NODE_EXTRA_CA_CERTS). */
const oursEnv: NodeJS.ProcessEnv = { ...process.env };
if (extraCa !== undefined && !values['with-extra-ca']) delete oursEnv.NODE_EXTRA_CA_CERTS;
const runs = Number(values.runs ?? 3);
const runs10 = Number(values.runs10 ?? 1);
const TIMES = 10;
const longer = values.longer === undefined ? null : Number(values.longer);
if (longer !== null && !(Number.isInteger(longer) && longer > TIMES)) throw new Error(`--longer: a whole number above ${TIMES}`);
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

function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { stdout: string; wallSeconds: number; cpuSeconds: number; maxRssMiB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: env ?? process.env });
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { stdout: r.stdout, wallSeconds, cpuSeconds: user! + sys!, maxRssMiB: rssKb! / 1024 };
}

interface Report {
  findings: unknown[];
  stats: { httpResponses: number; dissection?: { mode: string; dissected: number; connections: number; byReason?: Record<string, number>; firstPass?: string; firstPassNote?: string } };
}

/** mirrorlens analyze FILE [--alb-log LOG] [extra...], timed; its report parsed. */
function ours(file: string, log: string | null, extra: string[] = [], env?: NodeJS.ProcessEnv): Pass & { report: Report } {
  const args = [BIN, 'analyze', file, '--keylog', keys, ...(log ? ['--alb-log', log] : []), '--format', 'json', ...extra];
  const r = timed(process.execPath, args, env ?? oursEnv);
  const report = JSON.parse(r.stdout) as Report;
  return { ...r, responses: report.stats.httpResponses, report };
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

/** How far each copy is shifted past the previous one: the captures' time span and 30 s. */
async function copySpan(files: string[]): Promise<number> {
  let first = Infinity;
  let last = -Infinity;
  for (const f of files) await readCapture(f, (r) => {
    if (r.time < first) first = r.time;
    if (r.time > last) last = r.time;
  });
  return Math.ceil(last - first) + 30;
}

/** The same traffic `times` times in one file, each copy shifted past the previous one (remapCopy). */
async function repeated(files: string[], times: number, out: string): Promise<void> {
  if (existsSync(out)) return;
  const span = await copySpan(files);
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

/** An IPv4 address moved as remapCopy moves it in copy k. */
function remapAddr(addr: string, k: number): string {
  const b = addr.split('.').map(Number);
  const w0 = onesAdd((b[0]! << 8) | b[1]!, k);
  const w1 = onesAdd((b[2]! << 8) | b[3]!, ~k & 0xffff);
  return `${w0 >> 8}.${w0 & 255}.${w1 >> 8}.${w1 & 255}`;
}

/** An ISO-8601 time (ALB log: microseconds, Z) moved by `seconds`. */
function shiftIso(iso: string, seconds: number): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso)!;
  const frac = m[2] ?? '';
  const t = new Date(`${m[1]}Z`).getTime() + seconds * 1000;
  return `${new Date(t).toISOString().slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

/** The ALB log repeated as `repeated` repeats the capture: every copy's times and IPv4 addresses moved alike. */
async function repeatedLog(files: string[], log: string, times: number, out: string): Promise<void> {
  if (existsSync(out)) return;
  const span = await copySpan(files);
  const w = createWriteStream(out);
  for (let k = 0; k < times; k++) {
    for await (const line of createInterface({ input: createReadStream(log), crlfDelay: Infinity })) {
      const moved = k === 0 ? line : line.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, (t) => shiftIso(t, k * span)).replace(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g, (a) => remapAddr(a, k));
      if (!w.write(`${moved}\n`)) await new Promise<void>((r) => w.once('drain', () => r()));
    }
  }
  await new Promise<void>((r, j) => w.end((e?: Error | null) => (e ? j(e) : r())));
}

/**
 * The ALB log with every `every`th line (100: 1 %, 10: 10 %) made a 502 the load balancer answered itself (elb_status_code
 * 502, target_status_code -): a capture where 1 % of the requests failed, so that the targeted
 * analysis has connections to read and findings to give (the packets show the target's 200: the
 * verdict is malformed-response).
 */
async function withErrors(log: string, out: string, every = 100): Promise<void> {
  if (existsSync(out)) return;
  const w = createWriteStream(out);
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(log), crlfDelay: Infinity })) {
    let l = line;
    if (++n % every === 0) {
      const f = line.split(' ');
      f[8] = '502';
      f[9] = '-';
      l = f.join(' ');
    }
    if (!w.write(`${l}\n`)) await new Promise<void>((r) => w.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => w.end((e?: Error | null) => (e ? j(e) : r())));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function row(name: string, ps: Pass[]): string {
  const w = ps.map((p) => p.wallSeconds);
  const c = ps.map((p) => p.cpuSeconds);
  const m = ps.map((p) => p.maxRssMiB);
  return `| ${name} | ${ps.length} | ${median(w).toFixed(2)} | ${Math.min(...w).toFixed(2)} | ${Math.max(...w).toFixed(2)} | ${median(c).toFixed(2)} | ${median(m).toFixed(0)} (${Math.min(...m).toFixed(0)}-${Math.max(...m).toFixed(0)}) |`;
}

const single = captures.length === 1 ? captures[0]! : join(inputDir, 'merged-1x.pcapng');
await repeated(captures, 1, single);
const x10 = join(inputDir, `repeated-${TIMES}x-distinct.pcapng`);
await repeated(captures, TIMES, x10);
const alb10 = join(inputDir, `alb-access-${TIMES}x.log`);
await repeatedLog(captures, alb, TIMES, alb10);
const albErrors = join(inputDir, 'alb-access-1pct-502.log');
await withErrors(alb, albErrors);
// Every 10th line: many error lines (it showed correlation work growing with lines x transactions).
const albErrors10 = join(inputDir, 'alb-access-10pct-502.log');
await withErrors(alb, albErrors10, 10);
const xN = longer === null ? null : join(inputDir, `repeated-${longer}x-distinct.pcapng`);
const albN = longer === null ? null : join(inputDir, `alb-access-${longer}x.log`);
if (xN !== null && albN !== null && longer !== null) {
  await repeated(captures, longer, xN);
  await repeatedLog(captures, alb, longer, albN);
}

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${load()}`);
console.log(`NODE_EXTRA_CA_CERTS: ${extraCa === undefined ? 'not set' : values['with-extra-ca'] ? `${extraCa}, kept for mirrorlens (--with-extra-ca)` : `${extraCa} dropped from mirrorlens's environment (Node parses it at start-up; --with-extra-ca keeps it)`}`);
console.log(`input: ${single} (${(statSync(single).size / 1e6).toFixed(1)} MB), ${TIMES}x: ${(statSync(x10).size / 1e6).toFixed(1)} MB; ALB log ${(statSync(alb).size / 1e6).toFixed(1)} MB, ${TIMES}x ${(statSync(alb10).size / 1e6).toFixed(1)} MB`);

// Untimed: the answers. The full pipeline counts what tshark counts; the targeted analysis gives the full one's report.
const full1 = ours(single, alb, ['--full']);
const check1 = tshark(single);
if (full1.responses !== check1.responses) {
  console.error(`response counts differ: mirrorlens --full ${full1.responses}, tshark ${check1.responses}`);
  process.exitCode = 1;
}
const differential = { ...oursEnv, MIRRORLENS_DIFFERENTIAL: '1' };
for (const [file, log] of [[single, alb], [single, null], [single, albErrors], [single, albErrors10], [x10, alb10], [x10, null]] as const) {
  try {
    ours(file, log, [], differential);
  } catch (e) {
    console.error(`the targeted analysis differs from the full one on ${file}${log ? ' with its log' : ''}: ${(e as Error).message.slice(0, 2000)}`);
    process.exitCode = 1;
  }
}
// Which first pass the timed runs take: the native one unless the addon is missing or stale (a
// stale addon would silently time the JavaScript pass; scripts/build-native.mjs rebuilds it).
const firstPass = ours(single, alb).report.stats.dissection;
console.log(`first pass: ${firstPass?.firstPass ?? '?'}${firstPass?.firstPassNote ? ` (${firstPass.firstPassNote})` : ''}`);
if (firstPass?.firstPass !== 'native' && process.env.MIRRORLENS_NO_NATIVE !== '1') {
  console.error('the native first pass did not run: build it (node scripts/build-native.mjs), or set MIRRORLENS_NO_NATIVE=1 to time the JavaScript pass on purpose');
  process.exitCode = 1;
}
console.log(`checked: analyze --full counts ${full1.responses} HTTP responses, tshark ${check1.responses}; targeted = full (MIRRORLENS_DIFFERENTIAL=1) at 1x and ${TIMES}x, with and without the log, and with 1 % and 10 % of its lines made 502`);

type Key = 'log1' | 'errors1' | 'manyErrors1' | 'nolog1' | 'tshark1' | 'log10' | 'nolog10' | 'tshark10';
const results: Record<Key, (Pass & { report?: Report })[]> = { log1: [], errors1: [], manyErrors1: [], nolog1: [], tshark1: [], log10: [], nolog10: [], tshark10: [] };
for (let i = 0; i < runs; i++) {
  results.log1.push(ours(single, alb));
  results.errors1.push(ours(single, albErrors));
  results.manyErrors1.push(ours(single, albErrors10));
  results.nolog1.push(ours(single, null));
  results.tshark1.push(tshark(single));
}
for (let i = 0; i < runs10; i++) {
  results.log10.push(ours(x10, alb10));
  results.nolog10.push(ours(x10, null));
  results.tshark10.push(tshark(x10));
}
console.log(`load average at the end ${load()}`);
console.log('| pass | runs | wall s (median) | min | max | CPU s (median) | peak RSS MiB (median, min-max) |');
console.log('|---|---|---|---|---|---|---|');
console.log(row('mirrorlens analyze --full, ALB log, 1x (untimed check, 1 run)', [full1]));
console.log(row('mirrorlens analyze, ALB log, 1x', results.log1));
console.log(row('mirrorlens analyze, ALB log with 1 % of its lines 502, 1x', results.errors1));
console.log(row('mirrorlens analyze, ALB log with 10 % of its lines 502, 1x', results.manyErrors1));
console.log(row('mirrorlens analyze, no log, 1x', results.nolog1));
console.log(row('tshark, 1x', results.tshark1));
console.log(row(`mirrorlens analyze, ALB log, ${TIMES}x`, results.log10));
console.log(row(`mirrorlens analyze, no log, ${TIMES}x`, results.nolog10));
console.log(row(`tshark, ${TIMES}x`, results.tshark10));
const med = (k: Key, f: (p: Pass) => number): number => median(results[k].map(f));
const wall = (p: Pass): number => p.wallSeconds;
const cpu = (p: Pass): number => p.cpuSeconds;
const rss = (p: Pass): number => p.maxRssMiB;
for (const [x, t] of [['1', 'tshark1'], [String(TIMES), 'tshark10']] as const) {
  for (const [what, k] of [['with the ALB log', `log${x}`], ['with 1 % of its lines 502', `errors${x}`], ['with 10 % of its lines 502', `manyErrors${x}`], ['without a log', `nolog${x}`]] as const) {
    const key = k as Key;
    if (results[key] === undefined) continue;
    const d = results[key][0]!.report?.stats.dissection;
    const findings = results[key][0]!.report?.findings.length ?? 0;
    console.log(
      `${x}x ${what} (${findings} findings): ${(med(t, wall) / med(key, wall)).toFixed(1)}x tshark's wall time, ${(med(t, cpu) / med(key, cpu)).toFixed(1)}x its CPU, ` +
        `memory ${(med(key, rss) / med(t, rss)).toFixed(2)} of its peak; read through TLS and HTTP: ${d ? `${d.dissected} of ${d.connections} connections (${d.mode}) ${JSON.stringify(d.byReason ?? {})}` : '?'}`,
    );
  }
}
if (xN !== null && albN !== null) {
  try {
    ours(xN, albN, [], differential);
  } catch (e) {
    console.error(`the targeted analysis differs from the full one on ${xN} with its log: ${(e as Error).message.slice(0, 2000)}`);
    process.exitCode = 1;
  }
  const p = ours(xN, albN);
  console.log(
    `mirrorlens analyze, ALB log, ${longer}x (${(statSync(xN).size / 1e6).toFixed(0)} MB; targeted = full checked; tshark not run), 1 run: ` +
      `${p.wallSeconds.toFixed(2)} s wall, ${p.cpuSeconds.toFixed(2)} s CPU, peak ${p.maxRssMiB.toFixed(0)} MiB`,
  );
  console.log(`memory with capture length, with the log: 1x ${med('log1', rss).toFixed(0)} MiB, ${TIMES}x ${med('log10', rss).toFixed(0)} MiB, ${longer}x ${p.maxRssMiB.toFixed(0)} MiB`);
}
console.log(`memory ${TIMES}x/1x: with the log ${(med('log10', rss) / med('log1', rss)).toFixed(2)}, without ${(med('nolog10', rss) / med('nolog1', rss)).toFixed(2)}; tshark ${(med('tshark10', rss) / med('tshark1', rss)).toFixed(2)}`);
