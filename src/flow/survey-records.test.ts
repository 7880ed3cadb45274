// The survey's ended-connection rows (survey-records.ts): every field written comes back as it was,
// across chunk boundaries, for IPv4 and IPv6, with the pooled SYN times and silences of each row
// kept apart; addresses are interned (one id per address); match() tells a segment's direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SurveyRecords, type SurveyRowEndpoint, type SurveyRowSource } from './survey-records.js';
import { TcpSegment } from './segment.js';
import { uidOfWords } from './identity.js';

function endpoint(i: number, side: number): SurveyRowEndpoint {
  return {
    packets: i * 3 + side,
    payloadBytes: i * 1000 + side,
    synCount: (i + side) % 3,
    isn: (i * 2654435761 + side) | 0,
    finSeen: (i + side) % 2 === 0,
    finTime: 1_733_380_000.123456 + i + side,
    finIdle: side === 0 ? NaN : i / 7,
    firstPayloadTime: 1_733_380_000.000001 * (1 + side) + i,
    lastPayloadTime: i % 5 === 0 ? NaN : 1_733_380_100.5 + i,
  };
}

function source(i: number): SurveyRowSource {
  const v6 = i % 7 === 3;
  const a6 = v6 ? Int32Array.from([0x20010db8, 0, 0, i, 0x20010db8, 0, 1, 0x80000000 | (i % 11)]) : null;
  return {
    // Most uids in connectionUid's form (kept as words), some not (kept as text).
    uid: i % 3 === 0 ? `C${i}` : uidOfWords(i * 2654435761, i * 7 + 1, ~i),
    capturePoint: i % 3 === 0 ? '' : `vni:${i % 4}`,
    keyHash: (i * 0x9e3779b1) | 0,
    ipVersion: v6 ? 6 : 4,
    // (Addresses above 2^31, so the unsigned/signed forms matter.)
    cA4: v6 ? 0 : (0xc0a80000 | (i % 50)) | 0,
    sA4: v6 ? 0 : (0xac100000 | (i % 13)) | 0,
    a6,
    clientPort: 1024 + (i % 60000),
    serverPort: i % 2 === 0 ? 443 : 65535,
    startTime: 1_733_380_000.000001 + i,
    lastTime: 1_733_380_000.000001 + i + (i % 4 === 0 ? -1 : 2.25),
    synAckTime: i % 6 === 0 ? NaN : 1_733_380_000.5 + i,
    // (Some with one SYN at the start time, as most connections have: kept out of the pool.)
    synTimes: i % 8 === 5 ? [1_733_380_000.000001 + i] : Array.from({ length: i % 4 }, (_, k) => 1_733_380_000 + i + k / 10),
    maxIdle: i / 3,
    idleGaps: i % 5 === 0 ? null : Array.from({ length: (i % 3) * 3 }, (_, k) => i + k * 1.5),
    midstream: i % 9 === 0,
    refused: i % 10 === 1,
    closedBy: (i % 3) - 1,
    closeHow: ([null, 'fin', 'rst'] as const)[i % 3]!,
    complex: i % 2 === 0 ? 0 : (i * 37) & 0xffff,
    endCause: (['closed', 'timeout', 'capture-end', 'evicted', 'port-reuse'] as const)[i % 5]!,
    endPacket: i * 100 + 7,
    endPhase: i % 3,
    tag: i % 2,
    firstPacket: i * 100,
    firstInput: i % 4,
    firstOffset: i * 1_000_003,
    lastPacket: i * 100 + 5,
    lastInput: (i + 1) % 4,
    lastOffset: i * 1_000_003 + 999,
    c: endpoint(i, 0),
    s: endpoint(i, 1),
  };
}

const same = (a: number, b: number): boolean => Object.is(a, b);

test('every field of a row reads back as written, across chunks (in memory or read back), IPv4 and IPv6', () => {
  const r = new SurveyRecords();
  const n = 5000; // more than four chunks of rows, two kept in memory
  for (let i = 0; i < n; i++) assert.equal(r.add(source(i), i - 1), i);
  assert.equal(r.size, n);
  for (let i = 0; i < n; i++) {
    const c = source(i);
    assert.equal(r.uid(i), c.uid);
    assert.equal(r.rowOf(c.uid), i);
    assert.equal(r.capturePoint(i), c.capturePoint);
    assert.equal(r.keyHash(i), c.keyHash);
    assert.equal(r.ipVersion(i), c.ipVersion);
    if (c.ipVersion === 4) {
      assert.equal(r.clientAddr(i), `192.168.0.${i % 50}`);
      assert.equal(r.serverAddr(i), `172.16.0.${i % 13}`);
    } else {
      assert.equal(r.clientAddr(i), `2001:db8::${i.toString(16)}`);
      assert.equal(r.serverAddr(i), `2001:db8::1:8000:${(i % 11).toString(16)}`);
    }
    assert.equal(r.addrText(r.clientAddrId(i)), r.clientAddr(i));
    assert.equal(r.addrId(r.serverAddr(i)), r.serverAddrId(i));
    assert.equal(r.clientPort(i), c.clientPort);
    assert.equal(r.serverPort(i), c.serverPort);
    assert.ok(same(r.startTime(i), c.startTime) && same(r.lastTime(i), c.lastTime));
    assert.equal(r.endTime(i), Math.max(c.lastTime, c.startTime));
    assert.ok(same(r.synAckTime(i), c.synAckTime));
    assert.deepEqual(r.synTimes(i), c.synTimes);
    assert.ok(same(r.lastSynTime(i), c.synTimes.length > 0 ? c.synTimes[c.synTimes.length - 1]! : NaN));
    const g = c.idleGaps ?? [];
    assert.deepEqual(
      r.idleGapList(i),
      Array.from({ length: g.length / 3 }, (_, k) => ({ start: g[3 * k], end: g[3 * k + 1], seconds: g[3 * k + 2] })),
    );
    assert.equal(r.maxIdle(i), c.maxIdle);
    assert.equal(r.midstream(i), c.midstream);
    assert.equal(r.refused(i), c.refused);
    assert.equal(r.closedBy(i), c.closedBy);
    assert.equal(r.closeHow(i), c.closeHow);
    assert.equal(r.complex(i), c.complex);
    assert.equal(r.endCause(i), c.endCause);
    assert.equal(r.endPacket(i), c.endPacket);
    assert.equal(r.endPhase(i), c.endPhase);
    assert.equal(r.tag(i), c.tag);
    assert.equal(r.previous(i), i - 1);
    assert.deepEqual([r.firstPacket(i), r.firstInput(i), r.firstOffset(i)], [c.firstPacket, c.firstInput, c.firstOffset]);
    assert.deepEqual([r.lastPacket(i), r.lastInput(i), r.lastOffset(i)], [c.lastPacket, c.lastInput, c.lastOffset]);
    for (const dir of [0, 1] as const) {
      const e = dir === 0 ? c.c : c.s;
      assert.equal(r.packets(i, dir), e.packets);
      assert.equal(r.payloadBytes(i, dir), e.payloadBytes);
      assert.equal(r.syns(i, dir), e.synCount);
      assert.equal(r.isn(i, dir), e.synCount > 0 ? e.isn >>> 0 : null);
      assert.equal(r.finSeen(i, dir), e.finSeen);
      assert.ok(same(r.finTime(i, dir), e.finTime) && same(r.finIdle(i, dir), e.finIdle));
      assert.ok(same(r.firstPayloadTime(i, dir), e.firstPayloadTime) && same(r.lastPayloadTime(i, dir), e.lastPayloadTime));
    }
  }
  // Interned: each address text has one id.
  const texts = new Set<string>();
  for (let id = 0; id < r.addrCount; id++) texts.add(r.addrText(id));
  assert.equal(texts.size, r.addrCount);
  assert.equal(r.rowOf('nope'), -1);
  assert.equal(r.addrId('10.9.9.9'), -1);
});

test("match() gives a segment's direction on the row's connection, and -1 for another", () => {
  const r = new SurveyRecords();
  const v4 = source(1);
  const v6 = source(3);
  r.add(v4, -1);
  r.add(v6, -1);
  const seg = new TcpSegment();
  seg.ipVersion = 4;
  seg.src4 = v4.cA4;
  seg.dst4 = v4.sA4;
  seg.srcPort = v4.clientPort;
  seg.dstPort = v4.serverPort;
  assert.equal(r.match(0, seg), 0);
  [seg.src4, seg.dst4, seg.srcPort, seg.dstPort] = [seg.dst4, seg.src4, seg.dstPort, seg.srcPort];
  assert.equal(r.match(0, seg), 1);
  seg.srcPort++;
  assert.equal(r.match(0, seg), -1);
  assert.equal(r.match(1, seg), -1);
  // IPv6: the addresses as they are on the wire.
  const data = new Uint8Array(32);
  const view = new DataView(data.buffer);
  for (let k = 0; k < 8; k++) view.setInt32(k * 4, v6.a6![k]!);
  seg.ipVersion = 6;
  seg.addrData = data;
  seg.srcOffset = 0;
  seg.dstOffset = 16;
  seg.srcPort = v6.clientPort;
  seg.dstPort = v6.serverPort;
  assert.equal(r.match(1, seg), 0);
  [seg.srcOffset, seg.dstOffset, seg.srcPort, seg.dstPort] = [16, 0, v6.serverPort, v6.clientPort];
  assert.equal(r.match(1, seg), 1);
  data[31] ^= 1;
  assert.equal(r.match(1, seg), -1);
  assert.equal(r.match(0, seg), -1);
});

test('the rows do not stay in memory as they grow: full chunks beyond two are read back when asked, pinned ones stay', () => {
  const r = new SurveyRecords();
  const n = 20_000;
  for (let i = 0; i < n; i++) r.add(source(i), -1);
  // The chunk being filled and two full ones, of 20 chunks.
  assert.ok(r.chunksInMemory <= 3, `${r.chunksInMemory} chunks in memory`);
  for (let i = 0; i < n; i += 97) assert.equal(r.startTime(i), source(i).startTime);
  assert.ok(r.chunksInMemory <= 3, `${r.chunksInMemory} chunks in memory after reading back`);
  // Rows of many chunks pinned (a second pass): in memory until unpinned.
  const rows = [5, 1500, 3000, 7000, 9000, 12_000, 15_000];
  r.pin(rows);
  assert.ok(r.chunksInMemory >= rows.length, `${r.chunksInMemory} chunks in memory while ${rows.length} are pinned`);
  for (const row of rows) assert.equal(r.uid(row), source(row).uid);
  r.unpin();
  assert.ok(r.chunksInMemory <= 3);
  assert.equal(r.rowOf(source(12_345).uid), 12_345);
  assert.equal(r.rowOf(uidOfWords(1, 2, 3)), -1);
  // Kept in memory when asked.
  const all = new SurveyRecords({ residentChunks: Infinity });
  for (let i = 0; i < 3000; i++) all.add(source(i), -1);
  assert.equal(all.chunksInMemory, 3);
});

test('survey records: one SYN at the start time takes no room in the pool', () => {
  const r = new SurveyRecords();
  const pool = (): number => (r as unknown as { extra: { n: number } }).extra.n;
  const c = source(13); // one SYN at its start, three silences
  assert.deepEqual(c.synTimes, [c.startTime]);
  r.add(c, -1);
  assert.equal(pool(), 3);
  assert.deepEqual(r.synTimes(0), [c.startTime]);
  assert.equal(r.lastSynTime(0), c.startTime);
  assert.deepEqual(r.idleGapList(0).map((g) => [g.start, g.end, g.seconds]), [c.idleGaps!.slice(0, 3)]);
  r.add(source(9), -1); // one SYN, not at its start
  assert.equal(pool(), 3 + 1 + source(9).idleGaps!.length);
});
