import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offersH2 } from './record-walk.js';

/**
 * A TLS record holding a ClientHello with the given extensions:
 *   16 03 01 LL LL            handshake record
 *   01 LL LL LL               client_hello
 *   03 03  <32 random>  00    version, random, empty session id
 *   00 02 13 01  01 00        one suite (TLS_AES_128_GCM_SHA256), null compression
 *   EE EE <extensions>        (absent when `extensions` is null)
 */
function clientHello(extensions: number[] | null): Uint8Array {
  const body = [0x03, 0x03, ...new Array(32).fill(0xab), 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00];
  if (extensions !== null) body.push(extensions.length >> 8, extensions.length & 0xff, ...extensions);
  const hs = [0x01, 0, body.length >> 8, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, hs.length >> 8, hs.length & 0xff, ...hs]);
}

/** ALPN (type 16): u16 list length, then u8-prefixed protocol names. */
function alpn(...protocols: string[]): number[] {
  const list = protocols.flatMap((p) => [p.length, ...Buffer.from(p, 'latin1')]);
  return [0x00, 0x10, (list.length + 2) >> 8, (list.length + 2) & 0xff, list.length >> 8, list.length & 0xff, ...list];
}

/** server_name (type 0) for "example.com", before the ALPN extension. */
const SNI = [0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, ...Buffer.from('example.com', 'latin1')];

test('a ClientHello offering h2 among its ALPN protocols is HTTP/2-capable; one offering only http/1.1 is not', () => {
  const h2 = clientHello([...SNI, ...alpn('h2', 'http/1.1')]);
  assert.equal(offersH2(h2, 0, h2.length), true);
  const h1 = clientHello([...SNI, ...alpn('http/1.1')]);
  assert.equal(offersH2(h1, 0, h1.length), false);
  const later = clientHello([...alpn('http/1.1', 'h2')]);
  assert.equal(offersH2(later, 0, later.length), true);
});

test('a ClientHello without extensions or without ALPN offers nothing', () => {
  const none = clientHello(null);
  assert.equal(offersH2(none, 0, none.length), false);
  const sniOnly = clientHello(SNI);
  assert.equal(offersH2(sniOnly, 0, sniOnly.length), false);
});

test('a ClientHello cut before its ALPN protocols were seen counts as offering h2 (the rest is not looked for)', () => {
  const h1 = clientHello([...SNI, ...alpn('http/1.1')]);
  for (const cut of [6, 20, 50, h1.length - 12, h1.length - 3]) assert.equal(offersH2(h1, 0, cut), true, `cut at ${cut}`);
});

test('bytes at an offset in a larger buffer are read there', () => {
  const h2 = clientHello([...alpn('h2')]);
  const buf = new Uint8Array(h2.length + 10);
  buf.set(h2, 7);
  assert.equal(offersH2(buf, 7, h2.length), true);
});
