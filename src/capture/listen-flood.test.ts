/**
 * A flood cannot blind the listener: garbage on the mirror port first (random bytes, VXLAN with
 * random VNIs and random inner frames, VXLAN with random VNIs around valid IP packets), then real
 * mirror traffic of a named session. Every real frame must be written; ignored and implausible
 * datagrams get no capture point; unnamed points stay bounded; stderr stays short.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorListener } from './listener.js';
import { readCapture } from './reader.js';
import { NoticeLimiter } from './listen-notices.js';
import { readKernelUdpDrops, renderPrometheus, renderStatusLine } from './metrics.js';
import { loadNative } from './native.js';

/** Deterministic PRNG (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

// inner Ethernet 02:..:01 → 02:..:02, IPv4 10.0.1.20 → 10.0.1.5 UDP (a real mirrored frame's shape)
const INNER_HEX = '020000000002020000000001080045000000000040001100000a0001140a000105';

function real(vni: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + 14 + 20 + 8 + 100);
  b[0] = 8;
  b.writeUIntBE(vni, 4, 3);
  Buffer.from(INNER_HEX, 'hex').copy(b, 8);
  b.writeUInt16BE(20 + 8 + 100, 8 + 16); // IP total length
  b[8 + 22] = 64; // TTL
  b.writeUInt16BE(40000, 8 + 34); // UDP ports
  b.writeUInt16BE(443, 8 + 36);
  b.writeUInt16BE(108, 8 + 38);
  b.writeUInt32BE(seq, 8 + 42);
  return b;
}

/** Three kinds of garbage in turn: random bytes; VXLAN + random VNI + random frame; VXLAN + random VNI + valid IP. */
function garbage(r: () => number, i: number): Buffer {
  const kind = i % 3;
  const len = 20 + (r() % 180);
  const b = Buffer.alloc(kind === 2 ? 150 : len);
  for (let k = 0; k < b.length; k += 4) b.writeUInt32LE(r(), k - (k + 4 > b.length ? k + 4 - b.length : 0));
  if (kind === 0) return b;
  b[0] = 8;
  b[1] = b[2] = b[3] = 0;
  b.writeUIntBE(r() & 0xffffff, 4, 3);
  if (kind === 2) {
    const f = real(0, i);
    f.copy(b, 8, 8, 150);
    b.writeUInt32BE(r(), 8 + 26); // random source address
  }
  return b;
}

async function send(s: dgram.Socket, port: number, b: Buffer): Promise<void> {
  await new Promise<void>((res, rej) => s.send(b, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
}

/** Largest truesize the kernel charges a receive buffer for one of these datagrams (loopback: ~1.3 KB for 200 bytes). */
const TRUESIZE_BOUND = 2304;
/** Most datagrams in flight (sent, not yet read), at most: fewer when the receive buffer granted holds fewer. */
const MAX_WINDOW = 256;

/**
 * Datagrams in flight that the smallest receive buffer granted holds whatever the machine's load:
 * 256, or fewer where net.core.rmem_max caps the buffer (212 992 by default: 416 KiB granted, 184).
 */
function windowFor(l: MirrorListener): number {
  const w = Math.min(MAX_WINDOW, Math.floor(Math.min(...l.bound.map((b) => b.recvBufferBytes)) / TRUESIZE_BOUND));
  assert.ok(w >= 16, `receive buffers ${l.bound.map((b) => `${b.kind} ${b.recvBufferBytes}`).join(', ')} bytes hold fewer than 16 datagrams`);
  return w;
}

/**
 * Sends `b` once fewer than `window` datagrams wait in the listener's socket: the flood is as fast
 * as the listener reads (under load the sender and the listener share this thread's turns, and an
 * unpaced sender outruns the socket engine), so the kernel never drops by design.
 */
async function sendPaced(s: dgram.Socket, port: number, b: Buffer, sent: number, l: MirrorListener, window: number): Promise<void> {
  while (sent - l.metrics.datagrams >= window) await new Promise((res) => setImmediate(res));
  await send(s, port, b);
}

// Both receive engines: the socket engine is what runs where the native addon is not built.
const floodCases = [
  { onlyKnown: false, engine: 'mmsg' as const },
  { onlyKnown: true, engine: 'socket' as const },
];
for (const { onlyKnown, engine } of floodCases) {
  const skip = engine === 'mmsg' && !loadNative().addon ? loadNative().why : false;
  test(`listen under a flood${onlyKnown ? ' (--only-known-sessions)' : ''}, engine ${engine}: 30 000 garbage datagrams first, then every real mirrored frame is written`, { timeout: 120_000, skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-flood-'));
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const notices: string[] = [];
    const l = new MirrorListener({
      outDir: dir,
      bind: ['127.0.0.1'],
      vxlanPort: port,
      genevePort: 0,
      statusIntervalMs: 0,
      recvBufferBytes: 16 << 20,
      engine,
      sessions: new Map([['4242', 'alb-eni-0abc']]),
      onlyKnownSessions: onlyKnown,
      maxCapturePoints: 256,
      onNotice: (n) => notices.push(n),
    });
    const s = dgram.createSocket('udp4');
    try {
      await l.start();
      const r = rng(0x5eed + (onlyKnown ? 1 : 0));
      // the window fits the receive buffer the kernel granted: no drop by design
      const window = windowFor(l);
      const FLOOD = 30_000;
      for (let i = 0; i < FLOOD; i++) await sendPaced(s, port, garbage(r, i), i, l, window);
      const REAL = 288;
      for (let i = 0; i < REAL; i++) await sendPaced(s, port, real(4242, i), FLOOD + i, l, window);
      for (let i = 0; i < 3000 && l.metrics.datagrams < FLOOD + REAL; i++) await new Promise((res) => setTimeout(res, 10));
      await l.stop();
      const m = l.metrics;
      assert.equal(l.engineInfo.name, engine);
      assert.equal(m.kernelDrops, 0, 'the kernel dropped none (and the count was read)');
      assert.equal(m.datagrams, FLOOD + REAL, 'every datagram sent was read');
      // every real frame, in order, under the session's name
      const seqs: number[] = [];
      const names: string[] = [];
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcapng'))) {
        await readCapture(
          join(dir, f),
          (p) => {
            if (names[p.interfaceId] === 'alb-eni-0abc') seqs.push(Buffer.from(p.data.subarray(p.offset + 42, p.offset + 46)).readUInt32BE(0));
          },
          { onInterface: (i) => (names[i.id] = i.name ?? '') },
        );
      }
      assert.deepEqual(seqs, Array.from({ length: REAL }, (_, i) => i));
      // garbage cost no durable capture point; unnamed points bounded (+ the named one)
      assert.ok(m.drops.get('implausible')! > FLOOD / 3, `implausible ${m.drops.get('implausible')}`);
      assert.ok(m.capturePoints <= 256 + 1, `${m.capturePoints} capture points`);
      assert.ok(m.points.size <= 256 + 1, `${m.points.size} capture points in the metrics`);
      if (onlyKnown) {
        assert.equal(m.capturePoints, 1);
        assert.ok(m.drops.get('unknown-session')! >= FLOOD / 3 - 100);
        assert.equal(m.capturePointsEvicted, 0);
      } else {
        assert.ok(m.capturePointsEvicted > 0, 'unnamed points were evicted');
      }
      assert.equal(m.drops.get('too-many-capture-points'), 0);
      // stderr: limited per kind per minute, with a summary later, not one line per VNI
      assert.ok(notices.length < 50, `${notices.length} notices`);
      const prom = renderPrometheus(m);
      assert.match(prom, /mirrorlens_listen_capture_points_evicted_total \d+/);
      assert.match(prom, /mirrorlens_listen_drops_total\{reason="implausible"\} \d+/);
    } finally {
      s.close();
      await l.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const engine of ['socket', 'mmsg'] as const) {
  const skip = engine === 'mmsg' && !loadNative().addon ? loadNative().why : false;
  test(`engine ${engine}: datagrams the kernel drops on a full receive buffer are counted and reported (read + dropped = sent)`, { timeout: 60_000, skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-kdrop-'));
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    // the smallest receive buffer the kernel grants (a few datagrams), and no turn of this thread
    // for the listener while the burst is sent: drops are certain, whatever the load
    const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0, recvBufferBytes: 1, engine, onNotice: () => {} });
    const s = dgram.createSocket('udp4');
    try {
      await l.start();
      const SENT = 400;
      let acked = 0;
      await new Promise<void>((res, rej) => {
        for (let i = 0; i < SENT; i++) s.send(real(7, i), port, '127.0.0.1', (e) => (e ? rej(e) : ++acked === SENT && res()));
      });
      // until the listener has read what the kernel kept (the kernel's count, read as the listener reads it)
      for (let i = 0; i < 600 && l.metrics.datagrams + readKernelUdpDrops([port]) < SENT; i++) await new Promise((res) => setTimeout(res, 50));
      await l.stop();
      const m = l.metrics;
      assert.ok(m.kernelDrops > 0, `kernel drops ${m.kernelDrops}`);
      assert.equal(m.datagrams + m.kernelDrops, SENT, `read ${m.datagrams} + dropped ${m.kernelDrops}`);
      assert.match(renderPrometheus(m), new RegExp(`^mirrorlens_listen_kernel_receive_drops ${m.kernelDrops}$`, 'm'));
      assert.match(renderStatusLine(m, { t: Date.now() - 1000, packets: 0, bytes: 0 }), new RegExp(`kernel-drops ${m.kernelDrops}\\b`));
    } finally {
      s.close();
      await l.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('NoticeLimiter: 10 lines of a kind per window, then one summary line with the count', () => {
  const out: string[] = [];
  let t = 0;
  const n = new NoticeLimiter((l) => out.push(l), 10, 60_000, () => t);
  for (let i = 0; i < 4096; i++) n.say('new-point', `new capture point vxlan-${i}`, 'new capture points');
  n.say('other', 'another kind', 'others');
  assert.equal(out.length, 11);
  t = 61_000;
  n.tick();
  assert.equal(out.length, 12);
  assert.match(out[11]!, /4086 more new capture points in the last 61 s/);
  n.say('new-point', 'again', 'new capture points');
  assert.equal(out[12], 'again');
});

test('listen: no datagram for N seconds prints the checklist once', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-quiet-'));
  const notices: string[] = [];
  const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: 0, genevePort: 0, statusIntervalMs: 0, noTrafficSeconds: 1, onNotice: (x) => notices.push(x) });
  // port 0 for both is refused: bind VXLAN to a free port instead
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const l2 = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0, noTrafficSeconds: 1, onNotice: (x) => notices.push(x) });
  try {
    await assert.rejects(l.start(), /nothing to listen on/);
    await l2.start();
    await new Promise((r) => setTimeout(r, 2500));
    const text = notices.join('\n');
    assert.match(text, new RegExp(`no datagram in 1 s on UDP ${port} \\(VXLAN\\)`));
    for (const w of ['security group', 'network ACL', "session's filter", 'the session:', "session's target", 'host firewall', 'the port']) assert.ok(text.includes(w), w);
    assert.equal((text.match(/no datagram in/g) ?? []).length, 1);
  } finally {
    await l2.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listen: truncated mirrored packets get the MTU advice once, and are counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-trunc-'));
  const notices: string[] = [];
  const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: 0, genevePort: 40000 + (process.pid % 20000), statusIntervalMs: 0, onNotice: (x) => notices.push(x) });
  try {
    await l.start();
    const cut = real(7, 1);
    cut.writeUInt16BE(9001 - 14, 8 + 16); // the IP header says 8987 bytes; 142 of the frame arrived
    for (let i = 0; i < 5; i++) l.onVxlan(cut, { address: '10.0.1.5', family: 'IPv4', port: 5000, size: cut.length });
    l.onVxlan(real(7, 2), { address: '10.0.1.5', family: 'IPv4', port: 5000, size: 150 });
    assert.equal(l.metrics.mirrorTruncated, 5);
    const advice = notices.filter((n) => n.includes('arrive cut'));
    assert.equal(advice.length, 1);
    assert.match(advice[0]!, /142 of 9001 bytes.*54-byte VXLAN encapsulation \(74 over IPv6\).*8947/);
  } finally {
    await l.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
