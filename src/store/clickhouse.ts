/**
 * The ClickHouse store (`clickhouse://[user[:password]@]host[:8123]/database`), through the
 * official client over HTTP. Tables are created on first use (MergeTree, ordered by time then
 * node: time-window questions read only the granules of the window; monthly partitions to drop
 * old data), with the schema version in `mirrorlens_schema` (Akvorado's way).
 *
 * Writing never blocks the caller: rows are batched per table (one partition per batch, so an
 * insert is one part: all or nothing), sent one batch at a time, and spooled to disk while the
 * server is away or memory fills (spool.ts). Every row carries its batch id (`batch` column); a
 * batch whose send had no clear answer is looked up before it is sent again, so retries never
 * duplicate. That works on every server version: Debian's 18.16 has no insert_deduplication_token.
 *
 * What 18.16 lacks and how this copes (docs/store.md): DateTime64 (times are Float64 seconds),
 * LowCardinality (plain String), query parameters (literals escaped here), JSONCompactEachRow
 * (JSONEachRow is used).
 */
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { STORE_SCHEMA_VERSION, TABLE_NAMES, tableDef, type Column, type Row, type TableDef, type TableName } from './schema.js';
import { emptyStats, type RecordSink, type SinkStats } from './sink.js';
import { Spool, type Batch } from './spool.js';

export interface ClickHouseTarget {
  /** http://host:port */
  url: string;
  database: string;
  username: string;
  password: string;
  /** The URL without the password. */
  printable: string;
}

/** Parses `clickhouse://[user[:password]@]host[:port]/database` (default port 8123, database mirrorlens). */
export function parseClickHouseUrl(s: string): ClickHouseTarget {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new MirrorlensError(ErrorCode.Usage, `store: cannot parse '${redact(s)}' as clickhouse://host:port/database`);
  }
  if (u.protocol !== 'clickhouse:' && u.protocol !== 'clickhouse+https:') throw new MirrorlensError(ErrorCode.Usage, `store: not a clickhouse:// URL: '${redact(s)}'`);
  const db = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, '')) || 'mirrorlens';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new MirrorlensError(ErrorCode.Usage, `store: database name '${db}' must be letters, digits and '_'`);
  if (!u.hostname) throw new MirrorlensError(ErrorCode.Usage, `store: no host in '${redact(s)}'`);
  const https = u.protocol === 'clickhouse+https:';
  const port = u.port || (https ? '8443' : '8123');
  const host = u.hostname;
  const username = decodeURIComponent(u.username) || 'default';
  return {
    url: `${https ? 'https' : 'http'}://${host}:${port}`,
    database: db,
    username,
    password: decodeURIComponent(u.password),
    printable: `${u.protocol}//${u.username ? `${username}@` : ''}${host}:${port}/${db}`,
  };
}

/** A URL as it may be printed: any password replaced. */
export function redact(s: string): string {
  return s.replace(/(\/\/[^/:@]*):[^@/]*@/, '$1:***@');
}

/** A ClickHouse string literal. */
export function chString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function chType(col: Column): string {
  const base = { f64: 'Float64', i64: 'Int64', i32: 'Int32', str: 'String', bool: 'UInt8', 'f64[]': 'Array(Float64)', 'str[]': 'Array(String)' }[col.type];
  return col.nullable && !col.type.endsWith('[]') ? `Nullable(${base})` : base;
}

export function createTableSql(db: string, def: TableDef): string {
  const cols = def.columns.map((c) => `  ${c.name} ${chType(c)}`);
  cols.push('  batch String');
  const key = def.columns.some((c) => c.name === 'uid') ? '(ts, node, uid)' : '(ts, node)';
  return `CREATE TABLE IF NOT EXISTS ${db}.${def.name} (\n${cols.join(',\n')}\n) ENGINE = MergeTree() PARTITION BY toYYYYMM(toDateTime(toUInt32(ts))) ORDER BY ${key}`;
}

/** Year*100+month of a time, as the table's partition key computes it (UTC). */
function monthOf(ts: number): number {
  const d = new Date(Math.max(0, Math.floor(ts)) * 1000);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}

export function clickHouseClient(t: ClickHouseTarget, timeoutMs = 30_000, database = 'default'): ClickHouseClient {
  return createClient({
    url: t.url,
    username: t.username,
    password: t.password,
    database,
    request_timeout: timeoutMs,
    max_open_connections: 2,
    log: { level: ClickHouseLogLevel.OFF },
    application: 'mirrorlens',
  });
}

/** One line for a client error, with no URL credentials and no stack. */
export function clickHouseErrorLine(e: unknown): string {
  const err = e as { message?: string; code?: string | number };
  const m = String(err?.message ?? e).split('\n')[0]!.replace(/, e\.what\(\) = DB::Exception$/, '');
  return redact(m).slice(0, 300);
}

/** Errors where the server answered and refused (a bad row, an unknown table): sending again will not help. */
function serverRefused(e: unknown): boolean {
  const err = e as { code?: unknown; type?: unknown };
  // @clickhouse/client's ClickHouseError carries the server's numeric code as a string.
  if (typeof err?.code === 'string' && /^\d+$/.test(err.code)) {
    const code = Number(err.code);
    // Too many parts / memory / timeout / not ready: transient, retry.
    return ![159, 160, 202, 241, 252, 209, 210, 394].includes(code);
  }
  return false;
}

export interface ClickHouseSinkOptions {
  node?: string;
  /** Where unconfirmed batches wait on disk. */
  spoolDir: string;
  /** Rows per insert (default 20 000). */
  batchRows?: number;
  /** A non-empty buffer is sent after this long (default 1000 ms). */
  flushMs?: number;
  /** Rows kept in memory before batches go to the spool (default 200 000). */
  maxMemoryRows?: number;
  /** Backoff after a failed send: first and longest wait (default 250 ms, 5 s). */
  retryMs?: [number, number];
  requestTimeoutMs?: number;
  onNotice?(line: string): void;
}

export class ClickHouseSink implements RecordSink {
  readonly where: string;
  private readonly client: ClickHouseClient;
  private readonly spool: Spool;
  private readonly node: string;
  private readonly buffers = new Map<TableName, Row[]>();
  private readonly queue: Batch[] = [];
  private readonly s: SinkStats = emptyStats();
  private readonly runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  private seq = 0;
  private memoryRows = 0;
  private schemaReady = false;
  private pumping: Promise<void> | null = null;
  private closing = false;
  private retryWait = 0;
  private downUntil = 0;
  private wasDown = false;
  private spilling = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly started: Promise<void>;
  serverVersion: string | null = null;

  constructor(
    private readonly target: ClickHouseTarget,
    private readonly o: ClickHouseSinkOptions,
  ) {
    this.where = target.printable;
    this.node = o.node ?? hostname();
    this.client = clickHouseClient(target, o.requestTimeoutMs);
    this.spool = new Spool(o.spoolDir);
    this.timer = setInterval(() => this.tick(), o.flushMs ?? 1000);
    this.timer.unref();
    // Batches a previous run left in the spool go first.
    this.started = this.spool.list().then(
      (old) => {
        if (old.length) {
          this.queue.unshift(...old);
          for (const b of old) this.s.spooled += b.count;
          this.o.onNotice?.(`store ${this.where}: ${old.length} batch(es) from the spool ${this.spool.dir} to send first`);
          this.kick();
        }
      },
      (e: unknown) => this.o.onNotice?.(`store ${this.where}: cannot read the spool ${this.spool.dir}: ${(e as Error).message}`),
    );
  }

  write(table: TableName, row: Row): void {
    this.s.rows++;
    let buf = this.buffers.get(table);
    if (!buf) this.buffers.set(table, (buf = []));
    buf.push(row);
    this.memoryRows++;
    this.s.pending++;
    if (buf.length >= (this.o.batchRows ?? 20_000)) {
      this.seal(table);
      this.kick();
    }
  }

  checkpoint(): void {
    this.tick();
  }

  private tick(): void {
    for (const t of this.buffers.keys()) this.seal(t);
    this.kick();
  }

  /** Rows in memory not yet on their way to the spool. */
  private get heldRows(): number {
    return this.memoryRows - this.spilling;
  }

  private seal(table: TableName): void {
    const rows = this.buffers.get(table);
    if (!rows || rows.length === 0) return;
    this.buffers.set(table, []);
    // One partition (month) per batch: an insert then writes one part, all or nothing.
    const byMonth = new Map<number, Row[]>();
    for (const r of rows) {
      const m = monthOf(r.ts as number);
      let l = byMonth.get(m);
      if (!l) byMonth.set(m, (l = []));
      l.push(r);
    }
    for (const part of byMonth.values()) {
      let minTs = Infinity;
      let maxTs = -Infinity;
      const id = `${this.node}.${this.runId}.${(++this.seq).toString().padStart(9, '0')}`;
      for (const r of part) {
        const ts = r.ts as number;
        if (ts < minTs) minTs = ts;
        if (ts > maxTs) maxTs = ts;
        r.batch = id;
      }
      this.queue.push({ table, id, rows: part, count: part.length, minTs, maxTs, maybeSent: false, file: null });
    }
    // Checked once per batch, never per row: write() stays O(1).
    if (this.heldRows > (this.o.maxMemoryRows ?? 200_000)) this.relieve();
  }

  private get cap(): number {
    return this.o.maxMemoryRows ?? 200_000;
  }

  /**
   * Memory is full (the server is slower than the capture, or away): batches waiting behind the
   * one being sent go to the spool, oldest first, until half the cap is left. Never blocks.
   */
  private relieve(): void {
    const cap = this.cap;
    this.spillWaiting(1, cap / 2);
    // The disk cannot keep up either: rows in memory, held or on their way to the disk, stay
    // within 4x the cap; past it the newest batches not on their way are dropped, counted and said.
    for (let i = this.queue.length - 1; i >= 1 && this.memoryRows > cap * 4; i--) {
      const b = this.queue[i]!;
      if (!b.rows || this.inSpill.has(b)) continue;
      if (this.s.dropped === 0) this.o.onNotice?.(`store ${this.where}: the spool's disk cannot keep up with the records: the newest batches are dropped (counted as DROPPED)`);
      this.queue.splice(i, 1);
      this.s.dropped += b.count;
      this.s.pending -= b.count;
      this.memoryRows -= b.count;
    }
  }

  /**
   * Starts writing batches held in memory to the spool, oldest first from queue[from], until no
   * more than `held` rows are held; at most 3x the cap on their way to the disk at once (each spool
   * write holds its rows until its fsync: on a slow disk, unbounded spilling was unbounded memory).
   */
  private spillWaiting(from: number, held: number): void {
    for (let i = from; i < this.queue.length && this.heldRows > held; i++) {
      const b = this.queue[i]!;
      if (!b.rows || b.file !== null || this.inSpill.has(b)) continue;
      if (this.spilling > 0 && this.spilling + b.count > this.cap * 3) return;
      this.spill(b);
    }
  }

  private readonly inSpill = new Set<Batch>();

  private spill(b: Batch): void {
    if (!b.rows || b.file !== null || this.inSpill.has(b)) return;
    const n = b.count;
    this.spilling += n;
    this.inSpill.add(b);
    void this.spool.put(b).then(
      () => {
        this.spilling -= n;
        this.inSpill.delete(b);
        if (b.rows && this.queue.includes(b)) {
          b.rows = null;
          this.memoryRows -= n;
          this.s.pending -= n;
          this.s.spooled += n;
        } else if (!this.queue.includes(b)) void this.spool.remove(b); // sent meanwhile
        // Server away: the batches still held follow, as the disk takes them.
        if (this.wasDown && !this.closed) this.spillWaiting(0, 0);
      },
      (e: unknown) => {
        this.spilling -= n;
        this.inSpill.delete(b);
        this.s.lastError = `spool: ${(e as Error).message}`;
      },
    );
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.queue.length && !this.closed) setTimeout(() => this.kick(), Math.max(10, this.downUntil - Date.now())).unref();
    });
  }

  private closed = false;

  private async pump(): Promise<void> {
    await this.started;
    while (this.queue.length && !this.closed) {
      if (Date.now() < this.downUntil) return;
      const b = this.queue[0]!;
      try {
        await this.ensureSchema();
        if (b.maybeSent) {
          const have = await this.countBatch(b);
          if (have === b.count) {
            this.done(b);
            continue;
          }
          if (have > 0) {
            this.o.onNotice?.(`store ${this.where}: batch ${b.id} is partly in ${b.table} (${have} of ${b.count} rows); not sent again`);
            this.done(b);
            continue;
          }
        }
        b.maybeSent = true;
        if (b.rows) await this.client.insert({ table: `${this.target.database}.${b.table}`, values: b.rows, format: 'JSONEachRow' });
        else {
          // From the spool: the file's JSON lines are the request body as they are.
          const r = await this.client.exec({ query: `INSERT INTO ${this.target.database}.${b.table} FORMAT JSONEachRow`, values: this.spool.body(b) as Readable });
          await new Promise<void>((res, rej) => r.stream.on('end', res).on('error', rej).resume());
        }
        this.done(b);
        if (this.wasDown) {
          this.wasDown = false;
          this.o.onNotice?.(`store ${this.where}: server back, sending (${this.s.spooled} rows in the spool)`);
        }
        this.retryWait = 0;
      } catch (e) {
        this.s.failures++;
        this.s.lastError = clickHouseErrorLine(e);
        if (serverRefused(e) && this.schemaReady) {
          this.queue.shift();
          this.unaccount(b);
          this.s.rejected += b.count;
          const to = await this.spool.reject(b).catch(() => '(not saved)');
          this.o.onNotice?.(`store ${this.where}: ${b.table} batch refused by the server (${this.s.lastError}); kept in ${to}`);
          continue;
        }
        if (!this.wasDown) this.o.onNotice?.(`store ${this.where}: cannot send (${this.s.lastError}); spooling to ${this.spool.dir} and retrying`);
        this.wasDown = true;
        const [first, most] = this.o.retryMs ?? [250, 5000];
        this.retryWait = Math.min(most, this.retryWait ? this.retryWait * 2 : first);
        this.downUntil = Date.now() + this.retryWait;
        // Server away: what waits in memory goes to disk (as fast as the disk takes it).
        this.spillWaiting(0, 0);
        return;
      }
    }
  }

  private unaccount(b: Batch): void {
    if (b.rows) {
      this.memoryRows -= b.count;
      this.s.pending -= b.count;
    } else this.s.spooled -= b.count;
  }

  private done(b: Batch): void {
    this.queue.shift();
    this.unaccount(b);
    this.s.stored += b.count;
    b.rows = null;
    void this.spool.remove(b);
  }

  private async countBatch(b: Batch): Promise<number> {
    const q = `SELECT count() AS n FROM ${this.target.database}.${b.table} WHERE ts >= ${b.minTs - 1} AND ts <= ${b.maxTs + 1} AND batch = ${chString(b.id)}`;
    const r = await this.client.query({ query: q, format: 'JSONEachRow' });
    const rows = (await r.json()) as { n: string | number }[];
    return Number(rows[0]?.n ?? 0);
  }

  private async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    this.serverVersion = await ensureClickHouseSchema(this.client, this.target.database);
    this.schemaReady = true;
  }

  async flush(): Promise<void> {
    this.tick();
    await this.started;
    while (this.queue.length && Date.now() >= this.downUntil) {
      this.kick();
      await this.pumping;
      if (this.downUntil > Date.now()) break;
    }
  }

  async close(waitMs = 10_000): Promise<SinkStats> {
    this.closing = true;
    clearInterval(this.timer);
    this.tick();
    await this.started;
    const deadline = Date.now() + waitMs;
    while (this.queue.length && Date.now() < deadline) {
      this.kick();
      await this.pumping;
      if (this.queue.length) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, this.downUntil - Date.now()))));
    }
    this.closed = true;
    await this.pumping;
    // What the server did not take waits in the spool for the next run.
    for (const b of this.queue) if (b.rows && b.file === null) await this.spool.put(b).then(
      () => {
        this.unaccount(b);
        b.rows = null;
        this.s.spooled += b.count;
      },
      (e: unknown) => {
        this.s.lastError = `spool: ${(e as Error).message}`;
      },
    );
    while (this.spilling > 0) await new Promise((r) => setTimeout(r, 10));
    await this.client.close();
    return this.stats();
  }

  stats(): SinkStats {
    return { ...this.s };
  }

  get isClosing(): boolean {
    return this.closing;
  }
}

/** The columns each table of the database has (system.columns: every server version has it). */
async function columnsOf(client: ClickHouseClient, db: string): Promise<Set<string>> {
  const r = (await (await client.query({ query: `SELECT table, name FROM system.columns WHERE database = ${chString(db)}`, format: 'JSONEachRow' })).json()) as { table: string; name: string }[];
  return new Set(r.map((x) => `${x.table}.${x.name}`));
}

/**
 * Tables made by an older schema version gain the columns added since (all nullable: the rows
 * already there read NULL, as the older version replayed them). Two writers upgrading at once:
 * the second one's ALTER fails on the column the first added, which is then there.
 */
async function addMissingColumns(client: ClickHouseClient, db: string): Promise<void> {
  let have = await columnsOf(client, db);
  for (const t of TABLE_NAMES) {
    for (const col of tableDef(t).columns) {
      if (have.has(`${t}.${col.name}`)) continue;
      try {
        await client.command({ query: `ALTER TABLE ${db}.${t} ADD COLUMN ${col.name} ${chType(col)}` });
      } catch (e) {
        have = await columnsOf(client, db);
        if (!have.has(`${t}.${col.name}`)) throw e;
      }
    }
  }
}

/**
 * Creates the database and tables if missing and checks the schema version; returns the server
 * version. A store written by a newer mirrorlens (higher schema version) is refused.
 */
export async function ensureClickHouseSchema(client: ClickHouseClient, db: string): Promise<string> {
  const v = (await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json()) as { v: string }[];
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({ query: `CREATE TABLE IF NOT EXISTS ${db}.mirrorlens_schema (version UInt32, ts Float64, generator String) ENGINE = TinyLog` });
  const have = (await (await client.query({ query: `SELECT max(version) AS v, count() AS n FROM ${db}.mirrorlens_schema`, format: 'JSONEachRow' })).json()) as { v: number | string; n: number | string }[];
  const stored = Number(have[0]?.n ?? 0) > 0 ? Number(have[0]?.v) : 0;
  if (stored > STORE_SCHEMA_VERSION) {
    throw new MirrorlensError(ErrorCode.Store, `the store ${db} has record schema version ${stored}; this mirrorlens writes version ${STORE_SCHEMA_VERSION}: upgrade mirrorlens`);
  }
  for (const t of TABLE_NAMES) await client.command({ query: createTableSql(db, tableDef(t)) });
  await addMissingColumns(client, db);
  if (stored < STORE_SCHEMA_VERSION) {
    await client.insert({ table: `${db}.mirrorlens_schema`, values: [{ version: STORE_SCHEMA_VERSION, ts: Date.now() / 1000, generator: 'mirrorlens 0.1.0' }], format: 'JSONEachRow' });
  }
  return v[0]?.v ?? 'unknown';
}
