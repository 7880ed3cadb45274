// The native addon is used only when it was built from the native/recv.c beside it and shares the
// JavaScript's buffer layouts: a worktree whose addon predates a change to the C side (8 words of
// metadata a datagram read into a 10-word layout) wrote garbage and hung; now it is refused with
// the reason, and listen falls back to the socket engine saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAddon, loadNative, nativeSourceHash, RING_META_WORDS, UDP_BATCH, UDP_META_WORDS } from './native.js';

const root = resolve(import.meta.dirname, '../..');
const ADDON = join(root, 'build/Release/mirrorlens_recv.node');
const SOURCE = join(root, 'native/recv.c');
const built = loadNative();

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stand-in for an addon built from another source: a CommonJS module with the addon's exports. */
let fakes = 0;
function fakeAddon(dir: string, exports: Record<string, unknown>): string {
  const p = join(dir, `addon-${++fakes}.cjs`); // a new name each: require() caches by path
  writeFileSync(p, `module.exports = ${JSON.stringify(exports)};\n`);
  return p;
}

test('the source hash binding.gyp compiles in is the one the loader computes', () => {
  const script = execFileSync(process.execPath, [join(root, 'scripts/native-hash.mjs')], { encoding: 'utf8' }).trim();
  assert.match(script, /^[0-9a-f]{16}$/);
  assert.equal(nativeSourceHash(readFileSync(SOURCE)), script);
});

test('the built addon carries the hash of native/recv.c and the layouts of native.ts', { skip: built.addon ? false : built.why }, () => {
  const a = built.addon!;
  assert.equal(a.sourceHash, nativeSourceHash(readFileSync(SOURCE)));
  assert.deepEqual([a.udpMetaWords, a.ringMetaWords, a.udpBatch], [UDP_META_WORDS, RING_META_WORDS, UDP_BATCH]);
});

test('an addon built before native/recv.c changed is refused, naming both hashes and the fix', { skip: built.addon ? false : built.why }, (t) => {
  const dir = tempDir(t);
  // the real built addon, beside a source one byte different from the one it was built from
  const addon = join(dir, 'mirrorlens_recv.node');
  copyFileSync(ADDON, addon);
  const changed = Buffer.from(readFileSync(SOURCE));
  changed[changed.length - 1] = changed[changed.length - 1] === 0x0a ? 0x20 : 0x0a;
  writeFileSync(join(dir, 'recv.c'), changed);
  const r = loadAddon(addon, join(dir, 'recv.c'));
  assert.equal(r.addon, null);
  const was = nativeSourceHash(readFileSync(SOURCE));
  const now = nativeSourceHash(changed);
  assert.equal(r.why, `the native addon is stale: built from native/recv.c ${was}, the source is now ${now} (run npm rebuild, or node scripts/build-native.mjs; needs a C compiler and Linux)`);
  // the same addon with its own source loads
  assert.ok(loadAddon(addon, SOURCE).addon);
});

test('an addon from before source hashes existed is refused as stale', (t) => {
  const dir = tempDir(t);
  const r = loadAddon(fakeAddon(dir, { version: 1 }), SOURCE);
  assert.equal(r.addon, null);
  assert.match(r.why, /^the native addon is stale: built from an older native\/recv\.c, the source is now [0-9a-f]{16} \(run npm rebuild/);
});

test('an addon whose buffer layout differs from the JavaScript side is refused', (t) => {
  const dir = tempDir(t);
  const sourceHash = nativeSourceHash(readFileSync(SOURCE));
  const r = loadAddon(fakeAddon(dir, { version: 1, sourceHash, udpMetaWords: 8, ringMetaWords: RING_META_WORDS, udpBatch: UDP_BATCH }), SOURCE);
  assert.equal(r.addon, null);
  assert.equal(r.why, `the native addon does not match this mirrorlens: its udpMetaWords is 8, ${UDP_META_WORDS} expected`);
  const ok = loadAddon(fakeAddon(dir, { version: 1, sourceHash, udpMetaWords: UDP_META_WORDS, ringMetaWords: RING_META_WORDS, udpBatch: UDP_BATCH }), SOURCE);
  assert.ok(ok.addon, ok.why);
});

test('no addon, or no source to check it against: the reason, never a silent load', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'status.txt'), 'gcc: command not found\n');
  assert.deepEqual(loadAddon(join(dir, 'none.node'), SOURCE, join(dir, 'status.txt')), { addon: null, why: 'the native addon was not built at install: gcc: command not found' });
  assert.match(loadAddon(join(dir, 'none.node'), SOURCE).why, /^the native addon was not built at install \(run npm rebuild/);
  const r = loadAddon(fakeAddon(dir, { version: 1, sourceHash: '0123456789abcdef' }), join(dir, 'recv.c'));
  assert.equal(r.addon, null);
  assert.match(r.why, /cannot be checked against its source \(.*recv\.c is missing/);
});
