import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAlbLine } from './alb.js';
import { AlbLineFacts, AlbLineScanner } from './alb-scan.js';
import { nativeAlbScan } from './alb-scan-native.js';
import { tokenize, type TokenizeResult } from './tokenize.js';
import { loadAnalyzeNative } from '../capture/native-analyze.js';
import { EDIT, LAB, SEEDS, SWAPS, applyEdits, splice } from '../../test/alb-lines.js';
import { scanAll, type Seen } from '../../test/alb-native-scan.js';

const native = nativeAlbScan();
const skip = native === null ? `no native scan: ${loadAnalyzeNative().why}` : false;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };

/**
 * The native scan against the JavaScript: a quick line is one alb-scan.ts accepts, with the same
 * values (and parseAlbLine accepts it too, with them); a declined line is one alb-scan.ts refuses,
 * or one the native scan leaves to it on purpose (not plain printable ASCII, a client that is not a
 * canonical dotted quad, an elb_status_code of more than 9 digits). Returns whether it was quick.
 */
function agrees(seen: Seen, line: string): boolean {
  assert.equal(seen.text, line, 'the line as decoded');
  const f = new AlbLineFacts();
  const js = new AlbLineScanner().scan(line, f);
  if (!seen.quick) {
    const plain = /^[\x20-\x5b\x5d-\x7e]*$/.test(line);
    tokenize(line, tokens, null, tres);
    const longStatus = tres.count > 8 && tokens[8]!.length > 9;
    assert.ok(!js || !plain || f.clientV4 < 0 || longStatus, `the native scan declined a line the JavaScript scan takes: ${JSON.stringify(line)}`);
    assert.equal(seen.nonAscii, /[^\x00-\x7f]/.test(line), 'non-ASCII flag');
    return false;
  }
  assert.ok(js, `the native scan took a line the JavaScript scan refuses: ${JSON.stringify(line)}`);
  assert.ok(Object.is(seen.time, f.time), `time ${seen.time} vs ${f.time}: ${line}`);
  assert.equal(seen.clientV4, f.clientV4, line);
  assert.equal(seen.clientPort, f.clientPort, line);
  assert.equal(seen.targetAddr, f.targetAddr, line);
  assert.equal(seen.targetPort, f.targetPort, line);
  assert.equal(seen.elb, f.elbStatusCode, line);
  const r = parseAlbLine(line);
  assert.notEqual(r.kind, 'error', line);
  if (r.kind !== 'error') {
    assert.ok(Object.is(seen.time, r.time), line);
    assert.equal(seen.targetAddr, r.targetAddr, line);
    assert.equal(seen.elb, r.elbStatusCode, line);
  }
  return true;
}

/** One line alone in a buffer (with '\n', or '\r\n'). */
function one(line: string, crlf = false): boolean {
  const seen = scanAll(native!, Buffer.from(line + (crlf ? '\r\n' : '\n'), 'utf8'));
  assert.equal(seen.length, 1);
  return agrees(seen[0]!, line);
}

test('the native scan takes every fixture line with a dotted-quad client, with the JavaScript scan\'s values', { skip }, () => {
  let quick = 0;
  for (const l of SEEDS) if (one(l)) quick++;
  for (const l of SEEDS) one(l, true);
  // (The fixtures' IPv6 clients are left to the JavaScript.)
  assert.ok(quick >= SEEDS.length - 4, `${quick} of ${SEEDS.length}`);
  assert.ok(one(LAB));
});

test('the native scan declines what the JavaScript refuses or what it leaves to it', { skip }, () => {
  for (const l of [
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-13-05T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-02-29T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2100-02-29T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '1969-12-31T23:59:59.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-32T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-00T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-00-05T05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T24:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:60:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:61.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47.Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47.859000ZZ'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47+24:00'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47+05:60'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47+0530'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05x05:56:47.859000Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:4'),
    LAB.replace('198.51.100.10:55180', '198.51.100.10:65536'),
    LAB.replace('10.0.1.20:80 0.143', '10.0.1.20 0.143'),
    LAB.replace('0.175', '0.1x5'),
    LAB.replace(' 200 200 106', ' 2oo 200 106'),
    LAB.replace(' 106 240 ', ' 106 -2 '),
    LAB.replace(' 0 2026-12-05T05:56:47.685000Z', ' x 2026-12-05T05:56:47.685000Z'),
    LAB.replace('"200" "-" "-" TID', '"200 x" "-" "-" TID'),
    LAB.replace('"mirrorlens-lab-load/1"', '"mirrorlens-lab-load/1'),
    LAB.split(' ').slice(0, 12).join(' '),
    LAB.replace('0.143', '"0.143"'),
    LAB.replace('10.0.1.20:80 0.143', '"" 0.143'),
    // left to the JavaScript: tabs, backslashes, control bytes, NUL, DEL, non-ASCII, IPv6 or non-canonical clients, long status codes
    LAB.replace(' 0.143 ', '\t0.143 '),
    LAB.replace('mirrorlens-lab-load/1', 'a \\"quoted\\" agent'),
    LAB.replace('mirrorlens-lab-load/1', 'a\x01b'),
    LAB.replace('mirrorlens-lab-load/1', 'a\0b'),
    LAB.replace('mirrorlens-lab-load/1', 'a\x7fb'),
    LAB.replace('mirrorlens-lab-load/1', 'a\rb'),
    LAB.replace('mirrorlens-lab-load/1', 'agent é ü'),
    LAB.replace('198.51.100.10:55180', '2001:db8::1:55180'),
    LAB.replace('198.51.100.10:55180', '010.51.100.10:55180'),
    LAB.replace(' 200 200 106', ' 0000000200 200 106'),
    '',
    ' ',
  ]) {
    assert.equal(one(l), false, l);
  }
});

test('the native scan: bracketed clients, absent target and status, status lists, numbers as the JavaScript takes them', { skip }, () => {
  for (const l of [
    LAB.replace('198.51.100.10:55180', '[198.51.100.10]:55180'),
    LAB.replace('10.0.1.20:80 0.143 0.175 0.000 200 200', '- -1 -1 -1 503 -'),
    LAB.replace(' 200 200 106', ' - - 106'),
    LAB.replace('"10.0.1.20:80" "200"', '"10.0.1.20:80  10.0.1.21:80" " 502  200 "'),
    LAB.replace(' "-" "-" "-"', ' "-" "-" "-" extra "more fields"'),
    LAB.replace(' 0 2026-12-05T05:56:47.685000Z', ' -1 -'),
    LAB.replace('0.143 0.175 0.000 200 200 106 240', '5. .5 -.5 200 200 00106 1234567890123456789'),
    LAB.replace('0.143 0.175 0.000 200 200 106 240', '-1  0.175   -  -  -  -  -'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:47.1234567891234Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2024-02-29T23:59:60.5+05:30'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '"2026-12-05 05:56:47-00:00"'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '9999-12-31T23:59:59.999999999Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2000-02-29T00:00:00Z'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '1970-01-01T00:00:00'),
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-12-05T05:56:60.000001-23:59'),
    LAB.replace('198.51.100.10:55180', '0.0.0.0:0'),
    LAB.replace('198.51.100.10:55180', '255.255.255.255:00065535'),
    LAB.replace(' 200 200 106', ' 999999999 200 106'),
    // (a user agent long enough for the scan's byte-by-byte split: beyond its 4096-byte bitmaps)
    LAB.replace('mirrorlens-lab-load/1', 'x '.repeat(3000)),
    LAB.replace('mirrorlens-lab-load/1', 'y'.repeat(200000)),
  ]) {
    assert.ok(one(l), `declined: ${l.slice(0, 300)}`);
  }
});

test('the native scan agrees with the JavaScript on mutated and spliced lines (property)', { skip }, () => {
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.array(EDIT, { minLength: 1, maxLength: 4 }), fc.boolean(), (seed, edits, crlf) => {
      const l = applyEdits(seed, edits);
      // (the line reader never gives a line with a '\n'; a '\r' before it is the terminator's)
      if (!l.includes('\n') && !(crlf && l.endsWith('\r'))) one(l, crlf);
    }),
    { numRuns: 20000 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.constantFrom(...SEEDS), fc.nat(), fc.nat(), (a, b, i, j) => {
      one(splice(a, b, i, j));
    }),
    { numRuns: 5000 },
  );
});

test('the native scan agrees on raw bytes: invalid UTF-8, NULs, control bytes (property)', { skip }, () => {
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.nat(), bytes, (seed, at, ins) => {
      const b = Buffer.from(seed, 'latin1');
      const i = at % (b.length + 1);
      const line = Buffer.concat([b.subarray(0, i), Buffer.from(ins.filter((x) => x !== 0x0a)), b.subarray(i), Buffer.from('\n')]);
      const seen = scanAll(native!, line);
      assert.equal(seen.length, 1);
      // The line as the reader decodes it: latin1 when all ASCII, else UTF-8 (U+FFFD for invalid sequences).
      const body = line.subarray(0, line.length - 1);
      const text = (body.every((x) => x < 0x80) ? body.toString('latin1') : body.toString('utf8')).replace(/\r$/, '');
      agrees(seen[0]!, text);
    }),
    { numRuns: 5000 },
  );
});

test('the native scan over runs of lines in one buffer: targets named again, CRLF, blank lines, more lines than one call holds (property)', { skip }, () => {
  const line = fc.tuple(fc.constantFrom(...SEEDS), fc.option(fc.constantFrom(...SWAPS)), fc.constantFrom('\n', '\r\n', '\n\n', ' \n'));
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), (run) => {
      const text = run.map(([seed, s, nl]) => (s === null ? seed : seed.replace(s[0], s[1])) + nl).join('');
      const lines = text.split('\n').slice(0, -1).map((l) => l.replace(/\r$/, ''));
      const seen = scanAll(native!, Buffer.from(text, 'utf8'));
      assert.equal(seen.length, lines.length);
      seen.forEach((s, i) => agrees(s, lines[i]!));
    }),
    { numRuns: 1000 },
  );
  // 5 000 lines: three calls (2 048 lines each at most), the target rebuilt at each call's first line
  const many = Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? LAB.replace('10.0.1.20:80', `10.0.1.${i % 5}:80`) : LAB)).join('\n') + '\n';
  const seen = scanAll(native!, Buffer.from(many));
  assert.equal(seen.length, 5000);
  assert.equal(seen.filter((s) => s.quick).length, 5000);
  many.split('\n').slice(0, -1).forEach((l, i) => agrees(seen[i]!, l));
  // a part of a buffer: only whole lines within [from, to), none past `to`
  const buf = Buffer.from(`${LAB}\n${LAB}\n${LAB}`);
  assert.equal(scanAll(native!, buf, 0, buf.length).length, 2);
  assert.equal(scanAll(native!, buf, LAB.length + 1, 2 * LAB.length + 1).length, 0);
});

test('albScan refuses bad arguments with a TypeError or RangeError, never reads out of bounds', { skip }, () => {
  const s = native!;
  const fn = (loadAnalyzeNative().addon as unknown as { albScan: (...a: unknown[]) => number }).albScan;
  assert.throws(() => fn('x', 0, 1, s.ints, s.nums), TypeError);
  assert.throws(() => fn(Buffer.from('a\n'), 0, 2, new Float64Array(8), s.nums), TypeError);
  assert.throws(() => fn(Buffer.from('a\n'), 0, 3, s.ints, s.nums), RangeError);
  assert.throws(() => fn(Buffer.from('a\n'), 2, 1, s.ints, s.nums), RangeError);
  assert.throws(() => fn(Buffer.from('a\n'), -1, 1, s.ints, s.nums), RangeError);
  assert.equal(fn(Buffer.from('a\n'), 0, 2, new Int32Array(0), s.nums), 0);
});
