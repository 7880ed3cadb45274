import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MirrorListener } from './listener.js';
import { replayCapture, encapsulate } from './listen-replay.js';
import { readCapture } from './reader.js';

const FIX = resolve(import.meta.dirname, '../../test/fixtures');

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function frames(file: string): Promise<{ hex: string; linkType: number; ifDescription: string }[]> {
  const out: { hex: string; linkType: number; ifDescription: string }[] = [];
  const desc: string[] = [];
  await readCapture(file, (r) => out.push({ hex: Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex'), linkType: r.linkType, ifDescription: desc[r.interfaceId] ?? '' }), {
    onInterface: (i) => (desc[i.id] = i.description ?? ''),
  });
  return out;
}

async function roundTrip(fixture: string, geneve: boolean, loops = 1): Promise<{ sent: Awaited<ReturnType<typeof replayCapture>>; got: Awaited<ReturnType<typeof frames>>; listener: MirrorListener }> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-replay-'));
  const port = await freePort();
  const listener = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: geneve ? 0 : port, genevePort: geneve ? port : 0, statusIntervalMs: 0, recvBufferBytes: 4 << 20 });
  await listener.start();
  try {
    const sent = await replayCapture(fixture, { host: '127.0.0.1', port, encapsulation: geneve ? 'geneve' : 'vxlan', vni: geneve ? undefined : 4242, rate: 0, loops });
    for (let i = 0; i < 300 && listener.metrics.datagrams < sent.packets; i++) await new Promise((r) => setTimeout(r, 10));
    await listener.stop();
    const files = readdirSync(dir).filter((f) => f.endsWith('.pcapng'));
    const got = (await Promise.all(files.sort().map((f) => frames(join(dir, f))))).flat();
    return { sent, got, listener };
  } finally {
    await listener.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('replay → listen: Ethernet frames arrive unchanged, VXLAN VNI as given', async () => {
  const fx = join(FIX, 'wire/arkime-v6-http.pcap'); // Ethernet, IPv6 HTTP
  const orig = await frames(fx);
  const { sent, got } = await roundTrip(fx, false);
  assert.equal(sent.packets, orig.length);
  assert.deepEqual(got.map((f) => f.hex), orig.map((f) => f.hex));
  assert.match(got[0]!.ifDescription, /^VXLAN VNI 4242 /);
});

test('replay → listen: raw-IP capture as GENEVE arrives as bare IP (GWLB style)', async () => {
  const fx = join(FIX, 'wire/tcpdump-mptcp-tcprst-rawip.pcap');
  const orig = await frames(fx);
  const { got } = await roundTrip(fx, true);
  assert.deepEqual(got.map((f) => f.hex), orig.map((f) => f.hex));
  assert.deepEqual([...new Set(got.map((f) => f.linkType))], [101]);
});

test('replay: raw IP and Linux cooked captures get an Ethernet header for VXLAN', () => {
  // IPv4 header start 45 00 ... as raw IP (linktype 101)
  const ip = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const v = encapsulate('vxlan', 7, 101, ip, 0, ip.length)!;
  // 08 00 00 00 00 00 07 00 | 02 00 00 00 00 02 | 02 00 00 00 00 01 | 08 00 | 45 ...
  assert.equal(Buffer.from(v.subarray(0, 22)).toString('hex'), '0800000000000700' + '020000000002' + '020000000001' + '0800');
  assert.deepEqual(v.subarray(22), ip);
  // SLL2: protocol 0x86dd, ..., halen 6, MAC aa:bb:cc:dd:ee:ff
  const sll2 = Uint8Array.from([0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 0x60, 0, 0, 0]);
  const s = encapsulate('vxlan', 1, 276, sll2, 0, sll2.length)!;
  assert.equal(Buffer.from(s.subarray(14, 22)).toString('hex'), 'aabbccddeeff86dd');
  assert.equal(encapsulate('vxlan', 1, 147, sll2, 0, sll2.length), null, 'unknown link type is skipped');
});

test('replay → listen: a capture written by listen replays with its own VNI', async () => {
  const fx = join(FIX, 'wire/zeek-vxlan.pcap');
  // first pass: make a mirrorlens capture (VNI 4242 recorded in the interface description)
  const dir = mkdtempSync(join(tmpdir(), 'ml-replay2-'));
  try {
    const port = await freePort();
    const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0 });
    await l.start();
    await replayCapture(fx, { host: '127.0.0.1', port, vni: 4242, rate: 0 });
    for (let i = 0; i < 200 && l.metrics.datagrams < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await l.stop();
    const f = readdirSync(dir).find((x) => x.endsWith('.pcapng'))!;
    const again = await roundTripNoVni(join(dir, f));
    assert.ok(again.length > 0);
    assert.ok(again.every((d) => /^VXLAN VNI 4242 /.test(d)), again[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function roundTripNoVni(file: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-replay3-'));
  const port = await freePort();
  const listener = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: port, genevePort: 0, statusIntervalMs: 0 });
  await listener.start();
  try {
    const sent = await replayCapture(file, { host: '127.0.0.1', port, rate: 0 });
    for (let i = 0; i < 300 && listener.metrics.datagrams < sent.packets; i++) await new Promise((r) => setTimeout(r, 10));
    await listener.stop();
    const f = readdirSync(dir).find((x) => x.endsWith('.pcapng'))!;
    return (await frames(join(dir, f))).map((x) => x.ifDescription);
  } finally {
    await listener.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
