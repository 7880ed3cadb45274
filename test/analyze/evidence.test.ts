// analyze --evidence DIR: per finding a JSON file and a small pcapng holding only the involved
// connections' packets, with a Decryption Secrets Block of only the keys they need (first, so
// tshark decrypts it without the key log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { runCli } from '../cli-harness.js';

const EX = 'examples/idle-reset';
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

test('--evidence writes the finding and a decryptable pcapng of only its connections', { skip: hasTshark ? false : 'tshark is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-ev-'));
  try {
    const r = await runCli(['analyze', `${EX}/idle-reset.pcapng`, '--keylog', `${EX}/keys.log`, '--alb-log', `${EX}/alb-access.log`, '--evidence', dir, '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(dir).sort(), ['001-idle-timeout-reset.json', '001-idle-timeout-reset.pcapng']);
    const j = JSON.parse(readFileSync(join(dir, '001-idle-timeout-reset.json'), 'utf8')) as { schemaVersion: number; finding: { kind: string; connectionUids: string[] } };
    assert.equal(j.schemaVersion, 2);
    assert.equal(j.finding.kind, 'idle-timeout-reset');

    let all = 0;
    await readCapture(`${EX}/idle-reset.pcapng`, () => void all++);
    let kept = 0;
    let packetsBeforeSecrets = -1;
    const secrets: string[] = [];
    await readCapture(join(dir, '001-idle-timeout-reset.pcapng'), () => void kept++, {
      onSecrets: (_t, d) => {
        if (packetsBeforeSecrets < 0) packetsBeforeSecrets = kept;
        secrets.push(Buffer.from(d).toString('utf8'));
      },
    });
    assert.ok(kept > 0 && kept < all, `${kept} of ${all} packets kept`);
    assert.equal(packetsBeforeSecrets, 0, 'secrets come before the packets');
    // Only the key lines of the one client connection involved: one client random.
    const randoms = new Set(secrets.join('').trim().split('\n').map((l) => l.split(' ')[1]));
    const allRandoms = new Set(readFileSync(`${EX}/keys.log`, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]));
    assert.equal(randoms.size, 1);
    assert.ok(allRandoms.size > 1);
    const t = spawnSync('tshark', ['-n', '-r', join(dir, '001-idle-timeout-reset.pcapng'), '-Y', 'http.request && tcp.port == 443', '-T', 'fields', '-e', 'http.request.uri'], { encoding: 'utf8' });
    assert.deepEqual(t.stdout.split('\n').filter(Boolean), ['/api/checkout']);
    assert.ok(!r.out.includes(secrets[0]!.trim().split(' ')[2]!), 'no secret in the report');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
