/**
 * The first pass of a targeted analysis in C (native/analyze/first-pass.c): the native capture
 * reader (read.c) hands each TCP segment to the native survey (survey.c) on a libuv threadpool
 * thread, while the JavaScript goes on (the key log and the access logs are read meanwhile).
 * What it gives is what processCaptures with a FlowSurvey tracker gives (src/analyze/targeted.ts):
 * the pipeline summary, the survey's records, the ICMP errors (decoded here from the frames the
 * reader kept) and the capture's Decryption Secrets Blocks, in order, for the caller to add to its
 * key log when the JavaScript pass would have (after the log pass).
 *
 * When the addon is missing or stale, MIRRORLENS_NO_NATIVE=1, an input is not a local file, or
 * the reader meets anything it does not handle exactly as the JavaScript does, the result says
 * why (`declined`) and the caller runs the JavaScript pass for the whole input.
 */
import { loadAnalyzeNative } from '../capture/native-analyze.js';
import { forEachNativePacket, nativeCaptureSummaries, nativeFileTimes, type NativeReadResult } from '../capture/native-read.js';
import type { TimeWindow } from '../capture/window.js';
import { emptyFlowStats, type FlowOptions, type FlowStats, type IcmpErrorEvent } from './options.js';
import type { PipelineSummary } from './pipeline.js';
import { addNativeStats, closeNativeRows, nativeSurveyOptions, recordsFromNative, type NativeSurveyOptions, type NativeSurveyRows } from './survey-native.js';
import type { SurveyRecords } from './survey-records.js';

export interface NativeFirstPass {
  summary: PipelineSummary;
  recs: SurveyRecords;
  /** ICMP errors quoting TCP, with the number of the packet that carried each (as the survey's onIcmpError saw them). */
  icmp: { ev: IcmpErrorEvent; packet: number }[];
  /** The captures' Decryption Secrets Blocks in order (for KeyLog.addDsb), a TLS key log's with its lines checked (tls/keylog-native.ts). */
  dsbs: { type: number; data: Uint8Array; lines: Int32Array | null }[];
}

export type NativeFirstPassResult = { declined: string } | NativeFirstPass;

/** A native first pass under way: its result, and how to stop it when the result is no longer wanted. */
export interface NativeFirstPassRun {
  result: Promise<NativeFirstPassResult>;
  /** Stops the reading at its next segment (the analysis failed before it needed the result). */
  stop(): void;
}

type FirstPassFn = (
  paths: string[],
  opts: NativeSurveyOptions & { since: number; until: number; stop: Int32Array },
) => Promise<{ declined: string } | { read: NativeReadResult; survey: NativeSurveyRows }>;

const declined = (why: string): NativeFirstPassRun => ({ result: Promise.resolve({ declined: why }), stop() {} });

/**
 * Sets glibc's heap trimming as the native first pass does when it runs (native/analyze/first-pass.c
 * keep_heaps_trimmed: once per process, process-wide, not when the user set glibc's malloc
 * variables), for an analysis that runs none (the full pipeline); nothing without the addon.
 */
export function keepHeapsTrimmed(): void {
  const { addon } = loadAnalyzeNative();
  if (addon !== null) (addon.keepHeapsTrimmed as () => void)();
}

/** Why the native first pass cannot run for these inputs (before asking the addon), or null. */
function notLocal(inputs: readonly string[]): string | null {
  for (const i of inputs) if (i === '-' || /^[a-z][a-z0-9+.-]*:\/\//i.test(i)) return `${i} is not a local file`;
  return null;
}

/**
 * Starts the native first pass over `inputs` (the survey observing TLS, as targeted.ts runs it);
 * its result resolves with the pass or why it declined, and never rejects for what the input holds.
 */
export function startNativeFirstPass(inputs: string[], flow: FlowOptions, window: TimeWindow | null): NativeFirstPassRun {
  const { addon, why } = loadAnalyzeNative();
  if (addon === null) return declined(why);
  const local = notLocal(inputs);
  if (local !== null) return declined(local);
  const stop = new Int32Array(1);
  const opts = { ...nativeSurveyOptions(flow, [], true), since: window?.since ?? -Infinity, until: window?.until ?? Infinity, stop };
  let p: ReturnType<FirstPassFn>;
  try {
    p = (addon.firstPass as FirstPassFn)(inputs, opts);
  } catch (e) {
    return declined(`the native first pass did not start: ${(e as Error).message}`);
  }
  const result = p
    .then(
      async (r): Promise<NativeFirstPassResult> => {
        if ('declined' in r) return r;
        try {
          return await assemble(inputs, flow, r.read, r.survey);
        } finally {
          closeNativeRows(r.survey); // (the survey's spill file is ours: recordsFromNative closed it, unless something failed first)
        }
      },
      (e: unknown) => ({ declined: `the native first pass failed: ${(e as Error).message}` }),
    )
    .then(
      // The addon's result (every row of the survey, copied into the records by now) is held by
      // the handle scope of the native callback that resolved it, and the microtasks that follow
      // run inside that callback: the analysis would go on with it alive to the end (4.9 MB at
      // 10x the bench capture, a heap snapshot showed). Going on from a macrotask lets it go.
      (out) => new Promise<NativeFirstPassResult>((resolve) => setImmediate(() => resolve(out))),
    );
  return { result, stop: () => void (stop[0] = 1) };
}

async function assemble(inputs: string[], flow: FlowOptions, read: NativeReadResult, rows: NativeSurveyRows): Promise<NativeFirstPass> {
  const stats: FlowStats = { ...emptyFlowStats(), packets: read.decoded, nonTcpPackets: read.nonTcp, skippedPackets: read.skipped };
  addNativeStats(stats, rows.stats);
  const recs = recordsFromNative(rows, read.points, flow.perCapturePoint ?? false);
  const icmp: NativeFirstPass['icmp'] = [];
  if (read.icmp.length > 0) {
    // (Rare: the decoder loads only for them.)
    const [{ PacketDecoder }, { icmpErrorEvent }] = await Promise.all([import('../wire/packet.js'), import('./icmp-error.js')]);
    const dec = new PacketDecoder();
    forEachNativePacket(read, (rec, p, point) => {
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      const ev = icmpErrorEvent(rec, dec, point);
      if (ev !== null) icmp.push({ ev, packet: p.packet });
    });
  }
  const summary: PipelineSummary = {
    files: nativeCaptureSummaries(inputs, read),
    fileTimes: nativeFileTimes(inputs, read),
    packets: read.packets,
    decodeProblems: { truncated: read.truncated, malformed: read.malformed, unsupported: read.unsupported },
    flow: stats,
    firstTime: read.firstTime,
    lastTime: read.lastTime,
    outsideWindow: read.outsideWindow,
  };
  return { summary, recs, icmp, dsbs: read.dsbs.map((d) => ({ type: d.type, data: d.data, lines: d.lines ?? null })) };
}
