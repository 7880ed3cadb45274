/**
 * In-process fuzz targets: each makes an input from the corpus and a seeded generator (`make`),
 * and runs it through one stage of the pipeline (`exec`), the way fuzzshark runs one dissector.
 * An exception out of `exec` is a crash (the stages never throw on bad input, except a
 * MirrorlensError where their API says so); a FuzzFailure is an oracle's verdict (a secret in an
 * output, output that does not parse or could drive a terminal, markup unescaped).
 *
 * An input is a set of named files plus a little metadata, so that a failure is written as files
 * anyone can feed to the CLI, and replayed with `npm run fuzz -- --replay DIR`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { loadAnalyzeNative } from '../src/capture/native-analyze.js';
import { CaptureParser } from '../src/capture/parser.js';
import type { CaptureWarning } from '../src/capture/record.js';
import { Correlator } from '../src/correlate/correlate.js';
import { albLogView, clbLogView, flowRowView } from '../src/correlate/from-logs.js';
import type { Direction, EndReason, StreamSink } from '../src/flow/stream.js';
import { FlowTable } from '../src/flow/table.js';
import { capturePointOf } from '../src/flow/pipeline.js';
import { createHttpSink } from '../src/http/session.js';
import type { HttpTransaction } from '../src/http/transaction.js';
import { explainAlbError, explainClbError } from '../src/logs/explain.js';
import { parseAlbLine, type AlbLogRecord } from '../src/logs/alb.js';
import { AlbLineFacts, AlbLineScanner } from '../src/logs/alb-scan.js';
import { nativeAlbScan, type NativeAlbScan } from '../src/logs/alb-scan-native.js';
import { parseAlbConnectionLine } from '../src/logs/alb-conn.js';
import { parseClbLine } from '../src/logs/clb.js';
import { parseFlowLine } from '../src/logs/flow.js';
import { parseNlbLine } from '../src/logs/nlb.js';
import { LogsSummariser } from '../src/logs/summary.js';
import { isLineError } from '../src/logs/types.js';
import { KeyLog, formatKeyLogIssue } from '../src/tls/keylog.js';
import { appSinkFactory } from '../src/tls/sniff.js';
import { PacketDecoder } from '../src/wire/packet.js';
import { Status } from '../src/wire/status.js';
import { guarded, readEveryAddress } from '../src/wire/test-bytes.js';
import { isMirrorlensError } from '../src/wire/errors.js';
import { provideDissectors } from '../src/analyze/dissectors.js';
import { AnalysisSession } from '../src/analyze/session.js';
import { reportScans } from '../src/analyze/scans.js';
import { SCHEMA_VERSION, type Report } from '../src/analyze/model.js';
import { renderHtml } from '../src/report/html.js';
import { renderJson } from '../src/report/json.js';
import { renderText } from '../src/report/text.js';
import type { Corpus, StreamChunk } from './corpus.js';
import { KEYLOG_CORRUPTIONS, keyLogTexts } from './keylog-corrupt.js';
import { HOSTILE_TOKENS, mutateBytes, mutateText, type Rng } from './mutate.js';
import { scanAll } from '../test/alb-native-scan.js';
import { controlByteAt, findLeak, secretWindows, unescapedMarkup, withoutCarried } from './oracle.js';
import { plaintextOf } from './plaintext.js';
import { firstDifference, jsPassBytes, nativePass } from '../test/capture/native-diff.js';
import { diffCaptureBytes } from '../test/flow/survey-native-diff.js';
import { keyLogDifference, nativeKeysHere, type Way } from '../test/tls/keylog-native-diff.js';

// The session target feeds connections synchronously: its TLS and HTTP stages are loaded with it
// (src/analyze/dissectors.ts; the CLI loads them only when a connection is dissected).
provideDissectors({ createHttpSink, appSinkFactory });

/** An oracle's verdict on a run that did not crash. */
export class FuzzFailure extends Error {
  constructor(
    readonly kind: 'leak' | 'output',
    message: string,
  ) {
    super(message);
  }
}

export interface FuzzInput {
  /** File name -> content. */
  files: Record<string, Uint8Array>;
  /** Small JSON-able settings (a link type, a chunking, a log kind...). */
  meta: Record<string, unknown>;
}

export interface Target {
  name: string;
  /** What it runs, for the summary. */
  what: string;
  make(corpus: Corpus, rng: Rng): FuzzInput;
  exec(input: FuzzInput): void;
}

/** Long key-log lines at 1/64 of the leak test's size (16 KiB): thousands of inputs a second. */
const FUZZ_SCALE = 1 / 64;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** A key log for a seed: its own, corrupted now and then, mutated now and then. */
function mutatedKeylog(text: string | null, corpus: Corpus, rng: Rng): Uint8Array | null {
  if (text === null) return rng.chance(0.1) ? mutateText(rng.pick(corpus.keylogs).text, rng) : null;
  let bytes: Uint8Array = Buffer.from(text, 'latin1');
  if (rng.chance(0.3)) bytes = rng.pick(KEYLOG_CORRUPTIONS).apply(text, FUZZ_SCALE);
  if (rng.chance(0.3)) bytes = mutateText(latin1(bytes), rng, corpus.keylogs.flatMap((k) => k.text.split('\n')));
  return bytes;
}

/**
 * The secret windows of a key log, minus hex runs of it (64 digits: client randoms) whose bytes
 * appear in the capture or stream: on the wire, they are public.
 */
function secretsOf(keylog: Uint8Array | null, wire: readonly Uint8Array[]): Set<string> {
  if (keylog === null) return new Set();
  const texts = keyLogTexts(keylog);
  const pub: string[] = [];
  for (const t of texts) {
    for (const m of t.matchAll(/[0-9a-fA-F]{64}/g)) {
      const bytes = Buffer.from(m[0], 'hex');
      if (wire.some((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).indexOf(bytes) >= 0)) pub.push(m[0]);
    }
  }
  return secretWindows(texts, pub);
}

function checkLeak(where: string, output: string, secrets: ReadonlySet<string>): void {
  const leak = findLeak(output, secrets);
  if (leak !== null) throw new FuzzFailure('leak', `${where} holds 16+ hex digits of the key log at ${leak.context}`);
}

// ---------------------------------------------------------------- packet

const packet: Target = {
  name: 'packet',
  what: 'wire decoder (Ethernet/SLL/raw IP, VLAN, IPv4/6, TCP/UDP/ICMP, VXLAN, GENEVE) on one frame',
  make(corpus, rng) {
    const f = rng.pick(corpus.frames);
    const bytes = mutateBytes(f.bytes, rng, [], 3);
    const linkType = rng.chance(0.95) ? f.linkType : rng.pick([0, 1, 12, 101, 113, 228, 229, 276, rng.int(300)]);
    return { files: { 'frame.bin': bytes }, meta: { linkType, checksums: rng.chance(0.5) } };
  },
  exec(input) {
    const b = input.files['frame.bin']!;
    const d = new PacketDecoder({ validateChecksums: input.meta.checksums === true });
    const st = d.decode(input.meta.linkType as number, guarded(b, 0, b.length), 0, b.length);
    if (st !== Status.Ok && st !== Status.Truncated && st !== Status.Malformed && st !== Status.Unsupported) throw new Error(`decode returned ${st}`);
    for (let i = 0; i < d.layerCount; i++) {
      if (d.layerOffset[i]! < 0 || d.layerOffset[i]! + d.layerLength[i]! > b.length) throw new Error(`layer ${i} [${d.layerOffset[i]}, +${d.layerLength[i]}) outside the frame of ${b.length}`);
    }
    readEveryAddress(d); // through the guarded view: no view may point past the frame
  },
};

// ---------------------------------------------------------------- capture

const capture: Target = {
  name: 'capture',
  what: 'pcap/pcapng reader (any chunking) and the wire decoder on every packet',
  make(corpus, rng) {
    const c = rng.pick(corpus.captures);
    const donors = [rng.pick(corpus.captures).bytes];
    const bytes = mutateBytes(c.bytes, rng, donors, 4);
    const splits = Array.from({ length: rng.int(4) }, () => rng.int(bytes.length + 1)).sort((a, b) => a - b);
    return { files: { 'capture.pcapng': bytes }, meta: { splits, seed: c.name } };
  },
  exec(input) {
    const b = input.files['capture.pcapng']!;
    const dec = new PacketDecoder();
    const p = new CaptureParser('capture', {
      onPacket(rec) {
        if (rec.offset < 0 || rec.offset + rec.capturedLength > rec.data.length) throw new Error('packet view outside its buffer');
        dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      },
      onWarning(w) {
        if (!(w.byteOffset >= 0 && w.byteOffset <= b.length)) throw new Error(`warning offset ${w.byteOffset} outside the file of ${b.length}`);
      },
    });
    try {
      let at = 0;
      for (const s of [...(input.meta.splits as number[]), b.length]) {
        p.push(b.subarray(at, s));
        at = s;
      }
      p.end();
    } catch (e) {
      if (!isMirrorlensError(e)) throw e; // "not a capture" is the reader's documented error
    }
  },
};

// ---------------------------------------------------------------- native capture reader

const scratch = join(tmpdir(), `ml-fuzz-native-read-${process.pid}-${threadId}.pcapng`);

const nativeRead: Target = {
  name: 'native-read',
  what: 'the native capture reader and decoder (native/analyze/read.c) against the JavaScript: no crash; it declines, or gives the same segments, counts and summaries',
  make(corpus, rng) {
    const c = rng.pick(corpus.captures);
    return { files: { 'capture.pcapng': mutateBytes(c.bytes, rng, [rng.pick(corpus.captures).bytes], 4) }, meta: { seed: c.name } };
  },
  exec(input) {
    const { addon, why } = loadAnalyzeNative();
    if (addon === null) {
      // not built here: nothing to hold against the JavaScript (where it must be built, that is a failure)
      if (process.env.MIRRORLENS_REQUIRE_NATIVE === '1') throw new Error(`the native analysis addon is required: ${why}`);
      return;
    }
    const b = input.files['capture.pcapng']!;
    writeFileSync(scratch, b);
    try {
      const n = nativePass(addon as unknown as Parameters<typeof nativePass>[0], [scratch], null);
      if (n.pass === null) return; // declined: the JavaScript reads it
      const warnings: CaptureWarning[] = [];
      const js = jsPassBytes(b, scratch, warnings);
      if (js === null) throw new Error('the native reader read a file the JavaScript refuses as not a capture');
      if (warnings.length > 0) throw new Error(`the native reader read a file the JavaScript warns about: ${warnings[0]!.message}`);
      const d = firstDifference(js, n.pass);
      if (d !== null) throw new Error(`the native reader differs from the JavaScript: ${d}`);
    } finally {
      rmSync(scratch, { force: true });
    }
  },
};

// ---------------------------------------------------------------- native survey

/** Lifetimes short and long, tables small and large: every way a connection ends. */
const SURVEY_FLOWS = [
  { idleGapThresholdSeconds: 1 },
  { idleGapThresholdSeconds: 30, perCapturePoint: true },
  { idleGapThresholdSeconds: 0.001, idleTimeoutSeconds: 0.5, closeLingerSeconds: 0.01, maxConnections: 3, duplicateWindowSeconds: 0 },
  { idleGapThresholdSeconds: 0, idleTimeoutSeconds: 2, closeLingerSeconds: 0, maxConnections: 1, perCapturePoint: true },
];

const nativeSurvey: Target = {
  name: 'native-survey',
  what: 'the survey in C (native/analyze/survey.c, with its TLS record walk) against FlowSurvey on the segments the JavaScript decodes: no crash, the same rows and stats',
  make(corpus, rng) {
    const c = rng.pick(corpus.captures);
    return { files: { 'capture.pcapng': mutateBytes(c.bytes, rng, [rng.pick(corpus.captures).bytes], 4) }, meta: { seed: c.name, flow: rng.int(SURVEY_FLOWS.length) } };
  },
  exec(input) {
    const { addon, why } = loadAnalyzeNative();
    if (addon === null) {
      // not built here: nothing to hold against the JavaScript (where it must be built, that is a failure)
      if (process.env.MIRRORLENS_REQUIRE_NATIVE === '1') throw new Error(`the native analysis addon is required: ${why}`);
      return;
    }
    const r = diffCaptureBytes(addon, input.files['capture.pcapng']!, SURVEY_FLOWS[(input.meta.flow as number) ?? 0] ?? SURVEY_FLOWS[0]!, 3);
    if (r !== null && r.diffs.length > 0) throw new Error(`the native survey differs from FlowSurvey: ${r.diffs.join('; ')}`);
  },
};

// ---------------------------------------------------------------- streams: TLS and HTTP

function encodeStream(chunks: StreamChunk[]): Uint8Array {
  return Buffer.from(JSON.stringify(chunks.map((c) => ({ dir: c.dir, time: c.time, hex: Buffer.from(c.bytes).toString('hex') }))));
}

function decodeStream(b: Uint8Array): StreamChunk[] {
  return (JSON.parse(latin1(b)) as { dir: Direction; time: number; hex: string }[]).map((c) => ({ dir: c.dir, time: c.time, bytes: Buffer.from(c.hex, 'hex') }));
}

/** Chunk-level edits (split, merge, drop, duplicate, reorder) and byte edits of some chunks. */
function mutateStream(chunks: StreamChunk[], rng: Rng, donors: Uint8Array[]): StreamChunk[] {
  const out = chunks.map((c) => ({ ...c }));
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const i = rng.int(out.length);
    const c = out[i]!;
    switch (rng.int(7)) {
      case 0: {
        const at = rng.int(c.bytes.length + 1);
        out.splice(i, 1, { ...c, bytes: c.bytes.subarray(0, at) }, { ...c, bytes: c.bytes.subarray(at) });
        break;
      }
      case 1:
        if (i + 1 < out.length && out[i + 1]!.dir === c.dir) out.splice(i, 2, { ...c, bytes: Buffer.concat([c.bytes, out[i + 1]!.bytes]) });
        break;
      case 2:
        out.splice(i, 1);
        break;
      case 3:
        out.splice(i, 0, { ...c });
        break;
      case 4:
        if (i + 1 < out.length) [out[i], out[i + 1]] = [out[i + 1]!, c];
        break;
      default:
        out[i] = { ...c, bytes: mutateBytes(c.bytes, rng, donors, 3) };
    }
  }
  return out;
}

const END_REASONS: EndReason[] = ['fin', 'rst', 'timeout', 'capture-end', 'evicted'];

/** Feeds chunks to a sink with stream offsets kept consistent; `gapAt` chunk indexes become gaps. */
function feed(sink: StreamSink, chunks: StreamChunk[], gaps: number[], ends: EndReason[]): void {
  const so = [0, 0];
  chunks.forEach((c, i) => {
    if (gaps.includes(i)) {
      sink.gap(c.dir, so[c.dir]!, c.bytes.length, c.time);
    } else if (c.bytes.length > 0) {
      sink.data(c.dir, c.bytes, 0, c.bytes.length, so[c.dir]!, c.time);
    }
    so[c.dir]! += c.bytes.length;
  });
  const t = chunks.length ? chunks[chunks.length - 1]!.time : 0;
  sink.end(0, ends[0]!, t);
  sink.end(1, ends[1]!, t);
}

const CONN = { uid: 'Cfuzz', communityId: '1:fuzz', capturePoint: '', clientAddr: '10.0.0.1', clientPort: 40000, serverAddr: '10.0.0.2', serverPort: 443, startTime: 0, previousPacketTime: NaN };

function streamInput(corpus: Corpus, rng: Rng, tls: boolean): FuzzInput {
  const pool = corpus.streams.filter((s) => s.tls === tls);
  const s = rng.pick(pool);
  const donors = [rng.pick(pool).chunks[0]?.bytes ?? new Uint8Array(0)];
  const chunks = mutateStream(s.chunks, rng, donors);
  const files: Record<string, Uint8Array> = { 'stream.json': encodeStream(chunks) };
  const keylog = tls ? mutatedKeylog(s.keylog, corpus, rng) : null;
  if (keylog !== null) files['keys.log'] = keylog;
  const gaps = rng.chance(0.1) ? [rng.int(chunks.length)] : [];
  return { files, meta: { seed: s.name, gaps, ends: [rng.pick(END_REASONS), rng.pick(END_REASONS)], alpn: rng.pick([null, 'h2', 'http/1.1', 'h2c']), protocol: rng.pick([undefined, 'http1', 'h2']) } };
}

function txText(txs: HttpTransaction[]): string {
  return JSON.stringify(txs);
}

const tls: Target = {
  name: 'tls',
  what: 'TLS record reader, handshake parser and decryption (with a key log) feeding HTTP, on one connection',
  make: (corpus, rng) => streamInput(corpus, rng, true),
  exec(input) {
    const chunks = decodeStream(input.files['stream.json']!);
    const keylog = input.files['keys.log'] ?? null;
    const keys = new KeyLog();
    const issues = keylog === null ? [] : keys.addText(latin1(keylog), 'keys.log').map(formatKeyLogIssue);
    const txs: HttpTransaction[] = [];
    const plaintext: string[] = [];
    const sink = appSinkFactory(keys, (c, info) => {
      const http = createHttpSink(c, { alpn: info.alpn, tls: info.tls !== null }, (tx) => txs.push(tx));
      // The decrypted bytes, kept to tell a secret the traffic carries from one echoed.
      return {
        data(dir, b, offset, length, so, time) {
          plaintext.push(latin1(b.subarray(offset, offset + length)));
          http.data(dir, b, offset, length, so, time);
        },
        gap: (dir, so, length, time) => http.gap(dir, so, length, time),
        end: (dir, reason, time) => http.end(dir, reason, time),
      };
    })({ ...CONN });
    feed(sink, chunks, input.meta.gaps as number[], input.meta.ends as EndReason[]);
    const secrets = withoutCarried(secretsOf(keylog, chunks.map((c) => c.bytes)), plaintext.join('\n'));
    checkLeak('a key log issue', issues.join('\n'), secrets);
    // The client randoms are the ClientHello's own bytes (wire data, in the key log too).
    const info = sink.tls === null ? null : { ...sink.tls, clientRandom: null, clientRandoms: [] };
    checkLeak('the TLS record (problems, alerts)', JSON.stringify(info), secrets);
    checkLeak('the HTTP transactions', txText(txs), secrets);
  },
};

const http: Target = {
  name: 'http',
  what: 'HTTP/1.x parser, HTTP/2 framing and HPACK on one plaintext connection',
  make: (corpus, rng) => streamInput(corpus, rng, false),
  exec(input) {
    const chunks = decodeStream(input.files['stream.json']!);
    const txs: HttpTransaction[] = [];
    const sink = createHttpSink({ ...CONN }, { alpn: input.meta.alpn as string | null, tls: false }, (tx) => txs.push(tx), { protocol: input.meta.protocol as 'http1' | 'h2' | undefined });
    feed(sink, chunks, input.meta.gaps as number[], input.meta.ends as EndReason[]);
    txText(txs);
  },
};

// ---------------------------------------------------------------- logs

const PARSERS = {
  alb: parseAlbLine,
  'alb-conn': parseAlbConnectionLine,
  nlb: parseNlbLine,
  clb: parseClbLine,
  flow: (l: string) => parseFlowLine(l),
} as const;

let albNative: NativeAlbScan | null | undefined;

/**
 * The native ALB quick scan (alb-scan-native.ts) over the raw bytes: a line it takes must be one
 * the JavaScript scan takes, with the same values (the target rebuilt as read.ts does: a string
 * when the scan says it changed). Declining is always allowed.
 */
function nativeScanAgrees(buf: Buffer): void {
  if (albNative === undefined) albNative = nativeAlbScan();
  const s = albNative;
  if (s === null) return;
  const scanner = new AlbLineScanner();
  const facts = new AlbLineFacts();
  // (scanAll also checks that each line ends at its newline.)
  for (const seen of scanAll(s, buf)) {
    if (!seen.quick) continue;
    if (!scanner.scan(seen.text, facts)) throw new Error('the native ALB scan takes a line the JavaScript scan refuses');
    if (!Object.is(facts.time, seen.time) || facts.clientV4 !== seen.clientV4 || facts.clientPort !== seen.clientPort || facts.targetAddr !== seen.targetAddr || facts.targetPort !== seen.targetPort || facts.elbStatusCode !== seen.elb) {
      throw new Error('the native ALB scan reads other values than the JavaScript scan');
    }
  }
}

const logs: Target = {
  name: 'logs',
  what: 'ALB, ALB connection, NLB, Classic LB and VPC flow log parsers, the native ALB quick scan against the JavaScript one, the logs summary and the Correlator',
  make(corpus, rng) {
    const seed = rng.pick(corpus.logs);
    const donorLines = rng.pick(corpus.logs).text.split('\n');
    return { files: { 'input.log': mutateText(seed.text, rng, donorLines) }, meta: { kind: rng.chance(0.9) ? seed.kind : rng.pick(Object.keys(PARSERS)) } };
  },
  exec(input) {
    const parse = PARSERS[input.meta.kind as keyof typeof PARSERS];
    const summary = new LogsSummariser();
    const corr = new Correlator();
    const scanner = new AlbLineScanner();
    const facts = new AlbLineFacts();
    for (const line of Buffer.from(input.files['input.log']!).toString('utf8').split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const r = parse(line);
      // The analysis's quick scan of ALB lines (alb-scan.ts) must never accept what the parser
      // refuses, nor read other values.
      if (input.meta.kind === 'alb' && scanner.scan(line, facts)) {
        if (isLineError(r)) throw new Error(`the ALB quick scan accepts a line the parser refuses (${r.reason})`);
        const a = r as AlbLogRecord;
        if (!Object.is(facts.time, a.time) || facts.clientAddr !== a.clientAddr || facts.clientPort !== a.clientPort || facts.targetAddr !== a.targetAddr || facts.targetPort !== a.targetPort || facts.elbStatusCode !== a.elbStatusCode) {
          throw new Error('the ALB quick scan reads other values than the parser');
        }
      }
      if (isLineError(r)) {
        if (typeof r.reason !== 'string' || r.reason === '') throw new Error('a line error without a reason');
        continue;
      }
      summary.add(r);
      if (r.kind === 'alb') {
        explainAlbError(r);
        corr.addLog(albLogView(r));
      } else if (r.kind === 'clb') {
        explainClbError(r);
        corr.addLog(clbLogView(r));
      } else if (r.kind === 'flow') {
        const v = flowRowView(r);
        if (v) corr.addFlowRow(v);
      }
    }
    JSON.stringify(summary.report());
    corr.build();
    if (input.meta.kind === 'alb') nativeScanAgrees(Buffer.from(input.files['input.log']!));
  },
};

// ---------------------------------------------------------------- keylog

const keylog: Target = {
  name: 'keylog',
  what: 'the NSS key log reader (file text and Decryption Secrets Block), its issues checked for quoted secrets; the line check in C (native/analyze/keylog.c) = the JavaScript',
  make(corpus, rng) {
    const k = rng.pick(corpus.keylogs);
    let bytes: Uint8Array = rng.chance(0.5) ? rng.pick(KEYLOG_CORRUPTIONS).apply(k.text, FUZZ_SCALE) : Buffer.from(k.text, 'latin1');
    if (rng.chance(0.7)) bytes = mutateText(latin1(bytes), rng, corpus.keylogs.flatMap((x) => x.text.split('\n')));
    if (rng.chance(0.2)) bytes = mutateBytes(bytes, rng, [], 3);
    return { files: { 'keys.log': bytes }, meta: { dsb: rng.chance(0.3) } };
  },
  exec(input) {
    const b = input.files['keys.log']!;
    const k = new KeyLog();
    const issues = input.meta.dsb ? k.addDsb(0x544c534b, b) : k.addText(latin1(b), 'keys.log');
    checkLeak('a key log issue', issues.map(formatKeyLogIssue).join('\n'), secretWindows(keyLogTexts(b)));
    if (!nativeKeysHere()) return; // not built here: nothing to hold against the JavaScript
    const ways: Way[] = input.meta.dsb ? ['dsb'] : ['file-latin1', 'file-utf8', 'text'];
    for (const way of ways) {
      const d = keyLogDifference(b, way).difference;
      if (d !== null) throw new Error(`the native key log check differs from the JavaScript (${way}): ${d}`);
    }
  },
};

// ---------------------------------------------------------------- session (the whole analysis, in-process)

const ALB_HOSTILE_LINE = (i: number) =>
  `https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:${2817 + i} 10.0.0.1:80 0.086 0.048 0.037 502 - 0 57 "GET https://www.example.com:443/${HOSTILE_TOKENS[i % 3]} HTTP/1.1" "${HOSTILE_TOKENS[(i + 1) % 3]}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "${HOSTILE_TOKENS[(i + 2) % 3]}" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "-" "-" "-"`;

const session: Target = {
  name: 'session',
  what: 'the whole analysis in-process (capture, flow, TLS, HTTP, ALB log, correlation, verdicts) and the text/JSON/HTML reports',
  make(corpus, rng) {
    const c = rng.pick(corpus.captures.filter((x) => !x.name.endsWith('.gz')));
    const files: Record<string, Uint8Array> = { 'capture.pcapng': rng.chance(0.9) ? mutateBytes(c.bytes, rng, [rng.pick(corpus.captures).bytes], 3) : c.bytes };
    const k = mutatedKeylog(c.keylog, corpus, rng);
    if (k !== null) files['keys.log'] = k;
    if (rng.chance(0.5)) {
      const base = rng.pick(corpus.logs.filter((l) => l.kind === 'alb')).text;
      const lines = [base, ...Array.from({ length: 3 }, (_, i) => ALB_HOSTILE_LINE(i))].join('\n');
      files['alb.log'] = rng.chance(0.5) ? mutateText(lines, rng) : Buffer.from(lines);
    }
    return { files, meta: { seed: c.name } };
  },
  exec(input) {
    const capture = input.files['capture.pcapng']!;
    const keylog = input.files['keys.log'] ?? null;
    const notes: string[] = [];
    const keys = new KeyLog();
    if (keylog !== null) for (const i of keys.addText(latin1(keylog), 'keys.log')) notes.push(formatKeyLogIssue(i));
    const corr = new Correlator();
    const alb = input.files['alb.log'];
    if (alb !== undefined) {
      for (const line of Buffer.from(alb).toString('utf8').split('\n')) {
        const r = parseAlbLine(line);
        if (isLineError(r)) continue;
        if (Correlator.keepsLogStatus(r.elbStatusCode)) corr.addLog(albLogView(r));
        else corr.noteLogTarget(r.targetAddr, r.targetPort);
      }
    }
    const s = new AnalysisSession(keys, corr, { onWarning: (m) => notes.push(m) });
    const table = new FlowTable(s.handler(), {});
    const dec = new PacketDecoder();
    const dsbTexts: Uint8Array[] = [];
    let packets = 0;
    let last = -Infinity;
    const parser = new CaptureParser('capture.pcapng', {
      onPacket(rec) {
        packets++;
        dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
        if (rec.time > last) last = rec.time;
        table.ingest(rec, dec, capturePointOf(dec, rec));
      },
      onSecrets(type, data) {
        dsbTexts.push(new Uint8Array(data));
        for (const i of keys.addDsb(type, data)) notes.push(formatKeyLogIssue(i));
      },
      onWarning: (w) => notes.push(w.message),
    });
    try {
      parser.push(capture);
      parser.end();
    } catch (e) {
      if (!isMirrorlensError(e)) throw e;
      notes.push((e as Error).message);
    }
    table.finish(Number.isFinite(last) ? last : undefined);
    const { findings, connections, transactions } = s.explain();
    s.stats.packets = packets;
    s.stats.warnings = notes.slice(0, 100);
    const report: Report = {
      schemaVersion: SCHEMA_VERSION,
      generator: 'mirrorlens fuzz',
      inputs: { captures: ['capture.pcapng'], keylogs: keylog ? ['keys.log'] : [], albLogs: alb ? ['alb.log'] : [], nlbLogs: [], flowLogs: [] },
      findings,
      connections,
      transactions,
      scans: reportScans(corr.attemptSummaries(), alb !== undefined),
      logs: { files: 0, records: 0, badLines: 0, byKind: {}, byElbStatus: {}, errors5xx: 0, clockSkewSeconds: null },
      stats: s.stats,
    };
    const text = renderText(report);
    const json = renderJson(report);
    const html = renderHtml(report);
    try {
      JSON.parse(json);
    } catch (e) {
      throw new FuzzFailure('output', `the JSON report does not parse: ${(e as Error).message}`);
    }
    const at = controlByteAt(text);
    if (at >= 0) throw new FuzzFailure('output', `the text report holds control byte 0x${text.charCodeAt(at).toString(16)} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
    const markup = unescapedMarkup(html);
    if (markup !== null) throw new FuzzFailure('output', `the HTML report holds ${markup} unescaped`);
    const keyText = keylog === null && dsbTexts.length === 0 ? null : Buffer.concat([keylog ?? new Uint8Array(0), Buffer.from('\n'), ...dsbTexts]);
    const secrets = secretsOf(keyText, [capture]);
    let carried: Set<string> | null = null;
    for (const [name, out] of [['text', text], ['JSON', json], ['HTML', html]] as const) {
      // A secret the traffic itself carries (a page listing its session's master key) is captured data.
      if (findLeak(out, secrets) !== null) carried ??= withoutCarried(secrets, plaintextOf(capture, keyText));
      checkLeak(`the ${name} report`, out, carried ?? secrets);
    }
  },
};

// ---------------------------------------------------------------- canaries (prove that each failure is caught)

const canaries: Target[] = [
  { name: 'canary-crash', what: 'throws', make: () => ({ files: {}, meta: {} }), exec: () => void (null as unknown as { x: number }).x },
  { name: 'canary-hang', what: 'loops forever', make: () => ({ files: {}, meta: {} }), exec: () => { for (;;); } },
  {
    name: 'canary-memory',
    what: 'allocates without bound',
    make: () => ({ files: {}, meta: {} }),
    exec: () => {
      const hold: number[][] = [];
      for (;;) hold.push(new Array(1 << 16).fill(1));
    },
  },
  {
    name: 'canary-leak',
    what: 'quotes a key log line',
    make: (corpus) => ({ files: { 'keys.log': Buffer.from(corpus.keylogs[0]!.text, 'latin1') }, meta: {} }),
    exec: (input) => checkLeak('a message', `bad line: ${latin1(input.files['keys.log']!).split('\n')[0]}`, secretWindows(keyLogTexts(input.files['keys.log']!))),
  },
];

/** The in-process targets `npm run fuzz` runs by default, in order. */
export const TARGETS: readonly Target[] = [packet, capture, nativeRead, nativeSurvey, tls, http, logs, keylog, session];

/** Every target by name, canaries included. */
export function targetByName(name: string): Target | undefined {
  return [...TARGETS, ...canaries].find((t) => t.name === name);
}
