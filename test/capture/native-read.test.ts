// Native vs JavaScript: the native capture reader and decoder of the first pass
// (native/analyze/read.c, decode.c) gives, for every input, exactly what processCaptures with the
// survey's segmentOf gives (every TCP segment field by field, the counts, times, summaries, DSBs
// and ICMP errors), or declines with a reason; inputs the JavaScript reads without a warning must
// go native. Over every capture in test/fixtures/ (the lab's among them), the bench capture when it
// is there, and synthetic captures made here (IPv6, VLAN, VXLAN, GENEVE, fragments, snap-length
// cuts, time resolutions and offsets, several interfaces and sections, a cut-off last block).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import { PcapngWriter, SecretsType } from '../../src/capture/pcapng-writer.js';
import type { CaptureWarning } from '../../src/capture/record.js';
import type { TimeWindow } from '../../src/capture/window.js';
import { concat, eth, hex, ipv4, tcp, u16, udp, vxlan } from '../../src/wire/test-bytes.js';
import { block, Bytes, dsb, epb, idb, opb, shb, spb, utf8 } from './blocks.js';
import { firstDifference, jsPass, nativePass } from './native-diff.js';

const root = resolve(import.meta.dirname, '../..');
const { addon, why } = loadAnalyzeNative();
const skip = addon ? false : why;
type Addon = Parameters<typeof nativePass>[0];

/** Runs both; asserts agreement when native ran; returns whether it ran natively (and why not). */
async function compare(inputs: string[], window: TimeWindow | null = null): Promise<{ native: boolean; why: string; warnings: CaptureWarning[] }> {
  const warnings: CaptureWarning[] = [];
  let js;
  try {
    js = await jsPass(inputs, window, warnings);
  } catch (e) {
    // The JavaScript refuses the input (not a capture...): the native side must decline too.
    const n = nativePass(addon as unknown as Addon, inputs, window);
    assert.equal(n.pass, null, `${inputs.join(' ')}: JavaScript threw (${(e as Error).message}) but native read it`);
    return { native: false, why: n.why, warnings };
  }
  const n = nativePass(addon as unknown as Addon, inputs, window);
  if (n.pass === null) return { native: false, why: n.why, warnings };
  assert.equal(warnings.length, 0, `${inputs.join(' ')}: native read it, but the JavaScript warned: ${warnings[0]?.message}`);
  const d = firstDifference(js, n.pass);
  assert.equal(d, null, `${inputs.join(' ')}: ${d}`);
  return { native: true, why: '', warnings };
}

function fixtureCaptures(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng)(\.gz|\.\d+)?$/.test(n)) out.push(p);
    }
  };
  walk(join(root, 'test/fixtures'));
  return out;
}

test('every fixture capture (the lab captures among them): native agrees with the JavaScript field by field, or declines; the clean ones go native', { skip }, async (t) => {
  const files = fixtureCaptures();
  assert.ok(files.length > 100, `only ${files.length} fixture captures found`);
  let native = 0;
  const declined: string[] = [];
  for (const f of files) {
    const r = await compare([f]);
    if (r.native) native++;
    else {
      declined.push(`${f.slice(root.length + 1)}: ${r.why}`);
      // only a capture the JavaScript warns about or reads from gzip may go to the JavaScript
      assert.ok(r.warnings.length > 0 || f.endsWith('.gz'), `${f}: declined (${r.why}) although the JavaScript reads it cleanly`);
    }
  }
  t.diagnostic(`fixtures: ${native} native, ${declined.length} declined${declined.length ? ': ' + declined.join('; ') : ''}`);
  assert.ok(files.filter((f) => f.includes('/lab/')).length >= 6, 'the lab captures are among the fixtures');
});

test('several inputs read as one capture, with windows that start late and stop a file early, agree', { skip }, async () => {
  const lab = join(root, 'test/fixtures/lab');
  const inputs = [join(lab, 'h2-goaway-all.pcapng'), join(root, 'test/fixtures/flow/idle-reset-nlb.pcapng'), join(root, 'test/fixtures/capture/zeek_modify-request.pcapng'), join(lab, 'keepalive-race-preserve-all.pcapng')];
  const all = await jsPass(inputs, null);
  const times = all.rows.map((r) => r[0] as number).sort((a, b) => a - b);
  assert.ok(times.length > 100);
  assert.ok((await compare(inputs)).native);
  // a window cutting inside the first file (the reader stops it at the first packet after), and others
  for (const w of [
    { since: times[10]!, until: times[40]! },
    { since: -Infinity, until: times[5]! },
    { since: times[times.length - 3]!, until: Infinity },
    { since: times[0]! + 1e9, until: Infinity },
  ]) {
    const r = await compare(inputs, w);
    assert.ok(r.native, `window ${JSON.stringify(w)}: ${r.why}`);
  }
});

// The lab's load capture (bench/analyze/run.ts): MIRRORLENS_BENCH_LOAD names its directory (default bench/out/load).
const benchDir = join(resolve(process.env.MIRRORLENS_BENCH_LOAD ?? join(root, 'bench/out/load')), 'capture');

test('the bench capture agrees (when it is on this machine)', { skip: skip || (existsSync(benchDir) ? false : 'no bench capture') }, async () => {
  const dir = benchDir;
  const files = readdirSync(dir).filter((n) => n.endsWith('.pcapng')).map((n) => join(dir, n));
  assert.ok((await compare(files)).native);
});

// ------------------------------------------------------------------------------- synthetic

/** A TCP header with options MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 (40 bytes). */
function tcpOpts(sport: number, dport: number, seq: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = tcp(sport, dport, seq, 0, flags);
  const opts = hex('02 04 05 b4  04 02  08 0a 00 00 30 39 00 00 00 00  01  03 03 07');
  const out = concat(h, opts, payload);
  out[12] = ((20 + opts.length) / 4) << 4;
  return out;
}

/** IPv6 header + extension headers (Hop-by-Hop, Destination Options) around a payload of protocol `proto`. */
function ipv6(proto: number, payload: Uint8Array, opts: { ext?: boolean; fragmentOffset?: number; more?: boolean } = {}): Uint8Array {
  const exts: Uint8Array[] = [];
  const chain: number[] = [];
  if (opts.ext) {
    chain.push(0, 60);
    exts.push(hex('00 00  01 04 00 00 00 00'), hex('00 00  01 04 00 00 00 00'));
  }
  if (opts.fragmentOffset !== undefined) {
    chain.push(44);
    const f = hex('00 00 0000 12345678');
    f[2] = opts.fragmentOffset >>> 8;
    f[3] = (opts.fragmentOffset & 0xf8) | (opts.more ? 1 : 0);
    exts.push(f);
  }
  // each header's Next Header names the one after it
  for (let i = 0; i < exts.length; i++) exts[i]![0] = i + 1 < chain.length ? chain[i + 1]! : proto;
  const body = concat(...exts, payload);
  const h = hex('60 00 00 00  0000 00 40  20010db8000000000000000000000001  20010db8000000000000000000000002');
  h[4] = body.length >>> 8;
  h[5] = body.length & 0xff;
  h[6] = chain.length > 0 ? chain[0]! : proto;
  return concat(h, body);
}

function ipv4Frag(payload: Uint8Array, offset8: number, more: boolean): Uint8Array {
  const p = ipv4('10.0.0.1', '10.0.0.2', 6, payload);
  const ff = (more ? 0x2000 : 0) | offset8;
  p[6] = ff >>> 8;
  p[7] = ff & 0xff;
  return p;
}

const data = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function writeMixed(path: string): void {
  const w = new PcapngWriter({ path });
  const ethNs = w.addInterface({ linkType: 1, tsresol: 9, name: 'eth0' });
  const rawUs = w.addInterface({ linkType: 101, tsresol: 6, options: { tsOffsetSec: 1_700_000_000 } });
  const ethBin = w.addInterface({ linkType: 1, tsresol: 0x80 | 20 });
  const listen = w.addInterface({ linkType: 1, tsresol: 9, name: 'alb-client-side', description: 'VXLAN VNI 4242 from 10.0.0.5; decapsulated by mirrorlens listen' });
  const snap = w.addInterface({ linkType: 1, tsresol: 9, snaplen: 74 });
  const zone = w.addInterface({ linkType: 101, tsresol: 9, name: 'zöne-ß-東', description: 'GENEVE VNI 7 decapsulated by mirrorlens listen' });
  let t = 1_764_900_000;
  let n = 0;
  const put = (ifId: number, frame: Uint8Array, orig?: number): void => {
    n++;
    w.writePacket(ifId, t + Math.floor(n / 3), (n * 123_456_789) % 1e9, frame, 0, frame.length, orig);
  };
  const v4 = (p: Uint8Array): Uint8Array => concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 6, p));
  w.writeSecrets(SecretsType.TLSKeyLog, utf8('CLIENT_RANDOM 00 11\n'));
  put(ethNs, v4(tcpOpts(40000, 443, 1000, 0x02)));
  put(ethNs, v4(tcp(40000, 443, 1001, 5000, 0x18, data(300))));
  put(rawUs, ipv4('10.0.0.3', '10.0.0.4', 6, tcp(40001, 80, 7, 8, 0x10, data(10))));
  put(ethBin, concat(eth(0x86dd), ipv6(6, tcpOpts(40002, 443, 99, 0x02))));
  put(ethBin, concat(eth(0x86dd), ipv6(6, tcp(40002, 443, 100, 1, 0x18, data(64)), { ext: true })));
  // IPv6 fragments: the first (offset 0, TCP inside: skipped), a later one
  put(ethNs, concat(eth(0x86dd), ipv6(6, tcp(40003, 443, 5, 0, 0x18, data(40)), { fragmentOffset: 0, more: true })));
  put(ethNs, concat(eth(0x86dd), ipv6(6, data(40), { fragmentOffset: 64 })));
  // IPv4 fragments
  put(ethNs, concat(eth(0x0800), ipv4Frag(tcp(40004, 443, 5, 0, 0x18, data(40)), 0, true)));
  put(ethNs, concat(eth(0x0800), ipv4Frag(data(40), 8, false)));
  // VLAN, QinQ
  put(ethNs, concat(eth(0x8100), hex('00 64'), u16(0x0800), ipv4('10.1.0.1', '10.1.0.2', 6, tcp(40005, 443, 1, 2, 0x10, data(5)))));
  put(ethNs, concat(eth(0x88a8), hex('00 0a'), u16(0x8100), hex('00 14'), u16(0x86dd), ipv6(6, tcp(40006, 443, 1, 2, 0x11))));
  // VXLAN (4789) → Ethernet → IPv4 → TCP
  const inner = concat(eth(0x0800), ipv4('172.16.0.1', '172.16.0.2', 6, tcp(40007, 443, 1, 2, 0x18, data(100))));
  put(ethNs, concat(eth(0x0800), ipv4('10.9.0.1', '10.9.0.2', 17, udp(55000, 4789, concat(vxlan(7001), inner)))));
  // GENEVE (GWLB, IPv4 inside) → UDP 4789 → VXLAN: the innermost VNI is the point
  const gwlb = hex('08 00 08 00 00 00 00 00  01 08 01 02 0a 1b 2c 3d 4e 5f 60 71  01 08 02 02 00 00 00 00 00 00 00 2a  01 08 03 01 ca fe f0 0d');
  put(ethNs, concat(eth(0x0800), ipv4('10.8.0.1', '10.8.0.2', 17, udp(40000, 6081, concat(gwlb, ipv4('10.9.0.1', '10.9.0.2', 17, udp(55001, 4789, concat(vxlan(99), inner))))))));
  // GENEVE with an Ethernet frame inside (protocol 0x6558), VNI 5
  put(ethNs, concat(eth(0x0800), ipv4('10.8.0.1', '10.8.0.2', 17, udp(40000, 6081, concat(hex('00 00 65 58 00 00 05 00'), inner)))));
  // a truncated VXLAN (4 bytes of its header)
  put(ethNs, concat(eth(0x0800), ipv4('10.9.0.1', '10.9.0.2', 17, udp(55000, 4789, hex('08 00 00 00')))));
  // ARP, DNS, an ICMP frag-needed quoting TCP, an echo
  put(ethNs, concat(eth(0x0806), data(28)));
  put(ethNs, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.53', 17, udp(5353, 53, data(30)))));
  const quoted = ipv4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 443, 1001, 5000, 0x18)).subarray(0, 28);
  put(ethNs, concat(eth(0x0800), ipv4('10.0.0.254', '10.0.0.1', 1, concat(hex('03 04 0000 0000 05dc'), quoted))));
  put(ethNs, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.254', 1, concat(hex('08 00 0000 0001 0001'), data(8)))));
  // the same ICMP error mirrored (VXLAN 7001), and on a listen interface: each at its capture point
  const icmpErr = concat(eth(0x0800), ipv4('10.0.0.254', '10.0.0.1', 1, concat(hex('0b 00 0000 0000 0000'), quoted)));
  put(ethNs, concat(eth(0x0800), ipv4('10.9.0.1', '10.9.0.2', 17, udp(55000, 4789, concat(vxlan(7001), icmpErr)))));
  // TCP: data offset 4 (malformed, skipped); header cut (truncated, skipped)
  const bad = tcp(40008, 443, 1, 2, 0x10);
  bad[12] = 0x40;
  put(ethNs, v4(bad));
  put(ethNs, v4(tcp(40009, 443, 1, 2, 0x10)).subarray(0, 14 + 20 + 12));
  // IPv4 Total Length 0 (a TSO capture)
  const tso = v4(tcp(40010, 443, 1, 2, 0x18, data(2000)));
  tso[16] = 0;
  tso[17] = 0;
  put(ethNs, tso);
  // a listen interface: its packets are at the point its name says
  put(listen, v4(tcp(40011, 443, 1, 2, 0x10, data(3))));
  put(listen, icmpErr);
  put(zone, ipv4('10.0.0.7', '10.0.0.8', 6, tcp(40014, 443, 1, 2, 0x10)));
  put(listen, concat(eth(0x0800), ipv4('10.9.0.1', '10.9.0.2', 17, udp(55000, 4789, concat(vxlan(7001), inner)))));
  // snap-length cuts: the payload, and then the TCP header itself
  put(snap, v4(tcp(40012, 443, 1, 2, 0x18, data(500))));
  put(snap, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 17, udp(5, 6, data(100)))));
  put(snap, concat(eth(0x86dd), ipv6(6, tcpOpts(40013, 443, 1, 0x18, data(100)), { ext: true })));
  w.writeSecrets(SecretsType.TLSKeyLog, utf8('CLIENT_RANDOM 22 33\n'));
  t += 10;
  put(ethNs, v4(tcp(40000, 443, 1301, 5000, 0x11)));
  w.close();
}

/** Two sections, the first big-endian: an IDB, EPB, OPB and SPB in each; NRB and ISB skipped; a DSB. */
function sections(): Uint8Array {
  const frame = concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 1, 2, 0x18, data(20))));
  const part = (le: boolean): Uint8Array =>
    concat(
      shb(le),
      idb(le, 1, 60, [[9, [3]]]),
      idb(le, 1, 40, [[9, [0x80 | 10]], [14, new Bytes(le).u64(0, 3600).build()]]),
      block(le, 4, new Bytes(le).u16(0).u16(0).build()),
      epb(le, 0, 0x19b, 0x0a0b0c0d, frame),
      opb(le, 1, 0, 123_456_789, frame),
      spb(le, frame.subarray(0, 60), frame.length),
      dsb(le, SecretsType.TLSKeyLog, utf8('CLIENT_RANDOM aa bb\n')),
      block(le, 5, new Bytes(le).u32(0).u32(0).u32(0).build()),
    );
  return concat(part(false), part(true));
}

/** pcap files: Kuznetzov's 24-byte record headers (big-endian), and microseconds past 999 999 (carried) with an FCS length in the link type. */
function pcaps(): [Uint8Array, Uint8Array] {
  const frame = concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 1, 2, 0x18, data(20))));
  const kuz = new Bytes(false).u32(0xa1b2cd34).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
  for (let i = 0; i < 3; i++) kuz.u32(1_764_900_000 + i).u32(i * 1000).u32(frame.length).u32(frame.length).u32(7).u16(0x0800).u8(0, 0).bytes(frame);
  const us = new Bytes(true).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(0x04000000 | (2 << 28) | 1);
  for (const frac of [0, 999_999, 2_500_000, 0xffffffff]) us.u32(1_764_900_000).u32(frac).u32(frame.length).u32(frame.length).bytes(frame);
  return [kuz.build(), us.build()];
}

test('synthetic captures (IPv6, VLAN, VXLAN, GENEVE, fragments, snap-length cuts, resolutions, offsets, interfaces, sections) agree and go native', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-native-read-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mixed = join(dir, 'mixed.pcapng');
  writeMixed(mixed);
  const sec = join(dir, 'sections.pcapng');
  writeFileSync(sec, sections());
  const [kuz, us] = pcaps();
  writeFileSync(join(dir, 'kuznetzov.pcap'), kuz);
  writeFileSync(join(dir, 'carry.pcap'), us);
  for (const f of [mixed, sec, join(dir, 'kuznetzov.pcap'), join(dir, 'carry.pcap')]) {
    const r = await compare([f]);
    assert.ok(r.native, `${f}: ${r.why}`);
  }
  const js = await jsPass([mixed], null);
  // what the synthetic capture was made to show is in it
  assert.deepEqual(new Set(js.rows.map((r) => r[4])), new Set(['', 'vni:7001', 'vni:99', 'geneve:5', 'alb-client-side', 'zöne-ß-東']));
  assert.ok(js.rows.some((r) => r[5] === 6) && js.rows.some((r) => (r[24] as number) > (r[23] as number)), 'IPv6 and snap-length cut payloads');
  assert.ok(js.stats.skippedPackets >= 4 && js.dsbs.length === 2);
  assert.deepEqual(js.icmp.map((x) => x.ev.capturePoint), ['', 'vni:7001', 'alb-client-side']);
  assert.ok(js.summary.decodeProblems.truncated >= 2 && js.summary.decodeProblems.malformed >= 1 && js.summary.decodeProblems.unsupported >= 1);
  assert.ok((await compare([mixed, sec, mixed])).native, 'several synthetic inputs as one capture');
});

test('what the native reader does not reproduce exactly is declined with a reason: a cut-off last block, gzip, a bad block, picosecond time, a FIFO', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-native-read-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mixed = join(dir, 'mixed.pcapng');
  writeMixed(mixed);
  const whole = readFileSync(mixed);
  const cases: [string, Uint8Array, RegExp][] = [
    ['cut.pcapng', whole.subarray(0, whole.length - 5), /cut off/],
    ['trailer.pcapng', (() => { const b = Buffer.from(whole); b[b.length - 1] ^= 0xff; return b; })(), /trailing length/],
    ['pico.pcapng', concat(shb(true), idb(true, 1, 0, [[9, [12]]]), epb(true, 0, 1, 2, concat(eth(0x0800), ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 3, 4, 0x10))))), /time resolution/],
    ['empty.pcap', new Uint8Array(0), /fewer than 4 bytes/],
    // a listen interface whose name is not UTF-8: TextDecoder would replace bytes the native side would intern as they are
    ['badname.pcapng', concat(shb(true), idb(true, 101, 0, [[2, [0x61, 0xff, 0x62]], [3, utf8('x decapsulated by mirrorlens listen')]]), epb(true, 0, 1, 2, ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 3, 4, 0x10)))), /not plain UTF-8/],
    ['text.pcap', utf8('hello, not a capture\n'), /not a pcap or pcapng/],
    ['gz.pcapng.gz', readFileSync(join(root, 'test/fixtures/capture/wireshark_dhe1.pcapng.gz')), /gzip/],
  ];
  for (const [name, bytes, reason] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    const r = await compare([p]);
    assert.equal(r.native, false, name);
    assert.match(r.why, reason, name);
    // a declined input among clean ones declines the whole read
    assert.equal((await compare([mixed, p])).native, false, `${name} after a clean input`);
  }
  const missing = nativePass(addon as unknown as Addon, [join(dir, 'absent.pcapng')], null);
  assert.equal(missing.pass, null);
  assert.match(missing.why, /cannot open/);
  assert.match(nativePass(addon as unknown as Addon, ['/dev/null'], null).why, /not a regular file/);
  // a FIFO is declined at once, not waited on (the JavaScript reads it asynchronously)
  const fifo = join(dir, 'fifo.pcapng');
  execFileSync('mkfifo', [fifo]);
  assert.match(nativePass(addon as unknown as Addon, [fifo], null).why, /not a regular file/);
});
