/**
 * Listen benchmark: VXLAN datagrams blasted at loopback by sender processes (node:dgram, paced),
 * received by `mirrorlens listen` (writing pcapng) and, in the same run, captured by
 * `tcpdump -i lo -w FILE udp port N` from the same stream. For each offered rate: packets each
 * tool got, the kernel's drop counts (our socket's /proc/net/udp drops; tcpdump's "dropped by
 * kernel"), CPU seconds per 100k packets (from /proc/PID/stat) and peak memory (VmHWM).
 *
 *   npm run bench:listen                              (rates 20k..200k pkt/s, 5 s each)
 *   npm run bench:listen -- --rates 50000,100000 --seconds 5 --senders 2 --size 200 --workers 1,2
 *   sudo npm run bench:listen -- --nice=-10    (on a busy shared machine: all measured processes at nice -10)
 *   sudo npm run bench:listen -- --nice=-10 --autogroup-nice=-10   (and the benchmark's scheduling group too)
 *   sudo npm run bench:listen -- --rmem 64MiB  (net.core.rmem_max raised for the run, restored after;
 *                                               tcpdump -B gets the same memory as our socket)
 *   npm run bench:listen -- --build DIR --json-out FILE   (a compiled copy: tsc --outDir DIR + DIR/run.mjs)
 *   npm run bench:listen -- --engines mmsg,socket,ring    (each engine in turn, each beside tcpdump on
 *                                               the same stream; default: mmsg, socket, and ring as root)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import dgram from 'node:dgram';
import { readCapture } from '../../src/capture/reader.js';
import { parseSize } from '../../src/cli/listen.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string' },
    seconds: { type: 'string' },
    senders: { type: 'string' },
    size: { type: 'string' },
    'recv-buffer': { type: 'string' },
    workers: { type: 'string' },
    nice: { type: 'string' },
    built: { type: 'boolean' },
    build: { type: 'string' },
    rmem: { type: 'string' },
    'autogroup-nice': { type: 'string' },
    'json-out': { type: 'string' },
    engines: { type: 'string' },
  },
});
const rates = (values.rates ?? '20000,40000,60000,80000,100000,130000,160000,200000').split(',').map(Number);
const seconds = Number(values.seconds ?? 5);
const nSenders = Number(values.senders ?? 2);
const size = Number(values.size ?? 200);
// --rmem BYTES (root): net.core.rmem_max for the run, restored at exit. mirrorlens then asks for
// that much (unless --recv-buffer says otherwise) and the kernel gives its socket twice the capped
// request (SO_RCVBUF doubling); tcpdump always gets the same memory for its ring (-B, KiB), so the
// two tools compare with equal buffers.
// --autogroup-nice N (root): with kernel.sched_autogroup_enabled (as on most desktop/VM kernels)
// every session is a scheduling group that gets a fair share of the CPUs whatever the nice level
// of the processes in it, so --nice alone does not lift the measured processes above other
// sessions' load. This sets the nice level of the benchmark's own group (restored at exit).
const AUTOGROUP = '/proc/self/autogroup';
if (values['autogroup-nice'] !== undefined) {
  const before = /nice (-?\d+)/.exec(readFileSync(AUTOGROUP, 'utf8'))?.[1] ?? '0';
  writeFileSync(AUTOGROUP, values['autogroup-nice']);
  process.on('exit', () => writeFileSync(AUTOGROUP, before));
}
const RMEM_MAX = '/proc/sys/net/core/rmem_max';
const rmemBefore = readFileSync(RMEM_MAX, 'utf8').trim();
const rmem = values.rmem !== undefined ? parseSize('rmem', values.rmem, 0) : undefined;
if (rmem !== undefined) {
  writeFileSync(RMEM_MAX, String(rmem));
  process.on('exit', () => writeFileSync(RMEM_MAX, rmemBefore));
}
const recvBuffer = values['recv-buffer'] ?? (rmem !== undefined ? String(rmem) : '32MiB');
/** What the kernel gives our socket: min(request, rmem_max), doubled for its bookkeeping. */
const socketBufferBytes = 2 * Math.min(parseSize('recv-buffer', recvBuffer, 0), Number(readFileSync(RMEM_MAX, 'utf8').trim()));
const workerCounts = (values.workers ?? '1').split(',').map(Number);
const { loadNative } = await import('../../src/capture/native.js');
const haveNative = loadNative().addon !== null;
const engines = (values.engines ?? (haveNative ? (process.getuid?.() === 0 ? 'mmsg,ring,socket' : 'mmsg,socket') : 'socket')).split(',');
// On a shared, busy machine: run all measured processes (senders, mirrorlens, tcpdump) at this
// nice level (negative needs root) so the figures are about the tools, not the neighbours.
const niceLevel = values.nice;
// --built: run the compiled CLI (bin/mirrorlens.js, after `npm run build`) as users do, instead of
// the TypeScript sources through tsx (which adds the compiler to the process).
function cmd(c: string, args: string[]): [string, string[]] {
  return niceLevel === undefined ? [c, args] : ['nice', ['-n', niceLevel, c, ...args]];
}
const ROOT = resolve(import.meta.dirname, '../..');
const outDir = join(ROOT, 'bench/out');
// --build DIR: a compiled copy of the tree (tsc --outDir DIR plus a DIR/run.mjs calling cli/main.js),
// so that before/after builds can be compared side by side without touching dist/.
const entry = values.build ? [resolve(values.build, 'run.mjs')] : values.built ? [join(ROOT, 'bin/mirrorlens.js')] : ['--import', 'tsx', join(ROOT, 'test/listen/cli.ts')];

mkdirSync(outDir, { recursive: true });

// One paced sender: `rate` datagrams/s for `secs` seconds, in bursts every millisecond.
const SENDER = `
const dgram = require('node:dgram');
const [port, rate, secs, size] = process.argv.slice(1).map(Number);
const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
const b = Buffer.alloc(size);
b[0] = 8; b[6] = 42; // VXLAN, I flag, VNI 42
Buffer.from('020000000002020000000001080045000000000040004011000' + '00a0000010a000002', 'hex').copy(b, 8);
b.writeUInt16BE(size - 22, 18); // inner IPv4 total length
s.connect(port, '127.0.0.1', () => {
  const total = Math.round(rate * secs);
  let sent = 0, errors = 0, inflight = 0;
  const t0 = performance.now();
  const cb = (e) => { inflight--; if (e) errors++; };
  const maxBurst = Math.max(8, Math.ceil(rate / 500)); // at most 2 ms worth per tick: no catch-up floods
  (function tick() {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate), sent + maxBurst);
    while (sent < due && inflight < 20000) { b.writeUInt32BE(sent, 50); inflight++; s.send(b, cb); sent++; }
    if (sent < total) setImmediate(tick);
    else { const wait = () => inflight > 0 ? setImmediate(wait) : (console.log(JSON.stringify({ sent, errors, seconds: (performance.now() - t0) / 1000 })), s.close()); wait(); }
  })();
});
`;

/** CPU seconds of a process and its children (listen --workers forks them). */
function cpuSeconds(pid: number): number {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children file
  }
  return cpuOne(pid) + kids.reduce((a, k) => a + cpuOne(k), 0);
}

function cpuOne(pid: number): number {
  let f: string;
  try {
    f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const hz = 100;
  return (Number(rest[11]) + Number(rest[12])) / hz;
}

/** Peak resident memory (VmHWM) of a process plus its children. */
function peakRss(pid: number): number {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // none
  }
  let total = 0;
  for (const p of [pid, ...kids]) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

function waitText(c: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let t = '';
    const timer = setTimeout(() => rej(new Error(`timeout waiting for ${re} in: ${t}`)), ms);
    const on = (d: Buffer): void => {
      t += d.toString();
      const m = re.exec(t);
      if (m) {
        clearTimeout(timer);
        c[stream]!.off('data', on);
        res(m[0]);
      }
    };
    c[stream]!.on('data', on);
  });
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const m = /^(mirrorlens_listen_[a-z_]+)(\{[^}]*\})? (-?[\d.e+]+)$/.exec(l);
    if (m) out[m[1]! + (m[2] ?? '')] = Number(m[3]);
  }
  return out;
}

/** tcpdump's cumulative counters (printed on SIGUSR1 and at exit). */
async function tcpdumpStats(td: ChildProcess, signal: NodeJS.Signals): Promise<{ captured: number; dropped: number }> {
  const p = waitText(td, 'stderr', /(\d+) packets? captured[\s\S]*?(\d+) packets? dropped by kernel/, 10_000);
  td.kill(signal);
  const t = await p;
  const m = /(\d+) packets? captured[\s\S]*?(\d+) packets? dropped by kernel/.exec(t)!;
  return { captured: Number(m[1]), dropped: Number(m[2]) };
}

interface Step {
  offeredPps: number;
  sent: number;
  achievedPps: number;
  /** 1-minute load average at the end of the step (the machine is shared). */
  loadavg1: number;
  ours: { received: number; written: number; kernelDrops: number; otherDrops: number; cpuSecondsPer100k: number; zeroDrop: boolean };
  tcpdump: { captured: number; kernelDrops: number; cpuSecondsPer100k: number; zeroDrop: boolean };
}

async function main(workers: number, engine: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-bench-listen-'));
  const port = await freePort();
  const mport = await freePort();
  const ours = spawn(
    ...cmd(process.execPath, [...entry, 'listen', '--out', join(dir, 'ml'), '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--metrics-port', String(mport), '--metrics-bind', '127.0.0.1', '--status-seconds', '0', '--rotate-size', '100MB', '--ring-files', '4', '--recv-buffer', String(socketBufferBytes / 2), '--workers', String(workers), '--engine', engine, '--ring-buffer', String(socketBufferBytes)]),
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let ourErr = '';
  ours.stderr!.on('data', (d: Buffer) => (ourErr += d.toString()));
  const td = spawn(...cmd('tcpdump', ['-i', 'lo', '-n', '-B', String(Math.round(socketBufferBytes / 1024)), '-w', join(dir, 'tcpdump.pcap'), 'udp', 'port', String(port)]), { stdio: ['ignore', 'ignore', 'pipe'] });
  const children: ChildProcess[] = [ours, td];
  process.once('SIGINT', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    await Promise.all([waitText(ours, 'stderr', /listen: writing /, 120_000), waitText(td, 'stderr', /listening on/, 20_000)]);
    const steps: Step[] = [];
    // With --workers the primary reports kernel drops as -1 (unknown) until the workers' first
    // counters arrive (every second); a baseline taken then made the first step show "1 kernel drop".
    let prevM = await metrics(mport);
    const dropKey = engine === 'ring' ? 'mirrorlens_listen_ring_drops' : 'mirrorlens_listen_kernel_receive_drops';
    for (let i = 0; i < 100 && (prevM[dropKey] ?? -1) < 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      prevM = await metrics(mport);
    }
    let prevTd = { captured: 0, dropped: 0 };
    for (const rate of rates) {
      const c0 = cpuSeconds(ours.pid!);
      const t0 = cpuSeconds(td.pid!);
      const senders = Array.from({ length: nSenders }, () => spawn(...cmd(process.execPath, ['-e', SENDER, String(port), String(rate / nSenders), String(seconds), String(size)]), { stdio: ['ignore', 'pipe', 'inherit'] }));
      children.push(...senders);
      const results = await Promise.all(senders.map((s) => waitText(s, 'stdout', /\{.*\}/, (seconds + 60) * 1000).then((j) => JSON.parse(j) as { sent: number; seconds: number })));
      await new Promise((r) => setTimeout(r, 1500)); // let both drain their buffers
      const m = await metrics(mport);
      const tds = await tcpdumpStats(td, 'SIGUSR1');
      const sent = results.reduce((a, r) => a + r.sent, 0);
      const secs = Math.max(...results.map((r) => r.seconds));
      const d = (k: string): number => (m[k] ?? 0) - (prevM[k] ?? 0);
      const received = d('mirrorlens_listen_datagrams_total');
      const kernelDrops = d(dropKey);
      let otherDrops = 0;
      for (const k of Object.keys(m)) if (k.startsWith('mirrorlens_listen_drops_total')) otherDrops += d(k);
      const captured = tds.captured - prevTd.captured;
      const tdDrops = tds.dropped - prevTd.dropped;
      const step: Step = {
        offeredPps: rate,
        sent,
        achievedPps: Math.round(sent / secs),
        loadavg1: loadavg()[0]!,
        ours: { received, written: d('mirrorlens_listen_packets_total'), kernelDrops, otherDrops, cpuSecondsPer100k: ((cpuSeconds(ours.pid!) - c0) / Math.max(1, received)) * 1e5, zeroDrop: received === sent && kernelDrops === 0 },
        tcpdump: { captured, kernelDrops: tdDrops, cpuSecondsPer100k: ((cpuSeconds(td.pid!) - t0) / Math.max(1, captured)) * 1e5, zeroDrop: captured === sent && tdDrops === 0 },
      };
      steps.push(step);
      prevM = m;
      prevTd = tds;
      console.log(
        `offered ${rate} pkt/s (achieved ${step.achievedPps}): mirrorlens ${received}/${sent}${step.ours.zeroDrop ? ' zero-drop' : ` (kernel drops ${kernelDrops})`} ${step.ours.cpuSecondsPer100k.toFixed(3)} CPU-s/100k | ` +
          `tcpdump ${captured}/${sent}${step.tcpdump.zeroDrop ? ' zero-drop' : ` (dropped by kernel ${tdDrops})`} ${step.tcpdump.cpuSecondsPer100k.toFixed(3)} CPU-s/100k | load ${step.loadavg1.toFixed(1)}`,
      );
    }
    const oursRss = peakRss(ours.pid!);
    const tdRss = peakRss(td.pid!);
    ours.kill('SIGTERM');
    await new Promise((r) => ours.once('exit', r));
    const final = await tcpdumpStats(td, 'SIGINT');
    // our files hold what we counted
    let inFiles = 0;
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync(join(dir, 'ml'))) inFiles += (await readCapture(join(dir, 'ml', f), () => {})).packets;
    const best = (k: 'ours' | 'tcpdump'): number => Math.max(0, ...steps.filter((s) => s[k].zeroDrop).map((s) => s.achievedPps));
    const summary = {
      workers,
      engine,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memBytes: totalmem(), loadavg: loadavg(), node: process.version },
      config: { seconds, senders: nSenders, datagramBytes: size, recvBuffer, socketBufferBytes, tcpdumpBufferKiB: Math.round(socketBufferBytes / 1024), nice: niceLevel ?? null, autogroupNice: values['autogroup-nice'] ?? null, built: values.built === true, build: values.build ?? null, rmemMax: readFileSync(RMEM_MAX, 'utf8').trim() },
      steps,
      highestZeroDropPps: { mirrorlens: best('ours'), tcpdump: best('tcpdump') },
      peakRssBytes: { mirrorlens: oursRss, tcpdump: tdRss },
      mirrorlensFinal: ourErr.split('\n').find((l) => l.includes('stopped by')) ?? '',
      mirrorlensPacketsInFiles: inFiles,
      tcpdumpFinal: final,
    };
    console.log(`--- mirrorlens listen --engine ${engine} --workers ${workers} ---`);
    const cpuAt = (k: 'ours' | 'tcpdump'): string => steps.map((st) => st[k].cpuSecondsPer100k.toFixed(3)).join(' / ');
    console.log(`CPU s per 100k datagrams by step: mirrorlens ${cpuAt('ours')}; tcpdump ${cpuAt('tcpdump')}`);
    console.log(`highest zero-drop rate: mirrorlens ${summary.highestZeroDropPps.mirrorlens} pkt/s, tcpdump ${summary.highestZeroDropPps.tcpdump} pkt/s`);
    console.log(`peak RSS: mirrorlens ${(oursRss / 2 ** 20).toFixed(1)} MiB, tcpdump ${(tdRss / 2 ** 20).toFixed(1)} MiB; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`mirrorlens counted vs in files: ${summary.mirrorlensFinal.match(/(\d+) packets written/)?.[1]} vs ${inFiles}`);
    return summary;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const all: unknown[] = [];
console.log(`load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const engine of engines) {
  for (const w of workerCounts) {
    if (w > 1 && engine === 'ring') continue;
    console.log(`=== mirrorlens listen --engine ${engine} --workers ${w} and tcpdump, same stream ===`);
    all.push(await main(w, engine));
  }
}
writeFileSync(values['json-out'] ?? join(outDir, 'listen-results.json'), JSON.stringify(all, null, 2));
