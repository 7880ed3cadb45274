/**
 * The native capture reader (native/analyze/read.c, through the addon's test function
 * `readSegments`) against the JavaScript path it replaces (processCaptures with a tracker that
 * does what the survey does with each packet: segmentOf, the non-TCP and skipped counts, ICMP
 * errors through icmpErrorEvent), field by field. Used by test/capture/native-read.test.ts and the
 * fuzz target `native-read`.
 */
import { interfaceContext } from '../../src/capture/interface-point.js';
import { CaptureParser } from '../../src/capture/parser.js';
import type { CaptureWarning } from '../../src/capture/record.js';
import type { TimeWindow } from '../../src/capture/window.js';
import { forEachNativePacket, nativeCaptureSummaries, nativeFileTimes, type NativeReadResult } from '../../src/capture/native-read.js';
import { icmpErrorEvent } from '../../src/flow/icmp-error.js';
import type { FlowStats, IcmpErrorEvent } from '../../src/flow/options.js';
import { capturePointOf, processCaptures, type PacketTracker, type PipelineSummary } from '../../src/flow/pipeline.js';
import { SEGMENT_OK, SEGMENT_SKIPPED, segmentOf, TcpSegment } from '../../src/flow/segment.js';
import { isMirrorlensError } from '../../src/wire/errors.js';
import { PacketDecoder } from '../../src/wire/packet.js';
import { Status } from '../../src/wire/status.js';

/** Segment columns, in the order of readSegments' typed arrays (payloadHash last). */
export const COLUMNS = [
  'time', 'packet', 'byteOffset', 'input', 'point', 'ipVersion', 'src4', 'dst4', 'src6', 'dst6', 'ipId', 'ipLength', 'srcPort', 'dstPort',
  'seq', 'ack', 'flags', 'window', 'checksum', 'mss', 'windowScale', 'sackPermitted', 'tsVal', 'capturedPayload', 'payloadLength', 'payloadHash',
] as const;

type Row = (number | string)[];

export interface PassResult {
  rows: Row[];
  summary: Pick<PipelineSummary, 'files' | 'fileTimes' | 'packets' | 'decodeProblems' | 'firstTime' | 'lastTime' | 'outsideWindow'>;
  stats: { packets: number; tcpPackets: number; nonTcpPackets: number; skippedPackets: number };
  dsbs: { type: number; hex: string }[];
  icmp: { ev: IcmpErrorEvent; packet: number }[];
}

export function fnv1a(b: Uint8Array, off: number, n: number): number {
  let h = 2166136261;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[off + i]!, 16777619) >>> 0;
  return h >>> 0;
}

const hex = (b: Uint8Array, off: number, n: number): string => Buffer.from(b.buffer, b.byteOffset + off, n).toString('hex');
const ZERO16 = '0'.repeat(32);

/** A tracker doing what the survey does with each packet (FlowSurvey.ingest up to its table), recording rows. */
function recorder(at: { n: number; input: number; byteOffset: number }): { tracker: PacketTracker; rows: Row[]; icmp: PassResult['icmp']; stats: FlowStats } {
  const rows: Row[] = [];
  const icmp: PassResult['icmp'] = [];
  const seg = new TcpSegment();
  const stats = { packets: 0, tcpPackets: 0, nonTcpPackets: 0, skippedPackets: 0 } as FlowStats;
  const tracker: PacketTracker = {
    stats,
    ingest(rec, pkt, point) {
      stats.packets++;
      const k = segmentOf(seg, rec, pkt);
      if (k !== SEGMENT_OK) {
        if (k === SEGMENT_SKIPPED) stats.skippedPackets++;
        else {
          stats.nonTcpPackets++;
          if (pkt.transport === 1) {
            const ev = icmpErrorEvent(rec, pkt, point);
            if (ev !== null) icmp.push({ ev, packet: at.n });
          }
        }
        return;
      }
      stats.tcpPackets++;
      const v6 = seg.ipVersion === 6;
      rows.push([
        seg.time, at.n, at.byteOffset, at.input, point, seg.ipVersion, v6 ? 0 : seg.src4, v6 ? 0 : seg.dst4,
        v6 ? hex(seg.addrData, seg.srcOffset, 16) : ZERO16, v6 ? hex(seg.addrData, seg.dstOffset, 16) : ZERO16,
        seg.ipId, seg.ipLength, seg.srcPort, seg.dstPort, seg.seq, seg.ack, seg.flags, seg.window, seg.checksum, seg.mss, seg.windowScale,
        seg.sackPermitted ? 1 : 0, seg.tsVal, seg.capturedPayload, seg.payloadLength, fnv1a(seg.data, seg.payloadOffset, seg.capturedPayload),
      ]);
    },
    finish() {},
  };
  return { tracker, rows, icmp, stats };
}

/** The JavaScript path; `warnings` receives the reader's warnings (the native one must decline on any). */
export async function jsPass(inputs: string[], window: TimeWindow | null, warnings: CaptureWarning[] = []): Promise<PassResult> {
  const dsbs: PassResult['dsbs'] = [];
  const at = { n: 0, input: 0, byteOffset: 0 };
  const { tracker, rows, icmp, stats } = recorder(at);
  const s = await processCaptures(
    inputs,
    {
      onSecrets: (type, data) => dsbs.push({ type, hex: hex(data, 0, data.length) }),
      onWarning: (w) => warnings.push(w),
    },
    {
      tracker,
      window,
      beforeDecode: (rec, n, i) => {
        at.n = n;
        at.input = i;
        at.byteOffset = rec.byteOffset;
        return true;
      },
    },
  );
  const { files, fileTimes, packets, decodeProblems, firstTime, lastTime, outsideWindow } = s;
  return { rows, summary: { files, fileTimes, packets, decodeProblems, firstTime, lastTime, outsideWindow }, stats: { ...stats }, dsbs, icmp };
}

/**
 * processCaptures for one input held in memory, no window, synchronously (for the fuzz target,
 * whose targets are synchronous): the parser, decoder, capture points and counts as there. Null
 * when the parser refuses the bytes (not a capture).
 */
export function jsPassBytes(bytes: Uint8Array, file: string, warnings: CaptureWarning[]): PassResult | null {
  const dsbs: PassResult['dsbs'] = [];
  const at = { n: 0, input: 0, byteOffset: 0 };
  const { tracker, rows, icmp, stats } = recorder(at);
  const dec = new PacketDecoder();
  const points: string[] = [];
  const problems = { truncated: 0, malformed: 0, unsupported: 0 };
  let first = NaN;
  let last = -Infinity;
  let fileFirst = Infinity;
  let fileLast = -Infinity;
  let n = 0;
  const parser = new CaptureParser(file, {
    onPacket(rec) {
      at.n = n++;
      at.byteOffset = rec.byteOffset;
      const st = dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      if (st === Status.Truncated) problems.truncated++;
      else if (st === Status.Malformed) problems.malformed++;
      else if (st === Status.Unsupported) problems.unsupported++;
      const t = rec.time;
      if (Number.isNaN(first)) first = t;
      if (t > last) last = t;
      if (t < fileFirst) fileFirst = t;
      if (t > fileLast) fileLast = t;
      tracker.ingest(rec, dec, capturePointOf(dec, rec) || (points[rec.interfaceId] ?? ''));
    },
    onSecrets: (type, data) => dsbs.push({ type, hex: hex(data, 0, data.length) }),
    onWarning: (w) => warnings.push(w),
    onInterface: (i) => (points[i.id] = interfaceContext(i).point),
  });
  try {
    parser.push(bytes);
    parser.end();
  } catch (e) {
    if (isMirrorlensError(e)) return null;
    throw e;
  }
  const summary = parser.summary(false);
  const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    rows,
    summary: {
      files: [summary],
      fileTimes: [{ file, firstTime: fin(fileFirst), lastTime: fin(fileLast) }],
      packets: parser.packets,
      decodeProblems: problems,
      firstTime: Number.isNaN(first) ? null : first,
      lastTime: fin(last),
      outsideWindow: 0,
    },
    stats: { ...stats },
    dsbs,
    icmp,
  };
}

interface ReadSegments {
  status: 'ok' | 'declined' | 'stopped';
  why: string;
  segments: Record<(typeof COLUMNS)[number], ArrayLike<number>>;
  result: NativeReadResult;
}

/** The native path: null with the reason when it declined. */
export function nativePass(addon: { readSegments: (paths: string[], o?: object) => ReadSegments }, inputs: string[], window: TimeWindow | null): { pass: PassResult | null; why: string } {
  const r = addon.readSegments(inputs, window === null ? {} : { since: window.since, until: window.until });
  if (r.status !== 'ok') return { pass: null, why: r.why };
  const res = r.result;
  const s = r.segments;
  const n = s.time.length;
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = s.ipVersion[i] === 6;
    rows.push(
      COLUMNS.map((c) => {
        if (c === 'src6' || c === 'dst6') return v6 ? hex(s[c] as Uint8Array, i * 16, 16) : ZERO16;
        if (c === 'point') return res.points[s.point[i]!]!;
        return s[c][i]!;
      }),
    );
  }
  const icmp: PassResult['icmp'] = [];
  const dec = new PacketDecoder();
  forEachNativePacket(res, (rec, p, point) => {
    dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
    const ev = icmpErrorEvent(rec, dec, point);
    if (ev !== null) icmp.push({ ev, packet: p.packet });
  });
  return {
    pass: {
      rows,
      summary: {
        files: nativeCaptureSummaries(inputs, res),
        fileTimes: nativeFileTimes(inputs, res),
        packets: res.packets,
        decodeProblems: { truncated: res.truncated, malformed: res.malformed, unsupported: res.unsupported },
        firstTime: res.firstTime,
        lastTime: res.lastTime,
        outsideWindow: res.outsideWindow,
      },
      stats: { packets: res.decoded, tcpPackets: res.segments, nonTcpPackets: res.nonTcp, skippedPackets: res.skipped },
      dsbs: res.dsbs.map((d) => ({ type: d.type, hex: hex(d.data, 0, d.data.length) })),
      icmp,
    },
    why: '',
  };
}

/** The first difference between the two passes, or null. */
export function firstDifference(js: PassResult, nat: PassResult): string | null {
  if (js.rows.length !== nat.rows.length) return `segments: JavaScript ${js.rows.length}, native ${nat.rows.length}`;
  for (let i = 0; i < js.rows.length; i++) {
    const a = js.rows[i]!;
    const b = nat.rows[i]!;
    for (let c = 0; c < COLUMNS.length; c++) {
      if (!Object.is(a[c], b[c])) return `segment ${i} (packet ${String(a[1])}): ${COLUMNS[c]} JavaScript ${String(a[c])}, native ${String(b[c])}`;
    }
  }
  for (const k of ['summary', 'stats', 'dsbs', 'icmp'] as const) {
    const x = JSON.stringify(js[k]);
    const y = JSON.stringify(nat[k]);
    if (x !== y) return `${k}: JavaScript ${x.slice(0, 600)}\n  native ${y.slice(0, 600)}`;
  }
  return null;
}
