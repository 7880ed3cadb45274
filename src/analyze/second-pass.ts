/**
 * The second pass of a targeted analysis: the implicated connections' packets read again, through
 * the FlowTable, TLS and HTTP exactly as the full analysis reads them, so that their records and
 * transactions are the full analysis's.
 *
 * The capture is read from the first implicated packet to the last packet that ends an implicated
 * connection. Every TCP packet in that span moves the table's clock (that is what ends
 * connections and gives up on holes), and only the implicated connections' own packets (their
 * 5-tuple between their first and last packet, known from the survey) are tracked. What the
 * connections leave (their ended views, the transactions the Correlator keeps) is held as events
 * stamped with where the full analysis would have produced them: the packet being read and the
 * phase of its handling (the clock moving before it, the packet itself, the capture's end), so
 * that targeted.ts can replay them into the correlation in the full analysis's order.
 */
import type { PacketRecord } from '../capture/record.js';
import { addrHash, mix32, strHash } from '../flow/conn-index.js';
import type { FlowOptions, FlowStats } from '../flow/options.js';
import { processCaptures, type PacketTracker } from '../flow/pipeline.js';
import type { ConnectionRecord } from '../flow/record.js';
import { SEGMENT_OK, segmentOf, TcpSegment } from '../flow/segment.js';
import type { ConnInfo } from '../flow/stream.js';
import type { SurveyRecords } from '../flow/survey-records.js';
import { FlowTable } from '../flow/table.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { PacketDecoder } from '../wire/packet.js';
import type { TimeWindow } from '../capture/window.js';
import { loadDissectors } from './dissectors.js';
import type { AnalysisSession, EndedConnection } from './session.js';

import { PHASE_CLOCK, PHASE_FINISH, PHASE_PACKET } from './pass-phase.js';

export { PHASE_CLOCK, PHASE_FINISH, PHASE_PACKET };

/** The endpoints of a connection a transaction was seen on (what the Correlator's view of it reads). */
export interface ConnSnapshot extends ConnInfo {
  readonly uid: string;
}

export type SecondPassEvent =
  | { kind: 'tx'; uid: string; packet: number; phase: number; conn: ConnSnapshot; tx: HttpTransaction }
  | { kind: 'end'; uid: string; packet: number; phase: number; ended: EndedConnection; rec: RecordFacts };

/** What is checked of a second-pass record against the survey. */
export interface RecordFacts {
  startTime: number;
  endTime: number;
  endCause: string;
  packetsFromClient: number;
  packetsFromServer: number;
}

export interface SecondPassResult {
  events: SecondPassEvent[];
  /** Transactions and responses seen (all of them, kept or not), by connection uid. */
  perConnection: Map<string, [number, number]>;
}

/** Tracks only the given connections' packets; every other TCP packet only moves the clock. */
class Restricted implements PacketTracker {
  readonly table: FlowTable;
  private readonly seg = new TcpSegment();
  /** The rows by key hash. */
  private readonly byKey = new Map<number, number[]>();
  packet = -1;
  phase = PHASE_CLOCK;
  private readonly perCapturePoint: boolean;

  constructor(
    private readonly recs: SurveyRecords,
    rows: number[],
    handler: ConstructorParameters<typeof FlowTable>[0],
    opts: FlowOptions,
    private readonly lastTime: number | undefined,
  ) {
    this.table = new FlowTable(handler, opts);
    this.perCapturePoint = opts.perCapturePoint ?? false;
    for (const row of rows) {
      const k = recs.keyHash(row);
      const list = this.byKey.get(k);
      if (list) list.push(row);
      else this.byKey.set(k, [row]);
    }
  }

  get stats(): FlowStats {
    return this.table.stats;
  }

  ingest(rec: PacketRecord, pkt: PacketDecoder, capturePoint: string): void {
    const s = this.seg;
    // (Packets that are not TCP never move the FlowTable's clock.)
    if (segmentOf(s, rec, pkt) !== SEGMENT_OK) return;
    let key = (mix32(addrHash(s, true), s.srcPort) + mix32(addrHash(s, false), s.dstPort)) | 0;
    if (this.perCapturePoint) key = mix32(key, strHash(capturePoint));
    const list = this.byKey.get(key);
    this.phase = PHASE_CLOCK;
    this.table.advanceTime(rec.time);
    if (list === undefined) return;
    const p = this.packet;
    const r = this.recs;
    for (const row of list) {
      if (p >= r.firstPacket(row) && p <= r.lastPacket(row) && r.match(row, s) >= 0 && (!this.perCapturePoint || r.capturePoint(row) === capturePoint)) {
        this.phase = PHASE_PACKET;
        this.table.ingest(rec, pkt, capturePoint);
        this.phase = PHASE_CLOCK;
        return;
      }
    }
  }

  finish(): void {
    this.phase = PHASE_FINISH;
    this.table.finish(this.lastTime);
  }
}

/**
 * Reads the connections `rows` of the survey's records (implicated, not yet dissected) from the captures through
 * `session`'s TLS and HTTP stages. `session` decides which transactions are kept (its Correlator
 * has the access logs); its own flow of transactions is redirected into the events.
 */
export async function dissect(
  inputs: string[],
  recs: SurveyRecords,
  rows: number[],
  session: AnalysisSession,
  opts: { flow: FlowOptions; window: TimeWindow | null; lastTime: number | null },
): Promise<SecondPassResult> {
  const events: SecondPassEvent[] = [];
  const result: SecondPassResult = { events, perConnection: new Map() };
  if (rows.length === 0) return result;
  await loadDissectors();
  let first = Infinity;
  let last = -Infinity;
  for (const row of rows) {
    if (recs.firstPacket(row) < first) first = recs.firstPacket(row);
    const until = recs.endPhase(row) === 2 ? Infinity : recs.endPacket(row);
    if (until > last) last = until;
  }
  let tracker: Restricted | null = null;
  const onTx = (conn: ConnInfo, tx: HttpTransaction): void => {
    session.countTransaction(tx);
    const n = result.perConnection.get(conn.uid);
    if (n === undefined) result.perConnection.set(conn.uid, [1, tx.status !== null ? 1 : 0]);
    else {
      n[0]++;
      if (tx.status !== null) n[1]++;
    }
    if (!session.keepsTransaction(conn, tx)) return;
    session.watchRetries(conn, tx);
    const snap: ConnSnapshot = {
      uid: conn.uid,
      communityId: conn.communityId,
      capturePoint: conn.capturePoint,
      clientAddr: conn.clientAddr,
      clientPort: conn.clientPort,
      serverAddr: conn.serverAddr,
      serverPort: conn.serverPort,
      startTime: conn.startTime,
      previousPacketTime: conn.previousPacketTime,
    };
    events.push({ kind: 'tx', uid: conn.uid, packet: tracker!.packet, phase: tracker!.phase, conn: snap, tx });
  };
  const saved = session.onTx;
  session.onTx = onTx;
  try {
    tracker = new Restricted(
      recs,
      rows,
      {
        onConnectionStart: (conn) => session.sinkFor(conn),
        onConnectionEnd: (rec: ConnectionRecord) => {
          const ended = session.ended(rec);
          // (The TLS session itself is not held: only what correlation reads of it.)
          ended.tls = null;
          events.push({
            kind: 'end',
            uid: rec.uid,
            packet: tracker!.packet,
            phase: tracker!.phase,
            ended,
            rec: { startTime: rec.startTime, endTime: rec.endTime, endCause: rec.endCause, packetsFromClient: rec.packetsFromClient, packetsFromServer: rec.packetsFromServer },
          });
        },
      },
      opts.flow,
      opts.lastTime ?? undefined,
    );
    const t = tracker;
    await processCaptures(inputs, {}, {
      ...opts.flow,
      window: opts.window,
      tracker: t,
      beforeDecode: (_rec, n) => {
        t.packet = n;
        return n >= first && n <= last;
      },
    });
  } finally {
    session.onTx = saved;
  }
  return result;
}
