/**
 * The Correlator's recently ended connections (correlate/recent.ts) for the targeted analysis's
 * replay: a connection given as a plain survey view (plainSurveyRow) is held as its row number and
 * end time, and made again (surveyConnView) when asked for; any other view (a dissected
 * connection's, a survey view with an ICMP error joined) is held as itself. Nothing is allocated
 * per connection held: the views of the window were old-generation garbage otherwise.
 *
 * Entries are kept in a ring in the order added, each with its end time (eviction reads no row:
 * the oldest entries' rows are in chunks the records may have let go of) and a sequence number;
 * an entry is current while its row (rowSeq) or its uid (objs) is still held under that number.
 */
import type { RecentConns } from '../correlate/recent.js';
import type { ConnView } from '../correlate/views.js';
import type { SurveyRecords } from '../flow/survey-records.js';
import { plainSurveyRow, surveyConnView } from './survey-views.js';

export class SurveyRecent implements RecentConns {
  /** The ring (entries head .. tail - 1): row (-1: an object, objAt), end time, sequence number. */
  private rows = new Int32Array(1024);
  private ends = new Float64Array(1024);
  private seqs = new Int32Array(1024);
  private objAt: (ConnView | undefined)[] = [];
  private head = 0;
  private tail = 0;
  private seq = 0;
  private n = 0;
  /** The sequence number each row is held under (0: not held). */
  private readonly rowSeq: Int32Array;
  private readonly objs = new Map<string, { v: ConnView; seq: number }>();

  constructor(private readonly r: SurveyRecords) {
    this.rowSeq = new Int32Array(r.size);
  }

  get size(): number {
    return this.n;
  }

  get(uid: string): ConnView | undefined {
    const o = this.objs.get(uid);
    if (o !== undefined) return o.v;
    const row = this.r.rowOf(uid);
    return row >= 0 && this.rowSeq[row] !== 0 ? surveyConnView(this.r, row, uid) : undefined;
  }

  add(c: ConnView): void {
    const row = plainSurveyRow(c, this.r);
    // (Replacing what is held under its uid: its row, and a view of it.)
    if (row >= 0) {
      if (this.rowSeq[row] !== 0) this.n--;
      if (this.objs.delete(c.uid)) this.n--;
    } else this.delete(c.uid);
    // (Numbers wrap at 2^31; 0 means "not held".)
    const s = (this.seq = (this.seq + 1) | 0) === 0 ? (this.seq = 1) : this.seq;
    if (row >= 0) this.rowSeq[row] = s;
    else this.objs.set(c.uid, { v: c, seq: s });
    this.n++;
    this.push(row, c.endTime, s, row >= 0 ? undefined : c);
  }

  delete(uid: string): void {
    if (this.objs.delete(uid)) {
      this.n--;
      return;
    }
    const row = this.r.rowOf(uid);
    if (row >= 0 && this.rowSeq[row] !== 0) {
      this.rowSeq[row] = 0;
      this.n--;
    }
  }

  evict(before: number, max: number): void {
    while (this.head < this.tail) {
      const p = this.head;
      if (this.current(p)) {
        if (this.n <= max && this.ends[p]! >= before) return;
        this.drop(p);
      }
      if (p < this.objAt.length) this.objAt[p] = undefined;
      this.head++;
    }
  }

  dropEndedBefore(time: number): void {
    for (let p = this.head; p < this.tail; p++) if (this.current(p) && this.ends[p]! < time) this.drop(p);
  }

  /** Whether ring entry p is what its row or uid is held under. */
  private current(p: number): boolean {
    const row = this.rows[p]!;
    if (row >= 0) return this.rowSeq[row] === this.seqs[p];
    const v = this.objAt[p];
    return v !== undefined && this.objs.get(v.uid)?.seq === this.seqs[p];
  }

  private drop(p: number): void {
    const row = this.rows[p]!;
    if (row >= 0) this.rowSeq[row] = 0;
    else this.objs.delete(this.objAt[p]!.uid);
    this.n--;
  }

  private push(row: number, end: number, s: number, v: ConnView | undefined): void {
    if (this.tail === this.rows.length) this.compact();
    const p = this.tail++;
    this.rows[p] = row;
    this.ends[p] = end;
    this.seqs[p] = s;
    if (v !== undefined || p < this.objAt.length) this.objAt[p] = v;
  }

  /** Moves the current entries to the front (in order), growing the ring when they fill half of it. */
  private compact(): void {
    let k = 0;
    for (let p = this.head; p < this.tail; p++) {
      if (!this.current(p)) continue;
      this.rows[k] = this.rows[p]!;
      this.ends[k] = this.ends[p]!;
      this.seqs[k] = this.seqs[p]!;
      this.objAt[k] = this.objAt[p];
      k++;
    }
    this.objAt.length = k;
    this.head = 0;
    this.tail = k;
    if (k * 2 > this.rows.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.rows = grow(this.rows);
      this.ends = grow(this.ends);
      this.seqs = grow(this.seqs);
    }
  }
}
