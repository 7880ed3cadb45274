// The pipeline stages import only from themselves or from earlier stages:
// wire → capture → flow → tls → http → logs → correlate → diagnose → store → analyze → report → cli,
// with lab beside cli: lab may import every stage up to report, cli may import lab, lab never
// imports cli (it runs mirrorlens as a program). src/index.ts (the library API) may import
// anything. This test fails on any backwards import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { importsOf, sourceFiles } from './imports.js';

export const STAGES = ['wire', 'capture', 'flow', 'tls', 'http', 'logs', 'correlate', 'diagnose', 'store', 'analyze', 'report', 'aws', 'lab', 'cli'] as const;
const srcRoot = resolve(import.meta.dirname, '../../src');

function stageOf(file: string): number {
  const top = relative(srcRoot, file).split(sep)[0]!;
  return STAGES.indexOf(top as (typeof STAGES)[number]);
}

test('every folder under src/ is a known pipeline stage', () => {
  for (const name of readdirSync(srcRoot)) {
    if (statSync(join(srcRoot, name)).isDirectory()) assert.ok(STAGES.includes(name as never), `src/${name} is not a stage`);
  }
});

test('no module imports from a later pipeline stage', () => {
  const violations: string[] = [];
  for (const f of sourceFiles(srcRoot)) {
    const from = stageOf(f);
    if (from < 0) continue; // src/index.ts
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(srcRoot)) continue;
      const to = stageOf(target);
      if (to > from) violations.push(`${relative(srcRoot, f)} imports ${spec} (${STAGES[to]} comes after ${STAGES[from]})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees static, type-only, re-export and dynamic imports', () => {
  const src = `import { a } from './x.js';\nimport type { B } from "../flow/y.js";\nexport * from './z.js';\nconst m = await import('../cli/w.js');\nimport './side.js';`;
  assert.deepEqual(importsOf(src), ['./x.js', '../flow/y.js', './z.js', '../cli/w.js', './side.js']);
});
