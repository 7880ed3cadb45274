import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddrPort, parseDecimal, parseInt10, parseIsoSeconds, parseUint, type AddrPort } from './fields.js';

test('ISO timestamps keep microseconds and accept the NLB form without zone', () => {
  assert.equal(parseIsoSeconds('2018-07-02T22:23:00.186641Z'), 1530570180.186641);
  assert.equal(parseIsoSeconds('2018-12-20T02:59:40'), Date.UTC(2018, 11, 20, 2, 59, 40) / 1000);
  assert.equal(parseIsoSeconds('2018-12-20T02:59:40+01:00'), Date.UTC(2018, 11, 20, 1, 59, 40) / 1000);
  assert.equal(parseIsoSeconds('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29) / 1000);
});

test('malformed timestamps are NaN, never a wrong date', () => {
  for (const s of ['', '-', '2018-07-02', '2018-13-02T22:23:00Z', '2023-02-29T00:00:00Z', '2018-07-02T24:00:00Z', '2018-07-02T22:60:00Z', '2018-07-02T22:23:00.Z', '2018-07-02T22:23:00Zx', 'abcd-ef-ghTij:kl:mn']) {
    assert.ok(Number.isNaN(parseIsoSeconds(s)), s);
  }
});

test('ISO timestamps agree with Date.parse at millisecond precision (property)', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
      const s = d.toISOString();
      assert.equal(Math.round(parseIsoSeconds(s) * 1000), d.getTime());
    }),
  );
});

test('numbers: strict digits, -1 and decimals; junk is NaN', () => {
  assert.equal(parseUint('0'), 0);
  assert.equal(parseUint('366'), 366);
  assert.ok(Number.isNaN(parseUint('')));
  assert.ok(Number.isNaN(parseUint('12a')));
  assert.ok(Number.isNaN(parseUint('-1')));
  assert.equal(parseInt10('-1'), -1);
  assert.equal(parseDecimal('0.000'), 0);
  assert.equal(parseDecimal('60.001'), 60.001);
  assert.equal(parseDecimal('-1'), -1);
  for (const s of ['', '.', '-', '1e3', '0x10', '1.2.3', ' 1']) assert.ok(Number.isNaN(parseDecimal(s)), s);
});

test('address:port for IPv4, bare IPv6 (last colon) and bracketed IPv6', () => {
  const out: AddrPort = { addr: '', port: 0 };
  assert.ok(parseAddrPort('192.168.131.39:2817', out));
  assert.deepEqual(out, { addr: '192.168.131.39', port: 2817 });
  assert.ok(parseAddrPort('2001:db8:1234:a100:8d6e:3477:df66:f105:443', out));
  assert.deepEqual(out, { addr: '2001:db8:1234:a100:8d6e:3477:df66:f105', port: 443 });
  assert.ok(parseAddrPort('[2001:db8::1]:51234', out));
  assert.deepEqual(out, { addr: '2001:db8::1', port: 51234 });
  for (const s of ['-', '10.0.0.1', '10.0.0.1:', '10.0.0.1:65536', ':80', '[::1]80']) assert.equal(parseAddrPort(s, out), false, s);
});

test('parseDecimal equals Number() for every decimal AWS could write (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 6 }), (x, k) => {
      const s = x.toFixed(k);
      assert.equal(parseDecimal(s), Number(s), s);
    }),
  );
  assert.equal(parseDecimal('1234567890.1234567'), 1234567890.1234567);
  assert.ok(Object.is(parseDecimal('-0.000'), -0));
});
