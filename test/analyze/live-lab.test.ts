// Live = batch on a lab capture replayed frame by frame (deterministic at any machine load): the
// keep-alive race through an NLB preserving client IPs, all three mirror sessions in one capture
// (the client's HTTPS to the ALB, the ALB → NLB leg, the target's ENI). The target's side of the
// race is decided (its RST) well before the client gets its 502 (the ALB learns of the FIN later):
// live must wait for the client's answer, however late the key log that decrypts it arrives
// within the settle time, and print the finding batch `analyze` gives, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/analyze/analyze.js';
import { replayLive } from './live-replay.js';

const CAPTURE = 'test/fixtures/lab/keepalive-race-preserve-all.pcapng';
const KEYS = 'test/fixtures/lab/keepalive-race-preserve-all.keys';

const key = (f: { kind: string; status: number | null; request: { path: string | null } | null }) => `${f.kind} ${f.status ?? '-'} ${f.request?.path ?? '-'}`;

test('batch analyze of the lab keep-alive race (all mirrored, no logs): keepalive-race 502, every leg seen', async () => {
  const { report } = await analyze({ captures: [CAPTURE], keylogs: [KEYS] });
  assert.deepEqual(report.findings.map(key), ['keepalive-race 502 /api/race']);
  assert.deepEqual(report.findings[0]!.legs.map((l) => `${l.role}:${l.seen}`), ['client:true', 'lb:true', 'target:true']);
});

for (const keysAfter of [0, 3, 6]) {
  test(`live, the key log arriving ${keysAfter} s after the first packet: the batch finding with the client's 502, printed once`, async () => {
    const out = await replayLive([CAPTURE], [KEYS], { keysAfter: keysAfter || undefined });
    assert.deepEqual(out.map((x) => key(x.finding)), ['keepalive-race 502 /api/race']);
  });
}
