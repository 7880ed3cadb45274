import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MirrorDirection,
  emptyFilterPacket,
  formatAddress,
  mirrorFilterKeeps,
  mirrorFilterRuleFor,
  parseCidr,
  parseMirrorFilter,
  type FilterPacket,
} from './filter.js';
import { MirrorlensError } from '../wire/errors.js';

const { Ingress, Egress, Unknown } = MirrorDirection;

/** A FilterPacket for "proto src:sport > dst:dport" (addresses as text). */
function pkt(proto: number, src: string, sport: number, dst: string, dport: number): FilterPacket {
  const s = parseCidr(src).address;
  const d = parseCidr(dst).address;
  const bytes = new Uint8Array(s.length + d.length);
  bytes.set(s, 0);
  bytes.set(d, s.length);
  const p = emptyFilterPacket();
  p.ipVersion = s.length === 4 ? 4 : 6;
  p.bytes = bytes;
  p.srcAddrOffset = 0;
  p.dstAddrOffset = s.length;
  p.protocol = proto;
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

// The filter of AWS's own walkthrough style: keep inbound HTTPS to the ENI (10.0.1.10), but not
// from the health-check subnet; keep all outbound TCP except to 10.0.9.0/24; IPv6 inbound UDP 53.
const FILTER_YAML = `
ingress:
  - ruleNumber: 200
    action: accept
    protocol: tcp
    source: 0.0.0.0/0
    destination: 10.0.1.10/32
    destinationPorts: 443
  - ruleNumber: 100          # lower number, evaluated first although written second
    action: reject
    protocol: 6
    source: 10.0.200.0/24
    destination: 0.0.0.0/0
  - ruleNumber: 300
    action: accept
    protocol: udp
    source: ::/0
    destination: 2001:db8::/32
    destinationPorts: "53-53"
    sourcePorts: {FromPort: 1024, ToPort: 65535}
egress:
  - ruleNumber: 10
    action: reject
    source: 0.0.0.0/0
    destination: 10.0.9.0/24
  - ruleNumber: 20
    action: accept
    protocol: all
    source: 0.0.0.0/0
    destination: 0.0.0.0/0
`;

const cases: [string, FilterPacket, MirrorDirection, boolean, number | undefined][] = [
  // [what, packet, direction, kept, deciding rule number]
  ['inbound HTTPS to the ENI matches accept rule 200', pkt(6, '198.51.100.7', 50000, '10.0.1.10', 443), Ingress, true, 200],
  ['rules run in rule-number order: reject 100 beats accept 200', pkt(6, '10.0.200.9', 50000, '10.0.1.10', 443), Ingress, false, 100],
  ['port outside the range: no rule matches, so not kept', pkt(6, '198.51.100.7', 50000, '10.0.1.10', 80), Ingress, false, undefined],
  ['protocol mismatch (UDP 443) does not match a TCP rule', pkt(17, '198.51.100.7', 50000, '10.0.1.10', 443), Ingress, false, undefined],
  ['destination outside CIDR does not match', pkt(6, '198.51.100.7', 50000, '10.0.1.11', 443), Ingress, false, undefined],
  ['ingress rules are not consulted for egress packets', pkt(6, '10.0.1.10', 443, '198.51.100.7', 50000), Egress, true, 20],
  ['egress reject 10 before accept-all 20', pkt(6, '10.0.1.10', 5000, '10.0.9.4', 80), Egress, false, 10],
  ['protocol "all" matches ICMP (no ports)', pkt(1, '10.0.1.10', -1, '8.8.8.8', -1), Egress, true, 20],
  ['an IPv4 0.0.0.0/0 rule never matches IPv6', pkt(6, '2001:db8::1', 1, '2001:db8::2', 2), Egress, false, undefined],
  ['IPv6 rule with both port ranges matches', pkt(17, '2001:db8:1::5', 40000, '2001:db8::53', 53), Ingress, true, 300],
  ['IPv6 source port below the source range does not match', pkt(17, '2001:db8:1::5', 53, '2001:db8::53', 53), Ingress, false, undefined],
  ['port range rule does not match unknown ports (non-first fragment)', pkt(6, '198.51.100.7', -1, '10.0.1.10', -1), Ingress, false, undefined],
  ['non-IP matches no rule', { ...pkt(6, '1.1.1.1', 1, '2.2.2.2', 2), ipVersion: 0 }, Egress, false, undefined],
  ['unknown direction: kept when either list accepts (egress 20)', pkt(6, '198.51.100.7', 50000, '10.0.1.10', 80), Unknown, true, 20],
  ['unknown direction: ingress accept wins', pkt(6, '198.51.100.7', 50000, '10.0.1.10', 443), Unknown, true, 200],
  ['unknown direction: rejected by both lists', pkt(6, '10.0.200.9', 1, '10.0.9.1', 2), Unknown, false, 100],
];

const filter = parseMirrorFilter(FILTER_YAML, 'filter.yaml');
for (const [what, p, dir, kept, rule] of cases) {
  test(`filter: ${what}`, () => {
    assert.equal(mirrorFilterKeeps(filter, p, dir), kept);
    assert.equal(mirrorFilterRuleFor(filter, p, dir)?.ruleNumber, rule);
  });
}

test('filter: rules are sorted by number within each direction and keep their line', () => {
  assert.deepEqual(filter.ingress.map((r) => r.ruleNumber), [100, 200, 300]);
  assert.deepEqual(filter.egress.map((r) => r.ruleNumber), [10, 20]);
  assert.equal(filter.ingress[0]!.where, 'filter.yaml:9');
});

test('filter: an empty rule list keeps nothing (AWS: by default no traffic is mirrored)', () => {
  const f = parseMirrorFilter('ingress: []\negress: []\n', 'f.yaml');
  assert.equal(mirrorFilterKeeps(f, pkt(6, '1.1.1.1', 1, '2.2.2.2', 2), Ingress), false);
  assert.equal(mirrorFilterKeeps(f, pkt(6, '1.1.1.1', 1, '2.2.2.2', 2), Unknown), false);
});

test('filter: AWS CLI describe-traffic-mirror-filters output is accepted as is', () => {
  const json = JSON.stringify({
    TrafficMirrorFilters: [
      {
        TrafficMirrorFilterId: 'tmf-0123456789abcdef0',
        IngressFilterRules: [
          {
            TrafficMirrorFilterRuleId: 'tmfr-1',
            TrafficMirrorFilterId: 'tmf-0123456789abcdef0',
            TrafficDirection: 'ingress',
            RuleNumber: 100,
            RuleAction: 'accept',
            Protocol: 6,
            DestinationPortRange: { FromPort: 8080, ToPort: 8090 },
            DestinationCidrBlock: '10.0.0.0/16',
            SourceCidrBlock: '0.0.0.0/0',
          },
        ],
        EgressFilterRules: [],
        NetworkServices: [],
        Tags: [],
      },
    ],
  });
  const f = parseMirrorFilter(json, 'aws.json');
  assert.equal(mirrorFilterKeeps(f, pkt(6, '1.2.3.4', 1, '10.0.3.3', 8085), Ingress), true);
  assert.equal(mirrorFilterKeeps(f, pkt(6, '1.2.3.4', 1, '10.0.3.3', 8091), Ingress), false);
});

test('filter: a flat rules list with per-rule direction', () => {
  const f = parseMirrorFilter('- {rule: 1, direction: egress, action: accept, src: 0.0.0.0/0, dst: 0.0.0.0/0}\n', 'r.yaml');
  assert.equal(f.egress.length, 1);
  assert.equal(f.ingress.length, 0);
});

const bad: [string, string, RegExp, number | undefined][] = [
  ['duplicate rule number in one direction', 'ingress:\n  - {ruleNumber: 5, action: accept, source: 0.0.0.0/0, destination: 0.0.0.0/0}\n  - {ruleNumber: 5, action: reject, source: 0.0.0.0/0, destination: 0.0.0.0/0}\n', /rule number 5 is used twice/, 3],
  ['port range with protocol all', 'egress:\n  - ruleNumber: 1\n    action: accept\n    source: 0.0.0.0/0\n    destination: 0.0.0.0/0\n    destinationPorts: 443\n', /applies only to protocol tcp/, 6],
  ['mixed families', 'egress:\n  - {ruleNumber: 1, action: accept, source: 0.0.0.0/0, destination: "::/0"}\n', /different IP families/, 2],
  ['bad CIDR', 'egress:\n  - ruleNumber: 1\n    action: accept\n    source: 10.0.0.300/8\n    destination: 0.0.0.0/0\n', /source: '10.0.0.300\/8' is not/, 4],
  ['missing CIDR', 'egress:\n  - {ruleNumber: 1, action: accept, source: 0.0.0.0/0}\n', /without destination CIDR/, 2],
  ['bad action', 'ingress:\n  - {ruleNumber: 1, action: allow, source: 0.0.0.0/0, destination: 0.0.0.0/0}\n', /action must be accept or reject/, 2],
  ['unknown key', 'ingress:\n  - {ruleNumber: 1, action: accept, source: 0.0.0.0/0, destination: 0.0.0.0/0, dport: 1}\n', /unknown rule key 'dport'/, 2],
  ['reversed port range', 'ingress:\n  - {ruleNumber: 1, action: accept, protocol: tcp, source: 0.0.0.0/0, destination: 0.0.0.0/0, destinationPorts: "90-80"}\n', /from <= to/, 2],
  ['syntax error', 'ingress: [\n', /not valid JSON\/YAML/, undefined],
  ['direction conflict', 'ingress:\n  - {ruleNumber: 1, direction: egress, action: accept, source: 0.0.0.0/0, destination: 0.0.0.0/0}\n', /says egress but is in the ingress list/, 2],
];
for (const [what, text, re, line] of bad) {
  test(`filter: rejects ${what} with file and line`, () => {
    assert.throws(
      () => parseMirrorFilter(text, 'bad.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof MirrorlensError);
        assert.equal(e.code, 'ML_FILTER_PARSE');
        assert.match(e.message, re);
        assert.equal(e.location.file, 'bad.yaml');
        if (line !== undefined) assert.equal(e.location.line, line);
        return true;
      },
    );
  });
}

test('filter: CIDR parsing clears host bits and formats IPv6 compressed', () => {
  assert.equal(parseCidr('10.1.2.3/8').text, '10.0.0.0/8');
  assert.equal(parseCidr('2001:db8:0:0:1::ff/64').text, '2001:db8::/64');
  assert.equal(parseCidr('::ffff:10.0.0.1').text, '::ffff:a00:1/128');
  assert.equal(formatAddress(parseCidr('fe80::1:0:0:1').address), 'fe80::1:0:0:1');
  assert.throws(() => parseCidr('1.2.3.4/33'), RangeError);
  assert.throws(() => parseCidr('1::2::3'), RangeError);
});

test('filter: non-octet prefix lengths compare the partial byte', () => {
  const f = parseMirrorFilter('egress:\n  - {ruleNumber: 1, action: accept, source: 10.0.0.0/13, destination: 0.0.0.0/0}\n', 'f');
  assert.equal(mirrorFilterKeeps(f, pkt(6, '10.7.255.255', 1, '1.1.1.1', 1), Egress), true);
  assert.equal(mirrorFilterKeeps(f, pkt(6, '10.8.0.0', 1, '1.1.1.1', 1), Egress), false);
});
