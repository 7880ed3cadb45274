/**
 * `mirrorlens listen` as a process names its receive engine and why, falls back to Node's socket
 * when the native addon is not there, and `--interface` captures on the host (root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { loadNative } from '../../src/capture/native.js';
import { waitFor, exited, collect } from './netns.js';

const CLI = join(resolve(import.meta.dirname, '../..'), 'test/listen/cli.ts');

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function startLine(env: NodeJS.ProcessEnv, extra: string[]): Promise<{ line: string; packets: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-engine-cli-'));
  const port = await freePort();
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'listen', '--out', dir, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  try {
    const err = collect(p.stderr!);
    await waitFor(p.stderr!, /listen: writing /, 60_000, 'mirrorlens listen to start');
    const s = dgram.createSocket('udp4');
    const b = Buffer.alloc(200);
    b[0] = 8;
    b[6] = 42;
    Buffer.from('020000000002020000000001080045000096000040004011000' + '00a0000010a000002', 'hex').copy(b, 8);
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
    s.close();
    await new Promise((r) => setTimeout(r, 500));
    p.kill('SIGTERM');
    assert.equal(await exited(p, 30_000), 0, err.text);
    let packets = 0;
    for (const f of readdirSync(dir)) packets += (await readCapture(join(dir, f), () => {})).packets;
    return { line: err.text.split('\n').find((l) => l.startsWith('listen: engine ')) ?? err.text, packets };
  } finally {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('listen: without the native addon it runs the socket engine and says why', { timeout: 90_000 }, async () => {
  const { line, packets } = await startLine({ MIRRORLENS_NO_NATIVE: '1' }, []);
  assert.equal(line, 'listen: engine socket (the fallback: MIRRORLENS_NO_NATIVE=1)');
  assert.equal(packets, 50);
});

test('listen: the default engine is mmsg when the addon is built, named with its reason', { timeout: 90_000, skip: loadNative().addon ? false : loadNative().why }, async () => {
  const { line, packets } = await startLine({}, []);
  assert.equal(line, 'listen: engine mmsg (the default: recvmmsg batches, no privilege needed)');
  assert.equal(packets, 50);
});

test('listen --engine mmsg without the addon is one clear error', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-engine-cli-'));
  try {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'listen', '--out', dir, '--engine', 'mmsg'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MIRRORLENS_NO_NATIVE: '1' } });
    const err = collect(p.stderr!);
    assert.equal(await exited(p, 30_000), 2, err.text);
    assert.equal(err.text, 'mirrorlens listen: --engine mmsg needs the native addon, and MIRRORLENS_NO_NATIVE=1\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const setpriv = spawnSync('setpriv', ['--version']).status === 0;
test('listen --interface without CAP_NET_RAW is one clear line naming the fix, and leaves no file', { timeout: 60_000, skip: process.getuid?.() !== 0 || !setpriv || !loadNative().addon ? 'needs root (to drop to nobody), setpriv and the native addon' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-engine-cli-'));
  chmodSync(dir, 0o777);
  try {
    const p = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', CLI, 'listen', '--out', dir, '--interface', 'lo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const err = collect(p.stderr!);
    assert.notEqual(await exited(p, 30_000), 0);
    const lines = err.text.trim().split('\n');
    assert.equal(lines.length, 1, err.text);
    assert.match(lines[0]!, /^mirrorlens listen: cannot open a packet ring on lo: AF_PACKET socket EPERM \(Operation not permitted\) \(a packet ring needs root or CAP_NET_RAW: run as root, or sudo setcap cap_net_raw\+ep/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
