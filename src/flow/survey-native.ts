/**
 * The survey in C (native/analyze/survey.c, in the mirrorlens_analyze addon): FlowSurvey
 * (flow/survey.ts) with the TLS record walk (tls/record-walk.ts observeTls) packet for packet,
 * returning each ended connection as a row of numbers. This module turns those rows into the
 * survey's records (SurveyRecords, in row order, each uid computed here with node:crypto exactly
 * as the survey computes it: over the client, server, start time and the uid of the connection it
 * replaced), and the survey's stats into FlowStats.
 *
 * `surveySegments` runs the C survey over segments decoded by the JavaScript (SegmentBatch): what
 * the differential tests compare with FlowSurvey. The first pass of `analyze` runs the C reader
 * and survey together (flow/first-pass-native.ts).
 */
import { closeSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AnalyzeAddon } from '../capture/native-analyze.js';
import { ipv4ToString } from '../wire/ipv4.js';
import { addr6Text } from './addr6.js';
import { strHash } from './conn-index.js';
import { connectionUid } from './identity.js';
import type { FlowOptions, FlowStats } from './options.js';
import type { EndCause } from './record.js';
import type { TcpSegment } from './segment.js';
import { END_CAUSES, SurveyRecords, type SurveyRowEndpoint, type SurveyRowSource } from './survey-records.js';

/** A chunk of rows as native/analyze/survey.h lays them out (SR_NF doubles, SR_NI integers, 19 uid bytes a row). */
export interface NativeRowChunk {
  f: Float64Array;
  i: Int32Array;
  /** The uids, 19 Latin-1 bytes a row (native/analyze/uid.c); a row starting with 0 has none (computed here). */
  uids: Uint8Array;
}

/**
 * The C survey's rows (survey-napi.c ml_survey_result): the first `spilled` chunks of
 * SR_CHUNK_ROWS rows in the temporary file `fd` (unlinked; -1: none), which is ours to close
 * (recordsFromNative does, or closeNativeRows), the others in `chunks`, the last one partly filled.
 */
export interface NativeSurveyRows {
  rows: number;
  fd: number;
  spilled: number;
  chunks: NativeRowChunk[];
  extra: Float64Array;
  a6: Int32Array;
  /** tcpPackets, duplicatePackets, connections, activeConnections, peakConnections, evictedConnections, timedOutConnections */
  stats: Float64Array;
}

/** The C survey's options (survey.h ml_survey_opts), from the flow options as FlowSurvey reads them. */
export interface NativeSurveyOptions {
  idleTimeout: number;
  gapThreshold: number;
  maxConnections: number;
  dupWindow: number;
  linger: number;
  perPoint: boolean;
  observeTls: boolean;
  /** strHash of each capture point name, by id. */
  pointHashes: Int32Array;
  /** The names, by id (for uids in per-capture-point mode; the first pass's C side has them from its reader). */
  pointNames?: string[];
  /** Where the C survey writes its full chunks of rows (absent: they stay in memory). */
  tmpDir?: string;
}

/** The options FlowSurvey would use for `opts` (its defaults). */
export function nativeSurveyOptions(opts: FlowOptions, points: readonly string[], observeTls: boolean): NativeSurveyOptions {
  return {
    idleTimeout: opts.idleTimeoutSeconds ?? 6000,
    gapThreshold: opts.idleGapThresholdSeconds ?? 30,
    maxConnections: opts.maxConnections ?? 2_000_000,
    dupWindow: opts.duplicateWindowSeconds ?? 0.1,
    linger: opts.closeLingerSeconds ?? 5,
    perPoint: opts.perCapturePoint ?? false,
    observeTls,
    pointHashes: Int32Array.from(points, strHash),
    pointNames: [...points],
    tmpDir: tmpdir(),
  };
}

const NF = 19;
const NI = 20;
// Integer fields (survey.h SR_I_*).
const I_KEY = 0;
const I_CLIENT4 = 1;
const I_SERVER4 = 2;
const I_PORTS = 3;
const I_DIR = 4;
const I_FLAGS = 10;
const I_COMPLEX = 11;
const I_POINT = 12;
const I_PREV = 13;
const I_INPUTS = 14;
const I_EXTRA = 15;
const I_NSYN = 16;
const I_NGAPS = 17;
const I_A6 = 18;
const I_TAG = 19;
/** Characters of a uid ("C" and 18 base-62 digits). */
const UID_LEN = 19;
/** A chunk of rows (survey.h SR_CHUNK_*): its rows, and where its doubles, integers and uids are in its bytes. */
const CHUNK_ROWS = 1024;
const CHUNK_I = CHUNK_ROWS * NF * 8;
const CHUNK_U = CHUNK_I + CHUNK_ROWS * NI * 4;
const CHUNK_BYTES = CHUNK_U + CHUNK_ROWS * UID_LEN;

/** One direction of a native row, as SurveyRecords.add reads it. */
class RowEndpoint implements SurveyRowEndpoint {
  packets = 0;
  payloadBytes = 0;
  synCount = 0;
  isn = 0;
  finSeen = false;
  finTime = NaN;
  finIdle = NaN;
  firstPayloadTime = NaN;
  lastPayloadTime = NaN;
}

/** A native row seen as the survey's connection at its end (one object, refilled per row). */
class RowSource implements SurveyRowSource {
  uid = '';
  capturePoint = '';
  keyHash = 0;
  ipVersion: 4 | 6 = 4;
  cA4 = 0;
  sA4 = 0;
  a6: Int32Array | null = null;
  clientPort = 0;
  serverPort = 0;
  startTime = 0;
  lastTime = 0;
  synAckTime = NaN;
  synTimes: number[] = [];
  maxIdle = 0;
  idleGaps: number[] | null = null;
  midstream = false;
  refused = false;
  closedBy = -1;
  closeHow: 'fin' | 'rst' | null = null;
  complex = 0;
  endCause: EndCause | null = null;
  endPacket = 0;
  endPhase = 0;
  tag = 0;
  firstPacket = 0;
  firstInput = 0;
  firstOffset = 0;
  lastPacket = 0;
  lastInput = 0;
  lastOffset = 0;
  readonly c = new RowEndpoint();
  readonly s = new RowEndpoint();
  private readonly a6Words = new Int32Array(8);
  private readonly gaps: number[] = [];

  /** Row `row` of chunk `F`/`I` (its number in the chunk). */
  fill(r: NativeSurveyRows, F: Float64Array, I: Int32Array, row: number, points: readonly string[]): void {
    const f = row * NF;
    const i = row * NI;
    this.keyHash = I[i + I_KEY]!;
    this.capturePoint = points[I[i + I_POINT]!] ?? '';
    const a6 = I[i + I_A6]!;
    if (a6 < 0) {
      this.ipVersion = 4;
      this.cA4 = I[i + I_CLIENT4]! >>> 0;
      this.sA4 = I[i + I_SERVER4]! >>> 0;
      this.a6 = null;
    } else {
      this.ipVersion = 6;
      this.cA4 = 0;
      this.sA4 = 0;
      this.a6Words.set(r.a6.subarray(a6, a6 + 8));
      this.a6 = this.a6Words;
    }
    const ports = I[i + I_PORTS]!;
    this.clientPort = ports >>> 16;
    this.serverPort = ports & 0xffff;
    this.startTime = F[f]!;
    this.lastTime = F[f + 1]!;
    this.synAckTime = F[f + 2]!;
    this.maxIdle = F[f + 3]!;
    for (let d = 0; d < 2; d++) {
      const e = d === 0 ? this.c : this.s;
      const fd = f + 4 + d * 5;
      e.payloadBytes = F[fd]!;
      e.finTime = F[fd + 1]!;
      e.finIdle = F[fd + 2]!;
      e.firstPayloadTime = F[fd + 3]!;
      e.lastPayloadTime = F[fd + 4]!;
      const id = i + I_DIR + d * 3;
      e.packets = I[id]!;
      e.synCount = I[id + 1]!;
      e.isn = I[id + 2]!;
    }
    this.firstPacket = F[f + 14]!;
    this.lastPacket = F[f + 15]!;
    this.endPacket = F[f + 16]!;
    this.firstOffset = F[f + 17]!;
    this.lastOffset = F[f + 18]!;
    const fl = I[i + I_FLAGS]!;
    this.midstream = (fl & 1) !== 0;
    this.refused = (fl & 2) !== 0;
    this.c.finSeen = (fl & 4) !== 0;
    this.s.finSeen = (fl & 8) !== 0;
    this.closedBy = ((fl >>> 4) & 3) - 1;
    const how = (fl >>> 6) & 3;
    this.closeHow = how === 0 ? null : how === 1 ? 'fin' : 'rst';
    this.endCause = END_CAUSES[(fl >>> 8) & 7]!;
    this.endPhase = (fl >>> 12) & 3;
    this.complex = I[i + I_COMPLEX]!;
    const inputs = I[i + I_INPUTS]!;
    this.firstInput = inputs >>> 16;
    this.lastInput = inputs & 0xffff;
    const x = I[i + I_EXTRA]!;
    const nsyn = I[i + I_NSYN]!;
    const ngaps = I[i + I_NGAPS]!;
    this.synTimes.length = 0;
    for (let k = 0; k < nsyn; k++) this.synTimes.push(r.extra[x + k]!);
    this.gaps.length = 0;
    for (let k = 0; k < ngaps * 3; k++) this.gaps.push(r.extra[x + nsyn + k]!);
    this.idleGaps = ngaps > 0 ? this.gaps : null;
    this.tag = I[i + I_TAG]!;
  }
}

/** Closes the C survey's spill file (once; recordsFromNative does it when done). */
export function closeNativeRows(r: NativeSurveyRows): void {
  if (r.fd < 0) return;
  const fd = r.fd;
  r.fd = -1;
  closeSync(fd);
}

/** Reads spilled chunk `k` into `into` (CHUNK_BYTES). */
function readChunk(fd: number, k: number, into: Uint8Array): void {
  for (let got = 0; got < CHUNK_BYTES; ) {
    const n = readSync(fd, into, got, CHUNK_BYTES - got, k * CHUNK_BYTES + got);
    if (n === 0) throw new Error(`the native survey's spill file ends inside chunk ${k} (${got} of ${CHUNK_BYTES} bytes)`);
    got += n;
  }
}

/**
 * The survey's records from native rows, in order, with the uids the C side computed (uid.c), or
 * for a row it left, computed here as FlowSurvey computes them (the capture point in
 * per-capture-point mode, else ''; the replaced connection's uid, by row). The spilled chunks are
 * read one at a time into one buffer; the spill file is closed at the end, whatever happens.
 * `jsUids` (tests): gets the rows whose uid was computed here.
 */
export function recordsFromNative(r: NativeSurveyRows, points: readonly string[], perCapturePoint: boolean, jsUids?: number[]): SurveyRecords {
  try {
    const recs = new SurveyRecords();
    const src = new RowSource();
    let bytes: Uint8Array | null = null;
    const chunks = r.spilled + r.chunks.length;
    for (let k = 0, row = 0; k < chunks; k++) {
      let chunk: NativeRowChunk;
      if (k < r.spilled) {
        if (bytes === null) bytes = new Uint8Array(CHUNK_BYTES);
        readChunk(r.fd, k, bytes);
        chunk = { f: new Float64Array(bytes.buffer, 0, CHUNK_ROWS * NF), i: new Int32Array(bytes.buffer, CHUNK_I, CHUNK_ROWS * NI), uids: bytes.subarray(CHUNK_U) };
      } else chunk = r.chunks[k - r.spilled]!;
      const n = Math.min(CHUNK_ROWS, r.rows - row);
      // The chunk's uids as one string (19 characters a row).
      const uids = Buffer.from(chunk.uids.buffer, chunk.uids.byteOffset, n * UID_LEN).toString('latin1');
      for (let at = 0; at < n; at++, row++) {
        src.fill(r, chunk.f, chunk.i, at, points);
        const prev = chunk.i[at * NI + I_PREV]!;
        if (uids.charCodeAt(at * UID_LEN) !== 0) src.uid = uids.substr(at * UID_LEN, UID_LEN);
        else {
          // (What the C side leaves: a start time toFixed writes with an exponent, a long capture point name.)
          const a = src.ipVersion === 4 ? ipv4ToString(src.cA4) : addr6Text(src.a6!, 0);
          const b = src.ipVersion === 4 ? ipv4ToString(src.sA4) : addr6Text(src.a6!, 4);
          src.uid = connectionUid(perCapturePoint ? src.capturePoint : '', a, src.clientPort, b, src.serverPort, src.startTime, prev >= 0 ? recs.uid(prev) : '');
          jsUids?.push(row);
        }
        recs.add(src, prev);
      }
    }
    if (recs.size !== r.rows) throw new Error(`the native survey handed over ${recs.size} rows of ${r.rows}`);
    return recs;
  } finally {
    closeNativeRows(r);
  }
}

/** Adds the C survey's counts to `stats` (FlowStats; the reader's counts are the caller's). */
export function addNativeStats(stats: FlowStats, s: Float64Array): void {
  stats.tcpPackets += s[0]!;
  stats.duplicatePackets += s[1]!;
  stats.connections += s[2]!;
  stats.activeConnections += s[3]!;
  stats.peakConnections = Math.max(stats.peakConnections, s[4]!);
  stats.evictedConnections += s[5]!;
  stats.timedOutConnections += s[6]!;
}

// Per-segment integer fields of a SegmentBatch (survey-napi.c SU_*).
const SEG_U32 = 16;

/**
 * Segments decoded by the JavaScript, packed for surveySegments (native/analyze/survey-napi.c):
 * what the differential tests feed the C survey. Grows by doubling.
 */
export class SegmentBatch {
  n = 0;
  f64 = new Float64Array(4 * 1024);
  u32 = new Uint32Array(SEG_U32 * 1024);
  addr6 = new Uint8Array(32 * 1024);
  payload = new Uint8Array(1 << 16);
  private payloadN = 0;

  /** Appends `seg` as packet `packet` of input `input` at `byteOffset`, from capture point id `point`. */
  push(seg: TcpSegment, packet: number, input: number, byteOffset: number, point: number): void {
    if (this.n * 4 === this.f64.length) {
      const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.f64 = grow(this.f64);
      this.u32 = grow(this.u32);
      this.addr6 = grow(this.addr6);
    }
    const k = this.n++;
    const F = this.f64;
    F[k * 4] = seg.time;
    F[k * 4 + 1] = packet;
    F[k * 4 + 2] = byteOffset;
    F[k * 4 + 3] = seg.tsVal;
    const captured = seg.capturedPayload;
    while (this.payloadN + captured > this.payload.length) {
      const b = new Uint8Array(this.payload.length * 2);
      b.set(this.payload);
      this.payload = b;
    }
    this.payload.set(seg.data.subarray(seg.payloadOffset, seg.payloadOffset + captured), this.payloadN);
    const U = this.u32;
    const u = k * SEG_U32;
    U[u] = input;
    U[u + 1] = point;
    U[u + 2] = seg.ipVersion;
    U[u + 3] = seg.ipVersion === 4 ? seg.src4 : 0;
    U[u + 4] = seg.ipVersion === 4 ? seg.dst4 : 0;
    U[u + 5] = seg.ipId;
    U[u + 6] = seg.srcPort;
    U[u + 7] = seg.dstPort;
    U[u + 8] = seg.seq;
    U[u + 9] = seg.ack;
    U[u + 10] = seg.flags;
    U[u + 11] = seg.window;
    U[u + 12] = seg.checksum;
    U[u + 13] = captured;
    U[u + 14] = seg.payloadLength;
    U[u + 15] = this.payloadN;
    this.payloadN += captured;
    if (seg.ipVersion === 6) {
      this.addr6.set(seg.addrData.subarray(seg.srcOffset, seg.srcOffset + 16), k * 32);
      this.addr6.set(seg.addrData.subarray(seg.dstOffset, seg.dstOffset + 16), k * 32 + 16);
    } else this.addr6.fill(0, k * 32, k * 32 + 32);
  }
}

type SurveySegmentsFn = (opts: NativeSurveyOptions & { lastPacket: number }, batch: { f64: Float64Array; u32: Uint32Array; addr6: Uint8Array; payload: Uint8Array }) => NativeSurveyRows;

/** Runs the C survey over a batch (the whole capture's TCP segments); `lastPacket`: the last packet number given to `at` (-1: none). */
export function surveySegments(addon: AnalyzeAddon, opts: NativeSurveyOptions, batch: SegmentBatch, lastPacket: number): NativeSurveyRows {
  const fn = addon.surveySegments as SurveySegmentsFn;
  return fn(
    { ...opts, lastPacket },
    { f64: batch.f64.subarray(0, batch.n * 4), u32: batch.u32.subarray(0, batch.n * SEG_U32), addr6: batch.addr6.subarray(0, batch.n * 32), payload: batch.payload },
  );
}
