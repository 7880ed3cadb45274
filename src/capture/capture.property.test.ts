/**
 * Property tests: pcapng written by PcapngWriter reads back identically (through our reader and
 * through tshark), and the parser never throws anything but MirrorlensError, whatever the bytes
 * and however they are chunked. Termination is by construction (every loop advances by a
 * validated length), so these tests contain no timers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PcapngWriter } from './pcapng-writer.js';
import { CaptureParser } from './parser.js';
import { readCapture } from './reader.js';
import { MirrorlensError } from '../wire/errors.js';
import { ourFrames, runTool } from '../../test/capture/tshark.js';

const tmp = mkdtempSync(join(tmpdir(), 'ml-capprop-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const FIX = join(import.meta.dirname, '../../test/fixtures/capture');

const RESOLUTIONS = [9, 6, 3, 0, 0x80 | 10, 0x80 | 20, 0x80 | 24, 0x80 | 30];

const ifArb = fc.record({
  linkType: fc.constantFrom(0, 1, 101, 113, 228, 229, 276),
  snaplen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
  tsresol: fc.constantFrom(...RESOLUTIONS),
  name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  tsOffsetSec: fc.oneof(fc.constant(0), fc.integer({ min: -1_000_000, max: 1_000_000 })),
});

const pktArb = fc.record({
  ifPick: fc.nat(),
  sec: fc.integer({ min: 1_000_001, max: 0xffffffff }),
  nsec: fc.integer({ min: 0, max: 999_999_999 }),
  data: fc.uint8Array({ maxLength: 300 }),
  extra: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70_000 })),
  // Control characters excluded: tshark's -T fields output would escape them.
  comment: fc.option(fc.string({ maxLength: 40, unit: 'grapheme' }).filter((s) => !/[\x00-\x1f\x7f]/.test(s)), { nil: undefined }),
  flags: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
});

const secretArb = fc.record({ type: fc.integer({ min: 0, max: 0xffffffff }), data: fc.uint8Array({ maxLength: 200 }) });

const fileArb = fc.record({
  interfaces: fc.array(ifArb, { minLength: 1, maxLength: 4 }),
  events: fc.array(fc.oneof({ arbitrary: pktArb.map((p) => ({ kind: 'pkt' as const, ...p })), weight: 5 }, { arbitrary: secretArb.map((s) => ({ kind: 'dsb' as const, ...s })), weight: 1 }), { maxLength: 30 }),
});

type FileSpec = typeof fileArb extends fc.Arbitrary<infer T> ? T : never;

/** Nanoseconds as stored and read back in a resolution (floor to a unit, back to ns with floor). */
function quantise(nsec: number, tsresol: number): number {
  const exp = tsresol & 0x7f;
  if ((tsresol & 0x80) === 0) {
    const step = 10 ** (9 - exp);
    return Math.floor(nsec / step) * step;
  }
  const frac = (BigInt(nsec) << BigInt(exp)) / 1_000_000_000n;
  return Number((frac * 1_000_000_000n) >> BigInt(exp));
}

/** Writes the spec with PcapngWriter; returns the bytes and what a reader must deliver. */
function build(spec: FileSpec): { bytes: Uint8Array; expected: string[]; secrets: string[] } {
  const chunks: Uint8Array[] = [];
  const w = new PcapngWriter({ write: (b) => void chunks.push(b) }, { bufferSize: 1024 });
  const ids = spec.interfaces.map((i) => w.addInterface({ linkType: i.linkType, snaplen: i.snaplen, tsresol: i.tsresol, name: i.name, options: { tsOffsetSec: i.tsOffsetSec } }));
  const expected: string[] = [];
  const secrets: string[] = [];
  let index = 0;
  for (const e of spec.events) {
    if (e.kind === 'dsb') {
      w.writeSecrets(e.type, e.data);
      secrets.push(`${e.type}:${Buffer.from(e.data).toString('hex')}`);
      continue;
    }
    const k = e.ifPick % ids.length;
    const itf = spec.interfaces[k]!;
    w.writePacket(ids[k]!, e.sec, e.nsec, e.data, 0, e.data.length, e.data.length + e.extra, e.comment, e.flags);
    const cap = itf.snaplen !== 0 && e.data.length > itf.snaplen ? itf.snaplen : e.data.length;
    expected.push(
      [++index, k, itf.linkType, e.sec, quantise(e.nsec, itf.tsresol), cap, e.data.length + e.extra, e.comment ?? null, e.flags ?? 0, Buffer.from(e.data.subarray(0, cap)).toString('hex')].join('|'),
    );
  }
  w.close();
  return { bytes: Buffer.concat(chunks), expected, secrets };
}

function parse(bytes: Uint8Array, cuts: number[]): { got: string[]; secrets: string[]; warnings: number } {
  const got: string[] = [];
  const secrets: string[] = [];
  let warnings = 0;
  const p = new CaptureParser('prop', {
    onPacket: (r) =>
      void got.push(
        [r.index, r.interfaceId, r.linkType, r.tsSec, r.tsNsec, r.capturedLength, r.originalLength, r.comment, r.flags, Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex')].join('|'),
      ),
    onSecrets: (t, d) => void secrets.push(`${t}:${Buffer.from(d).toString('hex')}`),
    onWarning: () => void warnings++,
  });
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b), bytes.length]) {
    p.push(bytes.subarray(prev, c));
    prev = c;
  }
  p.end();
  return { got, secrets, warnings };
}

test('property: pcapng written then read back gives the same packets, times, comments, flags and secrets, for any chunking', () => {
  fc.assert(
    fc.property(fileArb, fc.array(fc.nat(), { maxLength: 8 }), (spec, cuts) => {
      const { bytes, expected, secrets } = build(spec);
      const r = parse(bytes, cuts.map((c) => c % (bytes.length + 1)));
      assert.equal(r.warnings, 0);
      assert.deepEqual(r.got, expected);
      assert.deepEqual(r.secrets, secrets);
    }),
    { numRuns: 300 },
  );
});

test('property: tshark reads what the writer wrote without warnings, with the same frames as our reader', async () => {
  await fc.assert(
    fc.asyncProperty(fileArb, async (spec) => {
      const { bytes, expected } = build(spec);
      const p = join(tmp, 'rt.pcapng');
      writeFileSync(p, bytes);
      const t = runTool('tshark', ['-r', p, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id', '-e', 'frame.comment']);
      assert.equal(t.stderr, '');
      const rows = t.stdout.split('\n').slice(0, expected.length).map((l) => l.split('\t'));
      const ours = await ourFrames(p);
      assert.equal(ours.lines.length, expected.length);
      assert.deepEqual(
        ours.lines,
        rows.map((r) => r.slice(0, 4).join('\t')),
      );
      assert.deepEqual(
        rows.map((r) => r.slice(4).join('\t')),
        spec.events.flatMap((e) => (e.kind === 'pkt' ? [e.comment ?? ''] : [])),
      );
    }),
    { numRuns: 8 },
  );
});

const seeds = ['arkime_bigendian.pcap', 'wireshark_dtls12-aes128ccm8-dsb.pcapng', 'tcpdump_tcp-handshake-nano.pcap', 'zeek_linux_dlt_sll2.pcap'].map((f) => new Uint8Array(readFileSync(join(FIX, f))));

const mutationArb = fc.record({
  seed: fc.nat(),
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)), word: fc.boolean() }), { maxLength: 12 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

test('property: mutated and truncated captures never throw anything but MirrorlensError, and never over-read', () => {
  fc.assert(
    fc.property(mutationArb, fc.uint8Array({ maxLength: 64 }), (m, junk) => {
      const base = m.seed % 5 === 4 ? junk : seeds[m.seed % seeds.length]!;
      let bytes = new Uint8Array(base);
      for (const e of m.edits) {
        if (bytes.length === 0) break;
        const at = e.at % bytes.length;
        if (e.word) bytes.fill(e.value, at, Math.min(at + 4, bytes.length));
        else bytes[at] = e.value;
      }
      if (m.cut !== undefined) bytes = bytes.subarray(0, m.cut % (bytes.length + 1));
      let packets = 0;
      let total = 0;
      const p = new CaptureParser('mut', {
        onPacket: (r) => {
          packets++;
          assert.ok(r.offset >= 0 && r.offset + r.capturedLength <= r.data.length, 'packet bytes inside the buffer');
          total += r.capturedLength;
        },
        onSecrets: (_t, d) => assert.ok(d.length <= bytes.length),
      });
      try {
        let prev = 0;
        for (const c of [...m.cuts.map((x) => x % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          p.push(bytes.subarray(prev, c));
          prev = c;
        }
        p.end();
      } catch (e) {
        assert.ok(e instanceof MirrorlensError, `threw ${String(e)}`);
        assert.equal(e.code, 'ML_CAPTURE_FORMAT');
      }
      assert.ok(p.bytes <= bytes.length);
      assert.ok(packets <= bytes.length / 12 + 1);
      assert.ok(total <= bytes.length);
      assert.ok(p.maxBuffered <= bytes.length);
    }),
    { numRuns: 3000 },
  );
});

test('property: readCapture on mutated files resolves with warnings or rejects with a MirrorlensError', async () => {
  await fc.assert(
    fc.asyncProperty(mutationArb, async (m) => {
      const base = seeds[m.seed % seeds.length]!;
      const bytes = new Uint8Array(base);
      for (const e of m.edits) bytes[e.at % bytes.length] = e.value;
      const p = join(tmp, 'mut.pcap');
      writeFileSync(p, m.cut === undefined ? bytes : bytes.subarray(0, m.cut % (bytes.length + 1)));
      try {
        const s = await readCapture(p, () => undefined);
        assert.ok(s.bytes <= bytes.length);
      } catch (e) {
        assert.ok(e instanceof MirrorlensError, `threw ${String(e)}`);
      }
    }),
    { numRuns: 300 },
  );
});
