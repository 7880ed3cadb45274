import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import { generateSynFlood } from '../analyze/synflood.js';

// The native first pass's memory does not follow the number of connections: the C survey keeps
// only the chunk of rows being filled (the others go to a temporary file), and the hand-over reads
// them back one chunk at a time into the survey's records, which spill too. It kept every row in
// C (251 bytes a row, in arrays grown by doubling) and copied them all to JavaScript at the end,
// both alive at once: about 0.5 KB of peak memory per connection. Each pass runs in a child
// process over a port scan refused by RSTs (one connection per SYN, each over when its RST comes),
// of 5 000 and of 45 000 connections; their peak resident sizes must stay close.

const { addon, why } = loadAnalyzeNative();
const skip = addon === null ? `the native addon is not here: ${why}` : false;
const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

/** Peak resident KiB (VmHWM) of a child running the native first pass over `capture`, and the rows it gave. */
function peak(capture: string): { hwmKiB: number; rows: number; declined?: string } {
  const script = `import { readFileSync } from 'node:fs';
    import { startNativeFirstPass } from ${src('flow/first-pass-native.ts')};
    const r = await startNativeFirstPass([${JSON.stringify(capture)}], { idleGapThresholdSeconds: 30, closeLingerSeconds: 0 }, null).result;
    const hwmKiB = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
    console.log(JSON.stringify('declined' in r ? { declined: r.declined, hwmKiB, rows: 0 } : { hwmKiB, rows: r.recs.size }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as { hwmKiB: number; rows: number; declined?: string };
}

test('the native first pass peaks at about the same memory for 5 000 and 45 000 connections', { skip }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-spillmem-'));
  try {
    const small = generateSynFlood(5_000, join(dir, 'small'), { real: 0, scan: true, answer: 'rst' }).capture;
    const big = generateSynFlood(45_000, join(dir, 'big'), { real: 0, scan: true, answer: 'rst' }).capture;
    const a = peak(small);
    const b = peak(big);
    if (a.declined !== undefined || b.declined !== undefined) {
      t.skip(`native first pass declined: ${a.declined ?? b.declined}`);
      return;
    }
    assert.equal(a.rows, 5_000);
    assert.equal(b.rows, 45_000);
    // 40 000 more connections: 20+ MiB more when every row was held twice; now about 1 MiB (uid words, SYN times).
    const moreMiB = (b.hwmKiB - a.hwmKiB) / 1024;
    assert.ok(moreMiB < 6, `peak ${(a.hwmKiB / 1024).toFixed(1)} MiB for 5 000 connections, ${(b.hwmKiB / 1024).toFixed(1)} MiB for 45 000 (+${moreMiB.toFixed(1)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
