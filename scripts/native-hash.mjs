#!/usr/bin/env node
// Source hashes of the native addons, the first 16 hex digits of a SHA-256:
//  - nativeSourceHash: of native/recv.c (the receive engines, build/Release/mirrorlens_recv.node);
//  - analyzeSourceHash: of every file in native/analyze/ (names and contents, in name order: the
//    analysis's first pass, build/Release/mirrorlens_analyze.node).
// binding.gyp compiles each into its addon (the `sourceHash` export) and the loaders
// (src/capture/native.ts, src/capture/native-analyze.ts) refuse an addon whose hash is not that of
// the source beside it (built before a change to the C side, it would read the JavaScript's
// buffers with another layout). Run alone it prints the recv hash; `analyze` as argument, the other.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';

export function nativeSourceHash(root = new URL('..', import.meta.url).pathname) {
  return createHash('sha256').update(readFileSync(`${root}/native/recv.c`)).digest('hex').slice(0, 16);
}

/** The files hashed for the analyze addon, in order (also used by its loader's check). */
export function analyzeSourceFiles(root = new URL('..', import.meta.url).pathname) {
  return readdirSync(`${root}/native/analyze`)
    .filter((n) => /\.(c|h)$/.test(n))
    .sort()
    .map((n) => `${root}/native/analyze/${n}`);
}

export function analyzeSourceHash(root = new URL('..', import.meta.url).pathname) {
  const h = createHash('sha256');
  for (const f of analyzeSourceFiles(root)) {
    h.update(f.slice(f.lastIndexOf('/') + 1));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${process.argv[2] === 'analyze' ? analyzeSourceHash() : nativeSourceHash()}\n`);
}
