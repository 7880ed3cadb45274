// Property tests (fast-check): on arbitrary and mutated bytes the decoder never throws and never
// reads outside the (offset, length) window it was given. Typed arrays return `undefined` for
// out-of-range reads instead of failing, so the buffer is wrapped in a Proxy that throws on any
// index outside the window. After each decode every address the decoder offers is read through
// the same Proxy: a view left pointing past the frame (a cut inner header of IP-in-IP once did)
// fails the property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PacketDecoder, LinkType } from './packet.js';
import { Status } from './status.js';
import { GENEVE_GWLB, concat, eth, guarded, hex, ipv4, readEveryAddress, tcp, udp, vxlan } from './test-bytes.js';
import { compileFilter } from './display-filter.js';
import { isMirrorlensError } from './errors.js';

const LINK_TYPES = [LinkType.Null, LinkType.Ethernet, 12, LinkType.Raw, LinkType.Loop, LinkType.LinuxSll, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll2, 9999];
const STATUSES = new Set<number>(Object.values(Status));

function decodeGuarded(d: PacketDecoder, linkType: number, bytes: Uint8Array, pad: number, len: number): void {
  const buf = new Uint8Array(pad + bytes.length + 7);
  buf.set(bytes, pad);
  buf.fill(0xaa, pad + len); // bytes past the window are garbage the decoder must not look at
  const st = d.decode(linkType, guarded(buf, pad, pad + len), pad, len);
  assert.ok(STATUSES.has(st));
  for (let i = 0; i < d.layerCount; i++) {
    assert.ok(d.layerOffset[i]! >= pad && d.layerOffset[i]! + d.layerLength[i]! <= pad + len, 'layer inside the window');
  }
  assert.ok(d.payloadOffset >= pad && d.payloadOffset + d.payloadLength <= pad + len, 'payload inside the window');
  readEveryAddress(d);
  if (st !== Status.Ok) assert.notEqual(d.errorReason, '');
}

test('arbitrary bytes under every link type: no throw, no read outside the window', () => {
  const d = new PacketDecoder({ validateChecksums: true });
  fc.assert(
    fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), fc.nat(5), (lt, bytes, pad) => {
      decodeGuarded(d, lt, bytes, pad, bytes.length);
    }),
    { numRuns: 3000 },
  );
});

// Seeds that reach deep layers: the GWLB+VXLAN packet, QinQ, IPv6 with extension headers, ICMP errors.
const SEEDS: [number, Uint8Array][] = [
  [
    LinkType.Ethernet,
    concat(
      eth(0x0800),
      ipv4('10.0.9.9', '10.0.9.50', 17, udp(40000, 6081, concat(hex(GENEVE_GWLB), ipv4('10.0.1.20', '10.0.9.60', 17, udp(51234, 4789, concat(vxlan(777), eth(0x0800), ipv4('198.51.100.7', '10.0.1.20', 6, tcp(50000, 443, 1, 2, 0x18, hex('474554'))))))))),
    ),
  ],
  [LinkType.Ethernet, concat(hex('020000000002 020000000001 88a8 0064 8100 00c8 0800'), ipv4('10.0.0.1', '10.0.0.2', 1, hex('0304 0000 0000 0578 4500 05dc 0001 4000 3f06 0000 0a000001 0a000002 c350 01bb 11223344')))],
  [
    LinkType.Raw,
    hex(`60000000 0024 0040 20010db8000000000000000000000001 20010db8000000000000000000000002
         2c00010400000000 11000001deadbeef 3039003500140000 000102030405060708090a0b`),
  ],
  [LinkType.Raw, hex('60000000 0030 3a40 fd000000000000000000000000000001 fd000000000000000000000000000002 02000000 00000500 60000000 0500 1140 fd000000000000000000000000000001 fd000000000000000000000000000002 d4310035')],
  [LinkType.Ethernet, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 6, hex('c00101bb fffffff0 00000000 a002faf0 12340000 020405b4 0402 080a0000006400000000 01 030307')))],
  [LinkType.Ethernet, concat(eth(0x86dd), hex('60000000 0014 0640 fd000000000000000000000000000001 fd000000000000000000000000000002'), tcp(1, 2, 3, 4, 2))],
  // IPv6 in IPv6 (next header 41) around TCP, and IPv4 in IPv4 (protocol 4) around UDP: cuts land in the inner header.
  [
    LinkType.Ethernet,
    concat(
      eth(0x86dd),
      hex('60000000 003c 2940 fd000000000000000000000000000001 fd000000000000000000000000000002'),
      hex('60000000 0014 0640 fd000000000000000000000000000003 fd000000000000000000000000000004'),
      tcp(1, 2, 3, 4, 2),
    ),
  ],
  [LinkType.Ethernet, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 4, ipv4('10.9.0.1', '10.9.0.2', 17, udp(53, 53, hex('0001')))))],
];

test('mutated and truncated real-shaped packets: no throw, no read outside the window', () => {
  const d = new PacketDecoder({ validateChecksums: true, maxDepth: 3 });
  fc.assert(
    fc.property(
      fc.constantFrom(...SEEDS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat(),
      (seed, edits, cut) => {
        const [lt, orig] = seed;
        const b = orig.slice();
        for (const [pos, val] of edits) b[pos % b.length] = val;
        const len = cut % (b.length + 1);
        decodeGuarded(d, lt, b, 3, len);
      },
    ),
    { numRuns: 5000 },
  );
});

test('the seeds themselves decode Ok (so the mutation test starts from deep packets)', () => {
  const d = new PacketDecoder();
  for (const [lt, b] of SEEDS) assert.equal(d.decode(lt, b, 0, b.length), Status.Ok, d.errorReason);
});

test('display filter: any text either compiles or fails with a MirrorlensError', () => {
  const words = ['host', 'net', 'port', 'portrange', 'vni', 'vlan', 'tcp', 'udp', 'and', 'or', 'not', '(', ')', '!', '&&', '||', '10.0.0.1', '::1', '10.0.0.0/8', '443', '1-2', 'inner', 'outer', 'src', 'dst', 'x', ''];
  const d = new PacketDecoder();
  const pkt = SEEDS[0]![1];
  d.decode(LinkType.Ethernet, pkt, 0, pkt.length);
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.array(fc.constantFrom(...words), { maxLength: 8 }).map((a) => a.join(' '))), (text) => {
      let f;
      try {
        f = compileFilter(text);
      } catch (e) {
        assert.ok(isMirrorlensError(e), `not a MirrorlensError for '${text}': ${String(e)}`);
        return;
      }
      assert.equal(typeof f(d), 'boolean');
    }),
    { numRuns: 2000 },
  );
});
