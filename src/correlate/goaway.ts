/**
 * HTTP/2 GOAWAY: one GOAWAY is one incident, however many streams it cut.
 *
 * A peer that sends GOAWAY (RFC 9113 §6.8) names the last stream it processed; the streams the
 * receiver opened above it were not processed and may be retried on a new connection. A client
 * that does (curl, browsers, most HTTP/2 libraries) sends the same request again, from the same
 * address, on another connection, a moment later. So:
 *
 * - every stream one GOAWAY cut (same connection, same GOAWAY) goes into one group;
 * - each stream's retry is the first later request with the same method and path from the same
 *   client address on another connection, within RETRY_WINDOW_SECONDS of the GOAWAY;
 * - answered retries are kept by a bounded watch (RetryWatch): only requests whose client, method
 *   and path a GOAWAY cut in the last RETRY_WINDOW_SECONDS, so nothing is kept per request otherwise.
 */
import type { TxView } from './views.js';

/** A retry starts within this long after the GOAWAY (clients retry at once; some back off a little). */
export const RETRY_WINDOW_SECONDS = 10;
/** Cut requests watched for their retry at once (the oldest are forgotten first). */
const MAX_WATCHED = 10_000;
/** Answered retries kept at once. */
const MAX_RETRIES = 10_000;
/** A retry seen up to this much before the GOAWAY (the mirror's copies of two legs are not in step). */
const CLOCK_SLACK_SECONDS = 0.05;

export interface GoawayStream {
  tx: TxView;
  /** The same request sent again from the same client on another connection (null: none seen). */
  retry: TxView | null;
}

export interface GoawayGroup {
  /** The connection the GOAWAY shut down. */
  connUid: string;
  /** When the GOAWAY was seen (the streams' request time when it was not recorded). */
  time: number;
  lastStreamId: number | null;
  errorCode: string | null;
  /** Every stream it cut, by stream id. */
  streams: GoawayStream[];
}

export function isGoawayCut(tx: TxView): boolean {
  return tx.endedBy === 'goaway';
}

/** When the GOAWAY that cut this stream was seen (its request time when not recorded). */
export function goawayTime(tx: TxView): number {
  return tx.goaway?.time ?? tx.requestLastByteTime ?? tx.requestFirstByteTime ?? 0;
}

function retryKey(clientAddr: string, method: string | null, path: string | null): string {
  return `${clientAddr}|${method ?? ''}|${path ?? ''}`;
}

/** A retry answered: a complete response under 500. */
export function retryAnswered(r: TxView): boolean {
  return r.outcome === 'complete' && r.status !== null && r.status < 500;
}

/**
 * Requests a GOAWAY cut, by client address + method + path, until their retry window closes; and
 * the answered requests that match one (the candidates for their retry). Both bounded.
 */
export class RetryWatch {
  /** key → end of its window (capture clock), oldest insertion first. */
  private readonly watched = new Map<string, number>();
  private readonly kept: TxView[] = [];

  get size(): number {
    return this.watched.size;
  }

  /** A stream a GOAWAY cut: its retry is watched for. */
  watch(tx: TxView): void {
    const key = retryKey(tx.clientAddr, tx.method, tx.path);
    this.watched.delete(key);
    this.watched.set(key, goawayTime(tx) + RETRY_WINDOW_SECONDS);
    if (this.watched.size > MAX_WATCHED) this.watched.delete(this.watched.keys().next().value!);
  }

  /** Whether a request with these fields may be the retry of a cut one (time: its first byte). */
  wants(clientAddr: string, method: string | null, path: string | null, time: number | null): boolean {
    if (this.watched.size === 0) return false;
    const until = this.watched.get(retryKey(clientAddr, method, path));
    return until !== undefined && (time === null || time <= until);
  }

  /** Keeps an answered request that may be a retry. */
  keep(tx: TxView): void {
    this.kept.push(tx);
    if (this.kept.length > MAX_RETRIES) this.kept.shift();
  }

  candidates(): readonly TxView[] {
    return this.kept;
  }

  /** Forgets what is older than `time`. */
  prune(time: number): void {
    for (const [k, until] of this.watched) if (until < time) this.watched.delete(k);
    let n = 0;
    while (n < this.kept.length && (this.kept[n]!.requestFirstByteTime ?? Infinity) < time) n++;
    if (n > 0) this.kept.splice(0, n);
  }
}

/**
 * Groups the streams GOAWAYs cut (one group per connection and GOAWAY) and finds each one's retry
 * among `candidates` (answered retries kept by the watch, and failed requests: a retry that failed
 * too). A candidate is the retry of one stream at most; earliest first.
 */
export function groupGoaways(cut: readonly TxView[], candidates: readonly TxView[]): GoawayGroup[] {
  const byConn = new Map<string, TxView[]>();
  const seen = new Set<string>();
  for (const tx of cut) {
    // The same stream given twice (a view made again by a later pass) is one stream.
    if (seen.has(tx.uid)) continue;
    seen.add(tx.uid);
    // Two GOAWAYs on one connection (a graceful shutdown sends one early, then the final one):
    // the streams of each are told apart by its last-stream-id.
    const k = `${tx.connUid}|${tx.goaway?.lastStreamId ?? ''}`;
    const list = byConn.get(k);
    if (list) list.push(tx);
    else byConn.set(k, [tx]);
  }
  const used = new Set<TxView>();
  const sorted = [...candidates].filter((c) => c.requestFirstByteTime !== null).sort((a, b) => a.requestFirstByteTime! - b.requestFirstByteTime!);
  const groups: GoawayGroup[] = [];
  for (const txs of byConn.values()) {
    txs.sort((a, b) => (a.streamId ?? 0) - (b.streamId ?? 0));
    const first = txs[0]!;
    const time = goawayTime(first);
    const streams = txs.map((tx): GoawayStream => {
      const retry = sorted.find(
        (c) =>
          !used.has(c) &&
          c !== tx &&
          c.connUid !== tx.connUid &&
          c.clientAddr === tx.clientAddr &&
          c.method === tx.method &&
          c.path === tx.path &&
          c.requestFirstByteTime! >= time - CLOCK_SLACK_SECONDS &&
          c.requestFirstByteTime! <= time + RETRY_WINDOW_SECONDS,
      ) ?? null;
      if (retry) used.add(retry);
      return { tx, retry };
    });
    groups.push({ connUid: first.connUid, time, lastStreamId: first.goaway?.lastStreamId ?? null, errorCode: first.errorCode ?? null, streams });
  }
  return groups.sort((a, b) => a.time - b.time);
}

/** Whether every stream of the group has its retry (live analysis waits for them a while). */
export function allRetried(g: GoawayGroup): boolean {
  return g.streams.every((s) => s.retry !== null);
}
