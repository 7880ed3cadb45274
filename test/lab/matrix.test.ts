// The path model on real parts: the failures it exists for, through an NLB in both NAT modes
// (client IP preservation on; off, the AWS default for IP targets), each mirrored three ways at
// once (the ALB's ENI, the target's ENI, all: one collector per mirror set, as separate mirror
// targets). Every combination (5 scenarios x 2 NAT modes x 3 mirror sets) must name the failed
// request exactly once with the right verdict and nothing else at error or warning severity, and
// `listen --analyze` must have printed, live, the findings batch `analyze` gives on the same
// packets (each once, within about a second of the last packet it cites).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { runScenario } from '../../src/lab/runner.js';
import type { LabResult } from '../../src/lab/result.js';
import { findScenario, NAT_MATRIX_SCENARIOS as MATRIX_SCENARIOS } from '../../src/lab/scenarios.js';
import { MIRROR_SETS, NAT_MODES, type NatMode } from '../../src/lab/topology.js';
import { labSkipReason } from './env.js';
import { compareLive, LIVE_DELAY_BOUND_SECONDS } from './live-compare.js';

const skip = labSkipReason();
const base = skip ? '' : mkdtempSync(join(tmpdir(), 'mlab-matrix-'));
after(() => {
  if (base && !process.env.MIRRORLENS_LAB_KEEP) rmSync(base, { recursive: true, force: true });
});

// Two runs at a time (isolated namespaces, ports and directories).
const PARALLEL = 2;
let slots: Promise<unknown>[] = [];
const runs = new Map<string, Promise<LabResult>>();
function start(name: string, nat: NatMode): Promise<LabResult> {
  const s = findScenario(name)!;
  const prev = slots.length >= PARALLEL ? slots[slots.length - PARALLEL]! : Promise.resolve();
  const p = prev.catch(() => {}).then(() => runScenario(s, { outDir: join(base, `${name}-${nat}`), nat, mirrorSets: ['lb', 'target'], live: true }));
  p.catch(() => {});
  slots = [...slots, p];
  return p;
}
if (!skip) for (const name of MATRIX_SCENARIOS) for (const nat of NAT_MODES) runs.set(`${name}-${nat}`, start(name, nat));

function loud(fs: Finding[]): Finding[] {
  return fs.filter((f) => f.severity === 'error' || f.severity === 'warning');
}

for (const name of MATRIX_SCENARIOS) {
  for (const nat of NAT_MODES) {
    describe(`lab ${name}, NLB ${nat}`, { skip }, () => {
      const s = findScenario(name)!;
      let r: LabResult;
      before(async () => {
        r = await runs.get(`${name}-${nat}`)!;
      });

      test(`${name} ${nat}: the scenario shows its facts`, () => {
        const failed = r.checks.filter((c) => !c.ok && !c.name.startsWith('analyze')).map((c) => `${c.name}: ${c.detail}`);
        assert.deepEqual(failed, [], `output in ${r.outDir}; ${r.listenSummary ?? ''}`);
      });

      for (const mirror of MIRROR_SETS) {
        test(`${name} ${nat}, mirrored ${mirror}: exactly one ${s.expectKind} finding for ${s.expectPath}, nothing else at error or warning`, async () => {
          const captures = r.mirrorCaptures[mirror] ?? [];
          assert.ok(captures.length > 0, 'the collector wrote a capture');
          const flow = join(r.outDir, 'flow.log');
          const { report } = await analyze({ captures, keylogs: [join(r.outDir, 'keys.log')], albLogs: [join(r.outDir, 'alb-access.log')], flowLogs: existsSync(flow) ? [flow] : [] });
          const got = loud(report.findings);
          assert.deepEqual(
            got.map((f) => `${f.kind} ${f.request?.path}`),
            [`${s.expectKind} ${s.expectPath}`],
            report.findings.map((f) => `${f.kind} (${f.confidence}) ${f.request?.path}: ${f.summary} [${f.legs.map((l) => `${l.role}:${l.seen ? 'seen' : '-'}`).join(' ')}]`).join('\n'),
          );
          const f = got[0]!;
          assert.equal(f.status, s.expectStatus);
          const seen = Object.fromEntries(f.legs.map((l) => [l.role, l.seen]));
          if (mirror !== 'target' && name !== 'syn-drop') assert.equal(seen.lb, true, 'the lb leg is named');
          if (mirror === 'lb') assert.equal(seen.target, false, 'no target leg in an lb-only capture');
          if (mirror === 'target') assert.equal(seen.lb, false, 'no lb leg in a target-only capture');
        });

        test(`${name} ${nat}, mirrored ${mirror}: listen --analyze printed the findings batch analyze gives, each once, promptly`, async () => {
          const c = await compareLive(r, mirror);
          assert.deepEqual(c.live, c.batch, `live vs batch (${join(r.outDir, `live-${mirror}.jsonl`)})`);
          for (const d of c.delays) assert.ok(d <= LIVE_DELAY_BOUND_SECONDS, `printed ${d.toFixed(2)} s after the last packet it cites (${c.delays.map((x) => x.toFixed(2)).join(', ')})`);
        });
      }
    });
  }
}

