// No import cycle anywhere under src/, within a stage or across: a cycle through a type-only or a
// dynamic import counts too (the design is circular even when the runtime copes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findCycles, importGraph } from './imports.js';

const root = resolve(import.meta.dirname, '../..');

test('no module under src/ is part of an import cycle', () => {
  assert.deepEqual(findCycles(importGraph(join(root, 'src'))).map((c) => c.join(' → ')), []);
});

test('no test or benchmark module is part of an import cycle either', () => {
  for (const dir of ['test', 'bench']) assert.deepEqual(findCycles(importGraph(join(root, dir))).map((c) => c.join(' → ')), [], dir);
});

test('the cycle finder names a cycle of three modules as a path, and one per component', () => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts', 'd.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', []],
    ['x.ts', ['y.ts']],
    ['y.ts', ['x.ts']],
  ]);
  assert.deepEqual(findCycles(g), [
    ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
    ['x.ts', 'y.ts', 'x.ts'],
  ]);
});

test('the cycle finder sees a module importing itself and none in a diamond', () => {
  assert.deepEqual(findCycles(new Map([['a.ts', ['a.ts']]])), [['a.ts', 'a.ts']]);
  const diamond = new Map([
    ['top.ts', ['left.ts', 'right.ts']],
    ['left.ts', ['bottom.ts']],
    ['right.ts', ['bottom.ts']],
    ['bottom.ts', []],
  ]);
  assert.deepEqual(findCycles(diamond), []);
});

test('the cycle finder handles a long chain without deep recursion', () => {
  const g = new Map<string, string[]>();
  for (let i = 0; i < 50_000; i++) g.set(`m${i}.ts`, i + 1 < 50_000 ? [`m${i + 1}.ts`] : ['m0.ts']);
  const cycles = findCycles(g);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0]!.length, 50_001);
});

test('a cycle planted in a source tree through a type-only and a lazy import is found', () => {
  const root = mkdtempSync(join(tmpdir(), 'ml-cycles-'));
  try {
    mkdirSync(join(root, 'lab'));
    writeFileSync(join(root, 'lab/runner.ts'), "import { runChecks } from './checks.js';\nexport interface ClientResult { path: string }\n");
    writeFileSync(join(root, 'lab/checks.ts'), "import type { ClientResult } from './runner.js';\nexport function runChecks(c: ClientResult[]) { return c; }\n");
    writeFileSync(join(root, 'lab/verdict.ts'), "export async function v() { return (await import('./runner.js')).ClientResult; }\n");
    writeFileSync(join(root, 'lab/result.ts'), 'export interface CheckResult { ok: boolean }\n');
    assert.deepEqual(findCycles(importGraph(root)), [['lab/checks.ts', 'lab/runner.ts', 'lab/checks.ts']]);
    // The same tree with the shared type in a module of its own: no cycle.
    writeFileSync(join(root, 'lab/checks.ts'), "import type { CheckResult } from './result.js';\nexport function runChecks(c: CheckResult[]) { return c; }\n");
    assert.deepEqual(findCycles(importGraph(root)), []);
    // A dynamic import back: a cycle again.
    writeFileSync(join(root, 'lab/runner.ts'), "import { runChecks } from './checks.js';\nexport const x = runChecks;\n");
    writeFileSync(join(root, 'lab/checks.ts'), "export async function runChecks() { return (await import('./runner.js')).x; }\n");
    assert.deepEqual(findCycles(importGraph(root)), [['lab/checks.ts', 'lab/runner.ts', 'lab/checks.ts']]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
