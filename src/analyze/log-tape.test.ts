import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogTape, clientKey4, endpointKey, type LogTapeData } from './log-tape.js';
import { ipv4ToString, parseIpv4 } from '../wire/ipv4.js';

/** How implication looks an endpoint up (with the address as decoded from packets). */
const loggedClient = (d: LogTapeData, addr: string, port: number): boolean => {
  const v4 = parseIpv4(addr);
  return v4 >= 0 && ipv4ToString(v4) === addr ? d.clients4.has(clientKey4(v4, port)) : d.clients6.has(endpointKey(addr, port));
};

test('logged clients: IPv4 endpoints kept as numbers, others as text', () => {
  const t = new LogTape();
  t.noteLogClient('198.51.100.10', 55180);
  t.noteLogClientV4(parseIpv4('203.0.113.7'), 443);
  t.noteLogClient('2001:db8::1', 8443);
  t.noteLogClient('010.0.0.1', 80); // not as a packet's address would be written: matches nothing
  t.noteLogClient(null, 80);
  const d = structuredClone(t.data()); // (the tape is handed over as plain data)
  assert.equal(d.clients4.size, 2);
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
  assert.equal(t.data().clients4.size, 3);
  assert.ok(loggedClient(t.data(), '255.255.255.255', 65535));
  assert.ok(!loggedClient(t.data(), '255.255.255.255', 65534));
});
