import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MirrorListener, type ListenOptions } from './listener.js';
import { readCapture } from './reader.js';
import { FrameClassifier } from './listen-classify.js';
import { parseMirrorFilter } from './filter.js';

const FIX = resolve(import.meta.dirname, '../../test/fixtures/wire');

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

interface Run {
  listener: MirrorListener;
  dir: string;
  vx: number;
  gn: number;
  notices: string[];
  send(port: number, payloads: Uint8Array[]): Promise<void>;
  finish(): Promise<{ files: string[]; frames: Frame[]; secrets: string[][] }>;
}

interface Frame {
  hex: string;
  ifName: string;
  ifDescription: string;
  comment: string | null;
  flags: number;
  originalLength: number;
  file: number;
}

async function run(opts: Partial<ListenOptions> = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-listener-'));
  const vx = await freePort();
  const gn = await freePort();
  const notices: string[] = [];
  const listener = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: vx, genevePort: gn, statusIntervalMs: 0, recvBufferBytes: 1 << 20, onNotice: (l) => notices.push(l), ...opts });
  await listener.start();
  const client = dgram.createSocket('udp4');
  return {
    listener,
    dir,
    vx,
    gn,
    notices,
    async send(port, payloads) {
      const before = listener.metrics.datagrams;
      for (const p of payloads) await new Promise<void>((r, j) => client.send(p, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      for (let i = 0; i < 200 && listener.metrics.datagrams < before + payloads.length; i++) await new Promise((r) => setTimeout(r, 10));
    },
    async finish() {
      client.close();
      await listener.stop();
      const files = readdirSync(dir).filter((f) => f.endsWith('.pcapng')).sort();
      const frames: Frame[] = [];
      const secrets: string[][] = [];
      for (let i = 0; i < files.length; i++) {
        const ifs: { name: string; description: string }[] = [];
        secrets.push([]);
        await readCapture(
          join(dir, files[i]!),
          (r) => {
            frames.push({
              hex: Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex'),
              ifName: ifs[r.interfaceId]!.name,
              ifDescription: ifs[r.interfaceId]!.description,
              comment: r.comment,
              flags: r.flags,
              originalLength: r.originalLength,
              file: i,
            });
          },
          {
            onInterface: (inf) => (ifs[inf.id] = { name: inf.name ?? '', description: inf.description ?? '' }),
            onSecrets: (_t, d) => secrets[i]!.push(Buffer.from(d).toString('latin1')),
          },
        );
      }
      return { files: files.map((f) => join(dir, f)), frames, secrets };
    },
  };
}

/** Outer UDP payloads (the datagrams a mirror target receives) of every packet of a capture. */
async function udpPayloads(file: string): Promise<{ payload: Uint8Array; frame: string }[]> {
  const out: { payload: Uint8Array; frame: string }[] = [];
  const c = new FrameClassifier();
  await readCapture(file, (r) => {
    const b = r.data.subarray(r.offset, r.offset + r.capturedLength);
    if (c.classify(r.linkType, b, 0, b.length) && c.packet.protocol === 17) {
      out.push({ payload: Uint8Array.from(b.subarray(c.l4Offset + 8, c.l4Offset + c.l4Length)), frame: Buffer.from(b).toString('hex') });
    }
  });
  return out;
}

function tsharkProtocols(file: string): string[] | undefined {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n').filter((l) => l !== '');
}

const corpus: [string, 'vx' | 'gn', string, RegExp][] = [
  ['zeek-vxlan.pcap', 'vx', 'vxlan:', /^vxlan-123\|VXLAN VNI 123 from mirror source 127\.0\.0\.1/],
  ['sv-vxlan-non-zero-reserved-fields.pcap', 'vx', 'vxlan:', /^vxlan-11\|/],
  ['zeek-geneve.pcap', 'gn', 'geneve:', /^geneve-\d+\|GENEVE VNI \d+ from 127\.0\.0\.1; inner Ethernet/],
  ['tcpdump-geneve-gcp.pcap', 'gn', 'geneve:', /^geneve-0\|GENEVE VNI 0 from 127\.0\.0\.1; inner IP packets/],
  ['zeek-geneve-ipv6.pcap', 'gn', 'geneve:', /^geneve-\d+\|.*inner IP packets/],
  ['zeek-geneve-vxlan-dns-truncated.pcap', 'gn', 'vxlan:', /^vxlan-4242\|GENEVE VNI \d+ from 127\.0\.0\.1; inner VXLAN VNI 4242 from mirror source [\d.]+/],
];

for (const [file, port, marker, ifRe] of corpus) {
  test(`listener: decapsulates ${file} like tshark (inner frame = end of the outer frame)`, async () => {
    const dgrams = await udpPayloads(join(FIX, file));
    assert.ok(dgrams.length > 0);
    const r = await run();
    try {
      await r.send(port === 'vx' ? r.vx : r.gn, dgrams.map((d) => d.payload));
      const { files, frames } = await r.finish();
      assert.equal(frames.length, dgrams.length, r.notices.join('\n'));
      for (let i = 0; i < frames.length; i++) {
        // the written frame is exactly the tail of the original outer frame's UDP payload
        assert.ok(dgrams[i]!.frame.includes(frames[i]!.hex), `frame ${i + 1}`);
        assert.ok(frames[i]!.hex.length > 0);
        assert.match(`${frames[i]!.ifName}|${frames[i]!.ifDescription}`, ifRe);
      }
      // tshark reads our file and sees the same inner protocols it sees inside the tunnel
      const ours = tsharkProtocols(files[0]!);
      const theirs = tsharkProtocols(join(FIX, file));
      if (ours && theirs) {
        const inner = theirs.map((p) => p.slice(p.lastIndexOf(marker) + marker.length));
        // raw-IP interfaces are shown as "raw:ip..." by tshark
        assert.deepEqual(ours.map((p) => p.replace(/^raw:/, '')), inner);
      }
      assert.equal(r.listener.metrics.packets, dgrams.length);
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
}

// GWLB: GENEVE with the three AWS options (class 0x0108) around a Traffic Mirroring VXLAN datagram.
function gwlbDatagram(inner: Uint8Array, cookie: number): Uint8Array {
  // 08 00 08 00  GENEVE ver 0, opt len 8 words (32 bytes), flags 0, protocol 0x0800 (IPv4)
  // 00 00 00 00  VNI 0
  // 01 08 01 02  class 0x0108 type 1 (GWLB endpoint id) len 2 words: 00 00 0a bc 12 34 56 78
  // 01 08 02 02  class 0x0108 type 2 (attachment id) len 2 words:    00 00 00 00 00 00 00 99
  // 01 08 03 01  class 0x0108 type 3 (flow cookie) len 1 word:       cookie
  const h = Buffer.from('0800080000000000' + '0108010200000abc12345678' + '010802020000000000000099' + '01080301' + cookie.toString(16).padStart(8, '0'), 'hex');
  return Buffer.concat([h, inner]);
}

test('listener: GWLB GENEVE options name the capture point and the flow cookie goes into the packet comment', async () => {
  // the inner IPv4/UDP/VXLAN 4242 packets of zeek-geneve-vxlan-dns-truncated.pcap (GENEVE header stripped)
  const dgrams = await udpPayloads(join(FIX, 'zeek-geneve-vxlan-dns-truncated.pcap'));
  const inners = dgrams.map((d) => d.payload.subarray(8 + (d.payload[0]! & 0x3f) * 4));
  const r = await run({ sessions: new Map([['vpce-abc12345678', 'gwlb-alb']]) });
  try {
    await r.send(r.gn, inners.map((x, i) => gwlbDatagram(x, 0xc0ffee00 + i)));
    const { frames } = await r.finish();
    assert.equal(frames.length, inners.length);
    assert.equal(frames[0]!.ifName, 'gwlb-alb');
    assert.match(frames[0]!.ifDescription, /Gateway Load Balancer 127\.0\.0\.1, endpoint id 0x00000abc12345678, attachment id 0x0000000000000099, VNI 0; inner VXLAN VNI 4242 from mirror source/);
    assert.match(frames[0]!.comment ?? '', /gwlb_endpoint=0x00000abc12345678 gwlb_attachment=0x0000000000000099 .*vxlan_vni=4242 .*gwlb_flow_cookie=0xc0ffee00 direction=/);
    assert.match(frames[1]!.comment ?? '', /gwlb_flow_cookie=0xc0ffee01/);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});

// A VXLAN datagram carrying Ethernet/IPv4/TCP between `src` and `dst` (dotted quads). The mirrored
// ENI's MAC is 02:00:00:00:00:0e: the destination MAC of frames it receives, the source of frames
// it sends (`fromEni`); the other side is the VPC router 02:00:00:00:00:01.
function vxlanTcp(vni: number, src: string, dst: string, sport: number, dport: number, payload = 0, fromEni = src === '127.0.0.1'): Uint8Array {
  const eni = [0x02, 0, 0, 0, 0, 0x0e];
  const router = [0x02, 0, 0, 0, 0, 0x01];
  const ip = (s: string): number[] => s.split('.').map(Number);
  const total = 40 + payload;
  const f = [
    ...[0x08, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0], // VXLAN, I flag, VNI
    ...(fromEni ? [...router, ...eni] : [...eni, ...router]), // Ethernet dst, src
    ...[0x08, 0x00], // IPv4
    ...[0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, ...ip(src), ...ip(dst)], // IPv4, TCP
    ...[sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x20, 0, 0, 0, 0, 0], // TCP PSH|ACK
    ...new Array<number>(payload).fill(0x61),
  ];
  return Uint8Array.from(f);
}

test('listener: ingress/egress from the mirror source IP, AWS filter applied, epb_flags set', async () => {
  const filter = parseMirrorFilter(
    `ingress:
  - {ruleNumber: 10, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: 443}
egress:
  - {ruleNumber: 10, action: reject, protocol: tcp, source: 0.0.0.0/0, destination: 10.0.0.0/8}
  - {ruleNumber: 20, action: accept, source: 0.0.0.0/0, destination: 0.0.0.0/0}
`,
    'f.yaml',
  );
  const r = await run({ filter, packetComments: 'all' });
  try {
    // The datagrams come from 127.0.0.1: that is the "ENI" whose traffic is mirrored.
    await r.send(r.vx, [
      vxlanTcp(7, '198.51.100.1', '127.0.0.1', 40000, 443), // ingress to 443: kept (ingress 10)
      vxlanTcp(7, '198.51.100.1', '127.0.0.1', 40000, 80), // ingress to 80: no rule → dropped
      vxlanTcp(7, '127.0.0.1', '10.1.2.3', 443, 40000), // egress to 10/8: rejected (egress 10)
      vxlanTcp(7, '127.0.0.1', '198.51.100.1', 443, 40000), // egress elsewhere: kept (egress 20)
      vxlanTcp(7, '192.0.2.1', '192.0.2.2', 1, 2, 0, true), // neither IP is the ENI's: its learned MAC says egress
    ]);
    const { frames } = await r.finish();
    assert.equal(frames.length, 3, JSON.stringify(frames.map((f) => f.comment)));
    assert.equal(frames[0]!.flags & 3, 1, 'inbound');
    assert.equal(frames[1]!.flags & 3, 2, 'outbound');
    assert.match(frames[0]!.comment ?? '', /^vxlan_vni=7 mirror_source=127\.0\.0\.1 src_port=\d+ direction=ingress$/);
    // frame 5: direction from the learned ENI MAC
    assert.match(frames[2]!.comment ?? '', /direction=egress$/);
    const m = r.listener.metrics;
    assert.equal(m.drops.get('filter'), 2);
    assert.equal(m.direction.ingress, 1);
    assert.equal(m.direction.egress, 2);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test('listener: allow-list, garbage, unknown sessions are counted and never written', async () => {
  const r = await run({ onlyKnownSessions: true, sessions: new Map([['5', 'known']]) });
  try {
    await r.send(r.vx, [
      vxlanTcp(5, '10.0.0.1', '10.0.0.2', 1, 2), // kept
      vxlanTcp(6, '10.0.0.1', '10.0.0.2', 1, 2), // unknown session
      Uint8Array.from([0x00, 0, 0, 0, 0, 0, 5, 0, 1, 2, 3]), // I flag clear: not VXLAN
      Uint8Array.from([0x08, 0, 0]), // too short
    ]);
    await r.send(r.gn, [Uint8Array.from([0x40, 0, 0x65, 0x58, 0, 0, 1, 0])]); // GENEVE version 1
    await r.send(r.gn, [Uint8Array.from([0x00, 0, 0x88, 0x47, 0, 0, 1, 0, 1, 2])]); // GENEVE carrying MPLS
    const { frames } = await r.finish();
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.ifName, 'known');
    const d = r.listener.metrics.drops;
    assert.equal(d.get('unknown-session'), 1);
    assert.equal(d.get('not-vxlan'), 2);
    assert.equal(d.get('not-geneve'), 1);
    assert.equal(d.get('geneve-unsupported-protocol'), 1);
    assert.ok(r.notices.some((n) => /ignoring vxlan-6 \(not named with --session/.test(n)));
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
  const r2 = await run({ allowSources: [{ family: 4, address: Uint8Array.from([10, 9, 9, 0]), prefixLength: 24, text: '10.9.9.0/24' }] });
  try {
    await r2.send(r2.vx, [vxlanTcp(5, '10.0.0.1', '10.0.0.2', 1, 2)]);
    const { frames } = await r2.finish();
    assert.equal(frames.length, 0);
    assert.equal(r2.listener.metrics.drops.get('source-not-allowed'), 1);
  } finally {
    rmSync(r2.dir, { recursive: true, force: true });
  }
});

test('listener: snaplen keeps the original length; a truncated mirror packet keeps the IP length', async () => {
  const r = await run({ snaplen: 40 });
  try {
    const full = vxlanTcp(9, '10.0.0.1', '10.0.0.2', 1, 2, 100);
    // AWS PacketLength truncation: the inner frame stops after 60 bytes although IP says 140
    const cut = full.subarray(0, 8 + 60);
    await r.send(r.vx, [full, cut]);
    const { frames } = await r.finish();
    assert.equal(frames[0]!.hex.length / 2, 40);
    assert.equal(frames[0]!.originalLength, 14 + 140);
    assert.equal(frames[1]!.originalLength, 14 + 140);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});

const KEY1 = `CLIENT_RANDOM ${'a'.repeat(64)} ${'b'.repeat(96)}`;
const KEY2 = `CLIENT_TRAFFIC_SECRET_0 ${'c'.repeat(64)} ${'d'.repeat(64)}`;
const KEY3 = `SERVER_TRAFFIC_SECRET_0 ${'c'.repeat(64)} ${'e'.repeat(64)}`;

test('listener: key log lines become DSBs; every rotated file starts with the secrets read in the last minute', async () => {
  const kdir = mkdtempSync(join(tmpdir(), 'ml-keylog-'));
  const keylog = join(kdir, 'keys.log');
  writeFileSync(keylog, `# comment\n${KEY1}\nnot a key line with secret ${'f'.repeat(64)}\n${KEY2}\n`);
  const r = await run({ keylog, rotateBytes: 1200 });
  try {
    await r.send(r.vx, [vxlanTcp(1, '10.0.0.1', '10.0.0.2', 1, 2, 200)]);
    appendFileSync(keylog, `${KEY3}\n`);
    await new Promise((res) => setTimeout(res, 500)); // the follower polls every 200 ms
    await r.send(r.vx, [vxlanTcp(1, '10.0.0.1', '10.0.0.2', 1, 2, 400), vxlanTcp(1, '10.0.0.1', '10.0.0.2', 1, 2, 400)]);
    const { files, secrets } = await r.finish();
    assert.ok(files.length >= 2, `${files.length} files`);
    assert.deepEqual(secrets[0], [`${KEY1}\n${KEY2}\n`, `${KEY3}\n`]);
    // a later file: the secrets read in the minute before it opened, in one block
    assert.deepEqual(secrets[files.length - 1]![0], `${KEY1}\n${KEY2}\n${KEY3}\n`);
    // the malformed line is reported by number, never quoted
    const issue = r.notices.find((n) => /keys\.log:3: not a key log line/.test(n));
    assert.ok(issue, r.notices.join('\n'));
    assert.ok(!r.notices.some((n) => n.includes('f'.repeat(16)) || n.includes('b'.repeat(16))), 'no secret in notices');
    assert.equal(r.listener.metrics.secrets, 3);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
    rmSync(kdir, { recursive: true, force: true });
  }
});

test('listener: Prometheus /metrics serves the counters', async () => {
  const r = await run({ metricsPort: 0, metricsHost: '127.0.0.1', sessions: new Map([['77', 'alb "eni"']]) });
  try {
    await r.send(r.vx, [vxlanTcp(77, '10.0.0.1', '10.0.0.2', 1, 2), Uint8Array.from([1, 2, 3])]);
    const a = r.listener.metricsAddress!;
    const res = await fetch(`http://127.0.0.1:${a.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    assert.match(body, /^# TYPE mirrorlens_listen_packets_total counter$/m);
    assert.match(body, /^mirrorlens_listen_packets_total 1$/m);
    assert.match(body, /^mirrorlens_listen_datagrams_total 2$/m);
    assert.match(body, /^mirrorlens_listen_drops_total\{reason="not-vxlan"\} 1$/m);
    assert.match(body, /^mirrorlens_listen_session_packets_total\{session="alb \\"eni\\"",source="127\.0\.0\.1"\} 1$/m);
    assert.match(body, /^mirrorlens_listen_kernel_receive_drops -?\d+$/m);
    assert.equal((await fetch(`http://127.0.0.1:${a.port}/nope`)).status, 404);
    await r.finish();
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test('listener: IPv6 mirror source on an IPv6 socket (direction from the IPv6 source address)', async (t) => {
  const probe = dgram.createSocket('udp6');
  const ok = await new Promise<boolean>((r) => {
    probe.once('error', () => r(false));
    probe.bind(0, '::1', () => r(true));
  });
  probe.close();
  if (!ok) {
    t.skip('no IPv6 loopback here');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ml-listener6-'));
  const l = new MirrorListener({ outDir: dir, bind: ['::1'], vxlanPort: await freePort(), genevePort: 0, statusIntervalMs: 0, packetComments: 'all' });
  try {
    await l.start();
    const port = l.bound[0]!.port;
    // VXLAN VNI 8 | Ethernet | IPv6 (next header 59 "no next header") ::1 → 2001:db8::2, no payload
    const inner = Buffer.from('0800000000000800' + '020000000001' + '02000000000e' + '86dd' + '6000000000003b40' + '00000000000000000000000000000001' + '20010db8000000000000000000000002', 'hex');
    const c = dgram.createSocket('udp6');
    await new Promise<void>((r, j) => c.send(inner, port, '::1', (e) => (e ? j(e) : r())));
    c.close();
    for (let i = 0; i < 200 && l.metrics.packets < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await l.stop();
    const frames: { comment: string | null; desc: string }[] = [];
    const descs: string[] = [];
    for (const f of readdirSync(dir)) {
      await readCapture(join(dir, f), (r) => frames.push({ comment: r.comment, desc: descs[r.interfaceId]! }), { onInterface: (i) => (descs[i.id] = i.description ?? '') });
    }
    assert.equal(frames.length, 1);
    assert.match(frames[0]!.desc, /^VXLAN VNI 8 from mirror source ::1 /);
    assert.match(frames[0]!.comment ?? '', /mirror_source=::1 .*direction=egress$/);
    assert.equal(l.bound[0]!.family, 'udp6');
  } finally {
    await l.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listener: arbitrary datagrams never throw, and every one is written or counted as a drop', async () => {
  const fc = await import('fast-check');
  const dir = mkdtempSync(join(tmpdir(), 'ml-listener-prop-'));
  const l = new MirrorListener({
    outDir: dir,
    bind: ['127.0.0.1'],
    vxlanPort: await freePort(),
    genevePort: await freePort(),
    statusIntervalMs: 0,
    filter: parseMirrorFilter('ingress:\n  - {ruleNumber: 1, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: "1-1000"}\negress: []\n', 'f'),
    packetComments: 'all',
  });
  await l.start();
  try {
    const rinfo = { address: '127.0.0.1', family: 'IPv4' as const, port: 1234, size: 0 };
    // half the time a plausible header (VXLAN I flag / GENEVE version 0 with some options), then anything
    const datagram = fc.tuple(fc.boolean(), fc.boolean(), fc.uint8Array({ maxLength: 300 }), fc.nat(63)).map(([geneve, plausible, rest, opt]) => {
      const b = Buffer.from(rest);
      if (plausible && b.length >= 8) {
        if (geneve) {
          b[0] = opt & 0x0f;
          b[2] = 0x65;
          b[3] = 0x58;
        } else b[0] = 0x08;
      }
      return { geneve, b };
    });
    fc.assert(
      fc.property(fc.array(datagram, { maxLength: 50 }), (ds) => {
        for (const d of ds) {
          if (d.geneve) l.onGeneve(d.b, rinfo);
          else l.onVxlan(d.b, rinfo);
        }
        const m = l.metrics;
        return m.datagrams === m.packets + m.dropped();
      }),
      { numRuns: 300 },
    );
  } finally {
    await l.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listener: a port in use is a clear error and leaves no empty capture file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-listener-busy-'));
  const busy = dgram.createSocket('udp4');
  await new Promise<void>((r) => busy.bind(0, '127.0.0.1', () => r()));
  try {
    const l = new MirrorListener({ outDir: dir, bind: ['127.0.0.1'], vxlanPort: busy.address().port, genevePort: 0, statusIntervalMs: 0 });
    await assert.rejects(l.start(), /cannot listen for VXLAN on UDP 127\.0\.0\.1:\d+: .*EADDRINUSE.*another process listens there/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listener: receive batching off (the library default), at 2 ms (the CLI default) and at 20 ms: a burst of 300 datagrams (9+ libuv polls) is written whole and in order', async () => {
  for (const batchWaitMs of [undefined, 2, 20]) {
    const r = await run(batchWaitMs === undefined ? {} : { batchWaitMs });
    try {
      const client = dgram.createSocket('udp4');
      // all sent at once: the listener sleeps between polls while the socket buffer fills
      const sent = Array.from({ length: 300 }, (_, i) => new Promise<void>((res, rej) => client.send(vxlanTcp(9, '127.0.0.1', '198.51.100.7', 443, 1000 + i), r.vx, '127.0.0.1', (e) => (e ? rej(e) : res()))));
      await Promise.all(sent);
      for (let i = 0; i < 300 && r.listener.metrics.datagrams < 300; i++) await new Promise((res) => setTimeout(res, 10));
      client.close();
      const { frames } = await r.finish();
      assert.equal(frames.length, 300, `batchWaitMs ${batchWaitMs}`);
      // TCP destination port (inner Ethernet 14 + IPv4 20 + 2) carries the send order
      const ports = frames.map((f) => parseInt(f.hex.slice(72, 76), 16));
      assert.deepEqual(ports, Array.from({ length: 300 }, (_, i) => 1000 + i), `batchWaitMs ${batchWaitMs}`);
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  }
  assert.throws(() => new MirrorListener({ outDir: '.', batchWaitMs: -1 }), /batchWaitMs must be 0\.\.100/);
  assert.throws(() => new MirrorListener({ outDir: '.', batchWaitMs: Number.NaN }), /batchWaitMs must be 0\.\.100/);
});
