import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFits, fitTimeouts, formatSeconds } from './timeouts.js';

test('formatSeconds rounds to whole seconds before splitting minutes (no "5 min 60 s")', () => {
  assert.equal(formatSeconds(359.6), '6 min 0 s (360 s)');
  assert.equal(formatSeconds(0.0123), '12 ms');
  assert.equal(formatSeconds(5), '5.00 s');
});

test('an idle time just above 350 s fits the 350 s middlebox timeouts, not the ALB 60 s one', () => {
  const fits = fitTimeouts(361, [], 'middlebox');
  assert.ok(fits.every((f) => f.seconds === 350 && f.relation === 'just-above'));
  assert.match(describeFits(fits), /^the 350 s NLB TCP idle timeout/);
});

test('an idle time far from any default fits only configurable ranges, said as such', () => {
  const fits = fitTimeouts(1200, [], 'middlebox');
  assert.ok(fits.length > 0 && fits.every((f) => f.relation === 'within-range'));
  assert.match(describeFits(fits), /a configured .* \(default 350 s\)/);
  assert.deepEqual(fitTimeouts(7, [], 'middlebox'), []);
});

test('sub-10 ms durations keep two decimals (a 0.3 ms RST is not "0 ms")', () => {
  assert.equal(formatSeconds(0.0003), '0.30 ms');
});
