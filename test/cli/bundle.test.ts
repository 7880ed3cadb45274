/**
 * The bundled CLI (scripts/build-cli.mjs: what bin/mirrorlens.js runs after `npm install`) is the
 * same program as src/cli/entry.ts: same output, errors and exit codes, the bundled example found,
 * lazily loaded parts (HTML report, evidence, store) loaded, the native addon found or refused for
 * the same reason. The bundle is built fresh here, into a directory of its own under dist/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, inBatches, runBin, type BinResult } from './bin.js';

const OUT = join(ROOT, 'dist', `bundle-test-${process.pid}`);
const BUNDLE = join(OUT, 'mirrorlens.js');
const EX = join(ROOT, 'examples/idle-reset');
const CAP = join(EX, 'idle-reset.pcapng');
const KEYS = join(EX, 'keys.log');
const ALB = join(EX, 'alb-access.log');

before(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), OUT], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `build-cli failed: ${r.stderr}`);
});
after(() => rmSync(OUT, { recursive: true, force: true }));

/** The report's run time is the one field that differs between two runs. */
function masked(r: BinResult): BinResult {
  const t = (s: string) => s.replace(/"elapsedSeconds": [0-9.e-]+/g, '"elapsedSeconds": 0').replace(/in [0-9.]+ s\b/g, 'in 0 s');
  return { code: r.code, out: t(r.out), err: t(r.err) };
}

test('bin/mirrorlens.js runs the bundle that npm run build writes', () => {
  assert.match(readFileSync(join(ROOT, 'bin/mirrorlens.js'), 'utf8'), /new URL\('\.\.\/dist\/bundle\/mirrorlens\.js', import\.meta\.url\)/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.build!, /node scripts\/build-cli\.mjs$/);
  // The bundle is one file per part loaded together, not one per source file.
  const files = readdirSync(OUT).filter((f) => f.endsWith('.js'));
  assert.ok(files.length < 120, `${files.length} files`);
  if (existsSync(join(ROOT, 'dist/bundle/mirrorlens.js'))) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/mirrorlens.js'), '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'mirrorlens 0.1.0\n');
  }
});

test('the bundle prints, fails and exits as the source does', async () => {
  const d = mkdtempSync(join(tmpdir(), 'ml-bundle-'));
  try {
    const cases: string[][] = [
      ['--version'],
      [],
      ['--help'],
      ['anlyze'],
      ['analyze', '--help'],
      ['help', 'listen'],
      ['analyze', '/nonexistent/capture.pcapng'],
      ['analyze', CAP, '--keylog', ALB, '--alb-log', ALB],
      ['analyze', CAP, '--format', 'yaml'],
      ['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB, '--format', 'json'],
      ['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB, '--format', 'html'],
      ['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB, '--full', '--fail-on', 'error'],
      ['demo', '--format', 'json'],
      ['conns', CAP],
      ['http', CAP, '-k', KEYS],
      ['logs', ALB, '--json'],
      ['query', '--store', join(d, 'none'), 'findings'],
      ['completion', 'bash'],
    ];
    const jobs = cases.flatMap((args) => [() => runBin(args), () => runBin(args, { entry: BUNDLE })]);
    const results = await inBatches(jobs, 2);
    for (let i = 0; i < cases.length; i++) {
      const [src, bundled] = [masked(results[2 * i]!), masked(results[2 * i + 1]!)];
      assert.deepEqual(bundled, src, `mirrorlens ${cases[i]!.join(' ')}`);
    }
    // The cases above are not all alike: a few succeed, each exit code the CLI documents is seen.
    assert.deepEqual([...new Set(results.map((r) => r.code))].sort((a, b) => a - b), [0, 1, 2, 3, 4, 6]);
    // The store (DuckDB, an npm package with a native part, loaded from node_modules) written and read.
    const store = join(d, 'store');
    const wrote = await runBin(['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB, '--store', store, '-o', join(d, 'r0.txt')], { entry: BUNDLE });
    assert.equal(wrote.code, 0, wrote.err);
    const [qSrc, qBundle] = await Promise.all([runBin(['query', '--store', store, 'findings', '--json']), runBin(['query', '--store', store, 'findings', '--json'], { entry: BUNDLE })]);
    assert.equal(qSrc.code, 0, qSrc.err);
    assert.deepEqual(qBundle, qSrc);
    assert.match(qBundle.out, /idle-timeout-reset/);
    // --evidence loads the evidence writer (a part of its own) and writes the same files.
    const ev = await runBin(['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB, '--evidence', join(d, 'ev'), '-o', join(d, 'r.txt')], { entry: BUNDLE });
    assert.equal(ev.code, 0, ev.err);
    assert.match(ev.err, /^evidence: [1-9]\d* file\(s\)/m);
    assert.ok(readdirSync(join(d, 'ev')).some((f) => f.endsWith('.pcapng')));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

/** listen's start-up line naming its engine (and why), then SIGTERM. */
async function listenEngineLine(program: string[], dir: string): Promise<string> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  const args = ['listen', '-o', dir, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '0', '--no-traffic-seconds', '0'];
  const p = spawn(process.execPath, [...program, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const closed = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/listen: writing /.test(err) && p.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  p.kill('SIGTERM');
  const code = await closed;
  assert.equal(code, 0, err);
  const line = err.split('\n').find((l) => l.startsWith('listen: engine '));
  assert.ok(line, err);
  return line;
}

test('the bundle finds the native addon where the source does (or names the same reason it cannot)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'ml-bundle-listen-'));
  try {
    const src = await listenEngineLine(['--import', 'tsx', join(ROOT, 'src/cli/entry.ts')], join(d, 'src'));
    const bundled = await listenEngineLine([BUNDLE], join(d, 'bundle'));
    assert.equal(bundled, src);
    if (process.env.MIRRORLENS_REQUIRE_NATIVE === '1') assert.match(bundled, /^listen: engine mmsg /);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
