import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { deriveSecret, hkdfExpand, hkdfExtract, prf, tls13NextSecret, tls13TrafficKeys } from './keyschedule.js';

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 8448 §3 "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256).
test('RFC 8448 §3: early, derived and handshake secrets', () => {
  const zeros = new Uint8Array(32);
  const early = hkdfExtract('sha256', new Uint8Array(0), zeros);
  assert.equal(hex(early), '33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a');
  const emptyHash = createHash('sha256').update('').digest();
  const derived = deriveSecret('sha256', early, 'derived', emptyHash);
  assert.equal(hex(derived), '6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba');
  const ecdhe = h('8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d');
  assert.equal(hex(hkdfExtract('sha256', derived, ecdhe)), '1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac');
});

test('RFC 8448 §3: write key and IV from the handshake and application traffic secrets', () => {
  const cases: [string, string, string][] = [
    // server_handshake_traffic_secret -> server handshake key, iv
    ['b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38', '3fce516009c21727d0f2e4e86ee403bc', '5d313eb2671276ee13000b30'],
    // client_handshake_traffic_secret
    ['b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21', 'dbfaa693d1762c5b666af5d950258d01', '5bd3c71b836e0b76bb73265f'],
    // server_application_traffic_secret_0
    ['a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643', '9f02283b6c9c07efc26bb9f2ac92e356', 'cf782b88dd83549aadf1e984'],
  ];
  for (const [secret, key, iv] of cases) {
    const k = tls13TrafficKeys('sha256', h(secret), 16, 12);
    assert.equal(hex(k.key), key);
    assert.equal(hex(k.iv), iv);
  }
});

test('KeyUpdate derives application_traffic_secret_N+1 with "traffic upd" and keeps the hash length', () => {
  const s0 = h('a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643');
  const s1 = tls13NextSecret('sha256', s0);
  assert.equal(s1.length, 32);
  assert.notEqual(hex(s1), hex(s0));
  assert.equal(hex(tls13NextSecret('sha256', s0)), hex(s1), 'deterministic');
});

// RFC 5246 has no PRF vectors; these are the widely used ones from the IETF TLS list
// (https://mailarchive.ietf.org/arch/msg/tls/fzVCzk-z3FShgGJ6DOXqM1ydxms/), P_SHA256.
test('TLS 1.2 PRF (P_SHA256) test vector', () => {
  const secret = h('9bbe436ba940f017b17652849a71db35');
  const seed = h('a0ba9f936cda311827a6f796ffd5198c');
  const out = prf(0x0303, 'sha256', secret, 'test label', seed, 100);
  assert.equal(
    hex(out),
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
  );
});

test('property: hkdfExpand (one-block fast path and several blocks) equals node:crypto hkdfSync at every length', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('sha256', 'sha384', 'sha1'),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: 1, max: 200 }),
      (hash, salt, ikm, info, length) => {
        const expected = new Uint8Array(hkdfSync(hash, ikm, salt, info, length));
        assert.equal(hex(hkdfExpand(hash, hkdfExtract(hash, salt, ikm), info, length)), hex(expected));
      },
    ),
  );
});
