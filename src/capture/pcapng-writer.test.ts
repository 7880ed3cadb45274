import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EpbFlags, PcapngWriter, SecretsType } from './pcapng-writer.js';
import { readCapture } from './reader.js';
import { MirrorlensError } from '../wire/errors.js';
import { ourFrames, runTool, tsharkFrames } from '../../test/capture/tshark.js';
import { concat, ipv4Udp, utf8 } from '../../test/capture/blocks.js';

const tmp = mkdtempSync(join(tmpdir(), 'ml-writer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An Ethernet frame carrying IPv4/UDP (dst MAC 00:01:02:03:04:05, src 06:..:0b, EtherType 0800). */
function ethFrame(n: number, seed = 0): Uint8Array {
  return concat(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00), ipv4Udp(n - 14, seed));
}

function writeSample(path: string): PcapngWriter {
  const w = new PcapngWriter({ path }, { shb: { hardware: 'x86_64', os: 'Linux', userAppl: 'mirrorlens test', comment: 'section comment' } });
  w.writeSecrets(SecretsType.TLSKeyLog, utf8(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`));
  const vni = w.addInterface({ linkType: 1, name: 'vxlan-vni-4242', description: 'VXLAN VNI 4242 from eni-0abc', options: { filter: 'udp port 4789', os: 'Linux', comment: 'mirror session 1' } });
  const raw = w.addInterface({ linkType: 101, name: 'geneve-gwlbe', snaplen: 64, tsresol: 6 });
  w.writePacket(vni, 1_700_000_000, 123_456_789, ethFrame(98), 0, 98, undefined, 'first packet', EpbFlags.inbound);
  w.writePacket(raw, 1_700_000_000, 999_999_999, ipv4Udp(200), 0, 200); // cut to snaplen 64, original 200 kept
  w.writePacket(vni, 1_700_000_001, 0, ethFrame(60, 3), 0, 60, 1514); // truncated by the mirror (PacketLength)
  w.writePacket(vni, 4_294_967_295, 999_999_999, ethFrame(61), 0, 61, undefined, 'ünïcode <comment> & "quotes"', EpbFlags.outbound);
  w.close();
  return w;
}

test('files written open in tshark and capinfos without a single warning', () => {
  const p = join(tmp, 'sample.pcapng');
  writeSample(p);
  for (const args of [['-r', p], ['-r', p, '-V'], ['-r', p, '-x']]) {
    const r = runTool('tshark', args);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '', `tshark ${args.join(' ')}`);
  }
  const ci = runTool('capinfos', [p]);
  assert.equal(ci.status, 0);
  assert.equal(ci.stderr, '');
  assert.match(ci.stdout, /Number of packets:\s+4\n/);
  assert.match(ci.stdout, /Number of interfaces in file: 2/);
  assert.match(ci.stdout, /Name = vxlan-vni-4242/);
  assert.match(ci.stdout, /Description = VXLAN VNI 4242 from eni-0abc/);
  assert.match(ci.stdout, /Filter string = udp port 4789/);
  assert.match(ci.stdout, /Capture length = 64/);
  assert.match(ci.stdout, /Capture application: mirrorlens test/);
  assert.match(ci.stdout, /Capture comment:\s+section comment/);
  assert.match(ci.stdout, /Number of decryption secrets in file: 1/);
});

test('tshark sees the times (ns), lengths, interfaces, comments and direction flags written', async () => {
  const p = join(tmp, 'fields.pcapng');
  writeSample(p);
  const theirs = tsharkFrames(p);
  assert.deepEqual(theirs.lines, [
    '1700000000.123456789\t98\t98\t0',
    '1700000000.999999000\t64\t200\t1',
    '1700000001.000000000\t60\t1514\t0',
    '4294967295.999999999\t61\t61\t0',
  ]);
  assert.deepEqual((await ourFrames(p)).lines, theirs.lines);
  const c = runTool('tshark', ['-r', p, '-T', 'fields', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction']);
  assert.deepEqual(c.stdout.split('\n').filter(Boolean), ['first packet\t0x00000001', '\t', '\t', 'ünïcode <comment> & "quotes"\t0x00000002']);
});

test('sinks: a path, an fd and a write() object produce the same bytes; bytesWritten is the file size', () => {
  const p1 = join(tmp, 'a.pcapng');
  const w1 = writeSample(p1);
  const p2 = join(tmp, 'b.pcapng');
  const fd = openSync(p2, 'w');
  const chunks: Uint8Array[] = [];
  for (const sink of [{ fd }, { write: (b: Uint8Array) => void chunks.push(b) }]) {
    const w = new PcapngWriter(sink, { shb: { hardware: 'x86_64', os: 'Linux', userAppl: 'mirrorlens test', comment: 'section comment' }, bufferSize: 100 });
    w.writeSecrets(SecretsType.TLSKeyLog, utf8(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`));
    const vni = w.addInterface({ linkType: 1, name: 'vxlan-vni-4242', description: 'VXLAN VNI 4242 from eni-0abc', options: { filter: 'udp port 4789', os: 'Linux', comment: 'mirror session 1' } });
    const raw = w.addInterface({ linkType: 101, name: 'geneve-gwlbe', snaplen: 64, tsresol: 6 });
    w.writePacket(vni, 1_700_000_000, 123_456_789, ethFrame(98), 0, 98, undefined, 'first packet', EpbFlags.inbound);
    w.writePacket(raw, 1_700_000_000, 999_999_999, ipv4Udp(200), 0, 200);
    w.writePacket(vni, 1_700_000_001, 0, ethFrame(60, 3), 0, 60, 1514);
    w.writePacket(vni, 4_294_967_295, 999_999_999, ethFrame(61), 0, 61, undefined, 'ünïcode <comment> & "quotes"', EpbFlags.outbound);
    w.close();
    assert.equal(w.bytesWritten, w1.bytesWritten);
  }
  closeSync(fd);
  const a = readFileSync(p1);
  assert.equal(statSync(p1).size, w1.bytesWritten);
  assert.deepEqual(readFileSync(p2), a);
  assert.deepEqual(Buffer.concat(chunks), a);
  assert.ok(chunks.length > 3, 'a 100-byte buffer flushes often');
});

test('a sink that consumes synchronously gets views of the one buffer (no copy per flush), and the same bytes', () => {
  const copies: Uint8Array[] = [];
  const backing = new Set<ArrayBufferLike>();
  const views: Uint8Array[] = [];
  const sinks = [{ write: (b: Uint8Array) => void views.push(b) }, { write: (b: Uint8Array) => void (backing.add(b.buffer), copies.push(b.slice())), consumesSynchronously: true }];
  for (const sink of sinks) {
    const w = new PcapngWriter(sink, { bufferSize: 256 });
    const itf = w.addInterface({ linkType: 101 });
    for (let i = 0; i < 50; i++) w.writePacket(itf, 1_700_000_000, i, ipv4Udp(28 + ((i * 37) % 100)), 0, 28 + ((i * 37) % 100)); // blocks < the buffer
    w.close();
  }
  assert.ok(copies.length > 10);
  assert.equal(backing.size, 1, 'every flush hands over a view of the same buffer');
  assert.deepEqual(Buffer.concat(copies), Buffer.concat(views));
});

test('the buffer only ever holds whole blocks: every flush ends on a block boundary', () => {
  const chunks: Uint8Array[] = [];
  const w = new PcapngWriter({ write: (b) => void chunks.push(b) }, { bufferSize: 256 });
  const itf = w.addInterface({ linkType: 101 });
  for (let i = 0; i < 50; i++) w.writePacket(itf, 1_700_000_000, i, ipv4Udp(28 + ((i * 37) % 500)), 0, 28 + ((i * 37) % 500));
  w.close();
  const all = Buffer.concat(chunks);
  const ends = new Set<number>([0]);
  for (let p = 0; p < all.length; ) {
    p += all.readUInt32LE(p + 4);
    ends.add(p);
  }
  let at = 0;
  for (const c of chunks) {
    at += c.length;
    assert.ok(ends.has(at), `a flush ended at ${at}, inside a block`);
  }
  assert.ok(chunks.length > 10);
});

test('a writer killed with SIGKILL leaves a file tshark and our reader read cleanly up to its last block', async () => {
  const p = join(tmp, 'killed.pcapng');
  const script = join(tmp, 'killme.ts');
  const writerUrl = new URL('./pcapng-writer.ts', import.meta.url).href;
  writeFileSync(
    script,
    `import { PcapngWriter } from ${JSON.stringify(writerUrl)};
const w = new PcapngWriter({ path: process.argv[2] }, { bufferSize: 4096 });
const itf = w.addInterface({ linkType: 101, name: 'kill-test' });
const pkt = new Uint8Array(1500); pkt[0] = 0x45;
let i = 0;
for (;;) { w.writePacket(itf, 1700000000 + (i >> 10), (i % 1000) * 1000, pkt, 0, 20 + (i * 7) % 1400); i++; if (i === 5000) process.stdout.write('ready\\n'); }
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script, p], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => resolve());
    child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const size = statSync(p).size;
  assert.ok(size > 0);
  const s = await readCapture(p, () => undefined);
  // Flushes are whole blocks, but the kernel may cut a write(2) short when SIGKILL arrives in the
  // middle of it (Linux checks for a fatal signal between pages), so the last block can be cut:
  // then it is reported as truncated, and everything before it still reads, here and in tshark.
  assert.equal(s.warnings, s.truncated ? 1 : 0);
  assert.ok(s.packets >= 4000, `read ${s.packets}`);
  assert.equal(s.bytes, size);
  const t = runTool('tshark', ['-r', p]);
  if (s.truncated) assert.match(t.stderr, /cut short/);
  else assert.equal(t.stderr, '');
  assert.equal(t.stdout.split('\n').filter(Boolean).length, s.packets);
});

test('a block larger than the buffer is written whole', async () => {
  const p = join(tmp, 'big-block.pcapng');
  const w = new PcapngWriter({ path: p }, { bufferSize: 64 });
  const itf = w.addInterface({ linkType: 101 });
  w.writePacket(itf, 1_700_000_000, 0, ipv4Udp(9000), 0, 9000);
  w.writeSecrets(SecretsType.TLSKeyLog, new Uint8Array(100_000).fill(0x41));
  w.writePacket(itf, 1_700_000_000, 1, ipv4Udp(28), 0, 28);
  w.close();
  let secrets = 0;
  const s = await readCapture(p, () => undefined, { onSecrets: (_t, d) => void (secrets = d.length) });
  assert.equal(s.packets, 2);
  assert.equal(secrets, 100_000);
  assert.equal(tsharkFrames(p).stderr, '');
});

test('timestamps in every supported resolution are stored exactly as tshark reads them back', async () => {
  const p = join(tmp, 'res.pcapng');
  const w = new PcapngWriter({ path: p });
  const cases: [number, number, number, string][] = [
    // [tsresol, sec, nsec, tshark epoch]
    [9, 0, 0, '0.000000000'],
    [9, 4_294_967_295, 999_999_999, '4294967295.999999999'],
    [6, 1_700_000_000, 123_456_789, '1700000000.123456000'],
    [3, 1_700_000_000, 123_456_789, '1700000000.123000000'],
    [0, 1_700_000_000, 999_999_999, '1700000000.000000000'],
    [0x80 | 10, 1_700_000_000, 500_000_000, '1700000000.500000000'],
    [0x80 | 30, 1_700_000_000, 250_000_000, '1700000000.250000000'],
  ];
  const ids = cases.map(([r]) => w.addInterface({ linkType: 101, tsresol: r }));
  cases.forEach(([, sec, ns], i) => w.writePacket(ids[i]!, sec, ns, ipv4Udp(28), 0, 28));
  const off = w.addInterface({ linkType: 101, options: { tsOffsetSec: 1_600_000_000 } });
  w.writePacket(off, 1_700_000_000, 42, ipv4Udp(28), 0, 28);
  w.close();
  const theirs = tsharkFrames(p);
  assert.equal(theirs.stderr, '');
  assert.deepEqual(
    theirs.lines.map((l) => l.split('\t')[0]),
    [...cases.map((c) => c[3]), '1700000000.000000042'],
  );
  assert.deepEqual((await ourFrames(p)).lines, theirs.lines);
});

test('bad arguments are RangeErrors; a file that cannot be created is ML_CAPTURE_WRITE naming it', () => {
  const w = new PcapngWriter({ write: () => undefined });
  assert.throws(() => w.addInterface({ linkType: 1, tsresol: 10 }), RangeError);
  assert.throws(() => w.addInterface({ linkType: 0x10000 }), RangeError);
  const i = w.addInterface({ linkType: 1 });
  assert.throws(() => w.writePacket(7, 0, 0, new Uint8Array(4), 0, 4), /unknown interface id 7/);
  assert.throws(() => w.writePacket(i, 0, 0, new Uint8Array(4), 2, 4), RangeError);
  assert.throws(() => w.writePacket(i, 0, 0, new Uint8Array(4), 0, 4, 3), /less than the captured length/);
  assert.throws(() => w.writePacket(i, 0, 1e9, new Uint8Array(4), 0, 4), /tsNsec/);
  w.close();
  assert.throws(() => w.writePacket(i, 0, 0, new Uint8Array(4), 0, 4), /closed/);
  const bad = join(tmp, 'no-such-dir', 'x.pcapng');
  assert.throws(
    () => new PcapngWriter({ path: bad }),
    (e: unknown) => e instanceof MirrorlensError && e.code === 'ML_CAPTURE_WRITE' && e.describe().startsWith(bad),
  );
});
