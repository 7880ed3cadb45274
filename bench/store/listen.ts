/**
 * listen with a store: does recording lower the rate listen receives without drops? A capture of
 * distinct plain-HTTP connections (8 packets each: 2 connection + 1 transaction records) is
 * replayed as VXLAN at each offered rate to `listen` analyzing live with no store, with the embedded
 * store, and with ClickHouse (Debian's, started here); for each: datagrams received, dropped by
 * listen and by the kernel, records produced and stored, records per second.
 *
 *   npm run bench:store -- --listen                (rates 5000,10000,20000 pkt/s, 6 s each)
 *   node --import tsx bench/store/listen.ts --rates 10000,40000 --seconds 10
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseServer } from '../../test/store/clickhouse-server.js';
import { writeHttpCapture } from './gen.js';

const { values } = parseArgs({ options: { rates: { type: 'string' }, seconds: { type: 'string' } } });
const rates = (values.rates ?? '5000,10000,20000').split(',').map(Number);
const seconds = Number(values.seconds ?? 6);
const root = resolve(import.meta.dirname, '../..');
const PACKETS_PER_CONN = 8;
const cli = (args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', join(root, 'test/listen/cli.ts'), ...args]];

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function run(cmd: [string, string[]], opts: { stdout?: 'ignore' | 'pipe' } = {}): { done: Promise<{ code: number | null; err: string }>; child: ReturnType<typeof spawn>; err: () => string } {
  const child = spawn(cmd[0], cmd[1], { cwd: root, stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ code: number | null; err: string }>((r) => child.once('exit', (code) => r({ code, err })));
  return { done, child, err: () => err };
}

const tmp = mkdtempSync(join(tmpdir(), 'mirrorlens-bench-listen-store-'));

const ch = new ClickHouseServer();
await ch.start();
console.log(`listen + store benchmark: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ClickHouse ${(await ch.query('SELECT version()')).trim()}; ${seconds} s per run`);
console.log('mode        offered pkt/s  received  listen drops  kernel drops  records  stored  records/s');
try {
  for (const rate of rates) {
    // Distinct connections, `seconds` worth at this rate (the same capture looped would be one connection seen again).
    const capture = join(tmp, `http-${rate}.pcapng`);
    writeHttpCapture(capture, Math.ceil((rate * seconds) / PACKETS_PER_CONN));
    for (const mode of ['no store', 'parquet', 'clickhouse'] as const) {
      const port = await freeUdpPort();
      const out = join(tmp, `${mode.replace(' ', '-')}-${rate}`);
      const store = mode === 'parquet' ? ['--store', join(out, 'records')] : mode === 'clickhouse' ? ['--store', `${ch.url}/bench${rate}`, '--spool', join(out, 'spool')] : [];
      const l = run(cli(['listen', '--out', out, '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '0', '--analyze-json', '--node', 'bench', ...store]));
      for (let i = 0; i < 200 && !/writing /.test(l.err()); i++) await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      const rp = run(cli(['replay', capture, '--to', `127.0.0.1:${port}`, '--rate', String(rate)]));
      await rp.done;
      const sendSeconds = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 1500));
      l.child.kill('SIGTERM');
      const { err } = await l.done;
      const stop = /(\d+) datagrams received, (\d+) dropped, \d+ lost at flush, kernel drops (\d+|unknown)/.exec(err);
      const st = /store .*?: (\d+) records, (\d+) stored/.exec(err);
      const records = st ? Number(st[1]) : 0;
      console.log(
        `${mode.padEnd(11)} ${String(rate).padStart(13)}  ${(stop?.[1] ?? '?').padStart(8)}  ${(stop?.[2] ?? '?').padStart(12)}  ${(stop?.[3] ?? '?').padStart(12)}  ${String(records).padStart(7)}  ${(st?.[2] ?? '-').padStart(6)}  ${st ? Math.round(records / sendSeconds) : '-'}`,
      );
    }
  }
} finally {
  await ch.dispose();
  rmSync(tmp, { recursive: true, force: true });
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
