/**
 * The correlation's views of a connection the targeted analysis did not dissect, made from the
 * survey's records (flow/survey-records.ts). Such a connection is simple (its bytes in order from
 * a complete handshake to FINs both ways, no request outstanding), and what the Correlator reads
 * of a connection it does not keep is exact here: endpoints, times, handshake, payload bytes, FINs
 * and their silences, idle gaps (the path model's leg index, role counts, keep-alive learning, the
 * idle candidates of an error). The rest (history, conn_state details, marks other than FINs,
 * Community ID) is filled in plainly and never read: a connection the Correlator keeps or a case
 * cites is dissected first (targeted.ts checks it and runs again when not).
 */
import type { OpenConn } from '../correlate/correlate.js';
import type { ConnView, LegView, TcpMark } from '../correlate/views.js';
import type { SurveyRecords } from '../flow/survey-records.js';

const nn = (x: number): number | null => (Number.isNaN(x) ? null : x);

/**
 * What a leg and a connection view read alike from a survey row: endpoints, ISNs, times (the
 * survey keeps no first-payload prints).
 */
class SurveyRowView {
  constructor(
    protected readonly r: SurveyRecords,
    protected readonly row: number,
    readonly uid: string,
  ) {}
  get clientIsn(): number | null {
    return this.r.isn(this.row, 0);
  }
  get serverIsn(): number | null {
    return this.r.isn(this.row, 1);
  }
  get clientFirstPayload(): null {
    return null;
  }
  get serverFirstPayload(): null {
    return null;
  }
  get clientAddr(): string {
    return this.r.clientAddr(this.row);
  }
  get clientPort(): number {
    return this.r.clientPort(this.row);
  }
  get serverAddr(): string {
    return this.r.serverAddr(this.row);
  }
  get serverPort(): number {
    return this.r.serverPort(this.row);
  }
  get startTime(): number {
    return this.r.startTime(this.row);
  }
  get endTime(): number {
    return this.r.endTime(this.row);
  }
}

/**
 * A leg read from the survey's records when asked: what the Correlator's leg index keeps of every
 * connection is then a row number, not a copy of its fields (memory that grew with the capture).
 */
class SurveyLeg extends SurveyRowView implements LegView {
  get capturePoint(): string {
    return this.r.capturePoint(this.row);
  }
  get clientPayloadBytes(): number {
    return this.r.payloadBytes(this.row, 0);
  }
  get serverFinTimes(): number[] {
    return this.r.finSeen(this.row, 1) ? [this.r.finTime(this.row, 1)] : [];
  }
  get serverRstTimes(): number[] {
    return [];
  }
  get open(): boolean {
    return false;
  }
}

/** `uid`: the row's (made from the row when not given). */
export function surveyLegView(r: SurveyRecords, row: number, uid = r.uid(row)): LegView {
  return new SurveyLeg(r, row, uid);
}

/**
 * The same leg as a copy of its fields: for a leg the index keeps one by one (a NAT join may reach
 * it), which every later leg with its client ISN compares with; read from its row, each of those
 * reads could fetch a chunk the records had let go of (flow/survey-records.ts).
 */
export function surveyLegCopy(r: SurveyRecords, row: number, uid = r.uid(row)): LegView {
  return {
    uid,
    capturePoint: r.capturePoint(row),
    clientIsn: r.isn(row, 0),
    serverIsn: r.isn(row, 1),
    clientFirstPayload: null,
    serverFirstPayload: null,
    clientAddr: r.clientAddr(row),
    clientPort: r.clientPort(row),
    serverAddr: r.serverAddr(row),
    serverPort: r.serverPort(row),
    startTime: r.startTime(row),
    endTime: r.endTime(row),
    clientPayloadBytes: r.payloadBytes(row, 0),
    serverFinTimes: r.finSeen(row, 1) ? [r.finTime(row, 1)] : [],
    serverRstTimes: [],
    open: false,
  };
}

/**
 * A connection view read from the survey's records when asked (like SurveyLeg): the Correlator
 * holds every connection it does not keep for a while (its recent connections, for a NAT peer
 * kept later), long enough to outlive the young generation, so a full copy of the fields (about
 * 600 bytes with its marks and SYN times) became old-generation garbage for every connection;
 * this is three fields. Arrays (marks, SYN times, idle gaps) are made at each read, short-lived.
 */
class SurveyConnView extends SurveyRowView implements ConnView {
  icmpError?: ConnView['icmpError'];
  tlsFailure: ConnView['tlsFailure'] = null;
  get records(): SurveyRecords {
    return this.r;
  }
  get rowNumber(): number {
    return this.row;
  }
  get communityId(): null {
    return null;
  }
  get capturePoint(): string {
    return this.r.capturePoint(this.row);
  }
  get capturePoints(): string[] {
    return [this.r.capturePoint(this.row)];
  }
  get connState(): string {
    return 'SF';
  }
  get history(): string {
    return '';
  }
  get rttSeconds(): number | null {
    return nn(this.r.synAckTime(this.row) - this.r.lastSynTime(this.row));
  }
  get synTimes(): number[] {
    return this.r.synTimes(this.row);
  }
  get synAckTime(): number | null {
    return nn(this.r.synAckTime(this.row));
  }
  get refused(): boolean {
    return this.r.refused(this.row);
  }
  get closedBy(): 'client' | 'server' | null {
    const c = this.r.closedBy(this.row);
    return c < 0 ? null : c === 0 ? 'client' : 'server';
  }
  get closeHow(): 'fin' | 'rst' | null {
    return this.r.closeHow(this.row);
  }
  get maxIdleSeconds(): number {
    return this.r.maxIdle(this.row);
  }
  get idleGaps(): { start: number; end: number; seconds: number }[] {
    return this.r.idleGapList(this.row);
  }
  get gapBytes(): number {
    return 0;
  }
  get midstream(): boolean {
    return this.r.midstream(this.row);
  }
  get marks(): TcpMark[] {
    const r = this.r;
    const row = this.row;
    const marks: TcpMark[] = [];
    const cFin = r.finSeen(row, 0);
    if (cFin) marks.push({ time: r.finTime(row, 0), fromClient: true, kind: 'fin', length: 0, idleBeforeSeconds: r.finIdle(row, 0), acksAllPeerData: null });
    if (r.finSeen(row, 1)) {
      const m: TcpMark = { time: r.finTime(row, 1), fromClient: false, kind: 'fin', length: 0, idleBeforeSeconds: r.finIdle(row, 1), acksAllPeerData: null };
      // (In time order; the client's first on a tie, as a stable sort of [client, server] leaves them.)
      if (cFin && m.time < marks[0]!.time) marks.unshift(m);
      else marks.push(m);
    }
    return marks;
  }
  /** What `marks` would say (FINs only), without making them. */
  hasMark(kind: TcpMark['kind'], fromServer: boolean): boolean {
    return kind === 'fin' && (this.r.finSeen(this.row, 1) || (!fromServer && this.r.finSeen(this.row, 0)));
  }
  get requests(): number {
    return 0;
  }
}

/**
 * The row of `v` when it is a connection view of `r` with nothing set on it since it was made
 * (no ICMP error joined, no TLS failure), so that surveyConnView(r, row) makes it again; else -1.
 */
export function plainSurveyRow(v: ConnView, r: SurveyRecords): number {
  return v instanceof SurveyConnView && v.records === r && v.icmpError === undefined && v.tlsFailure === null ? v.rowNumber : -1;
}

/** `uid`: the row's (made from the row when not given). */
export function surveyConnView(r: SurveyRecords, row: number, uid = r.uid(row)): ConnView {
  return new SurveyConnView(r, row, uid);
}

/** The open-leg note a connection gets when it starts (what the session tells the Correlator then). */
export function surveyOpenConn(r: SurveyRecords, row: number): OpenConn {
  const startTime = r.startTime(row);
  return {
    uid: r.uid(row),
    capturePoint: r.capturePoint(row),
    clientAddr: r.clientAddr(row),
    clientPort: r.clientPort(row),
    serverAddr: r.serverAddr(row),
    serverPort: r.serverPort(row),
    startTime,
    clientIsn: null,
    serverIsn: null,
    lastPacketTime: startTime,
  };
}
