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
import type { Row } from '../../src/store/schema.js';
import type { RecordSink } from '../../src/store/sink.js';
import { ClickHouseServer } from '../../test/store/clickhouse-server.js';

const { values } = parseArgs({ options: { records: { type: 'string' }, every: { type: 'string' }, runs: { type: 'string' }, 'skip-day': { type: 'boolean' } } });
const N = Number(values.records ?? 200_000);
const everyMin = Number(values.every ?? 15);
const runs = Number(values.runs ?? 3);
const root = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-bench-store-'));

/** A transaction row as the load scenario makes them (HTTP/1.1 over TLS, 30 requests a connection). */
function txRow(i: number, t: number, copy: number): Row {
  const conn = Math.floor(i / 30);
  const bad = i % 100 === 57;
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', uid: `C${copy}x${conn}-${(i % 30) + 1}`, conn_uid: `C${copy}x${conn}`, capture_point: 'alb-target-side',
    orig_h: '10.0.1.10', orig_p: 30000 + (conn % 30000), resp_h: '10.0.2.30', resp_p: 8080, http_version: '1.1', stream_id: null, method: 'GET', host: 'api.example.com',
    path: `/api/items/${i % 977}`, status: bad ? null : 200, trace_id: `Root=1-${(Math.floor(t)).toString(16)}-${(i * 2654435761 >>> 0).toString(16).padStart(24, '0')}`, user_agent: 'load-client/1.0',
    req_first_ts: t, req_last_ts: t + 0.0001, resp_first_ts: bad ? null : t + 0.002, resp_last_ts: bad ? null : t + 0.0025, duration: bad ? null : 0.0025, request_index: (i % 30) + 1,
    idle_before: bad ? 400.2 : 0.05, outcome: bad ? 'no-response' : 'complete', ended_by: bad ? 'rst' : null, ended_by_dir: bad ? 'server' : null, error_code: null, malformed_reason: null,
    request_body_bytes: 0, response_body_bytes: 1400,
  };
}

function connRow(c: number, t: number, copy: number, bad: boolean): Row {
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', uid: `C${copy}x${c}`, community_id: '1:abcdefabcdefabcdefabcdefabc=', capture_point: 'alb-target-side', capture_points: ['alb-target-side'], proto: 'tcp',
    orig_h: '10.0.1.10', orig_p: 30000 + (c % 30000), resp_h: '10.0.2.30', resp_p: 8080, end_ts: t + 30, duration: 30, conn_state: bad ? 'RSTR' : 'SF', history: bad ? 'ShADadR' : 'ShADadFf',
    orig_pkts: 64, resp_pkts: 62, orig_ip_bytes: 9000, resp_ip_bytes: 50000, orig_bytes: 6000, resp_bytes: 45000, orig_payload_bytes: 6000, resp_payload_bytes: 45000, missed_bytes: 0,
    rtt: 0.0004, syn_ts: [t], synack_ts: t + 0.0002, refused: false, midstream: false, closed_by: bad ? 'server' : 'client', close_how: bad ? 'rst' : 'fin', end_cause: 'closed', max_idle: bad ? 400.2 : 0.2,
    idle_gap_start: bad ? [t + 1] : [], idle_gap_end: bad ? [t + 401.2] : [], resp_fin_ts: [], resp_rst_ts: bad ? [t + 30] : [], requests: 30, tls_alert: null, tls_alert_from: null,
    isn_orig: 1000 + c, isn_resp: 2000 + c, orig_first_seq: null, orig_first_ack: null, orig_first_len: null, orig_first_fp: null, orig_first_ts: null,
    resp_first_seq: null, resp_first_ack: null, resp_first_len: null, resp_first_fp: null, resp_first_ts: null, previous_uid: null,
    file: '/var/capture/mirrorlens-20261205T000000.000Z.pcapng', file_offset: 123456, last_file: '/var/capture/mirrorlens-20261205T000000.000Z.pcapng', last_file_offset: 234567,
  };
}

function findingRow(i: number, t: number, copy: number): Row {
  return {
    ts: t, node: copy % 2 ? 'listener-a' : 'listener-b', id: `f${copy}-${i}`, kind: 'idle-timeout-reset', severity: 'error', confidence: 'high', status: 502, method: 'GET', path: `/api/items/${i % 977}`,
    client: '198.51.100.10:51312', target_conn_uid: `C${copy}x${Math.floor(i / 30)}`, reset_by: '10.0.2.30:8080', idle: 400.2, summary: 'The request was sent on a pooled connection idle for 400.2 s and was answered at once by a TCP RST.',
    conn_uids: [`C${copy}x${Math.floor(i / 30)}`], report: '{}',
  };
}

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
    await new Promise((r) => setImmediate(r));
  }
  await sink.close(600_000);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(10)} a day: ${copies} load runs, ${rows.toLocaleString('en-US')} records written in ${seconds.toFixed(1)} s (${Math.round(rows / seconds).toLocaleString('en-US')} records/s)`);
  return { rows, seconds };
}

function timeCli(args: string[]): { median: number; all: number[]; out: string } {
  const all: number[] = [];
  let out = '';
  for (let i = 0; i < runs; i++) {
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
  await throughput('parquet', () => new ParquetSink(join(tmp, 'tp'), { node: 'bench' }));
  await throughput('clickhouse', () => new ClickHouseSink(parseClickHouseUrl(`${ch.url}/tp`), { node: 'bench', spoolDir: join(tmp, 'spool-tp') }));
  if (!values['skip-day']) {
    const stores: [string, string, () => RecordSink][] = [
      ['parquet', join(tmp, 'day'), () => new ParquetSink(join(tmp, 'day'), { node: 'bench' })],
      ['clickhouse', `${ch.url}/day`, () => new ClickHouseSink(parseClickHouseUrl(`${ch.url}/day`), { node: 'bench', spoolDir: join(tmp, 'spool-day') })],
    ];
    for (const [name, url, make] of stores) {
      await day(name, make);
      const q = timeCli(['query', 'findings', '--store', url, '--since', '24h', '--limit', '0', '--csv']);
      const a = timeCli(['analyze', '--store', url, '--since', '24h', '--format', 'json']);
      const nf = q.out.trim().split('\n').length - 1;
      const af = (JSON.parse(a.out) as { findings: unknown[] }).findings.length;
      console.log(`${name.padEnd(10)} query findings --since 24h: ${q.median.toFixed(2)} s (median of ${runs}: ${q.all.map((x) => x.toFixed(2)).join(', ')}), ${nf} findings`);
      console.log(`${name.padEnd(10)} analyze --store --since 24h: ${a.median.toFixed(2)} s (median of ${runs}: ${a.all.map((x) => x.toFixed(2)).join(', ')}), ${af} findings`);
    }
  }
} finally {
  await ch.dispose();
  rmSync(tmp, { recursive: true, force: true });
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
