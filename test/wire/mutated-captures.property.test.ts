// Property test over real packets: every packet of the wire fixtures, mutated (random byte edits)
// and cut at a random length, decodes without throwing and without reading outside its window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { readCapture } from '../../src/capture/reader.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { Status } from '../../src/wire/status.js';
import { guarded } from '../../src/wire/test-bytes.js';
import { WIRE_FIXTURES } from './fixtures.js';

const FIX = resolve(import.meta.dirname, '../fixtures');

test('mutated real packets from every wire fixture: no throw, no read outside the window', async () => {
  const packets: [number, Uint8Array][] = [];
  for (const fx of WIRE_FIXTURES) {
    await readCapture(join(FIX, fx), (rec) => {
      if (packets.length < 2000) packets.push([rec.linkType, rec.data.slice(rec.offset, rec.offset + rec.capturedLength)]);
    });
  }
  assert.ok(packets.length > 200);
  const d = new PacketDecoder({ validateChecksums: true });
  const statuses = new Set<number>(Object.values(Status));
  fc.assert(
    fc.property(fc.nat(packets.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (idx, edits, cut) => {
      const [lt, orig] = packets[idx]!;
      const b = orig.slice();
      for (const [pos, val] of edits) if (b.length > 0) b[pos % Math.min(b.length, 128)] = val;
      const len = cut % (b.length + 1);
      const st = d.decode(lt, guarded(b, 0, len), 0, len);
      assert.ok(statuses.has(st));
      for (let i = 0; i < d.layerCount; i++) assert.ok(d.layerOffset[i]! + d.layerLength[i]! <= len);
    }),
    { numRuns: 4000 },
  );
});

test('decoding a packet at any offset inside a larger buffer gives the same layers as at offset 0', async () => {
  const packets: [number, Uint8Array][] = [];
  for (const fx of WIRE_FIXTURES) {
    await readCapture(join(FIX, fx), (rec) => {
      if (packets.length < 2000) packets.push([rec.linkType, rec.data.slice(rec.offset, rec.offset + rec.capturedLength)]);
    });
  }
  const a = new PacketDecoder();
  const b = new PacketDecoder();
  fc.assert(
    fc.property(fc.nat(packets.length - 1), fc.nat(64), fc.nat(64), (idx, pad, tail) => {
      const [lt, p] = packets[idx]!;
      const big = new Uint8Array(pad + p.length + tail).fill(0x5a);
      big.set(p, pad);
      const sa = a.decode(lt, p, 0, p.length);
      const sb = b.decode(lt, big, pad, p.length);
      assert.equal(sb, sa);
      assert.equal(b.layerCount, a.layerCount);
      for (let i = 0; i < a.layerCount; i++) {
        assert.equal(b.layerType[i], a.layerType[i]);
        assert.equal(b.layerOffset[i], a.layerOffset[i]! + pad);
        assert.equal(b.layerLength[i], a.layerLength[i]);
      }
      assert.deepEqual([b.vni, b.transport, b.srcPort, b.dstPort, b.payloadLength, b.srcAddrString(), b.outerSrcAddrString()], [a.vni, a.transport, a.srcPort, a.dstPort, a.payloadLength, a.srcAddrString(), a.outerSrcAddrString()]);
    }),
    { numRuns: 1500 },
  );
});
