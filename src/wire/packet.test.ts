// PacketDecoder: layer walk, tunnels (AWS GWLB GENEVE carrying a Traffic Mirroring VXLAN
// session), depth cap, VLAN stacks, statuses and anomalies, checksum validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PacketDecoder, Layer, LAYER_NAMES, LinkType, ipv4ToString } from './packet.js';
import { Status } from './status.js';
import { ANOMALIES, AnomalyLog, anomalyId } from './anomaly.js';
import { GENEVE_GWLB, concat, eth, guarded, hex, ipv4, readEveryAddress, tcp, udp, vxlan } from './test-bytes.js';

function layers(d: PacketDecoder): string {
  const out: string[] = [];
  for (let i = 0; i < d.layerCount; i++) out.push(LAYER_NAMES[d.layerType[i]!]!);
  return out.join('/');
}

function anomalies(d: PacketDecoder): string[] {
  const out: string[] = [];
  for (let i = 0; i < d.anomalyCount; i++) out.push(ANOMALIES[d.anomalyId(i)]!.code);
  return out;
}

/** The mirrored packet: client 198.51.100.7:50000 → ALB 10.0.1.20:443, RST+ACK. */
const MIRRORED = concat(eth(0x0800), ipv4('198.51.100.7', '10.0.1.20', 6, tcp(50000, 443, 1000, 2000, 0x14)));

/**
 * Traffic Mirroring behind a Gateway Load Balancer (aws-facts §1.1, §2):
 * Ethernet / IPv4 GWLB 10.0.9.9 → appliance 10.0.9.50 / UDP → 6081 / GENEVE (IPv4, AWS options)
 *   / IPv4 ENI 10.0.1.20 → mirror target 10.0.9.60 / UDP 4789 / VXLAN VNI 777 / the mirrored frame.
 */
const GWLB_PACKET = concat(
  eth(0x0800),
  ipv4('10.0.9.9', '10.0.9.50', 17, udp(40000, 6081, concat(hex(GENEVE_GWLB), ipv4('10.0.1.20', '10.0.9.60', 17, udp(51234, 4789, concat(vxlan(777), MIRRORED)))))),
);

test('GWLB GENEVE around a VXLAN mirror session: outer, tunnel and inner views', () => {
  const d = new PacketDecoder();
  assert.equal(d.decode(LinkType.Ethernet, GWLB_PACKET, 0, GWLB_PACKET.length), Status.Ok);
  assert.equal(layers(d), 'eth/ip/udp/geneve/ip/udp/vxlan/eth/ip/tcp');
  assert.deepEqual([d.tunnelDepth, d.tunnelType, d.outerTunnelType, d.vni], [2, Layer.Vxlan, Layer.Geneve, 777]);
  // Outermost carrier: GWLB → appliance.
  assert.equal(d.outerIpVersion, 4);
  assert.equal(ipv4ToString(d.outerIp4.src), '10.0.9.9');
  assert.equal(d.outerDstAddrString(), '10.0.9.50');
  assert.deepEqual([d.outerUdp.srcPort, d.outerUdp.dstPort], [40000, 6081]);
  // GENEVE with the AWS options.
  assert.equal(d.hasGeneve, true);
  assert.equal(d.geneve.hasGwlb, true);
  assert.equal(d.geneve.gwlbEndpointIdHex(), '0a1b2c3d4e5f6071');
  assert.equal(d.geneve.gwlbFlowCookieHex(), 'cafef00d');
  assert.equal(d.hasGeneveOptionClass(0x0108), true);
  assert.equal(d.vxlan.vni, 777);
  // Innermost: the mirrored client connection.
  assert.equal(d.ipVersion, 4);
  assert.equal(d.srcAddrString(), '198.51.100.7');
  assert.equal(d.dstAddrString(), '10.0.1.20');
  assert.deepEqual([d.transport, d.srcPort, d.dstPort, d.tcp.flags, d.tcp.seq, d.tcp.ack, d.payloadLength], [6, 50000, 443, 0x14, 1000, 2000, 0]);
  assert.equal(d.status, Status.Ok);
  assert.deepEqual(anomalies(d), []);
});

test('views keep their identity across decodes (callers may hold them)', () => {
  const d = new PacketDecoder();
  const tcpView = d.tcp;
  const outer = d.outerIp4;
  d.decode(LinkType.Ethernet, GWLB_PACKET, 0, GWLB_PACKET.length);
  d.decode(LinkType.Ethernet, MIRRORED, 0, MIRRORED.length);
  assert.equal(d.tcp, tcpView);
  assert.equal(d.outerIp4, outer);
  assert.deepEqual([d.tunnelDepth, d.vni, d.outerIpVersion, d.hasGeneve, d.tunnelType], [0, -1, 0, false, 0]);
});

test('maxDepth caps tunnel nesting: the packet is Unsupported after the outer layers', () => {
  const d = new PacketDecoder({ maxDepth: 1 });
  assert.equal(d.decode(LinkType.Ethernet, GWLB_PACKET, 0, GWLB_PACKET.length), Status.Unsupported);
  assert.equal(d.errorLayer, Layer.Vxlan);
  assert.equal(d.errorReason, 'tunnel nesting deeper than maxDepth');
  assert.deepEqual(anomalies(d), ['tunnel-depth-exceeded']);
  assert.equal(layers(d), 'eth/ip/udp/geneve/ip/udp');
  const none = new PacketDecoder({ maxDepth: 0 });
  assert.equal(none.decode(LinkType.Ethernet, GWLB_PACKET, 0, GWLB_PACKET.length), Status.Unsupported);
  assert.equal(none.tunnelDepth, 0);
});

test('tunnel ports are configurable; a packet buried at an offset in a larger buffer decodes in place', () => {
  const vx = concat(eth(0x0800), ipv4('172.16.0.1', '172.16.0.2', 17, udp(1111, 9999, concat(vxlan(5), MIRRORED))));
  const d = new PacketDecoder();
  d.decode(LinkType.Ethernet, vx, 0, vx.length);
  assert.equal(layers(d), 'eth/ip/udp/payload');
  const custom = new PacketDecoder({ vxlanPorts: [9999] });
  const buf = concat(hex('ff ff ff'), vx, hex('ee ee'));
  assert.equal(custom.decode(LinkType.Ethernet, buf, 3, vx.length), Status.Ok);
  assert.deepEqual([custom.vni, custom.srcPort, custom.dstPort], [5, 50000, 443]);
  assert.equal(custom.layerOffset[0], 3);
  assert.throws(() => new PacketDecoder({ genevePorts: [70000] }), RangeError);
  assert.throws(() => custom.decode(LinkType.Ethernet, buf, 3, buf.length), RangeError);
});

test('QinQ (0x88a8, 0x9100) tags are layers and innermost-frame VLAN ids', () => {
  const frame = concat(
    hex(`
      02 00 00 00 00 02 02 00 00 00 00 01
      88 a8  00 64     # S-tag, VID 100
      91 00  00 c8     # pre-standard QinQ TPID, VID 200
      81 00  01 2c     # C-tag, VID 300
      08 00
    `),
    ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, hex('00'))),
  );
  const d = new PacketDecoder();
  assert.equal(d.decode(LinkType.Ethernet, frame, 0, frame.length), Status.Ok);
  assert.equal(layers(d), 'eth/vlan/vlan/vlan/ip/udp/payload');
  assert.deepEqual([d.vlanCount, d.vlanId(0), d.vlanId(1), d.vlanId(2)], [3, 100, 200, 300]);
});

test('link types: raw IP, IPv4/IPv6 (228/229), null, SLL; unknown link type and ARP are Unsupported', () => {
  const ip = ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 3, 4, 2));
  const d = new PacketDecoder();
  for (const lt of [LinkType.Raw, LinkType.Ipv4, 12, 14]) {
    assert.equal(d.decode(lt, ip, 0, ip.length), Status.Ok, `link type ${lt}`);
    assert.equal(layers(d), 'ip/tcp');
  }
  assert.equal(d.decode(LinkType.Ipv6, ip, 0, ip.length), Status.Malformed);
  assert.deepEqual(anomalies(d), ['ipv6-bad-version']);
  const nul = concat(hex('02 00 00 00'), ip);
  assert.equal(d.decode(LinkType.Null, nul, 0, nul.length), Status.Ok);
  assert.equal(layers(d), 'null/ip/tcp');
  const sll = concat(hex('0000 0001 0006 020000000001 0000 0800'), ip);
  assert.equal(d.decode(LinkType.LinuxSll, sll, 0, sll.length), Status.Ok);
  assert.equal(layers(d), 'sll/ip/tcp');
  assert.equal(d.decode(147, ip, 0, ip.length), Status.Unsupported);
  assert.deepEqual([d.errorLayer, d.errorReason, d.layerCount], [Layer.Frame, 'link type not supported', 0]);
  const arp = concat(eth(0x0806), new Uint8Array(28));
  assert.equal(d.decode(LinkType.Ethernet, arp, 0, arp.length), Status.Unsupported);
  assert.deepEqual([layers(d), d.errorLayer, d.ipVersion], ['eth/payload', Layer.Ethernet, 0]);
  assert.deepEqual(anomalies(d), ['ethertype-unsupported']);
});

test('truncation at every length: no throw, Truncated inside headers, layers before the cut kept', () => {
  const d = new PacketDecoder();
  let ok = 0;
  for (let n = 0; n <= GWLB_PACKET.length; n++) {
    const st = d.decode(LinkType.Ethernet, GWLB_PACKET, 0, n);
    assert.ok(st === Status.Ok || st === Status.Truncated, `length ${n}: status ${st}`);
    if (st === Status.Truncated) {
      assert.ok(d.errorLayer !== 0);
      assert.ok(anomalies(d).includes('frame-truncated'));
    } else ok++;
    for (let i = 0; i < d.layerCount; i++) assert.ok(d.layerOffset[i]! + d.layerLength[i]! <= n, `length ${n}: layer ${i} past the end`);
  }
  // Ok only where a cut falls inside a payload: after the inner TCP header, or inside UDP payloads
  // that are not tunnels... which here means only the complete packet.
  assert.equal(ok, 1);
});

/** Decodes over a view that throws on reading outside the frame, then reads every address. */
function decodeInside(d: PacketDecoder, b: Uint8Array): Status {
  const st = d.decode(LinkType.Ethernet, guarded(b, 0, b.length), 0, b.length);
  readEveryAddress(d);
  return st;
}

test('IP-in-IP with the inner header cut: the outer header stays the innermost IP, no address read past the frame', () => {
  const d = new PacketDecoder();
  // The fuzz reproducer (packet target, seed 2068783182, input 45677), 54 bytes:
  //   Ethernet, EtherType 0x86dd
  //   IPv6: payload length 0x518b (cut by the capture), next header 0x29 (IPv6 in IPv6), hop limit 0x76
  //   no byte of the inner IPv6 header: its addresses would start at byte 54 + 8 = 62
  // The inner check wrote its address offsets into the innermost view before finding the header
  // cut; srcAddrString() then read bytes 62..77 of a 54-byte frame.
  const crash = hex(`f01898e87af3 00032d875970 86dd
    6b355690 518b 2976 278a2eb6cb4fc686f2afa82c8f3db9cf 8e571c05d26128064700001000000000`);
  assert.deepEqual(crash, new Uint8Array(readFileSync(new URL('../../fuzz/regressions/packet/crash-635a381badf9/frame.bin', import.meta.url))));
  assert.equal(decodeInside(d, crash), Status.Truncated);
  assert.equal(layers(d), 'eth/ipv6');
  assert.equal(d.ipVersion, 6);
  assert.equal(d.srcAddrString(), '278a:2eb6:cb4f:c686:f2af:a82c:8f3d:b9cf');
  assert.equal(d.transport, 41);

  // IPv6 in IPv6, the inner header 10 of its 40 bytes.
  const six = concat(eth(0x86dd), hex('60000000 0028 2940 fd000000000000000000000000000001 fd000000000000000000000000000002  60000000 0000 0640 fd00'));
  assert.equal(decodeInside(d, six), Status.Truncated);
  assert.deepEqual([d.errorLayer, d.ipVersion, d.srcAddrString(), d.dstAddrString(), d.ip6.headerLength], [Layer.Ipv6, 6, 'fd00::1', 'fd00::2', 40]);

  // IPv4 in IPv4, the inner header announcing 24 bytes (IHL 6) with 22 captured: the outer's
  // header length, protocol and addresses are kept (the inner check used to overwrite some).
  const four = concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 4, hex('46000018 00014000 4006 0000 0a090001 0a090002 0000')));
  assert.equal(decodeInside(d, four), Status.Truncated);
  assert.deepEqual([d.ipVersion, d.srcAddrString(), d.dstAddrString(), d.ip4.headerLength, d.ip4.protocol], [4, '10.0.0.1', '10.0.0.2', 20, 4]);

  // IPv4 in IPv6, cut: the IPv6 header is the innermost decoded IP.
  const fourInSix = concat(eth(0x86dd), hex('60000000 0014 0440 fd000000000000000000000000000001 fd000000000000000000000000000002  45000014 0001'));
  assert.equal(decodeInside(d, fourInSix), Status.Truncated);
  assert.deepEqual([d.ipVersion, d.srcAddrString()], [6, 'fd00::1']);

  // Whole, the inner header is the innermost IP, as before.
  const whole = concat(eth(0x86dd), hex('60000000 003c 2940 fd000000000000000000000000000001 fd000000000000000000000000000002  60000000 0014 0640 fd000000000000000000000000000003 fd000000000000000000000000000004'), tcp(1, 2, 3, 4, 2));
  assert.equal(decodeInside(d, whole), Status.Ok);
  assert.deepEqual([layers(d), d.srcAddrString(), d.dstAddrString(), d.tcp.dstPort], ['eth/ipv6/ipv6/tcp', 'fd00::3', 'fd00::4', 2]);
});

test('IPv4 non-first fragments carry no transport header; first fragments decode it', () => {
  const first = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1000, 2000, new Uint8Array(16)));
  first[6] = 0x20; // MF
  const later = first.slice();
  later[6] = 0x00;
  later[7] = 0x03; // offset 24 bytes
  const d = new PacketDecoder();
  d.decode(LinkType.Raw, first, 0, first.length);
  assert.deepEqual([layers(d), d.srcPort, d.ip4.isFragment], ['ip/udp/payload', 1000, true]);
  d.decode(LinkType.Raw, later, 0, later.length);
  assert.deepEqual([layers(d), d.srcPort, d.transport, d.payloadLength], ['ip/payload', -1, 17, 24]);
  assert.deepEqual(anomalies(d), ['ipv4-fragment']);
});

test('checksums are not validated by default; with validation, good and bad are told apart', () => {
  // Wikipedia's IPv4 example header (checksum b861) with a UDP payload whose checksum is 0 (none).
  const good = hex(`
    45 00 00 1c 00 00 40 00 40 11 b8 b8 c0 a8 00 01 c0 a8 00 c7   # total 28, checksum 0xb8b8
    04 d2 00 35 00 08 00 00                                       # UDP 1234 → 53, no checksum
  `);
  const plain = new PacketDecoder();
  const strict = new PacketDecoder({ validateChecksums: true });
  assert.equal(strict.decode(LinkType.Raw, good, 0, good.length), Status.Ok);
  assert.equal(strict.badChecksumLayer, 0);
  const bad = good.slice();
  bad[11] ^= 0xff;
  assert.equal(plain.decode(LinkType.Raw, bad, 0, bad.length), Status.Ok);
  assert.equal(plain.badChecksumLayer, 0);
  assert.equal(strict.decode(LinkType.Raw, bad, 0, bad.length), Status.Ok);
  assert.equal(strict.badChecksumLayer, Layer.Ipv4);
  assert.deepEqual(anomalies(strict), ['ipv4-bad-checksum']);
  // A UDP checksum that does not match the pseudo header + data.
  const udpBad = good.slice();
  udpBad[26] = 0x12;
  udpBad[27] = 0x34;
  strict.decode(LinkType.Raw, udpBad, 0, udpBad.length);
  assert.equal(strict.badChecksumLayer, Layer.Udp);
  // The right UDP checksum: the complement of the one's-complement sum of pseudo header + header.
  // Pseudo: c0a8+0001+c0a8+00c7+0011+0008 ; UDP: 04d2+0035+0008+0000 → 0x18740 → 0x8741 → ~ = 0x78be.
  const udpGood = good.slice();
  udpGood[26] = 0x78;
  udpGood[27] = 0xbe;
  strict.decode(LinkType.Raw, udpGood, 0, udpGood.length);
  assert.equal(strict.badChecksumLayer, 0);
});

test('UDP length disagreeing with the IP payload is an anomaly, the packet still decodes', () => {
  const p = ipv4('10.0.0.1', '10.0.0.2', 17, udp(5, 6, new Uint8Array(8)));
  p[25] = 12; // UDP length 12 < 16 bytes of IP payload
  const d = new PacketDecoder();
  assert.equal(d.decode(LinkType.Raw, p, 0, p.length), Status.Ok);
  assert.deepEqual([d.udp.lengthMismatch, d.payloadLength], [true, 4]);
  assert.deepEqual(anomalies(d), ['udp-length-mismatch']);
});

test('AnomalyLog applies each definition’s de-duplication policy', () => {
  const log = new AnomalyLog();
  const perCapture = anomalyId('frame-truncated');
  const perConn = anomalyId('tcp-options-malformed');
  const every = anomalyId('tcp-bad-checksum');
  assert.deepEqual([log.note(perCapture), log.note(perCapture)], [true, false]);
  assert.deepEqual([log.note(perConn, 'C1'), log.note(perConn, 'C1'), log.note(perConn, 'C2')], [true, false, true]);
  assert.deepEqual([log.note(every), log.note(every)], [true, true]);
  assert.equal(log.total(perCapture), 2);
  log.forgetConnection('C1');
  assert.equal(log.note(perConn, 'C1'), true);
  assert.deepEqual(
    log.summary().map((s) => `${s.code}:${s.count}`),
    ['frame-truncated:2', 'tcp-options-malformed:4', 'tcp-bad-checksum:2'],
  );
  // record(): the report-worthy occurrences with frame number and uid; the first frame is kept.
  const rec = new AnomalyLog();
  const first = rec.record(perConn, 17, 'C9');
  assert.deepEqual(first && [first.code, first.severity, first.packetIndex, first.uid, first.count], ['tcp-options-malformed', 'warn', 17, 'C9', 1]);
  assert.equal(rec.record(perConn, 18, 'C9'), null);
  assert.equal(rec.summary()[0]!.firstPacket, 17);
  assert.throws(() => anomalyId('no-such-thing'), RangeError);
  const codes = new Set(ANOMALIES.map((a) => a.code));
  assert.equal(codes.size, ANOMALIES.length, 'anomaly codes are unique');
});
