/**
 * TLS decryption speed: the TCP payload of a real TLS 1.3 capture (test/fixtures/tls/ja4/
 * http2-with-cookies.pcapng, 1.8 MB of application data, keys from its Decryption Secrets Blocks)
 * is recorded once through the pipeline, then replayed through createAppSink ROUNDS times.
 * Prints MB/s of TLS bytes, the time tshark 4.0 takes to Follow TLS Stream on the same file (one
 * run: its start-up included), and peak RSS. Usage: npm run bench:tls [-- ROUNDS]
 *
 * Also times key log parsing: 100 000 generated TLS 1.3 lines (20 000 sessions x 5 secrets) read
 * as a file, then the same lines again as 20 000 Decryption Secrets Blocks of 5 lines (what
 * `analyze --keylog` does with a capture written by `mirrorlens listen`), in lines per CPU second,
 * then the first look-up (lines are checked as read, decoded when something is first looked up or
 * when more than 8 MB of them wait).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { ConnInfo, Direction, StreamSink } from '../../src/flow/stream.js';
import { DSB_TLS_KEYLOG, KeyLog } from '../../src/tls/keylog.js';
import { createAppSink } from '../../src/tls/sniff.js';

const file = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'tls', 'ja4', 'http2-with-cookies.pcapng');
const rounds = Number(process.argv[2] ?? 50);
const keys = new KeyLog();
const chunks: { dir: Direction; bytes: Uint8Array; off: number; time: number }[] = [];
let conn: ConnInfo | null = null;
await processCaptures([file], {
  onSecrets: (t, d) => void keys.addDsb(t, d),
  onConnectionStart(c) {
    conn = c;
    return {
      data: (dir, b, o, l, so, time) => void chunks.push({ dir, bytes: b.slice(o, o + l), off: so, time }),
      gap() {},
      end() {},
    };
  },
});
const total = chunks.reduce((n, c) => n + c.bytes.length, 0);
let plain = 0;
const sinkOut: StreamSink = { data: (_d, _b, _o, l) => void (plain += l), gap() {}, end() {} };
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  const s = createAppSink(conn!, keys, () => sinkOut);
  for (const c of chunks) s.data(c.dir, c.bytes, 0, c.bytes.length, c.off, c.time);
  s.end(0, 'fin', 0);
  s.end(1, 'fin', 0);
  if (s.tls?.notDecryptedReason) throw new Error(s.tls.problems.join('; '));
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const mb = (total * rounds) / 1e6;
console.log(`mirrorlens TLS sink: ${rounds} x ${(total / 1e6).toFixed(2)} MB TLS stream = ${mb.toFixed(1)} MB in ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU: ${(mb / (ms / 1000)).toFixed(0)} MB/s wall, ${(mb / (cpuMs / 1000)).toFixed(0)} MB/s per CPU second (${(plain / rounds / 1e6).toFixed(2)} MB plaintext per round)`);
const KEYLOG_LABELS = ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0', 'EXPORTER_SECRET'];
const sessionBlocks: string[] = [];
for (let i = 0; i < 20_000; i++) {
  const cr = randomBytes(32).toString('hex');
  sessionBlocks.push(KEYLOG_LABELS.map((l) => `${l} ${cr} ${randomBytes(32).toString('hex')}\n`).join(''));
}
const keyLogText = sessionBlocks.join('');
const keyLogLines = KEYLOG_LABELS.length * sessionBlocks.length;
const parseKeys = new KeyLog();
const k0 = process.cpuUsage();
if (parseKeys.addText(keyLogText, 'bench.keys').length > 0) throw new Error('key log issues');
const k1 = process.cpuUsage(k0);
const dsbs = sessionBlocks.map((b) => Buffer.from(b, 'latin1'));
const k2 = process.cpuUsage();
for (const d of dsbs) if (parseKeys.addDsb(DSB_TLS_KEYLOG, d).length > 0) throw new Error('DSB issues');
const k3 = process.cpuUsage(k2);
const k4 = process.cpuUsage();
if (parseKeys.get(sessionBlocks[0]!.split(' ')[1]!) === undefined) throw new Error('look-up failed');
const k5 = process.cpuUsage(k4);
const perSecond = (u: NodeJS.CpuUsage): string => (keyLogLines / ((u.user + u.system) / 1e6)).toFixed(0);
console.log(`key log: ${keyLogLines} lines as a file ${((k1.user + k1.system) / 1000).toFixed(0)} ms CPU (${perSecond(k1)} lines/CPU s), the same again as ${dsbs.length} DSBs ${((k3.user + k3.system) / 1000).toFixed(0)} ms CPU (${perSecond(k3)} lines/CPU s), then the first look-up ${((k5.user + k5.system) / 1000).toFixed(0)} ms CPU`);
try {
  const t1 = performance.now();
  execFileSync('tshark', ['-r', file, '-q', '-z', 'follow,tls,raw,0'], { stdio: 'ignore', maxBuffer: 1 << 30 });
  const tms = performance.now() - t1;
  console.log(`tshark 4.0 follow,tls,raw on the same file (1 round, start-up included): ${tms.toFixed(0)} ms = ${(total / 1e6 / (tms / 1000)).toFixed(1)} MB/s; ratio ${((mb / (ms / 1000)) / (total / 1e6 / (tms / 1000))).toFixed(1)}x`);
} catch {
  console.log('tshark not available: no reference run');
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
