// A SYN flood or a port scan in a capture is one line of the report, not a finding per SYN, and
// the real 502s among it are still explained (captures made by test/analyze/synflood.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJson } from '../../src/report/json.js';
import { renderText } from '../../src/report/text.js';
import { generateSynFlood } from './synflood.js';

const dir = mkdtempSync(join(tmpdir(), 'ml-synflood-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('3 000 unanswered SYNs from 3 000 sources to a logged target: one flood summary, no finding per SYN', async () => {
  const { capture, albLog } = generateSynFlood(3000, join(dir, 'flood'));
  const { report } = await analyze({ captures: [capture], keylogs: [], albLogs: [albLog], nlbLogs: [], flowLogs: [] });
  assert.equal(report.scans.length, 1);
  const s = report.scans[0]!;
  assert.deepEqual(
    [s.kind, s.server, s.ports, s.attempts, s.synPackets, s.sources, s.sourcesExact, s.matchingErrors, s.errorsDuring],
    ['flood', '10.0.1.20', [80], 3000, 3000, 3000, true, 0, 10],
  );
  assert.equal(
    s.summary,
    '3,000 unanswered SYNs from 3,000 sources to 10.0.1.20:80 — a SYN flood, or a scan from spoofed addresses; none of them match a 5xx in the access logs (same client, or the load balancer\'s SYN to the logged target), 10 5xx responses name this address as target while it lasted',
  );
  // The ten logged 502s are findings; not one finding is about a flood SYN.
  assert.equal(report.findings.length, 10);
  assert.ok(report.findings.every((f) => f.status === 502 && f.kind !== 'target-connect-timeout'), report.findings.map((f) => f.kind).join());
  assert.ok(report.findings.every((f) => f.connectionUids.length <= 2));
  for (const out of [renderText(report), renderHtml(report)]) assert.ok(out.includes('3,000 unanswered SYNs from 3,000 sources to 10.0.1.20:80'));
  assert.equal((JSON.parse(renderJson(report)) as { scans: { firstTime: string }[] }).scans[0]!.firstTime, '2023-11-14T22:13:20.000000Z');
});

test('a flood whose SYNs all carry one sequence number joins nothing by it (the same summary, the same findings)', async () => {
  const { capture, albLog } = generateSynFlood(3000, join(dir, 'fixed-isn'), { fixedIsn: true });
  const { report } = await analyze({ captures: [capture], keylogs: [], albLogs: [albLog], nlbLogs: [], flowLogs: [] });
  assert.deepEqual(
    report.scans.map((s) => [s.kind, s.attempts, s.sources, s.matchingErrors, s.errorsDuring]),
    [['flood', 3000, 3000, 0, 10]],
  );
  assert.equal(report.findings.length, 10);
  assert.ok(report.findings.every((f) => f.kind !== 'target-connect-timeout'));
});

test('a port scan from one source is summarised as a scan', async () => {
  const { capture } = generateSynFlood(400, join(dir, 'scan'), { real: 0, scan: true });
  const { report } = await analyze({ captures: [capture], keylogs: [], albLogs: [], nlbLogs: [], flowLogs: [] });
  assert.equal(report.findings.length, 0, report.findings.map((f) => f.summary).join('\n'));
  assert.deepEqual(
    report.scans.map((s) => [s.kind, s.attempts, s.sources, s.portCount, s.summary]),
    [['scan', 400, 1, 400, '400 unanswered SYNs from 1 source to 10.0.1.20 (400 ports) — a port scan']],
  );
});

test('a flood of SYNs to a closed port (each refused), and a half-open scan (SYN, SYN-ACK, RST), are summaries too', async () => {
  const refused = generateSynFlood(3000, join(dir, 'refused'), { real: 0, answer: 'rst' });
  const r1 = (await analyze({ captures: [refused.capture], keylogs: [], albLogs: [], nlbLogs: [], flowLogs: [] })).report;
  assert.equal(r1.findings.length, 0, 'before: 3 000 target-connection-refused findings');
  assert.deepEqual(
    r1.scans.map((s) => [s.kind, s.attempts, s.refused, s.summary]),
    [['flood', 3000, 3000, '3,000 connection attempts refused (RST to the SYN) from 3,000 sources to 10.0.1.20:80 — a SYN flood, or a scan from spoofed addresses']],
  );
  const half = generateSynFlood(3000, join(dir, 'half-open'), { real: 0, answer: 'synack-rst', scan: true });
  const r2 = (await analyze({ captures: [half.capture], keylogs: [], albLogs: [], nlbLogs: [], flowLogs: [] })).report;
  assert.equal(r2.findings.length, 0);
  assert.deepEqual(
    r2.scans.map((s) => [s.kind, s.attempts, s.reset, s.summary]),
    [['scan', 3000, 3000, '3,000 handshakes reset before any data from 1 source to 10.0.1.20 (3,000 ports) — a port scan']],
  );
});
