// The native analysis addon is used only when it was built from the native/analyze/ sources beside
// it (a stale addon would read the JavaScript's buffers with another layout), and where CI requires
// the native parts (MIRRORLENS_REQUIRE_NATIVE=1) it must be there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { analyzeSourceHash, loadAnalyzeAddon, loadAnalyzeNative } from './native-analyze.js';

const root = resolve(import.meta.dirname, '../..');
const ADDON = join(root, 'build/Release/mirrorlens_analyze.node');
const SOURCES = join(root, 'native/analyze');
const built = loadAnalyzeNative();

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml-native-analyze-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('where the native parts are required (CI), the analysis addon is built and loads', { skip: process.env.MIRRORLENS_REQUIRE_NATIVE === '1' ? false : 'MIRRORLENS_REQUIRE_NATIVE is not 1' }, () => {
  assert.ok(built.addon, built.why);
});

test('the source hash binding.gyp compiles in is the one the loader computes', () => {
  const script = execFileSync(process.execPath, [join(root, 'scripts/native-hash.mjs'), 'analyze'], { encoding: 'utf8' }).trim();
  assert.match(script, /^[0-9a-f]{16}$/);
  assert.equal(analyzeSourceHash(SOURCES), script);
  if (built.addon) assert.equal(built.addon.sourceHash, script);
});

test('an addon built before a source of native/analyze/ changed is refused, naming both hashes', { skip: built.addon ? false : built.why }, (t) => {
  const dir = tempDir(t);
  const addon = join(dir, 'mirrorlens_analyze.node');
  copyFileSync(ADDON, addon);
  const src = join(dir, 'src');
  cpSync(SOURCES, src, { recursive: true });
  assert.ok(loadAnalyzeAddon(addon, src).addon, 'the same sources: loads');
  const h = join(src, 'ml.h');
  writeFileSync(h, Buffer.concat([readFileSync(h), Buffer.from('\n')]));
  const r = loadAnalyzeAddon(addon, src);
  assert.equal(r.addon, null);
  assert.equal(r.why, `the native analysis addon is stale: built from sources ${analyzeSourceHash(SOURCES)}, they are now ${analyzeSourceHash(src)} (run npm rebuild, or node scripts/build-native.mjs; needs a C compiler and Linux)`);
});

test('no addon, or no sources to check it against: the reason, never a silent load', (t) => {
  const dir = tempDir(t);
  assert.match(loadAnalyzeAddon(join(dir, 'none.node'), SOURCES).why, /^the native analysis addon was not built \(run npm rebuild/);
  const fake = join(dir, 'fake.cjs');
  writeFileSync(fake, 'module.exports = { version: 1, sourceHash: "0123456789abcdef" };\n');
  const r = loadAnalyzeAddon(fake, join(dir, 'nowhere'));
  assert.equal(r.addon, null);
  assert.match(r.why, /cannot be checked against its sources \(.*nowhere is missing/);
});
