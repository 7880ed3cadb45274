/**
 * The store as a sink: stages write typed rows and never know where they go (Zeek's logging
 * framework). `write` never blocks and never throws: it buffers; the sink batches, sends, spools
 * and reports. One interface, two implementations: files next to the capture (parquet.ts) and a
 * ClickHouse server (clickhouse.ts).
 */
import type { Row, TableName } from './schema.js';

export interface SinkStats {
  /** Rows given to write(). */
  rows: number;
  /** Rows known to be in the store. */
  stored: number;
  /** Rows waiting in memory. */
  pending: number;
  /** Rows waiting in the disk spool (server away, or memory cap reached). */
  spooled: number;
  /** Rows lost: the memory cap and the spool both failed (counted, reported, never silent). */
  dropped: number;
  /** Rows the server refused as invalid (kept in the spool's rejected/ folder). */
  rejected: number;
  /** Send attempts that failed (each retried). */
  failures: number;
  /** The last failure, one line, no secrets. */
  lastError: string | null;
}

export interface RecordSink {
  /** Where the records go, printable (no password). */
  readonly where: string;
  /** Buffers a row for its table. Never blocks, never throws. */
  write(table: TableName, row: Row): void;
  /** A capture file was finished (rotation): make what was written so far visible to readers. */
  checkpoint(): void;
  /** Sends or writes everything buffered so far. */
  flush(): Promise<void>;
  /**
   * Flushes and releases. With a server away, waits at most `waitMs` for it, then leaves the rest
   * in the spool (sent by the next run against the same spool) and says so in the stats.
   */
  close(waitMs?: number): Promise<SinkStats>;
  stats(): SinkStats;
}

export function emptyStats(): SinkStats {
  return { rows: 0, stored: 0, pending: 0, spooled: 0, dropped: 0, rejected: 0, failures: 0, lastError: null };
}

/** The sink's state in one line, for notices and the final summary. */
export function describeStats(where: string, s: SinkStats): string {
  const parts = [`${s.rows} records`, `${s.stored} stored`];
  if (s.pending) parts.push(`${s.pending} pending`);
  if (s.spooled) parts.push(`${s.spooled} in the spool`);
  if (s.rejected) parts.push(`${s.rejected} rejected`);
  if (s.dropped) parts.push(`${s.dropped} DROPPED`);
  if (s.failures) parts.push(`${s.failures} failed sends (retried)`);
  return `store ${where}: ${parts.join(', ')}${s.lastError && (s.spooled || s.dropped || s.rejected) ? `; last error: ${s.lastError}` : ''}`;
}
