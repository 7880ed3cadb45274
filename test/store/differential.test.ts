/**
 * Differential: the lab's idle-reset capture split the way two listeners would have received it
 * (the ALB's ENI session on one node, the target's ENI session on another; split by tshark), each
 * half recorded into one store by its own analysis, the ALB log loaded by a third: `analyze
 * --store` over the store gives the findings `analyze` gives on the merged capture.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_TIME } from '../../src/capture/window.js';
import { analyze } from '../../src/analyze/analyze.js';
import { analyzeStore } from '../../src/analyze/from-store.js';
import { openReader, openSink } from '../../src/store/open.js';
import { Recorder } from '../../src/store/recorder.js';
import type { Finding } from '../../src/diagnose/finding.js';

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

function split(filter: string, out: string): void {
  const r = spawnSync('tshark', ['-r', capture, '-Y', filter, '-w', out], { encoding: 'utf8' });
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
