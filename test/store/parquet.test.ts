/**
 * The embedded store: rows written as Parquet through DuckDB, read back with every column's value
 * intact, readable while the writer is still open, staging files of a killed writer recovered.
 */
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openReader } from '../../src/store/open.js';
import { duckString, ParquetSink } from '../../src/store/parquet.js';
import { goawayOf, transactionOf } from '../../src/store/records.js';
import { ADDED_COLUMNS, STORE_SCHEMA_VERSION, TABLE_NAMES, tableDef } from '../../src/store/schema.js';
import { sampleRow } from './rows.js';

const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-parquet-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every table round-trips through Parquet: values, nulls, lists, quotes and UTF-8', async () => {
  const dir = join(tmp, 'a');
  const sink = new ParquetSink(dir, { node: 'node-a' });
  for (const t of TABLE_NAMES) for (let i = 0; i < 9; i++) sink.write(t, sampleRow(t, i));
  const s = await sink.close();
  assert.equal(s.stored, 9 * TABLE_NAMES.length);
  assert.equal(s.pending, 0);
  const r = await openReader(dir);
  try {
    for (const t of TABLE_NAMES) {
      const rows = await r.query(`SELECT * FROM ${t} ORDER BY ts`);
      assert.equal(rows.length, 9, t);
      for (let i = 0; i < 9; i++) {
        const want = sampleRow(t, i);
        for (const c of tableDef(t).columns) assert.deepEqual(rows[i]![c.name], want[c.name], `${t}.${c.name} row ${i}`);
      }
    }
    const q = await r.query(`SELECT count(*) AS n FROM transactions WHERE path = ${r.literal(String(sampleRow('transactions', 0).path))}`);
    assert.equal(q[0]!.n, 1);
  } finally {
    await r.close();
  }
});

test('a reader sees what a writer that is still open has checkpointed', async () => {
  const dir = join(tmp, 'b');
  const sink = new ParquetSink(dir, { node: 'live' });
  for (let i = 0; i < 100; i++) sink.write('conns', sampleRow('conns', i));
  await sink.flush();
  for (let i = 100; i < 150; i++) sink.write('conns', sampleRow('conns', i));
  const r = await openReader(dir);
  assert.equal((await r.query('SELECT count(*) AS n FROM conns'))[0]!.n, 100);
  await r.close();
  await sink.close();
  const r2 = await openReader(dir);
  assert.equal((await r2.query('SELECT count(*) AS n FROM conns'))[0]!.n, 150);
  await r2.close();
});

test("a killed writer's staging file (last line cut) is turned into Parquet by the next writer", async () => {
  const dir = join(tmp, 'c');
  const first = new ParquetSink(dir, { node: 'n' });
  await first.close();
  const lines = [0, 1, 2].map((i) => JSON.stringify(sampleRow('findings', i)));
  writeFileSync(join(dir, 'findings', '.n.20260101T000000000Z.000001.ndjson.part'), `${lines.join('\n')}\n${lines[0]!.slice(0, 40)}`);
  const next = new ParquetSink(dir, { node: 'n' });
  await next.close();
  assert.deepEqual(readdirSync(join(dir, 'findings')).filter((f) => f.endsWith('.part')), []);
  const r = await openReader(dir);
  assert.equal((await r.query('SELECT count(*) AS n FROM findings'))[0]!.n, 3);
  await r.close();
});

test('a directory that is not a store is refused in one line', async () => {
  await assert.rejects(openReader(join(tmp, 'nothing-here')), /no mirrorlens store here/);
});

/** Rewrites a store's Parquet files as schema version 1 wrote them: without the columns added since. */
async function downgradeToV1(dir: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    for (const t of TABLE_NAMES) {
      const added = Object.keys(ADDED_COLUMNS[t] ?? {});
      if (added.length === 0) continue;
      for (const f of readdirSync(join(dir, t)).filter((x) => x.endsWith('.parquet'))) {
        const path = join(dir, t, f);
        await con.run(`COPY (SELECT * EXCLUDE (${added.join(', ')}) FROM read_parquet(${duckString(path)})) TO ${duckString(`${path}.v1`)} (FORMAT PARQUET)`);
        renameSync(`${path}.v1`, path);
      }
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
  writeFileSync(join(dir, 'store.json'), `${JSON.stringify({ mirrorlensStore: true, schemaVersion: 1 })}\n`);
}

test('a store written by schema version 1 reads: the columns added since are NULL, alone and beside newer files', async () => {
  const dir = join(tmp, 'v1');
  const old = new ParquetSink(dir, { node: 'old' });
  for (let i = 0; i < 3; i++) old.write('transactions', sampleRow('transactions', i));
  await old.close();
  await downgradeToV1(dir);
  const schemaOf = () => (JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')) as { schemaVersion: number }).schemaVersion;
  const added = Object.keys(ADDED_COLUMNS.transactions!);
  // Only version-1 files: no file has the new columns at all.
  const r1 = await openReader(dir);
  try {
    const rows = await r1.query('SELECT * FROM transactions ORDER BY ts');
    assert.equal(rows.length, 3);
    for (const row of rows) for (const c of added) assert.equal(row[c], null, c);
    assert.equal(transactionOf(rows[0]!).responseHeadBytes, null);
    assert.equal(transactionOf(rows[0]!).responseContentLength, null);
    assert.equal(goawayOf(rows[0]!), null);
  } finally {
    await r1.close();
  }
  assert.equal(schemaOf(), 1, 'a reader leaves the version as it found it');
  // A newer writer adds files with them; the store says its version from then on.
  const now = new ParquetSink(dir, { node: 'new' });
  now.write('transactions', sampleRow('transactions', 3));
  await now.close();
  assert.equal(schemaOf(), STORE_SCHEMA_VERSION);
  const r2 = await openReader(dir);
  try {
    const rows = await r2.query('SELECT * FROM transactions ORDER BY ts');
    assert.equal(rows.length, 4);
    for (const c of added) assert.equal(rows[0]![c], null, c);
    const want = sampleRow('transactions', 3);
    for (const c of added) assert.equal(rows[3]![c], want[c], c);
    assert.deepEqual(goawayOf(rows[3]!), { time: want.goaway_ts, lastStreamId: want.goaway_last_stream });
  } finally {
    await r2.close();
  }
});
