import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogTape, clientKey4, endpointKey, hasKey, type LogTapeData } from './log-tape.js';
import { ipv4ToString, parseIpv4 } from '../wire/ipv4.js';

/** How implication looks an endpoint up (with the address as decoded from packets). */
const loggedClient = (d: LogTapeData, addr: string, port: number): boolean => {
  const v4 = parseIpv4(addr);
  return v4 >= 0 && ipv4ToString(v4) === addr ? hasKey(d.clients4, clientKey4(v4, port)) : d.clients6.has(endpointKey(addr, port));
};

test('logged clients: IPv4 endpoints kept as numbers, others as text', () => {
  const t = new LogTape();
  t.noteLogClient('198.51.100.10', 55180);
  t.noteLogClientV4(parseIpv4('203.0.113.7'), 443);
  t.noteLogClient('2001:db8::1', 8443);
  t.noteLogClient('010.0.0.1', 80); // not as a packet's address would be written: matches nothing
  t.noteLogClient(null, 80);
  const d = structuredClone(t.data()); // (the tape is handed over as plain data)
  assert.equal(d.clients4.length, 2);
  assert.deepEqual([...d.clients6], ['2001:db8::1|8443', '010.0.0.1|80']);
  assert.ok(loggedClient(d, '198.51.100.10', 55180));
  assert.ok(loggedClient(d, '203.0.113.7', 443));
  assert.ok(loggedClient(d, '2001:db8::1', 8443));
  assert.ok(!loggedClient(d, '198.51.100.10', 55181));
  assert.ok(!loggedClient(d, '198.51.100.11', 55180));
  assert.ok(!loggedClient(d, '10.0.0.1', 80));
  assert.ok(!loggedClient(d, '2001:db8::1', 8444));
  // The same endpoint noted both ways is one entry.
  t.noteLogClientV4(parseIpv4('198.51.100.10'), 55180);
  t.noteLogClient('255.255.255.255', 65535);
  assert.equal(t.data().clients4.length, 3);
  assert.ok(loggedClient(t.data(), '255.255.255.255', 65535));
  assert.ok(!loggedClient(t.data(), '255.255.255.255', 65534));
});

test('logged clients: many lines, each endpoint kept once, in at most twice their number of slots', () => {
  const t = new LogTape();
  const ports = 5000;
  // Every endpoint logged 7 times, interleaved (as a busy log has them), one endpoint twice in a row.
  for (let round = 0; round < 7; round++) for (let p = 0; p < ports; p++) t.noteLogClientV4(parseIpv4('198.51.100.10') + (p % 3), 1024 + p);
  t.noteLogClientV4(parseIpv4('198.51.100.10'), 1024);
  const d = t.data();
  assert.equal(d.clients4.length, ports);
  for (let i = 1; i < d.clients4.length; i++) assert.ok(d.clients4[i - 1]! < d.clients4[i]!);
  for (let p = 0; p < ports; p += 97) assert.ok(hasKey(d.clients4, clientKey4(parseIpv4('198.51.100.10') + (p % 3), 1024 + p)));
  assert.ok(!hasKey(d.clients4, clientKey4(parseIpv4('198.51.100.10') + 1, 1024)));
  // (Its working array: 35 001 notes of 5 000 endpoints never needed more than 16 384 slots.)
  assert.ok((t as unknown as { clients4: { a: Float64Array } }).clients4.a.length <= 16384);
});
