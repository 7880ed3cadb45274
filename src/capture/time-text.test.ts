// isoMs: toISOString for every time a Date holds, null (never a RangeError) beyond.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DATE_MS, isoMs } from './time-text.js';

test('isoMs gives the ISO text inside the Date range and null outside it, for NaN and the infinities', () => {
  assert.equal(isoMs(0), '1970-01-01T00:00:00.000Z');
  assert.equal(isoMs(1_764_000_000_123), '2025-11-24T16:00:00.123Z');
  assert.equal(isoMs(MAX_DATE_MS), '+275760-09-13T00:00:00.000Z');
  assert.equal(isoMs(-MAX_DATE_MS), '-271821-04-20T00:00:00.000Z');
  for (const ms of [MAX_DATE_MS + 1, -MAX_DATE_MS - 1, 1.2107070373941e16, 2 ** 64, NaN, Infinity, -Infinity]) assert.equal(isoMs(ms), null, String(ms));
});
