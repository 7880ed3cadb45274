import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAlbLine } from './alb.js';
import { AlbLineFacts, AlbLineScanner } from './alb-scan.js';
import { ipv4ToString } from '../wire/ipv4.js';
import { EDIT, LAB, SEEDS, SWAPS, applyEdits, splice } from '../../test/alb-lines.js';

/**
 * The property: when the quick scan accepts a line, the full parser accepts it too, with the same
 * time, client, target and elb_status_code. (Refusing is always allowed: the full parse follows.)
 */
function agrees(line: string, scanner = new AlbLineScanner()): boolean {
  const f = new AlbLineFacts();
  const ok = scanner.scan(line, f);
  const r = parseAlbLine(line);
  if (!ok) return false;
  assert.notEqual(r.kind, 'error', `the quick scan accepted a line the parser refuses (${r.kind === 'error' ? r.reason : ''}): ${JSON.stringify(line)}`);
  if (r.kind === 'error') return false;
  assert.ok(Object.is(f.time, r.time), `time ${f.time} vs ${r.time}: ${line}`);
  assert.equal(f.clientAddr, r.clientAddr, line);
  assert.equal(f.clientPort, r.clientPort, line);
  assert.equal(f.clientV4 >= 0 ? ipv4ToString(f.clientV4) : null, f.clientV4 >= 0 ? r.clientAddr : null, line);
  if (f.clientV4 < 0) assert.ok(!/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(r.clientAddr) || r.clientAddr.split('.').some((x) => Number(x) > 255), `a dotted quad not taken as one: ${r.clientAddr}`);
  assert.equal(f.targetAddr, r.targetAddr, line);
  assert.equal(f.targetPort, r.targetPort, line);
  assert.equal(f.elbStatusCode, r.elbStatusCode, line);
  return true;
}

test('the quick scan accepts every fixture ALB line with the full parser\'s values', () => {
  const scanner = new AlbLineScanner();
  for (const l of SEEDS) assert.ok(agrees(l, scanner), `refused: ${l}`);
});

test('the quick scan refuses what the parser refuses, and lines it is unsure of', () => {
  const bad = [
    LAB.replace('2026-12-05T05:56:47.859000Z', '2026-13-05T05:56:47.859000Z'),
    LAB.replace('198.51.100.10:55180', '198.51.100.10:65536'),
    LAB.replace('10.0.1.20:80 0.143', '10.0.1.20 0.143'),
    LAB.replace('0.175', '0.1x5'),
    LAB.replace(' 200 200 106', ' 2oo 200 106'),
    LAB.replace(' 200 200 106', ' 200 20x 106'),
    LAB.replace(' 106 240 ', ' 106 -2 '),
    LAB.replace(' 0 2026-12-05T05:56:47.685000Z', ' x 2026-12-05T05:56:47.685000Z'),
    LAB.replace(' 0 2026-12-05T05:56:47.685000Z', ' 0 2026-12-05T05:56'),
    LAB.replace('"200" "-" "-" TID', '"200 x" "-" "-" TID'),
    LAB.replace('"mirrorlens-lab-load/1"', '"mirrorlens-lab-load/1'),
    LAB.split(' ').slice(0, 12).join(' '),
    LAB.replace('0.143', '1.2.3'),
    LAB.replace('0.143', '+1'),
    LAB.replace('0.143', '1e3'),
    LAB.replace('0.143', '.'),
    LAB.replace(' 106 240 ', ' 106 2.5 '),
    LAB.replace('0.143', '1'.repeat(100000) + 'x'),
    LAB.replace(' 0.175 ', ' ' + ' '.repeat(100000) + 'x '),
    // (An empty target field on the first line read: once taken for the remembered target.)
    LAB.replace('10.0.1.20:80 0.143', '"" 0.143'),
  ];
  for (const l of bad) {
    assert.equal(parseAlbLine(l).kind, 'error', l);
    assert.equal(new AlbLineScanner().scan(l, new AlbLineFacts()), false, l);
  }
  // Valid, but left to the full parser: tabs and backslashes (escapes change where quotes end).
  for (const l of [LAB.replace(' 0.143 ', '\t0.143 '), LAB.replace('mirrorlens-lab-load/1', 'a \\"quoted\\" agent')]) {
    assert.notEqual(parseAlbLine(l).kind, 'error', l);
    assert.equal(new AlbLineScanner().scan(l, new AlbLineFacts()), false, l);
  }
});

test('the quick scan: IPv6 and bracketed clients, absent target and status, status lists, a target named again', () => {
  const scanner = new AlbLineScanner();
  for (const l of [
    LAB.replace('198.51.100.10:55180', '2001:db8::1:55180'),
    LAB.replace('198.51.100.10:55180', '[2001:db8::1]:55180'),
    LAB.replace('198.51.100.10:55180', '[198.51.100.10]:55180'),
    LAB.replace('198.51.100.10:55180', '010.51.100.10:55180'),
    LAB.replace('198.51.100.10:55180', '198.51.100.256:55180'),
    LAB.replace('10.0.1.20:80 0.143 0.175 0.000 200 200', '- -1 -1 -1 503 -'),
    LAB.replace(' 200 200 106', ' - - 106'),
    LAB.replace('"10.0.1.20:80" "200"', '"10.0.1.20:80 10.0.1.21:80" "- 200"'),
    LAB.replace('"10.0.1.20:80" "200"', '"10.0.1.20:80  10.0.1.21:80" " 502  200 "'),
    LAB.replace('10.0.1.20:80 0.143', '10.0.1.21:8080 0.143'),
    LAB,
    LAB.replace(' "-" "-" "-"', ' "-" "-" "-" extra "more fields"'),
    LAB.replace(' 0 2026-12-05T05:56:47.685000Z', ' -1 -'),
    // Numbers as parseDecimal / parseUint take them: a bare or leading dot, -1, -.5, leading zeros, 16+ digits, more spaces.
    LAB.replace('0.143 0.175 0.000 200 200 106 240', '5. .5 -.5 200 200 00106 1234567890123456789'),
    LAB.replace('0.143 0.175 0.000 200 200 106 240', '-1  0.175   -  -  -  -  -'),
  ]) {
    assert.ok(agrees(l, scanner), `refused: ${l}`);
  }
});


test('the quick scan agrees with the parser on mutated lines (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.array(EDIT, { minLength: 1, maxLength: 4 }), (seed, edits) => {
      agrees(applyEdits(seed, edits));
    }),
    { numRuns: 20000 },
  );
});

test('the quick scan agrees with the parser on lines cut and spliced at field boundaries (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.constantFrom(...SEEDS), fc.nat(), fc.nat(), (a, b, i, j) => {
      agrees(splice(a, b, i, j));
    }),
    { numRuns: 5000 },
  );
});

test('one scanner over a run of lines (what it remembers of the last target and client never leaks into the next line) (property)', () => {
  const swap = fc.constantFrom(...SWAPS);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...SEEDS), fc.option(swap)), { minLength: 2, maxLength: 12 }), (run) => {
      const scanner = new AlbLineScanner();
      for (const [seed, s] of run) agrees(s === null ? seed : seed.replace(s[0], s[1]), scanner);
    }),
    { numRuns: 3000 },
  );
});
