/**
 * Differential: the lab's idle-reset capture split the way two listeners would have received it
 * (the ALB's ENI session on one node, the target's ENI session on another; split by tshark), each
 * half recorded into one store by its own analysis, the ALB log loaded by a third: `analyze
 * --store` over the store gives the findings `analyze` gives on the merged capture.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_TIME } from '../../src/capture/window.js';
import { analyze } from '../../src/analyze/analyze.js';
import { analyzeStore } from '../../src/analyze/from-store.js';
import { openReader, openSink } from '../../src/store/open.js';
import { Recorder } from '../../src/store/recorder.js';
import type { Finding } from '../../src/diagnose/finding.js';
import { capturePointOf } from '../../src/flow/pipeline.js';
import { build, EXPECT, type Story } from '../analyze/path-scenarios.js';
import { writeScenario } from '../analyze/scenario.js';

const ex = join(import.meta.dirname, '../../examples/idle-reset');
const capture = join(ex, 'idle-reset.pcapng');
const keylog = join(ex, 'keys.log');
const albLog = join(ex, 'alb-access.log');
const tshark = spawnSync('tshark', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-diff-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** What must be the same: everything but the report-local id. */
function comparable(fs: Finding[]): unknown[] {
  return fs.map((f) => ({ ...f, id: undefined }));
}

function split(filter: string, out: string, from = capture): void {
  const r = spawnSync('tshark', ['-r', from, '-Y', filter, '-w', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('two nodes recording one path into the store: analyze --store = analyze of the merged capture', { skip: tshark ? false : 'tshark missing' }, async () => {
  const albEni = join(tmp, 'alb-eni.pcapng');
  const targetEni = join(tmp, 'target-eni.pcapng');
  split('frame.interface_name == "alb-client-side" || frame.interface_name == "alb-target-side"', albEni);
  split('frame.interface_name == "target-eni"', targetEni);
  const dir = join(tmp, 'store');
  for (const [node, file] of [
    ['listener-a', albEni],
    ['listener-b', targetEni],
  ] as const) {
    const rec = new Recorder(openSink(dir, { node }), node);
    await analyze({ captures: [file], keylogs: [keylog] }, { recorder: rec });
    const s = await rec.close();
    assert.ok(s.stored > 0 && s.pending === 0, `${node}: ${JSON.stringify(s)}`);
  }
  {
    const rec = new Recorder(openSink(dir, { node: 'logs' }), 'logs');
    await analyze({ captures: [], albLogs: [albLog] }, { recorder: rec });
    await rec.close();
  }
  const merged = await analyze({ captures: [capture], keylogs: [keylog], albLogs: [albLog] });
  assert.ok(merged.report.findings.some((f) => f.kind === 'idle-timeout-reset'), 'the merged capture names the idle reset');
  const reader = await openReader(dir);
  try {
    const fromStore = await analyzeStore(reader, ALL_TIME);
    assert.deepEqual(comparable(fromStore.report.findings), comparable(merged.report.findings));
    assert.deepEqual(fromStore.nodes, ['listener-a', 'listener-b']);
    assert.deepEqual(fromStore.report.connections, merged.report.connections);
    assert.deepEqual(fromStore.report.transactions, merged.report.transactions);
    // A window that holds the incident gives the same; one before it gives nothing.
    const t = merged.report.findings[0]!.request!.time!;
    const inWin = await analyzeStore(reader, { since: t - 30, until: t + 30 });
    assert.deepEqual(comparable(inWin.report.findings), comparable(merged.report.findings));
    const before = await analyzeStore(reader, { since: t - 7200, until: t - 3600 });
    assert.deepEqual(before.report.findings, []);
  } finally {
    await reader.close();
  }
});

// Lab captures whose verdicts rest on what the HTTP parser measured of the target's response: its
// head size (header-too-large: 40 KB of headers, over the ALB's 32 KB, answered 502) and its
// declared Content-Length against the body that came (short-body: 1000 announced, 500 sent, 504).
// `mirrorlens lab run NAME` (NLB without client IP preservation, every ENI mirrored): listen's
// capture, curl's key log and the ALB log. Recorded the way two listeners would have received it.
for (const [name, kind] of [
  ['header-too-large', 'response-headers-too-large'],
  ['short-body', 'content-length-mismatch'],
] as const) {
  test(`lab ${name}: the store's analysis of two nodes' records gives the merged capture's ${kind}`, { skip: tshark ? false : 'tshark missing' }, async () => {
    const base = join(import.meta.dirname, `../fixtures/lab/${name}-snat-all`);
    const [cap, keys, log] = [`${base}.pcapng`, `${base}.keys`, `${base}.alb.log`];
    const dir = join(tmp, `lab-${name}`);
    for (const [node, filter] of [
      ['alb-eni', 'frame.interface_name == "alb-client-side" || frame.interface_name == "alb-target-side"'],
      ['target-eni', 'frame.interface_name == "target-eni"'],
    ] as const) {
      const part = join(tmp, `${name}-${node}.pcapng`);
      split(filter, part, cap);
      const rec = new Recorder(openSink(dir, { node }), node);
      await analyze({ captures: [part], keylogs: [keys] }, { recorder: rec });
      await rec.close();
    }
    const logs = new Recorder(openSink(dir, { node: 'logs' }), 'logs');
    await analyze({ captures: [], albLogs: [log] }, { recorder: logs });
    await logs.close();
    const merged = await analyze({ captures: [cap], keylogs: [keys], albLogs: [log] });
    assert.deepEqual(merged.report.findings.filter((f) => f.severity !== 'info').map((f) => f.kind), [kind]);
    const reader = await openReader(dir);
    try {
      const fromStore = await analyzeStore(reader, ALL_TIME);
      assert.deepEqual(comparable(fromStore.report.findings), comparable(merged.report.findings));
      assert.deepEqual(byUid(fromStore.report.transactions), byUid(merged.report.transactions));
    } finally {
      await reader.close();
    }
  });
}

// The path model's built stories (idle reset, keep-alive race, target crash, slow target, SYN
// dropped with a flow-log REJECT), the NLB with and without client IP preservation, every leg
// mirrored: the ALB's ENI sessions (VNI 1, 2) recorded by one node, the target's (VNI 3) by
// another, the logs by a third. analyze --store must give the merged capture's report.
for (const story of Object.keys(EXPECT) as Story[]) {
  for (const nat of ['preserve', 'snat'] as const) {
    test(`${story}, NLB ${nat}: the store's analysis of two nodes' records = the merged capture's`, async () => {
      const b = build(story, nat);
      const s = writeScenario(`store-${story}-${nat}`, b.front, b.lb, b.log, b.tgt);
      const flowLogs: string[] = [];
      if (b.flow.length) {
        flowLogs.push(join(s.dir, 'flow.log'));
        writeFileSync(flowLogs[0]!, `${b.flow.join('\n')}\n`);
      }
      const dir = join(s.dir, 'store');
      for (const [node, points] of [
        ['alb-eni', new Set(['vni:1', 'vni:2'])],
        ['target-eni', new Set(['vni:3'])],
      ] as const) {
        const rec = new Recorder(openSink(dir, { node }), node);
        await analyze({ captures: [s.capture] }, { recorder: rec, flow: { filter: (_r, pkt) => points.has(capturePointOf(pkt)) } });
        await rec.close();
      }
      const logs = new Recorder(openSink(dir, { node: 'logs' }), 'logs');
      await analyze({ captures: [], albLogs: [s.albLog], flowLogs }, { recorder: logs });
      await logs.close();
      const merged = await analyze({ captures: [s.capture], albLogs: [s.albLog], flowLogs });
      assert.ok(merged.report.findings.some((f) => f.kind === EXPECT[story]));
      const reader = await openReader(dir);
      try {
        const fromStore = await analyzeStore(reader, ALL_TIME);
        assert.deepEqual(comparable(fromStore.report.findings), comparable(merged.report.findings));
        // The same connections and transactions; their order in the report follows the order
        // connections ended, which one capture and two nodes' records cannot share.
        assert.deepEqual(byUid(fromStore.report.connections), byUid(merged.report.connections));
        assert.deepEqual(byUid(fromStore.report.transactions), byUid(merged.report.transactions));
      } finally {
        await reader.close();
      }
    });
  }
}

function byUid<T extends { uid: string }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
