// Table tests of one TCP direction's reassembly: in-order, reordered, overlapping (consistent and
// not), retransmitted, gaps, sequence wraparound, mid-stream pickup, caps. Payloads are ASCII so a
// failure shows which bytes went where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReassemblyBudget, Seg, StreamReassembler, type ReassemblyOwner } from './reassembly.js';
import type { Direction, EndReason } from './stream.js';

class Recorder implements ReassemblyOwner {
  out: string[] = [];
  text = '';
  streamData(_d: Direction, b: Uint8Array, off: number, len: number, at: number): void {
    const s = Buffer.from(b.subarray(off, off + len)).toString('latin1');
    this.out.push(`data@${at}:${s}`);
    this.text += s;
  }
  streamGap(_d: Direction, at: number, len: number): void {
    this.out.push(`gap@${at}+${len}`);
    this.text += '_'.repeat(len);
  }
  streamEnd(_d: Direction, reason: EndReason): void {
    this.out.push(`end:${reason}`);
  }
}

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function run(isn: number, segs: [number, string][], opts: { window?: number; budget?: ReassemblyBudget } = {}) {
  const rec = new Recorder();
  const budget = opts.budget ?? new ReassemblyBudget();
  const r = new StreamReassembler(0, rec, budget);
  r.init((isn + 1) >>> 0);
  const flags: number[] = [];
  let t = 0;
  for (const [rel, s] of segs) {
    const b = enc(`xx${s}`); // payload at offset 2 of a larger buffer, as in a packet
    flags.push(r.segment((isn + 1 + rel) >>> 0, b, 2, s.length, t));
    t += 0.001;
    if (opts.window !== undefined) r.expire(t, opts.window);
  }
  return { rec, r, flags, budget };
}

test('in-order segments pass through at increasing offsets', () => {
  const { rec, flags } = run(1000, [[0, 'GET '], [4, '/ HTTP/1.1']]);
  assert.deepEqual(rec.out, ['data@0:GET ', 'data@4:/ HTTP/1.1']);
  assert.deepEqual(flags, [Seg.New, Seg.New]);
});

test('in-order data is delivered as a view of the packet buffer, not a copy', () => {
  let seen: Uint8Array | null = null;
  const owner: ReassemblyOwner = { streamData: (_d, b) => { seen = b; }, streamGap() {}, streamEnd() {} };
  const r = new StreamReassembler(0, owner, new ReassemblyBudget());
  r.init(1);
  const pkt = enc('headerPAYLOAD');
  r.segment(1, pkt, 6, 7, 0);
  assert.equal(seen, pkt);
});

test('a reordered segment is held, then released in order when the hole fills', () => {
  const { rec, flags, r } = run(1000, [[0, 'ab'], [4, 'ef'], [2, 'cd']]);
  assert.deepEqual(rec.out, ['data@0:ab', 'data@2:cd', 'data@4:ef']);
  assert.equal(flags[1], Seg.New | Seg.Held);
  assert.equal(flags[2], Seg.New | Seg.Filled, 'the late segment carried new bytes: reordering, not retransmission');
  assert.equal(r.heldBytes, 0);
  assert.equal(r.retransmittedBytes, 0);
});

test('several held segments in reverse order come out in order', () => {
  const { rec } = run(7, [[6, 'gh'], [4, 'ef'], [2, 'cd'], [0, 'ab']]);
  assert.equal(rec.text, 'abcdefgh');
  assert.equal(rec.out.length, 4);
});

test('a retransmission of delivered bytes is flagged Old and not delivered again', () => {
  const { rec, flags, r } = run(0, [[0, 'abcd'], [0, 'abcd'], [4, 'ef']]);
  assert.equal(rec.text, 'abcdef');
  assert.equal(flags[1], Seg.Old);
  assert.equal(r.retransmittedBytes, 4);
});

test('a segment overlapping delivered bytes delivers only its new tail', () => {
  const { rec, flags } = run(0, [[0, 'abcd'], [2, 'cdEF']]);
  assert.deepEqual(rec.out, ['data@0:abcd', 'data@4:EF']);
  assert.equal(flags[1], Seg.Old | Seg.New);
});

test('consistent overlap with held data is not flagged', () => {
  const { rec, flags, r } = run(0, [[0, 'ab'], [4, 'efgh'], [6, 'ghij'], [2, 'cd']]);
  assert.equal(rec.text, 'abcdefghij');
  assert.equal(flags[2] & Seg.Inconsistent, 0);
  assert.equal(r.inconsistentBytes, 0);
});

test('inconsistent overlap with held data is counted and the first copy wins', () => {
  const { rec, flags, r } = run(0, [[0, 'ab'], [4, 'efgh'], [6, 'XYij'], [2, 'cd']]);
  assert.equal(rec.text, 'abcdefghij');
  assert.ok(flags[2]! & Seg.Inconsistent);
  assert.equal(r.inconsistentBytes, 2);
  assert.equal(r.inconsistentSegments, 1);
});

test('an in-order segment that differs from held bytes it overlaps is flagged', () => {
  const { flags, r } = run(0, [[4, 'ef'], [0, 'abcdeX']]);
  assert.ok(flags[1]! & Seg.Inconsistent);
  assert.equal(r.inconsistentBytes, 1);
});

test('a hole older than the reorder window becomes a gap and the stream continues', () => {
  const { rec, r } = run(0, [[0, 'ab'], [5, 'fg'], [7, 'hi'], [9, 'jk']], { window: 0.0025 });
  assert.deepEqual(rec.out, ['data@0:ab', 'gap@2+3', 'data@5:fg', 'data@7:hi', 'data@9:jk']);
  assert.equal(r.gapBytes, 3);
  assert.equal(r.gapCount, 1);
});

test('bytes arriving for a region already given up are Late, not a retransmission', () => {
  const { rec, flags } = run(0, [[0, 'ab'], [5, 'fg'], [7, 'hi'], [9, 'jk'], [2, 'cde']], { window: 0.0025 });
  assert.equal(rec.text, 'ab___fghijk');
  assert.equal(flags[4], Seg.Late);
});

test('close() reports remaining holes and missing bytes up to the acknowledged end as gaps', () => {
  const { rec, r } = run(0, [[0, 'ab'], [4, 'ef']]);
  r.close('capture-end', 1, 10);
  assert.deepEqual(rec.out, ['data@0:ab', 'gap@2+2', 'data@4:ef', 'gap@6+4', 'end:capture-end']);
});

test('FIN ends the stream once all bytes before it arrived, even if the FIN came first', () => {
  const rec = new Recorder();
  const r = new StreamReassembler(1, rec, new ReassemblyBudget());
  r.init(101);
  r.segment(103, enc('cd'), 0, 2, 0);
  r.fin(105, 0);
  assert.deepEqual(rec.out, []);
  r.segment(101, enc('ab'), 0, 2, 0);
  assert.deepEqual(rec.out, ['data@0:ab', 'data@2:cd', 'end:fin']);
  r.close('timeout', 5);
  assert.equal(rec.out.length, 3, 'end is reported at most once');
});

test('sequence wraparound: offsets keep growing across 2^32', () => {
  const isn = 0xfffffff0;
  const { rec } = run(isn, [[0, 'abcdefghijklmn'], [14, 'opqrstuvwxyz'], [26, '0123']]);
  assert.equal(rec.text, 'abcdefghijklmnopqrstuvwxyz0123');
  assert.deepEqual(rec.out.map((s) => s.split(':')[0]), ['data@0', 'data@14', 'data@26']);
});

test('wraparound with reordering across the wrap point', () => {
  const isn = 0xfffffffa;
  const { rec } = run(isn, [[0, 'abcd'], [8, 'ijkl'], [4, 'efgh']]);
  assert.equal(rec.text, 'abcdefghijkl');
});

test('offsets past 2^32 stay exact (a stream longer than 4 GiB)', () => {
  const rec = new Recorder();
  const r = new StreamReassembler(0, rec, new ReassemblyBudget());
  r.init(5);
  // Pretend 5 GiB were delivered: move the in-order point without delivering bytes.
  r.next = 5 * 2 ** 30;
  const seq = (5 + 5 * 2 ** 30) % 2 ** 32;
  r.segment(seq, enc('zz'), 0, 2, 0);
  assert.deepEqual(rec.out, [`data@${5 * 2 ** 30}:zz`]);
});

test('mid-stream pickup: offset 0 is the first byte seen, earlier bytes are BeforeStart', () => {
  const rec = new Recorder();
  const r = new StreamReassembler(0, rec, new ReassemblyBudget());
  const f1 = r.segment(777777, enc('world'), 0, 5, 0);
  const f2 = r.segment(777771, enc('hello world'), 0, 11, 0);
  assert.equal(f1, Seg.New);
  assert.ok(f2 & Seg.BeforeStart);
  assert.deepEqual(rec.out, ['data@0:world']);
  assert.equal(r.beforeStartBytes, 6);
});

test('the per-connection cap gives up the oldest hole, counted', () => {
  const budget = new ReassemblyBudget(4, 1000);
  const { rec, r, budget: b } = run(0, [[0, 'ab'], [4, 'ef'], [8, 'ijk']], { budget });
  // Holding 'ijk' would make 5 bytes > 4: the first hole (2..4) is given up, 'ef' released;
  // 'ijk' (3 bytes) fits and stays held behind the second hole.
  assert.deepEqual(rec.out, ['data@0:ab', 'gap@2+2', 'data@4:ef']);
  assert.equal(b.overflows, 1);
  assert.equal(r.heldBytes, 3);
  r.close('capture-end', 1);
  assert.deepEqual(rec.out.slice(3), ['gap@6+2', 'data@8:ijk', 'end:capture-end']);
  assert.equal(b.heldBytesTotal, 0);
});

test('the global cap is shared between connections', () => {
  const budget = new ReassemblyBudget(1000, 5);
  const a = run(0, [[0, 'a'], [2, 'ccc']], { budget });
  assert.equal(budget.heldBytesTotal, 3);
  const b = run(0, [[0, 'a'], [2, 'ccc']], { budget });
  assert.equal(budget.overflows, 1);
  assert.equal(b.rec.text, 'a_ccc');
  a.r.discard();
  assert.equal(budget.heldBytesTotal, 0);
});

test('property: any delivery order of a segmented stream yields the same bytes', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.nat({ max: 5 }),
      (text, cuts, isn, perm, dups) => {
        const bytes = Buffer.from(text, 'latin1');
        const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((x, y) => x - y);
        const segs: [number, string][] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          if (p > prev) segs.push([prev, bytes.subarray(prev, p).toString('latin1')]);
          prev = Math.max(prev, p);
        }
        for (let i = 0; i < dups && segs.length; i++) segs.push(segs[i % segs.length]!);
        // Shuffle deterministically by perm.
        for (let i = segs.length - 1; i > 0; i--) {
          const j = (perm[i % Math.max(perm.length, 1)] ?? 0) % (i + 1);
          [segs[i], segs[j]] = [segs[j]!, segs[i]!];
        }
        const { rec, r } = run(isn, segs);
        r.close('capture-end', 1);
        assert.equal(rec.text, bytes.toString('latin1'));
        assert.equal(r.inconsistentBytes, 0);
      },
    ),
  );
});
