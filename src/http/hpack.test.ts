import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HpackDecoder, huffmanDecode, huffmanEncode, HpackError } from './hpack.js';
import { EOS_LENGTH, HUFFMAN_LENGTHS } from './huffman-table.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const pairs = (r: ReturnType<HpackDecoder['decode']>): Array<[string | null, string | null]> => r.fields.map((f) => [f.name, f.value]);

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const EXAMPLE = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
type P = Array<[string, string]>;
const REQ1: P = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: P = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: P = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const REQ_TABLES: P[] = [
  [[':authority', 'www.example.com']],
  [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
];
const REQ_SIZES = [57, 110, 164];
const RESP1: P = [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', EXAMPLE]];
const RESP2: P = [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', EXAMPLE]];
const RESP3: P = [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', EXAMPLE], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]];
const RESP_TABLES: P[] = [
  [['location', EXAMPLE], ['date', DATE1], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', EXAMPLE], ['date', DATE1], ['cache-control', 'private']],
  [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]],
];
const RESP_SIZES = [222, 222, 215];

const VECTORS: Record<string, { max: number; blocks: string[]; lists: P[]; tables: P[]; sizes: number[] }> = {
  'C.3 requests without Huffman': {
    max: 4096,
    // C.3.1 82 86 84 41 0f 7777772e6578616d706c652e636f6d  (:method GET, :scheme http, :path /, :authority literal)
    blocks: ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'],
    lists: [REQ1, REQ2, REQ3],
    tables: REQ_TABLES,
    sizes: REQ_SIZES,
  },
  'C.4 requests with Huffman': {
    max: 4096,
    blocks: ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'],
    lists: [REQ1, REQ2, REQ3],
    tables: REQ_TABLES,
    sizes: REQ_SIZES,
  },
  'C.5 responses without Huffman, 256-byte table (eviction)': {
    max: 256,
    blocks: [
      '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
      '4803333037c1c0bf',
      '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31',
    ],
    lists: [RESP1, RESP2, RESP3],
    tables: RESP_TABLES,
    sizes: RESP_SIZES,
  },
  'C.6 responses with Huffman, 256-byte table (eviction)': {
    max: 256,
    blocks: [
      '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3',
      '4883640effc1c0bf',
      '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
    ],
    lists: [RESP1, RESP2, RESP3],
    tables: RESP_TABLES,
    sizes: RESP_SIZES,
  },
};

for (const [name, v] of Object.entries(VECTORS)) {
  test(`RFC 7541 Appendix ${name}: fields, table contents and table size after each block`, () => {
    const d = new HpackDecoder(v.max);
    v.blocks.forEach((b, i) => {
      const r = d.decode(hex(b));
      assert.equal(r.error, null, `block ${i + 1}`);
      assert.equal(r.incomplete, false);
      assert.deepEqual(pairs(r), v.lists[i], `block ${i + 1} fields`);
      assert.deepEqual(d.dynamicEntries(), v.tables[i], `block ${i + 1} table`);
      assert.equal(d.dynamicTableSize, v.sizes[i], `block ${i + 1} size`);
    });
  });
}

test('RFC 7541 C.2: literal with indexing, without indexing, never indexed, indexed', () => {
  let d = new HpackDecoder();
  // 40 0a "custom-key" 0d "custom-header"
  assert.deepEqual(pairs(d.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'))), [['custom-key', 'custom-header']]);
  assert.equal(d.dynamicTableSize, 55);
  d = new HpackDecoder();
  // 04 0c "/sample/path": literal without indexing, name :path (index 4)
  assert.deepEqual(pairs(d.decode(hex('040c2f73616d706c652f70617468'))), [[':path', '/sample/path']]);
  assert.equal(d.dynamicTableSize, 0);
  d = new HpackDecoder();
  // 10 08 "password" 06 "secret": never indexed
  const r = d.decode(hex('100870617373776f726406736563726574'));
  assert.deepEqual(pairs(r), [['password', 'secret']]);
  assert.equal(r.fields[0]!.neverIndexed, true);
  assert.equal(d.dynamicTableSize, 0);
  assert.deepEqual(pairs(new HpackDecoder().decode(hex('82'))), [[':method', 'GET']]);
});

test('RFC 7541 C.1: integers with 5-bit prefix (10, 1337) decode inside a size update', () => {
  const d = new HpackDecoder(4096);
  // 3f e2 1f: size update to 31 + 0x62 + (0x1f << 7) = 4097 > 4096: refused
  assert.match(d.decode(hex('3fe21f')).error ?? '', /exceeds the allowed 4096/);
  const d2 = new HpackDecoder(8192);
  d2.setAllowedMaxSize(8192);
  const r = d2.decode(hex('3fe11f')); // 31 + 0x61 + 0x1f*128 = 4096
  assert.deepEqual(r.tableSizeUpdates, [4096]);
});

test('table size update: after a field is an error; to 0 empties the table', () => {
  assert.match(new HpackDecoder().decode(hex('823f00')).error ?? '', /after a field/);
  const d = new HpackDecoder();
  d.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'));
  d.decode(hex('20'));
  assert.equal(d.dynamicTableSize, 0);
  assert.deepEqual(d.dynamicEntries(), []);
});

test('malformed blocks are reported, not thrown: index 0, unknown dynamic index, truncation', () => {
  for (const h of ['80', 'be', 'ffffffffffffff7f', '400a637573746f6d2d6b6579']) {
    const r = new HpackDecoder().decode(hex(h));
    assert.notEqual(r.error, null, h);
  }
  assert.equal(new HpackDecoder().decode(hex('8286')).error, null);
});

test('after markStateUnknown, unknown dynamic references are marked incomplete and known ones still decode', () => {
  const d = new HpackDecoder();
  d.markStateUnknown();
  // be = index 62 (unknown), 88 = :status 200 (static)
  let r = d.decode(hex('be88'));
  assert.equal(r.error, null);
  assert.equal(r.incomplete, true);
  assert.deepEqual(pairs(r), [[null, null], [':status', '200']]);
  // Add custom-key: custom-header; now index 62 is known.
  r = d.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572be'));
  assert.deepEqual(pairs(r), [['custom-key', 'custom-header'], ['custom-key', 'custom-header']]);
  assert.equal(r.incomplete, false);
  r = d.decode(hex('bf'));
  assert.equal(r.incomplete, true);
});

test('Huffman: the code table is complete (Kraft sum of 256 symbols + EOS is exactly 1)', () => {
  let sum = 2 ** -EOS_LENGTH;
  for (let i = 0; i < 256; i++) sum += 2 ** -HUFFMAN_LENGTHS[i]!;
  assert.equal(sum, 1);
});

test('Huffman: padding rules (RFC 7541 5.2)', () => {
  assert.equal(huffmanDecode(hex('1f'), 0, 1), 'a'); // 'a' = 00011 + 111 padding
  assert.throws(() => huffmanDecode(hex('18'), 0, 1), HpackError); // zero padding
  assert.throws(() => huffmanDecode(hex('ffffffff'), 0, 4), HpackError); // EOS inside
  assert.throws(() => huffmanDecode(hex('1fff'), 0, 2), HpackError); // padding > 7 bits
});

test('Huffman: every byte string round-trips through encode and decode', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const s = Buffer.from(bytes).toString('latin1');
      const enc = huffmanEncode(s);
      assert.equal(huffmanDecode(enc, 0, enc.length), s);
    }),
  );
});

test('the decoder never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const d = new HpackDecoder();
      d.decode(bytes);
      d.decode(bytes);
    }),
  );
});
