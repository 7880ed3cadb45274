// A run asked not to analyze says so: result.json and the summary read "analyze skipped" (they said
// "not-built", from the days before analyze existed), and no analyze.json is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../src/lab/runner.js';
import { findScenario } from '../../src/lab/scenarios.js';
import { labSkipReason } from './env.js';

test('a run with analyze off reports analyze as skipped and writes no analyze.json', { skip: labSkipReason() }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mlab-noanalyze-'));
  try {
    const r = await runScenario(findScenario('refused')!, { outDir: out, analyze: false });
    assert.equal(r.analyzeStatus, 'skipped');
    assert.equal(r.verdict, null);
    assert.ok(!r.checks.some((c) => c.name.startsWith('analyze')), 'no verdict checks');
    assert.ok(!existsSync(join(out, 'analyze.json')));
    assert.equal((JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { analyzeStatus: string }).analyzeStatus, 'skipped');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
