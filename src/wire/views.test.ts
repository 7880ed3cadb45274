// Unit tests of the protocol views, one block per protocol, on hand-written headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Status } from './status.js';
import { GENEVE_GWLB, hex } from './test-bytes.js';
import { EthernetView, NullView, Sll2View, SllView, VlanView } from './link.js';
import { Ipv4View, ipv4ToString, parseIpv4 } from './ipv4.js';
import { Ipv6View, ipv6ToString, parseIpv6 } from './ipv6.js';
import { TcpView } from './tcp.js';
import { UdpView } from './udp.js';
import { IcmpView } from './icmp.js';
import { VxlanView } from './vxlan.js';
import { GeneveView } from './geneve.js';

// ---- link ----------------------------------------------------------------------------------

test('Ethernet: the EtherType is read from bytes 12-13; 13 bytes are truncated', () => {
  const b = hex(`
    00 11 22 33 44 55   # dst
    66 77 88 99 aa bb   # src
    86 dd               # EtherType IPv6
  `);
  const v = new EthernetView();
  assert.equal(v.check(b, 0, 14), Status.Ok);
  assert.equal(v.etherType, 0x86dd);
  assert.equal(EthernetView.macToString(b, 6), '66:77:88:99:aa:bb');
  assert.equal(v.check(b, 0, 13), Status.Truncated);
});

test('VLAN: TCI gives PCP, DEI and VID; the next EtherType follows', () => {
  const b = hex(`
    b0 c8   # TCI: PCP 5, DEI 1, VID 0x0c8 = 200
    08 00   # inner EtherType IPv4
  `);
  const v = new VlanView();
  assert.equal(v.check(b, 0, 4, 0x88a8), Status.Ok);
  assert.deepEqual([v.pcp, v.dei, v.vid, v.etherType, v.tpid], [5, true, 200, 0x0800, 0x88a8]);
  assert.equal(v.check(b, 0, 3, 0x8100), Status.Truncated);
});

test('Linux SLL v1 and v2: protocol, ARPHRD, interface index', () => {
  const sll = hex(`
    00 00         # packet type: to us
    00 01         # ARPHRD_ETHER
    00 06         # address length
    02 00 00 00 00 01 00 00   # address (8 bytes, padded)
    08 00         # protocol IPv4
  `);
  const v1 = new SllView();
  assert.equal(v1.check(sll, 0, 16), Status.Ok);
  assert.deepEqual([v1.packetType, v1.arphrd, v1.protocol], [0, 1, 0x0800]);
  assert.equal(v1.check(sll, 0, 15), Status.Truncated);
  const sll2 = hex(`
    86 dd         # protocol IPv6
    00 00         # reserved
    00 00 00 07   # interface index 7
    00 01         # ARPHRD_ETHER
    04            # packet type: outgoing
    06            # address length
    02 00 00 00 00 01 00 00
  `);
  const v2 = new Sll2View();
  assert.equal(v2.check(sll2, 0, 20), Status.Ok);
  assert.deepEqual([v2.protocol, v2.ifIndex, v2.arphrd, v2.packetType], [0x86dd, 7, 1, 4]);
  assert.equal(v2.check(sll2, 0, 19), Status.Truncated);
});

test('null/loopback: the family in either byte order; AF_INET6 values of every BSD', () => {
  const v = new NullView();
  assert.equal(v.check(hex('02 00 00 00'), 0, 4, false), Status.Ok); // little-endian AF_INET
  assert.equal(v.ipVersion, 4);
  assert.equal(v.check(hex('00 00 00 02'), 0, 4, false), Status.Ok); // big-endian host
  assert.equal(v.ipVersion, 4);
  for (const af of [10, 24, 28, 30]) {
    v.check(Uint8Array.of(af, 0, 0, 0), 0, 4, false);
    assert.equal(v.ipVersion, 6, `AF ${af}`);
  }
  v.check(hex('00 00 00 1e'), 0, 4, true); // LINKTYPE_LOOP: always big-endian, 30 = macOS AF_INET6
  assert.equal(v.ipVersion, 6);
  v.check(hex('07 00 00 00'), 0, 4, false);
  assert.equal(v.ipVersion, 0);
  assert.equal(v.check(hex('02 00 00'), 0, 3, false), Status.Truncated);
});

// ---- IPv4 ----------------------------------------------------------------------------------

// The IPv4 header of Wikipedia's checksum example: 192.168.0.1 → 192.168.0.199, UDP, checksum b861.
const IPV4_WIKI = `
  45 00 00 73   # version 4, IHL 5, TOS 0, total length 115
  00 00 40 00   # id 0, DF
  40 11 b8 61   # TTL 64, UDP, checksum 0xb861
  c0 a8 00 01   # 192.168.0.1
  c0 a8 00 c7   # 192.168.0.199
`;

test('IPv4: fields of a plain header, checksum verified, payload clamped to the capture', () => {
  const b = hex(IPV4_WIKI);
  const v = new Ipv4View();
  assert.equal(v.check(b, 0, b.length), Status.Ok);
  assert.equal(ipv4ToString(v.src), '192.168.0.1');
  assert.equal(ipv4ToString(v.dst), '192.168.0.199');
  assert.deepEqual([v.headerLength, v.totalLength, v.ttl, v.protocol, v.checksum, v.dontFragment, v.isFragment], [20, 115, 64, 17, 0xb861, true, false]);
  assert.equal(v.checksumOk(b), true);
  // Only the header was captured: Ok, but truncated, with an empty payload.
  assert.equal(v.truncated, true);
  assert.equal(v.upperLength, 0);
  assert.equal(v.declaredUpperLength, 95);
  b[11] ^= 1;
  assert.equal(v.checksumOk(b), false);
});

test('IPv4: options are walked; a bad option length is flagged, not fatal', () => {
  const good = hex(`
    46 00 00 18   # IHL 6 (24 bytes), total 24
    12 34 20 00   # id 0x1234, MF set, offset 0
    01 06 00 00   # TTL 1, ICMP
    0a 00 00 01  0a 00 00 02
    94 04 00 00   # Router Alert option (kind 148, length 4)
  `);
  const v = new Ipv4View();
  assert.equal(v.check(good, 0, good.length), Status.Ok);
  assert.deepEqual([v.optionCount, v.optionsMalformed, v.moreFragments, v.isFragment, v.fragmentOffset], [1, false, true, true, 0]);
  const bad = good.slice();
  bad[21] = 9; // option length runs past the header
  assert.equal(v.check(bad, 0, bad.length), Status.Ok);
  assert.equal(v.optionsMalformed, true);
});

test('IPv4: fragment offset in bytes; Ethernet padding is not payload; TSO length 0', () => {
  const b = hex(`
    45 00 00 1c  ab cd 00 b9   # total 28; offset 0xb9 * 8 = 1480, no MF
    40 11 00 00  0a 00 00 01  0a 00 00 02
    01 02 03 04 05 06 07 08    # 8 payload bytes
    00 00 00 00 00 00          # Ethernet padding
  `);
  const v = new Ipv4View();
  assert.equal(v.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([v.fragmentOffset, v.isFragment, v.moreFragments, v.upperLength, v.truncated], [1480, true, false, 8, false]);
  b[2] = 0;
  b[3] = 0; // total length 0: TSO capture, use what was captured
  assert.equal(v.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([v.tsoLength, v.upperLength], [true, 14]);
});

test('IPv4: wrong version and short IHL are Malformed; short buffers Truncated', () => {
  const v = new Ipv4View();
  const b = hex(IPV4_WIKI);
  assert.equal(v.check(b, 0, 19), Status.Truncated);
  b[0] = 0x65;
  assert.equal(v.check(b, 0, 20), Status.Malformed);
  b[0] = 0x44;
  assert.equal(v.check(b, 0, 20), Status.Malformed);
  b[0] = 0x4f; // IHL 15 = 60 bytes, only 20 captured
  assert.equal(v.check(b, 0, 20), Status.Truncated);
  const small = hex(IPV4_WIKI);
  small[3] = 10; // total length 10 < header length
  assert.equal(v.check(small, 0, 20), Status.Malformed);
});

test('ipv4ToString / parseIpv4', () => {
  assert.equal(ipv4ToString(0xffffffff), '255.255.255.255');
  assert.equal(ipv4ToString(0), '0.0.0.0');
  assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
  assert.equal(parseIpv4('256.0.0.1'), -1);
  assert.equal(parseIpv4('10.0.0'), -1);
});

// ---- IPv6 ----------------------------------------------------------------------------------

const IPV6_EXT = `
  60 0a bc de   # version 6, traffic class 0x00, flow label 0xabcde
  00 24 00 40   # payload length 36, next header 0 (Hop-by-Hop), hop limit 64
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01   # 2001:db8::1
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02   # 2001:db8::2
  2c 00 01 04 00 00 00 00   # Hop-by-Hop: next 44 (Fragment), length 0 (8 bytes), PadN
  11 00 00 01 de ad be ef   # Fragment: next 17, offset 0, M=1, id 0xdeadbeef
  30 39 00 35 00 14 00 00   # UDP 12345 → 53, length 20
  00 01 02 03 04 05 06 07 08 09 0a 0b
`;

test('IPv6: extension headers walked to UDP; first fragment flagged', () => {
  const b = hex(IPV6_EXT);
  const v = new Ipv6View();
  assert.equal(v.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([v.flowLabel, v.payloadLength, v.hopLimit, v.firstNextHeader, v.nextHeader], [0xabcde, 36, 64, 0, 17]);
  assert.deepEqual([v.extHeaderCount, v.extHeaderTypes[0], v.extHeaderTypes[1]], [2, 0, 44]);
  assert.deepEqual([v.isFragment, v.fragmentOffset, v.moreFragments, v.fragmentId], [true, 0, true, 0xdeadbeef]);
  assert.deepEqual([v.headerLength, v.upperOffset, v.upperLength], [56, 56, 20]);
  assert.equal(ipv6ToString(b, v.srcOffset), '2001:db8::1');
  assert.equal(ipv6ToString(b, v.dstOffset), '2001:db8::2');
});

test('IPv6: an extension header cut by the capture is Truncated; past the payload length Malformed', () => {
  const b = hex(IPV6_EXT);
  const v = new Ipv6View();
  assert.equal(v.check(b, 0, 44), Status.Truncated);
  assert.equal(v.check(b, 0, 39), Status.Truncated);
  const m = b.slice();
  m[5] = 4; // payload length 4: the 8-byte Hop-by-Hop header does not fit
  assert.equal(v.check(m, 0, 44), Status.Malformed);
  m[0] = 0x40;
  assert.equal(v.check(m, 0, 40), Status.Malformed);
});

test('IPv6: payload length 0 with a Jumbo Payload option', () => {
  const b = hex(`
    60 00 00 00  00 00 00 01   # payload length 0 (jumbo), next Hop-by-Hop
    00000000000000000000000000000001  00000000000000000000000000000002
    3b 00 c2 04 00 01 00 08    # HbH: next 59 (none), Jumbo Payload length 65544
  `);
  const v = new Ipv6View();
  assert.equal(v.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([v.jumbo, v.nextHeader, v.declaredUpperLength], [true, 59, 65544 - 8]);
  // The next packet (payload length 0 but no Jumbo option) must not inherit that length.
  const tso = hex(`
    60 00 00 00  00 00 3b 01   # payload length 0, next header 59
    00000000000000000000000000000001  00000000000000000000000000000002
    01 02 03 04                # 4 captured bytes
  `);
  assert.equal(v.check(tso, 0, tso.length), Status.Ok);
  assert.deepEqual([v.jumbo, v.declaredUpperLength, v.upperLength], [true, 4, 4]);
});

test('ipv6ToString follows RFC 5952; parseIpv6 reads every text form', () => {
  const cases: [string, string][] = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of equal runs
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single zero group is not ::
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffffc0a80001', '::ffff:192.168.0.1'],
    ['fe800000000000000000000000000000', 'fe80::'],
  ];
  const out = new Uint8Array(16);
  for (const [h, text] of cases) {
    assert.equal(ipv6ToString(hex(h), 0), text);
    assert.equal(parseIpv6(text, out), true, text);
    assert.deepEqual(out, hex(h), text);
  }
  assert.equal(parseIpv6('2001:DB8:0:0:0:0:0:1', out), true);
  assert.equal(ipv6ToString(out, 0), '2001:db8::1');
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '::1.2.3', '1:2:3:4:5:6:7']) assert.equal(parseIpv6(bad, out), false, bad);
});

// ---- TCP -----------------------------------------------------------------------------------

test('TCP: SYN with MSS, SACK-permitted, timestamps, window scale', () => {
  const b = hex(`
    c0 01 01 bb            # 49153 → 443
    ff ff ff f0            # seq 4294967280 (stays unsigned)
    00 00 00 00            # ack 0
    a0 02 fa f0            # data offset 10 (40 bytes), SYN, window 64240
    12 34 00 00            # checksum 0x1234, urgent 0
    02 04 05 b4            # MSS 1460
    04 02                  # SACK permitted
    08 0a 00 00 00 64 00 00 00 00   # timestamps 100 / 0
    01                     # NOP
    03 03 07               # window scale 7
  `);
  const t = new TcpView();
  assert.equal(t.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([t.srcPort, t.dstPort, t.seq, t.ack, t.flags, t.window, t.headerLength, t.checksum], [49153, 443, 4294967280, 0, 2, 64240, 40, 0x1234]);
  assert.deepEqual([t.mss, t.windowScale, t.sackPermitted, t.hasTimestamps, t.tsVal, t.tsEcr, t.rawOptionCount, t.optionsMalformed], [1460, 7, true, true, 100, 0, 0, false]);
  assert.equal(TcpView.flagsToString(t.flags), 'S');
});

test('TCP: SACK blocks, unknown options kept raw, a bad option length stops the walk', () => {
  const b = hex(`
    01 bb c0 01  00 00 03 e8  80 00 00 01
    b0 10 01 00            # data offset 11 (44 bytes), ACK, window 256
    00 00 00 00
    01 01 05 12            # NOP NOP SACK length 18 (two blocks)
    80 00 00 00 80 00 01 00   # block 2147483648-2147483904
    00 00 07 d0 00 00 0b b8   # block 2000-3000
    fe 04 ab cd            # experimental option 254, length 4: raw
  `);
  const t = new TcpView();
  assert.equal(t.check(b, 0, b.length), Status.Ok);
  assert.equal(t.sackCount, 2);
  assert.deepEqual([t.sackLeft(0), t.sackRight(0), t.sackLeft(1), t.sackRight(1)], [2147483648, 2147483904, 2000, 3000]);
  assert.deepEqual([t.rawOptionCount, t.rawOptionKind(0), t.rawOptionOffset(0), t.rawOptionLength(0)], [1, 254, 40, 4]);
  assert.equal(TcpView.flagsToString(t.flags), 'A');
  const bad = b.slice();
  bad[41] = 0; // option length 0
  assert.equal(t.check(bad, 0, bad.length), Status.Ok);
  assert.deepEqual([t.optionsMalformed, t.rawOptionCount, t.sackCount], [true, 0, 2]);
});

test('TCP: data offset below 5 is Malformed; header beyond the capture Truncated', () => {
  const b = hex('0050 1f90 00000001 00000000 4004 0000 0000 0000'); // offset 4, RST
  const t = new TcpView();
  assert.equal(t.check(b, 0, 20), Status.Malformed);
  b[12] = 0x60; // 24-byte header, 20 captured
  assert.equal(t.check(b, 0, 20), Status.Truncated);
  assert.equal(t.check(b, 0, 19), Status.Truncated);
});

// ---- UDP -----------------------------------------------------------------------------------

test('UDP: length validated; longer than captured is truncated, below 8 Malformed, 0 means jumbo', () => {
  const b = hex('30 39 00 35 00 0c ab cd  de ad be ef'); // 12345 → 53, length 12, 4 data bytes
  const u = new UdpView();
  assert.equal(u.check(b, 0, 12), Status.Ok);
  assert.deepEqual([u.srcPort, u.dstPort, u.length, u.checksum, u.payloadOffset, u.payloadLength, u.truncated], [12345, 53, 12, 0xabcd, 8, 4, false]);
  assert.equal(u.check(b, 0, 10), Status.Ok);
  assert.deepEqual([u.payloadLength, u.truncated], [2, true]);
  assert.equal(u.check(b, 0, 7), Status.Truncated);
  b[5] = 7;
  assert.equal(u.check(b, 0, 12), Status.Malformed);
  b[5] = 0;
  assert.equal(u.check(b, 0, 12), Status.Ok);
  assert.equal(u.payloadLength, 4);
});

// ---- ICMP ----------------------------------------------------------------------------------

test('ICMPv4 fragmentation needed: MTU and the embedded IPv4/TCP header', () => {
  const b = hex(`
    03 04 00 00 00 00 05 78      # dest unreachable, frag needed, next-hop MTU 1400
    45 00 05 dc 00 01 40 00 3f 06 00 00  0a 00 00 01  0a 00 00 02   # embedded IPv4, TCP, total 1500
    c3 50 01 bb 11 22 33 44      # embedded TCP: 50000 → 443, seq 0x11223344
  `);
  const ic = new IcmpView();
  assert.equal(ic.check(b, 0, b.length, 4), Status.Ok);
  assert.deepEqual([ic.type, ic.code, ic.mtu, ic.isError, ic.embeddedIpVersion, ic.embeddedProtocol], [3, 4, 1400, true, 4, 6]);
  assert.equal(ipv4ToString(ic.embeddedIp4.src), '10.0.0.1');
  assert.deepEqual([ic.embeddedSrcPort, ic.embeddedDstPort, ic.embeddedTcpSeq], [50000, 443, 0x11223344]);
});

test('ICMPv6 packet too big embeds the IPv6 header; echo has id and seq; short is Truncated', () => {
  const ptb = hex(`
    02 00 00 00 00 00 05 00      # packet too big, MTU 1280
    60 00 00 00 05 00 11 40      # embedded IPv6: payload 1280, UDP, hop 64
    fd000000000000000000000000000001  fd000000000000000000000000000002
    d4 31 00 35                  # embedded UDP 54321 → 53 (cut)
  `);
  const ic = new IcmpView();
  assert.equal(ic.check(ptb, 0, ptb.length, 6), Status.Ok);
  assert.deepEqual([ic.mtu, ic.embeddedIpVersion, ic.embeddedProtocol, ic.embeddedSrcPort, ic.embeddedDstPort, ic.embeddedTcpSeq], [1280, 6, 17, 54321, 53, -1]);
  assert.equal(ipv6ToString(ptb, ic.embeddedIp6.dstOffset), 'fd00::2');
  const cut = hex(`
    01 04 00 00 00 00 00 00      # destination unreachable, port unreachable
    60 00 00 00 00 40 00 40      # embedded IPv6: Hop-by-Hop next
    fd000000000000000000000000000001  fd000000000000000000000000000002
    11 01 00 00                  # Hop-by-Hop header of 16 bytes, only 4 of them here
  `);
  assert.equal(ic.check(cut, 0, cut.length, 6), Status.Ok);
  assert.deepEqual([ic.embeddedIpVersion, ic.embeddedProtocol, ic.embeddedSrcPort], [6, -1, -1]);
  assert.equal(ipv6ToString(cut, ic.embeddedIp6.srcOffset), 'fd00::1');
  const echo = hex('80 00 12 34 00 07 00 2a'); // echo request id 7 seq 42
  assert.equal(ic.check(echo, 0, 8, 6), Status.Ok);
  assert.deepEqual([ic.type, ic.echoId, ic.echoSeq, ic.isError, ic.embeddedIpVersion], [128, 7, 42, false, 0]);
  assert.equal(ic.check(echo, 0, 3, 6), Status.Truncated);
});

// ---- VXLAN ---------------------------------------------------------------------------------

test('VXLAN: VNI, I flag, reserved bits', () => {
  const b = hex('08 00 00 00  00 10 92 00'); // I flag, VNI 4242
  const v = new VxlanView();
  assert.equal(v.check(b, 0, 8), Status.Ok);
  assert.deepEqual([v.vni, v.vniValid, v.reservedNonZero], [4242, true, false]);
  const odd = hex('0c 00 00 00  ff ff ff 01'); // I + reserved bit, VNI 16777215, reserved byte set
  assert.equal(v.check(odd, 0, 8), Status.Ok);
  assert.deepEqual([v.vni, v.vniValid, v.reservedNonZero], [16777215, true, true]);
  assert.equal(v.check(b, 0, 7), Status.Truncated);
});

// ---- GENEVE --------------------------------------------------------------------------------

test('GENEVE: AWS GWLB options decoded (endpoint id, attachment id, flow cookie)', () => {
  const b = hex(GENEVE_GWLB);
  const g = new GeneveView();
  assert.equal(g.check(b, 0, b.length), Status.Ok);
  assert.deepEqual([g.version, g.optionsLength, g.headerLength, g.protocolType, g.vni, g.optionCount], [0, 32, 40, 0x0800, 0, 3]);
  assert.equal(g.hasGwlb, true);
  assert.equal(g.gwlbEndpointIdHex(), '0a1b2c3d4e5f6071');
  assert.equal(g.gwlbEndpointId(), 0x0a1b2c3d4e5f6071n);
  assert.equal(g.gwlbAttachmentIdHex(), '000000000000002a');
  assert.equal(g.gwlbFlowCookie, 0xcafef00d);
  assert.equal(g.gwlbFlowCookieHex(), 'cafef00d');
  assert.deepEqual([g.optionClass(2), g.optionType(2), g.optionDataOffset(2), g.optionDataLength(2)], [0x0108, 3, 36, 4]);
});

test('GENEVE: 5-bit option length (not gopacket 4-bit), options past the area Malformed, version 1 Unsupported', () => {
  // One option with length 16 words (64 bytes): the high bit of the 5-bit field is set.
  const opt = new Uint8Array(8 + 4 + 64);
  opt.set(hex('11 40 65 58  00 00 7b 00'), 0); // opt len 17 words, C bit, Ethernet, VNI 123
  opt.set(hex('ff ff 80 10'), 8); // class 0xffff, critical type 0x80, length 16 words
  const g = new GeneveView();
  assert.equal(g.check(opt, 0, opt.length), Status.Ok);
  assert.deepEqual([g.optionCount, g.optionDataLength(0), g.critical, g.vni, g.hasGwlb], [1, 64, true, 123, false]);
  const bad = opt.slice();
  bad[11] = 0x11; // 17 words: runs past the options area
  assert.equal(g.check(bad, 0, bad.length), Status.Malformed);
  assert.equal(g.check(opt, 0, 40), Status.Truncated);
  const v1 = hex('40 00 65 58 00 00 00 00');
  assert.equal(g.check(v1, 0, 8), Status.Unsupported);
});
