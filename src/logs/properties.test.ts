// Property tests: no parser throws on arbitrary input, and readLogs yields the same records and
// bad-line reports for any chunking of the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { parseAlbLine } from './alb.js';
import { parseAlbConnectionLine } from './alb-conn.js';
import { parseNlbLine } from './nlb.js';
import { parseClbLine } from './clb.js';
import { compileFlowFormat, parseFlowLine } from './flow.js';
import { readLogs, type LogRecord } from './read.js';
import type { BadLine } from './types.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');
const ALB = readFileSync(join(fixtures, 'alb-current-doc.log'), 'utf8').trim();
const FLOW_FMT = compileFlowFormat(['version', 'srcaddr', 'tcp-flags', 'x-unknown']);

// Lines close to real ones (a real entry with fields dropped, duplicated or mangled) find more
// paths than uniformly random strings.
const mutated = fc
  .tuple(fc.array(fc.nat(40), { maxLength: 4 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }))
  .map(([cuts, inserts]) => {
    const parts = ALB.split(' ');
    for (const c of cuts) parts.splice(c % (parts.length + 1), 1);
    inserts.forEach((s, i) => parts.splice((i * 7) % (parts.length + 1), 0, s));
    return parts.join(' ');
  });

test('no parser throws, whatever the line', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), mutated), (line) => {
      for (const r of [parseAlbLine(line), parseAlbConnectionLine(line), parseNlbLine(line), parseClbLine(line), parseFlowLine(line), parseFlowLine(line, FLOW_FMT)]) {
        assert.ok(r.kind === 'error' ? typeof (r as { reason: string }).reason === 'string' : typeof r.kind === 'string');
      }
    }),
    { numRuns: 2000 },
  );
});

async function run(chunks: Buffer[]): Promise<{ recs: LogRecord[]; bad: BadLine[] }> {
  const recs: LogRecord[] = [];
  const bad: BadLine[] = [];
  await readLogs(['-'], (r) => recs.push(r), { stdin: Readable.from(chunks), onBadLine: (b) => bad.push(b) });
  return { recs, bad };
}

test('readLogs gives the same records and reports for every chunking of the input', async () => {
  const input = Buffer.from(
    [ALB, 'garbage line', ALB.replace('curl/7.46.0', 'Bücher 😀 \\"q\\"'), '', ALB.replace('0.001', 'x'), `${ALB}\r`, ALB].join('\n'),
  );
  const whole = await run([input]);
  assert.equal(whole.recs.length, 4);
  assert.equal(whole.bad.length, 2);
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 12 }), async (cuts) => {
      const sorted = [0, ...cuts.sort((a, b) => a - b), input.length];
      const chunks = sorted.slice(1).map((end, i) => input.subarray(sorted[i]!, end));
      const got = await run(chunks);
      assert.deepEqual(got, whole);
    }),
    { numRuns: 200 },
  );
});
