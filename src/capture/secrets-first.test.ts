// Secrets moved before the packets: tshark then decrypts the lab capture (whose key blocks
// `listen` wrote after the first packets) without being given the key log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCapture } from './reader.js';
import { moveSecretsFirst } from './secrets-first.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/idle-reset/idle-reset.pcapng');
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

async function layout(path: string): Promise<{ firstSecretAfterPackets: number; packets: number; bytes: string[] }> {
  let packets = 0;
  let firstSecretAfterPackets = -1;
  const bytes: string[] = [];
  await readCapture(path, (r) => {
    packets++;
    bytes.push(`${r.time.toFixed(9)} ${r.flags} ${Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex')}`);
  }, { onSecrets: () => void (firstSecretAfterPackets < 0 ? (firstSecretAfterPackets = packets) : 0) });
  return { firstSecretAfterPackets, packets, bytes };
}

function decryptedGets(path: string): string[] {
  const r = spawnSync('tshark', ['-n', '-r', path, '-Y', 'http.request && tcp.port == 443', '-T', 'fields', '-e', 'http.request.uri'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

test('secrets written after packets are moved to the front; packets, times and flags unchanged; tshark decrypts alone', { skip: hasTshark ? false : 'tshark is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-dsb-'));
  try {
    const f = join(dir, 'c.pcapng');
    copyFileSync(EXAMPLE, f);
    const before = await layout(f);
    assert.ok(before.firstSecretAfterPackets > 0, 'the example has its key blocks after the first packets');
    assert.deepEqual(decryptedGets(f), [], 'tshark cannot decrypt it as listen wrote it');
    assert.equal(await moveSecretsFirst(f), true);
    const after = await layout(f);
    assert.equal(after.firstSecretAfterPackets, 0);
    assert.deepEqual(after.bytes, before.bytes);
    assert.deepEqual(decryptedGets(f), ['/api/cart', '/api/checkout']);
    assert.equal(await moveSecretsFirst(f), false, 'nothing to do the second time');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
