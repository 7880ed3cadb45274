import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingCapture, fileTimestamp } from './rotate.js';

// A 60-byte Ethernet/IPv4/UDP frame: dst 02:00:00:00:00:02 src 02:00:00:00:00:01, 10.0.0.1 > 10.0.0.2
const FRAME = new Uint8Array(60);
FRAME.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ml-rotate-'));
}

function fakeClock(start = Date.UTC(2026, 10, 25, 20, 35, 18, 123)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function addPackets(rc: RotatingCapture, n: number, gen: { g: number; id: number }): void {
  for (let i = 0; i < n; i++) {
    if (gen.g !== rc.generation) {
      gen.id = rc.writer.addInterface({ linkType: 1, name: 'vxlan-42' });
      gen.g = rc.generation;
    }
    rc.guard(() => rc.writer.writePacket(gen.id, 1764102918, i, FRAME, 0, FRAME.length));
    rc.afterWrite();
  }
}

function tsharkCount(path: string): number | undefined {
  const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (r.error) return undefined;
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

test('rotate: file names carry the UTC start time and sort in time order', () => {
  assert.equal(fileTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '20260102T030405.006Z');
  const dir = tmp();
  try {
    const clk = fakeClock();
    const rc = new RotatingCapture({ dir, rotateSeconds: 60, now: clk.now });
    rc.open();
    const gen = { g: -1, id: 0 };
    for (let i = 0; i < 3; i++) {
      addPackets(rc, 5, gen);
      clk.advance(61_000);
      rc.tick();
    }
    rc.close();
    const names = readdirSync(dir).sort();
    // the 4th file (opened after the last tick) is empty of packets but valid
    assert.deepEqual(names, [
      'mirrorlens-20261125T203518.123Z.pcapng',
      'mirrorlens-20261125T203619.123Z.pcapng',
      'mirrorlens-20261125T203720.123Z.pcapng',
      'mirrorlens-20261125T203821.123Z.pcapng',
    ]);
    const c = tsharkCount(join(dir, names[0]!));
    if (c !== undefined) assert.equal(c, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: time rotation does not open a new file while nothing was written', () => {
  const dir = tmp();
  try {
    const clk = fakeClock();
    const rc = new RotatingCapture({ dir, rotateSeconds: 1, now: clk.now });
    rc.open();
    clk.advance(5000);
    rc.tick();
    rc.close();
    assert.equal(readdirSync(dir).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: size rotation and a ring of N files deletes the oldest first', () => {
  const dir = tmp();
  try {
    const clk = fakeClock();
    const opened: string[] = [];
    const rc = new RotatingCapture({ dir, rotateBytes: 2000, ringFiles: 3, now: clk.now, bufferSize: 512, onOpen: (_w, p) => opened.push(p.split('/').pop()!) });
    rc.open();
    const gen = { g: -1, id: 0 };
    for (let i = 0; i < 20; i++) {
      addPackets(rc, 5, gen);
      clk.advance(1);
    }
    rc.close();
    const names = readdirSync(dir).sort();
    assert.equal(names.length, 3);
    assert.ok(rc.filesDeleted > 0);
    // the survivors are the newest ones
    assert.ok(opened.length > 3);
    assert.deepEqual(names, opened.slice(-3));
    for (const n of names) {
      const st = statSync(join(dir, n));
      assert.ok(st.size <= 2000 + 200, `${n} is ${st.size} bytes`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: a ring bounded by bytes keeps the directory under the bound', () => {
  const dir = tmp();
  try {
    const clk = fakeClock();
    const rc = new RotatingCapture({ dir, rotateBytes: 3000, ringBytes: 10_000, now: clk.now, bufferSize: 256 });
    rc.open();
    const gen = { g: -1, id: 0 };
    for (let i = 0; i < 50; i++) {
      addPackets(rc, 4, gen);
      clk.advance(1);
      const total = readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
      assert.ok(total <= 10_000 + 3000, `directory holds ${total} bytes`);
    }
    rc.close();
    const total = readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
    assert.ok(total <= 10_000, `directory holds ${total} bytes after close`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: files of an earlier run count toward the ring', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'mirrorlens-20200101T000000.000Z.pcapng'), new Uint8Array(100));
    writeFileSync(join(dir, 'mirrorlens-20200101T000001.000Z.pcapng'), new Uint8Array(100));
    writeFileSync(join(dir, 'unrelated.pcapng'), new Uint8Array(100));
    const rc = new RotatingCapture({ dir, ringFiles: 2, now: fakeClock().now });
    rc.open();
    rc.close();
    assert.deepEqual(readdirSync(dir).sort(), ['mirrorlens-20200101T000001.000Z.pcapng', 'mirrorlens-20261125T203518.123Z.pcapng', 'unrelated.pcapng']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: disk full deletes the oldest ring file and capture continues (tmpfs, root only)', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  const dir = tmp();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot mount tmpfs: ${m.stderr}`);
    return;
  }
  try {
    const clk = fakeClock();
    const events: string[] = [];
    // no byte bound: only the disk limits us; a ring of 100 files allows deletion
    const rc = new RotatingCapture({ dir: mnt, rotateBytes: 40_000, ringFiles: 100, now: clk.now, bufferSize: 4096, onEvent: (k, msg) => events.push(`${k}: ${msg}`) });
    rc.open();
    const gen = { g: -1, id: 0 };
    let failed = 0;
    for (let i = 0; i < 20_000; i++) {
      if (gen.g !== rc.generation) {
        gen.id = rc.writer.addInterface({ linkType: 1, name: 'vxlan-42' });
        gen.g = rc.generation;
      }
      if (!rc.guard(() => rc.writer.writePacket(gen.id, 1764102918, 0, FRAME, 0, FRAME.length))) failed++;
      rc.afterWrite();
      if (i % 97 === 0) clk.advance(1);
    }
    rc.close();
    assert.ok(rc.diskFullEvents > 0, `the tmpfs filled up: ${events.join('\n')}`);
    assert.ok(events.some((e) => e.startsWith('disk-full:') && e.includes('deleted the oldest')), events.join('\n'));
    assert.ok(rc.filesDeleted > 0);
    // every remaining file is readable to its end (cut back to whole blocks)
    for (const n of readdirSync(mnt)) {
      const r = spawnSync('tshark', ['-r', join(mnt, n), '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      if (r.error) break;
      assert.equal(r.status, 0, `${n}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /cut short|appears to be damaged/, n);
    }
    // the newest file holds the last packets written
    const newest = readdirSync(mnt).sort().pop()!;
    assert.ok(statSync(join(mnt, newest)).size > 0);
    assert.ok(failed + rc.packetsLost < 20_000 / 2, `lost ${failed} + ${rc.packetsLost}`);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: disk full without a ring deletes nothing and counts the lost packets (tmpfs, root only)', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  const dir = tmp();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mnt]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot mount tmpfs: ${m.stderr}`);
    return;
  }
  try {
    const events: string[] = [];
    const rc = new RotatingCapture({ dir: mnt, rotateBytes: 40_000, now: fakeClock().now, bufferSize: 4096, onEvent: (k, msg) => events.push(`${k}: ${msg}`) });
    rc.open();
    const gen = { g: -1, id: 0 };
    let failed = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      if (gen.g !== rc.generation) {
        gen.id = rc.writer.addInterface({ linkType: 1, name: 'vxlan-42' });
        gen.g = rc.generation;
      }
      if (!rc.guard(() => rc.writer.writePacket(gen.id, 1764102918, 0, FRAME, 0, FRAME.length))) failed++;
      rc.afterWrite();
    }
    rc.close();
    assert.equal(rc.filesDeleted, 0);
    assert.ok(events.some((e) => /disk full \(ENOSPC\).*no ring configured/.test(e)), events.join('\n'));
    // packets on disk + packets counted lost = packets offered
    let onDisk = 0;
    for (const f of readdirSync(mnt)) onDisk += tsharkCount(join(mnt, f)) ?? NaN;
    if (!Number.isNaN(onDisk)) assert.equal(onDisk + failed + rc.packetsLost, n);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotate: a file holds its section header as soon as it is opened (kill -9 right after a rotation leaves no empty file)', async () => {
  const dir = tmp();
  try {
    const clock = fakeClock();
    const rc = new RotatingCapture({ dir, rotateBytes: 4096, now: clock.now });
    rc.open();
    const gen = { g: -1, id: 0 };
    addPackets(rc, 60, gen); // a few rotations
    // no flush, no close: what a SIGKILL would leave
    const files = readdirSync(dir);
    assert.ok(files.length >= 2, files.join());
    const { readCapture } = await import('./reader.js');
    assert.ok(statSync(rc.path).size > 0, 'the file being written is not empty');
    const last = await readCapture(rc.path, () => {});
    assert.equal(last.truncated, false);
    rc.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
