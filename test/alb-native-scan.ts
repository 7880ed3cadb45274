// The native ALB quick scan's output read back line by line (src/logs/alb-scan-native.ts), with
// each quick line's target rebuilt as src/logs/read.ts does (a string where the scan says it
// changed): what the scan's unit test and its fuzz target hold against the JavaScript scan.
import assert from 'node:assert/strict';
import { INTS, NUMS, ST_NON_ASCII, ST_QUICK, ST_TARGET_NEW, type NativeAlbScan } from '../src/logs/alb-scan-native.js';

/** What the native scan said of one line (targets rebuilt as read.ts does: a string when the scan says it changed). */
export interface Seen {
  /** The line's text as the line reader gives it (decoded, '\r' before the '\n' removed). */
  text: string;
  quick: boolean;
  nonAscii: boolean;
  time: number;
  clientV4: number;
  clientPort: number;
  targetAddr: string | null;
  targetPort: number | null;
  elb: number | null;
}

/** Scans every '\n'-terminated line of buf, calling again while lines remain. */
export function scanAll(s: NativeAlbScan, buf: Buffer, from = 0, to = buf.length): Seen[] {
  const out: Seen[] = [];
  let start = from;
  while (start < to) {
    const k = s.scan(buf, start, to);
    if (k === 0) break;
    let target: string | null = null;
    let port: number | null = null;
    let have = false;
    for (let i = 0; i < k; i++) {
      const o = i * INTS;
      const st = s.ints[o + 2]!;
      const end = s.ints[o + 1]!;
      const quick = (st & ST_QUICK) !== 0;
      if (quick && (!have || (st & ST_TARGET_NEW) !== 0)) {
        const p = s.ints[o + 6]!;
        target = p < 0 ? null : buf.toString('latin1', s.ints[o + 4]!, s.ints[o + 5]!);
        port = p < 0 ? null : p;
        have = true;
      }
      const elb = s.ints[o + 7]!;
      out.push({
        text: buf.toString((st & ST_NON_ASCII) !== 0 ? 'utf8' : 'latin1', start, end),
        quick,
        nonAscii: (st & ST_NON_ASCII) !== 0,
        time: s.nums[i * NUMS]!,
        clientV4: s.nums[i * NUMS + 1]!,
        clientPort: s.ints[o + 3]!,
        targetAddr: target,
        targetPort: port,
        elb: elb < 0 ? null : elb,
      });
      assert.equal(s.ints[o]!, buf.indexOf(0x0a, start), 'the line ends at its newline');
      start = s.ints[o]! + 1;
    }
  }
  return out;
}

