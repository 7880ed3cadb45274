/**
 * `npm run fuzz`: mutation fuzzing of mirrorlens, the way Wireshark runs fuzzshark. Seeds are the
 * repository's test fixtures (captures, key logs, access and flow logs); each in-process target
 * (see fuzz/targets.ts) runs its inputs in a worker thread, and the `cli` target runs commands as
 * a user does (fuzz/cli-target.ts). Every crash, hang, memory blow-up, secret leak or bad output
 * is kept as a reproducer: a directory of input files, the command or target that failed, and the
 * seed that makes the input again.
 *
 *   npm run fuzz                                  all targets, 60 s in all (what CI runs)
 *   npm run fuzz -- --seconds 600                 longer
 *   npm run fuzz -- --inputs 1000000 --targets packet,capture   a fixed number of inputs per target
 *   npm run fuzz -- --seed 1234                   the same inputs again (the seed is printed)
 *   npm run fuzz -- --replay fuzz/findings/capture/crash-1a2b3c   re-run one reproducer
 *
 * Every run first replays the saved failures of its targets (fuzz/regressions/<target>/<dir>, the
 * reproducers of bugs fixed since): a known failure coming back fails the run whatever the seed,
 * before any random input. A new reproducer goes there with its fix (move its directory).
 *
 * Options: --targets a,b (default: every in-process target, then cli), --seconds N (total, split
 * evenly; default 60), --inputs N (per target, no time limit), --seed N, --out DIR (default
 * fuzz/findings), --hang-ms N (in-process, default 10 000), --cli-timeout-ms N (default 60 000),
 * --heap-mb N (in-process heap limit, default 1024), --cli-memory-mb N (default 1024),
 * --regressions DIR (default fuzz/regressions), --no-regressions (skip that replay), --list.
 * Exit status 1 when anything failed.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { REGRESSIONS, loadCorpus, type Corpus } from './corpus.js';
import { cliArgs, makeCliInput, runCliInput } from './cli-target.js';
import { Rng, inputSeed } from './mutate.js';
import { FuzzFailure, TARGETS, targetByName, type FuzzInput } from './targets.js';
import type { WorkerData, WorkerMessage } from './worker.js';

type Kind = 'crash' | 'hang' | 'memory' | 'leak' | 'output';
const KINDS: Kind[] = ['crash', 'hang', 'memory', 'leak', 'output'];

interface Tally {
  target: string;
  inputs: number;
  seconds: number;
  failures: Record<Kind, number>;
  /** Distinct failures (by signature) with their reproducer directories. */
  kept: string[];
}

const { values } = parseArgs({
  options: {
    targets: { type: 'string' },
    seconds: { type: 'string' },
    inputs: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    'hang-ms': { type: 'string' },
    'cli-timeout-ms': { type: 'string' },
    'heap-mb': { type: 'string' },
    'cli-memory-mb': { type: 'string' },
    replay: { type: 'string' },
    'no-regressions': { type: 'boolean' },
    regressions: { type: 'string' },
    list: { type: 'boolean' },
  },
});

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(values.out ?? join(ROOT, 'fuzz/findings'));
const SAVED = resolve(values.regressions ?? REGRESSIONS);
const HANG_MS = Number(values['hang-ms'] ?? 10_000);
const CLI_TIMEOUT_MS = Number(values['cli-timeout-ms'] ?? 60_000);
const HEAP_MB = Number(values['heap-mb'] ?? 1024);
const CLI_MEMORY_MB = Number(values['cli-memory-mb'] ?? 1024);

function fail(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

if (values.list) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(8)} ${t.what}`);
  console.log(`${'cli'.padEnd(8)} mirrorlens read/conns/tls/http/follow/analyze/logs as child processes, every output format`);
  process.exit(0);
}

// ------------------------------------------------------------------------------ reproducers

/** A failure's identity for de-duplication: its kind, message shape and first project frame. */
function signature(kind: Kind, message: string, stack: string): string {
  const frame = stack.split('\n').find((l) => /\/(src|fuzz)\//.test(l))?.trim() ?? '';
  const shape = message.replace(/0x[0-9a-f]+|\d+/gi, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 160);
  return createHash('sha256').update(`${kind}\n${shape}\n${frame}`).digest('hex').slice(0, 12);
}

function writeReproducer(target: string, kind: Kind, sig: string, input: FuzzInput, how: Record<string, unknown>, message: string, stack: string): string {
  const dir = join(OUT, target, `${kind}-${sig}`);
  if (existsSync(dir)) return dir;
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(input.files)) writeFileSync(join(dir, name), bytes);
  // Stack frames relative to the repository, so that a reproducer can be committed as it is.
  const frames = stack.split('\n').slice(0, 12).map((l) => l.split(`file://${ROOT}/`).join('').split(`${ROOT}/`).join(''));
  writeFileSync(join(dir, 'reproducer.json'), `${JSON.stringify({ target, kind, message, ...how, meta: input.meta, stack: frames }, null, 2)}\n`);
  return dir;
}

// ------------------------------------------------------------------------------ in-process targets

interface InProcessResult {
  done: number;
  failures: { input: number; kind: Kind; message: string; stack: string }[];
}

/** Runs inputs [from, to) of a target in one worker; stops at the first hang or memory death (the caller restarts after it). */
function runWorker(target: string, seed: number, from: number, to: number, deadline: number): Promise<InProcessResult & { stoppedAt: number | null; loadMs: number }> {
  return new Promise((resolvePromise) => {
    const progress = new SharedArrayBuffer(8);
    const view = new Int32Array(progress);
    const data: WorkerData = { target, seed, from, to, deadline, progress, heapLimitBytes: HEAP_MB * 0.75 * 1048576 };
    const w = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: 64 },
      stdout: true,
      stderr: true,
    });
    const result: InProcessResult & { stoppedAt: number | null; loadMs: number } = { done: 0, failures: [], stoppedAt: null, loadMs: 0 };
    let lastInput = -1;
    let lastChange = Date.now();
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      resolvePromise(result);
    };
    const watchdog = setInterval(() => {
      const now = Date.now();
      const cur = Atomics.load(view, 0);
      const busy = Atomics.load(view, 1) === 1;
      if (cur !== lastInput || !busy) {
        lastInput = cur;
        lastChange = now;
        return;
      }
      if (now - lastChange > HANG_MS) {
        clearInterval(watchdog); // terminate() takes a while: the same hang must not be counted twice
        result.failures.push({ input: cur, kind: 'hang', message: `input ${cur} still running after ${HANG_MS} ms`, stack: '' });
        result.stoppedAt = cur;
        result.done = cur - from + 1;
        void w.terminate().then(finish);
      }
    }, 100);
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') result.loadMs = m.loadMs;
      else if (m.type === 'progress') result.done = m.done;
      else if (m.type === 'failure') {
        result.failures.push({ input: m.input, kind: m.kind, message: m.message, stack: m.stack });
        if (m.kind === 'memory') {
          result.stoppedAt = m.input;
          result.done = m.input - from + 1;
        }
      } else if (m.type === 'finished') {
        if (result.stoppedAt === null) result.done = m.done;
      }
    });
    w.on('error', (e: Error & { code?: string }) => {
      const cur = Atomics.load(view, 0);
      const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      result.failures.push({ input: cur, kind: memory ? 'memory' : 'crash', message: memory ? `the heap limit (${HEAP_MB} MiB) was reached on input ${cur}` : `worker died: ${e.message}`, stack: e.stack ?? '' });
      result.stoppedAt = cur;
      result.done = cur - from + 1;
    });
    w.on('exit', finish);
  });
}

async function fuzzInProcess(target: string, seed: number, budgetMs: number, maxInputs: number, corpus: Corpus): Promise<Tally> {
  const tally: Tally = { target, inputs: 0, seconds: 0, failures: { crash: 0, hang: 0, memory: 0, leak: 0, output: 0 }, kept: [] };
  const t = targetByName(target)!;
  const started = Date.now();
  const deadline = maxInputs < Infinity ? Infinity : started + budgetMs;
  let from = 0;
  const seen = new Set<string>();
  let loadMs = 0;
  while (from < maxInputs && Date.now() < deadline) {
    const r = await runWorker(target, seed, from, maxInputs, deadline);
    loadMs += r.loadMs;
    for (const f of r.failures) {
      tally.failures[f.kind]++;
      const sig = signature(f.kind, f.message, f.stack);
      if (seen.has(sig)) continue;
      seen.add(sig);
      const input = t.make(corpus, new Rng(inputSeed(seed, target, f.input)));
      tally.kept.push(writeReproducer(target, f.kind, sig, input, { seed, input: f.input }, f.message, f.stack));
    }
    from += r.done;
    tally.inputs += r.done;
    if (r.stoppedAt === null) break;
    from = r.stoppedAt + 1;
  }
  tally.seconds = Math.max(0.001, (Date.now() - started - loadMs) / 1000);
  return tally;
}

// ------------------------------------------------------------------------------ the CLI target

/** Newest modification time under `dir` (ms), for files ending in `ext`. */
function newest(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext) && !e.name.endsWith('.test.ts')) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/** The cli target runs bin/mirrorlens.js, i.e. the bundle in dist/bundle/: built again when src/ is newer. */
function ensureBuilt(): void {
  const main = join(ROOT, 'dist/bundle/mirrorlens.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newest(join(ROOT, 'src'), '.ts')) return;
  console.log('fuzz: dist/ is older than src/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) fail('npm run build failed');
}

function fuzzCli(seed: number, budgetMs: number, maxInputs: number, corpus: Corpus): Tally {
  const tally: Tally = { target: 'cli', inputs: 0, seconds: 0, failures: { crash: 0, hang: 0, memory: 0, leak: 0, output: 0 }, kept: [] };
  ensureBuilt();
  const started = Date.now();
  const work = join(tmpdir(), `mlfuzz-${process.pid}`);
  const seen = new Set<string>();
  try {
    for (let i = 0; i < maxInputs && (maxInputs < Infinity || Date.now() - started < budgetMs); i++) {
      const input = makeCliInput(corpus, new Rng(inputSeed(seed, 'cli', i)));
      const v = runCliInput(input, work, { timeoutMs: CLI_TIMEOUT_MS, memoryMiB: CLI_MEMORY_MB });
      tally.inputs++;
      if (v === null) continue;
      tally.failures[v.kind]++;
      const sig = signature(v.kind, v.message.replace(/^mirrorlens \S+/, (c) => c), '');
      if (seen.has(sig)) continue;
      seen.add(sig);
      tally.kept.push(writeReproducer('cli', v.kind, sig, input, { seed, input: i, command: `mirrorlens ${cliArgs(input).join(' ')}` }, v.message, ''));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  tally.seconds = (Date.now() - started) / 1000;
  return tally;
}

// ------------------------------------------------------------------------------ replay

/** Runs one reproducer directory again: null when it passes now, else what fails. */
function replayOne(dir: string): { target: string; failure: string | null } {
  const meta = JSON.parse(readFileSync(join(dir, 'reproducer.json'), 'utf8')) as { target: string; meta: Record<string, unknown>; command?: string };
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) if (name !== 'reproducer.json') files[name] = readFileSync(join(dir, name));
  const input: FuzzInput = { files, meta: meta.meta };
  if (meta.target === 'cli') {
    const v = runCliInput(input, join(tmpdir(), `mlfuzz-replay-${process.pid}`), { timeoutMs: CLI_TIMEOUT_MS, memoryMiB: CLI_MEMORY_MB });
    return { target: `cli: mirrorlens ${cliArgs(input).join(' ')}`, failure: v === null ? null : `${v.kind}: ${v.message}` };
  }
  const t = targetByName(meta.target) ?? fail(`${dir}: no target '${meta.target}'`);
  try {
    t.exec(input);
    return { target: t.name, failure: null };
  } catch (e) {
    return { target: t.name, failure: `${e instanceof FuzzFailure ? e.kind : 'crash'}: ${(e as Error).stack ?? String(e)}` };
  }
}

function replay(dir: string): never {
  const r = replayOne(dir);
  console.log(r.failure === null ? `passes now: ${r.target} on ${dir}` : r.failure);
  process.exit(r.failure === null ? 0 : 1);
}

/** Replays fuzz/regressions/<target>/* for the given targets; returns the directories that fail again. */
function replayRegressions(targets: readonly string[]): { replayed: number; failed: string[] } {
  const failed: string[] = [];
  let replayed = 0;
  for (const t of targets) {
    const base = join(SAVED, t);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base).sort()) {
      const dir = join(base, d);
      if (!existsSync(join(dir, 'reproducer.json'))) continue;
      replayed++;
      if (t === 'cli') ensureBuilt();
      const r = replayOne(dir);
      if (r.failure === null) continue;
      failed.push(dir);
      console.log(`  regression ${relative(ROOT, dir)} fails again: ${r.failure.split('\n').slice(0, 6).join('\n    ')}`);
    }
  }
  return { replayed, failed };
}

// ------------------------------------------------------------------------------ main

if (values.replay) replay(values.replay);
const names = values.targets ? values.targets.split(',') : [...TARGETS.map((t) => t.name), 'cli'];
for (const n of names) if (n !== 'cli' && targetByName(n) === undefined) fail(`no target '${n}' (see --list)`);
// Known failures first: they fail the run for every seed, before any random input.
if (!values['no-regressions']) {
  const r = replayRegressions(names);
  console.log(`fuzz: ${r.replayed} saved failures replayed (${relative(ROOT, SAVED)}), ${r.failed.length} fail again`);
  if (r.failed.length > 0) process.exit(1);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const maxInputs = values.inputs !== undefined ? Number(values.inputs) : Infinity;
const totalMs = Number(values.seconds ?? (maxInputs < Infinity ? 0 : 60)) * 1000;
// The CLI target starts a process per input: it gets a fifth of the time when it runs with others.
const cliShare = names.includes('cli') ? (names.length === 1 ? 1 : 0.2) : 0;
const perTargetMs = (totalMs * (1 - cliShare)) / Math.max(1, names.length - (names.includes('cli') ? 1 : 0));
console.log(`fuzz: seed ${seed}, targets ${names.join(', ')}, ${maxInputs < Infinity ? `${maxInputs} inputs each` : `${totalMs / 1000} s`}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const corpus = loadCorpus();
console.log(`corpus: ${corpus.captures.length} captures, ${corpus.frames.length} frames, ${corpus.streams.length} TCP streams, ${corpus.logs.length} logs, ${corpus.keylogs.length} key logs (test/fixtures)`);
const tallies: Tally[] = [];
for (const n of names) {
  const tally = n === 'cli' ? fuzzCli(seed, totalMs * cliShare, maxInputs, corpus) : await fuzzInProcess(n, seed, perTargetMs, maxInputs, corpus);
  tallies.push(tally);
  const f = KINDS.map((k) => `${tally.failures[k]} ${k}`).join(', ');
  console.log(`  ${n.padEnd(8)} ${String(tally.inputs).padStart(9)} inputs  ${(tally.inputs / tally.seconds).toFixed(0).padStart(7)} runs/s  ${f}`);
  for (const d of tally.kept) console.log(`           reproducer: ${d}`);
}
const total = tallies.reduce((a, t) => a + t.inputs, 0);
const failed = tallies.reduce((a, t) => a + KINDS.reduce((b, k) => b + t.failures[k], 0), 0);
console.log(`fuzz: ${total} inputs, ${failed} failures (seed ${seed}); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
process.exit(failed > 0 ? 1 : 0);
