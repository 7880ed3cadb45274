#!/usr/bin/env node
// The source hash of the native addon: the first 16 hex digits of the SHA-256 of native/recv.c.
// binding.gyp compiles it into the addon (its `sourceHash` export) and src/capture/native.ts
// refuses an addon whose hash is not that of the native/recv.c beside it (built before a change
// to the C side, it would read the JavaScript's buffers with another layout). Run alone it
// prints the hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function nativeSourceHash(root = new URL('..', import.meta.url).pathname) {
  return createHash('sha256').update(readFileSync(`${root}/native/recv.c`)).digest('hex').slice(0, 16);
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${nativeSourceHash()}\n`);
