// Differential test: every frame of the wire fixtures decoded by PacketDecoder and by tshark,
// compared field by field (frame count; outer, inner and ICMP-embedded IPv4/IPv6 addresses; TCP/UDP
// ports; TCP flags, raw seq/ack and options; VLAN ids; VXLAN VNI; GENEVE VNI and option
// class/type; ICMP types). Intermediate layers are read with fresh views at the offsets the
// decoder's layer stack reports, so the stack itself is checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { PacketDecoder, Layer, Ipv4View, Ipv6View, TcpView, UdpView, IcmpView, GeneveView, VxlanView, ipv4ToString, ipv6ToString } from '../../src/wire/packet.js';
import { VlanView } from '../../src/wire/link.js';
import { Status } from '../../src/wire/status.js';
import { WIRE_FIXTURES } from './fixtures.js';

const FIX = resolve(import.meta.dirname, '../fixtures');

const FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tcp.flags',
  'tcp.seq',
  'tcp.ack',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'tcp.options.timestamp.tsval',
  'vlan.id',
  'vxlan.vni',
  'geneve.vni',
  'geneve.option.class',
  'geneve.option.type',
  'icmp.type',
  'icmpv6.type',
] as const;
type Field = (typeof FIELDS)[number];
type Row = Record<Field, string>;

const TSHARK_OPTS = [
  '-o', 'tcp.relative_sequence_numbers:FALSE',
  '-o', 'ip.defragment:FALSE',
  '-o', 'ipv6.defragment:FALSE',
  '-o', 'tcp.analyze_sequence_numbers:FALSE',
  '-d', 'udp.port==8472,vxlan',
];

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
}

function tsharkRows(file: string): Row[] {
  const args = ['-n', '-r', file, ...TSHARK_OPTS, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `tshark failed on ${file}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const cols = line.split('\t');
      const row = {} as Row;
      FIELDS.forEach((f, i) => (row[f] = cols[i] ?? ''));
      return row;
    });
}

/** Normalises a tshark value list: hex numbers to decimal, so "0x0002" and "2" compare equal. */
function norm(field: Field, v: string): string {
  if (v === '') return '';
  return v
    .split(',')
    .map((x) => (/^0x[0-9a-f]+$/i.test(x) ? String(parseInt(x, 16)) : field === 'ipv6.src' || field === 'ipv6.dst' ? x.toLowerCase() : x))
    .join(',');
}

function ourRow(dec: PacketDecoder, frame: number): Row {
  const acc: Record<Field, string[]> = Object.fromEntries(FIELDS.map((f) => [f, [] as string[]])) as unknown as Record<Field, string[]>;
  acc['frame.number'].push(String(frame));
  const b = dec.data;
  const end = dec.frameOffset + dec.frameLength;
  const ip4 = new Ipv4View();
  const ip6 = new Ipv6View();
  const tcp = new TcpView();
  const udp = new UdpView();
  const icmp = new IcmpView();
  const gen = new GeneveView();
  const vx = new VxlanView();
  const vlan = new VlanView();
  const addTcp = (t: TcpView): void => {
    acc['tcp.srcport'].push(String(t.srcPort));
    acc['tcp.dstport'].push(String(t.dstPort));
    acc['tcp.flags'].push(String(t.flags | (t.ns ? 0x100 : 0)));
    acc['tcp.seq'].push(String(t.seq));
    acc['tcp.ack'].push(String(t.ack));
    if (t.mss >= 0) acc['tcp.options.mss_val'].push(String(t.mss));
    if (t.windowScale >= 0) acc['tcp.options.wscale.shift'].push(String(t.windowScale));
    for (let i = 0; i < t.sackCount; i++) {
      acc['tcp.options.sack_le'].push(String(t.sackLeft(i)));
      acc['tcp.options.sack_re'].push(String(t.sackRight(i)));
    }
    if (t.hasTimestamps) acc['tcp.options.timestamp.tsval'].push(String(t.tsVal));
  };
  for (let i = 0; i < dec.layerCount; i++) {
    const off = dec.layerOffset[i]!;
    const len = end - off;
    switch (dec.layerType[i]) {
      case Layer.Vlan:
        vlan.check(b, off, len, 0x8100);
        acc['vlan.id'].push(String(vlan.vid));
        break;
      case Layer.Ipv4:
        assert.equal(ip4.check(b, off, len), Status.Ok);
        acc['ip.src'].push(ipv4ToString(ip4.src));
        acc['ip.dst'].push(ipv4ToString(ip4.dst));
        break;
      case Layer.Ipv6:
        assert.equal(ip6.check(b, off, len), Status.Ok);
        acc['ipv6.src'].push(ipv6ToString(b, ip6.srcOffset));
        acc['ipv6.dst'].push(ipv6ToString(b, ip6.dstOffset));
        break;
      case Layer.Tcp:
        assert.equal(tcp.check(b, off, len), Status.Ok);
        addTcp(tcp);
        break;
      case Layer.Udp:
        assert.notEqual(udp.check(b, off, len), Status.Truncated);
        acc['udp.srcport'].push(String(udp.srcPort));
        acc['udp.dstport'].push(String(udp.dstPort));
        break;
      case Layer.Vxlan:
        vx.check(b, off, len);
        acc['vxlan.vni'].push(String(vx.vni));
        break;
      case Layer.Geneve:
        assert.equal(gen.check(b, off, len), Status.Ok);
        acc['geneve.vni'].push(String(gen.vni));
        for (let k = 0; k < gen.optionCount; k++) {
          acc['geneve.option.class'].push(String(gen.optionClass(k)));
          acc['geneve.option.type'].push(String(gen.optionType(k)));
        }
        break;
      case Layer.Icmpv4:
      case Layer.Icmpv6: {
        const v6 = dec.layerType[i] === Layer.Icmpv6;
        assert.equal(icmp.check(b, off, len, v6 ? 6 : 4), Status.Ok);
        acc[v6 ? 'icmpv6.type' : 'icmp.type'].push(String(icmp.type));
        if (icmp.embeddedIpVersion === 4) {
          acc['ip.src'].push(ipv4ToString(icmp.embeddedIp4.src));
          acc['ip.dst'].push(ipv4ToString(icmp.embeddedIp4.dst));
        } else if (icmp.embeddedIpVersion === 6) {
          acc['ipv6.src'].push(ipv6ToString(b, icmp.embeddedIp6.srcOffset));
          acc['ipv6.dst'].push(ipv6ToString(b, icmp.embeddedIp6.dstOffset));
        }
        if (icmp.embeddedProtocol === 17 && icmp.embeddedSrcPort >= 0) {
          acc['udp.srcport'].push(String(icmp.embeddedSrcPort));
          acc['udp.dstport'].push(String(icmp.embeddedDstPort));
        }
        break;
      }
      default:
        break;
    }
  }
  const row = {} as Row;
  for (const f of FIELDS) row[f] = acc[f].join(',');
  return row;
}

const skip = hasTshark() ? false : 'tshark is not installed (apt-get install tshark): differential tests skipped';

for (const fx of WIRE_FIXTURES) {
  test(`decoding ${fx} matches tshark field by field`, { skip }, async () => {
    const file = join(FIX, fx);
    const expected = tsharkRows(file);
    const got: Row[] = [];
    const dec = new PacketDecoder();
    await readCapture(file, (rec) => {
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      got.push(ourRow(dec, rec.index));
    });
    assert.equal(got.length, expected.length, 'frame count');
    for (let i = 0; i < got.length; i++) {
      const e = expected[i]!;
      const g = got[i]!;
      for (const f of FIELDS) {
        assert.equal(g[f], norm(f, e[f]), `${fx} frame ${i + 1} field ${f}`);
      }
    }
  });
}

/**
 * Per frame, tshark's checksum statuses (checksum validation on) for IPv4, TCP, UDP, ICMP, ICMPv6:
 * lists in layer order (0 Bad, 1 Good, 2 Unverified).
 */
function tsharkChecksums(file: string): string[][][] {
  const args = ['-n', '-r', file, ...TSHARK_OPTS, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status']) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .slice(0, -1)
    .map((l) => l.split('\t').map((c) => (c === '' ? [] : c.split(','))));
}

function countLayers(d: PacketDecoder, type: number): number {
  let n = 0;
  for (let i = 0; i < d.layerCount; i++) if (d.layerType[i] === type) n++;
  return n;
}

for (const fx of [...WIRE_FIXTURES, 'wire/zeek-vxlan-inner-tcp-bad-checksum.pcap', 'wire/zeek-geneve-inner-tcp-bad-checksum.pcap']) {
  test(`checksum validation on ${fx} flags the frames tshark flags`, { skip }, async () => {
    const file = join(FIX, fx);
    const statuses = tsharkChecksums(file);
    const dec = new PacketDecoder({ validateChecksums: true });
    const diff: string[] = [];
    let frames = 0;
    await readCapture(file, (rec) => {
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      const st = statuses[frames++] ?? [];
      // tshark also checks the invoking packet embedded in ICMP errors; we validate a packet's own
      // headers only, so keep as many IPv4/TCP/UDP statuses as the frame has layers of each.
      const own = [
        ...(st[0] ?? []).slice(0, countLayers(dec, Layer.Ipv4)),
        ...(st[1] ?? []).slice(0, countLayers(dec, Layer.Tcp)),
        ...(st[2] ?? []).slice(0, countLayers(dec, Layer.Udp)),
        ...(st[3] ?? []),
        ...(st[4] ?? []),
      ];
      const tsharkBad = own.includes('0');
      if (tsharkBad !== (dec.badChecksumLayer !== 0)) diff.push(`frame ${rec.index}: ours ${dec.badChecksumLayer !== 0} tshark ${tsharkBad}`);
    });
    assert.equal(frames, statuses.length);
    assert.deepEqual(diff, []);
  });
}
