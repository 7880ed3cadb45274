// The `read --filter` language: each primitive, scopes, precedence, and error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from './display-filter.js';
import { PacketDecoder, LinkType } from './packet.js';
import { GENEVE_GWLB, concat, eth, hex, ipv4, tcp, udp, vxlan } from './test-bytes.js';
import { isMirrorlensError } from './errors.js';

// Mirror source ENI 10.0.1.20 → target 10.0.9.60, VXLAN VNI 42, carrying 198.51.100.7:50000 → 10.0.1.20:443 RST.
const MIRRORED = concat(eth(0x0800), ipv4('10.0.1.20', '10.0.9.60', 17, udp(51234, 4789, concat(vxlan(42), hex('020000000002 020000000001 8100 0064 0800'), ipv4('198.51.100.7', '10.0.1.20', 6, tcp(50000, 443, 1, 2, 0x14))))));
// Plain IPv6 UDP: [fd00::1]:5353 → [fd00::2]:53.
const V6 = concat(eth(0x86dd), hex('60000000 0009 1140 fd000000000000000000000000000001 fd000000000000000000000000000002'), udp(5353, 53, hex('00')));
// GWLB GENEVE carrying a bare IPv4 SYN 10.2.0.1:1234 → 10.2.0.2:80.
const GWLB = concat(eth(0x0800), ipv4('10.0.9.9', '10.0.9.50', 17, udp(40000, 6081, concat(hex(GENEVE_GWLB), ipv4('10.2.0.1', '10.2.0.2', 6, tcp(1234, 80, 7, 0, 0x02))))));
// ARP: not IP.
const ARP = concat(eth(0x0806), new Uint8Array(28));

const PACKETS = { MIRRORED, V6, GWLB, ARP } as const;
type Name = keyof typeof PACKETS;

function matching(expr: string): Name[] {
  const f = compileFilter(expr);
  const d = new PacketDecoder();
  const out: Name[] = [];
  for (const name of Object.keys(PACKETS) as Name[]) {
    const b = PACKETS[name];
    d.decode(LinkType.Ethernet, b, 0, b.length);
    if (f(d)) out.push(name);
  }
  return out;
}

test('host, net and bare addresses match any IP layer unless scoped', () => {
  assert.deepEqual(matching('host 10.0.1.20'), ['MIRRORED']);
  assert.deepEqual(matching('198.51.100.7'), ['MIRRORED']);
  assert.deepEqual(matching('outer host 198.51.100.7'), []);
  assert.deepEqual(matching('inner src host 198.51.100.7'), ['MIRRORED']);
  assert.deepEqual(matching('outer src host 10.0.1.20'), ['MIRRORED']);
  assert.deepEqual(matching('outer dst 10.0.1.20'), []);
  assert.deepEqual(matching('net 10.0.0.0/8'), ['MIRRORED', 'GWLB']);
  assert.deepEqual(matching('10.2.0.0/16'), ['GWLB']);
  assert.deepEqual(matching('inner net 10.0.9.0/24'), []);
  assert.deepEqual(matching('host fd00::2'), ['V6']);
  assert.deepEqual(matching('src host fd00::2'), []);
  assert.deepEqual(matching('net fd00::/8'), ['V6']);
  assert.deepEqual(matching('net 0.0.0.0/0'), ['MIRRORED', 'GWLB']);
});

test('ports, port ranges, VNIs, VLANs and protocol words', () => {
  assert.deepEqual(matching('port 443'), ['MIRRORED']);
  assert.deepEqual(matching('port 4789'), ['MIRRORED']);
  assert.deepEqual(matching('inner port 4789'), []);
  assert.deepEqual(matching('dst port 53'), ['V6']);
  assert.deepEqual(matching('portrange 1-100'), ['V6', 'GWLB']);
  assert.deepEqual(matching('vni 42'), ['MIRRORED']);
  assert.deepEqual(matching('vni 0x2a'), ['MIRRORED']);
  assert.deepEqual(matching('vni 0'), ['GWLB']);
  assert.deepEqual(matching('vlan'), ['MIRRORED']);
  assert.deepEqual(matching('vlan 100'), ['MIRRORED']);
  assert.deepEqual(matching('vlan 101'), []);
  assert.deepEqual(matching('udp'), ['MIRRORED', 'V6', 'GWLB']);
  assert.deepEqual(matching('udp and not tunnel'), ['V6']);
  assert.deepEqual(matching('tcp'), ['MIRRORED', 'GWLB']);
  assert.deepEqual(matching('ip6'), ['V6']);
  assert.deepEqual(matching('vxlan'), ['MIRRORED']);
  assert.deepEqual(matching('geneve'), ['GWLB']);
  assert.deepEqual(matching('gwlb'), ['GWLB']);
  assert.deepEqual(matching('rst'), ['MIRRORED']);
  assert.deepEqual(matching('syn and not ack'), ['GWLB']);
  assert.deepEqual(matching('unsupported'), ['ARP']);
  assert.deepEqual(matching('ok'), ['MIRRORED', 'V6', 'GWLB']);
});

test('and binds tighter than or; juxtaposition is and; not, !, &&, || and parentheses', () => {
  assert.deepEqual(matching('host 10.0.1.20 and port 443 and vni 42'), ['MIRRORED']);
  assert.deepEqual(matching('vni 42 or udp and port 53'), ['MIRRORED', 'V6']);
  assert.deepEqual(matching('(vni 42 or udp) and port 53'), ['V6']);
  assert.deepEqual(matching('tcp port 80'), ['GWLB']);
  assert.deepEqual(matching('!tcp && (ip6 || unsupported)'), ['V6', 'ARP']);
  assert.deepEqual(matching('not not rst'), ['MIRRORED']);
  assert.deepEqual(matching('TCP AND PORT 80'), ['GWLB']);
});

test('errors name the problem and the column', () => {
  const cases: [string, RegExp][] = [
    ['port', /expected a port number at the end \(column 5\)/],
    ['port 70000', /'70000' is not a port number.*column 6/],
    ['host 10.0.0.300', /not an IPv4 or IPv6 address/],
    ['host 10.0.0.0/8', /use 'net 10.0.0.0\/8'/],
    ['net 10.0.0.0/33', /bad IPv4 prefix length/],
    ['vni 16777216', /not a VNI/],
    ['tcp or', /expected a filter term/],
    ['(tcp', /expected '\)'/],
    ['tcp )', /unexpected '\)'.*column 5/],
    ['src tcp', /expected host, net, port or portrange after 'src'/],
    ['frobnicate', /unknown word 'frobnicate'.*column 1/],
    ['portrange 9-1', /empty/],
    ['a & b', /cannot read|unknown word/],
  ];
  for (const [expr, re] of cases) {
    try {
      compileFilter(expr);
      assert.fail(`'${expr}' compiled`);
    } catch (e) {
      assert.ok(isMirrorlensError(e), `${expr}: ${String(e)}`);
      assert.equal(e.code, 'ML_FILTER_PARSE');
      assert.match(e.message, re, expr);
    }
  }
});
