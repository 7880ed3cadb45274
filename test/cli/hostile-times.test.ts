/**
 * A capture can carry any timestamp: a pcapng timestamp is 64 bits (2^64 microseconds is about
 * year 586 000), far past what a JavaScript Date holds (year 275 760), whose toISOString then
 * throws. One such packet in the example capture must not stop any command: every time is
 * printed, the absurd one as its number of seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, inBatches, runBin } from './bin.js';

const EX = join(ROOT, 'examples/idle-reset');

/**
 * The capture with its last packet moved to a new interface whose timestamps count seconds
 * (if_tsresol 10^0), at 0x1000_00000000 s (about 1.76e13 s: year 559 000). The capture's own
 * interface counts nanoseconds, whose 64 bits end in year 2554, inside what a Date holds.
 */
function withAbsurdLastTime(b: Buffer): Buffer {
  let idb = -1;
  let interfaces = 0;
  let last = -1;
  for (let p = 0; p + 12 <= b.length; ) {
    const type = b.readUInt32LE(p);
    if (type === 1 && idb < 0) idb = p;
    if (type === 1) interfaces++;
    if (type === 6) last = p;
    p += b.readUInt32LE(p + 4);
  }
  assert.ok(idb > 0 && last > idb, 'an IDB and an EPB');
  // IDB: type 1, length 32, the first IDB's link type, snaplen 0, if_tsresol (9) = 0, end of options, length.
  const extra = Buffer.alloc(32);
  extra.writeUInt32LE(1, 0);
  extra.writeUInt32LE(32, 4);
  extra.writeUInt16LE(b.readUInt16LE(idb + 8), 8);
  extra.writeUInt16LE(9, 16);
  extra.writeUInt16LE(1, 18);
  extra[20] = 0;
  extra.writeUInt32LE(32, 28);
  const epb = Buffer.from(b.subarray(last, last + b.readUInt32LE(last + 4)));
  epb.writeUInt32LE(interfaces, 8); // the new interface (one section: ids count IDBs)
  epb.writeUInt32LE(0x1000, 12); // timestamp (high)
  return Buffer.concat([b.subarray(0, last), extra, epb, b.subarray(last + epb.length)]);
}

test('a packet whose time no date can hold: every command prints it and goes on (no internal error)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-times-'));
  try {
    const cap = join(dir, 'absurd-time.pcapng');
    writeFileSync(cap, withAbsurdLastTime(readFileSync(join(EX, 'idle-reset.pcapng'))));
    const keys = ['--keylog', join(EX, 'keys.log')];
    const alb = ['--alb-log', join(EX, 'alb-access.log')];
    const runs: string[][] = [
      ['read', cap],
      ['read', cap, '--json'],
      ['conns', cap],
      ['conns', cap, '--json'],
      ['tls', cap, ...keys],
      ['http', cap, ...keys],
      ['analyze', cap, ...keys, ...alb],
      ['analyze', cap, ...keys, ...alb, '--format', 'json'],
      ['analyze', cap, ...keys, ...alb, '--format', 'html'],
    ];
    const results = await inBatches(runs.map((args) => () => runBin(args)));
    for (const [i, r] of results.entries()) {
      const what = `mirrorlens ${runs[i]!.join(' ')}: exit ${r.code}\n${r.err}`;
      assert.notEqual(r.code, 70, what);
      assert.doesNotMatch(r.err, /internal error|Invalid time value| {4}at /, what);
      assert.ok(r.out.length > 0, what);
    }
    // The absurd time itself, printed as seconds: relative to the first packet (read) and absolute (conns --json).
    assert.match(results[0]!.out.trimEnd().split('\n').pop()!, /^ *\d+ +1759\d{10}\.\d+ /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
