import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameClassifier, MirrorFrameFilter } from './listen-classify.js';
import { parseMirrorFilter } from './filter.js';

// Ethernet | 802.1Q VLAN 5 | IPv4 10.0.0.1 → 10.0.0.2 TCP 40000 → 443 (header only)
const VLAN_TCP = Buffer.from(
  '020000000002' + '020000000001' + '8100' + '0005' + '0800' + // Ethernet + one VLAN tag
    '4500002800004000400600000a0000010a000002' + // IPv4, total length 40, TCP
    '9c4001bb00000001000000005002200000000000', // TCP 40000 → 443, SYN
  'hex',
);

// raw IPv6: 2001:db8::1 → 2001:db8::2, Fragment header (offset 8, i.e. a later fragment) then UDP
const V6_LATER_FRAGMENT = Buffer.from(
  '6000000000102c40' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002' +
    '1100000800000001' + // Fragment header: next UDP, offset 1 (8 bytes), id 1
    '0035003500080000', // bytes of the datagram's middle (not a UDP header)
  'hex',
);

test('classify: VLAN-tagged Ethernet gives addresses, protocol and ports; declared length', () => {
  const c = new FrameClassifier();
  assert.equal(c.classify(1, VLAN_TCP, 0, VLAN_TCP.length), 4);
  assert.equal(c.packet.protocol, 6);
  assert.equal(c.packet.srcPort, 40000);
  assert.equal(c.packet.dstPort, 443);
  assert.equal(c.macOffset, 0);
  assert.equal(c.declaredLength, 18 + 40);
  // cut inside the TCP header: addresses known, ports not
  assert.equal(c.classify(1, VLAN_TCP, 0, 18 + 20 + 2), 4);
  assert.equal(c.packet.srcPort, -1);
});

test('classify: a later IPv6 fragment has no ports', () => {
  const c = new FrameClassifier();
  assert.equal(c.classify(101, V6_LATER_FRAGMENT, 0, V6_LATER_FRAGMENT.length), 6);
  assert.equal(c.packet.protocol, 17);
  assert.equal(c.laterFragment, true);
  assert.equal(c.packet.srcPort, -1);
});

test('classify: non-IP and garbage are ipVersion 0, never a throw', () => {
  const c = new FrameClassifier();
  const arp = Buffer.from('ffffffffffff0200000000010806' + '0001080006040001', 'hex');
  assert.equal(c.classify(1, arp, 0, arp.length), 0);
  for (let n = 0; n < VLAN_TCP.length; n++) c.classify(1, VLAN_TCP, 0, n);
  assert.equal(c.classify(101, Buffer.from([0x45]), 0, 1), 0);
});

test('MirrorFrameFilter: direction from epb_flags as listen writes them', () => {
  const f = new MirrorFrameFilter(
    parseMirrorFilter('ingress:\n  - {ruleNumber: 1, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: 443}\negress: []\n', 'f'),
  );
  assert.equal(f.keeps(1, VLAN_TCP, 0, VLAN_TCP.length, 1), true, 'inbound = ingress: accepted');
  assert.equal(f.keeps(1, VLAN_TCP, 0, VLAN_TCP.length, 2), false, 'outbound = egress: no rule');
  assert.equal(f.keeps(1, VLAN_TCP, 0, VLAN_TCP.length, 0), true, 'unknown: either list');
});
