/**
 * Store benchmark, both stores side by side in one run:
 *  1. records per second from one process into the embedded store (Parquet through DuckDB) and
 *     into ClickHouse (Debian's server, started here), and the writing thread's CPU per record
 *     (what the capture thread pays: write() only buffers);
 *  2. a day of records shaped like the lab's load scenario (2 000 TLS connections and 60 000
 *     responses every --every minutes, 1 % of requests answered 502 by an idle reset), then the
 *     time to answer `query findings --since 24h` and `analyze --store --since 24h` (the CLI as a
 *     process, start-up included; median of --runs).
 *
 *   npm run bench:store                      (defaults: 200 000 records; a day at one load run per 15 min)
 *   npm run bench:store -- --records 500000 --every 60 --runs 3
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseSink, parseClickHouseUrl } from '../../src/store/clickhouse.js';
import { ParquetSink } from '../../src/store/parquet.js';
import { connRowGen as connRow, findingRowGen as findingRow, txRowGen as txRow } from './gen.js';
import type { RecordSink } from '../../src/store/sink.js';
import { ClickHouseServer } from '../../test/store/clickhouse-server.js';

const { values } = parseArgs({
  options: { records: { type: 'string' }, every: { type: 'string' }, runs: { type: 'string' }, 'analyze-runs': { type: 'string' }, stores: { type: 'string' }, 'skip-day': { type: 'boolean' } },
});
const which = (values.stores ?? 'parquet,clickhouse').split(',');
const N = Number(values.records ?? 200_000);
const everyMin = Number(values.every ?? 15);
const runs = Number(values.runs ?? 3);
const analyzeRuns = Number(values['analyze-runs'] ?? 1);
const root = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-bench-store-'));

async function throughput(name: string, make: () => RecordSink): Promise<void> {
  const sink = make();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const base = Date.now() / 1000 - 3600;
  for (let i = 0; i < N; i++) {
    sink.write('transactions', txRow(i, base + i * 0.001, 0));
    if ((i & 8191) === 0) await new Promise((r) => setImmediate(r)); // a capture thread yields to I/O too
  }
  const cw = process.cpuUsage(c0);
  const s = await sink.close(120_000);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  console.log(
    `${name.padEnd(10)} ${N} records: ${Math.round(N / wall).toLocaleString('en-US')} records/s to stored (${wall.toFixed(2)} s wall), ` +
      `write() ${(((cw.user + cw.system) / N) * 1000).toFixed(0)} ns CPU/record on the writing thread, process CPU ${((c.user + c.system) / 1e6).toFixed(2)} s, stored ${s.stored}`,
  );
}

async function day(name: string, make: () => RecordSink): Promise<{ rows: number; seconds: number }> {
  const sink = make();
  const t0 = performance.now();
  const now = Date.now() / 1000;
  const copies = Math.floor((24 * 60) / everyMin);
  let rows = 0;
  for (let k = 0; k < copies; k++) {
    const start = now - 24 * 3600 + k * everyMin * 60 + 1;
    for (let c = 0; c < 2000; c++) {
      sink.write('conns', connRow(c, start + c * 0.005, k, c % 100 === 57));
      rows++;
    }
    for (let i = 0; i < 60_000; i++) {
      const t = start + i * 0.0005;
      sink.write('transactions', txRow(i, t, k));
      rows++;
      if (i % 100 === 57) {
        sink.write('findings', findingRow(i, t, k));
        rows++;
      }
    }
    // A bulk load: each load run is sent before the next is made (a capture producing records
    // faster than the server takes them would go through the spool instead; part 1 measures the
    // store's own rate).
    await sink.flush();
  }
  await sink.close(600_000);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(10)} a day: ${copies} load runs, ${rows.toLocaleString('en-US')} records written in ${seconds.toFixed(1)} s (${Math.round(rows / seconds).toLocaleString('en-US')} records/s)`);
  return { rows, seconds };
}

function timeCli(args: string[], n = runs): { median: number; all: number[]; out: string } {
  const all: number[] = [];
  let out = '';
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test/listen/cli.ts'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
    all.push((performance.now() - t0) / 1000);
    if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    out = r.stdout;
  }
  const s = [...all].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, all, out };
}

console.log(`store benchmark: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
const ch = new ClickHouseServer();
await ch.start();
console.log(`ClickHouse: ${(await ch.query('SELECT version()')).trim()} (Debian's clickhouse-server, temp dir, loopback port ${ch.port})`);
try {
  if (which.includes('parquet')) await throughput('parquet', () => new ParquetSink(join(tmp, 'tp'), { node: 'bench' }));
  if (which.includes('clickhouse')) await throughput('clickhouse', () => new ClickHouseSink(parseClickHouseUrl(`${ch.url}/tp`), { node: 'bench', spoolDir: join(tmp, 'spool-tp') }));
  if (!values['skip-day']) {
    const stores: [string, string, () => RecordSink][] = [
      ['parquet', join(tmp, 'day'), () => new ParquetSink(join(tmp, 'day'), { node: 'bench' })],
      ['clickhouse', `${ch.url}/day`, () => new ClickHouseSink(parseClickHouseUrl(`${ch.url}/day`), { node: 'bench', spoolDir: join(tmp, 'spool-day') })],
    ];
    for (const [name, url, make] of stores.filter(([n]) => which.includes(n))) {
      await day(name, make);
      const q = timeCli(['query', 'findings', '--store', url, '--since', '24h', '--limit', '0', '--csv']);
      const a = timeCli(['analyze', '--store', url, '--since', '24h', '--format', 'json'], analyzeRuns);
      const nf = q.out.trim().split('\n').length - 1;
      const af = (JSON.parse(a.out) as { findings: unknown[] }).findings.length;
      console.log(`${name.padEnd(10)} query findings --since 24h: ${q.median.toFixed(2)} s (median of ${runs}: ${q.all.map((x) => x.toFixed(2)).join(', ')}), ${nf} findings`);
      console.log(`${name.padEnd(10)} analyze --store --since 24h: ${a.median.toFixed(2)} s (median of ${analyzeRuns}: ${a.all.map((x) => x.toFixed(2)).join(', ')}), ${af} findings`);
    }
  }
} finally {
  await ch.dispose();
  rmSync(tmp, { recursive: true, force: true });
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
