import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readCapture, CaptureParser, MAX_BLOCK } from './reader.js';
import { PcapngWriter, SecretsType } from './pcapng-writer.js';
import type { CaptureWarning, InterfaceInfo, PacketRecord } from './record.js';
import { MirrorlensError } from '../wire/errors.js';
import { ourFrames, tsharkFrames } from '../../test/capture/tshark.js';
import { Bytes, concat, dsb, epb, idb, ipv4Udp, opb, shb, spb, utf8 } from '../../test/capture/blocks.js';

const FIX = join(import.meta.dirname, '../../test/fixtures/capture');
const fx = (n: string): string => join(FIX, n);
const tmp = mkdtempSync(join(tmpdir(), 'ml-capture-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let nTmp = 0;
function tmpFile(bytes: Uint8Array, ext = '.pcapng'): string {
  const p = join(tmp, `t${nTmp++}${ext}`);
  writeFileSync(p, bytes);
  return p;
}

/** Frames through a CaptureParser fed with the given chunk boundaries. */
function parseChunks(bytes: Uint8Array, cuts: number[]): { lines: string[]; warnings: CaptureWarning[]; secrets: string[]; parser: CaptureParser } {
  const lines: string[] = [];
  const warnings: CaptureWarning[] = [];
  const secrets: string[] = [];
  const p = new CaptureParser('mem', {
    onPacket: (r) => lines.push(frameLine(r)),
    onWarning: (w) => warnings.push(w),
    onSecrets: (t, d, o) => secrets.push(`${t.toString(16)}@${o}:${Buffer.from(d).toString('hex')}`),
  });
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    p.push(bytes.subarray(prev, c));
    prev = c;
  }
  p.end();
  return { lines, warnings, secrets, parser: p };
}

function frameLine(r: PacketRecord): string {
  const d = Buffer.from(r.data.subarray(r.offset, r.offset + r.capturedLength)).toString('hex');
  return `${r.index} ${r.interfaceId} ${r.linkType} ${r.tsSec}.${String(r.tsNsec).padStart(9, '0')} ${r.capturedLength}/${r.originalLength} ${r.flags} ${r.comment} ${d}`;
}

const CORPUS: { file: string; format: 'pcap' | 'pcapng'; packets: number; linkTypes: number[] }[] = [
  { file: 'arkime_bigendian.pcap', format: 'pcap', packets: 2, linkTypes: [1] },
  { file: 'tcpdump_tcp-handshake-nano.pcap', format: 'pcap', packets: 3, linkTypes: [113] },
  { file: 'wireshark_dhcp-nanosecond.pcap', format: 'pcap', packets: 4, linkTypes: [1] },
  { file: 'zeek_irc-starttls.pcap', format: 'pcap', packets: 20, linkTypes: [113] },
  { file: 'zeek_linux_dlt_sll2.pcap', format: 'pcap', packets: 6, linkTypes: [276] },
  { file: 'tcpdump_mptcp-tcprst.pcap', format: 'pcap', packets: 2, linkTypes: [101] },
  { file: 'wireshark_http-ooo.pcap', format: 'pcap', packets: 16, linkTypes: [228] },
  { file: 'wireshark_many_interfaces.pcapng.1', format: 'pcapng', packets: 64, linkTypes: [0, 1] },
  { file: 'zeek_modify-request.pcapng', format: 'pcapng', packets: 17, linkTypes: [1] },
  { file: 'wireshark_dhe1.pcapng.gz', format: 'pcapng', packets: 16, linkTypes: [1] },
  { file: 'wireshark_dtls12-aes128ccm8-dsb.pcapng', format: 'pcapng', packets: 13, linkTypes: [1] },
  { file: 'wireshark_http2-brotli.pcapng', format: 'pcapng', packets: 25, linkTypes: [1] },
  { file: 'ja4_http1-with-cookies.pcapng', format: 'pcapng', packets: 12, linkTypes: [0] },
  { file: 'zeek_geneve-truncated.pcapng', format: 'pcapng', packets: 1, linkTypes: [1] },
];

for (const c of CORPUS) {
  test(`${c.file}: every frame's time (ns), caplen, origlen and interface id match tshark`, async () => {
    const theirs = tsharkFrames(fx(c.file));
    assert.equal(theirs.stderr, '', 'tshark reads the fixture cleanly');
    const ours = await ourFrames(fx(c.file));
    assert.equal(ours.lines.length, c.packets);
    assert.deepEqual(ours.lines, theirs.lines);
    assert.equal(ours.summary.format, c.format);
    assert.equal(ours.summary.warnings, 0);
    assert.equal(ours.summary.truncated, false);
    assert.equal(ours.summary.gzip, c.file.endsWith('.gz'));
    const lts = new Set<number>();
    await readCapture(fx(c.file), (r) => void lts.add(r.linkType));
    assert.deepEqual([...lts].sort((a, b) => a - b), c.linkTypes);
  });
}

test('pcap headers give the byte order, resolution, snaplen and link type of the single interface', async () => {
  const infos: InterfaceInfo[] = [];
  const s = await readCapture(fx('tcpdump_tcp-handshake-nano.pcap'), () => undefined, { onInterface: (i) => infos.push(i) });
  assert.equal(infos.length, 1);
  assert.equal(infos[0]!.linkType, 113);
  assert.equal(infos[0]!.tsresol, 9, 'nanosecond magic a1b23c4d');
  assert.equal(infos[0]!.tsResolutionNs, 1);
  assert.deepEqual(s.interfaces, infos);
  const be = await readCapture(fx('arkime_bigendian.pcap'), () => undefined);
  assert.equal(be.interfaces[0]!.tsresol, 6);
  assert.equal(be.interfaces[0]!.snaplen, 65535);
});

test('pcapng interfaces: the 126 descriptions of modify-request.pcapng are all reported in order', async () => {
  const infos: InterfaceInfo[] = [];
  await readCapture(fx('zeek_modify-request.pcapng'), () => undefined, { onInterface: (i) => infos.push(i) });
  assert.equal(infos.length, 126);
  assert.deepEqual(
    infos.map((i) => i.id),
    infos.map((_, k) => k),
  );
  assert.ok(infos.some((i) => i.name !== null), 'if_name options are read');
});

test('Decryption Secrets Blocks from corpus files are delivered with their type and key-log text', async () => {
  for (const f of ['wireshark_dtls12-aes128ccm8-dsb.pcapng', 'wireshark_http2-brotli.pcapng']) {
    const got: { type: number; text: string; at: number }[] = [];
    const s = await readCapture(fx(f), () => undefined, { onSecrets: (type, d, at) => got.push({ type, text: Buffer.from(d).toString('utf8'), at }) });
    assert.equal(got.length, 1, f);
    assert.equal(s.secretsBlocks, 1);
    assert.equal(got[0]!.type, SecretsType.TLSKeyLog);
    assert.match(got[0]!.text, /^CLIENT_RANDOM [0-9A-Fa-f]{64} [0-9A-Fa-f]{96}\n/);
    // The block really starts there: its type field (LE) is 0x0000000a.
    const raw = readFileSync(fx(f));
    assert.equal(raw.readUInt32LE(got[0]!.at), 10);
  }
});

test('gzip is detected by its magic, not by the name, from files and from streams', async () => {
  const plain = await ourFrames(fx('wireshark_dhe1.pcapng.gz'));
  const renamed = tmpFile(readFileSync(fx('wireshark_dhe1.pcapng.gz')), '.pcapng');
  const viaName = await ourFrames(renamed);
  assert.equal(viaName.summary.gzip, true);
  assert.deepEqual(viaName.lines, plain.lines);
  const lines: string[] = [];
  const s = await readCapture(createReadStream(renamed, { highWaterMark: 7 }), (r) => void lines.push(frameLine(r)));
  assert.equal(s.gzip, true);
  assert.equal(s.file, 'stream');
  assert.equal(lines.length, 16);
  // A pcap gzipped here, and a non-gzip file named .gz.
  const gz = tmpFile(gzipSync(readFileSync(fx('arkime_bigendian.pcap'))), '.pcap.gz');
  assert.deepEqual((await ourFrames(gz)).lines, tsharkFrames(fx('arkime_bigendian.pcap')).lines);
  const notGz = tmpFile(readFileSync(fx('arkime_bigendian.pcap')), '.pcap.gz');
  const r = await ourFrames(notGz);
  assert.equal(r.summary.gzip, false);
  assert.equal(r.lines.length, 2);
});

test('a gzip stream cut short yields the packets before the cut and a warning', async () => {
  const gz = readFileSync(fx('wireshark_dhe1.pcapng.gz'));
  const p = tmpFile(gz.subarray(0, gz.length - 300), '.pcapng.gz');
  const warnings: CaptureWarning[] = [];
  const ours = await readCapture(p, () => undefined, { onWarning: (w) => warnings.push(w) });
  assert.ok(ours.packets > 0 && ours.packets < 16, `got ${ours.packets}`);
  assert.equal(ours.truncated, true);
  assert.ok(warnings.length >= 1);
  assert.match(warnings[0]!.message, /gzip|cut off/);
  assert.equal(warnings[0]!.file, p);
});

test('results do not depend on how the bytes are chunked (every split point, and 1-byte chunks)', () => {
  for (const f of ['arkime_bigendian.pcap', 'wireshark_dtls12-aes128ccm8-dsb.pcapng', 'zeek_linux_dlt_sll2.pcap']) {
    const bytes = new Uint8Array(readFileSync(fx(f)));
    const whole = parseChunks(bytes, []);
    assert.equal(whole.warnings.length, 0);
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = parseChunks(bytes, [cut]);
      assert.deepEqual(split.lines, whole.lines, `${f} split at ${cut}`);
      assert.deepEqual(split.secrets, whole.secrets, `${f} split at ${cut}`);
    }
    const ones = parseChunks(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1));
    assert.deepEqual(ones.lines, whole.lines);
    assert.deepEqual(ones.secrets, whole.secrets);
    assert.ok(ones.parser.maxBuffered <= 2048, 'only the straddling unit is buffered');
  }
});

test('a file cut at any byte yields every complete packet and one warning naming the offset of the cut-off unit', () => {
  for (const f of ['arkime_bigendian.pcap', 'wireshark_dtls12-aes128ccm8-dsb.pcapng']) {
    const bytes = new Uint8Array(readFileSync(fx(f)));
    const whole = parseChunks(bytes, []);
    // Unit boundaries: where each complete prefix ends.
    for (let len = 4; len < bytes.length; len++) {
      const cut = bytes.subarray(0, len);
      const r = parseChunks(cut, []);
      assert.ok(r.lines.length <= whole.lines.length);
      assert.deepEqual(r.lines, whole.lines.slice(0, r.lines.length), `${f} cut at ${len}`);
      if (r.warnings.length === 0) {
        // the cut fell exactly on a unit boundary
        assert.equal(r.parser.truncated, false);
      } else {
        assert.equal(r.warnings.length, 1, `${f} cut at ${len}`);
        assert.match(r.warnings[0]!.message, /cut off/);
        assert.equal(r.parser.truncated, true);
        assert.ok(r.warnings[0]!.byteOffset < len && r.warnings[0]!.byteOffset >= 0);
      }
    }
  }
});

test('a truncated file read from disk reports the offset of the incomplete block (second EPB here)', async () => {
  const bytes = readFileSync(fx('wireshark_dtls12-aes128ccm8-dsb.pcapng'));
  const whole: number[] = [];
  await readCapture(fx('wireshark_dtls12-aes128ccm8-dsb.pcapng'), (r) => void whole.push(r.byteOffset));
  const cutAt = whole[1]! + 20; // 20 bytes into packet 2's block
  const p = tmpFile(bytes.subarray(0, cutAt));
  const warnings: CaptureWarning[] = [];
  const s = await readCapture(p, () => undefined, { onWarning: (w) => warnings.push(w) });
  assert.equal(s.packets, 1);
  assert.equal(s.truncated, true);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.byteOffset, whole[1]);
  assert.match(warnings[0]!.message, /capture cut off: the last block needs \d+ bytes, only 20 present/);
});

test('not a capture: one MirrorlensError ML_CAPTURE_FORMAT naming the file', async () => {
  const cases: [Uint8Array, RegExp][] = [
    [utf8('<!DOCTYPE html><html>hello</html>\n'), /not a pcap or pcapng capture \(starts with 3c 21 44 4f 43 54 59 50\)/],
    [new Uint8Array(0), /empty/],
    [Uint8Array.of(0xd4, 0xc3), /only 2 byte/],
    [concat(new Bytes().u32(0x0a0d0d0a).u32(28).u32(0x11223344).build(), new Uint8Array(16)), /invalid byte-order magic/],
    [gzipSync(utf8('just some text, gzipped')), /not a pcap or pcapng capture/],
  ];
  for (const [bytes, re] of cases) {
    const p = tmpFile(bytes, '.pcap');
    await assert.rejects(readCapture(p, () => undefined), (e: unknown) => {
      assert.ok(e instanceof MirrorlensError);
      assert.equal(e.code, 'ML_CAPTURE_FORMAT');
      assert.match(e.message, re);
      assert.ok(e.describe().startsWith(p), e.describe());
      return true;
    });
  }
  await assert.rejects(readCapture(join(tmp, 'does-not-exist.pcap'), () => undefined), (e: unknown) => {
    assert.ok(e instanceof MirrorlensError);
    assert.equal(e.code, 'ML_FILE_OPEN');
    assert.match(e.describe(), /does-not-exist\.pcap: cannot open capture: no such file/);
    return true;
  });
});

test('corrupt block lengths (too small, not a multiple of 4, over the cap, beyond the file) stop with a warning at the block', () => {
  const head = concat(shb(true), idb(true, 101, 0));
  const good = epb(true, 0, 0, 1, ipv4Udp(40));
  const bad = (len: number): Uint8Array => new Bytes().u32(6).u32(len).u32(0).build();
  for (const [len, re] of [
    [8, /below the minimum/],
    [0, /below the minimum/],
    [33, /not a multiple of 4/],
    [MAX_BLOCK + 4, /over the limit/],
    [0xfffffffc, /over the limit/],
  ] as const) {
    const bytes = concat(head, good, bad(len), good);
    const r = parseChunks(bytes, []);
    assert.equal(r.lines.length, 1, `len ${len}`);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!.message, re);
    assert.equal(r.warnings[0]!.byteOffset, head.length + good.length);
    assert.equal(r.parser.truncated, true);
  }
  // Longer than what remains: a cut-off block, not an endless wait.
  const r = parseChunks(concat(head, good, bad(1024)), []);
  assert.equal(r.lines.length, 1);
  assert.match(r.warnings[0]!.message, /cut off/);
  // Trailing length disagreeing with the leading one.
  const mism = new Uint8Array(good);
  mism[mism.length - 4] = 0x99;
  const m = parseChunks(concat(head, mism, good), []);
  assert.equal(m.lines.length, 0);
  assert.match(m.warnings[0]!.message, /trailing copy says/);
  // pcap record claiming a huge captured length.
  const pcap = new Bytes().u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1).u32(1).u32(0).u32(0x7fffffff).u32(60).build();
  const pr = parseChunks(pcap, []);
  assert.equal(pr.lines.length, 0);
  assert.match(pr.warnings[0]!.message, /packet record 1 claims 2147483647 captured bytes/);
  assert.equal(pr.warnings[0]!.byteOffset, 24);
});

test('hand-made big-endian pcapng with decimal (µs, ps) and binary (2^-20) resolutions, if_tsoffset, comments and flags matches tshark', async () => {
  // SHB (BE: 0a 0d 0d 0a | len | 1a 2b 3c 4d | 00 01 00 00 | ff.. section length)
  // IDB#0 Ethernet µs (no if_tsresol), IDB#1 raw IP if_tsresol=12 (ps), IDB#2 raw IP if_tsresol=0x94 (2^-20) + if_tsoffset=1000
  const le = false;
  const eth = concat(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00), ipv4Udp(46));
  const bytes = concat(
    shb(le, [[4, utf8('handmade')]]),
    idb(le, 1, 0, [[2, utf8('eth-be')]]),
    idb(le, 101, 128, [[9, [12]]]),
    idb(le, 101, 0, [
      [9, [0x94]],
      [14, new Bytes(le).u64(0, 1000).build()],
    ]),
    // µs: 1700000000.123456 s = 1700000000123456 µs = 0x00060A24 18202240
    epb(le, 0, 0x00060a24, 0x18202240, eth, 100, [
      [1, utf8('first <b>comment</b>')],
      [2, new Bytes(le).u32(0x2).build()],
    ]),
    // ps: epoch seconds in ps overflow 64 bits (2^64 ps ≈ 213 days), so a 1970 time:
    // 10000000.000000000123 s = 10000000000000000123 ps = 0x8AC72304 89E8007B
    epb(le, 1, 0x8ac72304, 0x89e8007b, ipv4Udp(60)),
    // 2^-20: (1700000000 - 1000) s + 0.25 s = 1699999000.25 * 2^20 = 0x0006553E D1840000 → time 1700000000.25
    epb(le, 2, 0x0006553e, 0xd1840000, ipv4Udp(30)),
    spb(le, concat(new Uint8Array(12), Uint8Array.of(8, 0), ipv4Udp(40))),
    opb(le, 1, 0, 0, ipv4Udp(32)),
    dsb(le, SecretsType.TLSKeyLog, utf8('CLIENT_RANDOM aa bb\n')),
  );
  const p = tmpFile(bytes);
  const theirs = tsharkFrames(p);
  assert.equal(theirs.stderr, '');
  const ours = await ourFrames(p);
  assert.deepEqual(ours.lines, theirs.lines);
  assert.equal(ours.lines.length, 5);
  const recs: string[] = [];
  const infos: InterfaceInfo[] = [];
  const s = await readCapture(p, (r) => void recs.push(`${r.comment}|${r.flags}|${r.linkType}`), { onInterface: (i) => infos.push(i) });
  assert.equal(s.secretsBlocks, 1);
  assert.deepEqual(recs, ['first <b>comment</b>|2|1', 'null|0|101', 'null|0|101', 'null|0|1', 'null|0|101']);
  assert.equal(infos[0]!.name, 'eth-be');
  assert.equal(infos[1]!.unitsPerSecond, 1e12);
  assert.equal(infos[2]!.tsOffsetSec, 1000);
  assert.equal(infos[2]!.unitsPerSecond, 2 ** 20);
});

test('several sections: interface ids are numbered across the file like tshark, byte order may change per section', async () => {
  const a = concat(shb(true), idb(true, 1, 0), idb(true, 101, 0), epb(true, 1, 0x00060a24, 0x18202240, ipv4Udp(40)), epb(true, 0, 0x00060a24, 0x18202241, concat(new Uint8Array(12), Uint8Array.of(8, 0), ipv4Udp(40))));
  const b = concat(shb(false), idb(false, 101, 0, [[9, [9]]]), epb(false, 0, 0x17979cfe, 0x362a0005, ipv4Udp(44)));
  const p = tmpFile(concat(a, b, a));
  const theirs = tsharkFrames(p);
  assert.equal(theirs.stderr, '');
  const ours = await ourFrames(p);
  assert.deepEqual(ours.lines, theirs.lines);
  // tshark's frame.interface_id counts within the section; ours is unique across the file.
  assert.deepEqual(
    ours.lines.map((l) => l.split('\t')[3]),
    ['1', '0', '0', '1', '0'],
  );
  const ids: number[] = [];
  await readCapture(p, (r) => void ids.push(r.interfaceId));
  assert.deepEqual(ids, [1, 0, 2, 4, 3]);
  assert.deepEqual(
    ours.summary.interfaces.map((i) => `${i.section}:${i.sectionInterfaceId}`),
    ['0:0', '0:1', '1:0', '2:0', '2:1'],
  );
});

test('an EPB naming an undescribed interface is skipped with a warning; reading goes on', () => {
  const bytes = concat(shb(true), idb(true, 101, 0), epb(true, 3, 0, 0, ipv4Udp(28)), epb(true, 0, 0, 0, ipv4Udp(28)));
  const r = parseChunks(bytes, []);
  assert.equal(r.lines.length, 1);
  assert.match(r.warnings[0]!.message, /refers to interface 3, but section 0 describes 1/);
});

test('unknown, custom, NRB and ISB blocks are skipped by length', async () => {
  // Custom block (PEN 32473, the documentation PEN) and local-use blocks: opaque bytes.
  const custom = (type: number): Uint8Array => new Bytes().u32(type).u32(20).u32(32473).u32(0xdeadbeef).u32(20).build();
  // NRB with only nrb_record_end; ISB for interface 0 at time 0.
  const nrb = new Bytes().u32(4).u32(16).u16(0).u16(0).u32(16).build();
  const isb = new Bytes().u32(5).u32(24).u32(0).u32(0).u32(0).u32(24).build();
  const bytes = concat(shb(true), custom(0x80000001), idb(true, 101, 0), nrb, epb(true, 0, 0, 1000, ipv4Udp(28)), isb, custom(0x12345678));
  const p = tmpFile(bytes);
  const ours = await ourFrames(p);
  assert.equal(ours.summary.warnings, 0);
  const theirs = tsharkFrames(p);
  assert.equal(theirs.stderr, '');
  assert.deepEqual(ours.lines, theirs.lines);
  // tshark shows Custom Blocks as records of their own; they carry no packet, so we skip them.
  const withCustom = concat(shb(true), idb(true, 101, 0), custom(0x00000bad), epb(true, 0, 0, 1000, ipv4Udp(28)), custom(0x40000bad));
  const c = parseChunks(withCustom, []);
  assert.equal(c.lines.length, 1);
  assert.equal(c.warnings.length, 0);
});

test('maxPackets stops early, and an aborted signal rejects with its reason', async () => {
  const s = await readCapture(fx('zeek_irc-starttls.pcap'), () => undefined, { maxPackets: 5 });
  assert.equal(s.packets, 5);
  assert.equal(s.truncated, false);
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(readCapture(fx('zeek_irc-starttls.pcap'), () => undefined, { signal: ac.signal }), /stop/);
});

test('streams: a Readable of arbitrary chunks (stdin-like) gives the same frames as the file', async () => {
  const bytes = readFileSync(fx('wireshark_many_interfaces.pcapng.1'));
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 1 + (i % 997)) chunks.push(bytes.subarray(i, i + 1 + (i % 997)));
  const lines: string[] = [];
  const s = await readCapture(Readable.from(chunks), (r) => void lines.push(frameLine(r)), { name: 'stdin' });
  const fileLines: string[] = [];
  await readCapture(fx('wireshark_many_interfaces.pcapng.1'), (r) => void fileLines.push(frameLine(r)));
  assert.equal(s.file, 'stdin');
  assert.deepEqual(lines, fileLines);
});

test('a secrets block larger than the read chunk is reassembled whole', async () => {
  const secret = new Uint8Array(3 * 256 * 1024 + 5).fill(0x41);
  const p = tmpFile(concat(shb(true), dsb(true, SecretsType.TLSKeyLog, secret), idb(true, 101, 0), epb(true, 0, 0, 0, ipv4Udp(28))));
  let len = 0;
  let all41 = false;
  let parser: CaptureParser | null = null;
  const s = await readCapture(p, () => undefined, {
    onSecrets: (_t, d) => {
      len = d.length;
      all41 = d.every((x) => x === 0x41);
    },
    onParser: (q) => (parser = q),
  });
  assert.equal(s.packets, 1);
  assert.equal(len, secret.length);
  assert.ok(all41);
  assert.ok(parser !== null);
  assert.ok((parser as CaptureParser).maxBuffered >= secret.length, 'a unit larger than the chunk must be buffered');
});

test('memory: a 50 MB capture is read with the remainder buffer bounded by one block, plain and gzipped', async () => {
  const p = join(tmp, 'big.pcapng');
  const w = new PcapngWriter({ path: p });
  const itf = w.addInterface({ linkType: 101 });
  const pkt = ipv4Udp(1400);
  const N = 42_000;
  for (let i = 0; i < N; i++) w.writePacket(itf, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, pkt, 0, 1000 + (i % 401));
  w.close();
  assert.ok(w.bytesWritten > 45_000_000, `file is ${w.bytesWritten} bytes`);
  let parser: CaptureParser | null = null;
  let sum = 0;
  const s = await readCapture(p, (r) => void (sum += r.capturedLength), { onParser: (q) => (parser = q) });
  assert.equal(s.packets, N);
  assert.equal(s.bytes, w.bytesWritten);
  const maxBuffered = (parser as CaptureParser | null)!.maxBuffered;
  assert.ok(maxBuffered > 0 && maxBuffered <= 1400 + 32 + 4, `maxBuffered ${maxBuffered}`);
  const gzPath = join(tmp, 'big.pcapng.gz');
  writeFileSync(gzPath, gzipSync(readFileSync(p), { level: 1 }));
  let gzParser: CaptureParser | null = null;
  const g = await readCapture(gzPath, () => undefined, { onParser: (q) => (gzParser = q) });
  assert.equal(g.packets, N);
  assert.ok((gzParser as CaptureParser | null)!.maxBuffered <= 1400 + 32 + 4);
  assert.ok(sum > 0);
});

test('hand-made classic pcaps (LE µs with an over-range µs field, BE ns, Kuznetzov 24-byte records) match tshark', async () => {
  const rec = (b: Bytes, sec: number, frac: number, data: Uint8Array, orig = data.length, kuz = false): Bytes => {
    b.u32(sec).u32(frac).u32(data.length).u32(orig);
    if (kuz) b.u32(2).u16(0x0800).u8(0, 0); // ifindex, protocol, pkt_type, pad
    return b.bytes(data);
  };
  // a1b2c3d4 LE: d4 c3 b2 a1 | 2.4 | 0 | 0 | snaplen 65535 | linktype 101
  const le = new Bytes(true).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(101);
  rec(le, 1_700_000_000, 999_999, ipv4Udp(40));
  rec(le, 1_700_000_001, 1_500_000, ipv4Udp(28), 100); // µs field ≥ 10^6
  // a1b23c4d BE: ns magic
  const be = new Bytes(false).u32(0xa1b23c4d).u16(2).u16(4).u32(0).u32(0).u32(262144).u32(228);
  rec(be, 1_700_000_000, 999_999_999, ipv4Udp(60));
  // a1b2cd34 LE: Kuznetzov's patched libpcap, Ethernet
  const kz = new Bytes(true).u32(0xa1b2cd34).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
  rec(kz, 1_700_000_002, 5, concat(new Uint8Array(12), Uint8Array.of(8, 0), ipv4Udp(30)), 44, true);
  for (const b of [le, be, kz]) {
    const p = tmpFile(b.build(), '.pcap');
    const theirs = tsharkFrames(p);
    assert.equal(theirs.stderr, '');
    const ours = await ourFrames(p);
    assert.equal(ours.summary.warnings, 0);
    if (b === le) {
      // tshark prints the unnormalised "1700000001.1500000000"; we carry the excess into seconds.
      assert.equal(theirs.lines[1], '1700000001.1500000000\t28\t100\t0');
      theirs.lines[1] = '1700000002.500000000\t28\t100\t0';
    }
    assert.deepEqual(ours.lines, theirs.lines);
  }
});

test('a stream that fails mid-way rejects with ML_FILE_OPEN naming the input, after the packets before the failure', async () => {
  const bytes = readFileSync(fx('zeek_irc-starttls.pcap'));
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield bytes.subarray(0, 1000);
    throw new Error('connection reset');
  }
  let n = 0;
  await assert.rejects(
    readCapture(Readable.from(failing()), () => void n++, { name: 'socket 10.0.0.1:9000' }),
    (e: unknown) => e instanceof MirrorlensError && e.code === 'ML_FILE_OPEN' && /^socket 10\.0\.0\.1:9000 \(byte offset \d+\): cannot read capture: connection reset$/.test(e.describe()),
  );
  assert.ok(n > 0);
});

test('concatenated gzip members are read in turn', async () => {
  const raw = readFileSync(fx('arkime_bigendian.pcap'));
  const p = tmpFile(Buffer.concat([gzipSync(raw.subarray(0, 100)), gzipSync(raw.subarray(100))]), '.pcap.gz');
  const ours = await ourFrames(p);
  assert.equal(ours.summary.warnings, 0);
  assert.deepEqual(ours.lines, tsharkFrames(fx('arkime_bigendian.pcap')).lines);
});

test('a stream given up (not a capture, or aborted mid-way) is closed, not left open', async () => {
  let closed = 0;
  const source = (first: Uint8Array) =>
    Readable.from(
      (async function* () {
        try {
          yield first;
          for (;;) yield new Uint8Array(256 * 1024);
        } finally {
          closed++;
        }
      })(),
      { highWaterMark: 2 },
    );
  await assert.rejects(readCapture(source(utf8('CLIENT_RANDOM 00 11\n')), () => undefined), /not a pcap or pcapng capture/);
  const ac = new AbortController();
  const pcap = readFileSync(fx('zeek_irc-starttls.pcap'));
  await assert.rejects(
    readCapture(source(pcap.subarray(0, 4096)), () => ac.abort(new Error('enough')), { signal: ac.signal }),
    /enough/,
  );
  assert.equal(closed, 2);
});

test('a regular file is read synchronously but the event loop gets a turn every 4 MiB: callbacks and an abort run mid-file', async () => {
  // ~9.6 MB: turns after about 4 and 8 MiB.
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 24_000; i++) packets.push(epb(true, 0, 0, i, ipv4Udp(400, i)));
  const file = tmpFile(concat(shb(true), idb(true, 1, 0), ...packets));
  // Scheduled at the 10th frame: runs at the first turn, not after the whole file.
  let frames = 0;
  let ranAt = -1;
  const s = await readCapture(file, () => {
    if (++frames === 10) setImmediate(() => (ranAt = frames));
  });
  assert.equal(s.packets, 24_000);
  assert.ok(ranAt > 10 && ranAt < 24_000, `the callback ran after frame ${ranAt}`);
  // An abort from such a callback stops the read part way.
  const ac = new AbortController();
  let seen = 0;
  const read = readCapture(
    file,
    () => {
      if (++seen === 10) setImmediate(() => ac.abort(new Error('stop')));
    },
    { signal: ac.signal },
  );
  await assert.rejects(read, /stop/);
  assert.ok(seen < 24_000, `${seen} frames before the abort`);
});

test('a FIFO is read without blocking the process: its writer, in the same process, still runs', { skip: process.platform === 'win32' }, async () => {
  const fifo = join(tmp, `fifo${nTmp++}`);
  execFileSync('mkfifo', [fifo]);
  const capture = fx('zeek_irc-starttls.pcap');
  // In a child process (a blocked one is killed, not left to hang the test run): the writer starts
  // after the reader is waiting on the FIFO. A synchronous open or read there would hold the
  // event loop, the writer's timer would never fire, and neither side would finish.
  const script = `
    import { open } from 'node:fs/promises';
    import { readFileSync } from 'node:fs';
    import { readCapture } from ${JSON.stringify(join(import.meta.dirname, 'reader.ts'))};
    const writer = new Promise((resolve, reject) => setTimeout(() => {
      open(${JSON.stringify(fifo)}, 'w').then(async (fh) => { await fh.write(readFileSync(${JSON.stringify(capture)})); await fh.close(); }).then(resolve, reject);
    }, 50));
    const [s] = await Promise.all([readCapture(${JSON.stringify(fifo)}, () => undefined), writer]);
    console.log(s.packets);`;
  const file = join(tmp, `fifo-reader${nTmp++}.mjs`);
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, `the reader blocked the process (killed after 20 s) ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const whole = await readCapture(capture, () => undefined);
  assert.ok(whole.packets > 0);
  assert.equal(Number(r.stdout.trim()), whole.packets);
});
