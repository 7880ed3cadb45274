import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorListener, type ListenOptions } from './listener.js';
import { loadNative } from './native.js';
import { udpPortsFilter } from './listen-engines.js';
import { spawnSync } from 'node:child_process';
import { readCapture } from './reader.js';

const isRoot = process.getuid?.() === 0;
const native = loadNative();

async function freePort(type: 'udp4' | 'udp6' = 'udp4'): Promise<number> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** VXLAN VNI 42 around Ethernet/IPv4/UDP 10.0.0.1 → 10.0.0.2 (178 bytes of IP), sequence number at 50. */
function datagram(seq: number): Buffer {
  const b = Buffer.alloc(200);
  b[0] = 8; // I flag
  b[6] = 42; // VNI 42
  // 02:00:00:00:00:02 ← 02:00:00:00:00:01, IPv4, 45 00 00b2 ..., proto 17, 10.0.0.1 → 10.0.0.2
  Buffer.from('020000000002020000000001080045000000000040004011000' + '00a0000010a000002', 'hex').copy(b, 8);
  b.writeUInt16BE(178, 18);
  b.writeUInt32BE(seq, 50);
  return b;
}

async function frames(dir: string): Promise<{ hex: string[]; names: string[]; flags: number[] }> {
  const hex: string[] = [];
  const names: string[] = [];
  const flags: number[] = [];
  const ifNames: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcapng')).sort()) {
    await readCapture(
      join(dir, f),
      (r) => {
        hex.push(Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex'));
        names.push(ifNames[r.interfaceId] ?? '');
        flags.push(r.flags ?? 0);
      },
      { onInterface: (i) => (ifNames[i.id] = i.name ?? '') },
    );
  }
  return { hex, names, flags };
}

async function run(o: Partial<ListenOptions>, send: (port: number) => Promise<number>, family: 'udp4' | 'udp6' = 'udp4'): Promise<{ l: MirrorListener; got: Awaited<ReturnType<typeof frames>>; notices: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-engine-'));
  const port = await freePort(family);
  const notices: string[] = [];
  const l = new MirrorListener({ outDir: dir, bind: [family === 'udp4' ? '127.0.0.1' : '::1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0, recvBufferBytes: 8 << 20, onNotice: (n) => notices.push(n), ...o });
  try {
    await l.start();
    const n = await send(port);
    for (let i = 0; i < 300 && l.metrics.datagrams < n; i++) await new Promise((r) => setTimeout(r, 10));
    await l.stop();
    return { l, got: await frames(dir), notices };
  } finally {
    await l.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function burst(port: number, n: number, host = '127.0.0.1', type: 'udp4' | 'udp6' = 'udp4'): Promise<number> {
  const s = dgram.createSocket(type);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((r, j) => s.send(datagram(i), port, host, (e) => (e ? j(e) : r())));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 1));
  }
  s.close();
  return n;
}

test('the native addon is built where CI requires it (MIRRORLENS_REQUIRE_NATIVE=1)', { skip: process.env.MIRRORLENS_REQUIRE_NATIVE !== '1' }, () => {
  assert.ok(native.addon, native.why);
});

for (const engine of ['socket', 'mmsg'] as const) {
  test(`engine ${engine}: 3000 datagrams are written whole and in order, the engine named`, { skip: engine === 'mmsg' && !native.addon ? native.why : false }, async () => {
    const { l, got } = await run({ engine }, (port) => burst(port, 3000));
    assert.equal(l.engineInfo.name, engine);
    assert.equal(l.metrics.packets, 3000);
    assert.equal(got.hex.length, 3000);
    for (let i = 0; i < 3000; i++) assert.equal(got.hex[i], datagram(i).subarray(8).toString('hex'), `frame ${i}`);
    assert.ok(got.names.every((n) => n === 'vxlan-42'));
  });

  test(`engine ${engine}: IPv6 sources, and a 9000-byte datagram is not cut`, { skip: engine === 'mmsg' && !native.addon ? native.why : false }, async () => {
    const big = Buffer.alloc(9000);
    datagram(7).copy(big);
    big.writeUInt16BE(9000 - 22, 18); // IP total length of the bigger inner packet
    const { l, got } = await run(
      { engine },
      async (port) => {
        const s = dgram.createSocket('udp6');
        await new Promise<void>((r, j) => s.send(datagram(1), port, '::1', (e) => (e ? j(e) : r())));
        await new Promise<void>((r, j) => s.send(big, port, '::1', (e) => (e ? j(e) : r())));
        s.close();
        return 2;
      },
      'udp6',
    );
    assert.equal(l.metrics.packets, 2);
    assert.equal(got.hex[1], big.subarray(8).toString('hex'));
    assert.ok(l.metrics.points.has('::1|42'), [...l.metrics.points.keys()].join());
  });
}

test('engine auto: mmsg when the addon is built, else socket, and says why', async () => {
  const { l } = await run({}, (port) => burst(port, 10));
  assert.equal(l.engineInfo.name, native.addon ? 'mmsg' : 'socket');
  assert.ok(l.engineInfo.why.length > 5);
});

test('engine socket: the fallback when the addon is absent is named with the reason', async () => {
  const { chooseEngine } = await import('./listen-engines.js');
  const c = chooseEngine('auto', false);
  if (native.addon) assert.equal(c.name, 'mmsg');
  else assert.match(c.why, /^the fallback: (the native addon (was not built|is stale|does not)|MIRRORLENS_NO_NATIVE)/);
});

test('udpPortsFilter: classic BPF for UDP to two ports (IPv4 and IPv6, later fragments kept)', () => {
  const f = udpPortsFilter([4789, 6081]);
  assert.equal(f.length % 4, 0);
  assert.equal(f.length / 4, 18);
  // every jump lands inside the program
  for (let i = 0; i < f.length / 4; i++) {
    const code = f[4 * i]!;
    if ((code & 0x07) === 0x05) assert.ok(i + 1 + Math.max(f[4 * i + 1]!, f[4 * i + 2]!) < f.length / 4);
  }
});

test('engine ring (root): mirror datagrams from the packet ring on lo, outer headers taken off', { skip: !isRoot || !native.addon ? 'needs root and the native addon' : false }, async () => {
  const { l, got } = await run({ engine: 'ring', interface: undefined, packetRingBytes: 4 << 20 }, (port) => burst(port, 2000));
  assert.equal(l.engineInfo.name, 'ring');
  assert.equal(l.metrics.packets, 2000);
  for (let i = 0; i < 2000; i++) assert.equal(got.hex[i], datagram(i).subarray(8).toString('hex'), `frame ${i}`);
  assert.equal(l.metrics.ringDrops, 0);
});

test('listen --interface lo (root): host capture, one capture point, each packet once, direction from the kernel', { skip: !isRoot || !native.addon ? 'needs root and the native addon' : false }, async () => {
  const marker = Buffer.from(`mirrorlens-host-capture-${process.pid}`);
  const { l, got } = await run({ interface: 'lo', vxlanPort: 0, packetRingBytes: 4 << 20 }, async () => {
    // to a bound socket: a closed port would add ICMP errors quoting the marker
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    const s = dgram.createSocket('udp4');
    for (let i = 0; i < 20; i++) await new Promise<void>((r, j) => s.send(marker, rx.address().port, '127.0.0.1', (e) => (e ? j(e) : r())));
    s.close();
    rx.close();
    await new Promise((r) => setTimeout(r, 300)); // the ring's block timeout
    return 0;
  });
  assert.equal(l.engineInfo.name, 'ring');
  const mine = got.hex.map((h, i) => ({ h, i })).filter((x) => x.h.includes(marker.toString('hex')));
  // lo shows each packet twice (outgoing, then incoming); kept once, as incoming (ingress)
  assert.equal(mine.length, 20);
  for (const { i } of mine) {
    assert.equal(got.names[i], 'host-lo');
    assert.equal(got.flags[i]! & 3, 1, 'inbound (ingress) in epb_flags');
  }
});

test('engine mmsg: packets carry the kernel time of arrival, not the time they were read', { skip: native.addon ? false : native.why, timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'ml-engine-ts-'));
  const port = await freePort();
  const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0, engine: 'mmsg' });
  try {
    await l.start();
    // a child sends one datagram 200 ms after saying "ready", another 300 ms later, while this
    // thread is blocked: both are read in one batch after the block
    const a = datagram(1).toString('hex');
    const b = datagram(2).toString('hex');
    const child = spawn(
      process.execPath,
      ['-e', `const s=require('node:dgram').createSocket('udp4');console.log('ready');setTimeout(()=>{s.send(Buffer.from('${a}','hex'),${port},'127.0.0.1');setTimeout(()=>{s.send(Buffer.from('${b}','hex'),${port},'127.0.0.1',()=>s.close())},300)},200)`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    const unblocked = Date.now();
    for (let i = 0; i < 200 && l.metrics.packets < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await l.stop();
    const ts: number[] = [];
    for (const f of readdirSync(dir)) await readCapture(join(dir, f), (r) => ts.push(r.tsSec * 1000 + r.tsNsec / 1e6));
    assert.equal(ts.length, 2);
    assert.ok(ts[1]! - ts[0]! >= 250, `gap ${ts[1]! - ts[0]!} ms`);
    assert.ok(ts[1]! < unblocked - 100, `stamped at arrival: ${unblocked - ts[1]!} ms before the read`);
  } finally {
    await l.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const engine of ['mmsg', 'ring'] as const) {
  const skip = !native.addon ? native.why : engine === 'ring' && !isRoot ? 'needs root' : false;
  test(`engine ${engine}: stop right after a burst still writes every datagram the kernel took`, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-engine-stop-'));
    const port = await freePort();
    const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0, engine, packetRingBytes: 4 << 20, recvBufferBytes: 4 << 20 });
    try {
      await l.start();
      const s = dgram.createSocket('udp4');
      const sent: Promise<void>[] = [];
      for (let i = 0; i < 500; i++) sent.push(new Promise<void>((r, j) => s.send(datagram(i), port, '127.0.0.1', (e) => (e ? j(e) : r()))));
      await Promise.all(sent);
      s.close();
      // no waiting: whatever sits in the socket buffer or the ring's open block is read at stop
      await l.stop();
      assert.equal(l.metrics.packets, 500);
      assert.equal((await frames(dir)).hex.length, 500);
    } finally {
      await l.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The engine and a feeder in a child process: each datagram read sends another through a
 * connected socket (sent at once, no address lookup), so the socket never empties. Before the
 * bound, the readable callback never returned: the child hung, its timers and stop() never ran.
 */
const NEVER_EMPTY = `
import dgram from 'node:dgram';
const { startMmsgEngine } = await import(process.argv[1]);
const { loadNative } = await import(process.argv[2]);
const p = dgram.createSocket('udp4');
await new Promise((r) => p.bind(0, '127.0.0.1', r));
const port = p.address().port;
await new Promise((r) => p.close(r));
const feeder = dgram.createSocket('udp4');
await new Promise((r) => feeder.connect(port, '127.0.0.1', r));
const d = Buffer.alloc(100);
let read = 0;
const feed = () => { read++; feeder.send(d); };
const sink = { datagramV4: feed, datagramText: feed, ringFrame() {}, batchDone() {}, notice() {} };
const e = startMmsgEngine({ bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, recvBufferBytes: 1 << 20, exclusive: true }, sink, loadNative().addon);
for (let i = 0; i < 256; i++) feeder.send(d);
await new Promise((r) => setTimeout(r, 300));
const beforeStop = read;
await e.stop();
console.log(JSON.stringify({ beforeStop, read }));
feeder.close();
`;

test('engine mmsg: a socket that never empties (each datagram read sends another) leaves the event loop its turns, and stop() returns', { skip: native.addon ? false : native.why, timeout: 60_000 }, () => {
  const url = (f: string): string => new URL(f, import.meta.url).href;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', NEVER_EMPTY, url('./listen-engines.ts'), url('./native.ts')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `the child hung (killed after 30 s): ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const { beforeStop, read } = JSON.parse(r.stdout.trim()) as { beforeStop: number; read: number };
  assert.ok(beforeStop > 256, `the timer ran while the flood went on (${beforeStop} read)`);
  assert.ok(read > beforeStop, 'stop() read what the socket held, then returned');
});
