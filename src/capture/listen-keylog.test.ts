import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeylogFollower } from './listen-keylog.js';

const key = (i: number) => `CLIENT_TRAFFIC_SECRET_0 ${i.toString(16).padStart(64, '0')} ${'ab'.repeat(32)}`;

test('KeylogFollower: new files get the lines read in the carry window, older ones are dropped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-klf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.log');
  let now = 1000;
  const handed: string[] = [];
  const f = new KeylogFollower(path, (text) => handed.push(text), { carrySeconds: 60, now: () => now });
  writeFileSync(path, `${key(1)}\n${key(2)}\n`);
  f.poll();
  assert.equal(f.carriedText(), `${key(1)}\n${key(2)}\n`);
  now = 1050;
  appendFileSync(path, `${key(3)}\n`);
  f.poll();
  assert.equal(f.carriedText(), `${key(1)}\n${key(2)}\n${key(3)}\n`);
  now = 1070; // lines 1 and 2 were read 70 s ago
  assert.equal(f.carriedText(), `${key(3)}\n`);
  now = 1111;
  assert.equal(f.carriedText(), '');
  assert.deepEqual(handed, [`${key(1)}\n${key(2)}\n`, `${key(3)}\n`]);
  assert.equal(f.lineCount, 3);
});

test('KeylogFollower: memory stays bounded by the carry window while the key log grows', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-klf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.log');
  writeFileSync(path, '');
  let now = 0;
  let handed = 0;
  const f = new KeylogFollower(path, (_text, count) => void (handed += count), { carrySeconds: 60, now: () => now });
  // 20 lines a second for an hour of the follower's clock, polled every second.
  for (let s = 0; s < 3600; s++) {
    now = s;
    appendFileSync(path, Array.from({ length: 20 }, (_, j) => key(s * 20 + j)).join('\n') + '\n');
    f.poll();
  }
  assert.equal(handed, 72_000);
  const internals = f as unknown as { known: Set<string>; carried: string[] };
  assert.ok(internals.known.size <= 61 * 20, `${internals.known.size} lines remembered`);
  assert.ok(internals.carried.length <= 61 * 20 * 2 + 1024, `${internals.carried.length} carried entries`);
  assert.equal(f.carriedText().split('\n').filter(Boolean).length, 61 * 20);
});
