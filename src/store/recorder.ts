/**
 * The recorder: what the analysis session (batch and live) and the log readers call to put their
 * records in a store. It turns each stage's record into rows (records.ts) and hands them to a
 * RecordSink; it never blocks and never throws into the pipeline.
 *
 * It also knows where packets are: the capture file being read or written and the byte offset of
 * the current packet's block (`at`, two assignments per packet), so that a connection row names
 * the file and offset of its first packet (follow and evidence can then start from the store).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConnView, FlowRowView, LbLogView } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import type { ConnectionRecord } from '../flow/record.js';
import type { ConnInfo } from '../flow/stream.js';
import type { HttpTransaction } from '../http/transaction.js';
import { ownString } from '../logs/lines.js';
import type { TlsSessionInfo } from '../tls/session.js';
import { connRow, findingKey, findingRow, flowLogRow, lbLogRow, markRows, NO_REF, tlsRow, txRow, type CaptureRef } from './records.js';
import type { RecordSink, SinkStats } from './sink.js';

interface FileSpan {
  file: string;
  first: number;
  last: number;
  packets: number;
  bytes: number;
  points: Set<string>;
}

interface Summary {
  file: string;
  a: string;
  b: string;
  port: number | null;
  first: number;
  last: number;
  n: number;
  rejects: number;
}

export class Recorder {
  readonly node: string;
  private file = '';
  private offset = -1;
  private span: FileSpan | null = null;
  private readonly starts = new Map<string, CaptureRef>();
  private readonly targets = new Map<string, Summary>();
  private readonly pairs = new Map<string, Summary>();
  private findingsWritten = 0;

  constructor(
    readonly sink: RecordSink,
    node?: string,
  ) {
    this.node = node ?? hostname();
  }

  // ---- packets ----

  /** A capture file is begun (read or written). The previous one's span is recorded. */
  beginFile(file: string): void {
    this.endFile();
    this.file = file;
    this.offset = -1;
    this.span = { file, first: Infinity, last: -Infinity, packets: 0, bytes: 0, points: new Set() };
  }

  /** The current packet: its time, block offset in the file and length. No allocation. */
  at(time: number, byteOffset: number, length: number): void {
    this.offset = byteOffset;
    const s = this.span;
    if (s !== null) {
      if (time < s.first) s.first = time;
      if (time > s.last) s.last = time;
      s.packets++;
      s.bytes += length;
    }
  }

  /** Ends the current file's span (a `captures` row). */
  endFile(): void {
    const s = this.span;
    this.span = null;
    if (!s || s.packets === 0) return;
    this.sink.write('captures', { ts: s.first, node: this.node, file: s.file, end_ts: s.last, packets: s.packets, bytes: s.bytes, capture_points: [...s.points] });
    this.sink.checkpoint();
  }

  // ---- the session ----

  connectionStart(conn: ConnInfo): void {
    this.starts.set(conn.uid, { file: this.file, offset: this.offset });
    this.span?.points.add(conn.capturePoint);
  }

  transaction(conn: ConnInfo, tx: HttpTransaction): void {
    this.sink.write('transactions', txRow(tx, conn, this.node));
  }

  /**
   * A connection ended. `explain`: it may need explaining (the correlation kept it, or its server
   * closed it): its key packets are recorded too.
   */
  connection(rec: ConnectionRecord, view: ConnView, tls: TlsSessionInfo | null, explain: boolean): void {
    const first = this.starts.get(rec.uid) ?? NO_REF;
    this.starts.delete(rec.uid);
    this.sink.write('conns', connRow(rec, { node: this.node, view, first, last: { file: this.file, offset: this.offset } }));
    if (explain) for (const m of markRows(rec, this.node)) this.sink.write('marks', m);
    if (tls) this.sink.write('tls', tlsRow(tls, rec.startTime, this.node));
  }

  finding(f: Finding): void {
    const id = createHash('sha1').update(findingKey(f)).digest('hex').slice(0, 20);
    this.sink.write('findings', findingRow(f, this.node, JSON.stringify(f), id));
    this.findingsWritten++;
  }

  // ---- logs ----

  /** A load-balancer log line that needs explaining (5xx, 460, 000). */
  lbLog(v: LbLogView): void {
    this.sink.write('lb_log', lbLogRow(v, this.node));
  }

  /** Any access-log line's target (summarised per file and target). */
  lbTarget(file: string, addr: string | null, port: number | null, time: number): void {
    if (addr === null || port === null) return;
    const key = `${file}|${addr}|${port}`;
    const s = this.targets.get(key);
    if (s) {
      s.n++;
      if (time < s.first) s.first = time;
      if (time > s.last) s.last = time;
    } else this.targets.set(ownString(key), { file: ownString(file), a: ownString(addr), b: '', port, first: time, last: time, n: 1, rejects: 0 });
  }

  /**
   * A flow-log row: recorded whole (the path model uses REJECTs, and the ACCEPTs to a load
   * balancer's targets near an error, which cannot be told apart before the access log is known),
   * and every conversation summarised.
   */
  flowRow(v: FlowRowView): void {
    this.sink.write('flow_log', flowLogRow({ ...v, file: ownString(v.file), srcAddr: ownString(v.srcAddr), dstAddr: ownString(v.dstAddr), interfaceId: v.interfaceId === null ? null : ownString(v.interfaceId), raw: ownString(v.raw) }, this.node));
    const key = `${v.file}|${v.srcAddr}|${v.dstAddr}|${v.dstPort ?? ''}`;
    const s = this.pairs.get(key);
    const rej = v.action === 'REJECT' ? 1 : 0;
    if (s) {
      s.n++;
      s.rejects += rej;
      if (v.start < s.first) s.first = v.start;
      if (v.end > s.last) s.last = v.end;
    } else this.pairs.set(ownString(key), { file: ownString(v.file), a: ownString(v.srcAddr), b: ownString(v.dstAddr), port: v.dstPort, first: v.start, last: v.end, n: 1, rejects: rej });
  }

  /** Writes the log summaries gathered so far (end of a log pass). */
  endLogs(): void {
    for (const s of this.targets.values()) this.sink.write('lb_targets', { ts: s.first, node: this.node, file: s.file, target_h: s.a, target_p: s.port ?? 0, end_ts: s.last, lines: s.n });
    for (const s of this.pairs.values()) this.sink.write('flow_pairs', { ts: s.first, node: this.node, file: s.file, src_h: s.a, dst_h: s.b, dst_p: s.port, end_ts: s.last, rows: s.n, rejects: s.rejects });
    this.targets.clear();
    this.pairs.clear();
  }

  get findings(): number {
    return this.findingsWritten;
  }

  /** Ends the current file, flushes and closes the sink. */
  async close(waitMs?: number): Promise<SinkStats> {
    this.endFile();
    this.endLogs();
    return this.sink.close(waitMs);
  }
}
