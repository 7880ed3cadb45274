import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnInfo, Direction, EndReason, StreamSink } from '../flow/stream.js';
import { KeyLog } from './keylog.js';
import { appSinkFactory, createAppSink } from './sniff.js';

const CONN: ConnInfo = { uid: 'C1', communityId: '1:x', capturePoint: '', clientAddr: '10.0.0.1', clientPort: 40000, serverAddr: '10.0.0.2', serverPort: 80, startTime: 0, previousPacketTime: NaN };

/** A next stage that records what it is told, and counts how many were made. */
function recorder() {
  const made: string[][] = [];
  const next = (): StreamSink => {
    const log: string[] = [];
    made.push(log);
    return {
      data: (dir: Direction, b: Uint8Array, o: number, n: number) => log.push(`data ${dir} ${Buffer.from(b.subarray(o, o + n)).toString('latin1')}`),
      gap: (dir: Direction) => log.push(`gap ${dir}`),
      end: (dir: Direction, reason: EndReason) => log.push(`end ${dir} ${reason}`),
    };
  };
  return { made, next };
}

test('a connection that ends without one byte gets no next stage (an unanswered SYN costs no HTTP parser)', () => {
  const r = recorder();
  const make = appSinkFactory(new KeyLog(), r.next);
  for (let i = 0; i < 3; i++) {
    const s = make(CONN);
    s.end(0, 'timeout', 10);
    s.end(1, 'timeout', 10);
    assert.equal(s.tls, null);
  }
  assert.equal(r.made.length, 0);
});

test('a side that ended before any byte is told to the next stage when the other side speaks', () => {
  const r = recorder();
  const s = createAppSink(CONN, new KeyLog(), r.next);
  s.end(0, 'fin', 1);
  s.data(1, Buffer.from('220 smtp ready\r\n'), 0, 16, 0, 2);
  s.end(1, 'fin', 3);
  assert.deepEqual(r.made, [['end 0 fin', 'data 1 220 smtp ready\r\n', 'end 1 fin']]);
});

test('a first client byte that cannot decide yet is held, then handed on', () => {
  const r = recorder();
  const s = createAppSink(CONN, new KeyLog(), r.next);
  // 16 = a TLS handshake record's type: the version bytes after it decide.
  s.data(0, Uint8Array.of(0x16), 0, 1, 0, 1);
  assert.equal(r.made.length, 0, 'undecided after one byte');
  s.end(0, 'fin', 2);
  s.end(1, 'fin', 2);
  assert.deepEqual(r.made, [['data 0 \x16', 'end 0 fin', 'end 1 fin']]);
});
