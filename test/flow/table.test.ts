// Connection-table scenarios built from hand-made packets (test/flow/packets.ts) and run through
// the real decoder: the NLB idle reset, SYN retries, refusal, port reuse, duplicates from two
// mirror sessions, mirror reordering vs real retransmission, gaps, mid-stream pickup, window
// events, truncation, wraparound, IPv6, eviction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Talk, vxlanWrap, type TimedFrame } from './packets.js';
import { runFrames, eventTypes } from './harness.js';

const T0 = 1_700_000_000;
const CLIENT: [string, number] = ['10.0.1.15', 43512];
const SERVER: [string, number] = ['10.0.2.20', 80];

function types(events: { type: string }[]): string[] {
  return events.map((e) => e.type);
}

test('NLB idle timeout: idle 400 s, request, RST is ONE connection with the idle gap then the reset', () => {
  const t = new Talk(CLIENT, SERVER);
  let now = t.handshake(T0);
  t.send(0, now + 0.01, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  t.send(1, now + 0.02, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  t.ack(0, now + 0.03);
  now += 400.03;
  t.send(0, now, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  t.rst(1, now + 0.0005);
  const { records, events } = runFrames(t.frames);
  assert.equal(records.length, 1);
  const r = records[0]!;
  assert.equal(r.connState, 'RSTR');
  assert.equal(r.history, 'ShADdr', 'the server never sent a pure ACK');
  assert.equal(r.idleGaps.length, 1);
  assert.ok(r.idleGaps[0]!.seconds > 350);
  assert.ok(r.maxIdleSeconds > 350);
  assert.equal(r.closedBy, 'server');
  assert.equal(r.closeHow, 'rst');
  assert.equal(r.resets.length, 1);
  const rst = r.resets[0]!;
  assert.equal(rst.state, 'request-outstanding');
  assert.ok(rst.idleBeforeRequestSeconds! > 350);
  assert.equal(rst.seqState, 'exact');
  assert.equal(rst.unackedPeerBytes, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n'.length, 'the request was never acknowledged');
  const evs = types(events);
  assert.ok(evs.indexOf('idle-gap') >= 0 && evs.indexOf('idle-gap') < evs.indexOf('reset'), 'idle gap, then reset');
  assert.ok(!evs.includes('retransmission'));
});

test('with a 300 s idle timeout the same traffic is two records: a timeout and a mid-stream pickup', () => {
  const t = new Talk(CLIENT, SERVER);
  let now = t.handshake(T0);
  t.send(0, now + 0.01, 'GET /a HTTP/1.1\r\n\r\n');
  t.send(1, now + 0.02, 'HTTP/1.1 204 No Content\r\n\r\n');
  now += 400;
  t.send(0, now, 'GET /b HTTP/1.1\r\n\r\n');
  t.rst(1, now + 0.001);
  const { records } = runFrames(t.frames, { idleTimeoutSeconds: 300 });
  assert.equal(records.length, 2);
  assert.equal(records[0]!.endCause, 'timeout');
  assert.equal(records[1]!.midstream, true);
  assert.equal(records[1]!.clientPort, CLIENT[1], 'client guessed from the ephemeral port');
});

test('SYN retried twice and never answered: S0 and syn-unanswered with the retry times', () => {
  const t = new Talk(CLIENT, SERVER);
  t.syn(T0);
  t.synRetry(T0 + 1);
  t.synRetry(T0 + 3);
  const { records, events } = runFrames(t.frames);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.connState, 'S0');
  assert.equal(records[0]!.history, 'S', 'Zeek marks T for payload retransmissions only');
  const su = events.find((e) => e.type === 'syn-unanswered')!;
  assert.equal(su.retries, 2);
  assert.deepEqual(su.synTimes, [T0, T0 + 1, T0 + 3]);
  assert.equal(events.filter((e) => e.type === 'retransmission').length, 2);
});

test('SYN answered by RST: REJ, refused, reset in state handshake', () => {
  const t = new Talk(CLIENT, SERVER);
  t.syn(T0);
  t.rst(1, T0 + 0.001);
  const { records, events } = runFrames(t.frames);
  assert.equal(records[0]!.connState, 'REJ');
  assert.equal(records[0]!.refused, true);
  assert.equal(events.find((e) => e.type === 'reset')!.state, 'handshake');
  assert.ok(!events.some((e) => e.type === 'syn-unanswered'));
});

test('port reuse after a clean close starts a new connection and says which one it replaces', () => {
  const a = new Talk(CLIENT, SERVER, 1000, 5000);
  let now = a.handshake(T0);
  a.send(0, now + 0.01, 'ping');
  a.fin(0, now + 0.02);
  a.fin(1, now + 0.03);
  a.ack(0, now + 0.04);
  const b = new Talk(CLIENT, SERVER, 900000, 777);
  now = b.handshake(now + 1);
  b.send(0, now + 0.01, 'again');
  const { records, events } = runFrames([...a.frames, ...b.frames]);
  assert.equal(records.length, 2);
  assert.equal(records[0]!.connState, 'SF');
  assert.equal(records[0]!.endCause, 'port-reuse');
  assert.equal(records[1]!.previousUid, records[0]!.uid);
  assert.notEqual(records[0]!.uid, records[1]!.uid);
  const pr = events.find((e) => e.type === 'port-reuse')!;
  assert.equal(pr.previousUid, records[0]!.uid);
  assert.ok(!events.some((e) => e.type === 'retransmission'));
});

function twoSessions(frames: TimedFrame[], skew = 0.0002): (TimedFrame & { vni: number })[] {
  // Each packet seen by the ALB-side ENI mirror (VNI 101) and the target-side ENI mirror (VNI 202).
  const out: (TimedFrame & { vni: number })[] = [];
  for (const f of frames) {
    out.push({ time: f.time, frame: vxlanWrap(f.frame, 101), vni: 101 });
    out.push({ time: f.time + skew, frame: vxlanWrap(f.frame, 202, '10.0.0.11'), vni: 202 });
  }
  return out;
}

test('the same packets from two mirror sessions are one connection, duplicates counted, no retransmissions', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(0, now + 0.01, 'GET / HTTP/1.1\r\n\r\n');
  t.send(1, now + 0.02, 'HTTP/1.1 200 OK\r\n\r\n');
  t.fin(0, now + 0.03);
  t.fin(1, now + 0.04);
  t.ack(0, now + 0.05);
  const { records, events, sinks } = runFrames(twoSessions(t.frames));
  assert.equal(records.length, 1);
  const r = records[0]!;
  assert.equal(r.duplicatePackets, t.frames.length);
  assert.deepEqual(r.capturePoints, ['vni:101', 'vni:202']);
  assert.equal(r.connState, 'SF');
  assert.equal(r.retransmissionsFromClient + r.retransmissionsFromServer, 0);
  assert.deepEqual(types(events), []);
  assert.equal(sinks[0]!.text[0], 'GET / HTTP/1.1\r\n\r\n');
});

test('perCapturePoint: the two mirror sessions give two connections with distinct uids', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(0, now + 0.01, 'x');
  const { records } = runFrames(twoSessions(t.frames), { perCapturePoint: true });
  assert.equal(records.length, 2);
  assert.notEqual(records[0]!.uid, records[1]!.uid);
  assert.equal(records[0]!.communityId, records[1]!.communityId);
  assert.equal(records[0]!.duplicatePackets + records[1]!.duplicatePackets, 0);
});

test('mirror reordering (data swapped in arrival) is out-of-order, never a retransmission or a lost segment', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  const a = t.send(1, now + 0.01, 'HTTP/1.1 200 OK\r\n');
  const b = t.send(1, now + 0.0101, 'Content-Length: 0\r\n\r\n');
  t.ack(0, now + 0.02);
  const frames = [...t.frames];
  frames.splice(frames.indexOf(a), 2, { ...b, time: a.time }, { ...a, time: b.time });
  const { records, events, sinks } = runFrames(frames);
  assert.deepEqual(types(events), ['out-of-order']);
  assert.equal(sinks[0]!.text[1], 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(records[0]!.retransmissionsFromServer, 0);
  assert.equal(records[0]!.outOfOrderFromServer, 1);
  assert.equal(records[0]!.gapBytesFromServer, 0);
});

test('a real retransmission (new IP ID, 200 ms later) is reported and marked T in history', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  const seq = t.nxt[0];
  t.send(0, now + 0.01, 'GET / HTTP/1.1\r\n\r\n');
  t.send(0, now + 0.21, 'GET / HTTP/1.1\r\n\r\n', { seq });
  t.nxt[0] = (seq + 18) >>> 0;
  t.ack(1, now + 0.22);
  const { records, events } = runFrames(t.frames);
  assert.deepEqual(eventTypes(events), ['5:retransmission']);
  assert.equal(records[0]!.history, 'ShADTa');
  assert.equal(records[0]!.retransmittedBytesFromClient, 18);
  assert.equal(records[0]!.duplicatePackets, 0);
});

test('a segment the mirror never delivered is a gap: previous-segment-not-captured, G, stream continues', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(1, now + 0.01, 'AAAA');
  const lost = t.send(1, now + 0.011, 'BBBB');
  t.send(1, now + 0.012, 'CCCC');
  t.ack(0, now + 0.013);
  t.ack(0, now + 1);
  const frames = t.frames.filter((f) => f !== lost);
  const { records, events, sinks } = runFrames(frames);
  assert.equal(sinks[0]!.text[1], 'AAAA____CCCC');
  assert.equal(records[0]!.gapBytesFromServer, 4);
  assert.ok(records[0]!.history.includes('g'));
  const prev = events.find((e) => e.type === 'previous-segment-not-captured')!;
  assert.equal(prev.missingBytes, 4);
  assert.equal(prev.packet, 5, 'reported on the segment after the hole (frame 5 once the lost one is removed)');
  assert.ok(!events.some((e) => e.type === 'retransmission'));
});

test('the ACK of bytes never captured is acked-unseen-segment (after the reorder window)', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  const lost = t.send(1, now + 0.01, 'DATA');
  t.ack(0, now + 0.02);
  t.ack(0, now + 1);
  const { events } = runFrames(t.frames.filter((f) => f !== lost));
  const au = events.filter((e) => e.type === 'acked-unseen-segment');
  assert.equal(au.length, 1);
  assert.equal(au[0]!.missingBytes, 4);
});

test('an ACK that arrives before the data it acknowledges (mirror reordering) is not acked-unseen', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  const data = t.send(1, now + 0.01, 'DATA');
  const ack = t.ack(0, now + 0.0101);
  const frames = t.frames.slice(0, -2);
  frames.push({ ...ack, time: data.time }, { ...data, time: ack.time });
  const { events } = runFrames(frames);
  assert.deepEqual(types(events).filter((x) => x !== 'out-of-order'), []);
});

test('mid-stream pickup: first packet from the server, client found by ephemeral port, ^ in history', () => {
  const t = new Talk(CLIENT, SERVER);
  t.send(1, T0, 'tail of a response');
  t.ack(0, T0 + 0.01);
  t.send(0, T0 + 1, 'GET /next HTTP/1.1\r\n\r\n');
  const { records, sinks } = runFrames(t.frames);
  const r = records[0]!;
  assert.equal(r.midstream, true);
  assert.equal(r.clientAddr, CLIENT[0]);
  assert.equal(r.clientPort, CLIENT[1]);
  assert.equal(r.history, '^dAD');
  assert.equal(r.connState, 'OTH');
  assert.equal(sinks[0]!.text[1], 'tail of a response');
  assert.equal(sinks[0]!.text[0], 'GET /next HTTP/1.1\r\n\r\n');
});

test('zero window, window update, keep-alive and its ACK, duplicate ACKs are named like Wireshark', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(1, now + 0.01, 'x'.repeat(100));
  t.ack(0, now + 0.02, { window: 0 });
  t.ack(0, now + 0.03, { window: 300 });
  // keep-alive: seq = next - 1, no data
  t.ack(0, now + 60, { seq: (t.nxt[0] - 1) >>> 0 });
  t.ack(1, now + 60.001);
  // Wireshark keeps calling identical ACKs keep-alive ACKs until the other side sends again.
  t.ack(1, now + 60.002);
  t.send(0, now + 61, 'more');
  t.ack(1, now + 61.001);
  t.ack(1, now + 61.002);
  t.ack(1, now + 61.003);
  const { events } = runFrames(t.frames);
  assert.deepEqual(types(events), ['zero-window', 'window-update', 'idle-gap', 'keep-alive', 'keep-alive-ack', 'keep-alive-ack', 'duplicate-ack', 'duplicate-ack']);
  assert.deepEqual(events.filter((e) => e.type === 'duplicate-ack').map((e) => e.dupAckNum), [1, 2]);
});

test('a packet cut by the capture (snaplen) leaves a gap for the missing bytes, without previous-segment events', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  const big = t.send(1, now + 0.01, 'Y'.repeat(200));
  t.send(1, now + 0.02, 'ZZ');
  const frames = t.frames.map((f) => (f === big ? { time: f.time, frame: f.frame.subarray(0, f.frame.length - 150) } : f));
  const { records, events, sinks } = runFrames(frames);
  assert.equal(sinks[0]!.text[1], `${'Y'.repeat(50)}${'_'.repeat(150)}ZZ`);
  assert.equal(records[0]!.gapBytesFromServer, 150);
  assert.equal(records[0]!.streamBytesFromServer, 202);
  assert.deepEqual(types(events), []);
});

test('sequence numbers wrapping past 2^32 mid-connection', () => {
  const t = new Talk(CLIENT, SERVER, 0xfffffff0, 0xffffff00);
  const now = t.handshake(T0);
  for (let i = 0; i < 10; i++) t.send(0, now + i * 0.01, `chunk${i}-`);
  for (let i = 0; i < 10; i++) t.send(1, now + 0.2 + i * 0.01, 'r'.repeat(40));
  t.fin(0, now + 1);
  t.fin(1, now + 1.01);
  t.ack(0, now + 1.02);
  const { records, events, sinks } = runFrames(t.frames);
  assert.deepEqual(types(events), []);
  assert.equal(sinks[0]!.text[0], Array.from({ length: 10 }, (_, i) => `chunk${i}-`).join(''));
  assert.equal(sinks[0]!.text[1].length, 400);
  assert.equal(records[0]!.connState, 'SF');
});

test('IPv6 connection: addresses, Community ID, state', () => {
  const t = new Talk(['2001:db8::1', 50000], ['2001:db8::2', 443]);
  const now = t.handshake(T0);
  t.send(0, now + 0.01, 'hello');
  const { records } = runFrames(t.frames);
  const r = records[0]!;
  assert.equal(r.ipVersion, 6);
  assert.equal(r.clientAddr, '2001:db8::1');
  assert.equal(r.serverPort, 443);
  assert.match(r.communityId, /^1:[A-Za-z0-9+/]{27}=$/);
  assert.equal(r.connState, 'S1');
});

test('uids are deterministic across runs and differ between connections', () => {
  const mk = () => {
    const a = new Talk(CLIENT, SERVER);
    a.handshake(T0);
    const b = new Talk(['10.0.1.16', 40000], SERVER);
    b.handshake(T0);
    return runFrames([...a.frames, ...b.frames]).records.map((r) => r.uid);
  };
  const u1 = mk();
  const u2 = mk();
  assert.deepEqual(u1, u2);
  assert.notEqual(u1[0], u1[1]);
  assert.match(u1[0]!, /^C[0-9A-Za-z]{18}$/);
});

test('maxConnections: the least recently active connection is evicted and counted', () => {
  const frames: TimedFrame[] = [];
  for (let i = 0; i < 5; i++) {
    const t = new Talk([`10.0.1.${i + 1}`, 40000 + i], SERVER);
    t.handshake(T0 + i);
    frames.push(...t.frames);
  }
  const { records, table } = runFrames(frames, { maxConnections: 3 });
  assert.equal(records.length, 5);
  assert.equal(table.stats.evictedConnections, 2);
  assert.deepEqual(records.slice(0, 2).map((r) => r.endCause), ['evicted', 'evicted']);
  assert.equal(table.stats.peakConnections, 3);
});

test('sinks see previousPacketTime: the time of the packet before the one delivering the bytes', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(0, now + 100, 'late request');
  const { sinks } = runFrames(t.frames);
  assert.equal(sinks[0]!.prevTimes.length, 1);
  assert.ok(Math.abs(sinks[0]!.prevTimes[0]! - now) < 1e-6);
});

test('FIN crossing a request: the server FIN arrives with the request outstanding', () => {
  const t = new Talk(CLIENT, SERVER);
  const now = t.handshake(T0);
  t.send(0, now + 5, 'GET / HTTP/1.1\r\n\r\n');
  t.fin(1, now + 5.0001);
  t.rst(1, now + 5.0002);
  const { records } = runFrames(t.frames);
  const r = records[0]!;
  assert.equal(r.closedBy, 'server');
  assert.equal(r.closeHow, 'fin');
  assert.equal(r.fins[0]!.requestOutstanding, true);
  assert.equal(r.resets[0]!.state, 'request-outstanding');
  assert.equal(r.connState, 'RSTR');
});

test('a RST injected before the SYN-ACK does not split the connection (zeek rst-inject-rae)', () => {
  const t = new Talk(CLIENT, SERVER);
  t.syn(T0);
  t.frames.push({ time: T0 + 0.2, frame: t.build(1, 'RA', T0 + 0.2, { seq: 0, ack: 0 }) });
  t.synAck(T0 + 1);
  t.ack(0, T0 + 1.001);
  t.send(0, T0 + 1.002, 'hello');
  const { records } = runFrames(t.frames);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.packetsFromClient, 3);
  assert.equal(records[0]!.packetsFromServer, 2);
});

test('a consumer keeps reading its ended connection, not the next one tracked in its place', () => {
  // The table keeps connection numbers in reusable slots (src/flow/conn-slab.ts); a StreamSink
  // holds its ConnInfo after the end, when a later connection may have taken the slot.
  const a = new Talk(CLIENT, SERVER);
  let now = a.handshake(T0);
  a.send(0, now + 0.01, 'GET /a HTTP/1.1\r\n\r\n');
  a.fin(0, now + 0.02);
  a.fin(1, now + 0.03);
  a.ack(0, now + 0.04);
  const b = new Talk(['10.0.1.99', 51000], ['10.0.2.21', 8080]);
  now = b.handshake(T0 + 60);
  b.send(0, now + 0.01, 'GET /b HTTP/1.1\r\n\r\n');
  const { records, sinks } = runFrames([...a.frames, ...b.frames]);
  assert.equal(records.length, 2);
  assert.equal(records[0]!.endCause, 'closed', 'the first connection ended before the second began');
  const [infoA, infoB] = [sinks[0]!.info, sinks[1]!.info];
  assert.deepEqual([infoA.clientAddr, infoA.clientPort, infoA.serverAddr, infoA.serverPort, infoA.startTime], [CLIENT[0], CLIENT[1], SERVER[0], SERVER[1], T0]);
  assert.deepEqual([infoB.clientAddr, infoB.clientPort, infoB.serverAddr, infoB.serverPort, infoB.startTime], ['10.0.1.99', 51000, '10.0.2.21', 8080, T0 + 60]);
  assert.equal(infoA.uid, records[0]!.uid);
  assert.ok(infoA.previousPacketTime > T0 && infoA.previousPacketTime < T0 + 1, `previousPacketTime ${infoA.previousPacketTime - T0} s: its own last value, not the new tenant's`);
});
