/**
 * The ClickHouse store against a real server (Debian's clickhouse-server, started here in a
 * temporary directory on a free loopback port): tables created on first use, every row arrives
 * exactly once — with the server stopped mid-run and restarted, killed, or answering nothing to
 * an insert it did commit — and the spool carries rows across a process that stopped while the
 * server was away.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ClickHouseSink, clickHouseClient, createTableSql, parseClickHouseUrl, redact } from '../../src/store/clickhouse.js';
import { openReader } from '../../src/store/open.js';
import { goawayOf, transactionOf } from '../../src/store/records.js';
import { ADDED_COLUMNS, checkRow, STORE_SCHEMA_VERSION, TABLE_NAMES, tableDef, type Row } from '../../src/store/schema.js';
import { describeStats } from '../../src/store/sink.js';
import { ClickHouseServer, clickHouseMissing } from './clickhouse-server.js';
import { sampleRow } from './rows.js';

const missing = clickHouseMissing();

test('clickhouse:// URLs: defaults, credentials never printed', () => {
  const t = parseClickHouseUrl('clickhouse://alice:s3cret@db.example:9123/flows');
  assert.equal(t.url, 'http://db.example:9123');
  assert.equal(t.database, 'flows');
  assert.equal(t.username, 'alice');
  assert.equal(t.password, 's3cret');
  assert.ok(!t.printable.includes('s3cret'));
  const d = parseClickHouseUrl('clickhouse://127.0.0.1');
  assert.equal(d.url, 'http://127.0.0.1:8123');
  assert.equal(d.database, 'mirrorlens');
  assert.equal(redact('clickhouse://bob:pw@h:1/x'), 'clickhouse://bob:***@h:1/x');
  assert.throws(() => parseClickHouseUrl('clickhouse://h/bad-name'), /database name/);
  assert.throws(() => parseClickHouseUrl('http://h/x'), /not a clickhouse/);
});

test('sample rows fit the schema', () => {
  for (const t of TABLE_NAMES) for (let i = 0; i < 4; i++) assert.equal(checkRow(t, sampleRow(t, i)), null);
});

describe('ClickHouse server', { skip: missing ?? false }, () => {
  const ch = new ClickHouseServer();
  const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-store-'));
  before(async () => {
    await ch.start();
  });
  // A test that stops the server and fails before starting it again must not fail the next ones.
  beforeEach(async () => {
    if (!ch.running) await ch.start();
  });
  after(async () => {
    await ch.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  const count = async (db: string, table: string, extra = ''): Promise<number> => Number((await ch.query(`SELECT count() FROM ${db}.${table} ${extra}`)).trim());
  /** Waits for a condition the sink reaches on its own (a spill, a retry), failing after `ms`. */
  const until = async (what: string, cond: () => boolean, ms = 30_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // close(waitMs) returns as soon as every batch is sent; the budget is long because a loaded
  // machine (a full test run) can take seconds to create the tables and insert.
  const DRAIN_MS = 60_000;

  test('tables are created on first use and every column round-trips', async () => {
    const sink = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t1`), { spoolDir: join(tmp, 's1'), node: 'node-a' });
    for (const t of TABLE_NAMES) for (let i = 0; i < 10; i++) sink.write(t, sampleRow(t, i));
    const s = await sink.close(DRAIN_MS);
    assert.equal(s.stored, 10 * TABLE_NAMES.length);
    assert.equal(s.spooled + s.dropped + s.rejected + s.pending, 0);
    for (const t of TABLE_NAMES) assert.equal(await count('t1', t), 10, t);
    const tx = JSON.parse(await ch.query("SELECT path, status, stream_id FROM t1.transactions WHERE uid = 'Ctransactions2' FORMAT JSONEachRow")) as Record<string, unknown>;
    assert.equal(tx.path, sampleRow('transactions', 2).path);
    assert.equal(tx.status, sampleRow('transactions', 2).status);
    const conn = JSON.parse(await ch.query("SELECT syn_ts, capture_points, isn_orig FROM t1.conns WHERE uid = 'Cconns1' FORMAT JSONEachRow")) as Record<string, unknown>;
    assert.deepEqual(conn.syn_ts, [1.5, 2.25]);
    assert.equal(conn.isn_orig, null);
    assert.equal((await ch.query('SELECT max(version) FROM t1.mirrorlens_schema')).trim(), String(STORE_SCHEMA_VERSION));
  });

  test('a database schema version 1 made gains the columns added since: its rows read NULL there, new rows carry them', async () => {
    // The tables as version 1 created them (the columns added since left out), one row in each.
    const t = parseClickHouseUrl(`${ch.url}/v1db`);
    const client = clickHouseClient(t);
    const v1 = (name: (typeof TABLE_NAMES)[number]) => ({ ...tableDef(name), columns: tableDef(name).columns.filter((c) => !ADDED_COLUMNS[name]?.[c.name]) });
    const oldRow = (name: (typeof TABLE_NAMES)[number], i: number): Row => Object.fromEntries(Object.entries(sampleRow(name, i)).filter(([k]) => !ADDED_COLUMNS[name]?.[k]));
    try {
      await client.command({ query: 'CREATE DATABASE v1db' });
      await client.command({ query: 'CREATE TABLE v1db.mirrorlens_schema (version UInt32, ts Float64, generator String) ENGINE = TinyLog' });
      await client.insert({ table: 'v1db.mirrorlens_schema', values: [{ version: 1, ts: 1, generator: 'mirrorlens 0.1.0' }], format: 'JSONEachRow' });
      for (const name of TABLE_NAMES) {
        await client.command({ query: createTableSql('v1db', v1(name)) });
        await client.insert({ table: `v1db.${name}`, values: [{ ...oldRow(name, 0), batch: 'v1' }], format: 'JSONEachRow' });
      }
    } finally {
      await client.close();
    }
    assert.equal(await ch.query("SELECT count() FROM system.columns WHERE database = 'v1db' AND name = 'resp_head_bytes'"), '0\n');
    const sink = new ClickHouseSink(t, { spoolDir: join(tmp, 'sv1'), node: 'node-v2' });
    sink.write('transactions', sampleRow('transactions', 3));
    const s = await sink.close();
    assert.equal(s.stored, 1);
    assert.equal((await ch.query('SELECT max(version) FROM v1db.mirrorlens_schema')).trim(), String(STORE_SCHEMA_VERSION));
    const r = await openReader(`${ch.url}/v1db`);
    try {
      const rows = await r.query('SELECT * FROM transactions ORDER BY ts');
      assert.equal(rows.length, 2);
      const [old, now] = rows as [Row, Row];
      for (const col of Object.keys(ADDED_COLUMNS.transactions!)) assert.equal(old[col], null, `v1 row: ${col}`);
      assert.equal(transactionOf(old).responseHeadBytes, null);
      assert.equal(goawayOf(old), null);
      const want = sampleRow('transactions', 3);
      for (const col of Object.keys(ADDED_COLUMNS.transactions!)) assert.equal(now[col], want[col], `v2 row: ${col}`);
      assert.equal(transactionOf(now).responseContentLength, want.resp_content_length);
    } finally {
      await r.close();
    }
  });

  test('server stopped mid-run and restarted: every row arrives exactly once', async () => {
    const notices: string[] = [];
    const sink = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t2`), { spoolDir: join(tmp, 's2'), node: 'node-b', batchRows: 500, flushMs: 50, retryMs: [100, 500], onNotice: (l) => notices.push(l) });
    let n = 0;
    const writeSome = async (k: number) => {
      for (let i = 0; i < k; i++) {
        sink.write('conns', sampleRow('conns', n++));
        if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    await writeSome(3000);
    await ch.stop();
    await writeSome(3000);
    await until('rows go to the spool while the server is away', () => sink.stats().spooled > 0);
    await ch.start();
    await writeSome(3000);
    const s = await sink.close(DRAIN_MS);
    assert.equal(s.stored, 9000);
    assert.equal(s.spooled + s.dropped + s.pending, 0);
    assert.equal(await count('t2', 'conns'), 9000);
    assert.equal(await count('t2', 'conns', 'WHERE uid IN (SELECT uid FROM t2.conns GROUP BY uid HAVING count() > 1)'), 0, 'no duplicates');
    assert.ok(notices.some((l) => /cannot send/.test(l)) && notices.some((l) => /server back/.test(l)), notices.join('\n'));
    assert.deepEqual(readdirSync(join(tmp, 's2')).filter((f) => f.endsWith('.ndjson')), []);
  });

  test('a process stopped while the server is away leaves its rows in the spool; the next run sends them once', async () => {
    await ch.stop();
    const spool = join(tmp, 's3');
    const a = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t3`), { spoolDir: spool, node: 'node-c', retryMs: [50, 100] });
    for (let i = 0; i < 1234; i++) a.write('transactions', sampleRow('transactions', i));
    const sa = await a.close(300);
    assert.equal(sa.stored, 0);
    assert.equal(sa.spooled, 1234);
    await ch.start();
    const b = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t3`), { spoolDir: spool, node: 'node-c' });
    for (let i = 1234; i < 1300; i++) b.write('transactions', sampleRow('transactions', i));
    const sb = await b.close(DRAIN_MS);
    assert.equal(sb.stored, 1234 + 66);
    assert.equal(await count('t3', 'transactions'), 1300);
  });

  test('a burst larger than the memory cap while the server is away goes to the spool: nothing dropped, all sent once when it is back', async () => {
    await ch.stop();
    const cap = 2000;
    const sink = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t5`), { spoolDir: join(tmp, 's5'), node: 'node-e', batchRows: 200, maxMemoryRows: cap, retryMs: [50, 200] });
    for (let i = 0; i < 50_000; i++) {
      sink.write('transactions', sampleRow('transactions', i));
      if (i % 500 === 499) {
        await new Promise((r) => setImmediate(r)); // a capture yields between datagram batches
        // ... and here the disk keeps up with it: on a loaded machine an fsync can take longer
        // than the test's 500 rows, and past 4x the cap the sink drops (tested below).
        await until('the spool takes what is over the memory cap', () => sink.stats().pending <= 2 * cap);
      }
    }
    const away = sink.stats();
    assert.equal(away.dropped, 0);
    assert.ok(away.spooled > 40_000, JSON.stringify(away));
    await ch.start();
    const s = await sink.close(DRAIN_MS);
    assert.equal(s.stored, 50_000);
    assert.equal(s.dropped + s.spooled + s.pending, 0);
    assert.equal(await count('t5', 'transactions'), 50_000);
    assert.equal(await count('t5', 'transactions', 'WHERE uid IN (SELECT uid FROM t5.transactions GROUP BY uid HAVING count() > 1)'), 0);
  });

  test('a writer faster than the disk while the server is away: past 4x the memory cap the newest batches are dropped, counted and said, the rest sent once', async () => {
    await ch.stop();
    const cap = 2000;
    const sink = new ClickHouseSink(parseClickHouseUrl(`${ch.url}/t6`), { spoolDir: join(tmp, 's6'), node: 'node-f', batchRows: 200, maxMemoryRows: cap, retryMs: [50, 200] });
    // No turn of the event loop while writing: no spool write can finish, whatever the disk.
    for (let i = 0; i < 50_000; i++) sink.write('transactions', sampleRow('transactions', i));
    const away = sink.stats();
    assert.ok(away.dropped > 0, JSON.stringify(away));
    assert.ok(away.pending <= 4 * cap + 200, `memory bounded: ${JSON.stringify(away)}`);
    await ch.start();
    const s = await sink.close(DRAIN_MS);
    assert.equal(s.stored + s.dropped, 50_000);
    assert.equal(s.spooled + s.pending, 0);
    assert.match(describeStats(sink.where, s), new RegExp(`\\b${s.dropped} DROPPED`));
    assert.equal(await count('t6', 'transactions'), s.stored);
    assert.equal(await count('t6', 'transactions', 'WHERE uid IN (SELECT uid FROM t6.transactions GROUP BY uid HAVING count() > 1)'), 0);
  });

  test('an insert the server committed but never answered is not sent twice', async () => {
    // A loopback proxy that passes the first insert to the server and cuts the connection
    // before the answer gets back: the client cannot know whether the rows are in.
    let cut = 0;
    const proxy: Server = createServer((client: Socket) => {
      const up = connect(ch.port, '127.0.0.1');
      let isInsert = false;
      client.on('data', (d: Buffer) => {
        const head = d.toString('latin1', 0, Math.min(d.length, 2000));
        if (/^(POST|GET) /.test(head)) isInsert = /INSERT(%20|\+| )INTO(%20|\+| )t4\.findings/i.test(head.split('\r\n')[0] ?? '');
        up.write(d);
      });
      up.on('data', (d: Buffer) => {
        if (isInsert && cut === 0) {
          cut++;
          // The server answered (so it committed): drop the answer and the connection.
          setTimeout(() => {
            client.destroy();
            up.destroy();
          }, 50);
          return;
        }
        client.write(d);
      });
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    try {
      const sink = new ClickHouseSink(parseClickHouseUrl(`clickhouse://127.0.0.1:${port}/t4`), { spoolDir: join(tmp, 's4'), node: 'node-d', retryMs: [50, 100] });
      for (let i = 0; i < 700; i++) sink.write('findings', sampleRow('findings', i));
      const s = await sink.close(DRAIN_MS);
      assert.equal(cut, 1, 'the proxy cut one answer');
      assert.ok(s.failures >= 1);
      assert.equal(s.stored, 700);
      assert.equal(await count('t4', 'findings'), 700, 'no duplicate from the retry');
    } finally {
      proxy.close();
    }
  });
});
