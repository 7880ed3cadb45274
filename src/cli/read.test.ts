// `mirrorlens read`: text and JSON output on real captures, filters, --count, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';

const FIX = resolve(import.meta.dirname, '../../test/fixtures');
const LAB = join(FIX, 'wire-lab/wire-lab.pcap');

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(['read', ...argv], { stdout, stderr, env: {} });
  return { code, out: stdout.text, err: stderr.text };
}

test('text lines: nested VXLAN shows every carrier and the inner flow', async () => {
  const r = await run(join(FIX, 'wire/zeek-vxlan-triple-v2.pcap'));
  assert.equal(r.code, 0);
  assert.equal(r.out, '    1    0.000000 1.1.1.1 → 1.1.1.9 VXLAN vni=1 | 2.2.2.2 → 2.2.2.9 VXLAN vni=2 | 3.3.3.3 → 3.3.3.9 VXLAN vni=3 | 4.4.4.4:53 → 4.4.4.9:53 UDP 221 len=29\n');
});

test('text lines: TCP flags, raw seq/ack, options; ICMP errors with the embedded flow; ARP unsupported', async () => {
  const r = await run(LAB);
  const lines = r.out.split('\n');
  assert.equal(lines.length, 74); // 73 packets + final newline
  assert.equal(lines[44], '   45    7.212923 10.81.1.1 → 10.81.2.1 VXLAN vni=4242 | 192.168.42.1:53542 → 192.168.42.2:8080 TCP 124 [SYN] seq=2858623187 win=64480 len=0 mss=1240 ws=10 sack_perm');
  assert.equal(lines[27], '   28    4.428992 10.81.1.2 → 10.81.1.1 ICMP 590 destination-unreachable code=4 mtu=1400 [10.81.1.1:55938 → 10.81.2.1:33436 UDP]');
  assert.equal(lines[31], '   32    4.839803 fd81:1::2 → fd81:1::1 ICMPv6 1294 packet-too-big code=0 mtu=1400 [[fd81:1::1]:41078 → [fd81:2::1]:33437 UDP]');
  assert.equal(lines[33], '   34    5.040337 10.81.1.1 → 10.81.2.1 IPv4 1410 proto=17 frag(off=1376 MF)');
  assert.equal(lines[28], '   29    4.788046 eth/payload 42 ethertype=0x0806 [EtherType not decoded (not IP)]');
});

test('--filter and --count select packets; --absolute-time prints ISO-8601 UTC with nanoseconds', async () => {
  const r = await run(LAB, '--filter', 'vni 4242 and tcp and (syn or fin)', '--count', '3', '--absolute-time');
  const lines = r.out.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^ {3}45 2026-11-25T20:47:\d\d\.\d{9}Z 10\.81\.1\.1 → 10\.81\.2\.1 VXLAN vni=4242 \| 192\.168\.42\.1:53542 → 192\.168\.42\.2:8080 TCP 124 \[SYN\]/);
  assert.match(lines[2]!, /\[FIN, ACK\]/);
  const none = await run(LAB, '--filter', 'host 203.0.113.1');
  assert.deepEqual([none.code, none.out], [0, '']);
});

test('--json: one object per packet with tunnels, GENEVE options, inner TCP', async () => {
  const r = await run(join(FIX, 'wire/tcpdump-geneve-gcp.pcap'), '--json');
  const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(objs.length, 1);
  assert.deepEqual(objs[0], {
    frame: 1,
    time: '0.000000',
    len: 130,
    caplen: 130,
    status: 'ok',
    layers: ['eth', 'ip', 'udp', 'geneve', 'ip', 'tcp'],
    tunnels: [{ type: 'geneve', vni: 0, src: '192.168.100.254', dst: '192.168.100.3', sport: 62974, dport: 6081 }],
    geneve: {
      vni: 0,
      protocolType: 0x0800,
      options: [
        { class: 0x0132, type: 1, length: 4 },
        { class: 0x0132, type: 2, length: 16 },
        { class: 0x0132, type: 3, length: 8 },
      ],
    },
    ip: { version: 4, src: '192.168.100.2', dst: '192.168.100.1', protocol: 6, ttl: 64 },
    tcp: { sport: 2905, dport: 8080, flags: '.', seq: 760929856, ack: 2028584922, win: 512, len: 0 },
  });
});

test('--json: truncated packets report status, error layer and anomalies', async () => {
  const r = await run(join(FIX, 'wire/zeek-geneve-truncated.pcapng'), '--json');
  const o = JSON.parse(r.out) as { status: string; error: { layer: string; reason: string }; anomalies: string[]; caplen: number; len: number };
  assert.equal(o.status, 'truncated');
  assert.deepEqual(o.error, { layer: 'eth', reason: 'eth header truncated' }); // the inner Ethernet frame is cut
  assert.ok(o.anomalies.includes('frame-truncated'));
});

test('several files (one gzip-compressed) get headers and per-file relative time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-read-'));
  try {
    const gz = join(dir, 'vxlan.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(FIX, 'wire/zeek-vxlan-triple-v2.pcap'))));
    const r = await run(join(FIX, 'wire/sv-vxlan-decoder-01.pcap'), gz, '--stats');
    const lines = r.out.replace(/\n$/, '').split('\n');
    assert.equal(lines[0], `==> ${join(FIX, 'wire/sv-vxlan-decoder-01.pcap')} <==`);
    assert.equal(lines[4], `==> ${gz} <==`);
    assert.match(lines[5]!, /^ {4}1 {4}0\.000000 1\.1\.1\.1 → 1\.1\.1\.9 VXLAN vni=1/);
    assert.match(r.err, /4 packets decoded \(ok 4, truncated 0, malformed 0, unsupported 0\), 4 shown, 0 capture warnings/);
    const stats = await run(LAB, '--stats', '--filter', 'host 203.0.113.1');
    assert.match(stats.err, /^ {2}ethertype-unsupported \(info\) x\d+, first in frame 29: /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: bad filter (usage, 2), missing file (3), no file, bad option value are one line each', async () => {
  const bad = await run(LAB, '--filter', 'port x');
  assert.equal(bad.code, 2);
  assert.equal(bad.err, "mirrorlens read: filter 'port x': 'x' is not a port number (0-65535) (column 6)\n");
  const missing = await run(join(FIX, 'no-such.pcap'));
  assert.equal(missing.code, 3);
  assert.match(missing.err, /^mirrorlens read: .*no-such\.pcap.*\n$/);
  const none = await run();
  assert.equal(none.code, 2);
  assert.match(none.err, /name at least one capture file/);
  const port = await run(LAB, '--vxlan-port', '99999');
  assert.equal(port.code, 2);
  assert.match(port.err, /--vxlan-port wants a UDP port/);
});

test('--vxlan-port replaces the default tunnel ports', async () => {
  const r = await run(join(FIX, 'wire/tcpdump-vxlan-port-8472.pcap'), '--vxlan-port', '4789', '--count', '1');
  assert.doesNotMatch(r.out, /VXLAN/);
  const d = await run(join(FIX, 'wire/tcpdump-vxlan-port-8472.pcap'), '--count', '1');
  assert.match(d.out, /VXLAN vni=100/);
});

test('a slow reader gets every line (input paced by stdout drain), then the command ends', async () => {
  class SlowSink extends Writable {
    lines = 0;
    constructor() {
      super({ highWaterMark: 256 });
    }
    override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
      this.lines += chunk.toString('utf8').split('\n').length - 1;
      setTimeout(cb, 1);
    }
  }
  const stdout = new SlowSink();
  const code = await main(['read', LAB, '--json'], { stdout, stderr: new Sink(), env: {} });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(code, 0);
  assert.equal(stdout.lines, 73);
});

test('a capture cut mid-packet: every whole packet printed, then a warning with the byte offset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-read-'));
  try {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(join(FIX, 'wire/zeek-vxlan.pcap')).subarray(0, 1000));
    const r = await run(cut);
    assert.equal(r.code, 0);
    assert.equal(r.out.split('\n').length - 1, 6);
    assert.ok(r.err.startsWith(`mirrorlens read: warning: ${cut} (byte offset 896): `), r.err);
    assert.equal(r.err.split('\n').length, 2, 'one line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help prints the usage with the filter grammar', async () => {
  const r = await run('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /^Usage: mirrorlens read CAPTURE\.\.\. \[options\]/);
  assert.match(r.out, /\[inner\|outer\] \[src\|dst\] host ADDR/);
});

test('GWLB GENEVE + VXLAN: the endpoint id and flow cookie are shown, PacketLength truncation as caplen', async () => {
  const r = await run(join(FIX, 'wire/gwlb-geneve-vxlan.pcapng'));
  const lines = r.out.split('\n');
  assert.equal(lines[3], '    4    3.000000 10.0.100.10 → 10.0.100.20 GENEVE vni=0 gwlbe=0a1b2c3d4e5f6071 cookie=11111111 | 10.0.1.20 → 10.0.2.30 VXLAN vni=1234 | 10.0.1.20:443 → 203.0.113.7:50000 TCP 172 [RST, ACK] seq=5001 ack=1036 win=65535 len=0');
  assert.match(lines[5]!, /TCP 1172 \[PSH, ACK\] seq=1036 ack=5001 win=65535 len=6 caplen=178$/);
  const j = await run(join(FIX, 'wire/gwlb-geneve-vxlan.pcapng'), '--json', '--filter', 'gwlb and rst');
  const o = JSON.parse(j.out) as { geneve: { gwlb: unknown }; tunnels: { type: string; vni: number }[] };
  assert.deepEqual(o.geneve.gwlb, { endpointId: '0a1b2c3d4e5f6071', attachmentId: '000000000000002a', flowCookie: '11111111' });
  assert.deepEqual(o.tunnels.map((t) => `${t.type}:${t.vni}`), ['geneve:0', 'vxlan:1234']);
});

test('--absolute-time survives a timestamp no Date can hold (hostile pcapng)', async () => {
  // SHB; IDB Ethernet with if_tsresol 0 (1 unit per second); EPB with timestamp 2^64-1 seconds.
  const bytes = Buffer.from(
    '0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000' +
      '0100000020000000010000000000000009000100000000000000000020000000' +
      '060000005c00000000000000ffffffffffffffff3c0000003c000000' +
      '000000000000000000000000080000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
      '5c000000',
    'hex',
  );
  const dir = mkdtempSync(join(tmpdir(), 'ml-read-'));
  try {
    const f = join(dir, 'bigts.pcapng');
    writeFileSync(f, bytes);
    const r = await run(f, '--absolute-time');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ {4}1 1844674407370955\d+\.000000000 eth 60 !malformed\(ip header malformed\)\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mutated capture files: read prints or reports one error line, never an internal error', async () => {
  const { default: fc } = await import('fast-check');
  const base = readFileSync(join(FIX, 'wire/gwlb-geneve-vxlan.pcapng'));
  const dir = mkdtempSync(join(tmpdir(), 'ml-read-'));
  try {
    const f = join(dir, 'm.pcapng');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.boolean(), async (edits, json) => {
        const b = Buffer.from(base);
        for (const [pos, val] of edits) b[pos] = val;
        writeFileSync(f, b);
        const r = await run(f, ...(json ? ['--json', '--stats'] : ['--absolute-time', '--stats']));
        assert.ok(r.code === 0 || r.code === 4, `exit ${r.code}: ${r.err}`);
        assert.doesNotMatch(r.err, /internal error/);
        if (json) for (const line of r.out.split('\n').slice(0, -1)) JSON.parse(line);
      }),
      { numRuns: 150 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--mirror-filter applies AWS Traffic Mirror rules to the frame inside VXLAN: 0.0.0.0/0 keeps IPv4 only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-read-mf-'));
  try {
    const rules = ['rules:'];
    for (const direction of ['ingress', 'egress']) {
      for (const [n, ports] of [[100, 'destinationPorts'], [200, 'sourcePorts']] as const) {
        rules.push(`  - {ruleNumber: ${n}, direction: ${direction}, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, ${ports}: 8080}`);
      }
    }
    const file = join(dir, 'filter.yaml');
    writeFileSync(file, rules.join('\n'));
    const mirrored = await run(LAB, '--mirror-filter', file);
    assert.equal(mirrored.code, 0, mirrored.err);
    const port8080 = await run(LAB, '--filter', 'tcp and port 8080');
    const ipv4Only = port8080.out.split('\n').filter((l) => l !== '' && !l.includes('[fd42::'));
    assert.ok(ipv4Only.length > 0 && ipv4Only.length < port8080.out.split('\n').length - 1, 'the capture has both IPv4 and IPv6 on port 8080');
    assert.deepEqual(mirrored.out.split('\n').filter((l) => l !== ''), ipv4Only);
    writeFileSync(file, 'rules: [ {ruleNumber: x');
    const bad = await run(LAB, '--mirror-filter', file);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /filter\.yaml/);
    assert.equal(bad.err.trim().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
