#!/usr/bin/env node
// Builds the native addons at install time with node-gyp, the one npm carries: the receive engines
// (native/recv.c) and the analysis's first pass (native/analyze/). It never fails the install:
// without a compiler, Node headers or Linux, `mirrorlens listen` uses Node's socket engine and says
// so at start-up (docs/listen.md "Engines"), and `analyze` runs its JavaScript first pass (same results).
// MIRRORLENS_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { analyzeSourceHash, nativeSourceHash } from './native-hash.mjs';

const root = new URL('..', import.meta.url).pathname;
const status = join(root, 'build', 'native-status.txt');

function done(ok, why) {
  mkdirSync(dirname(status), { recursive: true });
  // "built HASH ANALYZE_HASH": the sources they were built from (scripts/run-tests.mjs rebuilds stale addons)
  writeFileSync(status, ok ? `built ${nativeSourceHash(root)} ${analyzeSourceHash(root)}\n` : `${why}\n`);
  if (!ok) console.error(`mirrorlens: native addons not built (${why}); listen will use the socket engine, analyze its JavaScript first pass`);
  process.exit(0);
}

if (process.platform !== 'linux') done(false, `${process.platform} is not Linux`);
if (process.env.MIRRORLENS_SKIP_NATIVE === '1') done(false, 'MIRRORLENS_SKIP_NATIVE=1');

// npm sets npm_config_node_gyp to its own node-gyp; else look for npm's copy next to node.
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  const candidates = [join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package
  }
  gyp = candidates.find((c) => existsSync(c));
}
if (!gyp) done(false, 'node-gyp not found');
// Headers: npm's nodedir setting, else those installed beside this node (no download).
const args = [gyp, 'rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  // the whole output for whoever wants it; one telling line for the install log and `listen`
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(join(root, 'build', 'native-build.log'), text);
  const lines = text.split('\n').map((l) => l.trim());
  const line =
    lines.find((l) => /(^|\s)(fatal )?error:/.test(l) && !/^gyp/.test(l)) ??
    lines.find((l) => /not found|No such file|command not found/i.test(l)) ??
    `the C compiler or node-gyp failed (exit ${r.status}${r.error ? `: ${r.error.message}` : ''}; output in build/native-build.log)`;
  done(false, line.slice(0, 200));
}
done(true);
