// A targeted analysis that finds nothing to read through TLS and HTTP (every request logged 200,
// every connection clean) does not load those stages' code (src/analyze/dissectors.ts): loading
// them was part of such a run's start-up. One that reads a connection loads them first. (Each test
// file runs in its own process, so the module state starts empty here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/analyze/analyze.js';
import { dissectorsLoaded } from '../../src/analyze/dissectors.js';
import type { Talk } from '../flow/packets.js';
import { cleanRequest, writeScenario } from './scenario.js';

delete process.env.MIRRORLENS_DIFFERENTIAL;

/** `n` requests, each on its own client and target connection, answered 200 and logged so; closed cleanly. */
function clean(n: number): { front: Talk[]; back: Talk[]; log: string[] } {
  const rs = Array.from({ length: n }, (_, i) => cleanRequest(i));
  return { front: rs.map((r) => r.front), back: rs.map((r) => r.back), log: rs.map((r) => r.log) };
}

test('nothing to dissect: the TLS and HTTP stages are never loaded; --full loads them and reads every connection', async () => {
  const s = clean(5);
  const w = writeScenario('dissectors-clean', s.front, s.back, s.log);
  const inputs = { captures: [w.capture], albLogs: [w.albLog] };
  const targeted = (await analyze(inputs, { dissect: 'needed' })).report;
  assert.deepEqual([targeted.stats.dissection?.mode, targeted.stats.dissection?.dissected, targeted.findings.length], ['targeted', 0, 0]);
  assert.equal(dissectorsLoaded(), false);
  const full = (await analyze(inputs, { dissect: 'all' })).report;
  assert.deepEqual([full.stats.dissection?.mode, full.stats.dissection?.dissected, full.stats.httpTransactions], ['full', 10, 10]);
  assert.equal(dissectorsLoaded(), true);
});
