/**
 * The capture → decode → flow pipeline every capture-reading command uses (conns, tls, http,
 * analyze): reads the files in the order given (as one continuous capture: rotated files, or a
 * mergecap'd set), decodes each packet once with a reused PacketDecoder, names its capture point
 * (the mirror session's VNI), and feeds the flow table.
 */
import { statSync } from 'node:fs';
import { readCapture, type CaptureParser } from '../capture/reader.js';
import type { TimeWindow } from '../capture/window.js';
import { interfaceContext } from '../capture/interface-point.js';
import type { CaptureSummary, CaptureWarning, PacketRecord } from '../capture/record.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { Layer } from '../wire/layer.js';
import { PacketDecoder, type PacketDecoderOptions } from '../wire/packet.js';
import { Status } from '../wire/status.js';
import { FlowTable, type FlowHandler, type FlowOptions, type FlowStats } from './table.js';

export interface PipelineHandler extends FlowHandler {
  /** A Decryption Secrets Block (TLS key log embedded in pcapng); `data` is valid only during the call. */
  onSecrets?(type: number, data: Uint8Array): void;
  /** Every packet after decoding, before the flow table sees it (views valid only during the call). */
  onPacket?(rec: PacketRecord, pkt: PacketDecoder): void;
  onWarning?(w: CaptureWarning): void;
  /** A capture file is about to be read (inputs in order). */
  onFile?(input: string): void;
}

/**
 * What tracks the connections of the decoded packets: the FlowTable by default; the survey
 * (flow/survey.ts) in a targeted analysis's first pass, a table restricted to some connections in
 * its second.
 */
export interface PacketTracker {
  readonly stats: FlowStats;
  ingest(rec: PacketRecord, pkt: PacketDecoder, capturePoint: string): void;
  finish(time?: number): void;
}

export interface PipelineOptions extends FlowOptions {
  /** Packets for which this returns false are not given to the flow table (nor to onPacket). */
  filter?: (rec: PacketRecord, pkt: PacketDecoder) => boolean;
  /**
   * Called for every packet in the window before it is decoded, with its 0-based number among
   * them and the 0-based number of its input; false: the packet is not decoded (nor given to the
   * tracker, onPacket or filter).
   */
  beforeDecode?: (rec: PacketRecord, packet: number, input: number) => boolean;
  /** Tracks connections instead of a FlowTable made from the handler (whose flow callbacks are then not called). */
  tracker?: PacketTracker;
  decoder?: PacketDecoderOptions;
  signal?: AbortSignal;
  /**
   * Only packets in this window are decoded (the rest are counted in `outsideWindow`), and a file
   * is left at its first packet after the window's end: captures are written in arrival order.
   */
  window?: TimeWindow | null;
}

export interface PipelineSummary {
  files: CaptureSummary[];
  /** Each input's first and last packet times (null: no packet), in the order read. */
  fileTimes: { file: string; firstTime: number | null; lastTime: number | null }[];
  packets: number;
  /** Packets whose decode did not end Ok, by status name (truncated, malformed, unsupported). */
  decodeProblems: { truncated: number; malformed: number; unsupported: number };
  flow: FlowStats;
  firstTime: number | null;
  lastTime: number | null;
  /** Packets skipped undecoded because they were outside `window`. */
  outsideWindow: number;
}

const vniNames = new Map<number, string>();
const genevePoints = new Map<number, string>();

/**
 * The capture point of a decoded packet: "vni:N" for a VXLAN mirror session (the innermost VXLAN,
 * also under GWLB's GENEVE), "geneve:N" for GENEVE alone, '' for a plain capture. Strings are
 * cached, so this does not allocate per packet.
 */
export function capturePointOf(pkt: PacketDecoder, _rec?: PacketRecord): string {
  if (pkt.tunnelDepth === 0 || pkt.vni < 0) return '';
  const map = pkt.tunnelType === Layer.Geneve ? genevePoints : vniNames;
  let s = map.get(pkt.vni);
  if (s === undefined) {
    s = `${pkt.tunnelType === Layer.Geneve ? 'geneve' : 'vni'}:${pkt.vni}`;
    map.set(pkt.vni, s);
  }
  return s;
}

/**
 * Captures that were cut off before their first packet (and gave none) are an error, not an
 * all-clear: with no packet read, nothing could have been found. A capture cut after some packets
 * is read up to the cut (a warning); so is a set of files where only some gave no packet (the
 * last file of a listener stopped by kill -9).
 */
export function requirePackets(files: readonly CaptureSummary[]): void {
  if (files.length === 0 || files.some((f) => f.packets > 0)) return;
  const cut = files.find((f) => f.truncated);
  if (cut === undefined) return;
  const w = cut.warningList[0];
  throw new MirrorlensError(ErrorCode.CaptureCorrupt, `no packet could be read: ${w?.message ?? 'the capture is cut off'}`, {
    file: cut.file,
    byteOffset: w?.byteOffset,
  });
}

/** A regular file of 0 bytes (a FIFO or device is never "empty" here). */
function isEmptyFile(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && st.size === 0;
  } catch {
    return false; // the reader names what is wrong with it
  }
}

/**
 * An empty file among several: the last file of a listener killed (kill -9) right after it
 * rotated, before the new file's header was written. Nothing was captured in it, so it is read as
 * a capture cut off before its first block (a warning, and an error only if no file of the set
 * gave a packet: requirePackets), not as an input that is not a capture. Alone, an empty file
 * stays the reader's error ("the file is empty, not a pcap or pcapng capture").
 */
function emptyInSet(file: string, onWarning: ((w: CaptureWarning) => void) | undefined): CaptureSummary {
  const w: CaptureWarning = { message: 'capture cut off before its first block: the file is empty (a writer stopped before its header?)', byteOffset: 0, file };
  onWarning?.(w);
  return { file, format: 'pcapng', packets: 0, bytes: 0, warnings: 1, warningList: [w], truncated: true, gzip: false, secretsBlocks: 0, interfaces: [] };
}

/** Reads the captures in order through one flow table; resolves when all are read and the table finished. */
export async function processCaptures(inputs: string[], handler: PipelineHandler, opts: PipelineOptions = {}): Promise<PipelineSummary> {
  const table: PacketTracker = opts.tracker ?? new FlowTable(handler, opts);
  const beforeDecode = opts.beforeDecode;
  let inWindow = 0;
  let inputIndex = -1;
  const dec = new PacketDecoder(opts.decoder);
  const filter = opts.filter;
  const problems = { truncated: 0, malformed: 0, unsupported: 0 };
  const files: CaptureSummary[] = [];
  let packets = 0;
  // The first and last packet times, overall and of the current file, in a typed array: a
  // variable the packet callback closes over holds a time as an allocated number, one per packet.
  const T = new Float64Array(4);
  const T_FIRST = 0;
  const T_LAST = 1;
  const T_FILE_FIRST = 2;
  const T_FILE_LAST = 3;
  T[T_FIRST] = NaN;
  T[T_LAST] = -Infinity;
  T[T_FILE_FIRST] = Infinity;
  T[T_FILE_LAST] = -Infinity;
  const since = opts.window?.since ?? -Infinity;
  const until = opts.window?.until ?? Infinity;
  let outsideWindow = 0;
  let parser: CaptureParser | null = null;
  const fileTimes: PipelineSummary['fileTimes'] = [];
  // A file's warnings wait for its first packet: a capture cut before its first packet is one
  // error (requirePackets), not a warning and then an error.
  let held: CaptureWarning[] = [];
  /** Capture point names of the current file's interfaces (listen's sessions), by interface id. */
  const points: string[] = [];
  let fileFirstPacket = 0;
  const flushHeld = (): void => {
    const h = held;
    held = [];
    for (const w of h) handler.onWarning?.(w);
  };
  const onWarning = handler.onWarning
    ? (w: CaptureWarning): void => {
        if (packets > fileFirstPacket) handler.onWarning!(w);
        else held.push(w);
      }
    : undefined;
  const onPacket = (rec: PacketRecord): void => {
    if (held.length > 0) flushHeld();
    packets++;
    if (rec.time < since || rec.time > until) {
      outsideWindow++;
      if (rec.time > until) parser?.stop();
      return;
    }
    if (beforeDecode !== undefined && !beforeDecode(rec, inWindow++, inputIndex)) return;
    const st = dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
    if (st === Status.Truncated) problems.truncated++;
    else if (st === Status.Malformed) problems.malformed++;
    else if (st === Status.Unsupported) problems.unsupported++;
    const t = rec.time;
    if (Number.isNaN(T[T_FIRST]!)) T[T_FIRST] = t;
    if (t > T[T_LAST]!) T[T_LAST] = t;
    if (t < T[T_FILE_FIRST]!) T[T_FILE_FIRST] = t;
    if (t > T[T_FILE_LAST]!) T[T_FILE_LAST] = t;
    if (filter !== undefined && !filter(rec, dec)) return;
    if (handler.onPacket) handler.onPacket(rec, dec);
    // A plain packet from a listen file: its capture point is the interface listen wrote it on.
    table.ingest(rec, dec, capturePointOf(dec, rec) || (points[rec.interfaceId] ?? ''));
  };
  for (const input of inputs) {
    inputIndex++;
    handler.onFile?.(input);
    fileFirstPacket = packets;
    points.length = 0;
    const summary = inputs.length > 1 && isEmptyFile(input) ? emptyInSet(input, onWarning) : await readCapture(input, onPacket, {
      onSecrets: handler.onSecrets ? (type, data) => handler.onSecrets!(type, data) : undefined,
      onWarning,
      onInterface(i) {
        points[i.id] = interfaceContext(i).point;
      },
      signal: opts.signal,
      onParser(p) {
        parser = p;
      },
    });
    files.push(summary);
    const fileFirst = T[T_FILE_FIRST]!;
    const fileLast = T[T_FILE_LAST]!;
    fileTimes.push({ file: input, firstTime: Number.isFinite(fileFirst) ? fileFirst : null, lastTime: Number.isFinite(fileLast) ? fileLast : null });
    T[T_FILE_FIRST] = Infinity;
    T[T_FILE_LAST] = -Infinity;
  }
  requirePackets(files);
  flushHeld();
  const lastTime = T[T_LAST]!;
  const firstTime = Number.isNaN(T[T_FIRST]!) ? null : T[T_FIRST]!;
  table.finish(Number.isFinite(lastTime) ? lastTime : undefined);
  return { files, fileTimes, packets, decodeProblems: problems, flow: table.stats, firstTime, lastTime: Number.isFinite(lastTime) ? lastTime : null, outsideWindow };
}
