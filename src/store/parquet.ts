/**
 * The embedded store: Parquet files in a directory (next to the capture by default), written and
 * read with DuckDB (@duckdb/node-api), no server.
 *
 * Layout: `DIR/store.json` (schema version), `DIR/<table>/<node>.<run>.<seq>.parquet`. Rows are
 * appended as JSON lines to a staging file per table (`.<...>.ndjson.part`, hidden from readers);
 * every `flushMs` and at each capture rotation the staging files are closed and DuckDB turns each
 * into one Parquet file (read_json → COPY ... (FORMAT PARQUET)) off the main thread, written to a
 * temporary name and renamed: a reader sees whole files only, and can read while a listener
 * writes. Staging files a killed process left are converted by the next writer.
 *
 * Chosen by measurement (docs/store.md): JSON lines through DuckDB's reader cost the writing
 * thread about 3x less CPU per row than DuckDB's appender (one native call per value), and a
 * DuckDB database file cannot be opened by a reader while a writer holds it.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { STORE_SCHEMA_VERSION, TABLE_NAMES, tableDef, type Column, type Row, type TableName } from './schema.js';
import { emptyStats, type RecordSink, type SinkStats } from './sink.js';

export function duckType(c: Column): string {
  return { f64: 'DOUBLE', i64: 'BIGINT', i32: 'INTEGER', str: 'VARCHAR', bool: 'BOOLEAN', 'f64[]': 'DOUBLE[]', 'str[]': 'VARCHAR[]' }[c.type];
}

/** A DuckDB string literal. */
export function duckString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** read_json's columns={...} for a table. */
function jsonColumns(table: TableName): string {
  return `{${tableDef(table).columns.map((c) => `${duckString(c.name)}: ${duckString(duckType(c))}`).join(', ')}}`;
}

function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'node';
}

const META = 'store.json';

/**
 * Creates (or checks) the store directory and its schema version. A writer (`writing`) raises the
 * version of a store written before to its own: its files then hold the newer columns, which the
 * older files lack (read as NULL).
 */
export function prepareStoreDir(dir: string, writing = false): void {
  try {
    mkdirSync(dir, { recursive: true });
    const meta = join(dir, META);
    const current = `${JSON.stringify({ mirrorlensStore: true, schemaVersion: STORE_SCHEMA_VERSION })}\n`;
    if (existsSync(meta)) {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { schemaVersion?: number };
      if (typeof m.schemaVersion === 'number' && m.schemaVersion > STORE_SCHEMA_VERSION) {
        throw new MirrorlensError(ErrorCode.Store, `the store has record schema version ${m.schemaVersion}; this mirrorlens writes version ${STORE_SCHEMA_VERSION}: upgrade mirrorlens`, { file: dir });
      }
      if (writing && m.schemaVersion !== STORE_SCHEMA_VERSION) writeFileSync(meta, current);
    } else writeFileSync(meta, current);
    for (const t of TABLE_NAMES) mkdirSync(join(dir, t), { recursive: true });
  } catch (e) {
    if (e instanceof MirrorlensError) throw e;
    throw new MirrorlensError(ErrorCode.Store, `cannot use the store directory: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`, { file: dir });
  }
}

interface Staging {
  table: TableName;
  path: string;
  stream: WriteStream;
  rows: number;
}

export interface ParquetSinkOptions {
  node?: string;
  /** Staged rows become a Parquet file after this long (default 10 000 ms). */
  flushMs?: number;
  onNotice?(line: string): void;
}

export class ParquetSink implements RecordSink {
  readonly where: string;
  private readonly node: string;
  private readonly run = new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
  private seq = 0;
  private readonly staging = new Map<TableName, Staging>();
  private readonly s: SinkStats = emptyStats();
  private conversions: Promise<void> = Promise.resolve();
  private db: Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> | null = null;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    readonly dir: string,
    private readonly o: ParquetSinkOptions = {},
  ) {
    prepareStoreDir(dir, true);
    this.where = dir;
    this.node = fileSafe(o.node ?? hostname());
    this.timer = setInterval(() => this.checkpoint(), o.flushMs ?? 10_000);
    this.timer.unref();
    // Staging files a killed writer left behind.
    const left: { table: TableName; path: string }[] = [];
    for (const t of TABLE_NAMES) for (const f of readdirSync(join(dir, t))) if (f.endsWith('.ndjson.part')) left.push({ table: t, path: join(dir, t, f) });
    for (const l of left) {
      // A killed writer may have cut its last line: keep the whole lines only.
      const text = readFileSync(l.path);
      const end = text.lastIndexOf(10) + 1;
      if (end < text.length) truncateSync(l.path, end);
      this.convert(l.table, l.path, 0);
    }
  }

  write(table: TableName, row: Row): void {
    this.s.rows++;
    this.s.pending++;
    let st = this.staging.get(table);
    if (!st) {
      const name = `${this.node}.${this.run}.${String(++this.seq).padStart(6, '0')}`;
      const path = join(this.dir, table, `.${name}.ndjson.part`);
      const stream = createWriteStream(path);
      stream.on('error', (e) => {
        this.s.lastError = e.message;
      });
      st = { table, path, stream, rows: 0 };
      this.staging.set(table, st);
    }
    st.stream.write(`${JSON.stringify(row)}\n`);
    st.rows++;
  }

  checkpoint(): void {
    for (const st of this.staging.values()) {
      const done = new Promise<void>((r) => st.stream.end(() => r()));
      this.convert(st.table, st.path, st.rows, done);
    }
    this.staging.clear();
  }

  private connection(): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
    this.db ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      return { instance, con: await instance.connect() };
    })();
    return this.db;
  }

  private convert(table: TableName, part: string, rows: number, written: Promise<void> = Promise.resolve()): void {
    this.conversions = this.conversions.then(async () => {
      await written;
      const out = part.replace(/\/\.([^/]+)\.ndjson\.part$/, '/$1.parquet');
      try {
        const { con } = await this.connection();
        await con.run(
          `COPY (SELECT * FROM read_json(${duckString(part)}, format='newline_delimited', columns=${jsonColumns(table)})) ` +
            `TO ${duckString(`${out}.tmp`)} (FORMAT PARQUET, COMPRESSION ZSTD)`,
        );
        await rename(`${out}.tmp`, out);
        await unlink(part);
        this.s.stored += rows;
        this.s.pending -= rows;
      } catch (e) {
        this.s.failures++;
        this.s.lastError = (e as Error).message.split('\n')[0]!;
        this.o.onNotice?.(`store ${this.dir}: cannot write ${table} records as Parquet (${this.s.lastError}); the rows stay in ${part}`);
      }
    });
  }

  async flush(): Promise<void> {
    this.checkpoint();
    await this.conversions;
  }

  async close(): Promise<SinkStats> {
    clearInterval(this.timer);
    await this.flush();
    if (this.db) {
      const { con, instance } = await this.db;
      con.closeSync();
      instance.closeSync();
      this.db = null;
    }
    return this.stats();
  }

  stats(): SinkStats {
    return { ...this.s };
  }
}
