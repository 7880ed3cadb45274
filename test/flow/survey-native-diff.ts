/**
 * The C survey (native/analyze/survey.c) against FlowSurvey on the same packets: both are fed in
 * one read (the JavaScript reader, PacketDecoder and segmentOf), and every field of every row and
 * the stats must be the same. Used by test/flow/survey-native.test.ts and the fuzz target.
 */
import { interfaceContext } from '../../src/capture/interface-point.js';
import { CaptureParser } from '../../src/capture/parser.js';
import { PacketRecord } from '../../src/capture/record.js';
import { isMirrorlensError } from '../../src/wire/errors.js';
import type { AnalyzeAddon } from '../../src/capture/native-analyze.js';
import type { FlowOptions } from '../../src/flow/options.js';
import { capturePointOf, processCaptures, type PacketTracker } from '../../src/flow/pipeline.js';
import { SEGMENT_OK, segmentOf, TcpSegment } from '../../src/flow/segment.js';
import { FlowSurvey } from '../../src/flow/survey.js';
import type { SurveyRecords } from '../../src/flow/survey-records.js';
import { nativeSurveyOptions, recordsFromNative, SegmentBatch, surveySegments, type NativeSurveyOptions } from '../../src/flow/survey-native.js';
import { observeTls } from '../../src/tls/record-walk.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { Talk, type TimedFrame } from './packets.js';

/** Feeds both surveys: FlowSurvey as targeted.ts does, and a batch for the C one. */
class Both implements PacketTracker {
  readonly js: FlowSurvey;
  readonly batch = new SegmentBatch();
  readonly points: string[] = [''];
  private readonly pointIds = new Map<string, number>([['', 0]]);
  private readonly seg = new TcpSegment();
  packet = -1;
  input = 0;
  offset = 0;

  constructor(readonly flow: FlowOptions) {
    this.js = new FlowSurvey(null, { ...flow, observe: observeTls });
  }
  get stats() {
    return this.js.stats;
  }
  at(packet: number, input: number, offset: number): void {
    this.packet = packet;
    this.input = input;
    this.offset = offset;
    this.js.at(packet, input, offset);
  }
  ingest(rec: PacketRecord, pkt: PacketDecoder, capturePoint: string): void {
    if (segmentOf(this.seg, rec, pkt) === SEGMENT_OK) {
      let id = this.pointIds.get(capturePoint);
      if (id === undefined) {
        id = this.points.length;
        this.points.push(capturePoint);
        this.pointIds.set(capturePoint, id);
      }
      this.batch.push(this.seg, this.packet, this.input, this.offset, id);
    }
    this.js.ingest(rec, pkt, capturePoint);
  }
  finish(): void {
    this.js.finish();
  }
}

export function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every field a reader of SurveyRecords can see of row `r`. */
export function rowFields(s: SurveyRecords, r: number): Record<string, unknown> {
  const dirs = (f: (d: 0 | 1) => unknown): unknown[] => [f(0), f(1)];
  return {
    uid: s.uid(r),
    capturePoint: s.capturePoint(r),
    keyHash: s.keyHash(r),
    ipVersion: s.ipVersion(r),
    clientAddrId: s.clientAddrId(r),
    serverAddrId: s.serverAddrId(r),
    client: `${s.clientAddr(r)}:${s.clientPort(r)}`,
    server: `${s.serverAddr(r)}:${s.serverPort(r)}`,
    startTime: s.startTime(r),
    lastTime: s.lastTime(r),
    synAckTime: s.synAckTime(r),
    maxIdle: s.maxIdle(r),
    syns: dirs((d) => s.syns(r, d)),
    isn: dirs((d) => s.isn(r, d)),
    packets: dirs((d) => s.packets(r, d)),
    payloadBytes: dirs((d) => s.payloadBytes(r, d)),
    finSeen: dirs((d) => s.finSeen(r, d)),
    finTime: dirs((d) => s.finTime(r, d)),
    finIdle: dirs((d) => s.finIdle(r, d)),
    firstPayloadTime: dirs((d) => s.firstPayloadTime(r, d)),
    lastPayloadTime: dirs((d) => s.lastPayloadTime(r, d)),
    midstream: s.midstream(r),
    refused: s.refused(r),
    closedBy: s.closedBy(r),
    closeHow: s.closeHow(r),
    endCause: s.endCause(r),
    endPhase: s.endPhase(r),
    complex: s.complex(r),
    tag: s.tag(r),
    previous: s.previous(r),
    firstPacket: s.firstPacket(r),
    lastPacket: s.lastPacket(r),
    endPacket: s.endPacket(r),
    firstInput: s.firstInput(r),
    lastInput: s.lastInput(r),
    firstOffset: s.firstOffset(r),
    lastOffset: s.lastOffset(r),
    synTimes: s.synTimes(r),
    idleGaps: s.idleGapList(r),
  };
}

const STATS = ['tcpPackets', 'duplicatePackets', 'connections', 'activeConnections', 'peakConnections', 'evictedConnections', 'timedOutConnections'] as const;

/** What a comparison found: differences, rows compared, and where the C survey's rows were (chunks in its spill file, in memory). */
export interface SurveyDiff {
  diffs: string[];
  rows: number;
  spilled: number;
  inMemory: number;
}

/** Differences between the two surveys (at most `max`), and the rows compared; `over`: C survey options to change (tmpDir). */
function compare(b: Both, addon: AnalyzeAddon, max: number, over: Partial<NativeSurveyOptions> = {}): SurveyDiff {
  const opts = nativeSurveyOptions(b.flow, b.points, true);
  const nat = surveySegments(addon, { ...opts, ...over }, b.batch, b.packet);
  const spill = { spilled: nat.spilled, inMemory: nat.chunks.length };
  const jsUids: number[] = [];
  const c = recordsFromNative(nat, b.points, opts.perPoint, jsUids);
  const j = b.js.records;
  const diffs: string[] = [];
  // Every uid made in C but where toFixed would write an exponent (JavaScript makes those).
  for (const r of jsUids) if (Math.abs(c.startTime(r)) < 1e21) diffs.push(`row ${r}: no uid from C (start ${c.startTime(r)})`);
  for (let k = 0; k < STATS.length; k++) {
    if (b.js.stats[STATS[k]!] !== nat.stats[k]) diffs.push(`stats.${STATS[k]}: js ${b.js.stats[STATS[k]!]} c ${nat.stats[k]}`);
  }
  if (j.size !== c.size) diffs.push(`rows: js ${j.size} c ${c.size}`);
  if (j.addrCount !== c.addrCount) diffs.push(`addresses: js ${j.addrCount} c ${c.addrCount}`);
  for (let r = 0; r < Math.min(j.size, c.size) && diffs.length < max; r++) {
    const a = rowFields(j, r);
    const z = rowFields(c, r);
    for (const k of Object.keys(a)) if (!same(a[k], z[k])) diffs.push(`row ${r} ${k}: js ${JSON.stringify(a[k])} c ${JSON.stringify(z[k])}`);
  }
  return { diffs: diffs.slice(0, max), rows: j.size, ...spill };
}

/** Both surveys over capture files (as the first pass reads them). */
export async function diffFiles(addon: AnalyzeAddon, files: string[], flow: FlowOptions, max = 10): Promise<SurveyDiff> {
  const b = new Both(flow);
  await processCaptures(files, {}, { ...flow, tracker: b, beforeDecode: (rec, n, i) => (b.at(n, i, rec.byteOffset), true) });
  return compare(b, addon, max);
}

/** Both surveys over hand-built Ethernet frames. */
export function diffFrames(
  addon: AnalyzeAddon,
  frames: { time: number; frame: Uint8Array }[],
  flow: FlowOptions,
  max = 10,
  over: Partial<NativeSurveyOptions> = {},
): SurveyDiff {
  const b = new Both(flow);
  const dec = new PacketDecoder();
  const rec = new PacketRecord();
  let n = 0;
  for (const f of frames) {
    rec.index = n + 1;
    rec.time = f.time;
    rec.linkType = 1;
    rec.data = f.frame;
    rec.offset = 0;
    rec.byteOffset = n * 100;
    rec.capturedLength = f.frame.length;
    rec.originalLength = f.frame.length;
    b.at(n, 0, rec.byteOffset);
    dec.decode(1, f.frame, 0, f.frame.length);
    b.ingest(rec, dec, capturePointOf(dec, rec));
    n++;
  }
  b.finish();
  return compare(b, addon, max, over);
}

/**
 * Both surveys over one capture file's bytes, read synchronously (the fuzz target); null when the
 * JavaScript refuses the bytes as a capture.
 */
export function diffCaptureBytes(addon: AnalyzeAddon, bytes: Uint8Array, flow: FlowOptions, max = 10): SurveyDiff | null {
  const b = new Both(flow);
  const dec = new PacketDecoder();
  const points: string[] = [];
  let n = 0;
  const parser = new CaptureParser('capture', {
    onPacket(rec) {
      b.at(n++, 0, rec.byteOffset);
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      b.ingest(rec, dec, capturePointOf(dec, rec) || (points[rec.interfaceId] ?? ''));
    },
    onInterface: (i) => (points[i.id] = interfaceContext(i).point),
  });
  try {
    parser.push(bytes);
    parser.end();
  } catch (e) {
    if (isMirrorlensError(e)) return null;
    throw e;
  }
  b.finish();
  return compare(b, addon, max);
}

/**
 * More rows than a few chunks of the C survey's (1024 rows each): 4 600 connections closed one
 * after another, and on ten client ports a connection replaced (port reuse) at times spread over
 * the capture whose successor stays open to the end (some replaced again much later), so that a
 * uid made over a replaced connection's needs a row written chunks before.
 */
export function manyConnections(): TimedFrame[] {
  const frames: TimedFrame[] = [];
  for (let k = 0; k < 4600; k++) {
    const t = new Talk([`10.3.${(k >> 8) & 0xff}.${k & 0xff}`, 20000 + (k % 30000)], ['10.4.0.1', 443], (k * 7919) >>> 0, (k * 104729) >>> 0);
    const at = t.handshake(k * 0.01);
    t.send(0, at + 0.001, 'GET / HTTP/1.1\r\n\r\n');
    t.send(1, at + 0.002, 'HTTP/1.1 200 OK\r\n\r\n');
    t.fin(0, at + 0.003);
    t.fin(1, at + 0.004);
    frames.push(...t.frames);
  }
  for (let p = 0; p < 10; p++) {
    const t = new Talk(['10.5.0.1', 50000 + p], ['10.4.0.1', 443], 1000 + p, 9000 + p);
    const at = t.handshake(0.5 + p * 0.3);
    t.send(0, at + 0.01, 'first');
    t.fin(0, at + 0.02);
    t.fin(1, at + 0.03);
    // the same 5-tuple again, a new ISN: port reuse while the first lingers
    t.nxt[0] = (700000 + p) >>> 0;
    t.nxt[1] = (800000 + p) >>> 0;
    const again = t.handshake(at + 1);
    t.send(0, again + 0.01, 'second, open to the end');
    // and a third on some, much later (the second's row then sits in a later chunk)
    if (p % 3 === 0) {
      t.nxt[0] = (900000 + p) >>> 0;
      t.fin(0, 20 + p);
      t.fin(1, 20.01 + p);
      t.nxt[0] = (950000 + p) >>> 0;
      t.nxt[1] = (850000 + p) >>> 0;
      t.handshake(21 + p);
    }
    frames.push(...t.frames);
  }
  return frames.sort((a, b) => a.time - b.time);
}
