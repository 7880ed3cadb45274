import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineWalk, PUT_REPEATED, SLOT_LABELS, SLOT_MASTER, SecretTable, labelSlot, wellFormedLine } from './keylog-secrets.js';

const hex = (i: number, digits: number) => i.toString(16).padStart(digits, '0');
/** A client random and a 48-byte secret made from `i` (the random's first bytes all zero, as in synthetic tests). */
const random = (i: number) => hex(i, 64);
const secret = (i: number) => hex(i * 7 + 1, 96);
const TRAFFIC = SLOT_LABELS.indexOf('CLIENT_TRAFFIC_SECRET_0');

test('labels are found in place by their slot; other words are not labels', () => {
  const text = 'xx CLIENT_RANDOM SERVER_TRAFFIC_SECRET_0 CLIENT_TRAFFIC_SECRET CLIENT_RANDOMS';
  assert.equal(labelSlot(text, 3, 16), SLOT_MASTER);
  assert.equal(SLOT_LABELS[labelSlot(text, 17, 40)], 'SERVER_TRAFFIC_SECRET_0');
  assert.equal(labelSlot(text, 41, 62), -1);
  assert.equal(labelSlot(text, 63, 77), -1);
  assert.equal(labelSlot(text, 0, 2), -1);
});

test('a well-formed line is a label, 64 hex digits and a secret of its label\'s length, single spaces, nothing around', () => {
  const r = random(1);
  const ok = [`CLIENT_RANDOM ${r} ${secret(1)}`, `PMS_CLIENT_RANDOM ${r} ${secret(1).toUpperCase()}`, `EXPORTER_SECRET ${r} ${secret(1)}`, `SERVER_TRAFFIC_SECRET_0 ${r.toUpperCase()} ${secret(1).slice(32)}`];
  const not = [
    `CLIENT_RANDOM ${r} ${secret(1).slice(32)}`, // 64 digits: TLS 1.3 lengths only
    `EXPORTER_SECRET ${r} ${secret(1).slice(16)}`, // 80 digits
    `EXPORTER_SECRET ${r} ${secret(1)}00`, // 98
    `CLIENT_RANDOM  ${r} ${secret(1)}`,
    ` CLIENT_RANDOM ${r} ${secret(1)}`,
    `CLIENT_RANDOM ${r} ${secret(1)} `,
    `CLIENT_RANDOM\t${r} ${secret(1)}`,
    `CLIENT_RANDOM ${r.slice(1)}g ${secret(1)}`,
    `CLIENT_RANDOM ${r} ${secret(1).slice(1)}\u0141`, // a character whose low byte is a hex digit
    `RSA ${r} ${secret(1)}`,
    `ECH_SECRET ${r} ${secret(1)}`,
  ];
  for (const line of ok) assert.equal(wellFormedLine(`#\n${line}\r\n`, 2, 2 + line.length), true, line);
  for (const line of not) assert.equal(wellFormedLine(`#\n${line}\r\n`, 2, 2 + line.length), false, line);
});

test('lines end in LF, CR or CRLF; the last is empty after a final line end', () => {
  const lines = (text: string, from = 0, to = text.length) => {
    const out: string[] = [];
    for (const w = new LineWalk(text, from, to); w.next(); ) out.push(text.slice(w.start, w.end));
    return out;
  };
  assert.deepEqual(lines('a\nb\r\nc\rd'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(lines('a\n\r\n\rb\n'), ['a', '', '', 'b', '']);
  assert.deepEqual(lines(''), ['']);
  assert.deepEqual(lines('xa\r\nb\nc', 1, 5), ['a', 'b']);
});

test('20 000 client randoms each give back their own secrets', () => {
  const t = new SecretTable();
  for (let i = 0; i < 20_000; i++) {
    assert.ok(t.put(random(i), SLOT_MASTER, secret(i), true) >= 0);
    assert.equal(t.created, true);
    assert.ok(t.put(random(i), TRAFFIC, secret(i + 1).slice(32), true) >= 0);
    assert.equal(t.created, false, 'a second label of a known random');
  }
  assert.equal(t.size, 20_000);
  for (const i of [0, 1, 255, 256, 4095, 19_999]) {
    const s = t.get(random(i).toUpperCase())!;
    assert.equal(Buffer.from(s.masterSecret!).toString('hex'), secret(i));
    assert.equal(Buffer.from(s.tls13.CLIENT_TRAFFIC_SECRET_0!).toString('hex'), secret(i + 1).slice(32));
    assert.equal(s.preMasterSecret, null);
  }
  assert.equal(t.get(random(20_000)), undefined);
  assert.equal(t.get(random(1).slice(2)), undefined);
});

test('a secret repeated is skipped only when asked; another secret replaces it in what was handed out too', () => {
  const t = new SecretTable();
  const g = t.put(random(1), SLOT_MASTER, secret(1), true);
  const handed = t.get(random(1))!;
  assert.equal(t.put(random(1).toUpperCase(), SLOT_MASTER, secret(1).toUpperCase(), true), PUT_REPEATED);
  assert.equal(t.put(random(1), SLOT_MASTER, secret(1), false), g, 'stored again when not skipping repeats');
  assert.equal(t.put(random(1), SLOT_MASTER, secret(2), true), g);
  assert.equal(t.get(random(1)), handed, 'one object per client random');
  assert.equal(Buffer.from(handed.masterSecret!).toString('hex'), secret(2));
});

test('secrets handed out are copies: they hold no arena alive and do not change when it is compacted', () => {
  const t = new SecretTable();
  const groups: number[] = [];
  for (let i = 0; i < 3000; i++) groups.push(t.put(random(i), SLOT_MASTER, secret(i), true));
  const kept = t.get(random(2999))!.masterSecret!;
  assert.equal(kept.buffer.byteLength, 48);
  // Forget all but the last: their 144 KB are dead, more than the live bytes: compacted.
  for (let i = 0; i < 2999; i++) assert.equal(t.remove(groups[i]!), true);
  assert.equal(t.remove(groups[0]!), false, 'already gone');
  const arena = () => (t as unknown as { arena: Uint8Array }).arena.length;
  const before = arena();
  t.compactIfWasteful();
  assert.ok(arena() < before, `arena ${before} -> ${arena()} bytes`);
  assert.equal(t.size, 1);
  assert.equal(Buffer.from(t.get(random(2999))!.masterSecret!).toString('hex'), secret(2999));
  assert.equal(Buffer.from(kept).toString('hex'), secret(2999));
  assert.equal(t.get(random(5)), undefined);
  // Freed groups are used again.
  const again = t.put(random(5), SLOT_MASTER, secret(6), true);
  assert.ok(groups.includes(again));
  assert.equal(Buffer.from(t.get(random(5))!.masterSecret!).toString('hex'), secret(6));
});
