/**
 * `mirrorlens listen` as a process: SIGTERM during heavy traffic loses no packet it counted, and
 * kill -9 leaves files readable up to their last complete block. Loopback only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { waitFor, exited, sleep, collect } from './netns.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'test/listen/cli.ts');

// A sender blasting VXLAN datagrams (VNI 42, inner Ethernet/IPv4/UDP, 200 bytes) for `ms`.
const SENDER = `
const dgram = require('node:dgram');
const [port, ms] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const b = Buffer.alloc(200);
b[0] = 8; b[6] = 42;
Buffer.from('020000000002020000000001080045000096000040004011000' + '00a0000010a000002', 'hex').copy(b, 8);
let sent = 0; const end = Date.now() + ms;
console.log('go');
(function burst() {
  for (let i = 0; i < 500; i++) { b.writeUInt32BE(sent++, 50); s.send(b, port, '127.0.0.1'); }
  if (Date.now() < end) setImmediate(burst); else setTimeout(() => { console.log(sent); s.close(); }, 100);
})();
`;

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function startListen(dir: string, port: number, extra: string[] = []): Promise<{ p: ChildProcess; err: { text: string } }> {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'listen', '--out', dir, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err = collect(p.stderr!);
  await waitFor(p.stderr!, /listen: writing /, 60_000, 'mirrorlens listen to start');
  return { p, err };
}

/**
 * Waits until the listener's files reach a point (n files, or so many bytes on disk): how much
 * a listener writes in a given time depends on the machine's load (a full test run on two cores
 * gave it a fraction of one), so the tests wait for what they need instead of a fixed time.
 */
async function untilFiles(dir: string, what: string, cond: (files: { name: string; size: number }[]) => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.pcapng'))
      .map((name) => ({ name, size: statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0 }));
    if (cond(files)) return;
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what} (${files.map((f) => `${f.name} ${f.size} B`).join(', ')})`);
    await sleep(50);
  }
}

async function countPackets(dir: string): Promise<{ packets: number; truncated: boolean; files: number }> {
  let packets = 0;
  let truncated = false;
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcapng'));
  for (const f of files) {
    const s = await readCapture(join(dir, f), () => {});
    packets += s.packets;
    truncated ||= s.truncated;
  }
  return { packets, truncated, files: files.length };
}

test('listen: SIGTERM during heavy traffic loses no packet counted as received', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-sigterm-'));
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    // small files: the shutdown also has to get the rotation right
    const { p, err } = await startListen(dir, port, ['--rotate-size', '100k']);
    children.push(p);
    const senders: Promise<string>[] = [];
    for (let i = 0; i < 2; i++) {
      // sending until the test ends (killed in finally): the SIGTERM always comes mid-flow
      const c = spawn(process.execPath, ['-e', SENDER, String(port), '120000'], { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(c);
      senders.push(waitFor(c.stdout!, /go/, 30_000, 'a sender'));
    }
    await Promise.all(senders);
    // mid-flow, after the third file (two rotations, more than 1 000 packets of 236 bytes)
    await untilFiles(dir, 'three files of 100 kB', (f) => f.length >= 3);
    p.kill('SIGTERM');
    assert.equal(await exited(p, 30_000), 0, err.text);
    const m = /stopped by SIGTERM: (\d+) packets written .*?(\d+) datagrams received, (\d+) dropped, (\d+) lost at flush/.exec(err.text);
    assert.ok(m, err.text);
    const written = Number(m[1]);
    assert.ok(written > 1000, `only ${written} packets under load`);
    assert.equal(Number(m[4]), 0);
    const onDisk = await countPackets(dir);
    assert.equal(onDisk.packets, written, `counted ${written}, files hold ${onDisk.packets}`);
    assert.equal(onDisk.truncated, false);
    assert.ok(onDisk.files >= 2, `rotated at least once (${written} packets in ${onDisk.files} file)`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listen: kill -9 leaves the files readable, each up to its last complete block', { timeout: 120_000 }, async () => {
  // Files of 2 MB, and the kill once the second file exists and has been flushed once: every
  // closed file must be whole, the one being written readable up to its last complete block.
  // (A fixed 2.5 s of traffic filled 2 MB on a quiet machine, not under a full test run.)
  const dir = mkdtempSync(join(tmpdir(), 'ml-kill9-'));
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    const { p } = await startListen(dir, port, ['--rotate-size', '2MB']);
    children.push(p);
    const sender = spawn(process.execPath, ['-e', SENDER, String(port), '120000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(sender);
    await waitFor(sender.stdout!, /go/, 30_000, 'the sender');
    await untilFiles(dir, 'a second file', (f) => f.length >= 2);
    await sleep(1500); // at least one periodic flush (1 s) of the second file
    p.kill('SIGKILL');
    await exited(p, 10_000);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.pcapng'))
      .sort();
    assert.ok(files.length >= 2, `rotated at least once: ${files.join(', ')}`);
    let packets = 0;
    for (const [i, f] of files.entries()) {
      // Killed right after a rotation, the new file may not hold its header yet: nothing was captured in it.
      if (i === files.length - 1 && statSync(join(dir, f)).size === 0) continue;
      const warnings: string[] = [];
      const s = await readCapture(join(dir, f), () => {}, { onWarning: (w) => warnings.push(w.message) });
      packets += s.packets;
      if (i < files.length - 1) assert.ok(!s.truncated && warnings.length === 0, `closed file ${f} is whole: ${warnings.join('; ')}`);
      // whatever was cut is at most the tail after the last complete block: a warning, never an error
      else assert.ok(!s.truncated || warnings.length > 0);
    }
    assert.ok(packets > 1000, `${packets} packets readable`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listen --workers 2: SIGTERM under traffic; the workers\' files hold exactly the packets counted', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-workers-'));
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    const { p, err } = await startListen(dir, port, ['--workers', '2']);
    children.push(p);
    const c = spawn(process.execPath, ['-e', SENDER, String(port), '120000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(c);
    await waitFor(c.stdout!, /go/, 30_000, 'the sender');
    // both workers' files on disk, with more than 1 000 packets (236 bytes each) flushed between them
    await untilFiles(dir, "both workers' files, 300 kB", (f) => f.length >= 2 && f.reduce((n, x) => n + x.size, 0) > 300_000);
    p.kill('SIGTERM');
    assert.equal(await exited(p, 30_000), 0, err.text);
    const m = /stopped by SIGTERM: (\d+) packets written .* by 2 workers/.exec(err.text);
    assert.ok(m, err.text);
    const files = readdirSync(dir).filter((f) => f.endsWith('.pcapng'));
    assert.deepEqual(files.map((f) => f.replace(/^.*Z(-w\d)\.pcapng$/, '$1')).sort(), ['-w1', '-w2']);
    const onDisk = await countPackets(dir);
    assert.equal(onDisk.packets, Number(m[1]));
    assert.ok(onDisk.packets > 1000);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
