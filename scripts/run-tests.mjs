#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's built-in test runner, TypeScript through tsx.
// Usage: node scripts/run-tests.mjs [substring...]   (substrings narrow the file list)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { analyzeSourceHash, nativeSourceHash } from './native-hash.mjs';

const root = new URL('..', import.meta.url).pathname;

// A native addon built from other sources is refused at run time (listen falls back to the socket
// engine, analyze to its JavaScript first pass, naming why): rebuild first, so the tests run this source's.
// Only where it was built before (a machine without a compiler keeps its reason).
const status = join(root, 'build', 'native-status.txt');
if (process.platform === 'linux' && existsSync(status) && readFileSync(status, 'utf8').startsWith('built')) {
  const load = (name) => {
    try {
      return createRequire(import.meta.url)(join(root, 'build', 'Release', name)).sourceHash;
    } catch {
      return undefined; // gone or does not load: rebuild
    }
  };
  const hash = load('mirrorlens_recv.node');
  const analyzeHash = load('mirrorlens_analyze.node');
  if (hash !== nativeSourceHash(root) || analyzeHash !== analyzeSourceHash(root)) {
    console.error(`run-tests: the native addons were built from other sources (recv ${hash ?? 'none'}, analyze ${analyzeHash ?? 'none'}): rebuilding them (scripts/build-native.mjs)`);
    spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
  }
}

const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
walk(join(root, 'src'));
walk(join(root, 'test'));
const filters = process.argv.slice(2);
const chosen = files.sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (chosen.length === 0) {
  console.error('run-tests: no test file matched');
  process.exit(1);
}
// Every analysis the tests run (in process or through the CLI) is also run in full and compared:
// a targeted analysis that finds anything else fails (src/analyze/differential.ts).
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...chosen], {
  cwd: root,
  stdio: 'inherit',
  env: { MIRRORLENS_DIFFERENTIAL: '1', ...process.env },
});
process.exit(r.status ?? 1);
