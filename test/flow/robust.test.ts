// The flow table is fed hostile input: arbitrary TCP segments (any flags, sequence numbers, lengths,
// times going backwards, truncation) must never throw, and its invariants must hold: every
// connection ends exactly once, streams are delivered in order without overlap, held bytes are
// released, counts add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowTable, TcpSegment } from '../../src/flow/table.js';
import type { ConnectionRecord } from '../../src/flow/record.js';
import type { Direction, StreamSink } from '../../src/flow/stream.js';

const segArb = fc.record({
  dt: fc.double({ min: -1, max: 400, noNaN: true }),
  fromClient: fc.boolean(),
  port: fc.constantFrom(40000, 40001),
  seq: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3000 })),
  ack: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 3000 })),
  flags: fc.integer({ min: 0, max: 255 }),
  window: fc.integer({ min: 0, max: 65535 }),
  len: fc.integer({ min: 0, max: 1500 }),
  cut: fc.integer({ min: 0, max: 1500 }),
  mss: fc.integer({ min: -1, max: 9000 }),
  wscale: fc.integer({ min: -1, max: 20 }),
});

test('property: arbitrary segments never throw; each connection ends once; streams stay ordered', () => {
  fc.assert(
    fc.property(fc.array(segArb, { maxLength: 60 }), fc.boolean(), (segs, perCp) => {
      const ended = new Map<string, number>();
      const next = new Map<string, [number, number]>();
      const recs: ConnectionRecord[] = [];
      const table = new FlowTable(
        {
          onConnectionStart(info): StreamSink {
            next.set(info.uid, [0, 0]);
            const check = (dir: Direction, at: number, len: number) => {
              const n = next.get(info.uid)!;
              assert.ok(at >= n[dir], `stream ${dir} went backwards: ${at} < ${n[dir]}`);
              n[dir] = at + len;
            };
            return { data: (d, _b, _o, len, at) => check(d, at, len), gap: (d, at, len) => check(d, at, len), end() {} };
          },
          onConnectionEnd(r) {
            ended.set(r.uid, (ended.get(r.uid) ?? 0) + 1);
            recs.push(r);
          },
        },
        { perCapturePoint: perCp, maxBufferedBytesPerConn: 4000, maxBufferedBytesTotal: 6000 },
      );
      const s = new TcpSegment();
      const payload = new Uint8Array(1500).fill(0x41);
      let t = 1_700_000_000;
      for (const g of segs) {
        t += g.dt;
        s.time = t;
        s.src4 = g.fromClient ? 0x0a000001 : 0x0a000002;
        s.dst4 = g.fromClient ? 0x0a000002 : 0x0a000001;
        s.srcPort = g.fromClient ? g.port : 80;
        s.dstPort = g.fromClient ? 80 : g.port;
        s.seq = g.seq;
        s.ack = g.ack;
        s.flags = g.flags;
        s.window = g.window;
        s.mss = g.mss;
        s.windowScale = g.wscale;
        s.checksum = (g.seq ^ g.len) & 0xffff;
        s.ipId = g.seq & 0xffff;
        s.data = payload;
        s.payloadOffset = 0;
        s.payloadLength = g.len;
        s.capturedPayload = Math.min(g.len, g.cut);
        s.ipLength = 40 + g.len;
        table.ingestSegment(s, g.port === 40000 ? 'vni:1' : 'vni:2');
      }
      table.finish();
      for (const [uid, n] of ended) assert.equal(n, 1, `${uid} ended ${n} times`);
      assert.equal(ended.size, table.stats.connections);
      assert.equal(table.size, 0);
      assert.equal(table.budget.heldBytesTotal, 0);
      for (const r of recs) {
        assert.ok(r.durationSeconds >= 0);
        assert.ok(r.gapBytesFromClient >= 0 && r.gapBytesFromServer >= 0);
        JSON.stringify(r);
      }
    }),
    { numRuns: Number(process.env.FLOW_PROPERTY_RUNS ?? 300) },
  );
});
