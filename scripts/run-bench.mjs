#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark, one after the other, each through its own npm script
 * (bench:read, bench:logs, bench:listen, bench:analyze, bench:synflood, bench:flow), and prints a combined summary
 * at the end. Each benchmark prints (and some write) its own figures; this runner only sequences
 * them, keeps the last lines each printed, and reports which failed.
 *
 *   npm run bench                                   (all, in the order above)
 *   npm run bench -- --only analyze                 (one; --only read,logs for several)
 *   npm run bench -- --only analyze --runs 5        (arguments it does not know go to the benchmarks)
 *   npm run bench -- --list                         (names and the commands they run)
 *
 * Unknown arguments are passed to every selected benchmark, and the benchmarks reject options they
 * do not know: combine pass-through arguments with --only. A failing benchmark is reported and
 * the runner goes on to the next; the exit code is non-zero if any failed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const ORDER = ['read', 'logs', 'listen', 'analyze', 'synflood', 'flow'];
const TAIL_LINES = 12;

const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts ?? {};

function usage(message) {
  if (message) process.stderr.write(`run-bench: ${message}\n`);
  process.stderr.write(`usage: npm run bench -- [--only NAME[,NAME...]] [--list] [benchmark arguments...]\nbenchmarks: ${ORDER.join(', ')}\n`);
  process.exit(2);
}

const only = [];
const passThrough = [];
let list = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--only') {
    if (i + 1 >= argv.length) usage('--only needs a benchmark name');
    only.push(...argv[++i].split(','));
  } else if (a.startsWith('--only=')) {
    only.push(...a.slice('--only='.length).split(','));
  } else if (a === '--list') {
    list = true;
  } else if (a === '--help' || a === '-h') {
    usage();
  } else {
    passThrough.push(a);
  }
}
for (const name of only) {
  if (!ORDER.includes(name)) usage(`unknown benchmark '${name}'`);
}
const selected = only.length > 0 ? ORDER.filter((n) => only.includes(n)) : ORDER;

if (list) {
  for (const name of ORDER) console.log(`${name.padEnd(8)} npm run bench:${name}  ->  ${scripts[`bench:${name}`] ?? '(no such npm script)'}`);
  process.exit(0);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs one benchmark, its output streamed through; resolves with its status and last lines. */
function runOne(name) {
  return new Promise((done) => {
    const script = `bench:${name}`;
    const started = Date.now();
    if (!scripts[script]) {
      done({ name, ok: false, status: `no npm script '${script}' in package.json`, seconds: 0, tail: [] });
      return;
    }
    const args = ['run', '--silent', script];
    if (passThrough.length > 0) args.push('--', ...passThrough);
    const child = spawn(npm, args, { cwd: ROOT, stdio: ['inherit', 'pipe', 'pipe'] });
    let tail = [];
    let partial = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      tail = tail.concat(lines).slice(-TAIL_LINES);
    });
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    // Ctrl-C reaches the benchmark too (same process group); let it clean up, then stop here.
    const onSigint = () => {};
    process.on('SIGINT', onSigint);
    child.on('error', (err) => {
      process.off('SIGINT', onSigint);
      done({ name, ok: false, status: `could not start: ${err.message}`, seconds: (Date.now() - started) / 1000, tail });
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', onSigint);
      if (partial) tail = tail.concat([partial]).slice(-TAIL_LINES);
      const seconds = (Date.now() - started) / 1000;
      const ok = code === 0;
      const status = ok ? 'ok' : signal ? `killed by ${signal}` : `exit code ${code}`;
      done({ name, ok, status, seconds, tail, interrupted: signal === 'SIGINT' || code === 130 });
    });
  });
}

const header = `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`run-bench: ${selected.join(', ')}${passThrough.length ? ` (arguments: ${passThrough.join(' ')})` : ''}`);
console.log(`${header}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const results = [];
for (const name of selected) {
  console.log(`\n===== bench:${name} (${new Date().toISOString()}) =====`);
  const r = await runOne(name);
  results.push(r);
  if (!r.ok) process.stderr.write(`run-bench: bench:${name} failed (${r.status}); going on\n`);
  if (r.interrupted) {
    process.stderr.write('run-bench: interrupted, not running the remaining benchmarks\n');
    break;
  }
}

console.log('\n===== summary =====');
console.log(`${header}, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| benchmark | result | wall s |');
console.log('|---|---|---:|');
for (const r of results) console.log(`| ${r.name} | ${r.status} | ${r.seconds.toFixed(1)} |`);
for (const name of selected.filter((n) => !results.some((r) => r.name === n))) console.log(`| ${name} | not run | |`);
for (const r of results) {
  if (r.tail.length === 0) continue;
  console.log(`\n--- ${r.name}: last lines of its output ---`);
  for (const line of r.tail) console.log(line);
}
const failed = results.filter((r) => !r.ok).length + selected.length - results.length;
if (failed > 0) console.log(`\n${failed} of ${selected.length} benchmark(s) failed or did not run`);
process.exitCode = failed > 0 ? 1 : 0;
