/**
 * The load-balancer log pass's output held for later (a LogSink): what the Correlator is told
 * about the access logs, kept so that a targeted analysis can feed it to each correlation it runs,
 * and a worker thread can hand it over (structured-cloneable: plain objects, arrays, Sets). Held: the
 * kept lines' views (5xx, 460, 000), the logged targets, each file's first and last line time,
 * and (for the targeted analysis) every logged client endpoint, which tells which client
 * connections the logs cover. Memory: the error lines, one string per distinct target, and per
 * distinct client endpoint 8 to 16 bytes (IPv4: a number in a typed array, not a Set's boxed
 * entry, which was ~45 bytes) or a string (IPv6). (VPC flow logs are not taped: the
 * Correlator keeps only a few of their rows, chosen by what the access logs said, so they are read
 * into each correlation.)
 */
import { ownString } from '../logs/lines.js';
import { canonicalIpv4In } from '../logs/fields.js';
import type { Correlator } from '../correlate/correlate.js';
import type { LbLogView } from '../correlate/views.js';
import type { LogSink } from './log-pass.js';

/** `addr|port` as the tape keeps endpoints. */
export function endpointKey(addr: string, port: number): string {
  return `${addr}|${port}`;
}

export interface LogTapeData {
  lines: LbLogView[];
  targets: [string, number][];
  /** Per file (in the order first seen): first and last line time. */
  times: [string, number, number][];
  /** Logged client endpoints: IPv4 ones as address * 65536 + port (clientKey4), sorted, each once; the others as endpointKey. */
  clients4: Float64Array;
  clients6: Set<string>;
}

/** An IPv4 endpoint as one number (exact: below 2^48). */
export function clientKey4(addr: number, port: number): number {
  return addr * 65536 + port;
}

/** Whether the sorted `keys` hold `k`. */
export function hasKey(keys: Float64Array, k: number): boolean {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo < keys.length && keys[lo] === k;
}

/**
 * Numbers noted many times each (a client endpoint per log line), kept once each: appended, and
 * sorted and deduplicated in place when the array is full (grown only when that leaves it more
 * than half full), so it holds at most twice the distinct numbers. `sorted` hands out a view of
 * that array (no copy: the tape is read once, and the log pass's frame keeps this set alive to
 * the end); a number noted after that goes to a copy.
 */
class KeySet {
  private a = new Float64Array(1024);
  private n = 0;
  private shared = false;

  add(k: number): void {
    if (this.n > 0 && this.a[this.n - 1] === k) return; // (a client's lines often come together)
    if (this.shared) {
      this.a = this.a.slice(0, Math.max(1024, this.n * 2));
      this.shared = false;
    }
    if (this.n === this.a.length) {
      this.compact();
      if (this.n * 2 > this.a.length) {
        const b = new Float64Array(this.a.length * 2);
        b.set(this.a.subarray(0, this.n));
        this.a = b;
      }
    }
    this.a[this.n++] = k;
  }

  private compact(): void {
    const a = this.a.subarray(0, this.n).sort();
    let m = 0;
    for (let i = 0; i < a.length; i++) if (m === 0 || a[i] !== a[m - 1]) a[m++] = a[i]!;
    this.n = m;
  }

  /** The distinct numbers, sorted (a view, which later adds leave as it is). */
  sorted(): Float64Array {
    this.compact();
    this.shared = true;
    return this.a.subarray(0, this.n);
  }
}

export class LogTape implements LogSink {
  readonly lines: LbLogView[] = [];
  private readonly targetKeys = new Set<string>();
  private readonly targets: [string, number][] = [];
  private readonly fileTimes = new Map<string, [string, number, number]>();
  /** Every logged client endpoint (see LogTapeData). */
  private readonly clients4 = new KeySet();
  private readonly clients6 = new Set<string>();

  readonly time = {
    noteLogTime: (file: string, t: number): void => {
      if (!Number.isFinite(t)) return;
      const r = this.fileTimes.get(file);
      if (r === undefined) this.fileTimes.set(file, [file, t, t]);
      else {
        if (t < r[1]) r[1] = t;
        if (t > r[2]) r[2] = t;
      }
    },
  };

  addLog(v: LbLogView): void {
    this.lines.push(v);
    this.noteLogTarget(v.targetAddr, v.targetPort);
  }

  noteLogTarget(addr: string | null, port: number | null): void {
    if (addr === null || port === null) return;
    const k = endpointKey(addr, port);
    if (this.targetKeys.has(k)) return;
    // (Fields cut from a log chunk: kept as strings of their own, not views of the chunk.)
    this.targetKeys.add(ownString(k));
    this.targets.push([ownString(addr), port]);
  }

  addFlowRow(): void {
    throw new Error('LogTape: VPC flow logs are not taped (read them into the Correlator)');
  }

  markFlowLogsGiven(): void {
    this.addFlowRow();
  }

  noteLogClient(addr: string | null, port: number | null): void {
    if (addr === null || port === null) return;
    const v4 = canonicalIpv4In(addr, 0, addr.length);
    if (v4 >= 0) {
      this.clients4.add(clientKey4(v4, port));
      return;
    }
    const k = endpointKey(addr, port);
    if (!this.clients6.has(k)) this.clients6.add(ownString(k));
  }

  noteLogClientV4(addr: number, port: number): void {
    this.clients4.add(clientKey4(addr, port));
  }

  data(): LogTapeData {
    return { lines: this.lines, targets: this.targets, times: [...this.fileTimes.values()], clients4: this.clients4.sorted(), clients6: this.clients6 };
  }
}

/** Feeds a tape to a Correlator as the log pass would have: file times, logged targets, kept lines in order. */
export function playLogTape(t: LogTapeData, corr: Correlator): void {
  for (const [file, first, last] of t.times) {
    corr.time.noteLogTime(file, first);
    corr.time.noteLogTime(file, last);
  }
  for (const [addr, port] of t.targets) corr.noteLogTarget(addr, port);
  for (const l of t.lines) corr.addLog(l);
}
