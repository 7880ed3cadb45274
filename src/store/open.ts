/**
 * Opening a store by URL, for writing (a RecordSink) or for reading (a StoreReader):
 *   DIR or file:DIR            the embedded store (Parquet files read with DuckDB)
 *   clickhouse://host:8123/db  a ClickHouse server
 * Readers answer SQL over tables named as in schema.ts; both dialects share what the built-in
 * questions use (SELECT, WHERE, ORDER BY, LIMIT, LIKE, IN), and `literal` quotes strings for each.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ClickHouseClient } from '@clickhouse/client';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { ClickHouseSink, chString, clickHouseClient, clickHouseErrorLine, ensureClickHouseSchema, parseClickHouseUrl, redact } from './clickhouse.js';
import { duckString, duckType, ParquetSink, prepareStoreDir } from './parquet.js';
import { TABLE_NAMES, tableDef, type Row } from './schema.js';
import type { RecordSink } from './sink.js';

export function isServerUrl(url: string): boolean {
  return /^clickhouse(\+https)?:\/\//i.test(url);
}

function dirOf(url: string): string {
  return resolve(url.startsWith('file:') ? url.slice(5) : url);
}

export interface OpenSinkOptions {
  node?: string;
  /** Spool directory for a server store (default ~/.cache/mirrorlens/spool/<host_port_db>). */
  spoolDir?: string;
  flushMs?: number;
  onNotice?(line: string): void;
}

export function openSink(url: string, o: OpenSinkOptions = {}): RecordSink {
  if (isServerUrl(url)) {
    const t = parseClickHouseUrl(url);
    const spoolDir = o.spoolDir ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mirrorlens', 'spool', t.printable.replace(/^[a-z+]+:\/\//, '').replace(/[^A-Za-z0-9_.-]/g, '_'));
    return new ClickHouseSink(t, { node: o.node, spoolDir, flushMs: o.flushMs, onNotice: o.onNotice });
  }
  return new ParquetSink(dirOf(url), { node: o.node, flushMs: o.flushMs, onNotice: o.onNotice });
}

export interface StoreReader {
  readonly where: string;
  readonly kind: 'parquet' | 'clickhouse';
  /** Rows of a SELECT over the store's tables; 64-bit integers as numbers, lists as arrays. */
  query(sql: string): Promise<Row[]>;
  /** A string literal in this store's SQL dialect. */
  literal(s: string): string;
  close(): Promise<void>;
}

function plain(v: unknown): Row[string] {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x) => plain(x)) as number[] | string[];
  if (v === undefined) return null;
  return v as Row[string];
}

class ParquetReader implements StoreReader {
  readonly kind = 'parquet' as const;
  constructor(
    readonly where: string,
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
  ) {}

  static async open(dir: string): Promise<ParquetReader> {
    if (!existsSync(join(dir, 'store.json'))) throw new MirrorlensError(ErrorCode.Store, 'no mirrorlens store here (no store.json): give the directory that listen/analyze/logs --store wrote', { file: dir });
    prepareStoreDir(dir);
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const con = await instance.connect();
    for (const t of TABLE_NAMES) {
      const cols = tableDef(t).columns;
      const hasFiles = readdirSync(join(dir, t)).some((f) => f.endsWith('.parquet'));
      if (hasFiles) {
        // union_by_name: files of older schema versions read with missing columns as NULL; a
        // column no file has yet (a store written only before it was added) is NULL too.
        const glob = duckString(join(dir, t, '*.parquet'));
        const from = `read_parquet(${glob}, union_by_name = true)`;
        const have = new Set((await con.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowsJS().map((r) => String(r[0])));
        const sel = cols.map((c) => (have.has(c.name) ? c.name : `CAST(NULL AS ${duckType(c)}) AS ${c.name}`));
        await con.run(`CREATE VIEW ${t} AS SELECT ${sel.join(', ')} FROM ${from}`);
      } else await con.run(`CREATE TABLE ${t} (${cols.map((c) => `${c.name} ${duckType(c)}`).join(', ')})`);
    }
    return new ParquetReader(dir, instance, con);
  }

  async query(sql: string): Promise<Row[]> {
    let r;
    try {
      r = await this.con.runAndReadAll(sql);
    } catch (e) {
      throw new MirrorlensError(ErrorCode.Store, `query failed: ${(e as Error).message.split('\n')[0]}`);
    }
    const names = r.columnNames();
    return r.getRowsJS().map((vals) => {
      const o: Row = {};
      names.forEach((n, i) => (o[n] = plain(vals[i])));
      return o;
    });
  }

  literal(s: string): string {
    return duckString(s);
  }

  async close(): Promise<void> {
    this.con.closeSync();
    this.instance.closeSync();
  }
}

class ClickHouseReader implements StoreReader {
  readonly kind = 'clickhouse' as const;
  constructor(
    readonly where: string,
    private readonly client: ClickHouseClient,
  ) {}

  async query(sql: string): Promise<Row[]> {
    try {
      const r = await this.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
      return ((await r.json()) as Record<string, unknown>[]).map((o) => {
        const row: Row = {};
        for (const [k, v] of Object.entries(o)) row[k] = plain(v);
        return row;
      });
    } catch (e) {
      throw new MirrorlensError(ErrorCode.Store, `query failed on ${this.where}: ${clickHouseErrorLine(e)}`);
    }
  }

  literal(s: string): string {
    return chString(s);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export async function openReader(url: string): Promise<StoreReader> {
  if (isServerUrl(url)) {
    const t = parseClickHouseUrl(url);
    const client = clickHouseClient(t);
    try {
      await ensureClickHouseSchema(client, t.database);
    } catch (e) {
      await client.close();
      if (e instanceof MirrorlensError) throw e;
      throw new MirrorlensError(ErrorCode.Store, `cannot reach the store ${redact(t.printable)}: ${clickHouseErrorLine(e)}`);
    }
    await client.close();
    return new ClickHouseReader(t.printable, clickHouseClient({ ...t, url: t.url }, 120_000, t.database));
  }
  return ParquetReader.open(dirOf(url));
}
