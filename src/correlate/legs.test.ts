import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LegIndex, MAX_KEY_SHARERS } from './legs.js';
import type { LegView } from './views.js';

function leg(uid: string, clientAddr: string, serverAddr: string, isn: number, t = 100): LegView {
  return {
    uid, capturePoint: '', clientAddr, clientPort: 40000, serverAddr, serverPort: 80, startTime: t, endTime: t + 1,
    clientIsn: isn, serverIsn: null, clientFirstPayload: null, serverFirstPayload: null,
    clientPayloadBytes: 0, serverFinTimes: [], serverRstTimes: [], open: false,
  };
}

test('the legs of one connection through a NAT hop are joined by the client ISN', () => {
  const idx = new LegIndex();
  idx.add(leg('Cclient', '203.0.113.9', '10.0.0.5', 777));
  idx.add(leg('Ctarget', '10.0.0.5', '10.0.1.20', 777, 100.2));
  idx.add(leg('Cother', '203.0.113.9', '10.0.0.5', 778));
  assert.deepEqual(idx.natPeers(idx.get('Cclient')!).map((p) => [p.leg.uid, p.join.key]), [['Ctarget', 'tcp-isn']]);
});

test('an ISN shared by more legs than a connection has hops is no key: a fixed-ISN flood joins nothing, and lookups stay short', () => {
  const idx = new LegIndex();
  for (let i = 0; i < 5000; i++) idx.add(leg(`C${i}`, `100.64.${i >> 8}.${i & 255}`, '10.0.1.20', 12345, 100 + i / 10_000));
  assert.equal(idx.natPeers(idx.get('C4999')!).length, 0);
  assert.equal(idx.natPeers(idx.get('C0')!).length, 0);
  const lists = (idx as unknown as { byIsn: Map<number, string[]> }).byIsn;
  assert.ok((lists.get(12345)?.length ?? 0) <= MAX_KEY_SHARERS);
  // Other ISNs still join.
  idx.add(leg('Ca', '203.0.113.9', '10.0.0.5', 99));
  idx.add(leg('Cb', '10.0.0.5', '10.0.1.20', 99));
  assert.equal(idx.natPeers(idx.get('Ca')!).length, 1);
});

test('at its cap the index forgets the least recently added leg; a leg added again counts as new', () => {
  const idx = new LegIndex(3);
  for (const u of ['C1', 'C2', 'C3']) idx.add(leg(u, '10.0.0.1', '10.0.0.2', 1000 + Number(u.slice(1))));
  idx.add(leg('C1', '10.0.0.1', '10.0.0.2', 1001)); // C1 again (its final view): now the newest
  idx.add(leg('C4', '10.0.0.1', '10.0.0.2', 1004));
  assert.deepEqual([...idx.values()].map((l) => l.uid).sort(), ['C1', 'C3', 'C4']);
  idx.delete('C3');
  idx.add(leg('C5', '10.0.0.1', '10.0.0.2', 1005));
  idx.add(leg('C6', '10.0.0.1', '10.0.0.2', 1006));
  assert.deepEqual([...idx.values()].map((l) => l.uid).sort(), ['C4', 'C5', 'C6']);
});

test('a leg replaced by its final view is not held twice: the open views are dropped from the eviction order', () => {
  const idx = new LegIndex();
  const n = 20_000;
  const open: LegView[] = [];
  for (let i = 0; i < n; i++) {
    const l = { ...leg(`C${i}`, '10.0.0.1', '10.0.0.2', i), open: true };
    open.push(l);
    idx.add(l);
  }
  for (let i = 0; i < n; i++) idx.add(leg(`C${i}`, '10.0.0.1', '10.0.0.2', i));
  const order = (idx as unknown as { order: { items: LegView[]; head: number } }).order;
  const held = order.items.slice(order.head);
  assert.ok(held.length < n * 1.5, `${held.length} entries held for ${n} legs`);
  // The order is kept: at a cap, the oldest final view goes first.
  const capped = new LegIndex(n);
  for (let i = 0; i < n; i++) capped.add({ ...leg(`C${i}`, '10.0.0.1', '10.0.0.2', i), open: true });
  for (let i = 0; i < n; i++) capped.add(leg(`C${i}`, '10.0.0.1', '10.0.0.2', i));
  capped.add(leg('Cnew', '10.0.0.1', '10.0.0.2', 1));
  assert.equal(capped.get('C0'), undefined);
  assert.ok(capped.get('C1') !== undefined && capped.get('Cnew') !== undefined);
});

test('solo legs are held as spans per client and server, not one by one; the last one stays whole until the next', () => {
  const idx = new LegIndex();
  const n = 10_000;
  for (let i = 0; i < n; i++) idx.addSolo(leg(`C${i}`, `10.0.0.${i % 3}`, '10.0.1.20', i, 100 + i), false);
  assert.equal(idx.size, n);
  // Nothing held per leg: no entry one by one, one span per client (three clients).
  assert.equal([...idx.values()].length, 0);
  assert.equal((idx as unknown as { byIsn: Map<number, string[]> }).byIsn.size, 0);
  const spans = [...idx.solos()].sort((a, b) => a.clientAddr.localeCompare(b.clientAddr));
  assert.deepEqual(
    spans.map((s) => [s.clientAddr, s.startTime, s.endTime]),
    [
      ['10.0.0.0', 100, 100 + n - 1 + 1],
      ['10.0.0.1', 101, 100 + n - 3 + 1],
      ['10.0.0.2', 102, 100 + n - 2 + 1],
    ],
  );
  // The last one is found by uid while its connection is added, and can be dropped (an attempt only counted).
  idx.addSolo(leg('Clast', '10.0.0.9', '10.0.1.20', 5, 50), false);
  assert.equal(idx.get('Clast')?.uid, 'Clast');
  assert.deepEqual(idx.natPeers(idx.get('Clast')!), []);
  idx.delete('Clast');
  assert.equal(idx.get('Clast'), undefined);
  assert.equal([...idx.solos()].length, 3);
});

test('a solo leg whose ISN others share still counts among its sharers: the key retires as it would with every leg indexed', () => {
  // MAX_KEY_SHARERS + 1 legs with one ISN, far apart in time (a capture repeating itself), then two
  // legs of one connection through a NAT hop with that ISN: no join, the key is retired.
  const build = (counted: boolean): LegIndex => {
    const idx = new LegIndex();
    for (let i = 0; i <= MAX_KEY_SHARERS; i++) idx.addSolo(leg(`C${i}`, `10.0.${i}.1`, '10.0.1.20', 4242, 1000 * i), counted);
    idx.add(leg('Ca', '203.0.113.9', '10.0.0.5', 4242, 20_000));
    idx.add(leg('Cb', '10.0.0.5', '10.0.1.20', 4242, 20_000.5));
    return idx;
  };
  const all = new LegIndex();
  for (let i = 0; i <= MAX_KEY_SHARERS; i++) all.add(leg(`C${i}`, `10.0.${i}.1`, '10.0.1.20', 4242, 1000 * i));
  all.add(leg('Ca', '203.0.113.9', '10.0.0.5', 4242, 20_000));
  all.add(leg('Cb', '10.0.0.5', '10.0.1.20', 4242, 20_000.5));
  assert.equal(all.natPeers(all.get('Ca')!).length, 0);
  assert.equal(build(true).natPeers(build(true).get('Ca')!).length, 0);
  // (Not counted, the key would still join them: that is why addSolo counts them.)
  const uncounted = build(false);
  assert.equal(uncounted.natPeers(uncounted.get('Ca')!).length, 1);
});
