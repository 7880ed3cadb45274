/**
 * Runs hand-built frames through the real decoder and the flow table, collecting records, events
 * and the reassembled streams.
 */
import { PacketDecoder } from '../../src/wire/packet.js';
import { PacketRecord } from '../../src/capture/record.js';
import { FlowTable, type FlowOptions } from '../../src/flow/table.js';
import { capturePointOf } from '../../src/flow/pipeline.js';
import type { ConnectionRecord, TcpEvent } from '../../src/flow/record.js';
import type { ConnInfo, Direction, EndReason, StreamSink } from '../../src/flow/stream.js';
import type { TimedFrame } from './packets.js';

export class TextSink implements StreamSink {
  text: [string, string] = ['', ''];
  log: string[] = [];
  prevTimes: number[] = [];
  constructor(readonly info: ConnInfo) {}
  data(dir: Direction, b: Uint8Array, off: number, len: number, at: number): void {
    this.text[dir] += Buffer.from(b.subarray(off, off + len)).toString('latin1');
    this.log.push(`${dir}:data@${at}+${len}`);
    this.prevTimes.push(this.info.previousPacketTime);
  }
  gap(dir: Direction, at: number, len: number): void {
    this.text[dir] += '_'.repeat(len);
    this.log.push(`${dir}:gap@${at}+${len}`);
  }
  end(dir: Direction, reason: EndReason): void {
    this.log.push(`${dir}:end:${reason}`);
  }
}

export interface RunResult {
  records: ConnectionRecord[];
  events: TcpEvent[];
  sinks: TextSink[];
  table: FlowTable;
}

export function runFrames(frames: (TimedFrame & { vni?: number })[], opts: FlowOptions = {}, finishAt?: number): RunResult {
  const records: ConnectionRecord[] = [];
  const events: TcpEvent[] = [];
  const sinks: TextSink[] = [];
  const table = new FlowTable(
    {
      onConnectionStart(info) {
        const s = new TextSink(info);
        sinks.push(s);
        return s;
      },
      onEvent: (e) => events.push(e),
      onConnectionEnd: (r) => records.push(r),
    },
    opts,
  );
  const dec = new PacketDecoder();
  const rec = new PacketRecord();
  let i = 0;
  for (const f of frames) {
    rec.index = ++i;
    rec.time = f.time;
    rec.tsSec = Math.floor(f.time);
    rec.tsNsec = Math.round((f.time - rec.tsSec) * 1e9);
    rec.linkType = 1;
    rec.data = f.frame;
    rec.offset = 0;
    rec.capturedLength = f.frame.length;
    rec.originalLength = f.frame.length;
    dec.decode(1, f.frame, 0, f.frame.length);
    table.ingest(rec, dec, capturePointOf(dec, rec));
  }
  table.finish(finishAt);
  return { records, events, sinks, table };
}

export function eventTypes(events: TcpEvent[]): string[] {
  return events.map((e) => `${e.packet}:${e.type}`);
}
